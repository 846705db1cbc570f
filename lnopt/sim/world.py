"""A world: the network, our node, the starting balances and a payment stream.

The network (when generated), our node's peers, the starting balances and the demand's shape
come from ``seed``; the payment stream from ``stream_seed`` (default: ``seed``). Everything is
shared by every policy that runs in the world, so that policies are compared on exactly the
same situation and traffic (common random numbers). :func:`with_stream` gives the same world
with another stream without rebuilding anything else: the router and its cached
shortest-path trees (which do not depend on our fees) are shared.

Starting balances of other people's channels are unknown in reality and drawn: uniform over
the capacity, except that a wallet (a node with one or two channels) holds most of its own
channel (it funded it to pay).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from lnopt.graph import GraphEdge, NetworkGraph
from lnopt.model import ChannelPolicy
from lnopt.sim.demand import DemandParams, PaymentStream, generate_payments, receive_weights
from lnopt.sim.network import OurNode, join_network, median_policy
from lnopt.sim.routing import Router
from lnopt.sim.senders import SenderParams
from lnopt.sim.topology import Topology, build_topology

WALLET_DEGREE = 2


@dataclass(frozen=True)
class WorldParams:
    seed: int = field(
        metadata={"help": "draws the network, our peers, the balances and the demand's shape"}
    )
    payments: int = field(default=100_000, metadata={"help": "payments in the stream"})
    days: float = field(default=30.0, metadata={"help": "simulated days"})
    peers: int = field(default=20, metadata={"help": "our node's channels"})
    hubs: int = field(default=8, metadata={"help": "of which to large, well-connected nodes"})
    capacity_sat: int = field(default=10_000_000, metadata={"help": "our channels' capacity"})
    hub_capacity_sat: int = field(
        default=20_000_000, metadata={"help": "our channels' capacity toward hubs"}
    )
    local_ratio: float = field(
        default=0.5, metadata={"help": "share of each of our channels on our side at the start"}
    )
    demand: DemandParams = field(
        default_factory=DemandParams, metadata={"help": "the demand's shape"}
    )
    senders: SenderParams = field(
        default_factory=SenderParams, metadata={"help": "wallet software and routing"}
    )
    stream_seed: int | None = field(
        default=None,
        metadata={"help": "draws the payment stream; default (none): the world's seed"},
    )

    @property
    def effective_stream_seed(self) -> int:
        return self.seed if self.stream_seed is None else self.stream_seed


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
        return self.params.effective_stream_seed

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
    return world_of(our, params)


def world_of(our: OurNode, params: WorldParams) -> World:
    """The world of ``our`` node as it is (an operator's own node, :mod:`lnopt.sim.own_node`):
    balances and payments drawn from ``params.seed``; ``params``' peers, hubs, capacities
    and local share are not used."""
    network = our.network
    topo = build_topology(our)
    rng = np.random.default_rng(params.seed + 1_000_003)
    degrees = np.bincount(
        np.concatenate([topo.chan_first, topo.chan_second]), minlength=topo.node_count
    )
    return World(
        params=params,
        our=our,
        topo=topo,
        router=Router(topo),
        stream=draw_stream(
            topo,
            network,
            params,
            seed=params.effective_stream_seed,
            count=params.payments,
            days=params.days,
        ),
        start_side0_msat=_start_balances(topo, our, degrees, rng),
        median=median_policy(network),
    )


def with_stream(world: World, stream_seed: int) -> World:
    """The same world (network, router and its caches, balances) with another payment stream."""
    params = replace(world.params, stream_seed=stream_seed)
    stream = draw_stream(
        world.topo,
        world.our.network,
        params,
        seed=stream_seed,
        count=params.payments,
        days=params.days,
    )
    return replace(world, params=params, stream=stream)


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
    nodes = topo.node_ids[: topo.us]
    return generate_payments(
        list(nodes),
        [network.degree(n) for n in nodes],
        seed=params.seed,
        stream_seed=seed,
        count=count,
        days=days,
        params=params.demand,
        sender_params=params.senders,
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
