"""The pricing rules the simulator motivated: probe while demand holds, price draining
liquidity, start untested channels at the market, judge a raise by what it earned."""

from __future__ import annotations

from typing import Any

from lnopt.config import Config, load_config
from lnopt.decisions import PRECEDENCE, decide
from lnopt.model import Action, Channel, ChannelActivity, Decision, PriceHistory
from tests.factories import activity, channel, gossip_item, graph_for, node_id, snapshot
from tests.test_decisions import score_of

NOW_S = 1_760_000_000
SAT = 1000
RULES_ON = {
    "decisions": {
        "probe_min_forwards_1d": 1,
        "probe_min_forwards_7d": 1,
        "probe_step_pct": 50,
        "drain_horizon_days": 14,
        "price_untested_at_market": 1,
        "raise_below_local_ratio": 0.25,
        "lower_above_local_ratio": 0.25,
    }
}
CONFIG = load_config(None, RULES_ON)


def competitors(peer: str, *fees_and_capacities: tuple[int, int]) -> list[dict[str, Any]]:
    return [
        gossip_item(
            f"800000x{100 + i}x0",
            node_id(100 + i),
            peer,
            fee_ppm=ppm,
            capacity_msat=capacity_sat * SAT,
        )
        for i, (ppm, capacity_sat) in enumerate(fees_and_capacities)
    ]


def decide_one(
    ch: Channel,
    record: ChannelActivity | None,
    *alternatives: tuple[int, int],
    config: Config = CONFIG,
    price: PriceHistory | None = None,
) -> Decision:
    graph = graph_for([ch], competitors(ch.peer_id, *alternatives))
    records = {} if record is None else {ch.short_channel_id: record}
    prices = {} if price is None else {ch.short_channel_id: price}
    snap = snapshot([ch], activity_by_scid=records, graph=graph, taken_at_s=NOW_S, prices=prices)
    (decision,) = decide(snap, [score_of(ch, score=0.4)], config)
    return decision


def test_the_new_rules_are_ranked_after_the_liquidity_rules() -> None:
    order = {name: i for i, name in enumerate(PRECEDENCE)}
    assert order["draining"] < order["rebalance"] < order["raise_fees"]
    assert order["raise_fees"] < order["price_test"] < order["untested_price"]
    assert order["untested_price"] < order["lower_fees"]
    assert order["lower_fees"] < order["probe_price"] == len(PRECEDENCE) - 1


def test_demand_in_the_last_day_probes_a_higher_price() -> None:
    # Given a balanced channel at 200 ppm that forwarded out today
    ch = channel(1, local_ratio=0.5, fee_ppm=200)
    record = activity(ch.short_channel_id, last_1d={"forwards_out": 2}, last_7d={"forwards_out": 4})
    # When the decider looks at it, with competitors cheaper than us
    decision = decide_one(ch, record, (100, 5_000_000))
    # Then it raises by the probe step (50%) and says why
    assert decision.action is Action.RAISE_FEES
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 300
    assert "Demand holds at 200 ppm" in " ".join(decision.reasons)


def test_a_probe_below_the_market_goes_to_the_market() -> None:
    # Given competitors charging a capacity-weighted median of 1,000 ppm (the big channel)
    ch = channel(1, local_ratio=0.5, fee_ppm=200)
    record = activity(ch.short_channel_id, last_1d={"forwards_out": 1}, last_7d={"forwards_out": 1})
    decision = decide_one(ch, record, (50, 1_000_000), (1000, 50_000_000), (80, 1_000_000))
    # Then the probe goes straight to that price
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 1000
    assert "median 1000 ppm" in " ".join(decision.reasons)


def test_without_demand_today_nothing_is_probed() -> None:
    ch = channel(1, local_ratio=0.5, fee_ppm=200)
    record = activity(ch.short_channel_id, last_7d={"forwards_out": 4})
    assert decide_one(ch, record).action is Action.KEEP


def draining_channel() -> tuple[Channel, ChannelActivity]:
    """1M sat local (of 5M) at 400 ppm, 1M sat/day more out than in over the week."""
    ch = channel(1, local_ratio=0.2, fee_ppm=400)
    record = activity(
        ch.short_channel_id,
        last_1d={"forwards_out": 1},
        last_7d={
            "forwards_out": 20,
            "volume_out_msat": 7_500_000 * SAT,
            "volume_in_msat": 500_000 * SAT,
        },
    )
    return ch, record


def test_a_channel_that_would_empty_within_the_horizon_is_priced_up() -> None:
    # Given 1M sat local (of 5M) and 1M sat/day more out than in over the week
    ch, record = draining_channel()
    decision = decide_one(ch, record)
    # Then it raises by the probe step, explaining the days left
    assert decision.action is Action.RAISE_FEES
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 600
    text = " ".join(decision.reasons)
    assert "1,000,000 sat/day" in text and "1.0 days" in text


def test_a_slow_drain_is_left_to_the_other_rules() -> None:
    # Given the same channel draining 10k sat/day: 100 days of liquidity left
    ch = channel(1, local_ratio=0.2, fee_ppm=400)
    record = activity(
        ch.short_channel_id,
        last_7d={"forwards_out": 2, "volume_out_msat": 70_000 * SAT},
    )
    decision = decide_one(ch, record)
    assert decision.action is Action.RAISE_FEES  # the scarcity rule, one ordinary step
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 460
    assert "draining" not in " ".join(decision.reasons)


def test_an_untested_channel_starts_at_the_market_price() -> None:
    # Given a channel without any forward yet, at 100 ppm, competitors at 700 ppm
    ch = channel(1, local_ratio=0.5, fee_ppm=100)
    decision = decide_one(ch, None, (700, 5_000_000), (700, 5_000_000), (10, 1_000_000))
    assert decision.action is Action.RAISE_FEES
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.fee_ppm == 700
    assert "untested" in " ".join(decision.reasons)
    # but a saturated one stays cheap to push its liquidity out, and with the rule off nothing moves
    full = channel(1, local_ratio=0.95, fee_ppm=100)
    assert decide_one(full, None, (700, 5_000_000)).action is Action.KEEP
    off = load_config(None, {"decisions": {"price_untested_at_market": 0}})
    assert decide_one(ch, None, (700, 5_000_000), config=off).action is Action.KEEP


DAY_S = 86_400


def raised(
    *,
    days_ago: float,
    now_fees_sat: int,
    now_forwards: int,
    before_fees_sat: int = 700,
    before_forwards: int = 7,
    before_ppm: int = 200,
    now_ppm: int = 400,
    before_days: float = 7.0,
) -> PriceHistory:
    """A raise ``before_ppm`` → ``now_ppm`` ``days_ago``; the old rate in force ``before_days``."""
    return PriceHistory(
        current_ppm=now_ppm,
        since_s=NOW_S - days_ago * DAY_S,
        current_forwards_out=now_forwards,
        current_fees_msat=now_fees_sat * SAT,
        previous_ppm=before_ppm,
        previous_days=before_days,
        previous_forwards_out=before_forwards,
        previous_fees_msat=before_fees_sat * SAT,
    )


def test_a_raise_that_earns_less_per_day_goes_back() -> None:
    # Given a raise 200 → 400 ppm three days ago: before, 100 sat/day (7 forwards in 7 days);
    # since, 30 sat/day, while the old rate would have brought 3 forwards by now
    ch = channel(1, local_ratio=0.5, fee_ppm=400)
    price = raised(days_ago=3, now_fees_sat=90, now_forwards=1)
    decision = decide_one(ch, None, price=price)
    # Then the fee goes back to 200 ppm, with both rates in the reasons
    assert decision.action is Action.LOWER_FEES
    assert decision.proposed_policy is not None and decision.proposed_policy.fee_ppm == 200
    text = " ".join(decision.reasons)
    assert "30 sat/day" in text and "100 sat/day" in text and "back to 200 ppm" in text


def test_a_raise_after_a_short_lived_rate_is_judged_against_it() -> None:
    # Given 200 ppm in force only 6 hours, with 2 forwards (70 sat), then a raise to 400 ppm
    # three days ago that brought 1 forward (90 sat): the old rate would have brought 24
    ch = channel(1, local_ratio=0.5, fee_ppm=400)
    price = raised(
        days_ago=3,
        now_fees_sat=90,
        now_forwards=1,
        before_fees_sat=70,
        before_forwards=2,
        before_days=0.25,
    )
    decision = decide_one(ch, None, price=price)
    # Then the short-lived rate is the reference: 280 sat/day against 30, back to 200 ppm
    assert decision.action is Action.LOWER_FEES
    assert decision.proposed_policy is not None and decision.proposed_policy.fee_ppm == 200
    assert "280 sat/day" in " ".join(decision.reasons)


def test_a_raise_that_earns_more_per_day_is_probed_further() -> None:
    ch = channel(1, local_ratio=0.5, fee_ppm=400)
    price = raised(days_ago=3, now_fees_sat=600, now_forwards=3)
    decision = decide_one(ch, None, price=price)
    assert decision.action is Action.RAISE_FEES
    assert decision.proposed_policy is not None and decision.proposed_policy.fee_ppm == 600
    assert "The raise paid" in " ".join(decision.reasons)


def test_a_raise_is_not_judged_before_the_old_rate_would_have_shown() -> None:
    # Given a raise one day and a half ago that earned nothing yet (the old rate: one a day)
    ch = channel(1, local_ratio=0.5, fee_ppm=400)
    early = decide_one(ch, None, price=raised(days_ago=1.5, now_fees_sat=0, now_forwards=0))
    assert early.action is Action.KEEP and "Too early to judge" in " ".join(early.reasons)
    # and a slow channel (a forward a week before): still waiting after four days
    slow = raised(days_ago=4, now_fees_sat=0, now_forwards=0, before_forwards=1)
    assert decide_one(ch, None, price=slow).action is Action.KEEP
    # but judged after seven: it earned nothing, so the fee goes back
    late = raised(days_ago=7, now_fees_sat=0, now_forwards=0, before_forwards=1)
    assert decide_one(ch, None, price=late).action is Action.LOWER_FEES


def test_scarce_liquidity_keeps_a_raise_that_earns_less() -> None:
    ch = channel(1, local_ratio=0.1, fee_ppm=400)
    price = raised(days_ago=3, now_fees_sat=90, now_forwards=1)
    decision = decide_one(ch, None, price=price, config=load_config(None, RULES_ON))
    assert decision.action is not Action.LOWER_FEES
    assert decision.proposed_policy is None or decision.proposed_policy.fee_ppm >= 400


def test_a_fee_that_came_down_is_not_probed_up_for_a_while() -> None:
    # Given a fee lowered 400 → 200 ppm two days ago, and demand today
    ch = channel(1, local_ratio=0.5, fee_ppm=200)
    record = activity(ch.short_channel_id, last_1d={"forwards_out": 2}, last_7d={"forwards_out": 4})
    lowered = raised(days_ago=2, now_fees_sat=50, now_forwards=2, before_ppm=400, now_ppm=200)
    decision = decide_one(ch, record, price=lowered)
    assert decision.action is Action.KEEP
    assert "before it is raised again" in " ".join(decision.reasons)
    # and once the pause is over, demand probes again
    settled = raised(days_ago=8, now_fees_sat=50, now_forwards=2, before_ppm=400, now_ppm=200)
    assert decide_one(ch, record, price=settled).action is Action.RAISE_FEES


def test_a_price_history_for_another_fee_is_ignored() -> None:
    # Given a journal that says 400 ppm while the node has 250 (changed by hand since)
    ch = channel(1, local_ratio=0.5, fee_ppm=250)
    decision = decide_one(ch, None, price=raised(days_ago=3, now_fees_sat=0, now_forwards=0))
    assert "The fee was raised" not in " ".join(decision.reasons)


def test_a_draining_channel_raised_half_a_day_ago_is_raised_again() -> None:
    # Given a channel raised 200 → 400 ppm half a day ago and still draining 1M sat/day
    ch, record = draining_channel()
    fresh = raised(days_ago=0.5, now_fees_sat=20, now_forwards=1)
    decision = decide_one(ch, record, price=fresh)
    # Then it climbs again by the probe step (the price test takes back a raise gone too far)
    assert decision.action is Action.RAISE_FEES
    assert decision.proposed_policy is not None and decision.proposed_policy.fee_ppm == 600


def test_a_draining_channel_whose_raise_was_taken_back_keeps_its_fee_for_a_while() -> None:
    # Given the draining channel, whose fee the price test took back 600 → 400 ppm 2 days ago
    ch, record = draining_channel()
    lowered = raised(days_ago=2, now_fees_sat=50, now_forwards=2, before_ppm=600, now_ppm=400)
    decision = decide_one(ch, record, price=lowered)
    # Then it keeps 400 ppm, saying the higher fee was tried
    assert decision.action is Action.KEEP
    text = " ".join(decision.reasons)
    assert "draining" in text and "came down 600 → 400 ppm 2.0 days ago" in text
    # and once the pause is over, the drain raises it again
    settled = raised(days_ago=8, now_fees_sat=50, now_forwards=2, before_ppm=600, now_ppm=400)
    assert decide_one(ch, record, price=settled).action is Action.RAISE_FEES


def test_a_base_fee_far_above_the_market_comes_down_to_it_with_the_model_too() -> None:
    # Given idle liquidity asking 25 sat a payment where the other channels toward the peer ask
    # 1 sat (gossip's base fees, capacity-weighted), with the rules and with the pricing model
    ch = channel(1, local_ratio=0.8, fee_ppm=300, base_fee_msat=25_000)
    alternatives = ((700, 5_000_000), (700, 5_000_000))
    modelled = load_config(None, RULES_ON | {"pricing": {"enabled": 1}})
    for config in (CONFIG, modelled):
        decision = decide_one(ch, None, *alternatives, config=config)
        # Then the base fee goes to the market's and the rate waits for the next run
        assert decision.action is Action.LOWER_FEES
        assert decision.proposed_policy is not None
        assert decision.proposed_policy.base_fee_msat == 1_000
        assert decision.proposed_policy.fee_ppm == 300
        assert "median 1,000 msat of the 2 other channels" in " ".join(decision.reasons)
    # and a base fee within a sat of the market's is left to the rate rules
    near = channel(1, local_ratio=0.8, fee_ppm=300, base_fee_msat=2_000)
    decision = decide_one(near, None, *alternatives)
    assert decision.proposed_policy is not None
    assert decision.proposed_policy.base_fee_msat == 2_000
    assert decision.proposed_policy.fee_ppm == 700
