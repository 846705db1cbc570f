"""How long ``lnopt sim node`` (and so ``lnopt-simulate``) takes for a node of about 50 channels.

``python -m bench.bench_sim_node`` takes the 2025 snapshot's node with the number of channels
closest to ``--channels`` (50) as the operator's node, its channels half on each side, lets it
forward for ``--recorded-days`` days at its fees in the simulator (the record to calibrate
to), then times the whole comparison with ``sim node``'s defaults: calibration and every policy
on three seeds. It prints the wall time of each step and the calibration's fit. The snapshot is
read from ``$LNOPT_SHARED_DATA``, else ../shared/data.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.bench_sim import SNAPSHOT
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelState, ForwardStatus, Opener
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.network import OurNode, load_network
from lnopt.sim.node_command import NodeSimulationParams, fit_text, simulate_node
from lnopt.sim.own_node import RecordedNode
from lnopt.sim.policy import PolicyContext
from lnopt.sim.report import table
from lnopt.sim.warmup import StartingFees
from lnopt.sim.world import WorldParams, world_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graph", type=Path, default=SNAPSHOT)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--recorded-days", type=float, default=14.0)
    parser.add_argument("--recorded-payments", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    graph = load_network(args.graph)
    node_id = min(
        (n for n in graph.nodes if graph.degree(n) >= 3),
        key=lambda n: (abs(graph.degree(n) - args.channels), -graph.node_capacity_msat(n), n),
    )
    recorded = record(graph, node_id, days=args.recorded_days, payments=args.recorded_payments)
    print(
        f"node {node_id[:16]}…: {len(recorded.channels)} channels, "
        f"{len(recorded.settled)} settled forwards in {args.recorded_days:g} days "
        f"(set up in {time.perf_counter() - started:.0f} s)"
    )
    started = time.perf_counter()
    found = simulate_node(recorded, NodeSimulationParams(workers=args.workers))
    print(f"sim node with its defaults: {time.perf_counter() - started:.0f} s")
    print(fit_text(found.calibration))
    print(table(found.comparison))


def record(graph: NetworkGraph, node_id: str, *, days: float, payments: int) -> RecordedNode:
    """``node_id``'s channels as ours, and what they forwarded in ``days`` days at their fees."""
    toward = {e.short_channel_id: e.policy for e in graph.edges_to(node_id)}
    channels = tuple(
        Channel(
            short_channel_id=e.short_channel_id,
            peer_id=e.destination,
            capacity_msat=e.capacity_msat,
            local_msat=e.capacity_msat // 2,
            remote_msat=e.capacity_msat - e.capacity_msat // 2,
            our_policy=e.policy,
            peer_policy=toward.get(e.short_channel_id),
            state=ChannelState.ACTIVE,
            connected=True,
            private=False,
            opener=Opener.LOCAL,
        )
        for e in graph.edges_from(node_id)
    )
    others = NetworkGraph([e for e in graph.edges if node_id not in (e.source, e.destination)])
    our = OurNode(node_id=node_id, channels=channels, network=others)
    world = world_of(our, replace(WorldParams(seed=0), payments=payments, days=days))
    context = PolicyContext(world.median, 0, Path(tempfile.gettempdir()))
    simulation = Simulation(world, StartingFees(context), SimParams())
    simulation.run()
    forwards = tuple(f for f in simulation.node.forwards if f.status is ForwardStatus.SETTLED)
    return RecordedNode(node_id=node_id, graph=graph, channels=channels, forwards=forwards)


if __name__ == "__main__":
    main()
