"""What senders remember of recent failures (a shared version of LND's mission control).

When an HTLC fails for lack of balance on a channel direction, senders avoid that direction
for amounts at least as large for ``memory_s`` seconds (LND's ``penaltyhalflife`` is one
hour). Real nodes each keep their own memory; sharing one is a simplification that stands for
the large, frequent senders (exchanges, wallet providers) that carry most of the volume and
know the network's liquidity well.
"""

from __future__ import annotations

from collections.abc import Iterable

PRUNE_EVERY = 2000


class MissionControl:
    def __init__(self, memory_s: float = 3600.0) -> None:
        self.memory_s = memory_s
        self._failures: dict[int, tuple[float, int]] = {}  # edge -> (time, smallest failed amount)
        self._calls = 0

    def failed(self, edge: int, amount_msat: int, now_s: float) -> None:
        known = self._failures.get(edge)
        if known is not None and now_s - known[0] < self.memory_s:
            amount_msat = min(amount_msat, known[1])
        self._failures[edge] = (now_s, amount_msat)

    def avoids(self, edge: int, amount_msat: int, now_s: float) -> bool:
        known = self._failures.get(edge)
        return known is not None and now_s - known[0] < self.memory_s and amount_msat >= known[1]

    def avoids_any(self, edges: Iterable[int], amount_msat: int, now_s: float) -> bool:
        return any(self.avoids(edge, amount_msat, now_s) for edge in edges)

    def avoided(self, amount_msat: int, now_s: float) -> set[int]:
        """Every direction senders avoid now for this amount."""
        self._calls += 1
        if self._calls % PRUNE_EVERY == 0:
            self._failures = {
                e: known for e, known in self._failures.items() if now_s - known[0] < self.memory_s
            }
        return {
            edge
            for edge, (when, smallest) in self._failures.items()
            if now_s - when < self.memory_s and amount_msat >= smallest
        }
