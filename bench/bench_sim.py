"""Simulator speed: payments per second, retries included.

``python -m bench.bench_sim`` runs 30 simulated days of 100,000 payments on the 2025 snapshot
with static fees (the target is at least 333 payments/s: 100,000 payments in 5 minutes), then
the same days with lnopt driving the node. Options: ``--payments``, ``--days``, ``--graph``,
``--policies``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lnopt.sim.engine import Simulation
from lnopt.sim.network import load_network
from lnopt.sim.policies import make_policy
from lnopt.sim.policy import PolicyContext
from lnopt.sim.world import WorldParams, build_world

SNAPSHOT = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / ("ln-graph-2025-10-25.listchannels.json.gz")
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graph", type=Path, default=SNAPSHOT)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policies", nargs="+", default=["static", "lnopt"])
    args = parser.parse_args()

    started = time.perf_counter()
    network = load_network(args.graph)
    world = build_world(
        network, WorldParams(seed=args.seed, payments=args.payments, days=args.days)
    )
    setup_s = time.perf_counter() - started
    print(
        f"graph {args.graph.name}: {network.node_count:,} nodes, {network.channel_count:,} "
        f"channels; world built in {setup_s:.1f} s"
    )
    with tempfile.TemporaryDirectory() as workdir:
        context = PolicyContext(world.median, args.seed, Path(workdir))
        for name in args.policies:
            runs_before = world.router.dijkstra_runs
            result = Simulation(world, make_policy(name, context)).run()
            print(
                f"{name:>8}: {result.payments:,} payments over {args.days:g} days in "
                f"{result.wall_s:.1f} s = {result.payments_per_s:,.0f} payments/s "
                f"({result.attempts:,} attempts, "
                f"{world.router.dijkstra_runs - runs_before:,} dijkstra runs, "
                f"{result.payments_settled / max(1, result.payments):.0%} settled, "
                f"{result.forwards:,} forwards through our node)"
            )


if __name__ == "__main__":
    main()
