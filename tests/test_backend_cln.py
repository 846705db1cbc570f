"""The Core Lightning backend against the stand-in node, modern (v25.09) and legacy (v23.08).

The table of behaviours every backend owes runs in ``tests/contract/``. Here: what is particular
to Core Lightning (the calls on the wire, version detection, caching), then checks that the
stand-in itself behaves like lightningd where the tests rely on it.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyln.client import LightningRpc, RpcError

from lnopt.backends.base import ForwardPage
from lnopt.backends.cln import (
    ClnBackend,
    ForwardPosition,
    channel_from_peerchannel,
    channel_state,
    forward_from_listforwards,
    release_of,
)
from lnopt.errors import BackendError, BackendRefused, BackendUnavailable, InvalidRequest
from lnopt.model import ChannelPolicy, ChannelState, ForwardStatus
from tests.conftest import GRAPH_2025, REPO
from tests.standin_node import (
    LEGACY,
    MODERN,
    Close,
    NodeState,
    PeerChannel,
    Phase,
    Reply,
    StandinNode,
    build_node,
    render_answer,
)

UNKNOWN_SCID = "700000x9999x9"


@pytest.fixture(params=[MODERN, LEGACY], ids=["modern", "legacy"])
def standin(request: pytest.FixtureRequest, socket_dir: Path) -> Iterator[StandinNode]:
    with StandinNode(build_node(6), socket_dir / "lightning-rpc", flavour=request.param) as node:
        yield node


@pytest.fixture
def backend(standin: StandinNode) -> ClnBackend:
    return ClnBackend.from_socket(standin.socket_path)


# --- what is particular to Core Lightning --------------------------------------------------


def test_setchannel_gets_only_the_id_and_the_two_fees(
    backend: ClnBackend, standin: StandinNode
) -> None:
    scid = standin.state.channels[0].short_channel_id or ""
    backend.set_policy(scid, ChannelPolicy(12, 34, htlc_min_msat=1, htlc_max_msat=2, cltv_delta=9))
    assert [call.params for call in standin.calls_to("setchannel")] == [
        {"id": scid, "feebase": 12, "feeppm": 34}
    ]


def test_a_refusal_keeps_the_nodes_code_and_message(
    backend: ClnBackend, standin: StandinNode
) -> None:
    with pytest.raises(BackendRefused, match="Short channel id not found") as refused:
        backend.set_policy(UNKNOWN_SCID, ChannelPolicy(1000, 100))
    assert refused.value.code == -32602


def test_something_that_is_not_a_short_channel_id_never_reaches_setchannel(
    backend: ClnBackend, standin: StandinNode
) -> None:
    for target in ("all", standin.state.channels[0].peer_id):
        with pytest.raises(InvalidRequest, match="BLOCKxTXxOUT"):
            backend.set_policy(target, ChannelPolicy(0, 0))
    assert standin.calls_to("setchannel") == []


def test_modern_nodes_page_new_forwards_by_created_then_changed_ones_by_updated_index(
    socket_dir: Path,
) -> None:
    # Given a node with 25 settled forwards (each offered, then resolved: updated 1..25)
    state = build_node(6, forwards=25)
    with StandinNode(state, socket_dir / "rpc") as node:
        backend = ClnBackend.from_socket(node.socket_path)

        # When the history is read ten at a time
        first = backend.forwards(None, limit=10)
        second = backend.forwards(first.next_index, limit=10)
        third = backend.forwards(second.next_index, limit=10)

        # Then the new forwards come by created_index, and once they run out the changed ones
        # by updated_index, within the limit; each next_index packs where both reads stopped
        assert [f.created_index for f in first.forwards] == list(range(1, 11))
        assert [f.created_index for f in second.forwards] == list(range(11, 21))
        assert [f.created_index for f in third.forwards] == [1, 2, 3, 4, 5, *range(21, 26)]
        assert [ForwardPosition.unpack(p.next_index) for p in (first, second, third)] == [
            ForwardPosition(created=11, updated=1),
            ForwardPosition(created=21, updated=1),
            ForwardPosition(created=26, updated=6),
        ]
        assert [call.params for call in node.calls_to("listforwards")] == [
            {"index": "created", "start": 0, "limit": 10},
            {"index": "created", "start": 11, "limit": 10},
            {"index": "created", "start": 21, "limit": 10},
            {"index": "updated", "start": 1, "limit": 5},
        ]
        far = ForwardPosition(created=10_000, updated=20_000).pack()
        assert backend.forwards(far) == ForwardPage(forwards=(), next_index=far)


def test_a_forward_resolved_after_a_read_and_one_failed_before_it_was_offered_are_read_next(
    socket_dir: Path,
) -> None:
    # Given a node with three settled forwards and one still offered, read to the end
    state = build_node(6, forwards=3)
    a, b = (c.short_channel_id or "" for c in state.channels[:2])
    pending = state.add_forward(a, b, 70_000, status="offered")
    with StandinNode(state, socket_dir / "rpc") as node:
        backend = ClnBackend.from_socket(node.socket_path)
        read = backend.forwards(None)
        assert pending["created_index"] in {f.created_index for f in read.forwards}
        assert "updated_index" not in pending

        # When the offered one settles and a new one fails before it is offered (so it never
        # changes and has no updated_index)
        settled = node.resolve_forward(pending["created_index"], "settled")
        failed = node.add_forward(b, a, 80_000, status="local_failed")
        after = backend.forwards(read.next_index)

        # Then the next read has exactly those two, each in its final status
        assert settled["updated_index"] == 4 and "updated_index" not in failed
        statuses = {f.created_index: f.status for f in after.forwards}
        assert statuses == {
            pending["created_index"]: ForwardStatus.SETTLED,
            failed["created_index"]: ForwardStatus.LOCAL_FAILED,
        }
        assert ForwardPosition.unpack(after.next_index) == ForwardPosition(
            created=failed["created_index"] + 1, updated=5
        )


def test_a_forward_position_packs_both_indexes_in_one_increasing_integer() -> None:
    positions = [ForwardPosition(0, 1), ForwardPosition(0, 7), ForwardPosition(3, 1)]
    packed = [p.pack() for p in positions]
    assert packed == sorted(packed) and len(set(packed)) == 3
    assert [ForwardPosition.unpack(p) for p in packed] == positions
    assert ForwardPosition.unpack(None) == ForwardPosition(created=0, updated=1)
    big = ForwardPosition(created=2**64 - 1, updated=2**64 - 1)
    assert ForwardPosition.unpack(big.pack()) == big
    with pytest.raises(InvalidRequest, match="never negative"):
        ForwardPosition.unpack(-1)


def test_legacy_nodes_give_all_forwards_without_paging(socket_dir: Path) -> None:
    with StandinNode(build_node(6, forwards=25), socket_dir / "rpc", flavour=LEGACY) as node:
        page = ClnBackend.from_socket(node.socket_path).forwards(None, limit=10)
        assert len(page.forwards) == 25 and page.next_index is None
        assert all(f.created_index is None for f in page.forwards)
        assert [call.params for call in node.calls_to("listforwards")] == [{}]


def test_an_unknown_version_is_learnt_from_the_nodes_refusal_once(socket_dir: Path) -> None:
    custom = dataclasses.replace(LEGACY, version="4f1c2a9-modded", msat_strings=False)
    with StandinNode(build_node(6, forwards=3), socket_dir / "rpc", flavour=custom) as node:
        backend = ClnBackend.from_socket(node.socket_path)
        scid = node.state.channels[0].short_channel_id or ""
        for _ in range(2):
            assert len(backend.forwards(None).forwards) == 3
            assert backend.get_policy(scid).fee_ppm == node.state.channels[0].fee_ppm
        assert [c.params for c in node.calls_to("listforwards")] == [
            {"index": "created", "start": 0, "limit": 10_000},
            {},
            {},
        ]
        assert [c.params for c in node.calls_to("listpeerchannels")] == [
            {"short_channel_id": scid},
            {},
            {},
        ]


def test_a_version_that_claims_too_much_is_corrected_by_the_refusal(socket_dir: Path) -> None:
    misleading = dataclasses.replace(LEGACY, version="v25.09", msat_strings=False)
    with StandinNode(build_node(6, forwards=4), socket_dir / "rpc", flavour=misleading) as node:
        backend = ClnBackend.from_socket(node.socket_path)
        for _ in range(2):
            assert len(backend.forwards(None).forwards) == 4
            backend.node_info()
        assert [len(c.params) for c in node.calls_to("listforwards")] == [3, 0, 0]


def test_the_peer_policy_comes_from_updates_or_else_from_one_gossip_call(
    backend: ClnBackend, standin: StandinNode
) -> None:
    channels = backend.channels()
    truth = {c.short_channel_id: c.remote for c in standin.state.channels}
    for channel in channels:
        remote = truth[channel.short_channel_id]
        assert remote is not None and channel.peer_policy is not None
        assert channel.peer_policy.cltv_delta == remote["cltv_expiry_delta"]
        assert channel.peer_policy.htlc_max_msat == remote["htlc_maximum_msat"]
    gossip_calls = [c.params for c in standin.calls_to("listchannels")]
    if standin.flavour.peer_updates:
        assert gossip_calls == []
    else:
        assert gossip_calls == [{"destination": standin.state.node_id}]


@pytest.mark.parametrize(
    ("cln_state", "expected"),
    [
        ("CHANNELD_NORMAL", ChannelState.ACTIVE),
        ("CHANNELD_AWAITING_LOCKIN", ChannelState.PENDING),
        ("DUALOPEND_AWAITING_LOCKIN", ChannelState.PENDING),
        ("DUALOPEND_OPEN_COMMITTED", ChannelState.PENDING),
        ("CHANNELD_SHUTTING_DOWN", ChannelState.CLOSING),
        ("CLOSINGD_SIGEXCHANGE", ChannelState.CLOSING),
        ("CLOSINGD_COMPLETE", ChannelState.CLOSING),
        ("AWAITING_UNILATERAL", ChannelState.CLOSING),
        ("FUNDING_SPEND_SEEN", ChannelState.CLOSING),
        ("ONCHAIN", ChannelState.CLOSING),
        ("CHANNELD_AWAITING_SPLICE", ChannelState.INACTIVE),
        ("OPENINGD", ChannelState.INACTIVE),
    ],
)
def test_channel_states_map_to_ours(cln_state: str, expected: ChannelState) -> None:
    assert channel_state(cln_state) is expected


def test_channels_without_a_short_channel_id_are_left_out(
    backend: ClnBackend, standin: StandinNode
) -> None:
    opening = PeerChannel(None, standin.state.channels[0].peer_id, "ab" * 32)
    opening.state = "DUALOPEND_AWAITING_LOCKIN"
    closing = standin.state.channels[1]
    closing.state = "ONCHAIN"
    closing.state_changes = closing.state_changes * 3
    standin.state.channels.append(opening)

    channels = {c.short_channel_id: c for c in backend.channels()}

    assert len(channels) == len(standin.state.channels) - 1
    assert channels[closing.short_channel_id or ""].state is ChannelState.CLOSING
    assert channels[closing.short_channel_id or ""].state_changes == 3


def test_gossip_is_read_once_per_refresh_interval(standin: StandinNode) -> None:
    now = [1000.0]
    backend = ClnBackend.from_socket(standin.socket_path, graph_refresh_s=60, clock=lambda: now[0])
    first = backend.gossip()
    now[0] += 59
    assert backend.gossip() is first
    now[0] += 2
    again = backend.gossip()
    assert again is not first
    assert len(standin.calls_to("listchannels")) == 2
    ours = {c.short_channel_id for c in standin.state.channels}
    assert ours <= {edge.short_channel_id for edge in again.edges}
    assert {c.peer_id for c in standin.state.channels} <= again.nodes


def test_node_aliases_come_from_listnodes(backend: ClnBackend, standin: StandinNode) -> None:
    aliases = backend.node_aliases()
    assert aliases[standin.state.node_id] == standin.state.alias
    assert len(aliases) == len(standin.state.nodes)


@pytest.mark.parametrize("phase", [Phase.BEFORE, Phase.AFTER])
def test_a_connection_lost_around_setchannel_is_unavailable(
    backend: ClnBackend, standin: StandinNode, phase: Phase
) -> None:
    """Lost before the node acted, the old fee stays; lost after, the new one is in force."""
    scid = standin.state.channels[0].short_channel_id or ""
    old_ppm = standin.state.channels[0].fee_ppm
    standin.on_call("setchannel", lambda call: Close.CLOSE, phase=phase)
    with pytest.raises(BackendUnavailable, match="connection lost during setchannel"):
        backend.set_policy(scid, ChannelPolicy(0, old_ppm + 1))
    assert backend.get_policy(scid).fee_ppm == (old_ppm if phase is Phase.BEFORE else old_ppm + 1)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(raw=b'{"jsonrpc": "2.0", "id": 1, "result": {'),
        Reply(result=["not", "an", "object"]),
        Reply(result={"id": "02ab", "blockheight": "tall"}),
    ],
    ids=["broken-json", "not-an-object", "wrong-type"],
)
def test_malformed_answers_are_backend_errors(
    backend: ClnBackend, standin: StandinNode, reply: Reply
) -> None:
    standin.on_call("getinfo", lambda call: reply)
    with pytest.raises(BackendError) as raised:
        backend.node_info()
    assert type(raised.value) is BackendError


def test_versions_are_read_from_release_strings() -> None:
    assert release_of("v24.08.1") == (24, 8)
    assert release_of("v23.11rc2-modded") == (23, 11)
    assert release_of("4f1c2a9-modded") is None


amounts = st.integers(min_value=0, max_value=21_000_000 * 10**11)


@settings(max_examples=60, deadline=None)
@given(in_msat=amounts, fee_msat=amounts, created=st.integers(1, 2**40))
def test_legacy_msat_strings_parse_like_integers(in_msat: int, fee_msat: int, created: int) -> None:
    item = {
        "created_index": created,
        "in_channel": "800000x1x0",
        "in_htlc_id": 3,
        "out_channel": "800001x2x1",
        "in_msat": in_msat + fee_msat,
        "out_msat": in_msat,
        "fee_msat": fee_msat,
        "status": "settled",
        "received_time": 1.5,
        "resolved_time": 2.5,
    }
    modern = forward_from_listforwards(item)
    assert forward_from_listforwards(render_answer(item, True)) == modern
    assert (modern.in_msat, modern.out_msat, modern.fee_msat) == (
        in_msat + fee_msat,
        in_msat,
        fee_msat,
    )


@settings(max_examples=40, deadline=None)
@given(local=amounts, remote=amounts, base=st.integers(0, 2**32 - 1))
def test_legacy_channel_amounts_parse_like_integers(local: int, remote: int, base: int) -> None:
    node = StandinNode(build_node(1), "/nonexistent", flavour=MODERN)
    channel = node.state.channels[0]
    channel.total_msat, channel.to_us_msat = local + remote, local
    channel.fee_base_msat = base
    item = node.peerchannel_item(channel)
    parsed = channel_from_peerchannel(item)
    assert parsed == channel_from_peerchannel(render_answer(item, True))
    assert parsed is not None
    assert (parsed.capacity_msat, parsed.local_msat, parsed.remote_msat) == (
        local + remote,
        local,
        remote,
    )
    assert parsed.our_policy.base_fee_msat == base


# --- the stand-in behaves like lightningd where the tests rely on it ------------------------


def test_standin_takes_positional_and_named_parameters(standin: StandinNode) -> None:
    rpc = LightningRpc(str(standin.socket_path))
    scid = standin.state.channels[2].short_channel_id
    by_position = rpc.call("setchannel", [scid, "2sat", 5])
    by_name = rpc.call("setchannel", {"id": scid, "feebase": "2000msat", "feeppm": 5})
    assert by_position == by_name
    assert standin.state.channels[2].fee_base_msat == 2000


@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    [
        ("listforwards", {"limitt": 3}, -32602, "unknown parameter: limitt"),
        ("getinfo", [1], -32602, "too many parameters: got 1, expected 0"),
        ("setchannel", {"feeppm": 5}, -32602, "missing required parameter: id"),
        ("setchannel", {"id": "1x1"}, -32602, "id: should be a channel ID or short channel ID"),
        ("setchannel", {"id": "SCID", "feebase": -1}, -32602, "feebase: should be a millisatoshi"),
        ("setchannel", {"id": "SCID", "feeppm": "5%"}, -32602, "feeppm: should be an integer"),
        ("setchannel", {"id": "SCID", "htlcmin": 9, "htlcmax": 8}, -1, "htlcmax cannot be less"),
        ("listchannels", {"source": "US", "destination": "US"}, -32602, "only specify one"),
        ("pay", {}, -32601, "Unknown command 'pay'"),
    ],
)
def test_standin_refuses_like_lightningd(
    standin: StandinNode, method: str, params: Any, code: int, message: str
) -> None:
    names = {"SCID": standin.state.channels[0].short_channel_id, "US": standin.state.node_id}
    if isinstance(params, dict):
        params = {key: names.get(value, value) for key, value in params.items()}
    with pytest.raises(RpcError) as refused:
        LightningRpc(str(standin.socket_path)).call(method, params)
    assert refused.value.error["code"] == code
    assert message in refused.value.error["message"]


def test_standin_setchannel_by_peer_id_changes_all_channels_of_that_peer(
    standin: StandinNode,
) -> None:
    peer = standin.state.channels[0].peer_id
    second = PeerChannel("800100x7x0", peer, "cd" * 32)
    standin.state.channels.append(second)
    answer = LightningRpc(str(standin.socket_path)).setchannel(peer, feeppm=42)
    assert len(answer["channels"]) == 2
    assert second.fee_ppm == standin.state.channels[0].fee_ppm == 42


def test_standin_moves_balances_with_settled_forwards_only() -> None:
    state = build_node(3)
    a, b = state.channels[0], state.channels[1]
    scids = (a.short_channel_id or "", b.short_channel_id or "")
    a_before, b_before = a.to_us_msat, b.to_us_msat
    forward = state.add_forward(*scids, 1_000_000)
    assert forward["fee_msat"] == b.fee_base_msat + 1_000_000 * b.fee_ppm // 1_000_000
    assert a.to_us_msat - a_before == forward["in_msat"]
    assert b_before - b.to_us_msat == 1_000_000
    failed = state.add_forward(*scids, 5, status="failed")
    local = state.add_forward(*scids, 5, status="local_failed")
    assert failed["failreason"] == "WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS"
    assert "resolved_time" in failed and "resolved_time" not in local
    assert "out_msat" not in local and local["failcode"] == 4103
    assert (a.to_us_msat - a_before, b_before - b.to_us_msat) == (forward["in_msat"], 1_000_000)


def test_standin_lists_forwards_by_updated_index_as_lightningd_does(socket_dir: Path) -> None:
    # Given two offered forwards resolved in the opposite order, and one failed before offering
    state = build_node(3)
    a, b = (c.short_channel_id or "" for c in state.channels[:2])
    first = state.add_forward(a, b, 1_000, status="offered")
    second = state.add_forward(a, b, 2_000, status="offered")
    never_changed = state.add_forward(a, b, 3_000, status="local_failed")
    state.resolve_forward(second["created_index"], "failed")
    state.resolve_forward(first["created_index"], "settled")

    # When listforwards is asked by updated_index, from 1 and from 0
    with StandinNode(state, socket_dir / "rpc") as node:
        rpc = LightningRpc(str(node.socket_path))
        changed = rpc.call("listforwards", {"index": "updated", "start": 1})["forwards"]
        from_zero = rpc.call("listforwards", {"index": "updated", "start": 0})["forwards"]

    # Then each change took the next value of the node's counter, in the order it happened,
    # and the forward that never changed has no updated_index and is listed only from 0
    assert [(f["created_index"], f["updated_index"]) for f in changed] == [(2, 1), (1, 2)]
    assert [f["created_index"] for f in from_zero] == [never_changed["created_index"], 2, 1]
    assert "updated_index" not in never_changed
    with pytest.raises(ValueError, match="cannot resolve a settled forward"):
        state.resolve_forward(first["created_index"], "failed")


def test_standin_state_survives_json() -> None:
    state = build_node(4, forwards=5)
    again = NodeState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state


def test_standin_slices_the_real_snapshot(shared_data: Path) -> None:
    state = build_node(5, snapshot=GRAPH_2025, seed=3)
    peers = {c.peer_id for c in state.channels}
    degree = {p: sum(item["source"] == p for item in state.gossip) for p in peers}
    assert all(2 <= d <= 200 for d in degree.values())
    assert all(item["source"] in peers or item["destination"] in peers for item in state.gossip)


def test_standin_runs_as_its_own_process(socket_dir: Path) -> None:
    state_file, calls_file = socket_dir / "state.json", socket_dir / "calls.jsonl"
    command = [sys.executable, "-m", "tests.standin_node", "--socket", str(socket_dir / "rpc")]
    command += ["--state", str(state_file), "--calls", str(calls_file), "--channels", "4"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("ready")
        backend = ClnBackend.from_socket(socket_dir / "rpc")
        scid = backend.channels()[0].short_channel_id
        backend.set_policy(scid, ChannelPolicy(0, 4321))
        saved = NodeState.from_json(json.loads(state_file.read_text()))
        assert saved.channel(scid).fee_ppm == 4321
        logged = [json.loads(line) for line in calls_file.read_text().splitlines()]
        assert [entry["method"] for entry in logged] == ["listpeerchannels", "setchannel"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
