"""A world: the network, our node, the starting balances and the payment stream of one seed.

Everything here is drawn from the seed and shared by every policy that runs in it, so that
policies are compared on exactly the same situation and traffic (common random numbers). The
router's cached shortest-path trees are shared too: they do not depend on our fees.

Starting balances of other people's channels are unknown in reality and drawn: uniform over
the capacity, except that a wallet (a node with one or two channels) holds most of its own
channel (it funded it to pay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from lnopt.graph import GraphEdge, NetworkGraph
from lnopt.model import ChannelPolicy
from lnopt.sim.demand import DemandParams, PaymentStream, generate_payments, receive_weights
from lnopt.sim.network import OurNode, join_network, median_policy
from lnopt.sim.routing import Router
from lnopt.sim.topology import Topology, build_topology

WALLET_DEGREE = 2


@dataclass(frozen=True)
class WorldParams:
    """Our node in the network and the traffic it sees (the network itself is chosen apart)."""

    seed: int = field(
        metadata={"help": "draws our node, the balances and the demand's shape; set per run"}
    )
    payments: int = field(
        default=100_000, metadata={"help": "payments in the scored period (parts counted apart)"}
    )
    days: float = field(default=30.0, metadata={"help": "length of the scored period, days"})
    peers: int = field(
        default=20, metadata={"help": "our node's channels (a mid-sized routing node)"}
    )
    hubs: int = field(
        default=8, metadata={"help": "how many of the peers are among the largest 1% of nodes"}
    )
    capacity_sat: int = field(
        default=10_000_000, metadata={"help": "capacity of a channel to a non-hub peer, sat"}
    )
    hub_capacity_sat: int = field(
        default=20_000_000, metadata={"help": "capacity of a channel to a hub, sat"}
    )
    local_ratio: float = field(
        default=0.5, metadata={"help": "our share of each channel at the start (balanced)"}
    )
    demand: DemandParams = field(default_factory=DemandParams)
    stream_seed: int | None = field(
        default=None,
        metadata={"help": "draws the payment stream; None: the world seed. Set per run"},
    )


@dataclass(frozen=True)
class World:
    params: WorldParams
    our: OurNode
    topo: Topology
    router: Router
    stream: PaymentStream  # sender and receiver indices are topology node indices
    start_side0_msat: np.ndarray
    median: ChannelPolicy

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def stream_seed(self) -> int:
        """The seed the payment stream was drawn from."""
        return self.params.seed if self.params.stream_seed is None else self.params.stream_seed

    @cached_property
    def network_edges(self) -> tuple[GraphEdge, ...]:
        """The graph's directions between other nodes, in the topology's edge order."""
        return tuple(edge for edge in self.our.network.edges if edge.active)


def build_world(network: NetworkGraph, params: WorldParams) -> World:
    """Join our node to ``network`` and draw balances and payments from ``params.seed``."""
    nodes = sorted(network.nodes)
    demand = receive_weights(
        [network.degree(n) for n in nodes], seed=params.seed, params=params.demand
    )
    our = join_network(
        network,
        seed=params.seed,
        peers=params.peers,
        hubs=params.hubs,
        capacity_sat=params.capacity_sat,
        hub_capacity_sat=params.hub_capacity_sat,
        local_ratio=params.local_ratio,
        prefer=dict(zip(nodes, demand.tolist(), strict=True)),
    )
    topo = build_topology(our)
    rng = np.random.default_rng(params.seed + 1_000_003)
    degrees = np.bincount(
        np.concatenate([topo.chan_first, topo.chan_second]), minlength=topo.node_count
    )
    stream = draw_stream(
        topo,
        network,
        params,
        seed=params.seed if params.stream_seed is None else params.stream_seed,
        count=params.payments,
        days=params.days,
    )
    return World(
        params=params,
        our=our,
        topo=topo,
        router=Router(topo),
        stream=stream,
        start_side0_msat=_start_balances(topo, our, degrees, rng),
        median=median_policy(network),
    )


def draw_stream(
    topo: Topology,
    network: NetworkGraph,
    params: WorldParams,
    *,
    seed: int,
    count: int,
    days: float,
) -> PaymentStream:
    """``count`` payments over ``days`` drawn from ``seed``, the demand's shape from the world
    seed: the world's own stream, another stream of the same world, or its warm-up."""
    return generate_payments(
        list(topo.node_ids[: topo.us]),
        [network.degree(n) for n in topo.node_ids[: topo.us]],
        seed=params.seed,
        stream_seed=seed,
        count=count,
        days=days,
        params=params.demand,
        largest_channel_msat=_largest_channel(topo)[: topo.us].tolist(),
        can_pay=(np.bincount(topo.e_src, minlength=topo.node_count) > 0)[: topo.us].tolist(),
        can_be_paid=(np.bincount(topo.e_dst, minlength=topo.node_count) > 0)[: topo.us].tolist(),
    )


def _largest_channel(topo: Topology) -> np.ndarray:
    largest = np.zeros(topo.node_count, dtype=np.int64)
    np.maximum.at(largest, topo.chan_first, topo.chan_cap)
    np.maximum.at(largest, topo.chan_second, topo.chan_cap)
    return largest


def _start_balances(
    topo: Topology, our: OurNode, degrees: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    share0 = rng.beta(0.3, 0.3, len(topo.chan_cap))
    wallet_first = degrees[topo.chan_first] <= WALLET_DEGREE
    wallet_second = degrees[topo.chan_second] <= WALLET_DEGREE
    funded = rng.uniform(0.6, 1.0, len(topo.chan_cap))
    share0 = np.where(wallet_first & ~wallet_second, funded, share0)
    share0 = np.where(wallet_second & ~wallet_first, 1.0 - funded, share0)
    side0: np.ndarray = (share0 * topo.chan_cap).astype(np.int64)
    for channel, chan in zip(our.channels, topo.our_chan, strict=True):
        ours_first = int(topo.chan_first[chan]) == topo.us
        side0[chan] = channel.local_msat if ours_first else channel.remote_msat
    return side0
