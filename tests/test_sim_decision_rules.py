"""The pricing rules the simulator motivated: probe while demand holds, price draining
liquidity, start untested channels at the market."""

from __future__ import annotations

from typing import Any

from lnopt.config import Config, load_config
from lnopt.decisions import PRECEDENCE, decide
from lnopt.model import Action, Channel, ChannelActivity, Decision
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
) -> Decision:
    graph = graph_for([ch], competitors(ch.peer_id, *alternatives))
    records = {} if record is None else {ch.short_channel_id: record}
    snap = snapshot([ch], activity_by_scid=records, graph=graph, taken_at_s=NOW_S)
    (decision,) = decide(snap, [score_of(ch, score=0.4)], config)
    return decision


def test_the_new_rules_are_ranked_after_the_liquidity_rules() -> None:
    order = {name: i for i, name in enumerate(PRECEDENCE)}
    assert order["draining"] < order["rebalance"] < order["raise_fees"]
    assert order["raise_fees"] < order["untested_price"] < order["lower_fees"]
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


def test_a_channel_that_would_empty_within_the_horizon_is_priced_up() -> None:
    # Given 1M sat local (of 5M) and 1M sat/day more out than in over the week
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
