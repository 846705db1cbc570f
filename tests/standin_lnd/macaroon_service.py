"""The stand-in's macaroon service: root keys by id, baking, and checking a request's macaroon
as LND does.

Minting follows LND (``macaroons/service.go``, ``rpcserver.go`` BakeMacaroon) and the Go
macaroon bakery it uses: a random 32-byte root key per root key id (created on first use), the
id written as decimal digits into the identifier ``0x03 || MacaroonId{nonce, storageId, ops}``
(ops canonical: sorted by entity then action, grouped by entity), location ``lnd``, no caveat.
The HMAC chain starts from HMAC-SHA256(key="macaroons-key-generator", msg=root key), as Go's
macaroon library and pymacaroons both do. The protobuf writer and reader here are the stand-in's
own, independent of lnopt's.

Checking follows the bakery's order: decode the identifier; find the root key (an unknown or
deleted id fails as LND's root key store does); verify the signature chain while collecting
the first-party caveats; check each caveat (``time-before``; any other condition is unknown to
the stand-in and refused); then the permissions the route needs (``uri:<method>`` grants one
method). Messages are LND's.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable, Iterable
from itertools import groupby

from pymacaroons import Macaroon, Verifier
from pymacaroons.exceptions import MacaroonException
from pymacaroons.serializers.binary_serializer import BinarySerializer

DEFAULT_ROOT_KEY_ID = 0
Op = tuple[str, str]  # (entity, action)

VALID_ENTITIES = (
    "onchain",
    "offchain",
    "address",
    "message",
    "peers",
    "info",
    "invoices",
    "signer",
    "macaroon",
    "uri",
)
VALID_ACTIONS = ("read", "write", "generate")


class MacaroonCheckFailed(Exception):
    """A macaroon LND would refuse; the message is LND's."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_identifier(root_key_id: int, ops: Iterable[Op], nonce: bytes) -> bytes:
    canonical = sorted(set(ops))
    body = _field(1, nonce) + _field(2, str(root_key_id).encode())
    for entity, group in groupby(canonical, key=lambda op: op[0]):
        op = _field(1, entity.encode())
        for _, action in group:
            op += _field(2, action.encode())
        body += _field(3, op)
    return b"\x03" + body


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, bytes]]:
    pos, found = 0, []
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        if key & 7 != 2:
            raise ValueError("unexpected wire type")
        length, pos = _read_varint(data, pos)
        found.append((key >> 3, data[pos : pos + length]))
        pos += length
    return found


def decode_identifier(identifier: bytes) -> tuple[bytes, list[Op]]:
    """``storageId`` and ops, as the bakery's ``decodeMacaroonId`` reads a version 3 id."""
    if not identifier or identifier[0] != 3:
        raise MacaroonCheckFailed("invalid ID")
    storage_id, ops = b"", []
    for number, value in _fields(identifier[1:]):
        if number == 2:
            storage_id = value
        elif number == 3:
            entity, actions = "", []
            for sub_number, sub_value in _fields(value):
                if sub_number == 1:
                    entity = sub_value.decode()
                elif sub_number == 2:
                    actions.append(sub_value.decode())
            ops.extend((entity, action) for action in actions)
    if not ops:
        raise MacaroonCheckFailed("cannot retrieve macaroon: no operations found in macaroon")
    return storage_id, ops


def _parse_rfc3339(text: str) -> dt.datetime:
    """Go's RFC3339Nano: fractional seconds of any length, ``Z`` or an offset."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        raise ValueError(text)
    head, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    return dt.datetime.fromisoformat(f"{head}.{micro}{'+00:00' if zone == 'Z' else zone}")


class MacaroonService:
    """Root keys by id and LND's checks on a presented macaroon."""

    def __init__(self, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._keys: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.root_key(DEFAULT_ROOT_KEY_ID)

    def root_key(self, root_key_id: int) -> bytes:
        """The root key of an id, made on first use (LND's RootKeyStorage.RootKey)."""
        with self._lock:
            return self._keys.setdefault(root_key_id, os.urandom(32))

    def bake(self, ops: Iterable[Op], root_key_id: int = DEFAULT_ROOT_KEY_ID) -> bytes:
        key = self.root_key(root_key_id)
        identifier = encode_identifier(root_key_id, ops, os.urandom(16))
        macaroon = Macaroon(location="lnd", identifier=identifier, key=key, version=2)
        serialized: bytes = BinarySerializer().serialize_raw(macaroon)
        return serialized

    def root_key_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._keys)

    def delete(self, root_key_id: int) -> bool:
        with self._lock:
            return self._keys.pop(root_key_id, None) is not None

    def check(self, data: bytes, required: Iterable[Op], full_method: str) -> None:
        """Raise :class:`MacaroonCheckFailed` with LND's message if LND would refuse ``data``."""
        try:
            macaroon = BinarySerializer().deserialize_raw(data)
        except (MacaroonException, ValueError, IndexError) as exc:
            raise MacaroonCheckFailed(f"unable to unmarshal macaroon: {exc}") from exc
        storage_id, ops = decode_identifier(macaroon.identifier_bytes)
        if not storage_id.isdigit():
            raise MacaroonCheckFailed(
                f"cannot retrieve macaroon: cannot get macaroon: root key with id "
                f"{storage_id.decode(errors='replace')} doesn't exist"
            )
        with self._lock:
            key = self._keys.get(int(storage_id))
        if key is None:
            raise MacaroonCheckFailed(
                "cannot retrieve macaroon: cannot get macaroon: root key with id "
                f"{storage_id.decode()} doesn't exist"
            )
        conditions: list[str] = []
        verifier = Verifier()
        verifier.satisfy_general(lambda condition: conditions.append(condition) is None)
        try:
            verifier.verify(macaroon, key)
        except MacaroonException as exc:
            raise MacaroonCheckFailed(
                "verification failed: signature mismatch after caveat verification"
            ) from exc
        for condition in conditions:
            self._check_condition(condition)
        granted = set(ops)
        missing = [op for op in required if op not in granted]
        if missing and ("uri", full_method) not in granted:
            raise MacaroonCheckFailed("permission denied")

    def _check_condition(self, condition: str) -> None:
        name, _, argument = condition.partition(" ")
        if name == "time-before":
            try:
                expires = _parse_rfc3339(argument)
            except ValueError as exc:
                raise MacaroonCheckFailed(
                    f'caveat "{condition}" not satisfied: cannot parse "{argument}" as RFC 3339'
                ) from exc
            if self._clock() >= expires:
                raise MacaroonCheckFailed(
                    f'caveat "{condition}" not satisfied: macaroon has expired'
                )
            return
        raise MacaroonCheckFailed(f'caveat "{condition}" not satisfied: caveat not recognized')
