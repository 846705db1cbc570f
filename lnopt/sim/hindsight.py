"""The hindsight reference: the best constant fee per channel for the traffic that came.

A policy that knew the whole payment stream in advance but kept each channel's fee constant
would earn this much. It is found by search, each candidate a full simulation on the same
world (so interactions between channels and with liquidity are included):

1. every channel at each fee of :data:`GRID`; each channel keeps the fee at which *it* earned
   most (a parallel coordinate search: one run tries one fee on all channels at once);
2. around that choice, every channel at ``x`` times its fee for each ``x`` in
   :data:`REFINE`, again keeping each channel's best;
3. the chosen fees together.

The reference is the best income of all candidates (each is a constant-fee policy), so it is
a lower bound of the true optimum; a policy can beat it by changing fees over time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lnopt.backends.sim import SimBackend
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.metrics import RunResult
from lnopt.sim.policy import Policy, PolicyContext
from lnopt.sim.warmup import WarmupState
from lnopt.sim.world import World

GRID = (0, 25, 50, 100, 200, 400, 800, 1600, 3200)
REFINE = (0.5, 0.7, 1.4, 2.0)


class FixedFeesPolicy(Policy):
    """A constant fee rate per channel (base fee: the network median), set at the start."""

    name = "hindsight"

    def __init__(self, context: PolicyContext, fees_ppm: Mapping[str, int]) -> None:
        super().__init__(context)
        self.fees_ppm = dict(fees_ppm)

    def start(self, backend: SimBackend, now_s: float) -> None:
        base = self.context.median_policy.base_fee_msat
        for channel in backend.channels():
            ppm = self.fees_ppm[channel.short_channel_id]
            backend.set_policy(
                channel.short_channel_id,
                channel.our_policy.with_fees(base_fee_msat=base, fee_ppm=ppm),
            )


@dataclass(frozen=True)
class Hindsight:
    seed: int
    income_msat: int
    fees_ppm: Mapping[str, int]
    runs: int


def hindsight(
    world: World,
    context: PolicyContext,
    params: SimParams | None = None,
    *,
    warmup: WarmupState | None = None,
    progress: Callable[[str], None] | None = None,
) -> Hindsight:
    """Search the best constant fee per channel (see the module docstring); every candidate
    starts from ``warmup``'s end, as the policies it is compared with do."""
    scids = world.topo.our_scids
    runs: list[tuple[dict[str, int], RunResult]] = []

    def evaluate(fees: dict[str, int]) -> RunResult:
        result = Simulation(world, FixedFeesPolicy(context, fees), params, warmup=warmup).run()
        runs.append((fees, result))
        if progress is not None:
            earned = result.income_msat // 1000
            progress(f"hindsight seed {world.seed}: run {len(runs)} earned {earned} sat")
        return result

    best = {scid: (-1, 0) for scid in scids}  # scid -> (income, ppm)
    for ppm in GRID:
        _keep_best(best, evaluate(dict.fromkeys(scids, ppm)), dict.fromkeys(scids, ppm))
    center = {scid: ppm for scid, (_, ppm) in best.items()}
    for factor in REFINE:
        trial = {scid: max(0, round(ppm * factor)) for scid, ppm in center.items()}
        _keep_best(best, evaluate(trial), trial)
    evaluate({scid: ppm for scid, (_, ppm) in best.items()})
    fees, top = max(runs, key=lambda run: run[1].income_msat)
    return Hindsight(seed=world.seed, income_msat=top.income_msat, fees_ppm=fees, runs=len(runs))


def _keep_best(
    best: dict[str, tuple[int, int]], result: RunResult, fees: Mapping[str, int]
) -> None:
    for scid, income in result.income_by_channel.items():
        if income > best[scid][0]:
            best[scid] = (income, fees[scid])
