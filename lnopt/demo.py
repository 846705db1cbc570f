"""``python -m lnopt demo``: the main job on its embedded default, with no node needed.

1. A seeded, Lightning-like network is generated in memory and our node joins it with about
   twenty channels (:mod:`lnopt.sim.network`).
2. The demo's payment stream runs through it with our fees left at the network median, which
   gives the node balances and a forwarding history. lnopt then looks at the node exactly as
   the plugin does in shadow mode (the same :class:`~lnopt.service.Optimizer`, through the
   simulated backend): each channel's score with its eight parts, and the decision with its
   reasons.
3. The same payments run again under lnopt and under the fee tools operators use today, side by
   side (:func:`lnopt.sim.commands.run_demo`): a table, lnopt's first reasons, and a picture.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnopt.config import Config, default_config
from lnopt.model import Mode
from lnopt.render import score_table
from lnopt.rpc import recommendation_json, score_json
from lnopt.service import Optimizer, Recommendation
from lnopt.sim.commands import (
    DEMO_DAYS,
    DEMO_NODES,
    DEMO_PAYMENTS,
    DEMO_SEEDS,
    DEMO_WORKERS,
    run_demo,
)
from lnopt.sim.compare import CompareParams, world_for
from lnopt.sim.engine import Simulation
from lnopt.sim.policies import make_policy
from lnopt.sim.policy import PolicyContext
from lnopt.sim.report import as_json
from lnopt.snapshot import NodeSnapshot
from lnopt.store import Store

HISTORY_POLICY = "static"


@dataclass(frozen=True)
class DemoParams:
    seeds: tuple[int, ...] = DEMO_SEEDS
    nodes: int = DEMO_NODES
    days: float = DEMO_DAYS
    payments: int = DEMO_PAYMENTS
    workers: int = DEMO_WORKERS
    plot_path: Path | None = Path("lnopt-demo.png")


@dataclass(frozen=True)
class NodeView:
    """How lnopt sees the demo node after its history: the snapshot and each recommendation."""

    snapshot: NodeSnapshot
    recommendations: tuple[Recommendation, ...]

    def table(self) -> str:
        return score_table(
            self.snapshot,
            [r.score for r in self.recommendations],
            [r.decision for r in self.recommendations],
        )

    def as_json(self) -> list[dict[str, Any]]:
        return [
            recommendation_json(r) | {"parts": score_json(r.score)["parts"]}
            for r in self.recommendations
        ]


def node_view(params: DemoParams, config: Config) -> NodeView:
    """Run the first seed's payments with median fees, then score and decide in shadow mode."""
    seed = params.seeds[0]
    compare_params = CompareParams(
        nodes=params.nodes, seeds=(seed,), days=params.days, payments=params.payments
    )
    world = world_for(compare_params, seed)
    with tempfile.TemporaryDirectory(prefix="lnopt-demo-") as scratch:
        context = PolicyContext(
            median_policy=world.median, seed=seed, workdir=Path(scratch), config=config
        )
        simulation = Simulation(world, make_policy(HISTORY_POLICY, context), compare_params.sim)
        simulation.run()
        backend = simulation.backend
        store = Store(Path(scratch) / "lnopt.sqlite3")
        try:
            optimizer = Optimizer(backend, store, config, mode=Mode.SHADOW, clock=backend.clock)
            optimizer.backfill()
            return NodeView(optimizer.snapshot(), optimizer.recommend())
        finally:
            store.close()


def run(params: DemoParams, *, as_json_output: bool, out: Callable[[str], None] = print) -> int:
    config = default_config()
    view = node_view(params, config)
    if not as_json_output:
        out(
            f"Our node {view.snapshot.node_id[:16]}… after {params.days:g} days of payments with "
            f"network-median fees (seed {params.seeds[0]}): {len(view.snapshot.channels)} "
            "channels, as lnopt sees them (shadow mode: nothing is changed).\n"
        )
        out(view.table())
        out("")
    comparison = run_demo(
        seeds=params.seeds,
        nodes=params.nodes,
        days=params.days,
        payments=params.payments,
        workers=params.workers,
        plot_path=params.plot_path,
        out=(lambda _: None) if as_json_output else out,
    )
    if as_json_output:
        document = {"node": view.snapshot.node_id, "channels": view.as_json()}
        out(json.dumps(document | {"comparison": as_json(comparison)}, indent=2))
    return 0
