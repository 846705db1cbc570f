"""The operator's own node in the simulator: its gossip, its channels and the forwards it saw.

A :class:`RecordedNode` is what a Core Lightning node answers ``listchannels``,
``listpeerchannels`` and ``listforwards`` with, saved in files (by ``lightning-cli METHOD >
FILE``, or by the plugin's ``lnopt-simulate``) and parsed by the Core Lightning backend's own
readers (:mod:`lnopt.backends.cln_shapes`). :func:`our_node` turns it into
the simulator's :class:`~lnopt.sim.network.OurNode`: the network is the gossip without our
node's channels, and our channels are the node's open ones with their capacity, balance and
fees as they are; a peer whose policy toward us the node does not know is given the median of
the policies it announces on its other channels, as for a generated world. Every peer counts
as online: the simulation asks what fees earn, not how a peer's downtime goes.

Our node's id is the endpoint, other than the peer, of our channels in the gossip; a node
whose channels are all private must be named.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lnopt.backends.cln_shapes import Fields, channel_from_peerchannel, forwards_of
from lnopt.errors import InvalidRequest
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelState, Forward, ForwardStatus
from lnopt.sim.network import OurNode, load_network, peer_policy


@dataclass(frozen=True)
class RecordedNode:
    """A node's view of itself: the gossip (its own channels included), its channels and the
    forwards it recorded."""

    node_id: str
    graph: NetworkGraph
    channels: tuple[Channel, ...]
    forwards: tuple[Forward, ...]

    @property
    def settled(self) -> tuple[Forward, ...]:
        return tuple(f for f in self.forwards if f.status is ForwardStatus.SETTLED)


def read_recorded_node(
    *,
    listchannels: Path,
    listpeerchannels: Path,
    listforwards: Path,
    node_id: str | None = None,
) -> RecordedNode:
    """A node from the JSON answers of ``listchannels`` (gzipped or not, as the snapshots are),
    ``listpeerchannels`` and ``listforwards`` saved in files."""
    graph = load_network(listchannels)
    items = Fields(_json(listpeerchannels), str(listpeerchannels)).array("channels")
    channels = tuple(c for c in (channel_from_peerchannel(item) for item in items) if c)
    forwards = forwards_of(_json(listforwards))
    return RecordedNode(
        node_id=node_id or infer_node_id(graph, channels),
        graph=graph,
        channels=channels,
        forwards=forwards,
    )


def infer_node_id(graph: NetworkGraph, channels: tuple[Channel, ...]) -> str:
    """The node at the other end of our channels' gossip from their peers (module docstring)."""
    peers = {c.short_channel_id: c.peer_id for c in channels}
    ends: Counter[str] = Counter()
    for edge in graph.edges:
        peer = peers.get(edge.short_channel_id)
        if peer is not None:
            ends.update({edge.source, edge.destination} - {peer})
    if not ends:
        raise InvalidRequest(
            "none of the node's channels is in the gossip, so its id cannot be told: give it "
            "(--node-id, the id getinfo shows)"
        )
    return ends.most_common(1)[0][0]


def our_node(recorded: RecordedNode) -> OurNode:
    """The simulator's view of ``recorded`` (see the module docstring)."""
    network = NetworkGraph(
        [e for e in recorded.graph.edges if recorded.node_id not in (e.source, e.destination)]
    )
    open_channels = [c for c in recorded.channels if c.state is ChannelState.ACTIVE]
    if not open_channels:
        raise InvalidRequest("the node has no open channel to simulate")
    gossip_toward_us = {
        e.short_channel_id: e.policy for e in recorded.graph.edges_to(recorded.node_id)
    }
    channels = tuple(
        replace(
            c,
            peer_policy=c.peer_policy
            or gossip_toward_us.get(c.short_channel_id)
            or peer_policy(network, c.peer_id),
            connected=True,
        )
        for c in open_channels
    )
    return OurNode(node_id=recorded.node_id, channels=channels, network=network)


def _json(path: Path) -> Mapping[str, Any]:
    try:
        found = json.loads(path.read_text())
    except OSError as exc:
        raise InvalidRequest(f"{path}: cannot be read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(found, Mapping):
        raise InvalidRequest(f"{path}: a JSON object is expected, as lightning-cli prints it")
    return found
