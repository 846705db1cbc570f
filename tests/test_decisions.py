"""The decider turns each channel's score, balance and activity into one explained decision."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from lnopt.config import HEURISTIC_NAMES, Config, default_config, load_config
from lnopt.decisions import (
    PRECEDENCE,
    RULES,
    ChannelFacts,
    RuleContext,
    channel_facts,
    decide,
)
from lnopt.errors import InvalidRequest
from lnopt.model import (
    Action,
    Channel,
    ChannelActivity,
    ChannelScore,
    ChannelState,
    ConfidenceLevel,
    Decision,
    HeuristicScore,
    PriceHistory,
    ProposedChange,
)
from tests.factories import activity, channel, gossip_item, graph_for, node_id, snapshot

CONFIG = default_config()
NOW_S = 1_760_000_000
DAY_S = 86_400
SAT = 1000
BUSY_WEEK = {"forwards_out": 10, "volume_out_msat": 70_000_000 * SAT, "local_failed": 3}


def score_of(ch: Channel, *, score: float = 0.4, confidence: float = 0.9) -> ChannelScore:
    """A hand-made score: every heuristic agrees on ``score`` and ``confidence``."""
    parts = tuple(
        HeuristicScore(name, score, confidence, {}, f"{name} set by the test")
        for name in HEURISTIC_NAMES
    )
    return ChannelScore(ch.short_channel_id, ch.peer_id, score, confidence, parts)


def alternatives(peer: str, *fee_ppms: int, base_fee_msat: int = 1000) -> list[dict[str, Any]]:
    """Gossip: other nodes' channels toward ``peer`` with the given fee rates."""
    return [
        gossip_item(
            f"800000x{100 + i}x0",
            node_id(100 + i),
            peer,
            fee_ppm=fee_ppm,
            base_fee_msat=base_fee_msat,
        )
        for i, fee_ppm in enumerate(fee_ppms)
    ]


def decide_one(
    ch: Channel,
    *,
    activity_record: ChannelActivity | None = None,
    score: float = 0.4,
    confidence: float = 0.9,
    alternative_ppms: Sequence[int] = (),
    config: Config = CONFIG,
) -> Decision:
    graph = graph_for([ch], alternatives(ch.peer_id, *alternative_ppms))
    records = {} if activity_record is None else {ch.short_channel_id: activity_record}
    snap = snapshot([ch], activity_by_scid=records, graph=graph, taken_at_s=NOW_S)
    (decision,) = decide(snap, [score_of(ch, score=score, confidence=confidence)], config)
    return decision


def text(decision: Decision) -> str:
    return " ".join(decision.reasons)


def depleted_and_busy(**overrides: Any) -> tuple[Channel, ChannelActivity]:
    ch = channel(1, **{"local_ratio": 0.2, "fee_ppm": 200, **overrides})
    return ch, activity(ch.short_channel_id, last_7d=BUSY_WEEK, last_30d=BUSY_WEEK)


def idle_record(ch: Channel, *, last_forward_days_ago: float | None = None) -> ChannelActivity:
    last = None if last_forward_days_ago is None else NOW_S - last_forward_days_ago * DAY_S
    return dataclasses.replace(activity(ch.short_channel_id), last_forward_s=last)


# --- raise -------------------------------------------------------------------------------------


def test_a_depleted_channel_in_demand_gets_a_higher_fee() -> None:
    # Given 20% local, 10 forwards out and 3 failed for liquidity this week, at 200 ppm
    ch, record = depleted_and_busy()
    # When the decider looks at it (score below the rebalance threshold)
    decision = decide_one(ch, activity_record=record, score=0.4)
    # Then it raises the fee by one step (15% of 200 ppm), keeping base and HTLC settings
    assert decision.action is Action.RAISE_FEES
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 230
    assert decision.proposed_policy.base_fee_msat == ch.our_policy.base_fee_msat
    assert decision.proposed_policy.cltv_delta == ch.our_policy.cltv_delta
    assert decision.current_policy == ch.our_policy
    # and says why, with the figures
    for figure in ("20%", "10 forwards out", "3 failed", "200 → 230 ppm"):
        assert figure in text(decision)


def test_a_raise_from_zero_ppm_takes_the_minimum_step() -> None:
    ch, record = depleted_and_busy(fee_ppm=0)
    decision = decide_one(ch, activity_record=record)
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == CONFIG.decisions.fee_step_min_ppm


def test_failed_forwards_alone_show_demand() -> None:
    ch = channel(1, local_ratio=0.2)
    record = activity(ch.short_channel_id, last_7d={"local_failed": 2})
    decision = decide_one(ch, activity_record=record)
    assert decision.action is Action.RAISE_FEES
    assert decision.impact.daily_fee_delta_msat == 0
    assert "no outbound volume" in decision.impact.basis


def test_a_depleted_channel_without_demand_is_kept() -> None:
    ch = channel(1, local_ratio=0.2)
    decision = decide_one(ch, activity_record=activity(ch.short_channel_id))
    assert decision.action is Action.KEEP
    assert "No rule calls for a change" in text(decision)
    assert "20%" in text(decision)


def test_a_raise_is_expected_to_earn_more_under_mild_elasticity() -> None:
    ch, record = depleted_and_busy()
    decision = decide_one(ch, activity_record=record)
    assert decision.impact.daily_fee_delta_msat > 0
    assert "10,000,000 sat/day" in decision.impact.basis
    assert "elasticity 0.5" in decision.impact.basis


def test_a_raise_is_expected_to_earn_less_when_volume_is_very_elastic() -> None:
    ch, record = depleted_and_busy()
    elastic = load_config(None, {"decisions": {"fee_elasticity": 20.0}})
    decision = decide_one(ch, activity_record=record, config=elastic)
    assert decision.action is Action.RAISE_FEES
    assert decision.impact.daily_fee_delta_msat < 0


def test_thresholds_come_from_the_configuration() -> None:
    # Given the same depleted, busy channel, but raising only below 10% local
    ch, record = depleted_and_busy()
    strict = load_config(None, {"decisions": {"raise_below_local_ratio": 0.1}})
    # Then the decider keeps it
    assert decide_one(ch, activity_record=record, config=strict).action is Action.KEEP


# --- lower -------------------------------------------------------------------------------------


def test_idle_full_liquidity_priced_above_the_alternatives_gets_a_lower_fee() -> None:
    # Given 90% local, no forward out this week, 500 ppm against alternatives at 100/150/900
    ch = channel(1, local_ratio=0.9, fee_ppm=500)
    decision = decide_one(
        ch, activity_record=activity(ch.short_channel_id), alternative_ppms=(100, 150, 900)
    )
    # Then it lowers the fee by one step (15% of 500), towards the alternatives' median
    assert decision.action is Action.LOWER_FEES
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 425
    for figure in ("90%", "0 forwards out", "median 150 ppm", "3 other channels", "500 → 425"):
        assert figure in text(decision)


def test_a_lower_fee_stops_at_the_alternatives_median() -> None:
    ch = channel(1, local_ratio=0.9, fee_ppm=160)
    decision = decide_one(ch, alternative_ppms=(150, 150, 400))
    assert decision.action is Action.LOWER_FEES
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 150


def test_full_liquidity_already_priced_below_the_alternatives_is_kept() -> None:
    ch = channel(1, local_ratio=0.9, fee_ppm=100)
    decision = decide_one(ch, alternative_ppms=(200, 300, 400))
    assert decision.action is Action.KEEP
    assert decision.proposed_policy is None
    assert "Already competitive" in text(decision)
    assert "median 300 ppm" in text(decision)


def test_full_liquidity_without_alternatives_is_kept() -> None:
    ch = channel(1, local_ratio=0.9, fee_ppm=500)
    decision = decide_one(ch)
    assert decision.action is Action.KEEP
    assert "compare" in text(decision)


def test_full_liquidity_that_still_forwards_is_not_repriced() -> None:
    ch = channel(1, local_ratio=0.9, fee_ppm=500)
    record = activity(ch.short_channel_id, last_7d={"forwards_out": 4})
    decision = decide_one(ch, activity_record=record, alternative_ppms=(100,))
    assert decision.action is Action.KEEP


# --- rebalance ---------------------------------------------------------------------------------


def test_a_depleted_valuable_channel_is_rebalanced_rather_than_repriced() -> None:
    # Given 5% local on a 5M sat channel with strong demand and a good score
    ch = channel(1, local_ratio=0.05, fee_ppm=200)
    record = activity(ch.short_channel_id, last_7d=BUSY_WEEK)
    # When the decider looks at it
    decision = decide_one(ch, activity_record=record, score=0.7)
    # Then it proposes a rebalance, no fee change, toward the target balance
    assert decision.action is Action.REBALANCE
    assert decision.proposed_policy is None
    assert "5%" in text(decision)
    assert "2,250,000 sat" in text(decision)  # 50% of 5M sat minus the 250k sat held
    # and expects to earn the fees of the forwards it failed for lack of liquidity
    assert decision.impact.daily_fee_delta_msat > 0
    assert "3 forwards failed" in decision.impact.basis


def test_a_depleted_poor_channel_is_repriced_not_rebalanced() -> None:
    ch = channel(1, local_ratio=0.05, fee_ppm=200)
    record = activity(ch.short_channel_id, last_7d=BUSY_WEEK)
    assert decide_one(ch, activity_record=record, score=0.3).action is Action.RAISE_FEES


# --- close -------------------------------------------------------------------------------------


def test_an_old_idle_useless_channel_is_proposed_for_closing() -> None:
    # Given a 139-day-old channel, score 0.05, last forward 45 days ago
    ch = channel(1, local_ratio=0.6, age_blocks=20_000)
    decision = decide_one(ch, activity_record=idle_record(ch, last_forward_days_ago=45), score=0.05)
    # Then closing is proposed, with all three figures
    assert decision.action is Action.CLOSE
    assert decision.proposed_policy is None
    for figure in ("0.05", "45 days", "139 days old", "3,000,000 sat"):
        assert figure in text(decision)
    assert decision.impact.daily_fee_delta_msat == 0


def test_a_channel_without_a_forward_in_any_window_counts_as_idle_for_30_days() -> None:
    ch = channel(1)
    decision = decide_one(ch, activity_record=idle_record(ch), score=0.05)
    assert decision.action is Action.CLOSE
    assert "at least 30 days" in text(decision)


@pytest.mark.parametrize(
    ("age_blocks", "record_of", "why"),
    [
        (1_000, lambda ch: idle_record(ch, last_forward_days_ago=45), "young"),
        (20_000, lambda ch: idle_record(ch, last_forward_days_ago=3), "forwarded 3 days ago"),
        (20_000, lambda ch: activity(ch.short_channel_id, last_30d={"forwards_in": 1}), "in"),
        (20_000, lambda ch: activity(ch.short_channel_id, last_7d={"local_failed": 1}), "failed"),
        (20_000, lambda ch: None, "no activity record"),
    ],
)
def test_a_young_or_recently_active_poor_channel_is_never_closed(
    age_blocks: int, record_of: Any, why: str
) -> None:
    ch = channel(1, local_ratio=0.5, age_blocks=age_blocks)
    decision = decide_one(ch, activity_record=record_of(ch), score=0.0)
    assert decision.action is not Action.CLOSE, why


def test_a_stale_last_forward_time_does_not_hide_recent_activity() -> None:
    ch = channel(1)
    record = dataclasses.replace(
        activity(ch.short_channel_id, last_7d={"forwards_out": 1}),
        last_forward_s=NOW_S - 90 * DAY_S,
    )
    assert decide_one(ch, activity_record=record, score=0.0).action is not Action.CLOSE


# --- keep --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", [ChannelState.INACTIVE, ChannelState.PENDING, ChannelState.CLOSING]
)
def test_a_channel_that_is_not_active_is_kept(state: ChannelState) -> None:
    ch, record = depleted_and_busy(state=state)
    decision = decide_one(ch, activity_record=record)
    assert decision.action is Action.KEEP
    assert decision.proposed_policy is None
    assert state.value in text(decision)


def test_low_confidence_keeps_the_channel_and_says_so() -> None:
    ch, record = depleted_and_busy()
    decision = decide_one(ch, activity_record=record, confidence=0.2)
    assert decision.action is Action.KEEP
    assert "Confidence 0.20 is below the minimum 0.30" in text(decision)
    assert decision.level is ConfidenceLevel.LOW


def test_low_confidence_prevents_even_a_close() -> None:
    ch = channel(1)
    assert decide_one(ch, activity_record=idle_record(ch), score=0.0, confidence=0.1).action is (
        Action.KEEP
    )


def test_a_channel_with_a_disconnected_peer_is_kept() -> None:
    ch, record = depleted_and_busy(connected=False)
    decision = decide_one(ch, activity_record=record)
    assert decision.action is Action.KEEP
    assert "disconnected" in text(decision)


def test_a_channel_of_unknown_balance_is_kept() -> None:
    ch, record = depleted_and_busy(balance_known=False)
    decision = decide_one(ch, activity_record=record)
    assert decision.action is Action.KEEP
    assert "balance is not known" in text(decision)


def test_a_balanced_channel_is_kept_with_the_figures_looked_at() -> None:
    ch = channel(1, local_ratio=0.5, fee_ppm=120)
    record = activity(ch.short_channel_id, last_7d={"forwards_out": 5})
    decision = decide_one(ch, activity_record=record, score=0.6)
    assert decision.action is Action.KEEP
    assert decision.impact.daily_fee_delta_msat == 0
    assert decision.impact.basis
    for figure in ("50%", "5 forwards out", "120 ppm", "0.60"):
        assert figure in text(decision)


# --- the whole --------------------------------------------------------------------------------


def mixed_snapshot() -> tuple[Any, list[ChannelScore]]:
    raise_ch, busy = depleted_and_busy()
    lower_ch = channel(2, local_ratio=0.9, fee_ppm=500)
    close_ch = channel(3)
    graph = graph_for([raise_ch, lower_ch, close_ch], alternatives(lower_ch.peer_id, 100))
    snap = snapshot(
        [raise_ch, lower_ch, close_ch],
        activity_by_scid={
            raise_ch.short_channel_id: busy,
            close_ch.short_channel_id: idle_record(close_ch),
        },
        graph=graph,
        taken_at_s=NOW_S,
    )
    scores = [score_of(close_ch, score=0.05), score_of(raise_ch), score_of(lower_ch, score=0.5)]
    return snap, scores


def test_one_decision_per_score_in_order_and_deterministic() -> None:
    snap, scores = mixed_snapshot()
    first = decide(snap, scores, CONFIG)
    assert [d.short_channel_id for d in first] == [s.short_channel_id for s in scores]
    assert [d.action for d in first] == [Action.CLOSE, Action.RAISE_FEES, Action.LOWER_FEES]
    assert decide(snap, scores, CONFIG) == first
    assert decide(snap, list(reversed(scores)), CONFIG) == tuple(reversed(first))


def test_only_fee_decisions_become_proposed_changes() -> None:
    snap, scores = mixed_snapshot()
    changes = [ProposedChange.from_decision(d) for d in decide(snap, scores, CONFIG)]
    assert [change is not None for change in changes] == [False, True, True]


def test_a_score_for_a_channel_the_snapshot_lacks_is_refused() -> None:
    snap, _ = mixed_snapshot()
    stranger = score_of(channel(9))
    with pytest.raises(InvalidRequest, match=r"score for channel \d+x9x0"):
        decide(snap, [stranger], CONFIG)


@pytest.mark.parametrize(
    ("confidence", "level"),
    [
        (0.95, ConfidenceLevel.HIGH),
        (0.81, ConfidenceLevel.HIGH),
        (0.8, ConfidenceLevel.MEDIUM),
        (0.5, ConfidenceLevel.MEDIUM),
        (0.49, ConfidenceLevel.LOW),
    ],
)
def test_the_decision_carries_the_score_confidence_and_its_level(
    confidence: float, level: ConfidenceLevel
) -> None:
    ch, record = depleted_and_busy()
    decision = decide_one(ch, activity_record=record, confidence=confidence)
    assert decision.action is Action.RAISE_FEES
    assert decision.confidence == confidence
    assert decision.level is level


def test_every_rule_is_named_after_its_function_in_order_of_precedence() -> None:
    assert tuple(RULES) == PRECEDENCE
    assert [function.__name__ for function in RULES.values()] == list(PRECEDENCE)
    assert PRECEDENCE[:2] == ("not_open", "low_confidence")


# --- properties --------------------------------------------------------------------------------

windows = st.fixed_dictionaries(
    {
        "forwards_in": st.integers(0, 3),
        "forwards_out": st.integers(0, 30),
        "volume_in_msat": st.integers(0, 10**11),
        "volume_out_msat": st.integers(0, 10**12),
        "fees_earned_msat": st.integers(0, 10**7),
        "failed": st.integers(0, 2),
        "local_failed": st.integers(0, 5),
    }
)
quiet_window: st.SearchStrategy[dict[str, int]] = st.just({})


def added(*parts: dict[str, int]) -> dict[str, int]:
    """Counters of nested windows: the last day's are part of the week's, those of the month."""
    total: dict[str, int] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + value
    return total


@st.composite
def activity_records(draw: st.DrawFn, scid: str) -> ChannelActivity | None:
    """No record, a quiet one, or nested 1/7/30-day windows with a last forward time."""
    kind = draw(st.sampled_from(["none", "quiet", "busy", "busy"]))
    if kind == "none":
        return None
    if kind == "quiet":
        day, rest_of_week, rest_of_month = {}, {}, {}
    else:
        day = draw(windows | quiet_window)
        rest_of_week = draw(windows | quiet_window)
        rest_of_month = draw(windows | quiet_window)
    week = added(day, rest_of_week)
    record = activity(scid, last_1d=day, last_7d=week, last_30d=added(week, rest_of_month))
    days_ago = draw(st.none() | st.floats(0, 120))
    return dataclasses.replace(
        record, last_forward_s=None if days_ago is None else NOW_S - days_ago * DAY_S
    )


@st.composite
def price_histories(draw: st.DrawFn, fee_ppm: int) -> PriceHistory | None:
    """None, or what the fee journal says the channel earned at ``fee_ppm`` and the rate
    before (now and then a current rate other than the channel's: lnopt's journal no longer
    applies)."""
    if draw(st.booleans()):
        return None
    current_ppm = draw(st.sampled_from([fee_ppm, fee_ppm, fee_ppm, fee_ppm + 1]))
    return PriceHistory(
        current_ppm=current_ppm,
        since_s=NOW_S - draw(st.floats(0, 14)) * DAY_S,
        current_forwards_out=draw(st.integers(0, 20)),
        current_fees_msat=draw(st.integers(0, 10**6)),
        previous_ppm=draw(st.integers(max(0, fee_ppm - 300), fee_ppm + 300)),
        previous_days=draw(st.sampled_from([0.0, 0.5, 7.0]) | st.floats(0, 7)),
        previous_forwards_out=draw(st.integers(0, 20)),
        previous_fees_msat=draw(st.integers(0, 10**6)),
    )


def lowered_recently(facts: ChannelFacts) -> bool:
    price, limits = facts.price, CONFIG.decisions
    return (
        price is not None
        and price.current_ppm < price.previous_ppm
        and facts.price_days < limits.probe_pause_days
    )


def rule_kept_its_promise(
    name: str, decision: Decision, ch: Channel, facts: ChannelFacts, score: float
) -> None:
    """What the documentation of :mod:`lnopt.decisions` promises for the rule that decided."""
    limits = CONFIG.decisions
    action, fee_ppm = decision.action, ch.our_policy.fee_ppm
    new_ppm = None if decision.proposed_policy is None else decision.proposed_policy.fee_ppm
    median = facts.alternative_median_ppm
    if name in ("not_open", "low_confidence", "offline", "balance_unknown", "hold"):
        assert action is Action.KEEP
    if name == "not_open":
        assert ch.state is not ChannelState.ACTIVE
    elif name == "low_confidence":
        assert decision.confidence < limits.min_confidence
    elif name == "close":
        assert action is Action.CLOSE
        assert score < limits.close_below_score
        assert facts.age_days >= limits.close_min_age_days
        assert facts.idle_days >= limits.close_idle_days
        assert facts.forwards_out_30d == 0
    elif name == "offline":
        assert not ch.connected
    elif name == "balance_unknown":
        assert not ch.balance_known
    elif name == "draining":
        week_per_day = (facts.volume_out_7d_msat - facts.volume_in_7d_msat) / 7
        pace = max(week_per_day, facts.net_out_1d_msat)
        assert facts.forwards_out_1d >= 1
        assert 0 < pace and ch.local_msat < limits.drain_horizon_days * pace
        assert action is (Action.KEEP if lowered_recently(facts) else Action.RAISE_FEES)
    elif name == "rebalance":
        assert action is Action.REBALANCE
        assert facts.local_ratio < limits.rebalance_below_local_ratio
        assert score >= limits.rebalance_min_score
        assert facts.demand_7d >= limits.raise_min_forwards_7d
    elif name == "raise_fees":
        assert action is Action.RAISE_FEES
        assert facts.local_ratio < limits.raise_below_local_ratio
        assert facts.demand_7d >= limits.raise_min_forwards_7d
    elif name == "price_test":
        assert facts.price is not None and facts.price.current_ppm > facts.price.previous_ppm
        assert facts.price.current_ppm == fee_ppm
        if action is Action.LOWER_FEES:
            assert new_ppm == facts.price.previous_ppm
            assert facts.local_ratio >= limits.raise_below_local_ratio
        elif action is Action.RAISE_FEES:
            assert facts.price.current_forwards_out > 0
        else:
            assert action is Action.KEEP
    elif name == "untested_price":
        assert action is Action.RAISE_FEES
        assert not facts.has_history
        assert facts.local_ratio < CONFIG.liquidity.saturated_ratio
        assert new_ppm == median
    elif name == "base_fee_above_market":
        assert action is Action.LOWER_FEES
        assert facts.local_ratio > limits.lower_above_local_ratio
        assert facts.forwards_out_7d < limits.probe_min_forwards_7d
        market_base = facts.alternative_median_base_msat
        assert market_base is not None
        assert ch.our_policy.base_fee_msat - market_base > limits.base_fee_tolerance_msat
        assert decision.proposed_policy is not None
        assert decision.proposed_policy.base_fee_msat == market_base
    elif name == "lower_fees":
        assert facts.local_ratio > limits.lower_above_local_ratio
        assert facts.forwards_out_7d <= limits.lower_max_forwards_7d
        if action is Action.LOWER_FEES:
            assert median is not None and new_ppm is not None
            assert median <= new_ppm < fee_ppm
        else:
            assert action is Action.KEEP
            assert median is None or fee_ppm <= median
    elif name == "probe_price":
        assert facts.forwards_out_1d >= max(1, limits.probe_min_forwards_1d)
        assert facts.forwards_out_7d >= limits.probe_min_forwards_7d
        assert action is (Action.KEEP if lowered_recently(facts) else Action.RAISE_FEES)
        if action is Action.RAISE_FEES:
            assert new_ppm is not None and new_ppm >= (median or 0)


confident = st.floats(CONFIG.decisions.min_confidence, 1)


def test_every_rule_fires_and_every_decision_keeps_its_rules_promise() -> None:
    fired: Counter[str] = Counter()

    @settings(max_examples=800, deadline=None, derandomize=True, database=None)
    @given(
        local_ratio=st.floats(0, 1) | st.sampled_from([0.0, 0.05, 0.08, 0.2, 0.5, 0.9, 1.0]),
        fee_ppm=st.integers(0, 5000),
        age_blocks=st.integers(0, 40_000),
        state=st.sampled_from([ChannelState.ACTIVE] * 12 + list(ChannelState)),
        connected=st.sampled_from([True] * 7 + [False]),
        balance_known=st.sampled_from([True] * 7 + [False]),
        data=st.data(),
        score=st.floats(0, 1) | st.sampled_from([0.0, 0.05, 0.5, 0.8]),
        confidence=st.one_of(confident, confident, confident, st.floats(0, 1)),
        alternative_ppms=st.lists(st.integers(0, 5000), max_size=4),
        base_fee_msat=st.sampled_from([1000] * 4 + [0, 2001, 25_000]),
    )
    def check(
        local_ratio: float,
        fee_ppm: int,
        age_blocks: int,
        state: ChannelState,
        connected: bool,
        balance_known: bool,
        data: st.DataObject,
        score: float,
        confidence: float,
        alternative_ppms: list[int],
        base_fee_msat: int,
    ) -> None:
        ch = channel(
            1,
            local_ratio=local_ratio,
            fee_ppm=fee_ppm,
            base_fee_msat=base_fee_msat,
            age_blocks=age_blocks,
            state=state,
            connected=connected,
            balance_known=balance_known,
        )
        record = data.draw(activity_records(ch.short_channel_id), label="activity")
        price = data.draw(price_histories(fee_ppm), label="price")
        graph = graph_for([ch], alternatives(ch.peer_id, *alternative_ppms))
        records = {} if record is None else {ch.short_channel_id: record}
        prices = {} if price is None else {ch.short_channel_id: price}
        snap = snapshot(
            [ch], activity_by_scid=records, graph=graph, taken_at_s=NOW_S, prices=prices
        )
        channel_score = score_of(ch, score=score, confidence=confidence)
        (decision,) = decide(snap, [channel_score], CONFIG)
        facts = channel_facts(snap, ch)
        context = RuleContext(ch, channel_score, facts, CONFIG)
        name = next((n for n in PRECEDENCE if RULES[n](context) is not None), "hold")
        event(name)
        fired[name] += 1

        # every decision: explained, with the score's confidence, a policy only for a fee change
        assert decision.reasons and all(decision.reasons)
        assert decision.confidence == confidence
        assert (decision.proposed_policy is not None) is decision.action.changes_fees
        if state is not ChannelState.ACTIVE or confidence < CONFIG.decisions.min_confidence:
            assert decision.action is Action.KEEP
        if decision.proposed_policy is not None:
            new_ppm = decision.proposed_policy.fee_ppm
            assert new_ppm >= 0
            new_base = decision.proposed_policy.base_fee_msat
            if name == "base_fee_above_market":  # the base fee alone, and only down
                assert new_ppm == fee_ppm and new_base < base_fee_msat
            else:  # the rate alone
                assert new_base == base_fee_msat
                assert (new_ppm > fee_ppm) is (decision.action is Action.RAISE_FEES)
                assert (new_ppm < fee_ppm) is (decision.action is Action.LOWER_FEES)
        # and the rule that decided kept what its documentation promises
        rule_kept_its_promise(name, decision, ch, facts, score)

    check()
    assert set(fired) == {*PRECEDENCE, "hold"}, (
        f"never fired: {sorted({*PRECEDENCE, 'hold'} - set(fired))}"
    )
