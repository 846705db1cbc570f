"""CLBOSS's ``FeeModderBySize``: our node's size against each peer's other peers, from gossip.

Re-implemented from ZmnSCPxj/clboss ``Boss/Mod/FeeModderBySize.cpp`` (v0.15.1-2, commit
90eaf441077c): a node's size is the total ``amount_msat`` of the ``listchannels`` entries it is
the source of; a peer's competitors are the destinations of its own entries, ourselves
excepted; ``calculate_multiplier`` turns how many are smaller (``worse``) and larger
(``better``) than us into the multiplier (see :func:`size_multiplier`).
"""

from __future__ import annotations

import math

from lnopt.graph import NetworkGraph

MIN_LIMIT = 2.0
LIMIT_BASE = 16.0


def size_multiplier(worse: int, better: int, total: int) -> float:
    """``calculate_multiplier``: 0.5 when every competitor is larger, up to ``lim`` when none is.

    ``lim = max(2, 16 + ln(1 / total))`` falls as the peer has more competitors. When every
    competitor is exactly our size (upstream divides 0 by 0) the multiplier is 1.
    """
    if total == 0 or worse + better == 0:
        return 1.0
    pos = worse / (worse + better)
    if worse < better:
        pos *= 2
        low = math.sqrt(0.5)
        x = low - pos * low + pos * 1.0
    else:
        limit = max(MIN_LIMIT, LIMIT_BASE + math.log(1.0 / total))
        pos = pos * 2 - 1.0
        x = 1.0 - pos * 1.0 + pos * math.sqrt(limit)
    return x * x


class SizeModder:
    """Multipliers per peer, kept until :meth:`reset` (upstream: daily, and on channel changes)."""

    def __init__(self, our_node: str) -> None:
        self._our_node = our_node
        self._multipliers: dict[str, float] = {}
        self._sizes: dict[str, int] = {}

    def reset(self) -> None:
        self._multipliers.clear()
        self._sizes.clear()

    def multiplier(self, graph: NetworkGraph, peer: str) -> float:
        found = self._multipliers.get(peer)
        if found is None:
            found = self._compute(graph, peer)
            self._multipliers[peer] = found
        return found

    def _compute(self, graph: NetworkGraph, peer: str) -> float:
        competitors = {edge.destination for edge in graph.edges_from(peer)}
        competitors.discard(self._our_node)
        ours = self._size(graph, self._our_node)
        worse = better = 0
        for competitor in competitors:
            theirs = self._size(graph, competitor)
            if theirs < ours:
                worse += 1
            elif theirs > ours:
                better += 1
        return size_multiplier(worse, better, len(competitors))

    def _size(self, graph: NetworkGraph, node: str) -> int:
        found = self._sizes.get(node)
        if found is None:
            found = sum(edge.capacity_msat for edge in graph.edges_from(node))
            self._sizes[node] = found
        return found
