"""What each sender remembers: recent failures, with decay, and fees learned from errors.

Every paying node keeps its own memory, as every real node runs its own mission control.

**Failures** follow LND's a-priori estimator (``routing/probability_apriori.go``): after an
HTLC fails for lack of balance on a channel direction at amount ``a``, the sender's estimate of
the probability that the direction carries an amount ``>= a`` becomes
``P * (1 - 2^(-age / penalty_half_life))``: 0 at once, back to half of the prior after one
half-life (one hour by default). In the path cost of :mod:`lnopt.sim.routing` that is an added
``attempt_cost(amount) * -ln(1 - 2^(-age / half_life))``: infinite at first, then fading.
A failure older than :data:`FORGET_HALF_LIVES` half-lives is forgotten (its penalty is then
under 0.4% of the attempt cost). Successes are not remembered (LND's ``prevSuccessProbability``
only matters once failures are scarce).

**Fees.** A ``fee_insufficient`` error carries the failing channel's current
``channel_update``; the sender applies it to its own graph, as real payers do, and keeps it
until gossip brings an update emitted later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lnopt.model import ChannelPolicy

FORGET_HALF_LIVES = 8


@dataclass
class SenderMemory:
    """One sender's mission control."""

    failures: dict[int, tuple[float, int]] = field(default_factory=dict)  # edge -> (t, amount)
    learned: dict[int, tuple[ChannelPolicy, float]] = field(default_factory=dict)  # our j

    def failed(self, edge: int, amount_msat: int, now_s: float) -> None:
        """An HTLC of ``amount_msat`` failed on ``edge`` for lack of balance."""
        self.failures[edge] = (now_s, amount_msat)

    def learn(self, j: int, policy: ChannelPolicy, now_s: float) -> None:
        self.learned[j] = (policy, now_s)


class MissionControl:
    """Every sender's memory (see the module docstring)."""

    def __init__(self, half_life_s: float = 3600.0) -> None:
        self.half_life_s = half_life_s
        self._senders: dict[int, SenderMemory] = {}

    def of(self, sender: int) -> SenderMemory:
        memory = self._senders.get(sender)
        if memory is None:
            memory = self._senders[sender] = SenderMemory()
        return memory

    def penalties(
        self, memory: SenderMemory, amount_msat: int, attempt_cost_msat: float, now_s: float
    ) -> dict[int, float]:
        """Added path cost per edge this sender penalises for ``amount_msat`` now."""
        if not memory.failures:
            return {}
        half_life = self.half_life_s
        forget_s = FORGET_HALF_LIVES * half_life
        found: dict[int, float] = {}
        stale: list[int] = []
        for edge, (when, smallest) in memory.failures.items():
            age = now_s - when
            if age >= forget_s:
                stale.append(edge)
            elif amount_msat >= smallest:
                weight = 2.0 ** (-age / half_life) if half_life > 0 else 0.0
                found[edge] = (
                    math.inf if weight >= 1.0 else -attempt_cost_msat * math.log1p(-weight)
                )
        for edge in stale:
            del memory.failures[edge]
        return found
