"""Each baseline at its best: its operator's free setting searched on a grid, on tuning seeds.

A tool's main setting (a fee level, a range, a target) is its operator's choice; to meet each
tool at its best, every point of its grid (:data:`GRIDS`) runs on every tuning seed, all on
the same payments (a :func:`~lnopt.sim.compare.compare` run), and the point with the highest
geometric mean of income over the seeds wins (the income floored at
:data:`~lnopt.sim.stats.FLOOR_MSAT`, as the paired statistics floor it; of equal points, the
tool's defaults, as a setting that changes nothing is best left as shipped, else the first).
Each point is also set against the tool's defaults seed by seed
(:func:`~lnopt.sim.stats.paired_ratio`).

The winners are kept in :mod:`lnopt.sim.baselines.tuned` (:func:`tuned_module` writes it),
which registers them as ``NAME-tuned``. Tune on seeds 1-20 and report on others.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lnopt.errors import ConfigError
from lnopt.sim.baselines.settings import spec_name
from lnopt.sim.compare import CompareParams, Comparison, compare
from lnopt.sim.policies import resolve_policy, settings_of
from lnopt.sim.stats import FLOOR_MSAT, PairedRatio, Row, paired_ratio

Settings = Mapping[str, str]  # setting name -> value as written in a policy name


def _each(key: str, values: Sequence[int]) -> tuple[Settings, ...]:
    return tuple({key: str(value)} for value in values)


# Grids double the setting from step to step around its default (the network's median fee is
# about 100 ppm on the generated network and on the 2025 snapshot).
GRIDS: dict[str, tuple[Settings, ...]] = {
    "static": _each("fee_ppm", (50, 100, 200, 400, 800, 1600)),
    "feeadjuster": tuple(
        {"fee_ppm": str(ppm), "adjustment_method": method}
        for ppm in (100, 200, 400, 800)
        for method in ("soft", "default", "hard")
    ),
    "charge-lnd": tuple(
        {"min_fee_ppm": str(low), "max_fee_ppm": str(3 * low)} for low in (50, 100, 200, 400, 800)
    ),
    "lndg": _each("start_fee_ppm", (50, 100, 200, 400, 800, 1600)),
    "lndmanage": _each("target_sat_per_week", (25_000, 50_000, 100_000, 200_000, 400_000)),
}


@dataclass(frozen=True)
class TuneParams:
    policies: tuple[str, ...] = tuple(GRIDS)
    seeds: tuple[int, ...] = tuple(range(1, 21))
    payments: int = 3_000
    days: float = 7.0
    nodes: int = 3000
    graph: Path | None = None
    workers: int = 1
    grids: Mapping[str, tuple[Settings, ...]] = field(default_factory=lambda: GRIDS)


@dataclass(frozen=True)
class GridPoint:
    settings: Settings
    name: str  # the policy name it ran under (the bare tool name for its defaults)
    geometric_mean_msat: float  # exp(mean ln(income + floor)) - floor, over the seeds
    versus_default: PairedRatio


@dataclass(frozen=True)
class Tuning:
    policy: str
    points: tuple[GridPoint, ...]
    best: GridPoint


def run_name(policy: str, settings: Settings) -> str:
    """The name a grid point runs under: the bare name where the settings are the defaults."""
    if settings_of(spec_name(policy, settings)) == settings_of(policy):
        return policy
    return spec_name(policy, settings)


def check_tunable(policies: Sequence[str], grids: Mapping[str, tuple[Settings, ...]]) -> None:
    for policy in policies:
        if policy not in grids:
            raise ConfigError(
                f"policy {policy!r} has no tuning grid; tunable: {', '.join(sorted(grids))}"
            )
        for settings in grids[policy]:
            resolve_policy(spec_name(policy, settings))


def tune(params: TuneParams, *, progress: Callable[[str], None] | None = None) -> list[Tuning]:
    """Run every grid point of every policy on every seed and pick each policy's best."""
    check_tunable(params.policies, params.grids)
    names: dict[str, list[tuple[Settings, str]]] = {
        policy: [(settings, run_name(policy, settings)) for settings in params.grids[policy]]
        for policy in params.policies
    }
    runs = list(dict.fromkeys([*params.policies, *(n for p in names.values() for _, n in p)]))
    comparison = compare(
        CompareParams(
            graph=params.graph,
            nodes=params.nodes,
            seeds=params.seeds,
            days=params.days,
            payments=params.payments,
            policies=tuple(runs),
            workers=params.workers,
        ),
        progress=progress,
    )
    return [_pick(policy, names[policy], comparison) for policy in params.policies]


def _incomes(comparison: Comparison, name: str) -> dict[Row, int]:
    return {run.row: run.net_income_msat for run in comparison.of(name)}


def _pick(policy: str, points: list[tuple[Settings, str]], comparison: Comparison) -> Tuning:
    default = _incomes(comparison, policy)
    graded = []
    for settings, name in points:
        incomes = _incomes(comparison, name)
        logs = [math.log(income + FLOOR_MSAT) for income in incomes.values()]
        ratio = paired_ratio(name, policy, incomes, default)
        if ratio is None or not logs:
            raise ValueError(f"{name} ran on no seed")
        mean_income = math.exp(sum(logs) / len(logs)) - FLOOR_MSAT
        graded.append(GridPoint(settings, name, mean_income, ratio))
    top = max(point.geometric_mean_msat for point in graded)
    tied = [point for point in graded if point.geometric_mean_msat == top]
    # of equals, the defaults (a setting that changes nothing is left as shipped), else the first
    best = next((point for point in tied if point.name == policy), tied[0])
    return Tuning(policy=policy, points=tuple(graded), best=best)


def tuned_module(tunings: Sequence[Tuning], *, command: str, date: str) -> str:
    """The text of :mod:`lnopt.sim.baselines.tuned` holding these winners."""
    entries = []
    for tuning in tunings:
        values = ", ".join(f'"{key}": "{value}"' for key, value in tuning.best.settings.items())
        entries.append(f'    "{tuning.policy}": {{{values}}},')
    lines = textwrap.wrap(command, width=88, break_on_hyphens=False)
    quoted = "\n".join(
        f'    "{line}{" " if n < len(lines) - 1 else ""}"' for n, line in enumerate(lines)
    )
    return TUNED_TEMPLATE.format(command=quoted, date=date, entries="\n".join(entries))


TUNED_TEMPLATE = '''\
"""The baselines at the settings ``sim tune`` found best, registered as ``NAME-tuned``.

Each tool's main setting is its operator's choice; these are the points of its grid
(:data:`lnopt.sim.tuning.GRIDS`) with the highest geometric mean of income on the tuning seeds,
found by :data:`COMMAND` on :data:`DATE` (written by its ``--write``). Re-run it when the
simulator changes, and report the tuned tools on other seeds.
"""

from __future__ import annotations

from lnopt.sim.baselines.settings import register_tuned

COMMAND = (
{command}
)
DATE = "{date}"

TUNED: dict[str, dict[str, str]] = {{
{entries}
}}

for _policy, _settings in TUNED.items():
    register_tuned(_policy, _settings)
'''
