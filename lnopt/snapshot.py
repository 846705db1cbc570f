"""The snapshot of a node: everything the engine needs to know about it at one moment.

A backend reads the node into a :class:`NodeSnapshot` (our channels, the network graph from
gossip, and the forwarding activity, price history and price evidence the store keeps); the
engine reads only the snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelActivity, PriceHistory
from lnopt.pricing.evidence import ChannelEvidence


@dataclass(frozen=True)
class NodeSnapshot:
    """Everything the engine needs to know about a node at one moment."""

    node_id: str
    block_height: int
    taken_at_s: int
    channels: tuple[Channel, ...]
    activity: Mapping[str, ChannelActivity]
    graph: NetworkGraph
    prices: Mapping[str, PriceHistory] = field(default_factory=dict)
    evidence: Mapping[str, ChannelEvidence] = field(default_factory=dict)

    def activity_of(self, short_channel_id: str) -> ChannelActivity:
        found = self.activity.get(short_channel_id)
        return found if found is not None else ChannelActivity(short_channel_id)

    def channel(self, short_channel_id: str) -> Channel | None:
        for channel in self.channels:
            if channel.short_channel_id == short_channel_id:
                return channel
        return None
