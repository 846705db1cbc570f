"""``lnopt credentials ...``: as a user runs it (``python -m lnopt`` in a real subprocess, and on
a real terminal) for the main paths, and through :func:`lnopt.cli.main` in this process for the
many refusals, since each start of the command line imports the whole engine.

Most vaults are made in the test with tiny Argon2id costs (the cost is kept in the vault's
header, so the command line then uses it as it is); the tests of a vault the command line
creates itself use the real defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnopt.cli import main
from lnopt.security import commands
from lnopt.security.vault import CredentialInfo, CredentialKind, KdfParams, Vault
from tests.secret_scan import assert_no_secret

PASSPHRASE = "long vault words"
TOKEN = b"3f6a9c0d1e2b4a5968778695a4b3c2d1"
MACAROON = b"\x02\x01\x03lnd\x02\xfe" + bytes(range(200))
CERTIFICATE = b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n-----END CERTIFICATE-----\n"
DAY_S = 86_400


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs ``lnopt credentials ...`` against one vault and keeps every output for the scan."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.vault = tmp_path / "vault" / "credentials.vault"
        self.passphrase_file = tmp_path / "passphrase"
        self.passphrase_file.write_text(PASSPHRASE + "\n")
        self.passphrase_file.chmod(0o600)
        for variable in ("CREDENTIALS_DIRECTORY", "LNOPT_PASSPHRASE_FILE", "STATE_DIRECTORY"):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        self.outputs: list[tuple[str, str]] = []

    def command(self, args: tuple[str, ...], *, vault: bool, passphrase: bool) -> list[str]:
        command = ["credentials", *args]
        if vault:
            command += ["--vault", str(self.vault)]
        if passphrase:
            command += ["--passphrase-file", str(self.passphrase_file)]
        return command

    def run(self, *args: str, vault: bool = True, passphrase: bool = True) -> Result:
        """``python -m lnopt credentials ARGS`` in a subprocess, with no terminal."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "lnopt",
                *self.command(args, vault=vault, passphrase=passphrase),
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.keep(args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return Result(done.returncode, done.stdout, done.stderr)

    def __call__(self, *args: str, vault: bool = True, passphrase: bool = True) -> Result:
        """The same command through ``lnopt.cli.main`` in this process."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(self.command(args, vault=vault, passphrase=passphrase))
        self.keep(args, out.getvalue(), err.getvalue())
        return Result(code, out.getvalue(), err.getvalue())

    def keep(self, args: tuple[str, ...], out: str, err: str) -> None:
        place = " ".join(args)
        self.outputs += [(f"stdout of {place}", out), (f"stderr of {place}", err)]

    def open(self, clock: Callable[[], float] = time.time) -> Vault:
        return Vault.open(self.vault, PASSPHRASE, clock=clock)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    runner = Cli(tmp_path, monkeypatch)
    Vault.open(runner.vault, PASSPHRASE, kdf=KdfParams(memory_kib=8, iterations=1, lanes=1))
    yield runner
    assert_no_secret(
        runner.outputs, [TOKEN, MACAROON, CERTIFICATE, b"rotated-" + TOKEN, PASSPHRASE]
    )


def secret_file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_add_stores_each_kind_and_list_shows_no_secret(cli: Cli, tmp_path: Path) -> None:
    token_file = secret_file(tmp_path, "token", b"  " + TOKEN + b"\n")
    macaroon_file = secret_file(tmp_path, "lnopt.macaroon", MACAROON)
    cert_file = secret_file(tmp_path, "tls.cert", CERTIFICATE)

    added = cli.run("add", "lnbits", "--kind", "lnbits-token", "--from-file", token_file)
    assert added.code == 0 and "stored lnbits (lnbits-token, fingerprint " in added.out
    assert cli("add", "mac", "--kind", "lnd-macaroon", "--from-file", macaroon_file).code == 0
    assert cli("add", "cert", "--kind", "lnd-tls-cert", "--from-file", cert_file).code == 0

    vault = cli.open()
    assert vault.get("lnbits") == TOKEN  # a token loses its surrounding blanks ...
    assert vault.get("mac") == MACAROON  # ... a macaroon or certificate is kept byte for byte
    assert vault.get("cert") == CERTIFICATE
    listing = json.loads(cli.run("list", "--json").out)
    assert listing["vault"] == str(cli.vault)
    assert [(c["name"], c["kind"], c["age_days"]) for c in listing["credentials"]] == [
        ("cert", "lnd-tls-cert", 0),
        ("lnbits", "lnbits-token", 0),
        ("mac", "lnd-macaroon", 0),
    ]
    assert {c["fingerprint"] for c in listing["credentials"]} == {
        i.fingerprint for i in vault.list()
    }
    table = cli("list")
    assert table.code == 0 and table.err == ""
    assert table.out.splitlines()[0].split() == ["NAME", "KIND", "AGE", "FINGERPRINT", "DETAILS"]
    assert "lnbits  lnbits-token  0 d" in table.out


def test_list_warns_about_a_secret_older_than_30_days(cli: Cli) -> None:
    now_s = time.time()
    cli.open(clock=lambda: now_s - 45 * DAY_S).put("old", TOKEN, kind=CredentialKind.OTHER)
    cli.open(clock=lambda: now_s - 29 * DAY_S).put("recent", MACAROON, kind=CredentialKind.OTHER)

    listing = cli("list", "--json")
    table = cli("list")

    rows = {c["name"]: c for c in json.loads(listing.out)["credentials"]}
    assert (rows["old"]["age_days"], rows["old"]["due_for_rotation"]) == (45, True)
    assert (rows["recent"]["age_days"], rows["recent"]["due_for_rotation"]) == (29, False)
    for result in (listing, table):
        assert result.err == (
            "lnopt: warning: old is 45 days old (over 30); "
            "rotate it: lnopt credentials rotate old\n"
        )
    assert "45 d (rotate)" in table.out


def test_rotate_replaces_the_secret_and_keeps_name_and_kind(cli: Cli, tmp_path: Path) -> None:
    old = cli.open(clock=lambda: 1_700_000_000).put(
        "lnbits", TOKEN, kind=CredentialKind.LNBITS_TOKEN
    )
    new_file = secret_file(tmp_path, "new", b"rotated-" + TOKEN)

    rotated = cli.run("rotate", "lnbits", "--from-file", new_file)

    info = cli.open().info("lnbits")
    assert rotated.code == 0
    assert rotated.out == f"rotated lnbits: fingerprint {old.fingerprint} -> {info.fingerprint}\n"
    assert cli.open().get("lnbits") == b"rotated-" + TOKEN
    assert info.kind is CredentialKind.LNBITS_TOKEN and info.created_at_s > old.created_at_s


def test_rotate_to_the_same_secret_is_refused(cli: Cli, tmp_path: Path) -> None:
    before = cli.open().put("lnbits", TOKEN, kind=CredentialKind.LNBITS_TOKEN)

    same = cli("rotate", "lnbits", "--from-file", secret_file(tmp_path, "same", TOKEN + b"\n"))

    assert same.code == 2
    assert same.err == "lnopt: the new secret for lnbits is the old one; nothing was changed\n"
    assert cli.open().info("lnbits") == before


def test_rotate_hands_a_kind_with_a_rotator_to_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = cli.open().put("mac", MACAROON, kind=CredentialKind.LND_MACAROON)
    seen: list[tuple[str, str]] = []

    def bake(args: argparse.Namespace, vault: Vault, info: CredentialInfo) -> CredentialInfo:
        seen.append((args.name, info.fingerprint))
        return vault.put(info.name, MACAROON[::-1], kind=info.kind, details={"root_key_id": "7"})

    monkeypatch.setitem(commands.ROTATORS, CredentialKind.LND_MACAROON, bake)
    rotated = cli("rotate", "mac")

    assert rotated.code == 0 and rotated.out.startswith("rotated mac: fingerprint")
    assert seen == [("mac", old.fingerprint)]
    assert cli.open().get("mac") == MACAROON[::-1]
    assert dict(cli.open().info("mac").details) == {"root_key_id": "7"}


def test_remove_deletes_and_a_missing_name_is_a_clear_error(cli: Cli) -> None:
    cli.open().put("lnbits", TOKEN, kind=CredentialKind.LNBITS_TOKEN)

    removed = cli.run("remove", "lnbits")
    again = cli("remove", "lnbits")

    assert removed.code == 0 and removed.out == f"removed lnbits from {cli.vault}\n"
    assert cli.open().list() == ()
    assert again.code == 2
    assert again.err.startswith("lnopt: there is no credential named 'lnbits' in ")
    assert cli("list").out == f"no credentials in {cli.vault}\n"


def test_a_wrong_passphrase_answers_like_the_cli_does(cli: Cli) -> None:
    cli.passphrase_file.write_text("not the words\n")

    result = cli.run("list")

    assert (result.code, result.out) == (2, "")
    assert result.err == f"lnopt: wrong passphrase for {cli.vault} (or its header was altered)\n"


def test_a_vault_open_to_others_is_refused_with_the_chmod_to_run(cli: Cli) -> None:
    cli.vault.chmod(0o644)

    result = cli("list")

    assert result.code == 2
    assert f"run `chmod 600 {cli.vault}`" in result.err


def test_without_any_passphrase_source_the_sources_are_named(cli: Cli) -> None:
    result = cli("list", passphrase=False)

    assert result.code == 2
    assert "no vault passphrase was given" in result.err
    assert "$CREDENTIALS_DIRECTORY/lnopt-passphrase" in result.err


def test_systemd_credentials_directory_gives_the_passphrase(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "systemd-credentials"
    directory.mkdir()
    (directory / "lnopt-passphrase").write_text(PASSPHRASE)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))

    assert cli("list", passphrase=False).code == 0


def test_bad_secret_sources_are_refused_and_nothing_is_stored(cli: Cli, tmp_path: Path) -> None:
    empty = secret_file(tmp_path, "empty", b" \n")

    no_source = cli("add", "lnbits", "--kind", "lnbits-token")
    macaroon_typed = cli("add", "mac", "--kind", "lnd-macaroon")
    missing = cli("add", "x", "--kind", "other", "--from-file", str(tmp_path / "absent"))
    blank = cli("add", "x", "--kind", "other", "--from-file", empty)
    bad_name = cli("add", "no spaces", "--kind", "other", "--from-file", empty)

    assert no_source.err == (
        "lnopt: no secret given for lnbits: pass --from-file F, or type it on a terminal\n"
    )
    assert macaroon_typed.err == "lnopt: an lnd-macaroon is a file: pass --from-file F\n"
    assert "lnopt: cannot read" in missing.err and "No such file" in missing.err
    assert blank.err == "lnopt: the secret given for x is empty; nothing was changed\n"
    assert "credential name 'no spaces' is refused" in bad_name.err
    for result in (no_source, macaroon_typed, missing, blank, bad_name):
        assert result.code == 2
    assert cli.open().list() == ()


def test_list_of_a_vault_that_does_not_exist_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    absent = tmp_path / "nowhere" / "v.vault"

    result = cli("list", "--vault", str(absent), vault=False)

    assert result.code == 2
    assert (
        result.err == f"lnopt: there is no vault at {absent}; `lnopt credentials add` creates one\n"
    )
    assert not absent.parent.exists()


def test_the_first_add_creates_the_default_vault_owner_only_with_real_costs(
    cli: Cli, tmp_path: Path
) -> None:
    token_file = secret_file(tmp_path, "token", TOKEN)
    previous = os.umask(0o022)
    try:
        added = cli.run(
            "add", "lnbits", "--kind", "lnbits-token", "--from-file", token_file, vault=False
        )
    finally:
        os.umask(previous)

    default = tmp_path / "home" / ".lnopt" / "credentials.vault"
    assert added.code == 0 and str(default) in added.out
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    assert stat.S_IMODE(default.parent.stat().st_mode) == 0o700
    header = json.loads(default.read_text())["kdf"]
    assert (header["memory_kib"], header["iterations"], header["lanes"]) == (65536, 3, 4)
    assert Vault.open(default, PASSPHRASE).get("lnbits") == TOKEN


def read_until(fd: int, marker: bytes, seen: bytearray, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {marker!r} on the terminal; it showed {bytes(seen)!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError(f"the terminal closed before {marker!r}: {bytes(seen)!r}")
        seen += chunk


def test_on_a_terminal_passphrase_and_secret_are_typed_without_echo(cli: Cli) -> None:
    vault = cli.vault.with_name("typed.vault")
    argv = [sys.executable, "-m", "lnopt", "credentials", "add", "typed", "--kind", "other"]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: lnopt on a real terminal
        try:
            os.execv(sys.executable, [*argv, "--vault", str(vault)])  # noqa: S606 (no shell)
        finally:
            os._exit(127)
    seen = bytearray()
    for prompt, answer in (
        (b"vault passphrase: ", PASSPHRASE.encode()),
        (b"the same passphrase again: ", PASSPHRASE.encode()),
        (b"secret for typed: ", TOKEN),
    ):
        read_until(terminal, prompt, seen)
        os.write(terminal, answer + b"\n")
    read_until(terminal, b"stored typed", seen)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)

    assert os.waitstatus_to_exitcode(status) == 0
    assert TOKEN not in seen and PASSPHRASE.encode() not in seen
    assert Vault.open(vault, PASSPHRASE).get("typed") == TOKEN
