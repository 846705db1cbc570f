"""lnopt's own LND macaroon: bake, rotate and revoke against the stand-in's macaroon service."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnopt.backends.lnd import LndBackend
from lnopt.backends.lnd_shapes import REQUIRED_PERMISSIONS
from lnopt.errors import BackendRefused, ConfigError
from lnopt.security.lnd_credentials import (
    LndMacaroonService,
    bake_lnd,
    revoke_lnd,
    rotate_lnd,
)
from lnopt.security.macaroons import read_macaroon
from lnopt.security.vault import CredentialKind, KdfParams, Vault
from tests.standin_lnd.fixtures import FAST, LndSetup

TINY_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.open(tmp_path / "credentials.vault", "correct horse", kdf=TINY_KDF)


def test_bake_stores_a_least_privilege_macaroon_under_a_fresh_root_key_id(
    lnd: LndSetup, vault: Vault
) -> None:
    admin = lnd.standin.admin_macaroon()
    ids_before = set(lnd.standin.macaroons.root_key_ids())

    info = bake_lnd(
        vault,
        name="node",
        url=lnd.standin.url,
        admin_macaroon=admin,
        tls_cert_pem=lnd.tls.cert_pem,
    )

    stored = vault.get("node")
    granted = read_macaroon(stored)
    assert granted.permissions == REQUIRED_PERMISSIONS
    assert granted.root_key_id not in ids_before
    assert set(lnd.standin.macaroons.root_key_ids()) == ids_before | {granted.root_key_id}
    assert info.kind is CredentialKind.LND_MACAROON
    assert dict(info.details) == {
        "root_key_id": str(granted.root_key_id),
        "url": lnd.standin.url,
        "tls_cert": "node-tls",
    }
    assert vault.get("node-tls") == lnd.tls.cert_pem
    assert vault.info("node-tls").kind is CredentialKind.LND_TLS_CERT
    assert admin not in {vault.get(i.name) for i in vault.list()}
    [bake] = lnd.standin.requests_to("POST", "/v1/macaroon")
    assert bake.body == {
        "permissions": [
            {"entity": "info", "action": "read"},
            {"entity": "offchain", "action": "read"},
            {"entity": "offchain", "action": "write"},
        ],
        "root_key_id": str(granted.root_key_id),
    }
    assert admin.hex() not in {r.macaroon_hex for r in lnd.standin.requests}
    backend = LndBackend(lnd.standin.url, macaroon=stored, tls_cert_pem=vault.get("node-tls"))
    assert backend.privilege_warnings() == ()
    assert backend.node_info().node_id == lnd.standin.node.pubkey


def test_rotate_bakes_anew_then_revokes_the_old_root_key_id(lnd: LndSetup, vault: Vault) -> None:
    admin = lnd.standin.admin_macaroon()
    old = bake_lnd(
        vault,
        name="node",
        url=lnd.standin.url,
        admin_macaroon=admin,
        tls_cert_pem=lnd.tls.cert_pem,
    )
    old_macaroon = vault.get("node")

    new = rotate_lnd(vault, old, admin_macaroon=admin)

    assert new.details["root_key_id"] != old.details["root_key_id"]
    assert int(old.details["root_key_id"]) not in lnd.standin.macaroons.root_key_ids()
    assert int(new.details["root_key_id"]) in lnd.standin.macaroons.root_key_ids()
    with pytest.raises(BackendRefused, match="revoked"):
        LndBackend(
            lnd.standin.url, macaroon=old_macaroon, tls_cert_pem=lnd.tls.cert_pem, settings=FAST
        ).node_info()
    fresh = LndBackend(lnd.standin.url, macaroon=vault.get("node"), tls_cert_pem=lnd.tls.cert_pem)
    assert fresh.node_info().alias == "standin-lnd"


def test_revoke_deletes_the_root_key_id_now_and_the_record(lnd: LndSetup, vault: Vault) -> None:
    admin = lnd.standin.admin_macaroon()
    info = bake_lnd(
        vault,
        name="node",
        url=lnd.standin.url,
        admin_macaroon=admin,
        tls_cert_pem=lnd.tls.cert_pem,
    )
    assert revoke_lnd(vault, info, admin_macaroon=admin) is True
    assert int(info.details["root_key_id"]) not in lnd.standin.macaroons.root_key_ids()
    assert [i.name for i in vault.list()] == ["node-tls"]
    assert 0 in lnd.standin.macaroons.root_key_ids()


def test_root_key_id_zero_is_never_deleted(lnd: LndSetup) -> None:
    service = LndMacaroonService(
        lnd.standin.url, admin_macaroon=lnd.standin.admin_macaroon(), tls_cert_pem=lnd.tls.cert_pem
    )
    with pytest.raises(ConfigError, match="root key id 0"):
        service.delete(0)
    assert lnd.standin.requests_to("DELETE", "/v1/macaroon/0") == []


def test_a_macaroon_without_the_macaroon_permissions_cannot_bake(
    lnd: LndSetup, vault: Vault
) -> None:
    with pytest.raises(ConfigError, match="lacks macaroon:generate, macaroon:read, macaroon:write"):
        bake_lnd(
            vault,
            name="node",
            url=lnd.standin.url,
            admin_macaroon=lnd.macaroon,
            tls_cert_pem=lnd.tls.cert_pem,
        )
    assert vault.list() == ()
