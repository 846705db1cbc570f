"""The simulated network: a real snapshot or a generated Lightning-like graph, and our node in it.

:func:`generate_network` grows a graph by preferential attachment (each newcomer opens a
heavy-tailed number of channels to nodes chosen with probability growing with their number of
channels, as wallets open to large service nodes), then draws capacities, fees, base fees and
CLTV deltas from the distributions measured on the real graph (:mod:`lnopt.sim.distributions`).
Larger capacities go to channels between better-connected nodes, as in the real graph.

:func:`join_network` gives our node its channels the way an operator picks peers: a few large
hubs and more smaller, well-connected nodes, at the network's median fee and a chosen balance.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lnopt.errors import InvalidRequest
from lnopt.graph import GraphEdge, NetworkGraph
from lnopt.model import Channel, ChannelPolicy, ChannelState, Opener
from lnopt.sim import distributions

OUR_NODE_ID = "02" + "5a" * 32
FIRST_BLOCK = 500_000
LAST_BLOCK = 915_000
OUR_FIRST_BLOCK = 930_000
GOSSIP_TIMESTAMP = 1_760_000_000
MEDIAN_FALLBACK = ChannelPolicy(base_fee_msat=1000, fee_ppm=100)


@dataclass(frozen=True)
class OurNode:
    """Our node as it joins the network: its id, its channels and the graph it joins."""

    node_id: str
    channels: tuple[Channel, ...]
    network: NetworkGraph  # the graph without our channels

    @property
    def graph(self) -> NetworkGraph:
        """The public graph including both directions of our channels."""
        return self.network.with_edges(our_edges(self.node_id, self.channels))


def load_network(path: str | Path) -> NetworkGraph:
    """A ``listchannels``-shaped file (e.g. a snapshot in ``/work/shared/data``)."""
    return NetworkGraph.load(path)


def generate_network(*, seed: int, nodes: int = 3000) -> NetworkGraph:
    """A Lightning-like graph of ``nodes`` nodes, the same for the same seed."""
    if nodes < 10:
        raise InvalidRequest(f"a generated network needs at least 10 nodes, got {nodes}")
    rng = np.random.default_rng(seed)
    ids = _node_ids(rng, nodes)
    pairs = _attach(rng, nodes)
    return NetworkGraph(_edges(rng, ids, pairs))


def median_policy(graph: NetworkGraph) -> ChannelPolicy:
    """The median base fee, fee rate and CLTV delta of the active directions of ``graph``."""
    active = [edge.policy for edge in graph.edges if edge.active]
    if not active:
        return MEDIAN_FALLBACK
    return ChannelPolicy(
        base_fee_msat=int(statistics.median_low(p.base_fee_msat for p in active)),
        fee_ppm=int(statistics.median_low(p.fee_ppm for p in active)),
        cltv_delta=int(statistics.median_low(p.cltv_delta for p in active)),
    )


def join_network(
    network: NetworkGraph,
    *,
    seed: int,
    peers: int = 20,
    hubs: int = 8,
    capacity_sat: int = 10_000_000,
    hub_capacity_sat: int = 20_000_000,
    local_ratio: float = 0.5,
    policy: ChannelPolicy | None = None,
    node_id: str = OUR_NODE_ID,
    prefer: Mapping[str, float] | None = None,
) -> OurNode:
    """Our node with ``peers`` channels: ``hubs`` of the largest nodes and well-connected others.

    Channels to hubs have ``hub_capacity_sat``, the others ``capacity_sat``; ``local_ratio`` of
    each is on our side, and our policy is ``policy`` (by default the network's median). The
    peer's policy toward us is the median of the policies it announces on its other channels.
    ``prefer`` weighs the choice of the non-hub peers (e.g. how much each node is paid), as an
    operator who looks for where payments go; without it they are weighed by capacity.
    """
    if not 0 < peers <= network.node_count // 2:
        raise InvalidRequest(f"peers must be between 1 and {network.node_count // 2}, got {peers}")
    if not 0.0 <= local_ratio <= 1.0:
        raise InvalidRequest(f"local_ratio must lie in [0, 1], got {local_ratio}")
    rng = np.random.default_rng(seed)
    hubs = min(hubs, peers)
    chosen = choose_peers(network, rng, peers=peers, hubs=hubs, prefer=prefer)
    our_policy = policy if policy is not None else median_policy(network)
    taken = {edge.short_channel_id for edge in network.edges}
    scids = [scid for scid in _our_scids(rng, len(chosen) + len(taken)) if scid not in taken]
    capacities = [1000 * (hub_capacity_sat if i < hubs else capacity_sat) for i in range(peers)]
    channels = tuple(
        Channel(
            short_channel_id=scids[i],
            peer_id=peer,
            capacity_msat=capacities[i],
            local_msat=int(capacities[i] * local_ratio),
            remote_msat=capacities[i] - int(capacities[i] * local_ratio),
            our_policy=our_policy,
            peer_policy=peer_policy(network, peer),
            state=ChannelState.ACTIVE,
            connected=True,
            private=False,
            opener=Opener.LOCAL,
        )
        for i, peer in enumerate(chosen)
    )
    return OurNode(node_id=node_id, channels=channels, network=network)


def choose_peers(
    network: NetworkGraph,
    rng: np.random.Generator,
    *,
    peers: int,
    hubs: int,
    prefer: Mapping[str, float] | None = None,
) -> list[str]:
    """``hubs`` nodes among the 1% with most channels, the rest among well-connected others.

    The others are drawn from nodes with at least 3 channels below the hub tier, with
    probability proportional to ``prefer`` (where given and positive) or else to their
    capacity, as an operator looks for peers with liquidity, reach and demand.
    """
    ranked = sorted(network.nodes, key=lambda n: (-network.degree(n), n))
    tier = max(hubs, len(ranked) // 100)
    hub_pool = ranked[:tier]
    others = [n for n in ranked[tier:] if network.degree(n) >= 3]
    picked = list(rng.choice(hub_pool, size=hubs, replace=False)) if hubs else []
    wanted = peers - hubs
    if len(others) < wanted:
        others = [n for n in ranked[tier:] if network.degree(n) >= 2]
    if len(others) < wanted:
        raise InvalidRequest(f"the network has too few well-connected nodes for {peers} peers")
    if wanted:
        weights = np.array([network.node_capacity_msat(n) for n in others], dtype=float)
        if prefer is not None:
            preferred = np.array([prefer.get(n, 0.0) for n in others], dtype=float)
            if np.count_nonzero(preferred) >= wanted:
                weights = preferred
        picked += list(rng.choice(others, size=wanted, replace=False, p=weights / weights.sum()))
    return [str(node) for node in picked]


def our_edges(node_id: str, channels: Sequence[Channel]) -> list[GraphEdge]:
    """Both gossip directions of our channels: ours with our policy, the peer's with theirs."""
    edges: list[GraphEdge] = []
    for ch in channels:
        edges.append(
            GraphEdge(
                ch.short_channel_id,
                node_id,
                ch.peer_id,
                ch.capacity_msat,
                ch.our_policy,
                True,
                GOSSIP_TIMESTAMP,
            )
        )
        if ch.peer_policy is not None:
            edges.append(
                GraphEdge(
                    ch.short_channel_id,
                    ch.peer_id,
                    node_id,
                    ch.capacity_msat,
                    ch.peer_policy,
                    True,
                    GOSSIP_TIMESTAMP,
                )
            )
    return edges


def peer_policy(network: NetworkGraph, peer: str) -> ChannelPolicy:
    """The median of the policies ``peer`` announces on its channels in ``network``."""
    own = [e.policy for e in network.edges_from(peer) if e.active]
    if not own:
        return MEDIAN_FALLBACK
    return ChannelPolicy(
        base_fee_msat=int(statistics.median_low(p.base_fee_msat for p in own)),
        fee_ppm=int(statistics.median_low(p.fee_ppm for p in own)),
        cltv_delta=int(statistics.median_low(p.cltv_delta for p in own)),
    )


def _our_scids(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct short channel ids in blocks after any graph we load or generate."""
    return [f"{OUR_FIRST_BLOCK + 7 * i}x{int(rng.integers(1, 3000))}x{i % 2}" for i in range(count)]


def _node_ids(rng: np.random.Generator, count: int) -> list[str]:
    ids: set[str] = set()
    ordered: list[str] = []
    while len(ordered) < count:
        prefix = "02" if rng.random() < 0.5 else "03"
        candidate = prefix + rng.bytes(32).hex()
        if candidate not in ids and candidate != OUR_NODE_ID:
            ids.add(candidate)
            ordered.append(candidate)
    return ordered


def _channels_opened(rng: np.random.Generator) -> int:
    """How many channels a newcomer opens: usually one (a wallet), sometimes many (a router)."""
    if rng.random() < 0.70:
        return 1
    return int(min(400, 1 + np.floor(rng.pareto(1.1) * 3.0)))


def _attach(rng: np.random.Generator, count: int) -> list[tuple[int, int]]:
    """Grow the topology: each newcomer connects to nodes chosen by degree (plus a little).

    Most single-channel newcomers are leaves (wallets behind a service node): nobody opens a
    channel to them, so they stay at one channel, as over half the real nodes do.
    """
    core = 5
    pairs = [(a, b) for a in range(core) for b in range(a + 1, core)]
    endpoints = [node for pair in pairs for node in pair]
    for newcomer in range(core, count):
        wanted = min(_channels_opened(rng), newcomer)
        targets: set[int] = set()
        attempts = 0
        while len(targets) < wanted and attempts < 20 * wanted:
            attempts += 1
            if rng.random() < 0.05:
                target = int(rng.integers(0, newcomer))
            else:
                target = endpoints[int(rng.integers(0, len(endpoints)))]
            targets.add(target)
        leaf = wanted == 1 and rng.random() < 0.8
        for target in sorted(targets):
            pairs.append((newcomer, target))
            endpoints.append(target)
            if not leaf:
                endpoints.append(newcomer)
    return pairs


def _edges(
    rng: np.random.Generator, ids: list[str], pairs: list[tuple[int, int]]
) -> list[GraphEdge]:
    channels = len(pairs)
    degree = np.bincount(np.array(pairs).ravel(), minlength=len(ids))
    capacities = np.sort(distributions.sample(distributions.CAPACITY_SAT, rng, channels))
    reach = np.array([np.log1p(min(degree[a], degree[b])) for a, b in pairs])
    order = np.argsort(reach + rng.normal(0.0, 1.0, channels), kind="stable")
    capacity_of = np.empty(channels, dtype=np.int64)
    capacity_of[order] = capacities
    fees = distributions.sample(distributions.FEE_PPM, rng, 2 * channels)
    bases = distributions.sample(distributions.BASE_FEE_MSAT, rng, 2 * channels)
    cltvs = distributions.sample(distributions.CLTV_DELTA, rng, 2 * channels)
    active = rng.random(2 * channels) >= 0.03
    blocks = np.sort(rng.integers(FIRST_BLOCK, LAST_BLOCK, channels))
    edges: list[GraphEdge] = []
    for i, (a, b) in enumerate(pairs):
        scid = f"{int(blocks[i])}x{i % 4000 + 1}x{i // 4000}"
        capacity_msat = int(capacity_of[i]) * 1000
        for k, (source, destination) in enumerate(((a, b), (b, a))):
            j = 2 * i + k
            policy = ChannelPolicy(
                base_fee_msat=int(bases[j]),
                fee_ppm=int(fees[j]),
                htlc_min_msat=1000,
                htlc_max_msat=capacity_msat * 99 // 100,
                cltv_delta=int(cltvs[j]),
            )
            edges.append(
                GraphEdge(
                    scid,
                    ids[source],
                    ids[destination],
                    capacity_msat,
                    policy,
                    bool(active[j]),
                    GOSSIP_TIMESTAMP,
                )
            )
    return edges
