"""A simulated node as the stand-in Core Lightning node serves a node.

:func:`node_state` turns the simulator's node (its backend: channels, gossip, forwards) into a
:class:`~tests.standin_node.NodeState`, so that what a simulation made can be read back
through lightningd's interface: by the plugin, the runner, or ``lnopt sim node``.
"""

from __future__ import annotations

from typing import Any

from lnopt.graph import GraphEdge
from lnopt.model import Channel, ChannelPolicy, Forward, ForwardStatus
from lnopt.sim.engine import Simulation
from tests.standin_node.state import FAILREASONS, NodeState, PeerChannel, digest, gossip_direction

LOCKED_IN = {
    "timestamp": "2025-01-02T03:04:05.678Z",
    "old_state": "CHANNELD_AWAITING_LOCKIN",
    "new_state": "CHANNELD_NORMAL",
    "cause": "user",
    "message": "Lockin complete",
}


def channel_update(policy: ChannelPolicy, capacity_msat: int) -> dict[str, int]:
    """A channel_update's fields (``listpeerchannels`` ``updates``) for ``policy``."""
    return {
        "fee_base_msat": policy.base_fee_msat,
        "fee_proportional_millionths": policy.fee_ppm,
        "cltv_expiry_delta": policy.cltv_delta,
        "htlc_minimum_msat": policy.htlc_min_msat,
        "htlc_maximum_msat": policy.htlc_max_msat or capacity_msat * 99 // 100,
    }


def gossip_item(edge: GraphEdge) -> dict[str, Any]:
    """One ``listchannels`` direction; a disabled one has bit 1 of ``channel_flags`` set."""
    item = gossip_direction(
        edge.short_channel_id,
        edge.source,
        edge.destination,
        edge.capacity_msat,
        channel_update(edge.policy, edge.capacity_msat),
    )
    item.update(active=edge.active, last_update=edge.last_update)
    item["channel_flags"] = item["direction"] | (0 if edge.active else 2)
    return item


def node_item(node_id: str, alias: str) -> dict[str, Any]:
    item: dict[str, Any] = {"nodeid": node_id, "alias": alias, "color": "3399ff"}
    item.update(last_timestamp=1_760_000_000, features="88a0880a8a59a1", addresses=[])
    return item


def peer_channel(channel: Channel) -> PeerChannel:
    ours, scid = channel.our_policy, channel.short_channel_id
    update = channel_update(ours, channel.capacity_msat)
    return PeerChannel(
        scid,
        channel.peer_id,
        digest("channel", scid),
        opener=channel.opener.value,
        total_msat=channel.capacity_msat,
        to_us_msat=channel.local_msat,
        fee_base_msat=ours.base_fee_msat,
        fee_ppm=ours.fee_ppm,
        htlc_min_msat=update["htlc_minimum_msat"],
        htlc_max_msat=update["htlc_maximum_msat"],
        cltv_delta=ours.cltv_delta,
        remote=None
        if channel.peer_policy is None
        else channel_update(channel.peer_policy, channel.capacity_msat),
        state_changes=[dict(LOCKED_IN)],
    )


def forward_items(forwards: list[Forward]) -> tuple[list[dict[str, Any]], int]:
    """The forwards as ``listforwards`` lists them (see ``NodeState.add_forward``: a settled or
    failed forward has an ``updated_index``, a local failure none), and the last index used."""
    items: list[dict[str, Any]] = []
    updated = 0
    out_htlcs: dict[str, int] = {}
    for created, forward in enumerate(forwards, start=1):
        item: dict[str, Any] = {"created_index": created, "in_channel": forward.in_channel}
        item.update(in_htlc_id=forward.in_htlc_id, in_msat=forward.in_msat)
        item.update(status=forward.status.value, style="tlv", received_time=forward.received_s)
        if forward.out_channel is not None:
            item["out_channel"] = forward.out_channel
        if forward.status is ForwardStatus.LOCAL_FAILED:
            item.update(failcode=4103, failreason=FAILREASONS[4103])
        else:
            updated += 1
            out_htlc = out_htlcs.get(forward.out_channel or "", 0)
            out_htlcs[forward.out_channel or ""] = out_htlc + 1
            item.update(updated_index=updated, out_htlc_id=out_htlc)
            item.update(out_msat=forward.out_msat, fee_msat=forward.fee_msat)
            item["resolved_time"] = forward.resolved_s
        if forward.status is ForwardStatus.FAILED:
            item.update(failcode=16399, failreason=FAILREASONS[16399])
        items.append(item)
    return items, updated


def node_state(simulation: Simulation) -> NodeState:
    """The simulated node at the end of the history, as the stand-in serves a node: gossip in
    the order the simulated node read it, our channels' directions last (as it lists them)."""
    backend = simulation.backend
    info = backend.node_info()
    state = NodeState(
        node_id=info.node_id, alias=info.alias, blockheight=info.block_height, network=info.network
    )
    channels = backend.channels()
    ours = {channel.short_channel_id for channel in channels}
    graph = backend.gossip()
    state.gossip = [gossip_item(e) for e in graph.edges if e.short_channel_id not in ours]
    state.nodes = [
        node_item(n, info.alias if n == info.node_id else f"node-{n[:8]}")
        for n in sorted(graph.nodes)
    ]
    state.channels = [peer_channel(channel) for channel in channels]
    page = backend.forwards(limit=len(simulation.node.forwards))
    state.forwards, state.updated_index = forward_items(list(page.forwards))
    return state
