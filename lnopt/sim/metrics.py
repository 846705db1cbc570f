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
    seed: int
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

    @property
    def capped_income_msat(self) -> int:
        """Income with the best-paying 1% of payments capped (see :mod:`lnopt.sim.stats`)."""
        return capped_income_msat(self.payment_income_msat)

    @property
    def payments_per_s(self) -> float:
        return self.payments / self.wall_s if self.wall_s > 0 else 0.0

    def figures(self) -> dict[str, float]:
        """The figures compared across policies."""
        return {
            "income_sat": self.income_msat / 1000,
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
