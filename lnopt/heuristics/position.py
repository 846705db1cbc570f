"""Position: how hard the peer is to route around.

Half the percentile of the peer's PageRank among all nodes (its weight in the network), half
one minus its clustering coefficient: when the peer's neighbours are linked among themselves,
payments have many ways to bypass the peer, and so our channel to it.
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

NAME = "position"
PAGERANK_WEIGHT = 0.5
CONFIDENCE = 0.9


@register(NAME)
def position(ctx: HeuristicContext) -> HeuristicScore:
    peer = ctx.channel.peer_id
    pagerank_pct = ctx.metrics.percentile("pagerank", peer)
    clustering = ctx.metrics.clustering.get(peer)
    if pagerank_pct is None or clustering is None:
        return peer_missing(NAME, peer)
    score = PAGERANK_WEIGHT * pagerank_pct + (1 - PAGERANK_WEIGHT) * (1 - clustering)
    if clustering >= 0.5:
        bypasses = "many routes bypass it"
    elif clustering >= 0.1:
        bypasses = "some routes bypass it"
    else:
        bypasses = "few routes bypass it"
    return HeuristicScore(
        name=NAME,
        score=score,
        confidence=graph_confidence(ctx.metrics, CONFIDENCE),
        raw={
            "pagerank": ctx.metrics.pagerank[peer],
            "pagerank_percentile": pagerank_pct,
            "clustering": clustering,
        },
        explanation=(
            f"peer PageRank above {share_text(pagerank_pct)} of nodes, "
            f"clustering {clustering:.2f}: {bypasses}"
        ),
    )
