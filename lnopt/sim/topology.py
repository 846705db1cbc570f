"""The network as flat arrays: nodes, channels and channel directions, our node included.

Routing needs the graph in a form numpy and scipy work on. Nodes are numbered (our node
last), every channel has a capacity and two sides (side 0 is the channel's first node), and
every *active* direction is an edge with its source, destination, channel and policy. The
edges of other nodes come first; then, for each of our channels ``j``, the peer's direction
toward us (``our_in[j]``, -1 when the peer announces none) and ours toward the peer
(``our_out[j]``). Inactive directions are left out: nobody routes through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lnopt.graph import GraphEdge
from lnopt.sim.network import OurNode, our_edges


@dataclass(frozen=True)
class Topology:
    node_ids: tuple[str, ...]
    index: dict[str, int]
    us: int
    chan_scid: tuple[str, ...]
    chan_cap: np.ndarray  # int64 msat
    chan_first: np.ndarray  # int32 node index of side 0
    chan_second: np.ndarray  # int32 node index of side 1
    e_src: np.ndarray  # int32
    e_dst: np.ndarray  # int32
    e_chan: np.ndarray  # int32
    e_side: np.ndarray  # int8: the source's side of the channel
    e_base: np.ndarray  # int64 msat
    e_ppm: np.ndarray  # int64
    e_max: np.ndarray  # int64 msat: the largest HTLC the direction carries
    others: int  # edges [0, others) are between other nodes
    our_scids: tuple[str, ...]
    our_chan: np.ndarray  # int32 channel index of our channel j
    our_peer: np.ndarray  # int32 node index of the peer of our channel j
    our_in: np.ndarray  # int32 edge peer_j -> us, or -1
    our_out: np.ndarray  # int32 edge us -> peer_j
    out_ptr: np.ndarray  # edges leaving node v are out_list[out_ptr[v]:out_ptr[v + 1]]
    out_list: np.ndarray

    @property
    def node_count(self) -> int:
        return len(self.node_ids)

    @property
    def edge_count(self) -> int:
        return len(self.e_src)

    def out_edges(self, node: int) -> np.ndarray:
        start, end = self.out_ptr[node], self.out_ptr[node + 1]
        edges: np.ndarray = self.out_list[start:end]
        return edges


def build_topology(our: OurNode) -> Topology:
    """Arrays for ``our.network`` plus our channels, as described in the module docstring."""
    peers = {ch.peer_id for ch in our.channels}  # a peer with no other channel is a node too
    node_ids = sorted((our.network.nodes | peers) - {our.node_id})
    node_ids.append(our.node_id)
    index = {node: i for i, node in enumerate(node_ids)}
    us = index[our.node_id]
    others = [e for e in our.network.edges if e.active]
    ours = our_edges(our.node_id, our.channels)
    scids: dict[str, int] = {}
    caps: list[int] = []
    firsts: list[int] = []
    seconds: list[int] = []
    for edge in [*our.network.edges, *ours]:
        if edge.short_channel_id not in scids:
            scids[edge.short_channel_id] = len(caps)
            caps.append(edge.capacity_msat)
            ends = sorted((index[edge.source], index[edge.destination]))
            firsts.append(ends[0])
            seconds.append(ends[1])
    our_in = np.full(len(our.channels), -1, dtype=np.int32)
    our_out = np.zeros(len(our.channels), dtype=np.int32)
    ordered: list[GraphEdge] = list(others)
    position = {ch.short_channel_id: j for j, ch in enumerate(our.channels)}
    for edge in ours:
        j = position[edge.short_channel_id]
        if edge.source == our.node_id:
            our_out[j] = len(ordered)
        else:
            our_in[j] = len(ordered)
        ordered.append(edge)
    src = np.array([index[e.source] for e in ordered], dtype=np.int32)
    dst = np.array([index[e.destination] for e in ordered], dtype=np.int32)
    chan = np.array([scids[e.short_channel_id] for e in ordered], dtype=np.int32)
    first = np.array(firsts, dtype=np.int32)
    order = np.argsort(src, kind="stable")
    out_ptr = np.zeros(len(node_ids) + 1, dtype=np.int64)
    np.add.at(out_ptr, src + 1, 1)
    return Topology(
        node_ids=tuple(node_ids),
        index=index,
        us=us,
        chan_scid=tuple(scids),
        chan_cap=np.array(caps, dtype=np.int64),
        chan_first=first,
        chan_second=np.array(seconds, dtype=np.int32),
        e_src=src,
        e_dst=dst,
        e_chan=chan,
        e_side=(src != first[chan]).astype(np.int8),
        e_base=np.array([e.policy.base_fee_msat for e in ordered], dtype=np.int64),
        e_ppm=np.array([e.policy.fee_ppm for e in ordered], dtype=np.int64),
        e_max=np.array(
            [min(e.capacity_msat, e.policy.htlc_max_msat or e.capacity_msat) for e in ordered],
            dtype=np.int64,
        ),
        others=len(others),
        our_scids=tuple(ch.short_channel_id for ch in our.channels),
        our_chan=np.array([scids[ch.short_channel_id] for ch in our.channels], dtype=np.int32),
        our_peer=np.array([index[ch.peer_id] for ch in our.channels], dtype=np.int32),
        our_in=our_in,
        our_out=our_out,
        out_ptr=np.cumsum(out_ptr),
        out_list=order.astype(np.int32),
    )
