"""Simulator speed: payment parts and whole payments per second, retries included.

``python -m bench.bench_sim`` runs 20,000 payments over 30 simulated days on the generated
network of ``lnopt sim compare`` (3,000 nodes) and on the 2025 snapshot, with static fees and
then with lnopt driving the node, and prints parts/s (the target: 5,000 per core) and payments/s
for each. Options: ``--payments``, ``--days``, ``--nodes``, ``--graphs`` (``generated`` or a
listchannels file; the snapshot is read from ``$LNOPT_SHARED_DATA``, else ../shared/data),
``--policies``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lnopt.sim.engine import Simulation
from lnopt.sim.network import generate_network, load_network
from lnopt.sim.policies import make_policy
from lnopt.sim.policy import PolicyContext
from lnopt.sim.world import WorldParams, build_world

SHARED_DATA = Path(
    os.environ.get(
        "LNOPT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
SNAPSHOT = SHARED_DATA / "ln-graph-2025-10-25.listchannels.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graphs", nargs="+", default=["generated", str(SNAPSHOT)])
    parser.add_argument("--nodes", type=int, default=3000)
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policies", nargs="+", default=["static", "lnopt"])
    args = parser.parse_args()
    for graph in args.graphs:
        started = time.perf_counter()
        if graph == "generated":
            network = generate_network(seed=args.seed, nodes=args.nodes)
            name = f"generated ({args.nodes:,} nodes)"
        else:
            network = load_network(Path(graph))
            name = Path(graph).name
        world = build_world(
            network, WorldParams(seed=args.seed, payments=args.payments, days=args.days)
        )
        print(
            f"{name}: {network.node_count:,} nodes, {network.channel_count:,} channels; "
            f"world built in {time.perf_counter() - started:.1f} s"
        )
        with tempfile.TemporaryDirectory() as workdir:
            context = PolicyContext(world.median, args.seed, Path(workdir))
            for policy in args.policies:
                searches_before = world.router.searches
                repairs_before = world.router.repairs
                result = Simulation(world, make_policy(policy, context)).run()
                print(
                    f"{policy:>8}: {result.parts:,} parts of {result.payments:,} payments in "
                    f"{result.wall_s:.1f} s = {result.parts_per_s:,.0f} parts/s, "
                    f"{result.payments_per_s:,.0f} payments/s ({result.attempts:,} attempts, "
                    f"{world.router.searches - searches_before:,} searches, "
                    f"{world.router.repairs - repairs_before:,} tree repairs, "
                    f"{result.payments_settled / max(1, result.payments):.0%} of payments "
                    f"settled, {result.forwards:,} forwards through our node)"
                )


if __name__ == "__main__":
    main()
