"""``python -m lnopt sim tune``: search each baseline's free setting on the tuning seeds.

Prints each grid point's geometric mean income and its paired ratio to the tool's defaults,
the winner marked; ``--write FILE`` writes the winners as :mod:`lnopt.sim.baselines.tuned`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lnopt.errors import ConfigError
from lnopt.sim.tuning import GRIDS, TuneParams, Tuning, check_tunable, tune, tuned_module

DEFAULTS = TuneParams()
TUNED_PATH = "lnopt/sim/baselines/tuned.py"


def add_tune_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    seeds: Callable[[str], tuple[int, ...]],
    progress: Callable[[str], None],
) -> None:
    """Register ``tune``, reading ``--seeds`` with ``seeds`` and reporting runs to ``progress``."""
    parser = commands.add_parser(
        "tune",
        help="tune each baseline's free setting on the tuning seeds",
        description="Run every point of each tool's grid on the same payments of every seed "
        "and pick the one with the highest geometric mean of income. Tune on seeds 1-20; "
        "report the tuned tools (NAME-tuned) on other seeds.",
    )
    parser.add_argument(
        "--policy",
        nargs="+",
        default=list(DEFAULTS.policies),
        help=f"tools to tune (default: all of {', '.join(GRIDS)})",
    )
    parser.add_argument(
        "--seeds", type=seeds, default=DEFAULTS.seeds, help="K (seeds 1 to K) or a range A-B"
    )
    parser.add_argument("--payments", type=int, default=DEFAULTS.payments, help="payments per seed")
    parser.add_argument("--days", type=float, default=DEFAULTS.days, help="simulated days")
    parser.add_argument("--nodes", type=int, default=DEFAULTS.nodes, help="generated network size")
    parser.add_argument("--graph", type=Path, help="listchannels file (default: generated)")
    parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--write",
        type=Path,
        help="write the winners as the tuned module (lnopt/sim/baselines/tuned.py); needs "
        "every tool",
    )
    parser.set_defaults(handler=tune_main, progress=progress)


def tune_main(args: argparse.Namespace) -> int:
    params = TuneParams(
        policies=tuple(args.policy),
        seeds=args.seeds,
        payments=args.payments,
        days=args.days,
        nodes=args.nodes,
        graph=args.graph,
        workers=args.workers,
    )
    check_tunable(params.policies, params.grids)
    if args.write and set(params.policies) != set(GRIDS):
        raise ConfigError(
            f"--write writes every tool's setting; tune all of them: {', '.join(GRIDS)}"
        )
    started = time.monotonic()
    tunings = tune(params, progress=None if args.json else args.progress)
    elapsed_s = time.monotonic() - started
    if args.json:
        print(json.dumps(as_json(params, tunings, elapsed_s), indent=2))
    else:
        print(table(params, tunings, elapsed_s))
    if args.write:
        command = shlex.join(command_line(params))
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        args.write.write_text(tuned_module(tunings, command=command, date=today))
        if not args.json:
            print(f"\nwritten: {args.write}")
    return 0


def command_line(params: TuneParams) -> list[str]:
    """The command that runs this tuning, for the written module."""
    seeds = params.seeds
    words = ["python", "-m", "lnopt", "sim", "tune", "--seeds", f"{seeds[0]}-{seeds[-1]}"]
    if seeds != tuple(range(seeds[0], seeds[-1] + 1)):
        raise ConfigError("--write needs a contiguous range of seeds")
    words += ["--payments", str(params.payments), "--days", f"{params.days:g}"]
    words += ["--graph", str(params.graph)] if params.graph else ["--nodes", str(params.nodes)]
    return [*words, "--workers", str(params.workers), "--write", TUNED_PATH]


def table(params: TuneParams, tunings: list[Tuning], elapsed_s: float) -> str:
    lines = []
    for tuning in tunings:
        lines.append(f"{tuning.policy}: income (geometric mean over seeds) and against defaults")
        for point in tuning.points:
            ratio = point.versus_default
            mark = "*" if point is tuning.best else " "
            lines.append(
                f" {mark} {point.name:<60} {point.geometric_mean_msat / 1000:>10.1f} sat   "
                f"x{ratio.geometric_mean:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]   "
                f"won {ratio.wins}, lost {ratio.losses}"
            )
        lines.append(f"   {tuning.policy}-tuned: {_settings_text(tuning)}")
        lines.append("")
    seeds = params.seeds
    lines.append(
        f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]}), {params.payments:,} payments over "
        f"{params.days:g} days on "
        + (str(params.graph) if params.graph else f"a generated {params.nodes}-node network")
        + f"; {elapsed_s:.0f} s"
    )
    return "\n".join(lines)


def as_json(params: TuneParams, tunings: list[Tuning], elapsed_s: float) -> dict[str, Any]:
    return {
        "params": {
            "seeds": list(params.seeds),
            "payments": params.payments,
            "days": params.days,
            "nodes": params.nodes,
            "graph": str(params.graph) if params.graph else None,
            "workers": params.workers,
        },
        "elapsed_s": round(elapsed_s, 1),
        "policies": {
            tuning.policy: {
                "best": dict(tuning.best.settings),
                "points": [
                    {
                        "settings": dict(point.settings),
                        "name": point.name,
                        "geometric_mean_msat": round(point.geometric_mean_msat),
                        "versus_default": {
                            "geometric_mean": point.versus_default.geometric_mean,
                            "low": point.versus_default.low,
                            "high": point.versus_default.high,
                            "wins": point.versus_default.wins,
                            "losses": point.versus_default.losses,
                            "log_ratios": list(point.versus_default.log_ratios),
                        },
                    }
                    for point in tuning.points
                ],
            }
            for tuning in tunings
        },
    }


def _settings_text(tuning: Tuning) -> str:
    return ", ".join(f"{key}={value}" for key, value in tuning.best.settings.items())
