"""What a run measured, and the same figures summarised over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lnopt.sim.stats import capped_income_msat


@dataclass(frozen=True)
class RunResult:
    """One policy on one seed. Money in msat; shares in [0, 1]."""

    policy: str
    seed: int  # the world's
    income_msat: int  # fees our node earned
    forwards: int  # settled forwards through our node
    volume_msat: int  # amount forwarded out by our node
    failed_liquidity: int  # HTLCs we failed for lack of outbound liquidity
    failed_fee: int  # HTLCs we failed because the offered fee was below ours
    failed_downstream: int  # forwarded by us, failed further on
    fee_updates: int  # fee changes our node made (each one a channel_update)
    gossip_emitted: int
    gossip_dropped: int  # updates the network rate-limited away
    depleted_share: float  # of channel-hours with less than 10% local
    saturated_share: float  # of channel-hours with more than 90% local
    payments: int
    payments_settled: int  # whole payments: every part reached the receiver
    attempts: int
    income_by_channel: Mapping[str, int]
    final_ppm: Mapping[str, int]
    series_t_s: np.ndarray  # sample times, seconds from the start
    series_income_msat: np.ndarray  # cumulative income at each sample
    series_local_ratio: np.ndarray  # samples x channels
    payment_income_msat: np.ndarray  # what each payment that paid us brought, in order
    wall_s: float
    explanations: tuple[str, ...] = ()
    parts: int = 0  # parts routed (a payment's parts, halves of stuck parts included)
    parts_settled: int = 0

    @property
    def parts_per_s(self) -> float:
        return self.parts / self.wall_s if self.wall_s > 0 else 0.0

    stream_seed: int | None = None  # the payment stream's (None: the world seed's own stream)
    stream: int = 0  # which of the world's streams (0, 1, ... K-1)
    rebalance_cost_msat: int = 0  # fees our node paid for circular rebalances
    rebalances: int = 0  # circular rebalances that settled
    competitor_fee_changes: int = 0  # fee changes of the competing channels during the run

    @property
    def net_income_msat(self) -> int:
        """Routing income less what rebalancing cost: what the node earned."""
        return self.income_msat - self.rebalance_cost_msat

    @property
    def row(self) -> tuple[int, int]:
        """``(world seed, stream)``: the runs of different policies with the same row are
        paired (same world, same payments)."""
        return (self.seed, self.stream)

    @property
    def capped_income_msat(self) -> int:
        """Net income with the best-paying 1% of payments capped (:mod:`lnopt.sim.stats`)."""
        return capped_income_msat(self.payment_income_msat) - self.rebalance_cost_msat

    @property
    def payments_per_s(self) -> float:
        return self.payments / self.wall_s if self.wall_s > 0 else 0.0

    def figures(self) -> dict[str, float]:
        """The figures compared across policies."""
        return {
            "income_sat": self.income_msat / 1000,
            "rebalance_cost_sat": self.rebalance_cost_msat / 1000,
            "net_income_sat": self.net_income_msat / 1000,
            "capped_income_sat": self.capped_income_msat / 1000,
            "forwards": float(self.forwards),
            "volume_btc": self.volume_msat / 1e11,
            "failed_liquidity": float(self.failed_liquidity),
            "depleted_pct": 100 * self.depleted_share,
            "saturated_pct": 100 * self.saturated_share,
            "fee_updates": float(self.fee_updates),
            "gossip_dropped": float(self.gossip_dropped),
            "success_pct": 100 * self.payments_settled / max(1, self.payments),
        }


FIGURES = (
    "income_sat",
    "rebalance_cost_sat",
    "net_income_sat",
    "capped_income_sat",
    "forwards",
    "volume_btc",
    "failed_liquidity",
    "depleted_pct",
    "saturated_pct",
    "fee_updates",
    "gossip_dropped",
    "success_pct",
)


@dataclass(frozen=True)
class Summary:
    """Mean and spread (sample standard deviation; 0 for one seed) over seeds."""

    mean: float
    spread: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(statistics.fmean(values), spread, tuple(values))


def summarise(results: Sequence[RunResult]) -> dict[str, dict[str, Summary]]:
    """Per policy, per figure, the summary over the seeds it ran on."""
    by_policy: dict[str, list[RunResult]] = {}
    for result in results:
        by_policy.setdefault(result.policy, []).append(result)
    return {
        policy: {figure: Summary.of([run.figures()[figure] for run in runs]) for figure in FIGURES}
        for policy, runs in by_policy.items()
    }
