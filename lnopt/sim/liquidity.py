"""How liquidity comes back: one rule for every channel, ours included.

Routing drains channels in the direction of the demand. Real operators push liquidity back
(rebalancing, swaps, new channels); the simulation offers two rules, set by
:class:`LiquidityParams` ``rule``:

- ``relax`` (the default): every channel, ours like everyone's, drifts back toward its starting
  split with the same half-life (:meth:`~lnopt.sim.ledger.Ledger.relax`): the operators' swaps
  and rebalancing done off the simulated graph. No policy is favoured: a fee policy that sells
  its scarce side dear gets it back at the same pace as one that sells it cheap, so the
  comparison is between fee policies under the same liquidity management, which is how most
  operators run a fee tool (next to a separate rebalancer or swap service).
- ``rebalance``: our channels come back only by circular rebalances that pay the fees they
  meet (:class:`Rebalancer`); other people's still relax (their operators' management, whose
  cost is theirs).

Under both rules a policy may rebalance (lnopt's ``rebalance`` decision, CLBOSS, LNDg) through
:meth:`~lnopt.backends.sim.SimBackend.rebalance`: a payment from our node to itself, out
through one of our channels and back in through another, routed over the real graph (the
receiver's shortest-path tree, then the whole graph avoiding what failed, as payers do) and
settled hop by hop on the ledger. Each hop's node keeps its fee; our node pays them all: that
is the rebalancing cost, charged in the run result (``rebalance_cost_msat``; net income is
routing income less it). A rebalance is refused when its fee rate would exceed the caller's
``max_fee_ppm`` (at most ``max_fee_ppm`` here) or the spending would pass the day's budget.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from lnopt.sim.ledger import Ledger
from lnopt.sim.routing import Router, bucket_of

DAY_S = 86_400.0


@dataclass(frozen=True)
class LiquidityParams:
    """The liquidity rule (see :mod:`lnopt.sim.liquidity`) and the rebalancing budget."""

    rule: str = field(
        default="relax",
        metadata={
            "help": "relax: every channel, ours included, drifts back to its starting split; "
            "rebalance: ours come back only by paid circular rebalances (others still relax)"
        },
    )
    relax_half_life_s: float = field(
        default=2 * 86_400.0,
        metadata={
            "help": "half-life of the drift back to the starting split (2 days: operators "
            "rebalance or swap within days; the simulator's long-standing setting)"
        },
    )
    max_fee_ppm: int = field(
        default=1_000,
        metadata={
            "help": "no rebalance pays more than this fee rate, whatever its caller allows "
            "(1,000 ppm: about the network's upper-quartile channel fee)"
        },
    )
    daily_budget_msat: int = field(
        default=50_000_000,
        metadata={
            "help": "rebalancing fees our node may spend per simulated day (50k sat: a small "
            "share of what a 20-channel node moves)"
        },
    )
    max_attempts: int = field(
        default=5,
        metadata={"help": "routes a rebalance tries before it gives up (as payments do)"},
    )

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"liquidity rule {self.rule!r}: accepted {', '.join(RULES)}")


RULES = ("relax", "rebalance")


class RebalanceStatus(enum.Enum):
    DONE = "done"
    NO_ROUTE = "no_route"  # no path at all, or every one tried failed for liquidity
    TOO_EXPENSIVE = "too_expensive"  # the fee rate is above the limit
    OVER_BUDGET = "over_budget"  # the day's budget would be passed
    INVALID = "invalid"  # the same channel twice, or a non-positive amount


@dataclass(frozen=True)
class RebalanceResult:
    status: RebalanceStatus
    amount_msat: int
    fee_msat: int = 0
    hops: int = 0

    @property
    def done(self) -> bool:
        return self.status is RebalanceStatus.DONE


@dataclass
class RebalanceCounters:
    rebalances: int = 0  # rebalances that settled
    refused: int = 0  # rebalances refused or failed
    cost_msat: int = 0  # fees our node paid for them
    moved_msat: int = 0  # amount they moved


class Rebalancer:
    """Circular rebalances of our node over the real graph (see the module docstring)."""

    def __init__(self, router: Router, ledger: Ledger, params: LiquidityParams) -> None:
        self.router = router
        self.ledger = ledger
        self.params = params
        self.counters = RebalanceCounters()
        self._day = -1
        self._spent_today_msat = 0

    def rebalance(
        self, out_j: int, in_j: int, amount_msat: int, max_fee_ppm: int, now_s: float
    ) -> RebalanceResult:
        """Move ``amount_msat`` out through our channel ``out_j`` and back in through ``in_j``."""
        result = self._try(out_j, in_j, amount_msat, max_fee_ppm, now_s)
        if result.done:
            self.counters.rebalances += 1
            self.counters.cost_msat += result.fee_msat
            self.counters.moved_msat += amount_msat
            self._spent_today_msat += result.fee_msat
        else:
            self.counters.refused += 1
        return result

    def _try(
        self, out_j: int, in_j: int, amount_msat: int, max_fee_ppm: int, now_s: float
    ) -> RebalanceResult:
        topo = self.router.topo
        if out_j == in_j or amount_msat <= 0 or topo.our_in[in_j] < 0:
            return RebalanceResult(RebalanceStatus.INVALID, amount_msat)
        fee_limit_ppm = min(max_fee_ppm, self.params.max_fee_ppm)
        budget_msat = self._budget_left(now_s)
        first, last = int(topo.our_out[out_j]), int(topo.our_in[in_j])
        if self.ledger.spendable(first) < amount_msat:
            return RebalanceResult(RebalanceStatus.NO_ROUTE, amount_msat)
        excluded: set[int] = set()
        for _ in range(self.params.max_attempts):
            middle = self._route(
                int(topo.our_peer[out_j]), int(topo.our_peer[in_j]), amount_msat, excluded
            )
            if middle is None:
                break
            path = [first, *middle, last]
            amounts = hop_amounts(topo.e_base, topo.e_ppm, path, amount_msat)
            fee_msat = amounts[0] - amount_msat
            if fee_msat * 1_000_000 > fee_limit_ppm * amount_msat:
                return RebalanceResult(RebalanceStatus.TOO_EXPENSIVE, amount_msat, fee_msat)
            if fee_msat > budget_msat:
                return RebalanceResult(RebalanceStatus.OVER_BUDGET, amount_msat, fee_msat)
            short = [e for e, a in zip(path, amounts, strict=True) if self._cannot_carry(e, a)]
            if not short:
                for edge, amount in zip(path, amounts, strict=True):
                    self.ledger.move(edge, amount)
                return RebalanceResult(RebalanceStatus.DONE, amount_msat, fee_msat, len(path))
            if short[0] in (first, last):
                break
            excluded.add(short[0])
        return RebalanceResult(RebalanceStatus.NO_ROUTE, amount_msat)

    def _route(
        self, start: int, end: int, amount_msat: int, excluded: set[int]
    ) -> list[int] | None:
        """The cheapest path ``start -> end`` avoiding our node and the ``excluded`` edges."""
        router, topo = self.router, self.router.topo
        b = bucket_of(amount_msat)
        if not excluded:
            dist, nxt = router.tree(end, b)
            return router.walk(start, nxt, b) if np.isfinite(dist[start]) else None
        outgoing = topo.out_edges(start)
        first_hops = np.array(
            [e for e in outgoing if int(e) not in excluded and topo.e_dst[e] != topo.us],
            dtype=np.int64,
        )
        if first_hops.size == 0:
            return None
        return router.route_avoiding(
            start,
            end,
            b,
            penalties=dict.fromkeys(excluded, np.inf),
            first_hops=first_hops,
            our_costs=np.full(len(topo.our_out), np.inf),
        )

    def _cannot_carry(self, edge: int, amount_msat: int) -> bool:
        topo = self.router.topo
        too_big = amount_msat > topo.e_max[edge] or amount_msat >= topo.chan_cap[topo.e_chan[edge]]
        return too_big or self.ledger.spendable(edge) < amount_msat

    def _budget_left(self, now_s: float) -> int:
        day = int(now_s // DAY_S)
        if day != self._day:
            self._day, self._spent_today_msat = day, 0
        return max(0, self.params.daily_budget_msat - self._spent_today_msat)


def hop_amounts(
    base_msat: np.ndarray, ppm: np.ndarray, path: list[int], amount_msat: int
) -> list[int]:
    """What each hop of ``path`` carries: ``amount_msat`` plus the fees of the hops after it
    (each hop's source charges its fee for the next hop; the first hop is the payer's own)."""
    amounts = [amount_msat] * len(path)
    for h in range(len(path) - 1, 0, -1):
        edge = path[h]
        amounts[h - 1] = (
            amounts[h] + int(base_msat[edge]) + amounts[h] * int(ppm[edge]) // 1_000_000
        )
    return amounts
