"""``python -m lnopt sim compare`` and the demo.

:func:`add_commands` registers ``sim compare``, ``sim demo``, ``sim tune``
(:mod:`lnopt.sim.tune_command`) and ``sim node`` (:mod:`lnopt.sim.node_command`) on the main
parser's subcommands. The top-level ``demo`` command can reuse :func:`add_demo_arguments` and
:func:`demo_main` (or call :func:`run_demo` directly).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from lnopt.config import load_config
from lnopt.sim.compare import DEFAULT_POLICIES, CompareParams, Comparison, compare
from lnopt.sim.node_command import add_node_command
from lnopt.sim.plot import plot
from lnopt.sim.policies import check_policies
from lnopt.sim.report import as_json, table
from lnopt.sim.scenario import Scenario, load_scenario
from lnopt.sim.stats import parse_seeds
from lnopt.sim.tune_command import add_tune_command

# The demo runs several small seeds rather than one large one, so that it can show lnopt's
# income against each policy with its interval inside two minutes on two cores.
DEMO_NODES = 600
DEMO_DAYS = 7.0
DEMO_PAYMENTS = 2_000
DEMO_SEEDS = parse_seeds("6")
DEMO_WORKERS = 2
DEMO_EXPLAINED = 5


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sim = subparsers.add_parser(
        "sim",
        help="simulate fee policies on a Lightning-like network",
        description="Simulate our node under different fee policies on the same payments.",
    )
    commands = sim.add_subparsers(dest="sim_command", required=True)
    compare_parser = commands.add_parser(
        "compare",
        help="compare lnopt with the fee tools operators use today",
        description="Run every policy on the same payment stream of each seed and print each "
        "figure as mean ± spread over the seeds, then lnopt's income against each policy's, "
        "paired seed by seed: geometric mean, 95%% bootstrap interval and seeds won.",
    )
    compare_parser.add_argument("--graph", type=Path, help="listchannels file (default: generated)")
    compare_parser.add_argument("--nodes", type=int, default=3000, help="generated network size")
    compare_parser.add_argument(
        "--days", type=float, help="scored days (default: the scenario's, 30)"
    )
    compare_parser.add_argument(
        "--seeds",
        type=_seeds,
        default=parse_seeds("5"),
        help="K (seeds 1 to K) or a range A-B such as 101-140",
    )
    compare_parser.add_argument(
        "--streams",
        type=_streams,
        default=1,
        help="payment streams per world seed; stream k of seed s is drawn from s + 1,000,000 k",
    )
    compare_parser.add_argument(
        "--payments", type=int, help="payments per stream (default: the scenario's, 60,000)"
    )
    compare_parser.add_argument(
        "--scenario",
        type=Path,
        help="YAML file setting the world, demand, competitors, liquidity, warm-up and "
        "simulation parameters (see contrib/scenario.example.yaml)",
    )
    compare_parser.add_argument(
        "--policies", nargs="+", default=list(DEFAULT_POLICIES), help="policies to compare"
    )
    compare_parser.add_argument(
        "--hindsight", action="store_true", help="also search the best constant fee per channel"
    )
    compare_parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel")
    compare_parser.add_argument("--config", type=Path, help="lnopt configuration (YAML)")
    compare_parser.add_argument("--json", action="store_true", help="print JSON")
    compare_parser.add_argument("--plot", type=Path, help="write a PNG of income and liquidity")
    compare_parser.set_defaults(handler=compare_main)
    demo = commands.add_parser(
        "demo", help="a short comparison on a generated network, with explanations and a picture"
    )
    add_demo_arguments(demo)
    demo.set_defaults(handler=demo_main)
    add_tune_command(commands, seeds=_seeds, progress=_stderr)
    add_node_command(commands, seeds=_seeds, progress=_stderr)


def compare_main(args: argparse.Namespace) -> int:
    check_policies(args.policies)
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    world = scenario.world
    params = CompareParams(
        graph=args.graph,
        nodes=args.nodes,
        seeds=args.seeds,
        streams=args.streams,
        days=world.days if args.days is None else args.days,
        payments=world.payments if args.payments is None else args.payments,
        policies=tuple(args.policies),
        hindsight=args.hindsight,
        workers=args.workers,
        demand=world.demand,
        sim=scenario.sim,
        warmup=scenario.warmup,
        world=world,
    )
    config = load_config(args.config) if args.config else None
    progress = None if args.json else _stderr
    comparison = compare(params, config=config, progress=progress)
    if args.json:
        print(json.dumps(as_json(comparison), indent=2))
    else:
        print(table(comparison))
    if args.plot:
        plot(comparison, args.plot)
        if not args.json:
            print(f"\npicture: {args.plot}")
    return 0


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plot", type=Path, default=Path("lnopt-demo.png"), help="PNG to write")
    parser.add_argument(
        "--seeds", type=_seeds, default=DEMO_SEEDS, help="K (seeds 1 to K) or a range A-B"
    )
    parser.add_argument("--nodes", type=int, default=DEMO_NODES, help="network size")
    parser.add_argument("--days", type=float, default=DEMO_DAYS, help="simulated days")
    parser.add_argument("--payments", type=int, default=DEMO_PAYMENTS, help="payments per seed")
    parser.add_argument("--workers", type=int, default=DEMO_WORKERS, help="seeds run in parallel")


def demo_main(args: argparse.Namespace) -> int:
    run_demo(
        seeds=args.seeds,
        nodes=args.nodes,
        days=args.days,
        payments=args.payments,
        workers=args.workers,
        plot_path=args.plot,
    )
    return 0


def run_demo(
    *,
    seeds: tuple[int, ...] = DEMO_SEEDS,
    nodes: int = DEMO_NODES,
    days: float = DEMO_DAYS,
    payments: int = DEMO_PAYMENTS,
    workers: int = DEMO_WORKERS,
    plot_path: Path | None = Path("lnopt-demo.png"),
    out: Callable[[str], None] = print,
) -> Comparison:
    """A short comparison on a generated network: table, lnopt's first reasons, picture."""
    params = CompareParams(
        nodes=nodes,
        seeds=seeds,
        days=days,
        payments=payments,
        policies=DEFAULT_POLICIES,
        workers=workers,
    )
    out(
        f"Simulating {payments:,} payments over {days:g} days on {len(seeds)} generated "
        f"{nodes}-node networks (seeds {seeds[0]}-{seeds[-1]}), once per policy "
        f"({', '.join(DEFAULT_POLICIES)}), every policy on the same payments..."
    )
    comparison = compare(params, progress=_stderr)
    out("")
    out(table(comparison))
    lnopt_runs = comparison.of("lnopt")
    if lnopt_runs and lnopt_runs[0].explanations:
        out("")
        out("Why lnopt changed fees, its first decisions:")
        for line in lnopt_runs[0].explanations[:DEMO_EXPLAINED]:
            out(f"  - {line}")
    if plot_path is not None:
        plot(comparison, plot_path)
        out("")
        out(f"Picture: {plot_path}")
    return comparison


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _streams(text: str) -> int:
    try:
        streams = int(text)
    except ValueError:
        streams = 0
    if streams < 1:
        raise argparse.ArgumentTypeError(f"streams {text!r}: give a whole number of 1 or more")
    return streams


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
