"""Liquidity: how far the channel's balance is from the target local share.

The score is 1 at ``target_local_ratio`` and falls linearly to 0 at an empty or a full channel
(the distance is measured against the room on that side of the target). Below
``depleted_ratio`` or above ``saturated_ratio`` the score is halved: such a channel can barely
forward in one direction. Without a known balance (a channel read from gossip alone) or a
capacity the score is neutral with low confidence.
"""

from __future__ import annotations

from lnopt.heuristics.base import HeuristicContext, format_sat, no_data, register
from lnopt.model import ChannelState, HeuristicScore

NAME = "liquidity"
EXTREME_PENALTY = 0.5
# Balances come from our own node: exact for an active channel, less telling for one that
# cannot forward (pending, closing, inactive).
ACTIVE_CONFIDENCE = 0.95
NOT_ACTIVE_CONFIDENCE = 0.5


@register(NAME)
def liquidity(ctx: HeuristicContext) -> HeuristicScore:
    channel = ctx.channel
    settings = ctx.config.liquidity
    target = settings.target_local_ratio
    if channel.capacity_msat <= 0:
        return no_data(
            NAME,
            "channel reports no capacity: no balance to judge, neutral score",
            {"capacity_msat": channel.capacity_msat},
        )
    if not channel.balance_known:
        return no_data(
            NAME,
            f"balance of the {format_sat(channel.capacity_msat)} channel is unknown "
            "(gossip only): neutral score",
            {"capacity_msat": channel.capacity_msat, "balance_known": False},
        )
    ratio = channel.local_ratio
    room = target if ratio < target else 1 - target
    distance = abs(ratio - target) / room if room > 0 else 0.0
    score = 1 - min(1.0, distance)
    if ratio < settings.depleted_ratio:
        state = "nearly depleted"
        score *= EXTREME_PENALTY
    elif ratio > settings.saturated_ratio:
        state = "nearly saturated"
        score *= EXTREME_PENALTY
    elif score >= 0.8:
        state = "balanced"
    else:
        state = "leaning remote" if ratio < target else "leaning local"
    active = channel.state is ChannelState.ACTIVE
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=ACTIVE_CONFIDENCE if active else NOT_ACTIVE_CONFIDENCE,
        raw={
            "local_msat": channel.local_msat,
            "remote_msat": channel.remote_msat,
            "capacity_msat": channel.capacity_msat,
            "local_ratio": ratio,
            "target_local_ratio": target,
            "depleted_ratio": settings.depleted_ratio,
            "saturated_ratio": settings.saturated_ratio,
        },
        explanation=(
            f"local {ratio:.0%} of {format_sat(channel.capacity_msat)}, target {target:.0%}: "
            f"{state}{'' if active else f' (channel {channel.state.value})'}"
        ),
    )
