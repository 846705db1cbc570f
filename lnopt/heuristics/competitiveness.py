"""Competitiveness: our outbound fee against the other ways a sender could reach the peer.

The alternatives are the active channel directions into the peer from any node but us that can
carry a typical payment (100k sat, so that base fees count too). The score is 70% the share of
alternatives that charge at least as much as we do (ties count half) and 30% a ratio to their
median (1 at or below it, falling by a quarter for each doubling above it). Few alternatives
mean a coarse ranking, hence a lower confidence; none at all means no competition to compare
with: neutral score.
"""

from __future__ import annotations

import bisect
import math
import statistics

from lnopt.heuristics.base import (
    HeuristicContext,
    clamp01,
    format_sat,
    no_data,
    peer_missing,
    register,
)
from lnopt.model import ChannelPolicy, HeuristicScore

NAME = "competitiveness"
TYPICAL_AMOUNT_MSAT = 100_000_000
RANK_WEIGHT = 0.7
DOUBLINGS_TO_ZERO = 4
# Added to both fees before taking their ratio, so that zero fees compare sanely.
RATIO_OFFSET_MSAT = 1000
NO_ALTERNATIVE_CONFIDENCE = 0.3
MIN_CONFIDENCE = 0.3
CONFIDENCE_RANGE = 0.65
HALF_CONFIDENCE_ALTERNATIVES = 5


def _carries(policy: ChannelPolicy, amount_msat: int) -> bool:
    fits_max = policy.htlc_max_msat is None or policy.htlc_max_msat >= amount_msat
    return fits_max and policy.htlc_min_msat <= amount_msat


@register(NAME)
def competitiveness(ctx: HeuristicContext) -> HeuristicScore:
    peer = ctx.channel.peer_id
    graph = ctx.snapshot.graph
    if not graph.has_node(peer):
        return peer_missing(NAME, peer)
    amount = TYPICAL_AMOUNT_MSAT
    ours = ctx.channel.our_policy.fee_msat(amount)
    alternatives = sorted(
        policy.fee_msat(amount)
        for policy in graph.policies_toward(peer, exclude_source=ctx.snapshot.node_id)
        if _carries(policy, amount)
    )
    if not alternatives:
        return no_data(
            NAME,
            f"no other channel leads to the peer for {format_sat(amount)}: "
            "no competition to compare with, neutral score",
            {"our_fee_msat": ours, "alternatives": 0, "amount_msat": amount},
            confidence=NO_ALTERNATIVE_CONFIDENCE,
        )
    count = len(alternatives)
    cheaper = bisect.bisect_left(alternatives, ours)
    equal = bisect.bisect_right(alternatives, ours) - cheaper
    rank_score = 1 - (cheaper + equal / 2) / count
    median = statistics.median(alternatives)
    ratio = (ours + RATIO_OFFSET_MSAT) / (median + RATIO_OFFSET_MSAT)
    ratio_score = clamp01(1 - math.log2(ratio) / DOUBLINGS_TO_ZERO) if ratio > 1 else 1.0
    score = RANK_WEIGHT * rank_score + (1 - RANK_WEIGHT) * ratio_score
    if score >= 0.6:
        verdict = "competitive"
    elif score >= 0.3:
        verdict = "middle of the field"
    else:
        verdict = "expensive"
    confidence = MIN_CONFIDENCE + CONFIDENCE_RANGE * count / (count + HALF_CONFIDENCE_ALTERNATIVES)
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=confidence,
        raw={
            "amount_msat": amount,
            "our_fee_msat": ours,
            "alternatives": count,
            "median_alternative_fee_msat": int(median),
            "cheapest_alternative_fee_msat": alternatives[0],
            "cheaper_alternatives": cheaper,
            "our_fee_ppm": ctx.channel.our_policy.fee_ppm,
            "our_base_fee_msat": ctx.channel.our_policy.base_fee_msat,
        },
        explanation=(
            f"our fee for {format_sat(amount)} is {format_sat(ours)} against a median of "
            f"{format_sat(int(median))} over {count} other routes to the peer, "
            f"{cheaper / count:.0%} of them cheaper: {verdict}"
        ),
    )
