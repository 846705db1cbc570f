"""Reading LND macaroons and attenuating them; the stand-in answers as LND does."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ssl
from typing import Any

import httpx
import pytest
from pymacaroons.serializers.binary_serializer import BinarySerializer

from lnopt.errors import ConfigError
from lnopt.security.macaroons import (
    Permission,
    attenuate,
    decode_identifier,
    read_macaroon,
    time_before_caveat,
)
from tests.standin_lnd.fixtures import LndSetup
from tests.standin_lnd.macaroon_service import MacaroonService, encode_identifier


def test_the_identifier_gives_the_root_key_id_and_permissions() -> None:
    identifier = encode_identifier(
        123, [("offchain", "write"), ("info", "read"), ("offchain", "read")], b"n" * 16
    )
    root_key_id, permissions = decode_identifier(identifier)
    assert root_key_id == 123
    assert sorted(map(str, permissions)) == ["info:read", "offchain:read", "offchain:write"]


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        (b"", "version byte 3"),
        (b"\x02abc", "version byte 3"),
        (b"\x03\x12\x80", "truncated varint"),
        (b"\x03\x12\x05ab", "runs past the end"),
        (b"\x03\x12\x01x", "root key id is missing or not a decimal number"),
        (b"\x03\x12\x011", "no permissions"),
    ],
)
def test_a_malformed_identifier_is_refused(identifier: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        decode_identifier(identifier)


def test_the_signature_chain_is_keyed_as_lnd_keys_it() -> None:
    """HMAC-SHA256 keyed by HMAC-SHA256("macaroons-key-generator", root key), then one HMAC per
    first-party caveat, as Go's macaroon library (and LND) compute it."""
    service = MacaroonService()
    data = service.bake([("info", "read")], 7)
    copy = attenuate(data, expires_at=dt.datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC))
    macaroon = BinarySerializer().deserialize_raw(copy)
    key = hmac.new(b"macaroons-key-generator", service.root_key(7), hashlib.sha256).digest()
    signature = hmac.new(key, macaroon.identifier_bytes, hashlib.sha256).digest()
    signature = hmac.new(
        signature, b"time-before 2030-01-02T03:04:05.678901000Z", hashlib.sha256
    ).digest()
    assert macaroon.signature_bytes == signature.hex().encode()
    assert data.hex().startswith("0201036c6e64")  # v2, location "lnd", as LND's files start


def test_a_copy_keeps_the_grants_and_adds_the_caveat() -> None:
    data = MacaroonService().bake([("info", "read"), ("offchain", "read")], 9)
    expires = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    copy = read_macaroon(attenuate(data, expires_at=expires))
    assert copy.root_key_id == 9
    assert copy.caveats == ("time-before 2031-05-06T07:08:09.000000000Z",)
    assert copy.location == "lnd"
    assert read_macaroon(data).caveats == ()


def test_time_before_needs_a_timezone_and_writes_utc() -> None:
    with pytest.raises(ValueError, match="timezone"):
        time_before_caveat(dt.datetime(2030, 1, 1))
    paris = dt.timezone(dt.timedelta(hours=1))
    assert time_before_caveat(dt.datetime(2030, 1, 1, 1, tzinfo=paris)) == (
        "time-before 2030-01-01T00:00:00.000000000Z"
    )


def test_permission_text() -> None:
    assert str(Permission.parse("offchain:write")) == "offchain:write"
    with pytest.raises(ConfigError, match="entity:action"):
        Permission.parse("offchain")


# --- the stand-in answers as LND does ----------------------------------------------------------


def call(
    setup: LndSetup, method: str, path: str, body: Any = None, macaroon: bytes | None = None
) -> tuple[int, Any]:
    """One raw request to the stand-in, as any REST client sends it."""
    context = ssl.create_default_context(cadata=setup.tls.cert_pem.decode())
    with httpx.Client(verify=context) as client:
        answer = client.request(
            method,
            setup.standin.url + path,
            json=body,
            headers={"Grpc-Metadata-macaroon": (macaroon or setup.macaroon).hex()},
        )
    return answer.status_code, answer.json()


def test_the_stand_in_refuses_as_the_grpc_gateway_does(lnd: LndSetup) -> None:
    status, body = call(lnd, "GET", "/v1/macaroon/ids")
    assert (status, body) == (500, {"code": 2, "message": "permission denied", "details": []})
    status, body = call(
        lnd,
        "POST",
        "/v1/chanpolicy",
        {"global": True, "fee_rate": 0.001, "fee_rate_ppm": 5, "nonsense": 1},
    )
    assert (status, body["code"], body["message"]) == (400, 3, 'proto: unknown field "nonsense"')
    point = next(iter(lnd.standin.node.channels.values())).chan_point
    txid, index = point.split(":")
    chan_point = {"funding_txid_str": txid, "output_index": int(index)}
    status, body = call(
        lnd,
        "POST",
        "/v1/chanpolicy",
        {"chan_point": chan_point, "fee_rate": 0.001, "fee_rate_ppm": 5},
    )
    assert (status, body["code"]) == (400, 3)
    assert body["message"] == "cannot set both FeeRate and FeeRatePpm at the same time"
    status, body = call(
        lnd, "POST", "/v1/chanpolicy", {"chan_point": chan_point, "fee_rate_ppm": 5}
    )
    assert (status, body["message"]) == (
        500,
        "time lock delta of 0 is too small, minimum supported is 18",
    )
    status, body = call(lnd, "GET", "/v1/graph/edge/42")
    assert (status, body) == (404, {"code": 5, "message": "edge not found", "details": []})
    status, body = call(lnd, "GET", "/v1/nothing")
    assert status == 404
    assert lnd.standin.node.our_policy(next(iter(lnd.standin.node.channels))).fee_rate_ppm != 5


def test_the_stand_ins_macaroon_service(lnd: LndSetup) -> None:
    admin = lnd.standin.admin_macaroon()
    status, body = call(
        lnd,
        "POST",
        "/v1/macaroon",
        {"permissions": [{"entity": "info", "action": "read"}], "root_key_id": "77"},
        admin,
    )
    assert status == 200
    baked = bytes.fromhex(body["macaroon"])
    assert read_macaroon(baked).root_key_id == 77
    assert call(lnd, "GET", "/v1/macaroon/ids", macaroon=admin) == (
        200,
        {"root_key_ids": ["0", "1", "77"]},
    )
    check = {
        "macaroon": base64.b64encode(baked).decode(),
        "permissions": [{"entity": "info", "action": "read"}],
        "fullMethod": "",
    }
    assert call(lnd, "POST", "/v1/macaroon/checkpermissions", check, admin) == (
        200,
        {"valid": True},
    )
    check["permissions"] = [{"entity": "offchain", "action": "write"}]
    status, body = call(lnd, "POST", "/v1/macaroon/checkpermissions", check, admin)
    assert (status, body["code"], body["message"]) == (400, 3, "permission denied")
    assert call(lnd, "DELETE", "/v1/macaroon/77", macaroon=admin) == (200, {"deleted": True})
    assert call(lnd, "DELETE", "/v1/macaroon/77", macaroon=admin) == (200, {"deleted": False})
    status, body = call(lnd, "DELETE", "/v1/macaroon/0", macaroon=admin)
    assert (status, body["message"]) == (500, "the specified ID cannot be deleted")
    status, body = call(lnd, "GET", "/v1/getinfo", macaroon=baked)
    assert (status, body["message"]) == (
        500,
        "cannot retrieve macaroon: cannot get macaroon: root key with id 77 doesn't exist",
    )
    forged = MacaroonService().bake([("info", "read")], 1)
    status, body = call(lnd, "GET", "/v1/getinfo", macaroon=forged)
    assert body["message"] == "verification failed: signature mismatch after caveat verification"
