"""Demand calibrated to the forwards an operator's node recorded.

The simulator's demand (:mod:`lnopt.sim.demand`) has a shape (who pays whom, drawn from the
world's seed) and a scale (amounts, payments a day). For an operator's own node the scale is
set so that, at the node's fees as they are and with no fee tool acting, the simulated node
forwards what the real one did over the recorded window (the last ``recorded_days`` days of
its settled forwards):

The shape of the demand (which nodes pay and are paid most) is not known for a real node and
changes with the seed, and with it how much of the network's traffic crosses the node: the
scale is calibrated on the compared seeds together, so that each seed's world is one draw of
a shape and the seeds' average is the node's recorded traffic.

1. **Amounts.** A pilot run on a stream of its own, on every seed; the median payment is
   scaled by the recorded median forwarded amount over the simulated one (within
   :data:`AMOUNT_SCALE_MAX` either way).
2. **Rate.** A second pilot with those amounts gives the payments a day across the network at
   which the simulated node forwards as many payments a day as the real one did; a comparison
   then runs its days at that rate (:meth:`Calibration.world`), fewer days when the payments
   they need exceed a cap (the run time grows with the payments).
3. **Fit.** A run on a third stream of each seed's calibrated world says how well it reproduces the
   record, figure by figure (:class:`Fit`): forwards a day, the median forwarded amount, fees
   earned a day, and the rank correlation over the channels of the forwards each carried out.
   Only the first two were calibrated; the last two are honest checks.
"""

from __future__ import annotations

import math
import statistics
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from lnopt.errors import InvalidRequest
from lnopt.model import Forward, ForwardStatus
from lnopt.sim.engine import DAY_S, SimParams, Simulation
from lnopt.sim.network import OurNode
from lnopt.sim.policy import PolicyContext
from lnopt.sim.warmup import StartingFees
from lnopt.sim.world import WorldParams, world_of

AMOUNT_SCALE_MAX = 10.0
MIN_RECORDED_DAYS = 1.0
PILOT_SEED_OFFSET = 7_000_000  # the pilots' and the fit's streams, apart from any compared
MAX_DAYS = 3650.0


@dataclass(frozen=True)
class Traffic:
    """Settled forwards over a period: how many a day, how large, what they earned."""

    days: float
    forwards: int
    median_amount_msat: int
    fees_msat: int
    out_by_channel: dict[str, int]

    @property
    def forwards_per_day(self) -> float:
        return self.forwards / self.days

    @property
    def fees_msat_per_day(self) -> int:
        return round(self.fees_msat / self.days)


@dataclass(frozen=True)
class Fit:
    """The calibrated world's traffic beside the recorded one."""

    recorded: Traffic
    simulated: Traffic  # the seeds' check runs together
    channel_rank_correlation: float | None  # None when either side is the same everywhere
    forwards_per_day_by_seed: tuple[float, ...]  # how much the demand's shape moves it


@dataclass(frozen=True)
class Calibration:
    """The demand's scale (its median payment, payments a day across the network) and its fit."""

    median_amount_sat: int
    payments_per_day: float
    fit: Fit

    def world(self, world: WorldParams, *, days: float, max_payments: int) -> WorldParams:
        """``world`` at this scale over ``days`` days, or fewer if they need more than
        ``max_payments`` payments."""
        days = min(days, max_payments / self.payments_per_day)
        return replace(
            world,
            days=days,
            payments=max(1, round(self.payments_per_day * days)),
            demand=replace(world.demand, median_amount_sat=self.median_amount_sat),
        )


def recorded_traffic(forwards: Sequence[Forward], *, days: float) -> Traffic:
    """The settled forwards of the last ``days`` days before the newest one, over the period
    they cover (the first and the last are one gap inside it, where fewer than ``days`` days
    were recorded)."""
    settled = [f for f in forwards if f.status is ForwardStatus.SETTLED and f.out_msat]
    if not settled:
        raise InvalidRequest(
            "the node recorded no settled forward: the demand has nothing to be calibrated to"
        )
    end_s = max(f.received_s for f in settled)
    window = [f for f in settled if f.received_s >= end_s - days * DAY_S]
    first_s = min(f.received_s for f in window)
    # forwards arrive at random: the first and the last fall a gap inside the period
    gaps = (len(window) + 1) / max(1, len(window) - 1)
    span = (end_s - first_s) / DAY_S * gaps
    return _traffic(window, max(MIN_RECORDED_DAYS, min(days, span)))


def calibrate(
    our: OurNode,
    recorded: Traffic,
    *,
    world: WorldParams,
    sim: SimParams,
    seeds: Sequence[int],
) -> Calibration:
    """The scale at which ``our`` node forwards what it ``recorded`` (module docstring), on
    average over the demand shapes of ``seeds``."""
    first = _pilot(our, world, sim, seeds=seeds, stream=1)
    scale = recorded.median_amount_msat / first.median_amount_msat
    scale = min(AMOUNT_SCALE_MAX, max(1 / AMOUNT_SCALE_MAX, scale))
    median_sat = max(1, round(world.demand.median_amount_sat * scale))
    scaled = replace(world, demand=replace(world.demand, median_amount_sat=median_sat))
    second = _pilot(our, scaled, sim, seeds=seeds, stream=2)
    per_day = world.payments / world.days * recorded.forwards_per_day / second.forwards_per_day
    days = min(MAX_DAYS, world.payments / per_day)
    checks = [_pilot(our, replace(scaled, days=days), sim, seeds=(s,), stream=3) for s in seeds]
    check = _pooled(checks)
    return Calibration(
        median_amount_sat=median_sat,
        payments_per_day=per_day,
        fit=Fit(
            recorded,
            check,
            _rank_correlation(our, recorded, check),
            tuple(c.forwards_per_day for c in checks),
        ),
    )


def _pilot(
    our: OurNode, world: WorldParams, sim: SimParams, *, seeds: Sequence[int], stream: int
) -> Traffic:
    """The node's traffic at its own fees on pilot stream ``stream`` of each of ``seeds``'
    worlds, together."""
    runs = []
    for seed in seeds:
        params = replace(world, seed=seed, stream_seed=seed + PILOT_SEED_OFFSET * stream)
        built = world_of(our, params)
        context = PolicyContext(built.median, built.seed, Path(tempfile.gettempdir()))
        simulation = Simulation(built, StartingFees(context), sim)
        simulation.run()
        settled = [f for f in simulation.node.forwards if f.status is ForwardStatus.SETTLED]
        runs.append(_traffic(settled, params.days))
    traffic = _pooled(runs)
    if traffic.forwards == 0:
        raise InvalidRequest(
            f"no simulated payment went through the node at its fees ({world.payments} "
            "payments): its channels may be disabled, or too small for the payments; try more "
            "payments"
        )
    return traffic


def _pooled(runs: Sequence[Traffic]) -> Traffic:
    """Runs' traffic as one period (the median amount: the runs' median weighed by forwards)."""
    forwards = sum(r.forwards for r in runs)
    medians = sorted((r.median_amount_msat, r.forwards) for r in runs if r.forwards)
    median, counted = 0, 0
    for value, weight in medians:
        median, counted = value, counted + weight
        if counted * 2 >= forwards:
            break
    by_channel: Counter[str] = Counter()
    for r in runs:
        by_channel.update(r.out_by_channel)
    return Traffic(
        days=sum(r.days for r in runs),
        forwards=forwards,
        median_amount_msat=median,
        fees_msat=sum(r.fees_msat for r in runs),
        out_by_channel=dict(by_channel),
    )


def _traffic(settled: Sequence[Forward], days: float) -> Traffic:
    amounts = [f.out_msat or 0 for f in settled]
    return Traffic(
        days=days,
        forwards=len(settled),
        median_amount_msat=int(statistics.median_low(amounts)) if amounts else 0,
        fees_msat=sum(f.fee_msat or 0 for f in settled),
        out_by_channel=dict(Counter(f.out_channel or "" for f in settled)),
    )


def _rank_correlation(our: OurNode, recorded: Traffic, simulated: Traffic) -> float | None:
    scids = [ch.short_channel_id for ch in our.channels]
    real = np.array([recorded.out_by_channel.get(s, 0) for s in scids], dtype=float)
    sim = np.array([simulated.out_by_channel.get(s, 0) for s in scids], dtype=float)
    if len(scids) < 3 or real.std() == 0 or sim.std() == 0:
        return None
    rho = float(spearmanr(real, sim).statistic)
    return None if math.isnan(rho) else rho
