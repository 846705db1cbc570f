"""Every comparison of the decision rules, pinned at its threshold: a value at the threshold
and one just past it, each rule asked on its own with hand-made facts."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from lnopt.config import Config, default_config, load_config
from lnopt.decisions import RULES, ChannelFacts, Outcome, RuleContext, fee_step_ppm, probe_step_ppm
from lnopt.model import Action, Channel, ChannelState, PriceHistory
from tests.factories import channel
from tests.test_decisions import score_of

CONFIG = default_config()
LIMITS = CONFIG.decisions
NOW_S = 1_760_000_000
CAPACITY_MSAT = 5_000_000_000


def below(value: float) -> float:
    """The largest float less than ``value``."""
    return math.nextafter(value, -math.inf)


def above(value: float) -> float:
    """The smallest float greater than ``value``."""
    return math.nextafter(value, math.inf)


def config_with(**decisions: Any) -> Config:
    return load_config(None, {"decisions": decisions})


def facts(**changes: Any) -> ChannelFacts:
    """A balanced, quiet, old channel with a history and no alternatives; ``changes`` on top."""
    base: dict[str, Any] = {
        "local_ratio": 0.5,
        "forwards_out_1d": 0,
        "forwards_out_7d": 0,
        "forwards_out_30d": 0,
        "local_failed_7d": 0,
        "volume_out_7d_msat": 0,
        "volume_in_7d_msat": 0,
        "fees_earned_30d_msat": 0,
        "age_days": 100.0,
        "idle_days": 0.0,
        "idle_at_least": False,
        "alternative_ppms": (),
    }
    return ChannelFacts(**(base | changes))


def ask(
    name: str,
    given: ChannelFacts,
    *,
    ch: Channel | None = None,
    score: float = 0.4,
    confidence: float = 0.9,
    config: Config = CONFIG,
) -> Outcome | None:
    """What the rule ``name`` alone decides for ``given``."""
    ch = ch if ch is not None else channel(1, fee_ppm=200)
    context = RuleContext(ch, score_of(ch, score=score, confidence=confidence), given, config)
    return RULES[name](context)


def action_of(outcome: Outcome | None) -> Action | None:
    return None if outcome is None else outcome.action


def text(outcome: Outcome | None) -> str:
    assert outcome is not None
    return " ".join(outcome.reasons)


def new_ppm(outcome: Outcome | None) -> int:
    assert outcome is not None and outcome.proposed_policy is not None
    return outcome.proposed_policy.fee_ppm


# --- low_confidence: confidence >= min_confidence acts --------------------------------------


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(LIMITS.min_confidence, None), (below(LIMITS.min_confidence), Action.KEEP)],
)
def test_low_confidence_holds_only_below_the_minimum(
    confidence: float, expected: Action | None
) -> None:
    assert action_of(ask("low_confidence", facts(), confidence=confidence)) is expected


# --- close: score < close_below_score, idle >= close_idle_days, age >= close_min_age_days ----

POOR_IDLE_OLD = {"idle_days": float(LIMITS.close_idle_days), "age_days": 365.0}


@pytest.mark.parametrize(
    ("score", "expected"),
    [(LIMITS.close_below_score, None), (below(LIMITS.close_below_score), Action.CLOSE)],
)
def test_close_needs_a_score_strictly_below_the_threshold(
    score: float, expected: Action | None
) -> None:
    assert action_of(ask("close", facts(**POOR_IDLE_OLD), score=score)) is expected


@pytest.mark.parametrize(
    ("idle_days", "expected"),
    [(float(LIMITS.close_idle_days), Action.CLOSE), (below(LIMITS.close_idle_days), None)],
)
def test_close_needs_at_least_the_idle_days(idle_days: float, expected: Action | None) -> None:
    given = facts(idle_days=idle_days, age_days=365.0)
    assert action_of(ask("close", given, score=0.0)) is expected


@pytest.mark.parametrize(
    ("age_days", "expected"),
    [(float(LIMITS.close_min_age_days), Action.CLOSE), (below(LIMITS.close_min_age_days), None)],
)
def test_close_needs_at_least_the_minimum_age(age_days: float, expected: Action | None) -> None:
    given = facts(idle_days=float(LIMITS.close_idle_days), age_days=age_days)
    assert action_of(ask("close", given, score=0.0)) is expected


def test_closing_counts_the_income_of_thirty_days_as_lost() -> None:
    given = facts(**POOR_IDLE_OLD, fees_earned_30d_msat=30_000)
    outcome = ask("close", given, score=0.0)
    assert outcome is not None and outcome.impact.daily_fee_delta_msat == -1_000


# --- draining: local_msat < horizon x net outflow per day, with a forward out today ----------

DRAIN_MSAT_PER_DAY = 10_000_000


def draining_channel(local_msat: int) -> Channel:
    return channel(1, fee_ppm=200, local_msat=local_msat, remote_msat=CAPACITY_MSAT - local_msat)


def ask_draining(local_msat: int, *, config: Config = CONFIG, **changes: Any) -> Outcome | None:
    given = facts(
        **{"forwards_out_1d": 1, "net_out_1d_msat": DRAIN_MSAT_PER_DAY, "local_ratio": 0.4}
        | changes
    )
    return ask("draining", given, ch=draining_channel(local_msat), config=config)


HORIZON_MSAT = LIMITS.drain_horizon_days * DRAIN_MSAT_PER_DAY


@pytest.mark.parametrize(
    ("local_msat", "expected"),
    [(HORIZON_MSAT, None), (HORIZON_MSAT - 1, Action.RAISE_FEES)],
)
def test_draining_needs_the_balance_gone_strictly_within_the_horizon(
    local_msat: int, expected: Action | None
) -> None:
    assert action_of(ask_draining(local_msat)) is expected


def test_draining_raises_by_the_probe_step() -> None:
    outcome = ask_draining(HORIZON_MSAT - 1)
    assert new_ppm(outcome) == 200 + probe_step_ppm(200, LIMITS)
    assert "over the last day" in text(outcome)


@pytest.mark.parametrize(("forwards_out_1d", "expected"), [(1, Action.RAISE_FEES), (0, None)])
def test_draining_needs_a_forward_out_in_the_last_day(
    forwards_out_1d: int, expected: Action | None
) -> None:
    assert action_of(ask_draining(0, forwards_out_1d=forwards_out_1d)) is expected


def test_the_smallest_outflow_counts_as_draining() -> None:
    # 1 msat a day out, 29 msat on our side: gone in 29 days, within the 30-day horizon
    assert action_of(ask_draining(29, net_out_1d_msat=1)) is Action.RAISE_FEES
    assert ask_draining(29, net_out_1d_msat=0) is None


def test_a_horizon_of_zero_days_turns_draining_off() -> None:
    assert ask_draining(0, config=config_with(drain_horizon_days=0)) is None


def test_draining_takes_the_faster_of_the_day_and_the_week() -> None:
    week = {"volume_out_7d_msat": 7 * DRAIN_MSAT_PER_DAY, "volume_in_7d_msat": 0}
    # the same pace over the week as over the day: the week is named
    tie = ask_draining(HORIZON_MSAT - 1, **week)
    assert "over 7 days" in text(tie)
    # a week a little faster than the day drains the channel on its own
    faster_week = {**week, "volume_out_7d_msat": 7 * DRAIN_MSAT_PER_DAY + 7}
    assert action_of(ask_draining(HORIZON_MSAT, net_out_1d_msat=0, **faster_week)) is (
        Action.RAISE_FEES
    )
    # inflow over the week counts against its outflow
    balanced_week = {**faster_week, "volume_in_7d_msat": 7}
    assert ask_draining(HORIZON_MSAT, net_out_1d_msat=0, **balanced_week) is None


def lowered(days_ago: float, *, current_ppm: int = 200, previous_ppm: int = 300) -> dict[str, Any]:
    """Facts of a fee that moved ``previous_ppm`` → ``current_ppm`` ``days_ago`` days ago."""
    price = PriceHistory(
        current_ppm=current_ppm,
        since_s=NOW_S - days_ago * 86_400,
        current_forwards_out=1,
        current_fees_msat=1_000,
        previous_ppm=previous_ppm,
        previous_days=7.0,
        previous_forwards_out=1,
        previous_fees_msat=1_000,
    )
    return {"price": price, "price_days": days_ago}


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(float(LIMITS.probe_pause_days), Action.RAISE_FEES), (below(LIMITS.probe_pause_days), None)],
)
def test_draining_pauses_for_the_pause_days_after_a_cut(
    days_ago: float, expected: Action | None
) -> None:
    outcome = ask_draining(HORIZON_MSAT - 1, **lowered(days_ago))
    assert outcome is not None
    assert (outcome.proposed_policy is not None) is (expected is Action.RAISE_FEES)


def test_a_fee_that_did_not_come_down_does_not_pause_draining() -> None:
    outcome = ask_draining(HORIZON_MSAT - 1, **lowered(1.0, previous_ppm=200))
    assert action_of(outcome) is Action.RAISE_FEES


# --- rebalance: local < rebalance_below, score >= rebalance_min_score, demand >= minimum -----

DEMAND = 3
DEMANDING = config_with(raise_min_forwards_7d=DEMAND)


def ask_rebalance(local_ratio: float, score: float, demand: int) -> Action | None:
    # the demand split between forwards out and forwards failed for lack of liquidity
    given = facts(local_ratio=local_ratio, forwards_out_7d=1, local_failed_7d=demand - 1)
    return action_of(ask("rebalance", given, score=score, config=DEMANDING))


@pytest.mark.parametrize(
    ("local_ratio", "score", "demand", "expected"),
    [
        (below(LIMITS.rebalance_below_local_ratio), LIMITS.rebalance_min_score, DEMAND, "yes"),
        (LIMITS.rebalance_below_local_ratio, LIMITS.rebalance_min_score, DEMAND, "no"),
        (0.0, below(LIMITS.rebalance_min_score), DEMAND, "no"),
        (0.0, LIMITS.rebalance_min_score, DEMAND - 1, "no"),
    ],
)
def test_rebalance_at_each_of_its_thresholds(
    local_ratio: float, score: float, demand: int, expected: str
) -> None:
    action = ask_rebalance(local_ratio, score, demand)
    assert action is (Action.REBALANCE if expected == "yes" else None)


def test_rebalance_moves_toward_the_target_share() -> None:
    ch = channel(1, local_msat=0, remote_msat=CAPACITY_MSAT)
    given = facts(local_ratio=0.0, forwards_out_7d=DEMAND)
    outcome = ask("rebalance", given, ch=ch, score=0.9, config=DEMANDING)
    assert "2,500,000 sat" in text(outcome)


# --- raise_fees: local < raise_below_local_ratio with demand >= raise_min_forwards_7d --------


@pytest.mark.parametrize(
    ("local_ratio", "demand", "expected"),
    [
        (below(LIMITS.raise_below_local_ratio), DEMAND, Action.RAISE_FEES),
        (LIMITS.raise_below_local_ratio, DEMAND, None),
        (below(LIMITS.raise_below_local_ratio), DEMAND - 1, None),
    ],
)
def test_raise_at_the_local_share_and_the_demand_thresholds(
    local_ratio: float, demand: int, expected: Action | None
) -> None:
    given = facts(local_ratio=local_ratio, forwards_out_7d=1, local_failed_7d=demand - 1)
    assert action_of(ask("raise_fees", given, config=DEMANDING)) is expected


def test_a_raise_is_one_fee_step() -> None:
    given = facts(local_ratio=0.1, forwards_out_7d=DEMAND)
    assert new_ppm(ask("raise_fees", given, config=DEMANDING)) == 230  # 200 + 15%


@pytest.mark.parametrize(
    ("current_ppm", "step_ppm"),
    [(-50, 10), (0, 10), (66, 10), (73, 10), (74, 11), (80, 12), (1_000, 150)],
)
def test_a_fee_step_is_the_percentage_rounded_down_but_at_least_the_minimum(
    current_ppm: int, step_ppm: int
) -> None:
    assert fee_step_ppm(current_ppm, LIMITS) == step_ppm


@pytest.mark.parametrize(
    ("current_ppm", "step_ppm"), [(-5, 10), (0, 10), (4, 10), (5, 10), (6, 12), (100, 200)]
)
def test_a_probe_step_is_its_percentage_but_at_least_the_minimum(
    current_ppm: int, step_ppm: int
) -> None:
    assert probe_step_ppm(current_ppm, LIMITS) == step_ppm


# --- price_test: a raise judged by what it earned ---------------------------------------------


def raised(
    days: float,
    *,
    current_ppm: int = 300,
    previous_ppm: int = 200,
    previous_days: float = 8.0,
    previous_forwards_out: int = 12,
    previous_fees_msat: int = 8_000,
    current_forwards_out: int = 2,
    current_fees_msat: int | None = None,
    **changes: Any,
) -> ChannelFacts:
    """Facts of a fee raised ``previous_ppm`` → ``current_ppm`` ``days`` days ago that has
    earned as much per day as before, unless ``current_fees_msat`` says otherwise."""
    if current_fees_msat is None:
        current_fees_msat = round(previous_fees_msat / previous_days * days)
    price = PriceHistory(
        current_ppm=current_ppm,
        since_s=NOW_S - days * 86_400,
        current_forwards_out=current_forwards_out,
        current_fees_msat=current_fees_msat,
        previous_ppm=previous_ppm,
        previous_days=previous_days,
        previous_forwards_out=previous_forwards_out,
        previous_fees_msat=previous_fees_msat,
    )
    return facts(**{"price": price, "price_days": days} | changes)


def ask_price_test(given: ChannelFacts, config: Config = CONFIG) -> Outcome | None:
    return ask("price_test", given, ch=channel(1, fee_ppm=300), config=config)


def too_early(outcome: Outcome | None) -> bool:
    return outcome is not None and "Too early to judge" in text(outcome)


@pytest.mark.parametrize(
    ("days", "early"),
    [(float(LIMITS.price_test_days), False), (below(LIMITS.price_test_days), True)],
)
def test_a_raise_is_judged_from_the_price_test_days(days: float, early: bool) -> None:
    # 12 forwards in 8 days before: in 2 days the old rate would have brought the 3 needed
    assert too_early(ask_price_test(raised(days))) is early


@pytest.mark.parametrize(
    ("previous_forwards_out", "early"),
    [(12, False), (11, True)],  # the old rate would have brought 3.0 or 2.75 forwards in 2 days
)
def test_a_raise_is_judged_once_the_old_rate_would_have_brought_enough_forwards(
    previous_forwards_out: int, early: bool
) -> None:
    given = raised(2.0, previous_forwards_out=previous_forwards_out)
    assert LIMITS.price_test_forwards == 3
    assert too_early(ask_price_test(given)) is early


@pytest.mark.parametrize(
    ("days", "early"),
    [(float(LIMITS.price_test_max_days), False), (below(LIMITS.price_test_max_days), True)],
)
def test_a_raise_on_a_quiet_channel_is_judged_after_the_most_days(days: float, early: bool) -> None:
    assert too_early(ask_price_test(raised(days, previous_forwards_out=0))) is early


def test_earning_as_much_per_day_as_before_probes_higher() -> None:
    # the tie: 1,000 msat a day at both rates
    given = raised(2.0, previous_fees_msat=8_000, current_fees_msat=2_000)
    outcome = ask_price_test(given)
    assert action_of(outcome) is Action.RAISE_FEES
    assert new_ppm(outcome) == 300 + probe_step_ppm(300, LIMITS)
    assert "The raise paid" in text(outcome)


def test_earning_a_little_less_per_day_goes_back_to_the_old_rate() -> None:
    given = raised(2.0, previous_fees_msat=8_000, current_fees_msat=1_999)
    outcome = ask_price_test(given)
    assert action_of(outcome) is Action.LOWER_FEES
    assert new_ppm(outcome) == 200


@pytest.mark.parametrize(
    ("local_ratio", "expected"),
    [
        (below(LIMITS.raise_below_local_ratio), Action.KEEP),
        (LIMITS.raise_below_local_ratio, Action.LOWER_FEES),
    ],
)
def test_scarce_liquidity_keeps_a_raise_that_earns_less(
    local_ratio: float, expected: Action
) -> None:
    given = raised(2.0, current_fees_msat=1_999, local_ratio=local_ratio)
    assert action_of(ask_price_test(given)) is expected


def test_a_raise_without_forwards_at_the_new_rate_is_not_probed_further() -> None:
    given = raised(2.0, current_forwards_out=0, previous_fees_msat=0, current_fees_msat=0)
    assert ask_price_test(given) is None


@pytest.mark.parametrize(
    ("change", "applies"),
    [
        ({}, True),
        ({"current_ppm": 200}, False),  # the same rate: not a raise
        ({"current_ppm": 199}, False),  # a cut
        ({"previous_days": 0.0, "current_fees_msat": 2_000}, False),  # nothing to compare with
    ],
)
def test_only_a_raise_with_a_time_before_is_price_tested(
    change: dict[str, Any], applies: bool
) -> None:
    given = raised(2.0, **change)
    assert (ask_price_test(given) is not None) is applies


def test_a_price_test_of_zero_days_is_off() -> None:
    assert ask_price_test(raised(2.0), config=config_with(price_test_days=0)) is None


# --- untested_price: no history, below saturation, cheaper than the market -------------------

SATURATED = CONFIG.liquidity.saturated_ratio


def untested(local_ratio: float = 0.5, *market_ppms: int) -> ChannelFacts:
    return facts(
        has_history=False,
        local_ratio=local_ratio,
        alternative_ppms=market_ppms,
        alternative_capacities_msat=(CAPACITY_MSAT,) * len(market_ppms),
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (untested(below(SATURATED), 201), 201),
        (untested(SATURATED, 201), None),
        (untested(0.5, 200), None),  # the market charges what we charge
        (untested(0.5), None),  # no market
        (dataclasses.replace(untested(0.5, 201), has_history=True), None),
    ],
)
def test_an_untested_price_moves_up_to_a_dearer_market(
    given: ChannelFacts, expected: int | None
) -> None:
    outcome = ask("untested_price", given)
    assert (None if outcome is None else new_ppm(outcome)) == expected


def test_an_untested_price_stays_when_the_rule_is_off() -> None:
    off = config_with(price_untested_at_market=0)
    assert ask("untested_price", untested(0.5, 201), config=off) is None


# --- lower_fees: local > lower_above_local_ratio with forwards <= lower_max_forwards_7d ------

QUIET = 2
QUIET_CONFIG = config_with(lower_max_forwards_7d=QUIET)


def idle(local_ratio: float, forwards_out_7d: int = 0, *market_ppms: int) -> ChannelFacts:
    return facts(
        local_ratio=local_ratio,
        forwards_out_7d=forwards_out_7d,
        alternative_ppms=market_ppms,
        alternative_capacities_msat=(CAPACITY_MSAT,) * len(market_ppms),
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (idle(above(LIMITS.lower_above_local_ratio), QUIET, 100), Action.LOWER_FEES),
        (idle(LIMITS.lower_above_local_ratio, QUIET, 100), None),
        (idle(0.9, QUIET + 1, 100), None),
        (idle(0.9, QUIET, 199), Action.LOWER_FEES),  # one ppm under our 200
        (idle(0.9, QUIET, 200), Action.KEEP),  # the market's price already
        (idle(0.9, QUIET), Action.KEEP),  # nothing to compare with
    ],
)
def test_lower_at_its_thresholds(given: ChannelFacts, expected: Action | None) -> None:
    assert action_of(ask("lower_fees", given, config=QUIET_CONFIG)) is expected


@pytest.mark.parametrize(("market_ppm", "lowered_to"), [(100, 170), (180, 180), (199, 199)])
def test_a_cut_is_one_step_but_never_below_the_market(market_ppm: int, lowered_to: int) -> None:
    outcome = ask("lower_fees", idle(0.9, 0, market_ppm))
    assert new_ppm(outcome) == lowered_to


# --- base_fee_above_market: base - market > tolerance, idle liquidity, demand below the probe's

TOLERANCE = LIMITS.base_fee_tolerance_msat


def idle_base(market_base_msat: int, **changes: Any) -> ChannelFacts:
    """Idle liquidity toward a peer whose one alternative charges ``market_base_msat``."""
    given = {
        "local_ratio": 0.9,
        "alternative_ppms": (200,),
        "alternative_capacities_msat": (CAPACITY_MSAT,),
        "alternative_base_fees_msat": (market_base_msat,),
        "alternative_base_capacities_msat": (CAPACITY_MSAT,),
    }
    return facts(**(given | changes))


@pytest.mark.parametrize(
    ("our_base_msat", "given", "expected"),
    [
        (25_000, idle_base(0), Action.LOWER_FEES),
        (TOLERANCE + 1, idle_base(0), Action.LOWER_FEES),
        (TOLERANCE, idle_base(0), None),  # within the tolerance
        (25_000, idle_base(25_000), None),  # the market's base fee already
        (25_000, facts(local_ratio=0.9), None),  # nothing to compare with
        (25_000, idle_base(0, local_ratio=LIMITS.lower_above_local_ratio), None),
        (25_000, idle_base(0, forwards_out_7d=LIMITS.probe_min_forwards_7d), None),  # it sells
        (25_000, idle_base(0, forwards_out_7d=LIMITS.probe_min_forwards_7d - 1), Action.LOWER_FEES),
    ],
)
def test_a_base_fee_comes_down_to_the_market_at_its_thresholds(
    our_base_msat: int, given: ChannelFacts, expected: Action | None
) -> None:
    ch = channel(1, fee_ppm=200, base_fee_msat=our_base_msat, local_ratio=0.9)
    assert action_of(ask("base_fee_above_market", given, ch=ch)) is expected


def test_a_base_fee_cut_keeps_the_rate_and_says_what_the_base_costs_a_small_payment() -> None:
    ch = channel(1, fee_ppm=300, base_fee_msat=25_000, local_ratio=0.9)
    outcome = ask("base_fee_above_market", idle_base(1_000), ch=ch)
    assert outcome is not None and outcome.proposed_policy is not None
    assert outcome.proposed_policy.base_fee_msat == 1_000
    assert outcome.proposed_policy.fee_ppm == 300
    assert "25,000 msat is 2,500 ppm of a 10,000-sat payment" in text(outcome)
    assert "25,000 → 1,000 msat; the rate stays 300 ppm" in text(outcome)
    off = config_with(base_fee_to_market=0)
    assert ask("base_fee_above_market", idle_base(1_000), ch=ch, config=off) is None


@pytest.mark.parametrize(("capacities", "median_msat"), [((1, 1), 0), ((1, 2), 1_000)])
def test_the_market_base_fee_is_the_lower_weighted_median(
    capacities: tuple[int, ...], median_msat: int
) -> None:
    given = facts(
        alternative_base_fees_msat=(0, 1_000), alternative_base_capacities_msat=capacities
    )
    assert given.alternative_median_base_msat == median_msat


# --- probe_price: forwards today >= max(1, minimum) and in 7 days >= minimum ----------------


@pytest.mark.parametrize(
    ("minimum_1d", "forwards_1d", "forwards_7d", "expected"),
    [
        (2, 2, LIMITS.probe_min_forwards_7d, Action.RAISE_FEES),
        (2, 1, LIMITS.probe_min_forwards_7d, None),
        (2, 2, LIMITS.probe_min_forwards_7d - 1, None),
        (0, 1, LIMITS.probe_min_forwards_7d, Action.RAISE_FEES),
        (0, 0, LIMITS.probe_min_forwards_7d, None),  # a forward today is always needed
    ],
)
def test_probe_at_its_demand_thresholds(
    minimum_1d: int, forwards_1d: int, forwards_7d: int, expected: Action | None
) -> None:
    given = facts(forwards_out_1d=forwards_1d, forwards_out_7d=forwards_7d)
    config = config_with(probe_min_forwards_1d=minimum_1d)
    assert action_of(ask("probe_price", given, config=config)) is expected


PROBED_PPM = 200 + probe_step_ppm(200, LIMITS)


@pytest.mark.parametrize(
    ("market_ppm", "expected_ppm", "words"),
    [
        (PROBED_PPM, PROBED_PPM, "Probe a higher price"),
        (PROBED_PPM + 1, PROBED_PPM + 1, "Raise to the market"),
    ],
)
def test_a_probe_goes_to_the_market_only_when_the_market_is_dearer(
    market_ppm: int, expected_ppm: int, words: str
) -> None:
    given = facts(
        forwards_out_1d=1,
        forwards_out_7d=LIMITS.probe_min_forwards_7d,
        alternative_ppms=(market_ppm,),
        alternative_capacities_msat=(CAPACITY_MSAT,),
    )
    outcome = ask("probe_price", given)
    assert new_ppm(outcome) == expected_ppm
    assert words in text(outcome)


@pytest.mark.parametrize(
    ("days_ago", "probes"),
    [(float(LIMITS.probe_pause_days), True), (below(LIMITS.probe_pause_days), False)],
)
def test_a_probe_waits_the_pause_days_after_a_cut(days_ago: float, probes: bool) -> None:
    given = facts(
        forwards_out_1d=1, forwards_out_7d=LIMITS.probe_min_forwards_7d, **lowered(days_ago)
    )
    outcome = ask("probe_price", given)
    assert outcome is not None
    assert (outcome.proposed_policy is not None) is probes


# --- the market price: the capacity-weighted lower median -------------------------------------


@pytest.mark.parametrize(
    ("capacities", "median_ppm"),
    [((1, 1), 100), ((1, 2), 200), ((2, 1), 100), ((1, 1, 1, 1), 200), ((3, 1, 1, 1), 100)],
)
def test_the_market_price_is_the_lower_weighted_median(
    capacities: tuple[int, ...], median_ppm: int
) -> None:
    ppms = (100, 200, 300, 400)[: len(capacities)]
    given = facts(alternative_ppms=ppms, alternative_capacities_msat=capacities)
    assert given.alternative_median_ppm == median_ppm


# --- what each rule says: the reasons an operator reads -------------------------------------

IDLE_REASON = (
    "Liquidity sits idle: 90% of the capacity is on our side (above 25%) with 0 forwards out "
    "in 7 days (at most 0)."
)
DEMAND_REASON = "4 forwards out and 2 failed by us for lack of liquidity in 7 days"
DEMANDING_FACTS = {"forwards_out_7d": 4, "local_failed_7d": 2}
ONE_MARKET = {"alternative_capacities_msat": (CAPACITY_MSAT,)}
DEMAND_TODAY = {"forwards_out_1d": 2, "forwards_out_7d": 5}
DEMAND_HOLDS = (
    "Demand holds at 200 ppm: 2 forwards out in the last day and 5 in 7 days (at least 1 and 2)."
)
EXPLAINED: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "not open": (
        "not_open",
        {"ch": channel(1, state=ChannelState.PENDING)},
        ("The channel is pending, not active: it cannot forward, so it is left alone.",),
    ),
    "low confidence": (
        "low_confidence",
        {"confidence": 0.2},
        (
            "Confidence 0.20 is below the minimum 0.30: too little is known to act, so nothing "
            "changes.",
        ),
    ),
    "close": (
        "close",
        {"given": facts(idle_days=45.0, age_days=139.0), "score": 0.05},
        (
            "Score 0.05 is below 0.10.",
            "No forward for 45 days (closing needs 30).",
            "The channel is 139 days old (closing needs 30).",
            "Closing frees 2,500,000 sat of local balance for a better channel.",
        ),
    ),
    "offline": (
        "offline",
        {"ch": channel(1, connected=False)},
        ("The peer is disconnected: a new fee earns nothing until it is back.",),
    ),
    "balance unknown": (
        "balance_unknown",
        {"ch": channel(1, balance_known=False)},
        ("The channel's balance is not known, so its liquidity cannot be judged.",),
    ),
    "rebalance": (
        "rebalance",
        {
            "given": facts(local_ratio=0.05, **DEMANDING_FACTS),
            "ch": channel(1, local_ratio=0.05),
            "score": 0.7,
        },
        (
            "Only 5% of the capacity is on our side (below 10%).",
            f"Demand continues: {DEMAND_REASON}.",
            "The channel is valuable (score 0.70, at least 0.50): pricing alone will not refill "
            "it; move about 2,250,000 sat into it to reach 50% local.",
        ),
    ),
    "raise": (
        "raise_fees",
        {"given": facts(local_ratio=0.2, **DEMANDING_FACTS)},
        (
            "Outbound liquidity is scarce: 20% of the capacity is on our side (below 25%).",
            f"Demand is there: {DEMAND_REASON} (at least 1 needed).",
            "Scarce liquidity is underpriced: raise the fee by one step, 200 → 230 ppm.",
        ),
    ),
    "untested price": (
        "untested_price",
        {"given": untested(0.5, 300, 400)},
        (
            "No forward has gone through this channel in 30 days: its price is untested.",
            "The other 2 channels toward this peer charge a capacity-weighted median 300 ppm: "
            "start from the market price, 200 → 300 ppm, and let demand move it from there.",
        ),
    ),
    "idle, nothing to compare": (
        "lower_fees",
        {"given": idle(0.9, 0)},
        (IDLE_REASON, "No other node has a channel toward this peer to compare fees with."),
    ),
    "idle, already competitive": (
        "lower_fees",
        {"given": idle(0.9, 0, 200, 300)},
        (
            IDLE_REASON,
            "Already competitive: our fee 200 ppm against the median 200 ppm of the 2 other "
            "channels toward this peer; the price is not what idles it.",
        ),
    ),
    "idle, dearer than the market": (
        "lower_fees",
        {"given": idle(0.9, 0, 100, 150)},
        (
            IDLE_REASON,
            "Priced above the alternatives: our fee 200 ppm against the median 100 ppm of the 2 "
            "other channels toward this peer.",
            "Lower the fee by one step, not below that median: 200 → 170 ppm.",
        ),
    ),
    "probe": (
        "probe_price",
        {"given": facts(**DEMAND_TODAY, alternative_ppms=(100,), **ONE_MARKET)},
        (
            DEMAND_HOLDS,
            "Payers choose us among the alternatives at this price: it is not too high.",
            "Probe a higher price, 200% up: 200 → 600 ppm; if the demand stops, the fee comes "
            "back down.",
        ),
    ),
    "probe to the market": (
        "probe_price",
        {"given": facts(**DEMAND_TODAY, alternative_ppms=(900,), **ONE_MARKET)},
        (
            DEMAND_HOLDS,
            "The other 1 channels toward this peer charge a median 900 ppm: payers who choose "
            "us would pay that elsewhere.",
            "Raise to the market: 200 → 900 ppm.",
        ),
    ),
}


@pytest.mark.parametrize(
    ("name", "asked", "reasons"), list(EXPLAINED.values()), ids=list(EXPLAINED)
)
def test_each_rule_says_why_with_its_figures(
    name: str, asked: dict[str, Any], reasons: tuple[str, ...]
) -> None:
    options = dict(asked)
    outcome = ask(name, options.pop("given", facts()), **options)
    assert outcome is not None and outcome.reasons == reasons


def test_draining_says_how_fast_and_how_long_the_liquidity_lasts() -> None:
    assert ask_draining(HORIZON_MSAT - 1).reasons == (
        "The channel is draining: 10,000 sat/day more went out than came in over the last day, "
        "and 1 forwards went out in the last day.",
        "At that pace its 299,999 sat on our side last 30.0 days (less than 30): the liquidity "
        "sells too cheaply.",
        "Raise 200%: 200 → 600 ppm, so what is left goes to the payers who value it most.",
    )
    assert ask_draining(HORIZON_MSAT - 1, **lowered(1.0)).reasons == (
        "The channel is draining: 30.0 days of liquidity left at 10,000 sat/day over the last day.",
        "The fee came down 300 → 200 ppm 1.0 days ago: it earns at this price for 7 days before "
        "it is raised again.",
    )


def test_the_price_test_says_what_each_rate_earned() -> None:
    raised_text = "The fee was raised 200 → 300 ppm 2.0 days ago."
    early = ask_price_test(raised(1.0))
    assert early is not None and early.reasons == (
        "The fee was raised 200 → 300 ppm 1.0 days ago.",
        "Too early to judge: it is judged after 2 days, once the old rate would have brought 3 "
        "forwards (so far 1.5), or after 7 days.",
    )
    paid = ask_price_test(raised(2.0, previous_fees_msat=80_000))
    assert paid is not None and paid.reasons == (
        raised_text,
        "At 300 ppm it earned 10 sat/day (2 forwards in 2.0 days); at 200 ppm 10 sat/day "
        "(12 forwards in 8.0 days).",
        "The raise paid: probe higher, 200% up: 300 → 900 ppm; if it earns less, the fee comes "
        "back.",
    )
    lost = ask_price_test(raised(2.0, previous_fees_msat=80_000, current_fees_msat=19_000))
    assert lost is not None and lost.reasons == (
        raised_text,
        "At 300 ppm it earned 9 sat/day (2 forwards in 2.0 days); at 200 ppm 10 sat/day "
        "(12 forwards in 8.0 days).",
        "The raise lost more volume than it gained in price: back to 200 ppm.",
    )
    scarce = ask_price_test(
        raised(2.0, previous_fees_msat=80_000, current_fees_msat=19_000, local_ratio=0.1)
    )
    assert scarce is not None and scarce.reasons == (
        raised_text,
        lost.reasons[1],
        "It earns less, but only 10% of the capacity is on our side: the scarce liquidity keeps "
        "its price.",
    )


def test_a_price_test_of_one_day_judges_after_one_day() -> None:
    one_day = config_with(price_test_days=1)
    assert not too_early(ask_price_test(raised(1.0, previous_forwards_out=24), config=one_day))
    assert too_early(ask_price_test(raised(below(1.0), previous_forwards_out=24), config=one_day))


def test_closing_says_what_it_costs_and_frees() -> None:
    outcome = ask("close", facts(idle_days=45.0, age_days=139.0), score=0.05)
    assert outcome is not None and outcome.impact.basis == (
        "no forward for 45 days; 30-day fee income lost; frees 2,500,000 sat before on-chain fees"
    )


def test_a_step_without_a_minimum_is_the_percentage_of_a_rate_never_below_zero() -> None:
    free = config_with(fee_step_min_ppm=0, probe_step_pct=2_000, fee_step_pct=2_000).decisions
    assert [fee_step_ppm(ppm, free) for ppm in (-5, 0, 1, 3)] == [0, 0, 20, 60]
    assert [probe_step_ppm(ppm, free) for ppm in (-5, 0, 1, 3)] == [0, 0, 20, 60]


def test_a_cut_can_reach_zero_where_the_market_is_free() -> None:
    given = idle(0.9, 0, 0)
    assert new_ppm(ask("lower_fees", given, ch=channel(1, fee_ppm=10))) == 0
