"""The hindsight reference: the best constant fee per channel for the traffic that came.

A policy that knew the whole payment stream in advance but kept each channel's fee constant
would earn this much. It is found by search, each candidate a full simulation on the same
world (so interactions between channels and with liquidity are included):

1. every channel at each fee of :data:`GRID`; each channel keeps the fee at which *it* earned
   most (a parallel coordinate search: one run tries one fee on all channels at once);
2. around that choice, every channel at ``x`` times its fee for each ``x`` in
   :data:`REFINE`, again keeping each channel's best;
3. the chosen fees together.

A channel that earned nothing at every fee tried keeps its starting fee in the answer: with no
evidence, the search has no reason to move it (to 0 ppm, say).

The in-sample reference is the best income of all candidates on the stream searched (each is
a constant-fee policy), a lower bound of the best constant fees for that stream, and one that
knew the stream in advance. Out of sample, the fees of that best candidate are scored on
another payment stream of the same world (``score_on``): what an operator who had studied
past traffic perfectly, and then kept those fees, would have earned on traffic to come. The
out-of-sample figure is the fair bar for a policy that learns as it goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lnopt.backends.sim import SimBackend
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.metrics import RunResult
from lnopt.sim.policy import Policy, PolicyContext
from lnopt.sim.warmup_state import WarmupState
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
    income_msat: int  # in sample: on the stream the fees were searched on
    fees_ppm: Mapping[str, int]
    runs: int
    idle: frozenset[str] = frozenset()  # channels that earned nothing at every fee tried
    out_of_sample_income_msat: int | None = None  # the same fees on another stream


def hindsight(
    world: World,
    context: PolicyContext,
    params: SimParams | None = None,
    *,
    warmup: WarmupState | None = None,
    score_on: tuple[World, WarmupState | None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Hindsight:
    """Search the best constant fee per channel on ``world``'s stream (see the module
    docstring), every candidate starting from ``warmup``'s end as the policies it is compared
    with do; then score the fees found on ``score_on`` (another stream and its warm-up)."""
    runs: list[tuple[dict[str, int], RunResult]] = []

    def evaluate(fees: dict[str, int]) -> RunResult:
        result = Simulation(world, FixedFeesPolicy(context, fees), params, warmup=warmup).run()
        runs.append((fees, result))
        if progress is not None:
            earned = result.income_msat // 1000
            progress(f"hindsight seed {world.seed}: run {len(runs)} earned {earned} sat")
        return result

    starting = {ch.short_channel_id: ch.our_policy.fee_ppm for ch in world.our.channels}
    best = {scid: (0, ppm) for scid, ppm in starting.items()}  # scid -> (income, ppm)
    for ppm in GRID:
        uniform = dict.fromkeys(starting, ppm)
        _keep_best(best, evaluate(uniform), uniform)
    center = {scid: ppm for scid, (_, ppm) in best.items()}
    for factor in REFINE:
        trial = {scid: max(0, round(ppm * factor)) for scid, ppm in center.items()}
        _keep_best(best, evaluate(trial), trial)
    evaluate({scid: ppm for scid, (_, ppm) in best.items()})
    top_fees, top = max(runs, key=lambda run: run[1].income_msat)
    fees = {scid: ppm if best[scid][0] > 0 else starting[scid] for scid, ppm in top_fees.items()}
    out_of_sample = None
    if score_on is not None:
        other, other_warmup = score_on
        out_of_sample = Simulation(
            other, FixedFeesPolicy(context, fees), params, warmup=other_warmup
        ).run()
    return Hindsight(
        seed=world.seed,
        income_msat=top.income_msat,
        fees_ppm=fees,
        runs=len(runs),
        idle=frozenset(scid for scid, (income, _) in best.items() if income == 0),
        out_of_sample_income_msat=None if out_of_sample is None else out_of_sample.income_msat,
    )


def _keep_best(
    best: dict[str, tuple[int, int]], result: RunResult, fees: Mapping[str, int]
) -> None:
    """Each channel keeps the fee at which it earned most; a tie keeps the earlier fee, and a
    channel that earned nothing keeps the fee it had."""
    for scid, income in result.income_by_channel.items():
        if income > best[scid][0]:
            best[scid] = (income, fees[scid])
