"""The credential vault: encryption round trip, wrong passphrase, tampering, file modes.

Vaults here use tiny Argon2id costs (``KdfParams(memory_kib=8, iterations=1, lanes=1)``) so that
the hundreds of openings of the tampering tests stay quick; the cost is stored in each vault's
header, so everything else runs exactly as with the defaults.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lnopt.errors import ConfigError, CredentialError, InvalidRequest
from lnopt.security.vault import CredentialKind, KdfParams, Vault, read_passphrase

SMALL_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)
PASSPHRASE = "correct horse battery staple"
TOKEN = b"9d1f3c5e7a2b4d6f8091a2b3c4d5e6f7"
MACAROON = bytes(range(256)) * 2  # binary, as LND's files are
T0 = 1_760_000_000


def open_vault(path: Path, passphrase: str = PASSPHRASE, **kwargs: Any) -> Vault:
    return Vault.open(path, passphrase, kdf=SMALL_KDF, clock=lambda: T0, **kwargs)


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_bytes())
    return document


def save(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2))


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "credentials.vault"
    vault = open_vault(path)
    vault.put("lnbits", TOKEN, kind=CredentialKind.LNBITS_TOKEN, details={"url": "http://x"})
    vault.put("lnd", MACAROON, kind=CredentialKind.LND_MACAROON)
    return path


def test_secrets_come_back_from_a_reopened_vault_with_their_facts(vault_path: Path) -> None:
    vault = open_vault(vault_path)

    assert vault.get("lnbits") == TOKEN
    assert vault.get("lnd") == MACAROON
    info = vault.info("lnbits")
    assert info.kind is CredentialKind.LNBITS_TOKEN
    assert info.created_at_s == T0
    assert info.fingerprint == hashlib.sha256(TOKEN).hexdigest()[:8]
    assert dict(info.details) == {"url": "http://x"}
    assert [i.name for i in vault.list()] == ["lnbits", "lnd"]


def test_the_file_holds_no_secret_in_any_spelling(vault_path: Path) -> None:
    content = vault_path.read_text()

    for secret in (TOKEN, MACAROON):
        for form in (secret.hex(), base64.b64encode(secret).decode()):
            assert form not in content
    assert TOKEN.decode() not in content
    assert "lnbits" in content and "lnbits-token" in content  # names and kinds are in clear


def test_put_replaces_a_record_under_a_fresh_nonce(vault_path: Path) -> None:
    vault = open_vault(vault_path)
    before = load(vault_path)["records"]["lnbits"]

    vault.put("lnbits", TOKEN, kind=CredentialKind.LNBITS_TOKEN)

    after = load(vault_path)["records"]["lnbits"]
    assert after["nonce"] != before["nonce"]
    assert after["ciphertext"] != before["ciphertext"]
    assert after["details"] == {}
    assert vault.get("lnbits") == TOKEN
    assert len(vault.list()) == 2


def test_remove_deletes_one_record_and_a_missing_name_is_named(vault_path: Path) -> None:
    vault = open_vault(vault_path)
    vault.remove("lnbits")

    assert [i.name for i in vault.list()] == ["lnd"]
    with pytest.raises(CredentialError, match="no credential named 'lnbits'"):
        vault.get("lnbits")
    with pytest.raises(CredentialError, match="no credential named 'lnbits'"):
        vault.remove("lnbits")


def test_a_wrong_passphrase_is_said_in_words(vault_path: Path) -> None:
    with pytest.raises(CredentialError, match=f"wrong passphrase for {vault_path}"):
        open_vault(vault_path, "correct horse battery stapler")


def test_the_passphrase_is_compared_in_one_unicode_normal_form(tmp_path: Path) -> None:
    path = tmp_path / "v"
    open_vault(path, "caf\u00e9 cr\u00e8me").put("t", TOKEN, kind=CredentialKind.OTHER)

    assert open_vault(path, "cafe\u0301 cre\u0300me").get("t") == TOKEN


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_every_byte_of_a_sealed_record_flipped_is_detected_and_named(vault_path: Path) -> None:
    document = load(vault_path)
    record = document["records"]["lnbits"]
    for field in ("nonce", "ciphertext"):
        original = base64.b64decode(record[field])
        for index in range(len(original)):
            record[field] = base64.b64encode(flip(original, index)).decode()
            save(vault_path, document)
            vault = open_vault(vault_path)
            with pytest.raises(CredentialError, match=r"credential 'lnbits' .* integrity check"):
                vault.get("lnbits")
            assert vault.get("lnd") == MACAROON  # the other record still opens
        record[field] = base64.b64encode(original).decode()


@pytest.mark.parametrize(
    "alter",
    [
        lambda r: r.update(kind="other"),
        lambda r: r.update(created_at_s=r["created_at_s"] + 1),
        lambda r: r.update(fingerprint="00000000"),
        lambda r: r.update(details={"url": "http://evil"}),
        lambda r: r.update(details={}),
    ],
    ids=["kind", "created_at_s", "fingerprint", "details changed", "details dropped"],
)
def test_the_facts_kept_in_clear_cannot_be_altered_unnoticed(
    vault_path: Path, alter: Callable[[dict[str, Any]], None]
) -> None:
    document = load(vault_path)
    alter(document["records"]["lnbits"])
    save(vault_path, document)

    vault = open_vault(vault_path)
    with pytest.raises(CredentialError, match=r"credential 'lnbits' .* integrity check"):
        vault.info("lnbits")
    with pytest.raises(CredentialError, match="'lnbits'"):
        vault.list()


def test_a_record_moved_under_another_name_is_refused(vault_path: Path) -> None:
    document = load(vault_path)
    document["records"]["lnd-copy"] = document["records"]["lnbits"]
    document["records"]["lnbits"] = document["records"]["lnd"]
    save(vault_path, document)

    vault = open_vault(vault_path)
    with pytest.raises(CredentialError, match=r"'lnd-copy' .* moved here from another name"):
        vault.get("lnd-copy")
    with pytest.raises(CredentialError, match=r"'lnbits' .* moved here from another name"):
        vault.get("lnbits")


def test_every_single_byte_change_to_the_file_is_caught(tmp_path: Path) -> None:
    vault_path = tmp_path / "one.vault"
    open_vault(vault_path).put("t", TOKEN, kind=CredentialKind.LNBITS_TOKEN, details={"a": "b"})
    original = vault_path.read_bytes()
    missed = []
    for index in range(len(original)):
        vault_path.write_bytes(flip(original, index))
        try:
            vault = open_vault(vault_path)
            for info in vault.list():
                vault.get(info.name)
        except CredentialError:
            continue
        missed.append(index)

    assert missed == []
    vault_path.write_bytes(original)
    assert open_vault(vault_path).get("t") == TOKEN


def test_a_changed_salt_reads_as_a_wrong_passphrase_or_an_altered_header(
    vault_path: Path,
) -> None:
    document = load(vault_path)
    document["kdf"]["salt"] = base64.b64encode(bytes(16)).decode()
    save(vault_path, document)

    with pytest.raises(CredentialError, match=r"wrong passphrase .* header was altered"):
        open_vault(vault_path)


def test_a_header_asking_for_absurd_costs_is_refused_before_deriving(vault_path: Path) -> None:
    document = load(vault_path)
    document["kdf"]["memory_kib"] = 2**40
    save(vault_path, document)

    with pytest.raises(CredentialError, match=r"header of .* damaged: Argon2id memory_kib"):
        open_vault(vault_path)


def test_the_header_cost_wins_over_the_one_asked_for_so_costs_can_be_raised(
    vault_path: Path,
) -> None:
    header_before = load(vault_path)["kdf"]

    vault = Vault.open(vault_path, PASSPHRASE, kdf=KdfParams(memory_kib=64, iterations=2))

    assert vault.get("lnbits") == TOKEN
    assert load(vault_path)["kdf"] == header_before
    assert header_before["memory_kib"] == 8 and header_before["iterations"] == 1


def test_an_argon2id_cost_out_of_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"memory_kib must be an integer in \[32, "):
        KdfParams(memory_kib=16, lanes=4)
    with pytest.raises(ConfigError, match="iterations"):
        KdfParams(iterations=0)


def test_files_are_created_owner_only_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "new" / "dir" / "credentials.vault"
    vault = open_vault(path)
    vault.put("t", TOKEN, kind=CredentialKind.OTHER)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.with_name("credentials.vault.lock").stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "credentials.vault",
        "credentials.vault.lock",
    ]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_vault_open_to_others_is_refused_with_the_chmod_to_run(
    vault_path: Path, mode: int
) -> None:
    vault = open_vault(vault_path)
    os.chmod(vault_path, mode)

    with pytest.raises(CredentialError, match=f"mode {mode:04o}.*run `chmod 600 {vault_path}`"):
        open_vault(vault_path)
    with pytest.raises(CredentialError, match="chmod 600"):
        vault.get("lnbits")


def test_opening_without_create_refuses_a_missing_vault(tmp_path: Path) -> None:
    path = tmp_path / "absent.vault"
    with pytest.raises(CredentialError, match=r"no vault at .*credentials add"):
        open_vault(path, create=False)
    assert not path.exists()


def test_two_openers_of_one_vault_see_and_keep_each_others_changes(vault_path: Path) -> None:
    runner, operator = open_vault(vault_path), open_vault(vault_path)

    operator.put("lnbits", b"rotated-token-0123456789", kind=CredentialKind.LNBITS_TOKEN)
    runner.put("extra", b"another-secret", kind=CredentialKind.OTHER)

    assert runner.get("lnbits") == b"rotated-token-0123456789"
    assert [i.name for i in operator.list()] == ["extra", "lnbits", "lnd"]


def put_many(path: Path, writer: int) -> None:
    vault = open_vault(path)
    for n in range(10):
        vault.put(f"w{writer}-{n}", f"secret {writer} {n}".encode(), kind=CredentialKind.OTHER)


def test_writers_in_several_processes_lose_no_change(vault_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=put_many, args=(vault_path, w)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)

    assert [process.exitcode for process in writers] == [0, 0, 0, 0]
    vault = open_vault(vault_path)
    names = {info.name for info in vault.list()}
    assert names == {"lnbits", "lnd"} | {f"w{w}-{n}" for w in range(4) for n in range(10)}
    assert vault.get("w3-9") == b"secret 3 9"


NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8"), max_size=20)


@settings(max_examples=25, deadline=None)
@given(
    records=st.dictionaries(
        NAMES,
        st.tuples(
            st.binary(min_size=1, max_size=300),
            st.sampled_from(CredentialKind),
            st.dictionaries(TEXT, TEXT, max_size=3),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_names_secrets_and_details_come_back_as_stored(
    records: dict[str, tuple[bytes, CredentialKind, dict[str, str]]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "v"
        vault = open_vault(path)
        for name, (secret, kind, details) in records.items():
            vault.put(name, secret, kind=kind, details=details)

        reopened = open_vault(path)
        assert [info.name for info in reopened.list()] == sorted(records)
        for name, (secret, kind, details) in records.items():
            assert reopened.get(name) == secret
            info = reopened.info(name)
            assert (info.kind, dict(info.details)) == (kind, details)


def test_a_vault_replaced_by_another_is_not_written_with_the_old_key(vault_path: Path) -> None:
    vault = open_vault(vault_path)
    vault_path.unlink()
    open_vault(vault_path, "another passphrase").put("x", TOKEN, kind=CredentialKind.OTHER)

    with pytest.raises(CredentialError, match="replaced by another vault"):
        vault.put("y", TOKEN, kind=CredentialKind.OTHER)
    assert [i.name for i in open_vault(vault_path, "another passphrase").list()] == ["x"]


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a/b", "x" * 65, "ünï"])
def test_a_bad_name_is_refused_saying_what_is_accepted(vault_path: Path, name: str) -> None:
    with pytest.raises(InvalidRequest, match="1 to 64 letters, digits"):
        open_vault(vault_path).put(name, TOKEN, kind=CredentialKind.OTHER)


def test_an_empty_secret_is_refused_and_nothing_is_stored(vault_path: Path) -> None:
    before = vault_path.read_bytes()
    with pytest.raises(InvalidRequest, match="empty"):
        open_vault(vault_path).put("lnbits", b"", kind=CredentialKind.LNBITS_TOKEN)
    assert vault_path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00not json", "not an lnopt vault"),
        (b'{"format": "something-else"}', "not an lnopt vault"),
        (b'{"format": "lnopt-vault", "version": 9}', "version 9; this lnopt reads version 1"),
    ],
)
def test_a_file_that_is_no_vault_is_named_as_such(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "v"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(CredentialError, match=message):
        open_vault(path)


class Prompt:
    """Answers a no-echo prompt with prepared lines and remembers what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, question: str) -> str:
        self.asked.append(question)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    """One passphrase file per source, each holding its own name, plus a systemd directory."""
    systemd = tmp_path / "credentials"
    systemd.mkdir()
    (systemd / "lnopt-passphrase").write_text("from-systemd\n")
    files = {"systemd": systemd}
    for name in ("argument", "variable"):
        files[name] = tmp_path / f"{name}.pass"
        files[name].write_text(f"from-{name}\n")
    return files


def test_passphrase_sources_are_taken_in_order(sources: dict[str, Path]) -> None:
    environ = {
        "CREDENTIALS_DIRECTORY": str(sources["systemd"]),
        "LNOPT_PASSPHRASE_FILE": str(sources["variable"]),
    }
    prompt = Prompt("from-prompt")

    def read(**kwargs: Any) -> str:
        return read_passphrase(environ=environ, prompt=prompt, interactive=True, **kwargs)

    assert read(passphrase_file=sources["argument"]) == "from-argument"
    assert read() == "from-systemd"
    (sources["systemd"] / "lnopt-passphrase").unlink()  # systemd gave no such credential
    assert read() == "from-variable"
    del environ["LNOPT_PASSPHRASE_FILE"]
    assert read() == "from-prompt"
    assert prompt.asked == ["vault passphrase: "]


def test_the_prompt_is_used_only_on_a_terminal_and_none_is_a_clear_error() -> None:
    prompt = Prompt("typed")

    with pytest.raises(ConfigError, match=r"no vault passphrase .*--passphrase-file F.*"):
        read_passphrase(environ={}, prompt=prompt, interactive=False)
    with pytest.raises(ConfigError, match=r"CREDENTIALS_DIRECTORY/lnopt-passphrase"):
        read_passphrase(environ={}, prompt=None, interactive=True)
    assert prompt.asked == []


def test_a_new_vault_asks_twice_and_refuses_two_different_answers() -> None:
    assert read_passphrase(environ={}, prompt=Prompt("a b", "a b"), interactive=True, confirm=True)
    with pytest.raises(ConfigError, match="differ"):
        read_passphrase(environ={}, prompt=Prompt("a b", "a c"), interactive=True, confirm=True)
    with pytest.raises(ConfigError, match="no passphrase was typed"):
        read_passphrase(environ={}, prompt=Prompt(), interactive=True)


def test_a_passphrase_file_keeps_all_but_its_line_break(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_bytes(b"  spaced words \r\n")
    assert read_passphrase(passphrase_file=path, environ={}) == "  spaced words "


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\n", "is empty"), (b"\xff\xfe", "not UTF-8"), (None, "cannot read the passphrase file")],
)
def test_a_bad_passphrase_file_is_named(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "p"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_passphrase(passphrase_file=path, environ={})
    with pytest.raises(ConfigError, match=r"\$LNOPT_PASSPHRASE_FILE"):
        read_passphrase(environ={"LNOPT_PASSPHRASE_FILE": str(path)}, prompt=None)


def test_a_passphrase_file_open_to_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "p"
    path.write_text("words")
    path.chmod(0o644)
    assert read_passphrase(passphrase_file=path, environ={}) == "words"
    assert f"run `chmod 600 {path}`" in caplog.text

    caplog.clear()
    path.chmod(0o600)
    read_passphrase(passphrase_file=path, environ={})
    assert caplog.text == ""
