"""Age: how mature the channel is, from its funding block height (144 blocks a day).

The score grows with the logarithm of the age in days and reaches 1 at one year: the first
weeks count most, a channel a year old or more is fully mature.
"""

from __future__ import annotations

from lnopt.heuristics.base import (
    BLOCKS_PER_DAY,
    HeuristicContext,
    age_blocks,
    log_scale,
    no_data,
    register,
)
from lnopt.model import HeuristicScore

NAME = "age"
MATURE_DAYS = 365
CONFIDENCE = 0.95
# The funding block lies above the snapshot's height: the node's view of the chain lags.
LAGGING_CONFIDENCE = 0.5


@register(NAME)
def age(ctx: HeuristicContext) -> HeuristicScore:
    blocks = age_blocks(ctx.snapshot, ctx.channel)
    if blocks is None:
        return no_data(
            NAME,
            f"short channel id {ctx.channel.short_channel_id!r} encodes no funding height: "
            "age unknown, neutral score",
            {"short_channel_id": ctx.channel.short_channel_id},
        )
    days = max(0, blocks) / BLOCKS_PER_DAY
    score = log_scale(days, MATURE_DAYS)
    if days < 30:
        verdict = "young"
    elif days < 180:
        verdict = "established"
    else:
        verdict = "mature"
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=CONFIDENCE if blocks >= 0 else LAGGING_CONFIDENCE,
        raw={
            "funding_height": ctx.channel.funding_height,
            "block_height": ctx.snapshot.block_height,
            "age_blocks": blocks,
            "age_days": days,
        },
        explanation=(
            f"funded at block {ctx.channel.funding_height}, {blocks:,} blocks "
            f"({days:.0f} days) ago: {verdict}"
        ),
    )
