"""The LNbits backend's readings and messages that need no server: LND's channel ids, the
refusals of funding sources without a node API, token claims, and what the store records."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from lnopt.backends.base import FeeTotals
from lnopt.backends.http import HttpProblem, HttpSettings
from lnopt.backends.lnbits import LnbitsBackend
from lnopt.backends.lnbits_access import claims_warnings, describe_refusal, token_claims
from lnopt.backends.lnbits_shapes import channels_of, short_channel_id_of
from lnopt.errors import BackendError, BackendRefused
from lnopt.store import Store
from tests.factories import channel

NO_RETRY = HttpSettings(retries=0)


def jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def answering(status: int, body: object) -> httpx.MockTransport:
    """LNbits' answer to every request, as lnbits/core/views/node_api.py gives it."""
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_lnds_chan_id_is_read_as_block_tx_output() -> None:
    assert short_channel_id_of(str(800_000 << 40 | 1234 << 16 | 3)) == "800000x1234x3"
    assert short_channel_id_of("800000x1234x3") == "800000x1234x3"
    assert short_channel_id_of("node is for pending channels") is None


def test_a_channel_without_short_id_is_left_out_and_one_without_fees_is_unpriced() -> None:
    base = {
        "peer_id": "03" + "b" * 64,
        "state": "active",
        "balance": {"local_msat": 1, "remote_msat": 1, "total_msat": 2},
    }
    read = channels_of(
        [
            {**base, "id": "pending", "short_id": None, "fee_ppm": 1, "fee_base_msat": 1},
            {**base, "id": "1", "short_id": "800000x1x0", "fee_ppm": None, "fee_base_msat": None},
            {**base, "id": "2", "short_id": "800000x2x0", "fee_ppm": 7, "fee_base_msat": 0},
        ],
        connected_peers=(),
    )
    assert [c.short_channel_id for c in read.channels] == ["800000x2x0"]
    assert read.unpriced == ("800000x1x0",)
    assert read.lnbits_ids == {"800000x1x0": "1", "800000x2x0": "2"}
    assert not read.channels[0].connected


def test_an_unknown_channel_state_is_a_backend_error_naming_the_known_ones() -> None:
    item = {
        "peer_id": "03",
        "state": "splicing",
        "id": "1",
        "short_id": "800000x1x0",
        "fee_ppm": 1,
        "fee_base_msat": 1,
        "balance": {"local_msat": 1, "remote_msat": 1, "total_msat": 2},
    }
    with pytest.raises(BackendError, match="unknown state 'splicing'; known: active, closed"):
        channels_of([item], connected_peers=())


def test_a_funding_source_without_a_node_api_names_those_that_have_one() -> None:
    backend = LnbitsBackend(
        "http://lnbits.invalid",
        token="t",
        settings=NO_RETRY,
        transport=answering(501, {"detail": "Active backend does not implement Node API"}),
    )
    with pytest.raises(
        BackendRefused, match="CoreLightningWallet, LndRestWallet and PhoenixdWallet"
    ) as caught:
        backend.node_info()
    assert caught.value.code == 501


def test_refusals_say_which_right_is_missing() -> None:
    read = describe_refusal(
        HttpProblem("GET", "/node/api/v1/info", 403, {"detail": "Path not allowed."})
    )
    write = describe_refusal(
        HttpProblem("PUT", "/node/api/v1/channels/x", 403, {"detail": "Method not allowed."})
    )
    assert "lacks the read right on Node (/node/api/v1)" in read
    assert "lacks the write right on Node (/node/api/v1)" in write


def test_token_claims_tell_a_login_token_from_an_acl_token() -> None:
    assert claims_warnings(token_claims(jwt({"sub": "alice", "api_token_id": "abc"}))) == ()
    (warning,) = claims_warnings(token_claims(jwt({"sub": "alice", "usr": "u1"})))
    assert "login token of alice" in warning
    assert token_claims("not-a-jwt") is None
    assert token_claims("a.b!.c") is None


def test_a_body_that_is_not_json_is_a_backend_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>"))
    backend = LnbitsBackend(
        "http://lnbits.invalid", token="t", settings=NO_RETRY, transport=transport
    )
    with pytest.raises(BackendError, match="not JSON"):
        backend.channels()


def test_observations_say_what_changed_between_runs(tmp_path: Path) -> None:
    store = Store(tmp_path / "lnopt.sqlite3")
    assert store.observation_summary() is None
    one, two = channel(1, local_ratio=0.5), channel(2, local_ratio=0.5)
    store.record_observation(
        run_id=1, observed_s=10.0, channels=[one, two], fee_totals=FeeTotals(100)
    )
    moved = channel(1, local_ratio=0.4)
    repriced = channel(2, local_ratio=0.5, fee_ppm=250)
    store.record_observation(
        run_id=2, observed_s=20.0, channels=[moved, repriced], fee_totals=FeeTotals(160)
    )

    summary = store.observation_summary()

    assert summary is not None
    assert (summary.observations, summary.previous_s, summary.last_s) == (2, 10.0, 20.0)
    assert summary.fees_collected_msat == 60
    assert summary.balance_changes == 1
    assert summary.balance_moved_msat == one.local_msat - moved.local_msat
    assert summary.fee_changes == 1
    assert store.prune(now_s=20.0 + 400 * 86_400) >= 2
    assert store.observation_summary() is None
    store.close()


def test_without_fee_totals_nothing_is_claimed_about_fees(tmp_path: Path) -> None:
    store = Store(tmp_path / "lnopt.sqlite3")
    for observed_s in (1.0, 2.0):
        store.record_observation(
            run_id=None, observed_s=observed_s, channels=[channel(1)], fee_totals=None
        )
    summary = store.observation_summary()
    assert (
        summary is not None
        and summary.fees_total_msat is None
        and summary.fees_collected_msat is None
    )
    store.close()
