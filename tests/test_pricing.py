"""The pricing model: evidence per fee rate, the demand posterior and the fee it proposes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from lnopt.config import PricingConfig, load_config
from lnopt.errors import ConfigError
from lnopt.pricing import bounds_ppm, pricing_seed, propose_fee
from lnopt.pricing.demand import fit_demand
from lnopt.pricing.evidence import (
    DAY_S,
    ArmEvidence,
    ChannelEvidence,
    PaymentSeen,
    PriceSpell,
    channel_evidence,
    group_payments,
    spells_from,
)

NOW_S = 1_760_000_000.0
CONFIG = PricingConfig()
SCID = "800000x1x0"


def arm(fee_ppm: int, days: float, payments: int, *, censored: int = 0) -> ArmEvidence:
    amount_msat = 500_000_000
    return ArmEvidence(
        fee_ppm=fee_ppm,
        days=days,
        payments=float(payments + censored),
        served=payments,
        censored=censored,
        volume_msat=payments * amount_msat,
        fees_msat=payments * amount_msat * fee_ppm // 1_000_000,
        raw_days=days,
    )


def evidence(*arms: ArmEvidence, current_ppm: int, held_days: float = 10.0) -> ChannelEvidence:
    return ChannelEvidence(SCID, current_ppm, held_days, arms)


def propose(found: ChannelEvidence | None, *, current_ppm: int, **kwargs: object):  # type: ignore[no-untyped-def]
    options = {"market_ppm": 200, "local_ratio": 0.5, "config": CONFIG, "seed": 1}
    options.update(kwargs)
    return propose_fee(found, current_ppm=current_ppm, **options)  # type: ignore[arg-type]


# --- evidence --------------------------------------------------------------------------------


def test_spells_merge_equal_rates_and_a_change_follows_its_runs_observation() -> None:
    events = [
        (NOW_S - 3 * DAY_S, 0, 0, 100),
        (NOW_S - 2 * DAY_S, 0, 0, 100),
        (NOW_S - 2 * DAY_S, 1, 7, 300),  # the run that observed 100 then set 300
        (NOW_S - 1 * DAY_S, 0, 0, 300),
    ]
    spells = spells_from(events, now_s=NOW_S, first_seen_s=None)
    assert spells == (
        PriceSpell(100, NOW_S - 3 * DAY_S, NOW_S - 2 * DAY_S),
        PriceSpell(300, NOW_S - 2 * DAY_S, NOW_S),
    )


def test_the_first_spell_reaches_back_to_the_first_payment_seen() -> None:
    spells = spells_from([(NOW_S - DAY_S, 0, 0, 100)], now_s=NOW_S, first_seen_s=NOW_S - 9 * DAY_S)
    assert spells == (PriceSpell(100, NOW_S - 9 * DAY_S, NOW_S),)


def test_parts_of_one_payment_are_one_payment_and_failed_ones_are_censored() -> None:
    parts = [
        (NOW_S, 100_000, 10, True),
        (NOW_S + 1, 200_000, 20, True),
        (NOW_S + 2, 300_000, 30, False),  # a part we failed, retried elsewhere
        (NOW_S + 600, 50_000, 5, False),  # a payment we failed altogether
    ]
    payments = group_payments(parts, payment_window_s=10)
    assert payments == [
        PaymentSeen(NOW_S, 300_000, 30, served=True),
        PaymentSeen(NOW_S + 600, 50_000, 0, served=False),
    ]


def test_arms_weigh_old_evidence_less() -> None:
    half_life_days = 7.0
    spells = (
        PriceSpell(100, NOW_S - 14 * DAY_S, NOW_S - 7 * DAY_S),
        PriceSpell(200, NOW_S - 7 * DAY_S, NOW_S),
    )
    payments = [
        PaymentSeen(NOW_S - 8 * DAY_S, 1_000_000, 100, True),
        PaymentSeen(NOW_S - 1 * DAY_S, 1_000_000, 200, True),
        PaymentSeen(NOW_S - 1 * DAY_S + 60, 1_000_000, 0, False),
    ]
    found = channel_evidence(SCID, spells, payments, now_s=NOW_S, half_life_days=half_life_days)
    assert found is not None
    old, new = found.arms
    assert (old.fee_ppm, new.fee_ppm) == (100, 200)
    assert old.raw_days == pytest.approx(7) and new.raw_days == pytest.approx(7)
    assert old.days == pytest.approx(new.days / 2)  # a half-life older
    assert (new.served, new.censored, new.fees_msat) == (1, 1, 200)
    assert old.payments == pytest.approx(0.5 ** (8 / 7))
    assert found.current_ppm == 200 and found.held_days == pytest.approx(7)
    assert found.mean_amount_msat == 1_000_000


# --- the demand posterior --------------------------------------------------------------------


def test_payments_kept_at_a_higher_fee_make_it_the_likelier_winner() -> None:
    flat = fit_demand(
        evidence(arm(100, 7, 10), arm(400, 7, 10), current_ppm=400),
        market_ppm=200,
        choke_spread=CONFIG.choke_spread,
    )
    lost = fit_demand(
        evidence(arm(100, 7, 10), arm(400, 7, 0), current_ppm=400),
        market_ppm=200,
        choke_spread=CONFIG.choke_spread,
    )
    assert flat.win_probability(400, 100) > 0.9
    assert lost.win_probability(400, 100) < 0.1
    assert lost.expected_payments_per_day(100) > lost.expected_payments_per_day(400)


def test_censored_payments_count_as_demand_at_the_price() -> None:
    served_only = evidence(arm(100, 7, 2), arm(400, 7, 2), current_ppm=400)
    with_failed = evidence(arm(100, 7, 2), arm(400, 7, 2, censored=8), current_ppm=400)
    fitted = [
        fit_demand(found, market_ppm=200, choke_spread=CONFIG.choke_spread)
        for found in (served_only, with_failed)
    ]
    assert fitted[1].win_probability(400, 100) > fitted[0].win_probability(400, 100)
    assert fitted[1].expected_payments_per_day(400) > fitted[0].expected_payments_per_day(400)


# --- the proposal ----------------------------------------------------------------------------


def test_a_quiet_channel_goes_to_the_market_and_is_not_cut_below_it() -> None:
    quiet = evidence(arm(50, 20, 0), current_ppm=50)
    raised = propose(quiet, current_ppm=50, market_ppm=200)
    assert raised.fee_ppm == 200
    assert "start from the market" in " ".join(raised.reasons)
    kept = propose(evidence(arm(210, 20, 0), current_ppm=210), current_ppm=210, market_ppm=200)
    assert kept.fee_ppm == 210  # within the market band: nothing says to cut it
    alone = propose(None, current_ppm=75, market_ppm=None)
    assert alone.fee_ppm == 75


def test_a_fee_is_held_before_it_is_judged() -> None:
    strong = (arm(100, 7, 1), arm(400, 7, 30))
    hold = CONFIG.hold_days
    held = propose(evidence(*strong, current_ppm=100, held_days=hold * 0.9), current_ppm=100)
    assert held.fee_ppm == 100
    assert f"held {hold:g} days" in held.reasons[0]
    free = propose(evidence(*strong, current_ppm=100, held_days=hold * 1.1), current_ppm=100)
    assert free.fee_ppm > 100
    assert free.win_probability is not None and free.win_probability >= CONFIG.min_win_probability


def test_no_move_without_the_probability_asked_for() -> None:
    even = evidence(arm(100, 7, 5), arm(141, 7, 4), current_ppm=100)
    strict = dataclasses.replace(CONFIG, min_win_probability=0.99)
    proposals = [propose(even, current_ppm=100, seed=seed, config=strict) for seed in range(30)]
    assert all(proposal.fee_ppm == 100 for proposal in proposals)
    assert any("needed to move" in " ".join(p.reasons) for p in proposals)


def test_the_floor_keeps_scarce_liquidity_at_the_market_and_the_ceiling_holds() -> None:
    scarce_ratio = CONFIG.scarce_local_ratio
    half = scarce_ratio / 2
    assert bounds_ppm(market_ppm=300, local_ratio=half, config=CONFIG) == (600, 4000)
    assert bounds_ppm(market_ppm=300, local_ratio=scarce_ratio / 4, config=CONFIG)[0] == 1200
    assert bounds_ppm(market_ppm=300, local_ratio=0.0, config=CONFIG)[0] == 2400  # at most 8x
    assert bounds_ppm(market_ppm=300, local_ratio=scarce_ratio, config=CONFIG) == (0, 4000)
    assert bounds_ppm(market_ppm=None, local_ratio=0.0, config=CONFIG) == (0, 4000)
    scarce = evidence(arm(100, 7, 5), current_ppm=100)
    lifted = propose(scarce, current_ppm=100, market_ppm=300, local_ratio=half)
    assert lifted.fee_ppm >= 600
    assert "floor 600 ppm" in " ".join(lifted.reasons)
    dear = evidence(arm(4500, 7, 5), current_ppm=4500)
    capped = propose(dear, current_ppm=4500, market_ppm=3000)
    assert capped.fee_ppm <= CONFIG.ceiling_ppm
    quiet_and_dear = propose(
        evidence(arm(4900, 20, 0), current_ppm=4900), current_ppm=4900, market_ppm=4500
    )
    assert quiet_and_dear.fee_ppm == CONFIG.ceiling_ppm  # near the market, but above the ceiling
    quiet_and_cheap = propose(
        evidence(arm(500, 20, 0), current_ppm=500),
        current_ppm=500,
        market_ppm=450,
        local_ratio=half,
    )
    assert quiet_and_cheap.fee_ppm == 900  # near the market, but below the floor


def test_one_move_stays_within_its_factor_even_toward_a_far_market() -> None:
    found = evidence(arm(100, 7, 5), arm(141, 7, 5), current_ppm=100)
    for seed in range(40):
        fee = propose(found, current_ppm=100, market_ppm=3000, seed=seed).fee_ppm
        assert 100 / CONFIG.max_move_factor <= fee <= 100 * CONFIG.max_move_factor


def test_a_free_market_is_no_price_to_follow() -> None:
    quiet = propose(evidence(arm(500, 20, 0), current_ppm=500), current_ppm=500, market_ppm=0)
    assert quiet.fee_ppm == 500
    assert "No other channel toward this peer gives a market price." in quiet.reasons


def test_changes_made_at_the_same_time_follow_their_journal_order() -> None:
    at = NOW_S - DAY_S
    events = [(at - DAY_S, 0, 0, 100), (at, 1, 8, 100), (at, 1, 7, 300)]  # change, then undo
    (spell,) = spells_from(events, now_s=NOW_S, first_seen_s=None)
    assert spell.fee_ppm == 100


def test_the_same_history_gives_the_same_fee_and_the_explanation_names_what_was_tried() -> None:
    found = evidence(arm(100, 7, 5), arm(200, 7, 6), arm(400, 7, 1), current_ppm=200)
    seed = pricing_seed(found)
    first = propose(found, current_ppm=200, seed=seed)
    assert propose(found, current_ppm=200, seed=seed) == first
    # the seed is the evidence's: a later look at the same history draws the same; a new
    # payment, or a new run, draws anew
    later = dataclasses.replace(found, held_days=found.held_days + 0.25)
    assert pricing_seed(later) == seed
    paid = evidence(arm(100, 7, 5), arm(200, 7, 7), arm(400, 7, 1), current_ppm=200)
    assert pricing_seed(paid) != seed
    next_run = dataclasses.replace(found, latest_run_id=found.latest_run_id + 1)
    assert pricing_seed(next_run) != seed
    text = " ".join(first.reasons)
    assert "Tried: 100 ppm for 7.0 days: 5 payments" in text
    assert "400 ppm for 7.0 days: 1 payments" in text
    assert "sat a day" in text


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("choke_spread", 1, "pricing.choke_spread: 1 must be above 1"),
        ("max_move_factor", 0.5, "pricing.max_move_factor: 0.5 must be above 1"),
        ("half_life_days", 0, "pricing.half_life_days: 0 must be above 0"),
        ("min_win_probability", 1.5, "pricing.min_win_probability: 1.5 is outside [0, 1]"),
        ("hold", 3, "unknown configuration key pricing.hold; accepted: enabled, hold_days"),
    ],
)
def test_a_bad_pricing_setting_is_refused_by_name(key: str, value: float, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, {"pricing": {key: value}})
