"""Reliability: whether the peer is there and its side of the channel works.

Connection and channel state scale the score (a disconnected peer keeps 40%, an inactive
channel 30%, a pending one 70%, a closing one nothing). What they scale is the average of
stability (state changes beyond the three of a normal opening count against it) and the share
of forwards handed to the peer that settled (failures downstream are blamed on the peer; our
own local failures are not). Probes fail downstream too, which is why forwards count only half.
"""

from __future__ import annotations

import math

from lnopt.heuristics.base import HeuristicContext, register
from lnopt.model import ChannelState, HeuristicScore

NAME = "reliability"
STATE_FACTOR = {
    ChannelState.ACTIVE: 1.0,
    ChannelState.PENDING: 0.7,
    ChannelState.INACTIVE: 0.3,
    ChannelState.CLOSING: 0.0,
}
DISCONNECTED_FACTOR = 0.4
NORMAL_STATE_CHANGES = 3
HALF_STABILITY_EXCESS = 3
BASE_CONFIDENCE = 0.6
CONFIDENCE_RANGE = 0.35
ATTEMPTS_SCALE = 10


@register(NAME)
def reliability(ctx: HeuristicContext) -> HeuristicScore:
    channel = ctx.channel
    month = ctx.activity.last_30d
    excess = max(0, channel.state_changes - NORMAL_STATE_CHANGES)
    stability = HALF_STABILITY_EXCESS / (HALF_STABILITY_EXCESS + excess)
    handed_to_peer = month.forwards_out + month.failed
    delivered = month.forwards_out / handed_to_peer if handed_to_peer else None
    health = stability if delivered is None else (stability + delivered) / 2
    connection = 1.0 if channel.connected else DISCONNECTED_FACTOR
    score = connection * STATE_FACTOR[channel.state] * health
    confidence = BASE_CONFIDENCE + CONFIDENCE_RANGE * (
        1 - math.exp(-handed_to_peer / ATTEMPTS_SCALE)
    )
    delivered_text = (
        "no forward handed to the peer in 30d"
        if delivered is None
        else f"{delivered:.0%} of {handed_to_peer} forwards handed to the peer settled"
    )
    if score >= 0.7:
        verdict = "reliable"
    elif score >= 0.4:
        verdict = "shaky"
    else:
        verdict = "unreliable"
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=confidence,
        raw={
            "connected": channel.connected,
            "state": channel.state.value,
            "state_changes": channel.state_changes,
            "failed_30d": month.failed,
            "local_failed_30d": month.local_failed,
            "handed_to_peer_30d": handed_to_peer,
            "delivered_rate_30d": delivered,
        },
        explanation=(
            f"peer {'connected' if channel.connected else 'disconnected'}, channel "
            f"{channel.state.value} with {channel.state_changes} state changes, "
            f"{delivered_text}: {verdict}"
        ),
    )
