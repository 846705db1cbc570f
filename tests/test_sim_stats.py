"""Paired statistics: log ratios, bootstrap interval, seeds won, capped income, seed ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lnopt.sim.report import verdict_of
from lnopt.sim.stats import (
    FLOOR_MSAT,
    PairedRatio,
    bootstrap_interval,
    capped_income_msat,
    paired_ratio,
    parse_seeds,
    top_payment_share,
)


def test_the_paired_ratio_is_the_geometric_mean_of_per_seed_ratios() -> None:
    # Given two policies on three seeds (incomes well above the floor)
    mine = {(1, 0): 4_000_000, (2, 0): 1_000_000, (3, 0): 9_000_000}
    theirs = {(1, 0): 2_000_000, (2, 0): 2_000_000, (3, 0): 3_000_000, (4, 0): 5_000_000}
    # When they are compared row by row
    ratio = paired_ratio("lnopt", "static", mine, theirs)
    # Then only shared rows count, and the figures follow from the per-row logs
    assert ratio is not None
    assert ratio.rows == ((1, 0), (2, 0), (3, 0))
    expected = [
        math.log((m + FLOOR_MSAT) / (t + FLOOR_MSAT))
        for m, t in [(4_000_000, 2_000_000), (1_000_000, 2_000_000), (9_000_000, 3_000_000)]
    ]
    assert ratio.log_ratios == pytest.approx(expected)
    assert ratio.geometric_mean == pytest.approx(math.exp(sum(expected) / 3))
    assert (ratio.wins, ratio.losses) == (2, 1)
    assert ratio.low <= ratio.geometric_mean <= ratio.high


def test_a_seed_without_income_counts_as_a_large_loss_not_an_infinity() -> None:
    ratio = paired_ratio(
        "lnopt", "static", {(1, 0): 0, (2, 0): 5_000}, {(1, 0): 99_000, (2, 0): 5_000}
    )
    assert ratio is not None
    assert ratio.log_ratios[0] == pytest.approx(math.log(1_000 / 100_000))
    assert ratio.log_ratios[1] == 0.0
    assert (ratio.wins, ratio.losses) == (0, 1)


def test_no_shared_seed_gives_no_ratio() -> None:
    assert paired_ratio("lnopt", "static", {(1, 0): 5}, {(2, 0): 5}) is None


def test_the_bootstrap_interval_narrows_with_more_seeds_and_is_repeatable() -> None:
    rng = np.random.default_rng(7)
    few, many = rng.normal(0.2, 0.8, 10), rng.normal(0.2, 0.8, 160)
    low_few, high_few = bootstrap_interval(few)
    low_many, high_many = bootstrap_interval(many)
    assert low_few < few.mean() < high_few
    assert low_many < many.mean() < high_many
    assert high_many - low_many < (high_few - low_few) / 2
    assert bootstrap_interval(few) == (low_few, high_few)


def test_streams_of_one_world_are_resampled_together() -> None:
    # Given two worlds, each with two streams whose log ratios agree within the world
    values = np.array([1.0, 1.0, -1.0, -1.0])
    # When the bootstrap resamples worlds, a resample holds 0, 1 or 2 copies of each world
    low, high = bootstrap_interval(values, groups=[1, 1, 2, 2])
    # Then every resampled mean is -1, 0 or 1, as for two values, never a mix of streams
    assert (low, high) == bootstrap_interval(np.array([1.0, -1.0]))
    # and rows paired over streams keep the world seed with each
    ratio = paired_ratio(
        "lnopt",
        "static",
        {(1, 0): 2_000, (1, 1): 3_000, (2, 0): 1_000},
        {(1, 0): 1_000, (1, 1): 1_000, (2, 0): 1_000},
    )
    assert ratio is not None and ratio.rows == ((1, 0), (1, 1), (2, 0))
    assert (ratio.wins, ratio.losses, ratio.row_count) == (2, 0, 3)


def test_one_seed_has_an_interval_of_one_point() -> None:
    assert bootstrap_interval(np.array([0.3])) == (0.3, 0.3)


def test_capping_holds_the_best_paying_payments_at_the_99th_percentile() -> None:
    # 200 payments of 1 sat each and two lucky ones of 1,000 sat
    earned = [1_000] * 200 + [1_000_000, 1_000_000]
    assert capped_income_msat(earned) == 202 * 1_000
    assert capped_income_msat([0, 0]) == 0
    assert top_payment_share(earned, top=2) == pytest.approx(2_000_000 / 2_200_000)
    assert top_payment_share([]) == 0.0


@pytest.mark.parametrize(
    ("text", "seeds"), [("3", (1, 2, 3)), ("101-104", (101, 102, 103, 104)), ("7-7", (7,))]
)
def test_seeds_are_a_count_or_a_range(text: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "-3", "9-2", "a-b", "1-2-3", ""])
def test_a_bad_seed_range_is_refused_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"a count K \(seeds 1 to K\) or a range A-B"):
        parse_seeds(text)


@pytest.mark.parametrize(
    ("low", "mean", "high", "said"),
    [
        (1.1, 1.3, 1.6, "lnopt earns more (the whole interval is above 1)"),
        (0.5, 0.7, 0.9, "lnopt earns less (the whole interval is below 1)"),
        (0.2, 0.6, 1.4, "lnopt earned less here, but the interval includes 1"),
        (0.9, 1.2, 1.5, "lnopt earned more here, but the interval includes 1"),
    ],
)
def test_the_verdict_follows_the_interval_not_the_point(
    low: float, mean: float, high: float, said: str
) -> None:
    ratio = PairedRatio("lnopt", "static", (1, 2), (0.1, 0.2), mean, low, high, 1, 1)
    assert verdict_of(ratio).startswith(said)
