"""LND macaroons: what one grants, and the short-lived copies lnopt sends.

LND bakes binary (version 2) macaroons with the Go macaroon bakery. Their identifier is a
version byte ``0x03`` followed by the protobuf message (macaroon-bakery ``MacaroonId``)::

    message MacaroonId { bytes nonce = 1; bytes storageId = 2; repeated Op ops = 3; }
    message Op { string entity = 1; repeated string actions = 2; }

``storageId`` is the root key id, written as its decimal digits (``"0"`` for the key
``admin.macaroon`` derives from); the ops are the granted ``entity:action`` permissions.
:func:`read_macaroon` decodes that with a small protobuf reader of its own.

lnopt never sends the stored macaroon: :func:`attenuate` adds a first-party caveat
``time-before <RFC3339 time>``, which LND enforces, and :func:`header_value` hex-encodes the copy
for the ``Grpc-Metadata-macaroon`` header. None of these functions logs or puts a macaroon's
bytes in an error message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pymacaroons import Macaroon
from pymacaroons.exceptions import MacaroonException
from pymacaroons.serializers.binary_serializer import BinarySerializer

from lnopt.errors import ConfigError

__all__ = [
    "LndMacaroon",
    "Permission",
    "attenuate",
    "decode_identifier",
    "header_value",
    "read_macaroon",
    "time_before_caveat",
]

IDENTIFIER_VERSION = 3  # macaroon-bakery's LatestVersion, the only one LND accepts
_VARINT, _LENGTH_DELIMITED = 0, 2
_FIXED_SIZES = {1: 8, 5: 4}  # wire types 1 (64-bit) and 5 (32-bit)


@dataclass(frozen=True, slots=True, order=True)
class Permission:
    """One ``entity:action`` pair of LND's permission model (``offchain:write``)."""

    entity: str
    action: str

    def __str__(self) -> str:
        return f"{self.entity}:{self.action}"

    @classmethod
    def parse(cls, text: str) -> Permission:
        entity, sep, action = text.partition(":")
        if not sep or not entity or not action:
            raise ConfigError(f"a permission is written entity:action (info:read), got {text!r}")
        return cls(entity, action)


@dataclass(frozen=True, slots=True)
class LndMacaroon:
    """What an LND macaroon's identifier says: its root key id and the permissions it grants."""

    root_key_id: int
    permissions: frozenset[Permission]
    caveats: tuple[str, ...]  # first-party caveat conditions, in order
    location: str

    def grants(self, permission: Permission) -> bool:
        return permission in self.permissions


class _ProtoReader:
    """Just enough of the protobuf wire format to read a ``MacaroonId``."""

    def __init__(self, data: bytes, where: str) -> None:
        self._data = data
        self._pos = 0
        self._where = where

    def done(self) -> bool:
        return self._pos >= len(self._data)

    def _fail(self, what: str) -> ConfigError:
        return ConfigError(f"the macaroon identifier is malformed ({self._where}: {what})")

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self._pos >= len(self._data):
                raise self._fail("truncated varint")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise self._fail("varint longer than 10 bytes")

    def field(self) -> tuple[int, int, bytes | int]:
        """The next field: number, wire type, and its bytes (length-delimited) or integer."""
        key = self.varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            return number, wire_type, self.varint()
        if wire_type == _LENGTH_DELIMITED:
            length = self.varint()
            end = self._pos + length
            if end > len(self._data):
                raise self._fail(f"field {number} runs past the end")
            chunk = self._data[self._pos : end]
            self._pos = end
            return number, wire_type, chunk
        size = _FIXED_SIZES.get(wire_type)
        if size is None or self._pos + size > len(self._data):
            raise self._fail(f"field {number} has unsupported wire type {wire_type}")
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return number, wire_type, chunk


def _text(value: bytes | int, reader: _ProtoReader, what: str) -> str:
    if not isinstance(value, bytes):
        raise reader._fail(f"{what} is not a string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise reader._fail(f"{what} is not UTF-8") from exc


def _op_permissions(data: bytes) -> list[Permission]:
    reader = _ProtoReader(data, "op")
    entity = ""
    actions: list[str] = []
    while not reader.done():
        number, _, value = reader.field()
        if number == 1:
            entity = _text(value, reader, "entity")
        elif number == 2:
            actions.append(_text(value, reader, "action"))
    if not entity or not actions:
        raise reader._fail("an op without entity or actions")
    return [Permission(entity, action) for action in actions]


def decode_identifier(identifier: bytes) -> tuple[int, frozenset[Permission]]:
    """Root key id and permissions of an LND macaroon identifier (see the module docstring)."""
    if not identifier or identifier[0] != IDENTIFIER_VERSION:
        raise ConfigError(
            "this is not a macaroon LND baked: its identifier should start with the version "
            f"byte {IDENTIFIER_VERSION}"
        )
    reader = _ProtoReader(identifier[1:], "MacaroonId")
    storage_id: bytes | None = None
    permissions: list[Permission] = []
    while not reader.done():
        number, _, value = reader.field()
        if number == 2 and isinstance(value, bytes):
            storage_id = value
        elif number == 3 and isinstance(value, bytes):
            permissions.extend(_op_permissions(value))
    if storage_id is None or not storage_id.isdigit():
        raise reader._fail("the root key id is missing or not a decimal number")
    if not permissions:
        raise reader._fail("no permissions")
    return int(storage_id), frozenset(permissions)


def _deserialize(data: bytes) -> Macaroon:
    if not data:
        raise ConfigError("the macaroon is empty; expected the binary macaroon file LND wrote")
    if data[:1] != b"\x02":
        raise ConfigError(
            "the macaroon is not a binary version 2 macaroon (as LND writes admin.macaroon); "
            "if you have its hex text, convert it with `xxd -r -p`"
        )
    try:
        return BinarySerializer().deserialize_raw(data)
    except (MacaroonException, ValueError, IndexError) as exc:
        raise ConfigError(f"the macaroon cannot be read: {type(exc).__name__}") from exc


def read_macaroon(data: bytes) -> LndMacaroon:
    """What a binary LND macaroon grants; :class:`ConfigError` says why one is refused."""
    macaroon = _deserialize(data)
    root_key_id, permissions = decode_identifier(macaroon.identifier_bytes)
    caveats = tuple(
        caveat.caveat_id_bytes.decode("utf-8", errors="replace")
        for caveat in macaroon.caveats
        if caveat.first_party()
    )
    return LndMacaroon(
        root_key_id=root_key_id,
        permissions=permissions,
        caveats=caveats,
        location=macaroon.location,
    )


def time_before_caveat(expires_at: dt.datetime) -> str:
    """The ``time-before`` condition LND checks, in RFC 3339 UTC with nanoseconds."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a timezone")
    utc = expires_at.astimezone(dt.UTC)
    return f"time-before {utc.strftime('%Y-%m-%dT%H:%M:%S')}.{utc.microsecond * 1000:09d}Z"


def attenuate(data: bytes, *, expires_at: dt.datetime) -> bytes:
    """A copy of the binary macaroon that LND refuses after ``expires_at``."""
    copy = _deserialize(data).copy()
    copy.add_first_party_caveat(time_before_caveat(expires_at))
    serialized: bytes = BinarySerializer().serialize_raw(copy)
    return serialized


def header_value(data: bytes) -> str:
    """The ``Grpc-Metadata-macaroon`` header value: the binary macaroon in hex."""
    return data.hex()
