"""Paired statistics for comparing two fee policies over many seeds.

Every policy of a row, a ``(world seed, stream)`` pair, sees the same world and payments, so
the comparison is made row by row: the log of one policy's income over the other's. Their mean,
exponentiated, is the geometric mean of the ratio; a percentile bootstrap gives its 95%
interval; and the rows each side won are counted. The bootstrap resamples worlds, each with all
of its streams, since streams of one world share its network and demand (with one stream per
world it resamples the rows). A mean of incomes, or of ratios, lets one lucky seed speak for
all of them; these figures do not.

Incomes are floored at :data:`FLOOR_MSAT` before the logarithm so that a seed on which one side
earned nothing still counts (as a large loss or win) rather than as an infinity.

The income of a few large payments can decide a run (routing income is lumpy). Beside the raw
income, :func:`capped_income_msat` gives the income with each payment's share capped at the
99th percentile of the run's earning payments, so a reader can see whether a result rests on
a handful of payments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

FLOOR_MSAT = 1_000  # 1 sat: a seed with no income still has a finite log ratio
CONFIDENCE = 0.95
RESAMPLES = 10_000
CAP_QUANTILE = 0.99  # payments above this quantile of a run's earning payments are capped

Row: TypeAlias = tuple[int, int]  # (world seed, stream)


@dataclass(frozen=True, slots=True)
class PairedRatio:
    """``policy``'s income against ``reference``'s, row by row."""

    policy: str
    reference: str
    rows: tuple[Row, ...]
    log_ratios: tuple[float, ...]  # ln((policy + floor) / (reference + floor)), per row
    geometric_mean: float  # exp(mean log ratio)
    low: float  # the 95% bootstrap interval of the geometric mean
    high: float
    wins: int  # rows where policy earned more than reference
    losses: int  # rows where it earned less

    @property
    def row_count(self) -> int:
        return len(self.rows)


def paired_ratio(
    policy: str,
    reference: str,
    policy_income_msat: Mapping[Row, int],
    reference_income_msat: Mapping[Row, int],
    *,
    resamples: int = RESAMPLES,
    bootstrap_seed: int = 0,
) -> PairedRatio | None:
    """The paired comparison over the rows both ran on; None when they share no row."""
    rows = tuple(sorted(policy_income_msat.keys() & reference_income_msat.keys()))
    if not rows:
        return None
    mine = np.array([policy_income_msat[r] for r in rows], dtype=np.float64)
    theirs = np.array([reference_income_msat[r] for r in rows], dtype=np.float64)
    logs = np.log((mine + FLOOR_MSAT) / (theirs + FLOOR_MSAT))
    worlds = [seed for seed, _ in rows]
    low, high = bootstrap_interval(logs, groups=worlds, resamples=resamples, seed=bootstrap_seed)
    return PairedRatio(
        policy=policy,
        reference=reference,
        rows=rows,
        log_ratios=tuple(float(x) for x in logs),
        geometric_mean=math.exp(float(logs.mean())),
        low=math.exp(low),
        high=math.exp(high),
        wins=int((mine > theirs).sum()),
        losses=int((mine < theirs).sum()),
    )


def bootstrap_interval(
    values: np.ndarray,
    *,
    groups: Sequence[int] | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """The percentile bootstrap interval (95%) of the mean of ``values``.

    With ``groups`` (one label per value) whole groups are resampled, each bringing all of its
    values (a cluster bootstrap); without, each value is its own group.
    """
    labels = np.arange(len(values)) if groups is None else np.asarray(groups)
    _, group_of = np.unique(labels, return_inverse=True)
    sums = np.bincount(group_of, weights=values)
    counts = np.bincount(group_of).astype(np.float64)
    if len(sums) == 1:
        only = float(sums[0] / counts[0])
        return only, only
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def capped_income_msat(payment_income_msat: Sequence[int] | np.ndarray) -> int:
    """Income with each payment's share capped at the run's 99th percentile of earning payments."""
    earned = np.asarray(payment_income_msat, dtype=np.int64)
    earned = earned[earned > 0]
    if earned.size == 0:
        return 0
    cap = int(np.quantile(earned, CAP_QUANTILE, method="inverted_cdf"))
    return int(np.minimum(earned, cap).sum())


def top_payment_share(payment_income_msat: Sequence[int] | np.ndarray, top: int = 5) -> float:
    """Share of a run's income that its ``top`` best-paying payments brought, in [0, 1]."""
    earned = np.sort(np.asarray(payment_income_msat, dtype=np.int64))[::-1]
    total = int(earned.sum())
    return 0.0 if total <= 0 else int(earned[:top].sum()) / total


def parse_seeds(text: str) -> tuple[int, ...]:
    """``K`` (seeds 1 to K) or ``A-B`` (seeds A to B, both included); ValueError otherwise."""
    first, dash, last = text.partition("-")
    try:
        if not dash:
            count = int(first)
            if count >= 1:
                return tuple(range(1, count + 1))
        else:
            start, end = int(first), int(last)
            if 0 <= start <= end:
                return tuple(range(start, end + 1))
    except ValueError:
        pass
    raise ValueError(
        f"seeds {text!r}: give a count K (seeds 1 to K) or a range A-B such as 101-140 "
        "(0 <= A <= B)"
    )
