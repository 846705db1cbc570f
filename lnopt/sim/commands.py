"""``python -m lnopt sim compare`` and the demo.

:func:`add_commands` registers ``sim compare`` and ``sim demo`` on the main parser's
subcommands. The top-level ``demo`` command can reuse :func:`add_demo_arguments` and
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
from lnopt.sim.plot import plot
from lnopt.sim.policies import check_policies
from lnopt.sim.report import as_json, table

DEMO_NODES = 2000
DEMO_DAYS = 14.0
DEMO_PAYMENTS = 14_000
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
        "figure as mean ± spread over the seeds, with each policy's income relative to lnopt.",
    )
    compare_parser.add_argument("--graph", type=Path, help="listchannels file (default: generated)")
    compare_parser.add_argument("--nodes", type=int, default=3000, help="generated network size")
    compare_parser.add_argument("--days", type=float, default=30.0, help="simulated days")
    compare_parser.add_argument("--seeds", type=int, default=5, help="number of seeds (1..K)")
    compare_parser.add_argument("--payments", type=int, default=60_000, help="payments per seed")
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


def compare_main(args: argparse.Namespace) -> int:
    check_policies(args.policies)
    params = CompareParams(
        graph=args.graph,
        nodes=args.nodes,
        seeds=tuple(range(1, args.seeds + 1)),
        days=args.days,
        payments=args.payments,
        policies=tuple(args.policies),
        hindsight=args.hindsight,
        workers=args.workers,
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
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=DEMO_NODES)
    parser.add_argument("--days", type=float, default=DEMO_DAYS)
    parser.add_argument("--payments", type=int, default=DEMO_PAYMENTS)


def demo_main(args: argparse.Namespace) -> int:
    run_demo(
        seed=args.seed,
        nodes=args.nodes,
        days=args.days,
        payments=args.payments,
        plot_path=args.plot,
    )
    return 0


def run_demo(
    *,
    seed: int = 1,
    nodes: int = DEMO_NODES,
    days: float = DEMO_DAYS,
    payments: int = DEMO_PAYMENTS,
    plot_path: Path | None = Path("lnopt-demo.png"),
    out: Callable[[str], None] = print,
) -> Comparison:
    """A short comparison on a generated network: table, lnopt's first reasons, picture."""
    params = CompareParams(
        nodes=nodes, seeds=(seed,), days=days, payments=payments, policies=DEFAULT_POLICIES
    )
    out(
        f"Simulating {payments:,} payments over {days:g} days on a generated {nodes}-node "
        f"network, once per policy ({', '.join(DEFAULT_POLICIES)})..."
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


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
