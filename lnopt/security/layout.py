"""The vault file's JSON: its encoding, canonical associated data, and field readers.

Every reader refuses a value out of shape with a :class:`CredentialError` that says where
(``where`` names the header or the record) and what is wrong, never what a secret holds. Base64
fields are accepted only in the one canonical spelling of their bytes, so no change to the file
can leave it meaning the same thing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lnopt.errors import CredentialError

FORMAT = "lnopt-vault"
VERSION = 1
NONCE_BYTES = 12


def canonical(value: Mapping[str, Any]) -> bytes:
    """The one byte string of ``value`` used as associated data: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def encode(document: Mapping[str, Any]) -> bytes:
    """The file's content: indented, so an operator can read names and kinds."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


def parse(raw: bytes, path: Path) -> dict[str, Any]:
    """The JSON object of the vault file at ``path``, once its format and version are ours."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CredentialError(f"{path} is not an lnopt vault, or is damaged: not JSON") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CredentialError(f"{path} is not an lnopt vault, or is damaged: no {FORMAT} header")
    if document.get("version") != VERSION:
        raise CredentialError(
            f"{path} is a vault of version {document.get('version')!r}; "
            f"this lnopt reads version {VERSION}"
        )
    return document


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64_field(record: dict[str, Any], key: str, where: str) -> bytes:
    """A base64 field, refused unless it is in the one canonical spelling of its bytes."""
    text = record.get(key)
    if isinstance(text, str):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
        else:
            if b64(raw) == text:
                return raw
    raise CredentialError(f"{where} is damaged: {key} is not base64")


def nonce_field(record: dict[str, Any], where: str) -> bytes:
    nonce = b64_field(record, "nonce", where)
    if len(nonce) != NONCE_BYTES:
        raise CredentialError(f"{where} is damaged: its nonce is not {NONCE_BYTES} bytes")
    return nonce


def int_field(record: dict[str, Any], key: str, where: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CredentialError(f"{where} is damaged: {key} is not an integer")
    return value


def str_field(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise CredentialError(f"{where} is damaged: {key} is not text")
    return value


def details_field(record: dict[str, Any], where: str) -> dict[str, str]:
    details = record.get("details")
    if not isinstance(details, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in details.items()
    ):
        raise CredentialError(f"{where} is damaged: its details must map text to text")
    return details
