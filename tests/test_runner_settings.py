"""The runner's settings: the YAML file and the command line, checked as the plugin's options
are, with a one-line ``lnopt: ...`` error and exit status 2 for anything wrong."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lnopt.backends.factory import BackendKind, ClnSettings, LnbitsSettings, LndSettings
from lnopt.cli import main
from lnopt.model import Mode
from lnopt.runner.settings import SETTING_NAMES, resolve_settings
from lnopt.security import CredentialKind, KdfParams, Vault
from tests.factories import node_id
from tests.runner_harness import environment
from tests.secret_scan import assert_no_secret

PEER = node_id(3)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_is_read_and_the_command_line_wins(tmp_path: Path) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    settings_file = write(
        conf / "settings.yaml",
        "backend: cln\nmode: advise\ninterval: 600\nrpc-file: node/lightning-rpc\n"
        "max-fee-ppm: 900\nexclude-channel: [800000x1x0, 800000x2x0]\nconfig: lnopt.yaml\n",
    )
    write(conf / "lnopt.yaml", "guard:\n  min_fee_ppm: 5\n  max_fee_ppm: 1500\n")

    settings = resolve_settings(
        {"mode": "auto", "exclude-channel": ["800000x3x0"]},
        file=settings_file,
        environ={"STATE_DIRECTORY": str(tmp_path / "state")},
    )

    assert settings.backend is BackendKind.CLN
    assert settings.node == ClnSettings(rpc_file=conf / "node" / "lightning-rpc")
    assert settings.service.mode is Mode.AUTO
    assert settings.service.interval_s == 600
    guard = settings.service.config.guard
    assert (guard.min_fee_ppm, guard.max_fee_ppm) == (5, 900)  # the file's config, then the key
    assert guard.exclude_channels == ("800000x3x0",)  # a list on the command line replaces
    assert settings.service.db_path == tmp_path / "state" / "lnopt.sqlite3"
    assert settings.vault.path == tmp_path / "state" / "credentials.vault"


def test_an_empty_key_in_the_file_keeps_its_default(tmp_path: Path) -> None:
    settings_file = write(tmp_path / "settings.yaml", "backend: cln\nrpc-file: /x\ndb:\nvault:\n")

    settings = resolve_settings({}, file=settings_file, environ={"STATE_DIRECTORY": "/srv/lnopt"})

    assert settings.service.db_path == Path("/srv/lnopt/lnopt.sqlite3")
    assert settings.vault.path == Path("/srv/lnopt/credentials.vault")


def test_without_a_state_directory_the_defaults_live_in_the_home_folder(tmp_path: Path) -> None:
    settings = resolve_settings(
        {"backend": "cln", "rpc-file": "/run/lightning-rpc"}, environ={"HOME": str(tmp_path)}
    )

    home = Path("~/.lnopt").expanduser()
    assert settings.state_dir == home
    assert settings.service.db_path == home / "lnopt.sqlite3"
    assert settings.service.mode is Mode.SHADOW and settings.service.interval_s == 3600


def test_the_http_backends_take_their_urls_and_credential_names() -> None:
    lnbits = resolve_settings(
        {
            "backend": "lnbits",
            "lnbits-url": "https://lnbits.example/",
            "lnbits-token-credential": "lnbits-token",
            "lnbits-graph": "/var/lib/lnopt/graph.json",
            "passphrase-file": "/etc/lnopt/passphrase",
        },
        environ={"STATE_DIRECTORY": "/var/lib/lnopt"},
    )
    lnd = resolve_settings(
        {
            "backend": "lnd",
            "lnd-url": "https://127.0.0.1:8080",
            "lnd-macaroon-credential": "mac",
            "lnd-tls-cert-credential": "cert",
            "vault": "/srv/vault",
        },
        environ={},
    )

    assert lnbits.node == LnbitsSettings(
        "https://lnbits.example", "lnbits-token", Path("/var/lib/lnopt/graph.json")
    )
    assert lnbits.vault.passphrase_file == Path("/etc/lnopt/passphrase")
    assert lnbits.vault.path == Path("/var/lib/lnopt/credentials.vault")
    assert lnd.node == LndSettings("https://127.0.0.1:8080", "mac", "cert")
    local = resolve_settings(
        {
            "backend": "lnbits",
            "lnbits-url": "http://127.0.0.1:5000",
            "lnbits-token-credential": "t",
        },
        environ={},
    )
    assert local.node == LnbitsSettings("http://127.0.0.1:5000", "t")
    assert lnd.vault.path == Path("/srv/vault")


CLN = ["--backend", "cln", "--rpc-file", "/nonexistent/lightning-rpc"]
LNBITS = ["--backend", "lnbits", "--lnbits-url", "https://lnbits.example"]
LND = ["--backend", "lnd", "--lnd-url", "https://127.0.0.1:8080"]
BAD_SETTINGS: dict[str, tuple[list[str], str, str]] = {
    # case: (arguments, settings file text or "", the message expected after "lnopt: ")
    "unknown key in the file": (
        [],
        "backend: cln\nrpc-file: /x\nintervall: 60\n",
        r"settings file .*: unknown key 'intervall'; accepted: backend, mode, interval, db, ",
    ),
    "bad interval": (
        [*CLN, "--interval", "soon"],
        "",
        r'interval must be a whole number from 0 to 31536000; got "soon"',
    ),
    "negative interval in the file": (
        [],
        "backend: cln\nrpc-file: /x\ninterval: -5\n",
        r"interval must be a whole number from 0 to 31536000; got -5",
    ),
    "unknown mode": (
        [*CLN, "--mode", "turbo"],
        "",
        r'mode must be one of shadow, advise, auto; got "turbo"',
    ),
    "bad guard limit": (
        [*CLN, "--max-fee-ppm", "lots"],
        "",
        r'max-fee-ppm must be a whole number from 0 to 4294967295; got "lots"',
    ),
    "minimum above maximum": (
        [*CLN, "--min-fee-ppm", "500", "--max-fee-ppm", "100"],
        "",
        r"guard.min_fee_ppm \(500\) is above guard.max_fee_ppm \(100\)",
    ),
    "bad excluded peer": (
        [*CLN, "--exclude-peer", "alice"],
        "",
        r'exclude-peer must be a node id \(66 hex characters, starting 02 or 03\); got "alice"',
    ),
    "unknown backend": (
        ["--backend", "eclair"],
        "",
        r"backend: unknown backend 'eclair'; accepted: cln, lnbits, lnd",
    ),
    "no backend": ([], "mode: auto\n", r"backend: not given; accepted: cln, lnbits, lnd"),
    "no socket for cln": (["--backend", "cln"], "", r"rpc-file: required by the cln backend"),
    "missing lnbits token credential": (
        ["--backend", "lnbits", "--lnbits-url", "https://lnbits.example"],
        "",
        r"lnbits-token-credential: required by the lnbits backend",
    ),
    "missing lnd tls certificate credential": (
        [
            *("--backend", "lnd", "--lnd-url", "https://127.0.0.1:8080"),
            *("--lnd-macaroon-credential", "mac"),
        ],
        "",
        r"lnd-tls-cert-credential: required by the lnd backend",
    ),
    "lnd over plain http": (
        [
            *("--backend", "lnd", "--lnd-url", "http://127.0.0.1:8080"),
            *("--lnd-macaroon-credential", "mac", "--lnd-tls-cert-credential", "cert"),
        ],
        "",
        r"lnd-url: 'http://127.0.0.1:8080' is not a URL lnopt accepts; give https://HOST",
    ),
    "lnbits over plain http to another host": (
        [
            *("--backend", "lnbits", "--lnbits-url", "http://lnbits.example"),
            *("--lnbits-token-credential", "token"),
        ],
        "",
        r"lnbits-url: 'http://lnbits.example' would send the access token in clear; give https://",
    ),
    "a setting of another backend": (
        [*CLN, "--lnd-url", "https://127.0.0.1:8080"],
        "",
        r"lnd-url: a setting of the lnd backend, but the backend is cln",
    ),
    "a list where one value belongs": (
        [],
        "backend: [cln, lnd]\n",
        r"backend: expected a single value, got \['cln', 'lnd'\]",
    ),
    "a settings file that is not YAML": ([], "backend: [cln\n", r"is not valid YAML"),
    "a config file that is missing": (
        [*CLN, "--config", "/nonexistent/lnopt.yaml"],
        "",
        r'cannot read configuration file "/nonexistent/lnopt.yaml": it does not exist',
    ),
}


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
@pytest.mark.parametrize("command", ["run", "status"])
def test_bad_settings_are_one_line_naming_the_key_and_what_is_accepted(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, file_text, expected = BAD_SETTINGS[case]
    if file_text:
        args = [*args, "--settings", str(write(tmp_path / "settings.yaml", file_text))]

    code = main([command, *args])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lnopt: ") and err.count("\n") == 1, err
    assert re.search(expected, err), err


LNBITS_NODE = [*LNBITS, "--lnbits-token-credential", "lnbits-token"]
LND_NODE = [*LND, "--lnd-macaroon-credential", "lnd-mac", "--lnd-tls-cert-credential", "lnd-cert"]
PASSPHRASE = "correct horse battery staple"
TOKEN = b"5f1c0ffee0ddba11ab1ec0de5eedfa11"
MACAROON = bytes(range(7, 120))
TINY_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)  # quick to derive, for tests only


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """A vault holding an LNbits token and an LND macaroon, but no TLS certificate."""
    path = tmp_path / "credentials.vault"
    opened = Vault.open(path, PASSPHRASE, kdf=TINY_KDF)
    opened.put("lnbits-token", TOKEN, kind=CredentialKind.LNBITS_TOKEN)
    opened.put("lnd-mac", MACAROON, kind=CredentialKind.LND_MACAROON)
    opened.put("lnd-cert-typo", b"-----BEGIN CERTIFICATE-----", kind=CredentialKind.LND_TLS_CERT)
    return path


def passphrase_file(tmp_path: Path, text: str) -> Path:
    path = write(tmp_path / "passphrase", text)
    path.chmod(0o600)
    return path


VAULT_PROBLEMS: dict[str, tuple[list[str], str, str]] = {
    # case: (node settings, passphrase, the message expected after "lnopt: ")
    "a credential missing from the vault": (
        LND_NODE,
        PASSPHRASE,
        r"there is no credential named 'lnd-cert' in .*credentials.vault; "
        r"`lnopt credentials list` shows what it holds",
    ),
    "a credential of the wrong kind": (
        [*LND, "--lnd-macaroon-credential", "lnbits-token", "--lnd-tls-cert-credential", "x"],
        PASSPHRASE,
        r"lnd-macaroon-credential: the vault record 'lnbits-token' holds an lnbits-token, not an "
        r"lnd-macaroon",
    ),
    "a wrong passphrase": (LNBITS_NODE, "not the passphrase", r"wrong passphrase for .*vault"),
}


@pytest.mark.parametrize("case", list(VAULT_PROBLEMS))
def test_a_credential_that_cannot_be_read_is_named_and_no_secret_is_shown(
    case: str, vault: Path, tmp_path: Path
) -> None:
    node, passphrase, expected = VAULT_PROBLEMS[case]
    credentials = [
        "--vault",
        str(vault),
        "--passphrase-file",
        str(passphrase_file(tmp_path, passphrase)),
    ]

    done = subprocess.run(
        [sys.executable, "-m", "lnopt", "status", *node, *credentials],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("lnopt: ") and done.stderr.count("\n") == 1, done.stderr
    assert re.search(expected, done.stderr), done.stderr
    assert_no_secret(
        [("stderr", done.stderr), ("stdout", done.stdout)], [TOKEN, MACAROON, PASSPHRASE]
    )


def test_credentials_without_a_vault_say_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = tmp_path / "credentials.vault"
    secret_file = passphrase_file(tmp_path, PASSPHRASE)

    code = main(
        ["status", *LNBITS_NODE, "--vault", str(vault), "--passphrase-file", str(secret_file)]
    )

    assert code == 2
    assert capsys.readouterr().err == (
        f"lnopt: there is no vault at {vault}; `lnopt credentials add` creates one\n"
    )
    assert not vault.exists()


def test_credentials_without_a_passphrase_name_where_it_is_looked_for(
    vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment(tmp_path)
    env.pop("LNOPT_PASSPHRASE_FILE", None)

    done = subprocess.run(
        [sys.executable, "-m", "lnopt", "status", *LNBITS_NODE, "--vault", str(vault)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.startswith("lnopt: no vault passphrase was given; lnopt reads it from")
    assert "$CREDENTIALS_DIRECTORY/lnopt-passphrase" in done.stderr


def test_a_missing_settings_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--settings", str(tmp_path / "nope.yaml")]) == 2
    assert f"cannot read settings file {tmp_path / 'nope.yaml'}" in capsys.readouterr().err


def test_a_bad_setting_in_a_real_process_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    settings_file = write(tmp_path / "settings.yaml", "backend: cln\nrpc-file: /x\ncolour: red\n")

    done = subprocess.run(
        [sys.executable, "-m", "lnopt", "run", "--settings", str(settings_file)],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.startswith(f"lnopt: settings file {settings_file}: unknown key 'colour'")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_every_setting_is_a_command_line_option_of_every_runner_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("run", "score", "recommend", "apply", "status", "report"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        usage = capsys.readouterr().out
        for name in SETTING_NAMES:
            assert f"--{name}" in usage, (command, name)


# --- lnopt score: our node through a backend, or a public node from gossip -----------------


def test_score_from_gossip_refuses_node_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = write(tmp_path / "graph.json", '{"channels": []}')

    code = main(["score", "--graph", str(graph), "--node", PEER, *CLN])

    assert code == 2
    err = capsys.readouterr().err
    assert "score --graph scores a public node from gossip" in err
    assert "--backend, --rpc-file" in err


def test_score_from_gossip_needs_both_the_graph_and_the_node(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["score", "--node", PEER]) == 2
    assert "needs both --graph FILE and --node ID" in capsys.readouterr().err


def test_score_without_graph_scores_our_node_through_the_backend(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["score"]) == 2  # no backend given: the node mode asks for one
    assert "backend: not given" in capsys.readouterr().err
