"""Peer quality: the peer's size and standing in the network.

40% the percentile of its total capacity among all nodes, 30% that of its channel count, 30%
its standing: half the share of its channel directions that are active, half whether its fees
are sane (a median fee rate at or below the network's 90th percentile is sane; the score falls
to 0 at ten times it).
"""

from __future__ import annotations

import math
import statistics

from lnopt.heuristics.base import (
    HeuristicContext,
    clamp01,
    format_sat,
    graph_confidence,
    peer_missing,
    register,
    share_below,
)
from lnopt.model import HeuristicScore

NAME = "peer_quality"
CAPACITY_WEIGHT = 0.4
DEGREE_WEIGHT = 0.3
STANDING_WEIGHT = 0.3
UNKNOWN_FEES_SANITY = 0.5
CONFIDENCE = 0.85


@register(NAME)
def peer_quality(ctx: HeuristicContext) -> HeuristicScore:
    peer = ctx.channel.peer_id
    graph = ctx.snapshot.graph
    if not graph.has_node(peer):
        return peer_missing(NAME, peer)
    facts = ctx.shared
    capacity_msat = graph.node_capacity_msat(peer)
    degree = graph.degree(peer)
    capacity_pct = share_below(facts.node_capacities_msat, capacity_msat)
    degree_pct = share_below(facts.node_degrees, degree)
    directions = graph.edges_from(peer)
    active_rates = [edge.policy.fee_ppm for edge in directions if edge.active]
    active_share = len(active_rates) / len(directions) if directions else 0.0
    median_ppm = statistics.median(active_rates) if active_rates else None
    ceiling_ppm = max(1, facts.fee_ppm_p90 or 0)
    if median_ppm is None:
        fee_sanity = UNKNOWN_FEES_SANITY
    elif median_ppm <= ceiling_ppm:
        fee_sanity = 1.0
    else:
        fee_sanity = clamp01(1 - math.log10(median_ppm / ceiling_ppm))
    standing = (active_share + fee_sanity) / 2
    score = CAPACITY_WEIGHT * capacity_pct + DEGREE_WEIGHT * degree_pct + STANDING_WEIGHT * standing
    fees_text = (
        "no active direction"
        if median_ppm is None
        else f"median fee {median_ppm:,.0f} ppm (network p90 {ceiling_ppm:,} ppm)"
    )
    if score >= 0.7:
        verdict = "a strong peer"
    elif score >= 0.4:
        verdict = "an average peer"
    else:
        verdict = "a small or poorly kept peer"
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=graph_confidence(ctx.metrics, CONFIDENCE),
        raw={
            "capacity_msat": capacity_msat,
            "channels": degree,
            "capacity_percentile": capacity_pct,
            "channels_percentile": degree_pct,
            "active_share": active_share,
            "median_fee_ppm": median_ppm,
            "network_fee_ppm_p90": facts.fee_ppm_p90,
            "fee_sanity": fee_sanity,
        },
        explanation=(
            f"peer has {format_sat(capacity_msat)} in {degree} "
            f"channel{'' if degree == 1 else 's'} (above "
            f"{capacity_pct:.0%} of nodes by capacity), {active_share:.0%} of its directions "
            f"active, {fees_text}: {verdict}"
        ),
    )
