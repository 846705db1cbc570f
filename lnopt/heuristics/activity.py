"""Activity: whether the channel forwards, and whether it earns for the capacity it ties up.

Daily rates are blended over the three windows (1 day 20%, 7 days 30%, 30 days 50%), each
divided by the days the channel has actually been open within it. Three parts make the score:

- usage (30%): capacity turned over in 30 days (0.5 at half the capacity) and forwards a day
  (0.5 at one a day), averaged;
- earnings (50%): fees earned a year per sat of capacity (0.5 at 0.1%);
- success (20%): share of forwards out through the channel that settled (left out, and the
  other two re-weighted, when nothing went out).

With no forwarding event at all there is no evidence: neutral score, low confidence. The
confidence grows with the number of events seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lnopt.heuristics.base import (
    BLOCKS_PER_DAY,
    HeuristicContext,
    age_blocks,
    format_sat,
    no_data,
    register,
    saturate,
)
from lnopt.model import HeuristicScore, WindowActivity

NAME = "activity"
WINDOW_WEIGHTS = {1: 0.2, 7: 0.3, 30: 0.5}
USAGE_WEIGHT = 0.3
EARNINGS_WEIGHT = 0.5
SUCCESS_WEIGHT = 0.2
HALF_TURNOVER_30D = 0.5
HALF_FORWARDS_PER_DAY = 1.0
HALF_YIELD_PPM_PER_YEAR = 1_000
MIN_CONFIDENCE = 0.2
CONFIDENCE_RANGE = 0.75
EVENTS_SCALE = 20


def _events(window: WindowActivity) -> int:
    return window.settled + window.failed + window.local_failed


@register(NAME)
def activity(ctx: HeuristicContext) -> HeuristicScore:
    windows = ctx.activity.windows
    events = max(_events(window) for window in windows)
    if events == 0:
        return no_data(
            NAME,
            "no forward recorded in 30 days: no evidence yet, neutral score",
            {"events_30d": 0},
        )
    blocks = age_blocks(ctx.snapshot, ctx.channel)
    open_days = None if blocks is None else max(1.0, blocks / BLOCKS_PER_DAY)

    def daily(value: Callable[[WindowActivity], int]) -> float:
        total = 0.0
        for window in windows:
            covered = window.days if open_days is None else min(window.days, open_days)
            total += WINDOW_WEIGHTS.get(window.days, 0.0) * value(window) / max(1.0, covered)
        return total

    capacity_msat = max(1, ctx.channel.capacity_msat)
    volume_per_day_msat = daily(lambda w: w.volume_in_msat + w.volume_out_msat)
    forwards_per_day = daily(lambda w: w.settled)
    fees_per_day_msat = daily(lambda w: w.fees_earned_msat)
    turnover_30d = volume_per_day_msat * 30 / capacity_msat
    yield_ppm_per_year = fees_per_day_msat * 365 * 1_000_000 / capacity_msat
    usage = (
        saturate(turnover_30d, HALF_TURNOVER_30D)
        + saturate(forwards_per_day, HALF_FORWARDS_PER_DAY)
    ) / 2
    earnings = saturate(yield_ppm_per_year, HALF_YIELD_PPM_PER_YEAR)
    month = ctx.activity.last_30d
    success = month.forwards_out / month.attempts_out if month.attempts_out else None
    if success is None:
        score = (USAGE_WEIGHT * usage + EARNINGS_WEIGHT * earnings) / (
            USAGE_WEIGHT + EARNINGS_WEIGHT
        )
        success_text = "nothing attempted out"
    else:
        score = USAGE_WEIGHT * usage + EARNINGS_WEIGHT * earnings + SUCCESS_WEIGHT * success
        success_text = f"{success:.0%} of {month.attempts_out} attempts out settled"
    if score >= 0.6:
        verdict = "busy and earning"
    elif score >= 0.3:
        verdict = "some use"
    else:
        verdict = "little use"
    confidence = MIN_CONFIDENCE + CONFIDENCE_RANGE * (1 - math.exp(-events / EVENTS_SCALE))
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=confidence,
        raw={
            "events_30d": events,
            "forwards_in_30d": month.forwards_in,
            "forwards_out_30d": month.forwards_out,
            "volume_30d_msat": month.volume_in_msat + month.volume_out_msat,
            "fees_earned_30d_msat": month.fees_earned_msat,
            "forwards_7d": ctx.activity.last_7d.settled,
            "forwards_1d": ctx.activity.last_1d.settled,
            "forwards_per_day": forwards_per_day,
            "turnover_30d": turnover_30d,
            "yield_ppm_per_year": yield_ppm_per_year,
            "success_rate_30d": success,
            "open_days": open_days,
        },
        explanation=(
            f"30d: {month.settled} forwards, "
            f"{format_sat(month.volume_in_msat + month.volume_out_msat)} moved "
            f"({turnover_30d:.1f}x capacity a month), {format_sat(month.fees_earned_msat)} earned "
            f"({yield_ppm_per_year / 10_000:.2f}%/yr of capacity), {success_text}: {verdict}"
        ),
    )
