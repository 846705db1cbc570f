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

import numpy as np

from lnopt.graph import NetworkGraph
from lnopt.model import ChannelPolicy
from lnopt.sim.demand import DemandParams, PaymentStream, generate_payments, receive_weights
from lnopt.sim.network import OurNode, join_network, median_policy
from lnopt.sim.routing import Router
from lnopt.sim.topology import Topology, build_topology

WALLET_DEGREE = 2


@dataclass(frozen=True)
class WorldParams:
    seed: int
    payments: int = 100_000
    days: float = 30.0
    peers: int = 20
    hubs: int = 8
    capacity_sat: int = 10_000_000
    hub_capacity_sat: int = 20_000_000
    local_ratio: float = 0.5
    demand: DemandParams = field(default_factory=DemandParams)


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
    stream = generate_payments(
        list(topo.node_ids[: topo.us]),
        [network.degree(n) for n in topo.node_ids[: topo.us]],
        seed=params.seed,
        count=params.payments,
        days=params.days,
        params=params.demand,
        largest_channel_msat=_largest_channel(topo)[: topo.us].tolist(),
        can_pay=(np.bincount(topo.e_src, minlength=topo.node_count) > 0)[: topo.us].tolist(),
        can_be_paid=(np.bincount(topo.e_dst, minlength=topo.node_count) > 0)[: topo.us].tolist(),
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
