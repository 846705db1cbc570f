"""Centrality: how important the peer is for routing.

Betweenness (share of shortest paths through the peer) and closeness (how near it is to every
other node) are turned into percentiles over all nodes, so the score spreads over [0, 1]
whatever the absolute values; betweenness counts 60%, closeness 40%.
"""

from __future__ import annotations

from lnopt.heuristics.base import (
    HeuristicContext,
    graph_confidence,
    peer_missing,
    register,
    share_text,
)
from lnopt.model import HeuristicScore

NAME = "centrality"
BETWEENNESS_WEIGHT = 0.6
EXACT_CONFIDENCE = 0.9
SAMPLED_CONFIDENCE = 0.8


@register(NAME)
def centrality(ctx: HeuristicContext) -> HeuristicScore:
    peer = ctx.channel.peer_id
    betweenness_pct = ctx.metrics.percentile("betweenness", peer)
    closeness_pct = ctx.metrics.percentile("closeness", peer)
    if betweenness_pct is None or closeness_pct is None:
        return peer_missing(NAME, peer)
    score = BETWEENNESS_WEIGHT * betweenness_pct + (1 - BETWEENNESS_WEIGHT) * closeness_pct
    sampled = ctx.metrics.betweenness_samples is not None
    base = SAMPLED_CONFIDENCE if sampled else EXACT_CONFIDENCE
    if score >= 0.8:
        verdict = "a routing hub"
    elif score >= 0.5:
        verdict = "well placed"
    else:
        verdict = "on the edge of the network"
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=graph_confidence(ctx.metrics, base),
        raw={
            "betweenness": ctx.metrics.betweenness[peer],
            "closeness": ctx.metrics.closeness[peer],
            "betweenness_percentile": betweenness_pct,
            "closeness_percentile": closeness_pct,
            "betweenness_samples": ctx.metrics.betweenness_samples,
        },
        explanation=(
            f"peer betweenness above {share_text(betweenness_pct)} and closeness above "
            f"{share_text(closeness_pct)} of nodes{' (sampled)' if sampled else ''}: {verdict}"
        ),
    )
