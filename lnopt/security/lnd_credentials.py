"""lnopt's own LND macaroon: baked with an admin macaroon, kept in the vault, rotated, revoked.

An operator's admin macaroon is used for one command and never stored or logged: it authorises
LND's macaroon service (``macaroon:generate`` to bake, ``macaroon:read`` to list root key ids,
``macaroon:write`` to delete one). Only short-lived copies of it travel (``time-before``, as
the backend sends its own).

- :func:`bake_lnd` bakes a macaroon with exactly ``info:read``, ``offchain:read`` and
  ``offchain:write`` under a fresh random root key id (one LND does not list yet), checks that
  the node takes it, and stores it (kind ``lnd-macaroon``, details ``root_key_id``, ``url`` and
  the name of the certificate record) with the node's ``tls.cert`` (kind ``lnd-tls-cert``).
- :func:`rotate_lnd` bakes a new one the same way, stores it in place of the old, then deletes
  the old root key id on the node (every macaroon baked with it stops working).
- :func:`revoke_lnd` deletes the root key id now and removes the record.

Root key id 0 is the one ``admin.macaroon`` derives from: it is never deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from lnopt.backends.http import HttpSettings, JsonHttpClient
from lnopt.backends.lnd import MACAROON_HEADER, LndBackend, pinned_tls_context
from lnopt.backends.lnd_shapes import REQUIRED_PERMISSIONS, LndFields, describe_refusal
from lnopt.errors import ConfigError, CredentialError, InvalidRequest, LnoptError
from lnopt.security import redaction
from lnopt.security.macaroons import Permission, attenuate, header_value, read_macaroon
from lnopt.security.vault import CredentialInfo, CredentialKind, Vault

__all__ = [
    "ADMIN_PERMISSIONS",
    "LndMacaroonService",
    "bake_lnd",
    "read_credential_file",
    "revoke_lnd",
    "rotate_lnd",
]

log = logging.getLogger(__name__)

ADMIN_PERMISSIONS = frozenset(
    Permission("macaroon", action) for action in ("generate", "read", "write")
)
ADMIN_COPY_LIFETIME = dt.timedelta(seconds=120)
ADMIN_ROOT_KEY_ID = 0
MAX_ROOT_KEY_ID = (1 << 64) - 1


def read_credential_file(path: Path, what: str) -> bytes:
    """A macaroon or certificate file, byte for byte; registered so no log line shows it."""
    try:
        data = path.expanduser().read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read the {what} {path}: {exc.strerror}") from exc
    if not data:
        raise InvalidRequest(f"the {what} {path} is empty")
    redaction.register_secret(data)
    return data


class LndMacaroonService:
    """LND's macaroon RPCs over REST, authorised by an admin macaroon held in memory only."""

    def __init__(
        self,
        url: str,
        *,
        admin_macaroon: bytes,
        tls_cert_pem: bytes,
        settings: HttpSettings | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        granted = read_macaroon(admin_macaroon)
        missing = sorted(ADMIN_PERMISSIONS - granted.permissions)
        if missing:
            raise ConfigError(
                "the admin macaroon lacks "
                + ", ".join(str(p) for p in missing)
                + "; bake, list and delete of root key ids need macaroon:generate, "
                "macaroon:read and macaroon:write (admin.macaroon has them)"
            )
        redaction.register_secret(admin_macaroon)
        copy = attenuate(admin_macaroon, expires_at=dt.datetime.now(dt.UTC) + ADMIN_COPY_LIFETIME)
        redaction.register_secret(copy)
        header = {MACAROON_HEADER: header_value(copy)}
        self._client = JsonHttpClient(
            url,
            service="LND",
            headers=lambda: header,
            verify=pinned_tls_context(tls_cert_pem),
            settings=settings,
            describe_refusal=describe_refusal,
            transport=transport,
        )

    def root_key_ids(self) -> frozenset[int]:
        answer = LndFields(self._client.get("/v1/macaroon/ids"), "GET /v1/macaroon/ids")
        ids = answer.array("root_key_ids") if answer.has("root_key_ids") else []
        found = set()
        for value in ids:
            if not (isinstance(value, str) and value.isdigit()) and not isinstance(value, int):
                raise CredentialError(f"LND listed a root key id that is not a number: {value!r}")
            found.add(int(value))
        return frozenset(found)

    def bake(self, root_key_id: int) -> bytes:
        """A macaroon with exactly lnopt's three permissions under ``root_key_id``."""
        body = {
            "permissions": [
                {"entity": p.entity, "action": p.action} for p in sorted(REQUIRED_PERMISSIONS)
            ],
            "root_key_id": str(root_key_id),
        }
        answer = LndFields(
            self._client.request("POST", "/v1/macaroon", json=body, idempotent=False),
            "POST /v1/macaroon",
        )
        try:
            baked = bytes.fromhex(answer.text("macaroon"))
        except ValueError as exc:
            raise CredentialError("LND answered BakeMacaroon with a macaroon not in hex") from exc
        redaction.register_secret(baked)
        return baked

    def delete(self, root_key_id: int) -> bool:
        """Invalidate every macaroon baked with ``root_key_id``; whether LND had it."""
        if root_key_id == ADMIN_ROOT_KEY_ID:
            raise ConfigError(
                "root key id 0 is the one admin.macaroon derives from: lnopt never deletes it"
            )
        answer = LndFields(
            self._client.request("DELETE", f"/v1/macaroon/{root_key_id}", idempotent=True),
            f"DELETE /v1/macaroon/{root_key_id}",
        )
        return answer.flag("deleted")

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True, slots=True)
class Baked:
    macaroon: bytes
    root_key_id: int


def fresh_root_key_id(taken: frozenset[int]) -> int:
    """A random root key id in [1, 2^64 - 1] that LND does not use yet."""
    while True:
        candidate = 1 + secrets.randbelow(MAX_ROOT_KEY_ID)
        if candidate not in taken:
            return candidate


def _bake_checked(service: LndMacaroonService, url: str, tls_cert_pem: bytes) -> Baked:
    root_key_id = fresh_root_key_id(service.root_key_ids())
    macaroon = service.bake(root_key_id)
    granted = read_macaroon(macaroon)
    if granted.permissions != REQUIRED_PERMISSIONS or granted.root_key_id != root_key_id:
        raise CredentialError(
            "LND baked a macaroon other than the one asked for (permissions "
            + ", ".join(str(p) for p in sorted(granted.permissions))
            + f", root key id {granted.root_key_id}); nothing was stored"
        )
    backend = LndBackend(url, macaroon=macaroon, tls_cert_pem=tls_cert_pem)
    try:
        backend.node_info()
    finally:
        backend.close()
    return Baked(macaroon, root_key_id)


def _details(url: str, root_key_id: int, cert_name: str) -> Mapping[str, str]:
    return {"root_key_id": str(root_key_id), "url": url, "tls_cert": cert_name}


def bake_lnd(
    vault: Vault,
    *,
    name: str,
    url: str,
    admin_macaroon: bytes,
    tls_cert_pem: bytes,
    transport: httpx.BaseTransport | None = None,
) -> CredentialInfo:
    """Bake lnopt's macaroon and store it as ``name`` and the certificate as ``name``-tls."""
    cert_name = f"{name}-tls"
    service = LndMacaroonService(
        url, admin_macaroon=admin_macaroon, tls_cert_pem=tls_cert_pem, transport=transport
    )
    try:
        baked = _bake_checked(service, url, tls_cert_pem)
    finally:
        service.close()
    vault.put(cert_name, tls_cert_pem, kind=CredentialKind.LND_TLS_CERT, details={"url": url})
    info = vault.put(
        name,
        baked.macaroon,
        kind=CredentialKind.LND_MACAROON,
        details=_details(url, baked.root_key_id, cert_name),
    )
    log.info("event=lnd_macaroon_baked name=%s root_key_id=%d", name, baked.root_key_id)
    return info


def _record_facts(vault: Vault, info: CredentialInfo) -> tuple[str, int, bytes]:
    """The url, root key id and pinned certificate of an ``lnd-macaroon`` record."""
    if info.kind is not CredentialKind.LND_MACAROON:
        raise ConfigError(f"{info.name} is a {info.kind.value} record, not an lnd-macaroon")
    try:
        url = info.details["url"]
        root_key_id = int(info.details["root_key_id"])
        cert_name = info.details["tls_cert"]
    except (KeyError, ValueError) as exc:
        raise CredentialError(
            f"{info.name} lacks the url, root_key_id or tls_cert that `lnopt credentials "
            "bake-lnd` records; bake it again with bake-lnd"
        ) from exc
    return url, root_key_id, vault.get(cert_name)


def rotate_lnd(vault: Vault, info: CredentialInfo, *, admin_macaroon: bytes) -> CredentialInfo:
    """Bake a new macaroon, store it in place of ``info``'s, then revoke the old root key id."""
    url, old_id, tls_cert_pem = _record_facts(vault, info)
    service = LndMacaroonService(url, admin_macaroon=admin_macaroon, tls_cert_pem=tls_cert_pem)
    try:
        baked = _bake_checked(service, url, tls_cert_pem)
        new_info = vault.put(
            info.name,
            baked.macaroon,
            kind=CredentialKind.LND_MACAROON,
            details=_details(url, baked.root_key_id, info.details["tls_cert"]),
        )
        try:
            if old_id != ADMIN_ROOT_KEY_ID:
                service.delete(old_id)
        except LnoptError as exc:
            raise CredentialError(
                f"{info.name} now holds a new macaroon (root key id {baked.root_key_id}), but "
                f"the old root key id {old_id} could not be deleted ({exc}); delete it with "
                f"`lncli deletemacaroonid {old_id}`"
            ) from exc
    finally:
        service.close()
    log.info(
        "event=lnd_macaroon_rotated name=%s root_key_id=%d revoked=%d",
        info.name,
        baked.root_key_id,
        old_id,
    )
    return new_info


def revoke_lnd(vault: Vault, info: CredentialInfo, *, admin_macaroon: bytes) -> bool:
    """Delete ``info``'s root key id on the node now and remove the record; whether LND had it."""
    url, root_key_id, tls_cert_pem = _record_facts(vault, info)
    service = LndMacaroonService(url, admin_macaroon=admin_macaroon, tls_cert_pem=tls_cert_pem)
    try:
        deleted = service.delete(root_key_id)
    finally:
        service.close()
    vault.remove(info.name)
    log.info("event=lnd_macaroon_revoked name=%s root_key_id=%d", info.name, root_key_id)
    return deleted
