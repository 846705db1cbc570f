"""The LND backend against the LND REST stand-in over HTTPS on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import pytest

from lnopt.backends.http import HttpProblem
from lnopt.backends.lnd import LndBackend
from lnopt.backends.lnd_shapes import BAKE_COMMAND, describe_refusal, scid_of
from lnopt.errors import BackendRefused, BackendUnavailable, ConfigError, InvalidRequest
from lnopt.model import ChannelPolicy, ChannelState, Opener
from lnopt.security.macaroons import read_macaroon
from lnopt.service.backfill import backfill_forwards
from lnopt.store import Store
from tests.standin_lnd import make_tls_pair
from tests.standin_lnd.fixtures import FAST, LndSetup, start_standin
from tests.standin_lnd.node import ForwardingEvent

pytestmark = pytest.mark.timeout(120)


def our_channel_ids(setup: LndSetup) -> list[int]:
    return list(setup.standin.node.channels)


def test_node_info_reads_getinfo(lnd: LndSetup) -> None:
    info = lnd.backend().node_info()
    node = lnd.standin.node
    assert (info.node_id, info.alias, info.block_height) == (node.pubkey, node.alias, 900_000)
    assert info.network == "bitcoin"
    assert info.version.startswith("0.20.0-beta")


def test_channels_in_msat_with_both_policies_in_four_calls(lnd: LndSetup) -> None:
    backend = lnd.backend()
    channels = {c.short_channel_id: c for c in backend.channels()}
    node = lnd.standin.node
    assert len(channels) == 100
    assert backend.calls == 4  # getinfo, channels, fees, graph
    for chan_id, truth in node.channels.items():
        channel = channels[scid_of(chan_id)]
        ours, edge = node.our_policy(chan_id), node.edges[chan_id]
        theirs = edge.node2_policy if edge.node1 == node.pubkey else edge.node1_policy
        assert theirs is not None
        assert channel.capacity_msat == truth.capacity_sat * 1000
        assert channel.local_msat == truth.local_sat * 1000
        assert channel.remote_msat == (truth.capacity_sat - truth.local_sat) * 1000
        assert channel.our_policy == ChannelPolicy(
            ours.fee_base_msat,
            ours.fee_rate_ppm,
            ours.min_htlc_msat,
            ours.max_htlc_msat,
            ours.time_lock_delta,
        )
        assert channel.peer_policy == ChannelPolicy(
            theirs.fee_base_msat,
            theirs.fee_rate_ppm,
            theirs.min_htlc_msat,
            theirs.max_htlc_msat,
            theirs.time_lock_delta,
        )
        assert channel.state is (ChannelState.ACTIVE if truth.active else ChannelState.INACTIVE)
        assert channel.private is truth.private
        assert channel.opener is (Opener.LOCAL if truth.initiator else Opener.REMOTE)
        assert channel.peer_id == truth.peer
        assert channel.channel_id == truth.chan_point


def test_short_channel_ids_come_from_lnds_channel_id() -> None:
    assert scid_of(759817510474219520) == "691050x1520x0"  # 691050 << 40 | 1520 << 16
    assert scid_of(700000 << 40 | 1234 << 16 | 1) == "700000x1234x1"


def test_gossip_is_the_public_graph_read_once_with_the_channels(lnd: LndSetup) -> None:
    backend = lnd.backend()
    backend.channels()
    calls = backend.calls
    graph = backend.gossip()
    assert backend.calls == calls  # the graph read for channels() is reused
    node = lnd.standin.node
    private = {scid_of(c.chan_id) for c in node.channels.values() if c.private}
    scids = {edge.short_channel_id for edge in graph.edges}
    assert private and not private & scids
    public_edges = [e for e in node.edges.values() if scid_of(e.chan_id) not in private]
    assert graph.channel_count == len(public_edges)
    assert graph.degree(node.pubkey) == len(node.channels) - len(private)


def test_forwards_page_and_resume_across_restarts_counting_each_once(
    lnd: LndSetup, tmp_path: Path
) -> None:
    store = Store(tmp_path / "lnopt.sqlite")
    assert backfill_forwards(lnd.backend(), store, page_size=700) == 3_000
    switch = lnd.standin.requests_to("POST", "/v1/switch")
    assert [r.body["index_offset"] for r in switch] == [0, 700, 1400, 2100, 2800, 3000]
    assert all(r.body["start_time"] == "0" and r.body["num_max_events"] == 700 for r in switch)
    assert store.forward_cursor("lnd") == 3_000

    node = lnd.standin.node
    chan_in, chan_out = our_channel_ids(lnd)[:2]
    last = node.forwards[-1].timestamp_ns
    with node.lock:
        node.forwards.extend(
            ForwardingEvent(last + i + 1, chan_in, chan_out, 101_000, 100_000, 10_000 + i, i)
            for i in range(5)
        )
    restarted = lnd.backend()
    assert backfill_forwards(restarted, store, page_size=700) == 5
    assert backfill_forwards(restarted, store, page_size=700) == 0
    assert store.forward_counts()["total"] == 3_005
    page = restarted.forwards(since_index=3_000, limit=10)
    assert [f.created_index for f in page.forwards] == [3000, 3001, 3002, 3003, 3004]
    first = page.forwards[0]
    assert (first.in_channel, first.out_channel) == (scid_of(chan_in), scid_of(chan_out))
    assert (first.in_msat, first.out_msat, first.fee_msat) == (101_000, 100_000, 1_000)
    assert first.received_s == pytest.approx((last + 1) / 1e9)
    assert page.next_index == 3_005


def test_set_policy_sends_every_other_field_back_and_changes_nothing_else(
    lnd: LndSetup,
) -> None:
    node = lnd.standin.node
    chan_id = next(
        c
        for c, e in node.edges.items()
        if c in node.channels and node.our_policy(c).inbound_base_msat < 0
    )
    before_edges = dict(node.edges)
    before = node.our_policy(chan_id)
    txid, index = node.channels[chan_id].chan_point.split(":")

    applied = lnd.backend().set_policy(scid_of(chan_id), ChannelPolicy(0, 777))

    [body] = node.policy_updates
    assert body == {
        "chan_point": {"funding_txid_str": txid, "output_index": int(index)},
        "base_fee_msat": "0",
        "fee_rate_ppm": 777,
        "time_lock_delta": before.time_lock_delta,
        "max_htlc_msat": str(before.max_htlc_msat),
        "min_htlc_msat": str(before.min_htlc_msat),
        "min_htlc_msat_specified": True,
        "inbound_fee": {
            "base_fee_msat": before.inbound_base_msat,
            "fee_rate_ppm": before.inbound_rate_ppm,
        },
    }
    after = node.our_policy(chan_id)
    assert after == dataclasses.replace(
        before, fee_base_msat=0, fee_rate_ppm=777, last_update=after.last_update
    )
    assert {c: e for c, e in node.edges.items() if c != chan_id} == {
        c: e for c, e in before_edges.items() if c != chan_id
    }
    assert applied == ChannelPolicy(
        0, 777, before.min_htlc_msat, before.max_htlc_msat, before.time_lock_delta
    )


def test_get_policy_reads_the_edge_fresh(lnd: LndSetup) -> None:
    backend = lnd.backend()
    chan_id = our_channel_ids(lnd)[3]
    backend.set_policy(scid_of(chan_id), ChannelPolicy(5, 55))
    policy = backend.get_policy(scid_of(chan_id))
    assert (policy.base_fee_msat, policy.fee_ppm) == (5, 55)


def test_unknown_and_foreign_channels_are_refused(lnd: LndSetup) -> None:
    backend = lnd.backend()
    with pytest.raises(BackendRefused, match=r"LND has no channel 1x2x3 \("):
        backend.get_policy("1x2x3")
    foreign = next(c for c in lnd.standin.node.edges if c not in lnd.standin.node.channels)
    with pytest.raises(BackendRefused, match=f"no channel {scid_of(foreign)} of this node"):
        backend.set_policy(scid_of(foreign), ChannelPolicy(1, 1))
    with pytest.raises(InvalidRequest, match="short channel id"):
        backend.get_policy("all")
    assert lnd.standin.node.policy_updates == []


def test_tls_is_pinned_to_the_nodes_certificate(lnd: LndSetup) -> None:
    other = make_tls_pair()
    backend = LndBackend(
        lnd.standin.url,
        macaroon=lnd.macaroon,
        tls_cert_pem=other.cert_pem,
        settings=dataclasses.replace(FAST, retries=0),
    )
    with pytest.raises(BackendUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        backend.node_info()
    assert lnd.standin.requests == []
    with pytest.raises(ConfigError, match="not a PEM certificate"):
        LndBackend(lnd.standin.url, macaroon=lnd.macaroon, tls_cert_pem=b"not a cert")


def test_the_host_name_is_checked_against_the_certificate(tmp_path: Path) -> None:
    by_name = start_standin(tmp_path / "a", channels=2, forwards=0)
    elsewhere = start_standin(tmp_path / "b", channels=2, forwards=0, names=("node.example",))
    try:
        url = by_name.standin.url.replace("127.0.0.1", "localhost")
        assert by_name.backend().node_info().node_id  # 127.0.0.1 is in LND's certificate
        assert (
            LndBackend(
                url, macaroon=by_name.macaroon, tls_cert_pem=by_name.tls.cert_pem, settings=FAST
            )
            .node_info()
            .node_id
        )  # and so is localhost
        with pytest.raises(BackendUnavailable, match="IP address mismatch"):
            elsewhere.backend(settings=dataclasses.replace(FAST, retries=0)).node_info()
    finally:
        by_name.standin.stop()
        elsewhere.standin.stop()


def test_each_request_carries_a_short_lived_copy_never_the_macaroon(lnd: LndSetup) -> None:
    backend = lnd.backend(macaroon_lifetime_s=120)
    backend.node_info()
    backend.channels()
    sent = {r.macaroon_hex for r in lnd.standin.requests}
    assert lnd.macaroon.hex() not in sent
    assert len(sent) == 1  # one copy, reused while it has more than half its life
    copy = read_macaroon(bytes.fromhex(sent.pop()))
    stored = read_macaroon(lnd.macaroon)
    assert (copy.root_key_id, copy.permissions) == (stored.root_key_id, stored.permissions)
    [caveat] = copy.caveats
    assert caveat.startswith("time-before ")
    expires = dt.datetime.fromisoformat(caveat.removeprefix("time-before ")[:26] + "+00:00")
    left_s = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 100 < left_s <= 120


def test_a_copy_is_renewed_at_half_its_life(lnd: LndSetup) -> None:
    now = [dt.datetime.now(dt.UTC)]
    backend = lnd.backend(macaroon_lifetime_s=60, wall_clock=lambda: now[0])
    backend.node_info()
    now[0] += dt.timedelta(seconds=25)
    backend.node_info()
    now[0] += dt.timedelta(seconds=10)
    backend.node_info()
    first, second, third = (r.macaroon_hex for r in lnd.standin.requests)
    assert first == second != third


def test_an_expired_copy_is_refused_by_the_node(lnd: LndSetup) -> None:
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    backend = lnd.backend(wall_clock=lambda: an_hour_ago)
    with pytest.raises(BackendRefused, match=r"macaroon has expired.*clock"):
        backend.node_info()
    assert len(lnd.standin.requests) == 1  # a refused macaroon is not asked again
    assert backend.health() is not None and backend.health().consecutive_failures == 0


def test_a_revoked_macaroon_says_so(lnd: LndSetup) -> None:
    backend = lnd.backend()
    assert lnd.standin.macaroons.delete(1)
    with pytest.raises(BackendRefused, match=r"revoked \(its root key id 1 was deleted"):
        backend.node_info()


def test_a_macaroon_lacking_a_permission_is_refused_at_start(lnd: LndSetup) -> None:
    read_only = lnd.standin.bake("info:read", "offchain:read")
    with pytest.raises(ConfigError, match="lacks offchain:write") as caught:
        lnd.backend(read_only)
    assert BAKE_COMMAND in str(caught.value)
    assert lnd.standin.requests == []
    with pytest.raises(ConfigError, match="not a binary version 2 macaroon"):
        lnd.backend(lnd.macaroon.hex().encode())


def test_an_admin_macaroon_works_but_warns_with_the_bake_line(
    lnd: LndSetup, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lnopt.backends.lnd"):
        backend = lnd.backend(lnd.standin.admin_macaroon())
    [warning] = backend.privilege_warnings()
    assert "macaroon:generate" in warning and "onchain:write" in warning
    assert warning.endswith(BAKE_COMMAND)
    assert "event=macaroon_overprivileged" in caplog.text
    assert backend.node_info().node_id == lnd.standin.node.pubkey
    assert lnd.backend().privilege_warnings() == ()


def test_permission_denied_names_the_missing_permission() -> None:
    body = {"code": 2, "message": "permission denied", "details": []}
    message = describe_refusal(HttpProblem("POST", "/v1/chanpolicy", 500, body))
    assert "lacks the permission offchain:write" in message
    assert BAKE_COMMAND in message
    message = describe_refusal(HttpProblem("GET", "/v1/graph/edge/5", 500, body))
    assert "lacks the permission info:read" in message
