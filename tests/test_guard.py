"""The guard approves, clamps or rejects each proposed fee change, and never lets one through
that leaves the operator's limits."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lnopt.config import GuardLimits
from lnopt.guard import review
from lnopt.model import ChannelPolicy, GuardedChange, ProposedChange, Verdict
from tests.factories import node_id

NOW_S = 1_760_000_000.0
HOUR_S = 3_600
DAY_S = 86_400
SCID = "850000x1x0"
PEER = node_id(1)


def proposed(
    old_ppm: int,
    new_ppm: int,
    *,
    scid: str = SCID,
    peer: str = PEER,
    old_base_msat: int = 1000,
    new_base_msat: int = 1000,
) -> ProposedChange:
    old = ChannelPolicy(base_fee_msat=old_base_msat, fee_ppm=old_ppm, htlc_min_msat=1000)
    return ProposedChange(
        short_channel_id=scid,
        peer_id=peer,
        old_policy=old,
        new_policy=old.with_fees(base_fee_msat=new_base_msat, fee_ppm=new_ppm),
        reasons=("test",),
    )


def review_one(
    change: ProposedChange,
    limits: GuardLimits | None = None,
    recent: Mapping[str, Sequence[float]] | None = None,
) -> GuardedChange:
    (guarded,) = review(
        [change], limits=limits or GuardLimits(), recent_changes=recent or {}, now_s=NOW_S
    )
    return guarded


def reasons_text(guarded: GuardedChange) -> str:
    return " | ".join(guarded.reasons)


# --- approval and clamping ---------------------------------------------------------------------


def test_a_change_within_every_limit_is_approved_unchanged() -> None:
    # Given a 100 -> 140 ppm change (the allowed step from 100 ppm is 50 ppm by default)
    change = proposed(100, 140)
    # When the guard reviews it
    guarded = review_one(change)
    # Then it is approved as proposed, HTLC settings included
    assert guarded.verdict is Verdict.APPROVED
    assert guarded.policy == change.new_policy
    assert guarded.applicable
    assert "within" in reasons_text(guarded)


def test_a_step_above_the_percent_limit_is_clamped_to_it() -> None:
    # Given a raise from 100 to 400 ppm while one step may move 50% of the old rate
    guarded = review_one(proposed(100, 400), GuardLimits(max_step_pct=50, max_step_ppm=500))
    # Then it is clamped to 150 ppm, saying the step was the limit
    assert guarded.verdict is Verdict.CLAMPED
    assert guarded.policy is not None and guarded.policy.fee_ppm == 150
    assert guarded.policy.htlc_min_msat == 1000
    assert "largest step of 50 ppm" in reasons_text(guarded)
    assert "400" in reasons_text(guarded) and "150" in reasons_text(guarded)


def test_a_cut_beyond_the_absolute_step_limit_is_clamped_to_it() -> None:
    # Given a cut from 3000 to 100 ppm: 50% would allow 1500 ppm, the absolute limit 500
    guarded = review_one(proposed(3000, 100), GuardLimits(max_step_pct=50, max_step_ppm=500))
    # Then the absolute limit wins
    assert guarded.verdict is Verdict.CLAMPED
    assert guarded.policy is not None and guarded.policy.fee_ppm == 2500


def test_a_fee_at_zero_ppm_can_still_move_by_the_step_floor() -> None:
    # Given a channel at 0 ppm, where any percentage of the rate is 0
    limits = GuardLimits(max_step_pct=50, step_floor_ppm=10, max_step_ppm=500)
    # When a raise to 100 ppm is proposed
    guarded = review_one(proposed(0, 100), limits)
    # Then it may move by the floor
    assert guarded.verdict is Verdict.CLAMPED
    assert guarded.policy is not None and guarded.policy.fee_ppm == 10


def test_an_absolute_step_of_zero_freezes_the_rate() -> None:
    guarded = review_one(proposed(0, 100), GuardLimits(step_floor_ppm=10, max_step_ppm=0))
    assert guarded.verdict is Verdict.REJECTED
    assert "no change left" in reasons_text(guarded)


def test_a_rate_above_the_maximum_is_clamped_to_the_bound() -> None:
    guarded = review_one(proposed(4900, 5400), GuardLimits(max_fee_ppm=5000))
    assert guarded.verdict is Verdict.CLAMPED
    assert guarded.policy is not None and guarded.policy.fee_ppm == 5000
    assert "[0, 5000] ppm" in reasons_text(guarded)


def test_a_negative_rate_is_clamped_to_the_minimum() -> None:
    guarded = review_one(proposed(5, -20), GuardLimits(min_fee_ppm=1))
    assert guarded.verdict is Verdict.CLAMPED
    assert guarded.policy is not None and guarded.policy.fee_ppm == 1


def test_a_base_fee_outside_its_bounds_is_clamped() -> None:
    # Given a change that also raises the base fee to 20 000 msat (maximum 10 000)
    guarded = review_one(
        proposed(100, 120, new_base_msat=20_000), GuardLimits(max_base_fee_msat=10_000)
    )
    # Then the rate passes and the base fee is clamped
    assert guarded.verdict is Verdict.CLAMPED
    assert guarded.policy is not None
    assert (guarded.policy.base_fee_msat, guarded.policy.fee_ppm) == (10_000, 120)
    assert "base_fee_msat 20000 clamped to 10000" in reasons_text(guarded)


def test_an_old_rate_beyond_one_step_from_the_bounds_is_rejected() -> None:
    # Given a rate set by hand at 9000 ppm, while the maximum is 5000 and one step 500
    guarded = review_one(proposed(9000, 8000), GuardLimits(max_fee_ppm=5000, max_step_ppm=500))
    # Then nothing inside the bounds is reachable: rejected, the bounds are never left
    assert guarded.verdict is Verdict.REJECTED
    assert guarded.policy is None
    assert "9000 is outside [0, 5000] ppm" in reasons_text(guarded)


def test_a_change_clamped_back_to_the_old_policy_is_rejected_as_no_change_left() -> None:
    # Given a rate already at the maximum and a proposal above it
    guarded = review_one(proposed(5000, 5400), GuardLimits(max_fee_ppm=5000))
    # Then clamping leaves nothing to do
    assert guarded.verdict is Verdict.REJECTED
    assert guarded.policy is None
    assert "no change left" in reasons_text(guarded)
    assert "clamped to 5000" in reasons_text(guarded)


def test_a_proposal_equal_to_the_current_policy_is_rejected() -> None:
    guarded = review_one(proposed(100, 100))
    assert guarded.verdict is Verdict.REJECTED
    assert "no change left" in reasons_text(guarded)


# --- scope -------------------------------------------------------------------------------------


def test_an_excluded_channel_is_never_touched() -> None:
    guarded = review_one(proposed(100, 110), GuardLimits(exclude_channels=(SCID,)))
    assert guarded.verdict is Verdict.REJECTED
    assert f"channel {SCID} is in guard.exclude_channels" in reasons_text(guarded)


def test_a_channel_to_an_excluded_peer_is_never_touched() -> None:
    guarded = review_one(proposed(100, 110), GuardLimits(exclude_peers=(PEER,)))
    assert guarded.verdict is Verdict.REJECTED
    assert f"peer {PEER} is in guard.exclude_peers" in reasons_text(guarded)


def test_an_allow_list_rejects_every_other_channel() -> None:
    limits = GuardLimits(allow_channels=("850000x9x0",))
    other = review_one(proposed(100, 110), limits)
    allowed = review_one(proposed(100, 110, scid="850000x9x0"), limits)
    assert other.verdict is Verdict.REJECTED
    assert "not in guard.allow_channels" in reasons_text(other)
    assert allowed.verdict is Verdict.APPROVED


def test_a_rejection_lists_every_reason() -> None:
    # Given an excluded channel, changed an hour ago, with a proposal it cannot change
    limits = GuardLimits(exclude_channels=(SCID,), cooldown_s=6 * HOUR_S, max_changes_per_day=1)
    guarded = review_one(proposed(100, 100), limits, {SCID: [NOW_S - HOUR_S]})
    # Then each refusal is named
    text = reasons_text(guarded)
    assert "exclude_channels" in text
    assert "cooldown" in text
    assert "max_changes_per_day" in text
    assert "no change left" in text


# --- rate --------------------------------------------------------------------------------------


def test_a_change_within_the_cooldown_is_rejected() -> None:
    # Given a channel changed an hour ago, a 6-hour cooldown and room for 5 changes a day
    limits = GuardLimits(cooldown_s=6 * HOUR_S, max_changes_per_day=5)
    guarded = review_one(proposed(100, 110), limits, {SCID: [NOW_S - HOUR_S]})
    # Then the cooldown refuses it, with the times
    assert guarded.verdict is Verdict.REJECTED
    assert "last change 3600 s ago" in reasons_text(guarded)
    assert "cooldown_s = 21600" in reasons_text(guarded)


def test_a_change_after_the_cooldown_is_approved() -> None:
    limits = GuardLimits(cooldown_s=6 * HOUR_S, max_changes_per_day=5)
    guarded = review_one(proposed(100, 110), limits, {SCID: [NOW_S - 7 * HOUR_S]})
    assert guarded.verdict is Verdict.APPROVED


def test_the_daily_limit_counts_the_last_24_hours() -> None:
    # Given two changes allowed a day and no cooldown
    limits = GuardLimits(max_changes_per_day=2, cooldown_s=0)
    # When two changes were made in the last 24 h, or two just over 24 h ago
    busy = review_one(proposed(100, 110), limits, {SCID: [NOW_S - 20 * HOUR_S, NOW_S - HOUR_S]})
    quiet = review_one(proposed(100, 110), limits, {SCID: [NOW_S - DAY_S, NOW_S - 25 * HOUR_S]})
    # Then only the first is refused
    assert busy.verdict is Verdict.REJECTED
    assert "2 change(s) in the last 24 h" in reasons_text(busy)
    assert quiet.verdict is Verdict.APPROVED


@pytest.mark.parametrize(
    ("changed_s_ago", "verdict"),
    [(DAY_S - 1, Verdict.REJECTED), (DAY_S, Verdict.APPROVED)],
)
def test_the_day_reaches_exactly_24_hours_back(changed_s_ago: int, verdict: Verdict) -> None:
    limits = GuardLimits(max_changes_per_day=1, cooldown_s=0)
    guarded = review_one(proposed(100, 110), limits, {SCID: [NOW_S - changed_s_ago]})
    assert guarded.verdict is verdict


def test_a_change_recorded_in_the_future_blocks_the_channel() -> None:
    guarded = review_one(proposed(100, 110), GuardLimits(), {SCID: [NOW_S + 120]})
    assert guarded.verdict is Verdict.REJECTED
    assert "120 s in the future" in reasons_text(guarded)


def test_changes_earlier_in_the_batch_count_toward_the_daily_limit() -> None:
    # Given the same channel twice in one batch and one change allowed a day
    batch = [proposed(100, 110), proposed(100, 120), proposed(100, 90, scid="850000x2x0")]
    # When the guard reviews the batch
    first, second, other = review(
        batch, limits=GuardLimits(max_changes_per_day=1), recent_changes={}, now_s=NOW_S
    )
    # Then the first is approved, the repeat refused, the other channel unaffected
    assert first.verdict is Verdict.APPROVED
    assert second.verdict is Verdict.REJECTED
    assert "1 change(s) in the last 24 h" in reasons_text(second)
    assert other.verdict is Verdict.APPROVED


def test_a_rejected_change_does_not_use_up_the_daily_limit() -> None:
    batch = [proposed(100, 100), proposed(100, 120)]
    first, second = review(batch, limits=GuardLimits(), recent_changes={}, now_s=NOW_S)
    assert first.verdict is Verdict.REJECTED
    assert second.verdict is Verdict.APPROVED


def test_review_keeps_the_order_and_is_deterministic() -> None:
    batch = [proposed(100, 400), proposed(100, 90, scid="850000x2x0"), proposed(50, 50)]
    once = review(batch, limits=GuardLimits(), recent_changes={}, now_s=NOW_S)
    again = review(batch, limits=GuardLimits(), recent_changes={}, now_s=NOW_S)
    assert once == again
    assert [guarded.change for guarded in once] == batch
    assert [guarded.verdict for guarded in once] == [
        Verdict.CLAMPED,
        Verdict.APPROVED,
        Verdict.REJECTED,
    ]


# --- properties --------------------------------------------------------------------------------

SCIDS = ("850000x1x0", "850000x2x0", "850000x3x0")
PEERS = (node_id(1), node_id(2), node_id(3))
amounts = st.one_of(
    st.integers(min_value=-1_000, max_value=6_000),
    st.integers(min_value=-(10**9), max_value=10**12),
)


@st.composite
def guard_limits(draw: st.DrawFn) -> GuardLimits:
    fee_bounds = sorted(draw(st.lists(st.integers(0, 20_000), min_size=2, max_size=2)))
    base_bounds = sorted(draw(st.lists(st.integers(0, 50_000), min_size=2, max_size=2)))
    allow = draw(st.none() | st.lists(st.sampled_from(SCIDS), unique=True).map(tuple))
    return GuardLimits(
        min_fee_ppm=fee_bounds[0],
        max_fee_ppm=fee_bounds[1],
        min_base_fee_msat=base_bounds[0],
        max_base_fee_msat=base_bounds[1],
        max_step_pct=draw(st.integers(0, 300)),
        max_step_ppm=draw(st.integers(0, 3_000)),
        step_floor_ppm=draw(st.integers(0, 200)),
        max_changes_per_day=draw(st.integers(0, 3)),
        cooldown_s=draw(st.integers(0, 2 * DAY_S)),
        exclude_peers=tuple(draw(st.lists(st.sampled_from(PEERS), unique=True))),
        exclude_channels=tuple(draw(st.lists(st.sampled_from(SCIDS), unique=True))),
        allow_channels=allow,
    )


@st.composite
def changes(draw: st.DrawFn) -> ProposedChange:
    index = draw(st.integers(0, len(SCIDS) - 1))
    old = ChannelPolicy(base_fee_msat=draw(amounts), fee_ppm=draw(amounts))
    return ProposedChange(
        short_channel_id=SCIDS[index],
        peer_id=PEERS[index],
        old_policy=old,
        new_policy=old.with_fees(base_fee_msat=draw(amounts), fee_ppm=draw(amounts)),
        reasons=(),
    )


histories = st.dictionaries(
    st.sampled_from(SCIDS),
    st.lists(
        st.one_of(
            st.floats(NOW_S - 3 * DAY_S, NOW_S),
            st.sampled_from([NOW_S, NOW_S - DAY_S, NOW_S - DAY_S + 1, NOW_S + 60]),
        ),
        max_size=4,
    ),
)


def largest_24h_count(times: Sequence[float], containing_s: float) -> int:
    """Most changes in any 24-hour period [start, start + 24 h) that contains ``containing_s``."""
    starts = [t for t in [*times, containing_s] if containing_s - DAY_S < t <= containing_s]
    return max(sum(1 for t in times if start <= t < start + DAY_S) for start in starts)


@settings(max_examples=400, deadline=None)
@given(
    limits=guard_limits(),
    batch=st.lists(changes(), max_size=8),
    recent=histories,
)
def test_nothing_applicable_ever_leaves_the_limits(
    limits: GuardLimits, batch: list[ProposedChange], recent: dict[str, list[float]]
) -> None:
    verdicts = review(batch, limits=limits, recent_changes=recent, now_s=NOW_S)

    assert [guarded.change for guarded in verdicts] == batch
    applied = Counter[str]()
    for guarded in verdicts:
        change, policy = guarded.change, guarded.policy
        if guarded.verdict is Verdict.REJECTED:
            assert policy is None and guarded.reasons
            continue
        assert policy is not None
        applied[change.short_channel_id] += 1
        old_ppm = change.old_policy.fee_ppm
        # bounds
        assert limits.min_fee_ppm <= policy.fee_ppm <= limits.max_fee_ppm
        assert limits.min_base_fee_msat <= policy.base_fee_msat <= limits.max_base_fee_msat
        # step: the percentage (at least the floor), and never beyond the absolute limit
        moved = abs(policy.fee_ppm - old_ppm)
        assert moved <= limits.max_step_ppm
        assert moved <= max(limits.step_floor_ppm, abs(old_ppm) * limits.max_step_pct // 100)
        # a real change, exactly as proposed unless clamped
        assert policy != change.old_policy
        assert (policy == change.new_policy) is (guarded.verdict is Verdict.APPROVED)
        # scope
        assert change.short_channel_id not in limits.exclude_channels
        assert change.peer_id not in limits.exclude_peers
        if limits.allow_channels is not None:
            assert change.short_channel_id in limits.allow_channels

    for scid, count in applied.items():
        history = list(recent.get(scid, []))
        # no change recorded after now, none within the cooldown, at most one per batch then
        assert all(t <= NOW_S and NOW_S - t >= limits.cooldown_s for t in history)
        assert count == 1 or limits.cooldown_s == 0
        # no 24-hour period holds more changes than allowed, history and batch together
        times = [*history, *[NOW_S] * count]
        assert largest_24h_count(times, NOW_S) <= limits.max_changes_per_day


@settings(max_examples=200, deadline=None)
@given(limits=guard_limits(), batch=st.lists(changes(), max_size=6), recent=histories)
def test_excluded_channels_and_peers_are_rejected_whatever_else_holds(
    limits: GuardLimits, batch: list[ProposedChange], recent: dict[str, list[float]]
) -> None:
    excluded = dataclasses.replace(limits, exclude_channels=SCIDS[:2], exclude_peers=PEERS[2:])
    verdicts = review(batch, limits=excluded, recent_changes=recent, now_s=NOW_S)
    assert all(guarded.verdict is Verdict.REJECTED for guarded in verdicts)
    assert all("never touched" in reasons_text(guarded) for guarded in verdicts)


@pytest.mark.parametrize("max_changes_per_day", [1, 2, 3])
def test_a_long_batch_of_one_channel_gets_at_most_the_daily_allowance(
    max_changes_per_day: int,
) -> None:
    limits = GuardLimits(max_changes_per_day=max_changes_per_day, cooldown_s=0)
    batch = [proposed(100, 100 + step) for step in range(1, 11)]
    verdicts = review(batch, limits=limits, recent_changes={}, now_s=NOW_S)
    assert sum(guarded.applicable for guarded in verdicts) == max_changes_per_day
