"""Builders of domain values for tests: small, explicit, with sensible defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lnopt.graph import NetworkGraph
from lnopt.model import (
    Channel,
    ChannelActivity,
    ChannelPolicy,
    ChannelState,
    Opener,
    PriceHistory,
    WindowActivity,
)
from lnopt.snapshot import NodeSnapshot

OUR_NODE = "02" + "aa" * 32
BLOCK_HEIGHT = 870_000


def node_id(n: int) -> str:
    """A distinct, well-formed node id for peer number ``n``."""
    return "03" + f"{n:064x}"


def policy(base_fee_msat: int = 1000, fee_ppm: int = 100, **kwargs: Any) -> ChannelPolicy:
    return ChannelPolicy(base_fee_msat=base_fee_msat, fee_ppm=fee_ppm, **kwargs)


def channel(
    n: int = 1,
    *,
    capacity_sat: int = 5_000_000,
    local_ratio: float = 0.5,
    fee_ppm: int = 100,
    base_fee_msat: int = 1000,
    age_blocks: int = 20_000,
    peer: str | None = None,
    **kwargs: Any,
) -> Channel:
    """Our channel number ``n`` to peer ``node_id(n)``."""
    capacity_msat = capacity_sat * 1000
    local_msat = int(capacity_msat * local_ratio)
    fields: dict[str, Any] = {
        "short_channel_id": f"{BLOCK_HEIGHT - age_blocks}x{n}x0",
        "peer_id": peer or node_id(n),
        "capacity_msat": capacity_msat,
        "local_msat": local_msat,
        "remote_msat": capacity_msat - local_msat,
        "our_policy": policy(base_fee_msat, fee_ppm),
        "peer_policy": policy(1000, 100),
        "state": ChannelState.ACTIVE,
        "connected": True,
        "private": False,
        "opener": Opener.LOCAL,
    }
    fields.update(kwargs)
    return Channel(**fields)


def activity(short_channel_id: str, **per_window: Mapping[str, int]) -> ChannelActivity:
    """Activity with given counters per window, e.g. ``last_7d={"forwards_out": 3}``."""
    windows = {
        name: WindowActivity(days=days, **per_window.get(name, {}))
        for name, days in (("last_1d", 1), ("last_7d", 7), ("last_30d", 30))
    }
    return ChannelActivity(short_channel_id, **windows)


def gossip_item(
    scid: str,
    source: str,
    destination: str,
    *,
    capacity_msat: int = 5_000_000_000,
    base_fee_msat: int = 1000,
    fee_ppm: int = 100,
    active: bool = True,
) -> dict[str, Any]:
    """One direction in Core Lightning's modern ``listchannels`` shape."""
    return {
        "source": source,
        "destination": destination,
        "short_channel_id": scid,
        "direction": 0 if source < destination else 1,
        "public": True,
        "amount_msat": capacity_msat,
        "message_flags": 1,
        "channel_flags": 0 if source < destination else 1,
        "active": active,
        "last_update": 1_760_000_000,
        "base_fee_millisatoshi": base_fee_msat,
        "fee_per_millionth": fee_ppm,
        "delay": 80,
        "htlc_minimum_msat": 1000,
        "htlc_maximum_msat": capacity_msat,
        "features": "",
    }


def both_directions(scid: str, a: str, b: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [gossip_item(scid, a, b, **kwargs), gossip_item(scid, b, a, **kwargs)]


def graph_for(channels: Sequence[Channel], extra: Iterable[dict[str, Any]] = ()) -> NetworkGraph:
    """Gossip holding our channels (both directions) plus ``extra`` directions."""
    items: list[dict[str, Any]] = []
    for ch in channels:
        items += both_directions(
            ch.short_channel_id,
            OUR_NODE,
            ch.peer_id,
            capacity_msat=ch.capacity_msat,
            fee_ppm=ch.our_policy.fee_ppm,
            base_fee_msat=ch.our_policy.base_fee_msat,
        )
    items += list(extra)
    return NetworkGraph.from_listchannels(items)


def snapshot(
    channels: Sequence[Channel],
    *,
    activity_by_scid: Mapping[str, ChannelActivity] | None = None,
    graph: NetworkGraph | None = None,
    taken_at_s: int = 1_760_000_000,
    prices: Mapping[str, PriceHistory] | None = None,
) -> NodeSnapshot:
    return NodeSnapshot(
        node_id=OUR_NODE,
        block_height=BLOCK_HEIGHT,
        taken_at_s=taken_at_s,
        channels=tuple(channels),
        activity=dict(activity_by_scid or {}),
        graph=graph if graph is not None else graph_for(channels),
        prices=dict(prices or {}),
    )
