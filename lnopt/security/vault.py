"""The credential vault: tokens, macaroons and TLS certificates kept encrypted in one file.

The file is JSON. Its header holds the format, a random 128-bit salt and the Argon2id cost
parameters; the key is derived from the passphrase (in Unicode normal form NFC, so the same
words typed on different systems give the same key) with ``cryptography``'s ``Argon2id`` over
that salt with those parameters, so a vault keeps opening after the defaults are raised. A
key-check record (a fixed text sealed with the header as associated data) tells a wrong
passphrase from a good one before any record is read. Each record's secret is sealed with
AES-256-GCM under a fresh 96-bit nonce; its associated data is the record's name, kind, creation
time, fingerprint and details, which are kept in clear beside it, so a record that is altered or
moved under another name fails to open, and says which it is, instead of giving garbage.

Every call reads the file afresh, so a runner that keeps a vault open sees a rotated secret;
every change happens under the writer's lock and replaces the file atomically (see
:mod:`lnopt.security.files`). Secrets read with :meth:`Vault.get` are registered with
:mod:`lnopt.security.redaction`, so a log line that carries one shows ``***`` instead.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from lnopt.errors import ConfigError, CredentialError, InvalidRequest
from lnopt.security import layout, redaction
from lnopt.security.files import (
    ensure_private_directory,
    read_private,
    replace_atomically,
    writer_lock,
)
from lnopt.security.passphrase import read_passphrase

__all__ = [
    "DEFAULT_KDF",
    "ROTATION_DAYS",
    "CredentialInfo",
    "CredentialKind",
    "KdfParams",
    "Vault",
    "check_name",
    "default_vault_path",
    "read_passphrase",
]

log = logging.getLogger(__name__)

ROTATION_DAYS = 30
SALT_BYTES = 16
KEY_BYTES = 32
KEY_CHECK = b"lnopt-vault key check"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 64
_NO_DETAILS: Mapping[str, str] = MappingProxyType({})


class CredentialKind(enum.Enum):
    """What a stored secret is for."""

    LNBITS_TOKEN = "lnbits-token"  # noqa: S105 (a kind's name, not a token)
    LND_MACAROON = "lnd-macaroon"
    LND_TLS_CERT = "lnd-tls-cert"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What may be shown about a stored secret: never the secret itself."""

    name: str
    kind: CredentialKind
    created_at_s: int
    fingerprint: str  # first 8 hex digits of the secret's SHA-256
    details: Mapping[str, str] = field(default_factory=dict)  # non-secret facts, kept in clear

    def age_days(self, now_s: int) -> int:
        """Whole days since the secret was stored."""
        return max(0, now_s - self.created_at_s) // 86_400

    def due_for_rotation(self, now_s: int) -> bool:
        """True when the secret is older than :data:`ROTATION_DAYS`."""
        return self.age_days(now_s) > ROTATION_DAYS


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost for a new vault; an existing vault keeps the parameters in its header.

    The defaults are RFC 9106 section 4's second recommended option, for machines that cannot
    spare 2 GiB: 64 MiB of memory, 3 passes, 4 lanes (with a 128-bit salt and a 256-bit key).
    ``cryptography`` (44 and later) takes ``memory_cost`` in KiB and needs at least 8 KiB a lane.
    Tests pass tiny values to keep derivations quick; nothing else should.
    """

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("lanes", self.lanes, 1, MAX_LANES),
            ("iterations", self.iterations, 1, MAX_ITERATIONS),
            ("memory_kib", self.memory_kib, 8 * self.lanes, MAX_MEMORY_KIB),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"Argon2id {name} must be an integer in [{low}, {high}]")


DEFAULT_KDF = KdfParams()


def default_vault_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$STATE_DIRECTORY/credentials.vault`` under systemd, else ``~/.lnopt/credentials.vault``."""
    state_directory = environ.get("STATE_DIRECTORY")
    if state_directory:
        return Path(state_directory.split(":")[0]) / "credentials.vault"
    return Path("~/.lnopt/credentials.vault").expanduser()


def fingerprint(secret: bytes) -> str:
    """The first 8 hex digits of the secret's SHA-256: enough to tell two secrets apart."""
    return hashlib.sha256(secret).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class _Header:
    salt: bytes
    kdf: KdfParams

    def as_json(self) -> dict[str, Any]:
        return {
            "format": layout.FORMAT,
            "version": layout.VERSION,
            "kdf": {
                "algorithm": "argon2id",
                "salt": layout.b64(self.salt),
                "memory_kib": self.kdf.memory_kib,
                "iterations": self.kdf.iterations,
                "lanes": self.kdf.lanes,
            },
        }

    def derive_key(self, passphrase: str) -> bytes:
        return Argon2id(
            salt=self.salt,
            length=KEY_BYTES,
            iterations=self.kdf.iterations,
            lanes=self.kdf.lanes,
            memory_cost=self.kdf.memory_kib,
        ).derive(unicodedata.normalize("NFC", passphrase).encode("utf-8"))


class Vault:
    """One vault file, opened with its passphrase. Build it with :meth:`Vault.open`."""

    def __init__(
        self, path: Path, header: _Header, cipher: AESGCM, clock: Callable[[], float]
    ) -> None:
        self._path = path
        self._header = header
        self._cipher = cipher
        self._clock = clock

    @property
    def path(self) -> Path:
        return self._path

    @classmethod
    def open(
        cls,
        path: Path,
        passphrase: str,
        *,
        kdf: KdfParams = DEFAULT_KDF,
        create: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> Vault:
        """Open the vault at ``path``, creating it (0600, with ``kdf``) if absent and ``create``.

        Raises :class:`CredentialError` for a wrong passphrase, a file open to others, or a
        file that is damaged or altered.
        """
        path = Path(path).expanduser()
        if not path.exists():
            if not create:
                raise CredentialError(
                    f"there is no vault at {path}; `lnopt credentials add` creates one"
                )
            created = cls._create(path, passphrase, kdf, clock)
            if created is not None:
                return created
        document = layout.parse(read_private(path), path)
        header = _parse_header(document, path)
        vault = cls(path, header, AESGCM(header.derive_key(passphrase)), clock)
        vault._check_key(document)
        return vault

    def put(
        self,
        name: str,
        secret: bytes,
        *,
        kind: CredentialKind,
        details: Mapping[str, str] = _NO_DETAILS,
    ) -> CredentialInfo:
        """Store ``secret`` under ``name``, replacing any record of that name."""
        check_name(name)
        if not isinstance(secret, bytes) or not secret:
            raise InvalidRequest(f"the secret for {name!r} is empty; nothing was stored")
        if not isinstance(kind, CredentialKind):
            raise InvalidRequest(f"kind must be one of {_kinds()}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in details.items()):
            raise InvalidRequest(f"the details of {name!r} must map text to text")
        info = CredentialInfo(
            name=name,
            kind=kind,
            created_at_s=int(self._clock()),
            fingerprint=fingerprint(secret),
            details=dict(details),
        )
        nonce = os.urandom(layout.NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, secret, _record_associated_data(info))
        record = {
            "kind": info.kind.value,
            "created_at_s": info.created_at_s,
            "fingerprint": info.fingerprint,
            "details": dict(info.details),
            "nonce": layout.b64(nonce),
            "ciphertext": layout.b64(sealed),
        }

        def store(records: dict[str, Any]) -> None:
            records[name] = record

        self._change(store)
        log.info(
            "credential stored name=%s kind=%s fingerprint=%s", name, kind.value, info.fingerprint
        )
        return info

    def get(self, name: str) -> bytes:
        """The secret stored under ``name`` (registered for redaction from logs)."""
        _, secret = self._open_record(self._records(), name)
        redaction.register_secret(secret)
        return secret

    def info(self, name: str) -> CredentialInfo:
        """What may be shown about ``name``, once its record is checked intact."""
        info, _ = self._open_record(self._records(), name)
        return info

    def list(self) -> tuple[CredentialInfo, ...]:
        """Every record, by name, each checked intact; never a secret."""
        records = self._records()
        return tuple(self._open_record(records, name)[0] for name in sorted(records))

    def remove(self, name: str) -> None:
        """Delete the record ``name``."""

        def delete(records: dict[str, Any]) -> None:
            if name not in records:
                raise self._missing(name)
            del records[name]

        self._change(delete)
        log.info("credential removed name=%s", name)

    @classmethod
    def _create(
        cls, path: Path, passphrase: str, kdf: KdfParams, clock: Callable[[], float]
    ) -> Vault | None:
        """A new empty vault at ``path``, or None if another process created one meanwhile."""
        ensure_private_directory(path.parent)
        with writer_lock(path):
            if path.exists():
                return None
            header = _Header(salt=os.urandom(SALT_BYTES), kdf=kdf)
            cipher = AESGCM(header.derive_key(passphrase))
            nonce = os.urandom(layout.NONCE_BYTES)
            check = cipher.encrypt(nonce, KEY_CHECK, layout.canonical(header.as_json()))
            document = header.as_json() | {
                "check": {"nonce": layout.b64(nonce), "ciphertext": layout.b64(check)},
                "records": {},
            }
            replace_atomically(path, layout.encode(document))
        log.info("credential vault created path=%s", path)
        return cls(path, header, cipher, clock)

    def _check_key(self, document: dict[str, Any]) -> None:
        check = document.get("check")
        where = f"the key check of {self._path}"
        if not isinstance(check, dict):
            raise CredentialError(f"{where} is missing")
        nonce = layout.nonce_field(check, where)
        sealed = layout.b64_field(check, "ciphertext", where)
        try:
            plain = self._cipher.decrypt(nonce, sealed, layout.canonical(self._header.as_json()))
        except InvalidTag as exc:
            raise CredentialError(
                f"wrong passphrase for {self._path} (or its header was altered)"
            ) from exc
        if plain != KEY_CHECK:
            raise CredentialError(f"{where} is damaged")

    def _read(self) -> dict[str, Any]:
        """The file as it is now, refused if it is no longer the vault that was opened."""
        document = layout.parse(read_private(self._path), self._path)
        if _parse_header(document, self._path) != self._header:
            raise CredentialError(
                f"{self._path} was replaced by another vault since it was opened; open it again"
            )
        return document

    def _records(self, document: dict[str, Any] | None = None) -> dict[str, Any]:
        records = (document if document is not None else self._read()).get("records")
        if not isinstance(records, dict):
            raise CredentialError(f"{self._path} is damaged: it has no records table")
        return records

    def _change(self, change: Callable[[dict[str, Any]], None]) -> None:
        with writer_lock(self._path):
            document = self._read()
            change(self._records(document))
            replace_atomically(self._path, layout.encode(document))

    def _open_record(self, records: dict[str, Any], name: str) -> tuple[CredentialInfo, bytes]:
        record = records.get(name)
        if record is None:
            raise self._missing(name)
        where = f"credential {name!r} in {self._path}"
        if not isinstance(record, dict) or not NAME_PATTERN.fullmatch(name):
            raise CredentialError(f"{where} is damaged")
        info = CredentialInfo(
            name=name,
            kind=_kind_field(record, where),
            created_at_s=layout.int_field(record, "created_at_s", where),
            fingerprint=layout.str_field(record, "fingerprint", where),
            details=layout.details_field(record, where),
        )
        nonce = layout.nonce_field(record, where)
        sealed = layout.b64_field(record, "ciphertext", where)
        try:
            secret = self._cipher.decrypt(nonce, sealed, _record_associated_data(info))
        except InvalidTag as exc:
            raise CredentialError(
                f"{where} failed its integrity check: the record was altered, "
                "or moved here from another name"
            ) from exc
        return info, secret

    def _missing(self, name: str) -> CredentialError:
        return CredentialError(
            f"there is no credential named {name!r} in {self._path}; "
            "`lnopt credentials list` shows what it holds"
        )


def check_name(name: str) -> None:
    """Refuse a credential name that is not 1 to 64 letters, digits, '.', '_' or '-'."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidRequest(f"credential name {name!r} is refused: use {NAME_RULE}")


def _kinds() -> str:
    return ", ".join(kind.value for kind in CredentialKind)


def _record_associated_data(info: CredentialInfo) -> bytes:
    return layout.canonical(
        {
            "format": layout.FORMAT,
            "version": layout.VERSION,
            "record": info.name,
            "kind": info.kind.value,
            "created_at_s": info.created_at_s,
            "fingerprint": info.fingerprint,
            "details": dict(info.details),
        }
    )


def _parse_header(document: dict[str, Any], path: Path) -> _Header:
    where = f"the header of {path}"
    kdf = document.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("algorithm") != "argon2id":
        raise CredentialError(f"{where} is damaged: it names no Argon2id parameters")
    salt = layout.b64_field(kdf, "salt", where)
    if not SALT_BYTES <= len(salt) <= 64:
        raise CredentialError(f"{where} is damaged: the salt must be 16 to 64 bytes")
    try:
        params = KdfParams(
            memory_kib=layout.int_field(kdf, "memory_kib", where),
            iterations=layout.int_field(kdf, "iterations", where),
            lanes=layout.int_field(kdf, "lanes", where),
        )
    except ConfigError as exc:
        raise CredentialError(f"{where} is damaged: {exc}") from exc
    return _Header(salt=salt, kdf=params)


def _kind_field(record: dict[str, Any], where: str) -> CredentialKind:
    try:
        return CredentialKind(record.get("kind"))
    except ValueError as exc:
        raise CredentialError(f"{where} is damaged: its kind is not one of {_kinds()}") from exc
