"""A read-only backend for any public node, built from a ``listchannels`` file alone.

Gossip tells a node's channels, capacities and both sides' policies, but not the balances and
not the forwarding history: balances are split evenly and marked unknown, so the liquidity
heuristic answers with low confidence. Fee changes are refused: there is no node to change.
"""

from __future__ import annotations

from collections.abc import Sequence

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.errors import BackendRefused, InvalidRequest
from lnopt.graph import GraphEdge, NetworkGraph
from lnopt.model import Channel, ChannelPolicy, ChannelState, Opener, funding_height


class GossipBackend(Backend):
    """One public node of a gossip graph, seen from outside."""

    name = "gossip"

    def __init__(self, graph: NetworkGraph, node_id: str) -> None:
        if not graph.has_node(node_id):
            raise InvalidRequest(
                f"node {node_id} has no channel in the graph; "
                "accepted: the id of a node that appears as a source or destination"
            )
        self._graph = graph
        self._node_id = node_id
        self._channels = channels_from_graph(graph, node_id)

    def node_info(self) -> NodeInfo:
        tip = max((funding_height(edge.short_channel_id) for edge in self._graph.edges), default=0)
        return NodeInfo(node_id=self._node_id, alias="", block_height=tip)

    def channels(self) -> Sequence[Channel]:
        return self._channels

    def gossip(self) -> NetworkGraph:
        return self._graph

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        return ForwardPage(forwards=(), next_index=None)

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        raise BackendRefused("a gossip file is read-only: fees of a public node cannot be changed")

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        for channel in self._channels:
            if channel.short_channel_id == short_channel_id:
                return channel.our_policy
        raise BackendRefused(f"unknown channel {short_channel_id}", code=-32602)


def channels_from_graph(graph: NetworkGraph, node_id: str) -> tuple[Channel, ...]:
    """The node's public channels as gossip shows them; balances unknown, split evenly."""
    inbound: dict[str, GraphEdge] = {
        edge.short_channel_id: edge for edge in graph.edges_to(node_id)
    }
    channels = []
    for edge in sorted(graph.edges_from(node_id), key=lambda e: e.short_channel_id):
        back = inbound.get(edge.short_channel_id)
        half_msat = edge.capacity_msat // 2
        channels.append(
            Channel(
                short_channel_id=edge.short_channel_id,
                peer_id=edge.destination,
                capacity_msat=edge.capacity_msat,
                local_msat=half_msat,
                remote_msat=edge.capacity_msat - half_msat,
                our_policy=edge.policy,
                peer_policy=back.policy if back is not None else None,
                state=ChannelState.ACTIVE if edge.active else ChannelState.INACTIVE,
                connected=edge.active,
                private=False,
                opener=Opener.LOCAL,
                balance_known=False,
            )
        )
    return tuple(channels)
