"""The guard's limits pinned at their edges: the largest step (percent, rounded down, its floor
and its absolute cap), the fee bounds, the cooldown and the changes per day, each at the limit
and one unit past it."""

from __future__ import annotations

import logging

import pytest

from lnopt.config import GuardLimits
from lnopt.guard import allowed_step_ppm
from lnopt.model import Verdict
from tests.test_guard import DAY_S, NOW_S, SCID, proposed, review_one

# Percent steps only: the absolute cap far away, bounds wide open.
BY_PERCENT = GuardLimits(
    max_step_pct=50, max_step_ppm=100_000, step_floor_ppm=10, max_fee_ppm=100_000
)
# The absolute cap binds: 200% of 1,500 is 3,000, capped at 2,000.
CAPPED = GuardLimits(max_step_pct=200, max_step_ppm=2_000, max_fee_ppm=100_000)


def fee_after(old_ppm: int, new_ppm: int, limits: GuardLimits) -> tuple[Verdict, int | None]:
    guarded = review_one(proposed(old_ppm, new_ppm), limits)
    return guarded.verdict, None if guarded.policy is None else guarded.policy.fee_ppm


@pytest.mark.parametrize(
    ("old_ppm", "limits", "step_ppm"),
    [
        (100, BY_PERCENT, 50),
        (101, BY_PERCENT, 50),  # 50.5 rounded down
        (103, BY_PERCENT, 51),
        (19, BY_PERCENT, 10),  # 9.5 → the floor
        (20, BY_PERCENT, 10),
        (22, BY_PERCENT, 11),
        (0, BY_PERCENT, 10),
        (-100, BY_PERCENT, 50),  # the size of the rate, whatever its sign
        (999, CAPPED, 1_998),
        (1_000, CAPPED, 2_000),
        (1_001, CAPPED, 2_000),
        (1_500, CAPPED, 2_000),
    ],
)
def test_the_largest_step_is_the_percent_rounded_down_within_floor_and_cap(
    old_ppm: int, limits: GuardLimits, step_ppm: int
) -> None:
    assert allowed_step_ppm(old_ppm, limits) == step_ppm


@pytest.mark.parametrize(
    ("old_ppm", "limits"),
    [(100, BY_PERCENT), (101, BY_PERCENT), (0, BY_PERCENT), (1_500, CAPPED), (3_000, CAPPED)],
)
def test_a_move_of_exactly_the_largest_step_is_approved_and_one_more_is_clamped(
    old_ppm: int, limits: GuardLimits
) -> None:
    step = allowed_step_ppm(old_ppm, limits)
    assert fee_after(old_ppm, old_ppm + step, limits) == (Verdict.APPROVED, old_ppm + step)
    assert fee_after(old_ppm, old_ppm + step + 1, limits) == (Verdict.CLAMPED, old_ppm + step)
    if old_ppm - step >= limits.min_fee_ppm:
        assert fee_after(old_ppm, old_ppm - step, limits) == (Verdict.APPROVED, old_ppm - step)
        assert fee_after(old_ppm, old_ppm - step - 1, limits) == (
            Verdict.CLAMPED,
            old_ppm - step,
        )


def test_a_step_clamp_names_the_step() -> None:
    guarded = review_one(proposed(1_500, 3_501), CAPPED)
    assert "fee_ppm 3501 clamped to 3500 by the largest step of 2000 ppm from 1500" in (
        guarded.reasons
    )


@pytest.mark.parametrize("bound", ["max", "min"])
def test_the_fee_bounds_are_inclusive(bound: str) -> None:
    limits = GuardLimits(min_fee_ppm=100, max_fee_ppm=1_000, max_step_ppm=100_000)
    edge, past = (1_000, 1_001) if bound == "max" else (100, 99)
    old = 500
    assert fee_after(old, edge, limits) == (Verdict.APPROVED, edge)
    verdict, fee = fee_after(old, past, limits)
    assert (verdict, fee) == (Verdict.CLAMPED, edge)
    guarded = review_one(proposed(old, past), limits)
    assert f"clamped to {edge} by [100, 1000] ppm" in " ".join(guarded.reasons)


@pytest.mark.parametrize("bound", ["max", "min"])
def test_the_base_fee_bounds_are_inclusive(bound: str) -> None:
    limits = GuardLimits(min_base_fee_msat=100, max_base_fee_msat=2_000)
    edge, past = (2_000, 2_001) if bound == "max" else (100, 99)
    at_edge = review_one(proposed(100, 100, new_base_msat=edge), limits)
    assert at_edge.verdict is Verdict.APPROVED
    beyond = review_one(proposed(100, 100, new_base_msat=past), limits)
    assert beyond.verdict is Verdict.CLAMPED
    assert beyond.policy is not None and beyond.policy.base_fee_msat == edge


@pytest.mark.parametrize(
    ("old_ppm", "verdict"),
    [(2_000, Verdict.APPROVED), (2_001, Verdict.REJECTED)],  # the bound is 1,000, the step 1,000
)
def test_an_old_rate_one_step_from_the_bound_is_brought_in_and_one_more_is_rejected(
    old_ppm: int, verdict: Verdict
) -> None:
    limits = GuardLimits(max_fee_ppm=1_000, max_step_pct=50, max_step_ppm=1_000)
    assert fee_after(old_ppm, 1_000, limits)[0] is verdict


@pytest.mark.parametrize(
    ("ago_s", "verdict"), [(6 * 3_600, Verdict.APPROVED), (6 * 3_600 - 1, Verdict.REJECTED)]
)
def test_the_cooldown_ends_at_exactly_its_length(ago_s: int, verdict: Verdict) -> None:
    limits = GuardLimits(cooldown_s=6 * 3_600, max_changes_per_day=5)
    guarded = review_one(proposed(100, 110), limits, {SCID: [NOW_S - ago_s]})
    assert guarded.verdict is verdict


@pytest.mark.parametrize(("earlier", "verdict"), [(1, Verdict.APPROVED), (2, Verdict.REJECTED)])
def test_the_daily_limit_allows_exactly_its_number(earlier: int, verdict: Verdict) -> None:
    limits = GuardLimits(cooldown_s=0, max_changes_per_day=2)
    history = [NOW_S - DAY_S + 1 + i for i in range(earlier)]
    assert review_one(proposed(100, 110), limits, {SCID: history}).verdict is verdict


def test_a_change_recorded_at_this_very_second_is_not_in_the_future() -> None:
    limits = GuardLimits(cooldown_s=0, max_changes_per_day=5)
    guarded = review_one(proposed(100, 110), limits, {SCID: [NOW_S]})
    assert guarded.verdict is Verdict.APPROVED
    later = review_one(proposed(100, 110), limits, {SCID: [NOW_S + 1]})
    assert later.verdict is Verdict.REJECTED
    assert "1 s in the future" in " ".join(later.reasons)


def test_each_verdict_is_logged_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    limits = GuardLimits(max_fee_ppm=1_000)
    with caplog.at_level(logging.DEBUG, logger="lnopt.guard"):
        review_one(proposed(100, 150), limits)
        review_one(proposed(900, 1_500), limits)
        review_one(proposed(100, 100), limits)
    assert [r.getMessage() for r in caplog.records] == [
        f"guard scid={SCID} verdict=approved fee_ppm=100->150",
        f"guard scid={SCID} verdict=clamped fee_ppm=900->1000",
        f"guard scid={SCID} verdict=rejected fee_ppm=100->-",
    ]


def test_the_guards_reasons_word_for_word() -> None:
    # a cut clamped by the step names the step, not the bounds
    cut = review_one(proposed(3_000, 999), CAPPED)
    assert cut.reasons == ("fee_ppm 999 clamped to 1000 by the largest step of 2000 ppm from 3000",)
    # nothing left to change
    same = review_one(proposed(100, 100))
    assert same.reasons == ("no change left: what may be applied equals the current policy",)
    # a change recorded in the future
    future = review_one(proposed(100, 110), GuardLimits(cooldown_s=0), {SCID: [NOW_S + 90]})
    assert future.reasons == (
        "a change is recorded 90 s in the future: the clock may have been set back; not touched "
        "until that time has passed",
    )
    # a rate that one step cannot bring within the bounds
    far = review_one(proposed(2_001, 1_000), GuardLimits(max_fee_ppm=1_000, max_step_ppm=1_000))
    assert far.reasons == (
        "fee_ppm 2001 is outside [0, 1000] ppm by more than one step of 1000 ppm: set it by hand",
    )
