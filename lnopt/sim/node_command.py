"""``python -m lnopt sim node``: the comparison on the operator's own node.

The world is the node's own gossip and channels (:mod:`lnopt.sim.own_node`) and a demand
calibrated to the forwards it recorded (:mod:`lnopt.sim.calibration`); every policy then runs
on the same payments of each seed, as ``sim compare`` runs them, and the answer gives the
paired verdicts with their intervals and how well the calibrated demand reproduces the record.
The plugin's ``lnopt-simulate`` runs this command in the background on the node's answers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lnopt.config import Config, load_config
from lnopt.errors import InvalidRequest
from lnopt.sim.calibration import Calibration, Fit, Traffic, calibrate, recorded_traffic
from lnopt.sim.compare import DEFAULT_POLICIES, CompareParams, Comparison, compare
from lnopt.sim.own_node import RecordedNode, our_node, read_recorded_node
from lnopt.sim.policies import check_policies
from lnopt.sim.report import as_json, table
from lnopt.sim.scenario import Scenario
from lnopt.sim.warmup import WarmupParams


@dataclass(frozen=True)
class NodeSimulationParams:
    seeds: tuple[int, ...] = (1, 2, 3)
    days: float = 30.0  # scored days, fewer when they need over max_payments payments
    max_payments: int = 20_000
    pilot_payments: int = 10_000
    recorded_days: float = 30.0
    policies: tuple[str, ...] = DEFAULT_POLICIES
    workers: int = 1


@dataclass(frozen=True)
class NodeSimulation:
    calibration: Calibration
    comparison: Comparison


def simulate_node(
    recorded: RecordedNode,
    params: NodeSimulationParams,
    *,
    config: Config | None = None,
    progress: Callable[[str], None] | None = None,
) -> NodeSimulation:
    """Calibrate the demand to ``recorded``, then compare the policies on that world."""
    check_policies(params.policies)
    if params.pilot_payments < 1 or params.max_payments < 1:
        raise InvalidRequest("pilot and maximum payments must be 1 or more")
    scenario = Scenario()
    our = our_node(recorded)
    traffic = recorded_traffic(recorded.forwards, days=params.recorded_days)
    pilot_world = replace(scenario.world, seed=params.seeds[0], payments=params.pilot_payments)
    if progress is not None:
        progress(f"calibrating the demand to {traffic.forwards} recorded forwards")
    calibration = calibrate(our, traffic, world=pilot_world, sim=scenario.sim, seeds=params.seeds)
    world = calibration.world(scenario.world, days=params.days, max_payments=params.max_payments)
    compared = CompareParams(
        node=our,
        seeds=params.seeds,
        days=world.days,
        payments=world.payments,
        policies=params.policies,
        workers=params.workers,
        demand=world.demand,
        sim=scenario.sim,
        warmup=WarmupParams(days=min(scenario.warmup.days, world.days)),
        world=world,
    )
    return NodeSimulation(calibration, compare(compared, config=config, progress=progress))


def add_node_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    seeds: Callable[[str], tuple[int, ...]],
    progress: Callable[[str], None],
) -> None:
    """Register ``node``, reading ``--seeds`` with ``seeds`` and reporting runs to ``progress``."""
    defaults = NodeSimulationParams()
    parser = commands.add_parser(
        "node",
        help="compare the fee tools on your own node, its demand calibrated to its forwards",
        description="Build the world from your node's gossip and channels, calibrate the "
        "demand so that at your fees the simulated node forwards what yours recorded, and "
        "compare lnopt with the other tools there, paired seed by seed. The files are the "
        "JSON that lightning-cli listchannels, listpeerchannels and listforwards print.",
    )
    parser.add_argument("--listchannels", type=Path, required=True, help="listchannels file")
    parser.add_argument(
        "--listpeerchannels", type=Path, required=True, help="listpeerchannels file"
    )
    parser.add_argument("--listforwards", type=Path, required=True, help="listforwards file")
    parser.add_argument("--node-id", help="your node's id (default: read from the gossip)")
    parser.add_argument(
        "--recorded-days",
        type=float,
        default=defaults.recorded_days,
        help="the recorded forwards' window calibrated to: the last N days of them",
    )
    parser.add_argument("--days", type=float, default=defaults.days, help="scored days")
    parser.add_argument(
        "--max-payments",
        type=int,
        default=defaults.max_payments,
        help="most payments a seed runs; fewer days are scored when the days need more",
    )
    parser.add_argument(
        "--pilot-payments",
        type=int,
        default=defaults.pilot_payments,
        help="payments of each calibration run",
    )
    parser.add_argument(
        "--seeds", type=seeds, default=defaults.seeds, help="K (seeds 1 to K) or a range A-B"
    )
    parser.add_argument(
        "--policies", nargs="+", default=list(defaults.policies), help="policies to compare"
    )
    parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel")
    parser.add_argument("--config", type=Path, help="lnopt configuration (YAML)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--output",
        type=Path,
        help="also write the JSON answer to this file (whole, once done); progress goes to "
        "standard error",
    )
    parser.set_defaults(handler=node_main, progress=progress)


def node_main(args: argparse.Namespace) -> int:
    recorded = read_recorded_node(
        listchannels=args.listchannels,
        listpeerchannels=args.listpeerchannels,
        listforwards=args.listforwards,
        node_id=args.node_id,
    )
    params = NodeSimulationParams(
        seeds=args.seeds,
        days=args.days,
        max_payments=args.max_payments,
        pilot_payments=args.pilot_payments,
        recorded_days=args.recorded_days,
        policies=tuple(args.policies),
        workers=args.workers,
    )
    config = load_config(args.config) if args.config else None
    quiet = args.json and args.output is None
    found = simulate_node(
        recorded, params, config=config, progress=None if quiet else args.progress
    )
    answer = json.dumps(node_json(found), indent=2)
    if args.output is not None:
        partial = args.output.with_name(args.output.name + ".partial")
        partial.write_text(answer)
        partial.replace(args.output)
    if args.json:
        print(answer)
    else:
        print(fit_text(found.calibration))
        print()
        print(table(found.comparison))
    return 0


def node_json(found: NodeSimulation) -> dict[str, Any]:
    calibration = found.calibration
    return as_json(found.comparison) | {
        "calibration": {
            "median_amount_sat": calibration.median_amount_sat,
            "payments_per_day": round(calibration.payments_per_day, 1),
            "recorded": _traffic_json(calibration.fit.recorded),
            "simulated": _traffic_json(calibration.fit.simulated),
            "channel_rank_correlation": _rounded(calibration.fit.channel_rank_correlation),
            "forwards_per_day_by_seed": [
                round(f, 2) for f in calibration.fit.forwards_per_day_by_seed
            ],
        }
    }


def fit_text(calibration: Calibration) -> str:
    """How well the calibrated demand reproduces the record, in lines an operator reads."""
    fit: Fit = calibration.fit
    real, sim = fit.recorded, fit.simulated
    rho = fit.channel_rank_correlation
    agreement = "cannot be told" if rho is None else f"{rho:.2f}"
    return "\n".join(
        [
            f"Demand calibrated to {real.forwards} forwards over {real.days:.1f} days: "
            f"{calibration.payments_per_day:,.0f} payments a day across the network, median "
            f"{calibration.median_amount_sat:,} sat.",
            "                      recorded   simulated",
            f"forwards a day      {real.forwards_per_day:10.1f}  {sim.forwards_per_day:10.1f}",
            f"median amount, sat  {real.median_amount_msat // 1000:10,}  "
            f"{sim.median_amount_msat // 1000:10,}",
            f"fees a day, sat     {real.fees_msat_per_day // 1000:10,}  "
            f"{sim.fees_msat_per_day // 1000:10,}",
            "simulated forwards a day by seed (the demand's shape drawn anew): "
            + ", ".join(f"{f:.1f}" for f in fit.forwards_per_day_by_seed),
            f"Rank correlation of forwards out per channel, recorded and simulated: {agreement} "
            "(1: the same channels busiest).",
        ]
    )


def _traffic_json(traffic: Traffic) -> dict[str, Any]:
    return {
        "days": round(traffic.days, 2),
        "forwards": traffic.forwards,
        "forwards_per_day": round(traffic.forwards_per_day, 2),
        "median_amount_msat": traffic.median_amount_msat,
        "fees_msat_per_day": traffic.fees_msat_per_day,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
