"""The decision rules: each looks at one channel and either does not apply or decides.

:data:`RULES` names every rule, in order of precedence (:data:`PRECEDENCE`);
:func:`first_outcome` asks them in that order and falls back to :func:`hold`. The precedence
and what each rule does are described in :mod:`lnopt.decisions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lnopt.config import Config, DecisionConfig
from lnopt.decisions.facts import ChannelFacts
from lnopt.decisions.impact import (
    NO_CHANGE,
    per_day_msat,
    recovered_demand_impact,
    repricing_impact,
    sat_text,
)
from lnopt.model import Action, Channel, ChannelPolicy, ChannelScore, ChannelState, ExpectedImpact
from lnopt.pricing import pricing_seed, propose_fee


@dataclass(frozen=True, slots=True)
class RuleContext:
    channel: Channel
    score: ChannelScore
    facts: ChannelFacts
    config: Config

    @property
    def thresholds(self) -> DecisionConfig:
        return self.config.decisions


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule decided: the action, why, the expected impact and any new policy."""

    action: Action
    reasons: tuple[str, ...]
    impact: ExpectedImpact
    proposed_policy: ChannelPolicy | None = None


Rule = Callable[[RuleContext], Outcome | None]


def first_outcome(context: RuleContext) -> Outcome:
    """The outcome of the first rule of :data:`PRECEDENCE` that applies, else :func:`hold`.

    With ``pricing.enabled`` the fee rules (:data:`FEE_RULES`) are not asked, and a channel no
    other rule decides is priced by the pricing model (:func:`price`) instead of kept."""
    modelled = bool(context.config.pricing.enabled)
    for name, decide_by in RULES.items():
        if modelled and name in FEE_RULES:
            continue
        outcome = decide_by(context)
        if outcome is not None:
            return outcome
    return price(context) if modelled else hold(context)


def fee_step_ppm(current_ppm: int, thresholds: DecisionConfig) -> int:
    """One fee step: ``fee_step_pct`` percent of the current rate, at least ``fee_step_min_ppm``."""
    return max(thresholds.fee_step_min_ppm, max(0, current_ppm) * thresholds.fee_step_pct // 100)


def probe_step_ppm(current_ppm: int, thresholds: DecisionConfig) -> int:
    """One upward probe: ``probe_step_pct`` percent of the rate, at least ``fee_step_min_ppm``."""
    return max(thresholds.fee_step_min_ppm, max(0, current_ppm) * thresholds.probe_step_pct // 100)


def probed_ppm(current_ppm: int, thresholds: DecisionConfig) -> int:
    """The fee rate one upward probe (or draining raise) proposes."""
    return current_ppm + probe_step_ppm(current_ppm, thresholds)


def _keep(*reasons: str) -> Outcome:
    return Outcome(Action.KEEP, reasons, NO_CHANGE)


def _lowered_recently(facts: ChannelFacts, limits: DecisionConfig) -> str | None:
    """Why the fee stays put for now if it came down less than ``probe_pause_days`` ago."""
    history = facts.price
    if not (
        history is not None
        and history.current_ppm < history.previous_ppm
        and facts.price_days < limits.probe_pause_days
    ):
        return None
    return (
        f"The fee came down {history.previous_ppm} → {history.current_ppm} ppm "
        f"{facts.price_days:.1f} days ago: it earns at this price for "
        f"{limits.probe_pause_days} days before it is raised again."
    )


def _demand_text(facts: ChannelFacts) -> str:
    return (
        f"{facts.forwards_out_7d} forwards out and {facts.local_failed_7d} failed by us "
        "for lack of liquidity in 7 days"
    )


# --- the rules, in order of precedence -------------------------------------------------------


def not_open(context: RuleContext) -> Outcome | None:
    state = context.channel.state
    if state is ChannelState.ACTIVE:
        return None
    return _keep(
        f"The channel is {state.value}, not active: it cannot forward, so it is left alone."
    )


def low_confidence(context: RuleContext) -> Outcome | None:
    minimum = context.thresholds.min_confidence
    if context.score.confidence >= minimum:
        return None
    return _keep(
        f"Confidence {context.score.confidence:.2f} is below the minimum {minimum:.2f}: "
        "too little is known to act, so nothing changes."
    )


def close(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    poor = context.score.score < limits.close_below_score
    idle = facts.idle_days >= limits.close_idle_days
    old = facts.age_days >= limits.close_min_age_days
    if not (poor and idle and old):
        return None
    idle_text = f"{'at least ' if facts.idle_at_least else ''}{facts.idle_days:.0f} days"
    local_msat = context.channel.local_msat
    lost_msat = -per_day_msat(facts.fees_earned_30d_msat, 30)
    return Outcome(
        Action.CLOSE,
        (
            f"Score {context.score.score:.2f} is below {limits.close_below_score:.2f}.",
            f"No forward for {idle_text} (closing needs {limits.close_idle_days}).",
            f"The channel is {facts.age_days:.0f} days old "
            f"(closing needs {limits.close_min_age_days}).",
            f"Closing frees {sat_text(local_msat)} of local balance for a better channel.",
        ),
        ExpectedImpact(
            lost_msat,
            f"no forward for {idle_text}; 30-day fee income lost; frees {sat_text(local_msat)} "
            "before on-chain fees",
        ),
    )


def offline(context: RuleContext) -> Outcome | None:
    if context.channel.connected:
        return None
    return _keep("The peer is disconnected: a new fee earns nothing until it is back.")


def balance_unknown(context: RuleContext) -> Outcome | None:
    if context.channel.balance_known:
        return None
    return _keep("The channel's balance is not known, so its liquidity cannot be judged.")


def draining(context: RuleContext) -> Outcome | None:
    limits, facts, channel = context.thresholds, context.facts, context.channel
    week_per_day_msat = (facts.volume_out_7d_msat - facts.volume_in_7d_msat) / 7
    net_out_per_day_msat = max(week_per_day_msat, facts.net_out_1d_msat)
    window = "the last day" if facts.net_out_1d_msat > week_per_day_msat else "7 days"
    if not (
        limits.drain_horizon_days > 0
        and facts.forwards_out_1d >= 1
        and net_out_per_day_msat > 0
        and channel.local_msat < limits.drain_horizon_days * net_out_per_day_msat
    ):
        return None
    days_left = channel.local_msat / net_out_per_day_msat
    current_ppm = channel.our_policy.fee_ppm
    lowered = _lowered_recently(facts, limits)
    if lowered is not None:
        return _keep(
            f"The channel is draining: {days_left:.1f} days of liquidity left at "
            f"{sat_text(int(net_out_per_day_msat))}/day over {window}.",
            lowered,
        )
    new_ppm = probed_ppm(current_ppm, limits)
    return _reprice(
        context,
        Action.RAISE_FEES,
        new_ppm,
        (
            f"The channel is draining: {sat_text(int(net_out_per_day_msat))}/day more went out "
            f"than came in over {window}, and {facts.forwards_out_1d} forwards went out in the "
            "last day.",
            f"At that pace its {sat_text(channel.local_msat)} on our side last "
            f"{days_left:.1f} days (less than {limits.drain_horizon_days}): the liquidity sells "
            "too cheaply.",
            f"Raise {limits.probe_step_pct}%: {current_ppm} → {new_ppm} ppm, so what is left goes "
            "to the payers who value it most.",
        ),
    )


def rebalance(context: RuleContext) -> Outcome | None:
    limits, facts, channel = context.thresholds, context.facts, context.channel
    if not (
        facts.local_ratio < limits.rebalance_below_local_ratio
        and context.score.score >= limits.rebalance_min_score
        and facts.demand_7d >= limits.raise_min_forwards_7d
    ):
        return None
    target_ratio = context.config.liquidity.target_local_ratio
    needed_msat = max(0, int(channel.capacity_msat * target_ratio) - channel.local_msat)
    return Outcome(
        Action.REBALANCE,
        (
            f"Only {facts.local_ratio:.0%} of the capacity is on our side "
            f"(below {limits.rebalance_below_local_ratio:.0%}).",
            f"Demand continues: {_demand_text(facts)}.",
            f"The channel is valuable (score {context.score.score:.2f}, at least "
            f"{limits.rebalance_min_score:.2f}): pricing alone will not refill it; "
            f"move about {sat_text(needed_msat)} into it to reach {target_ratio:.0%} local.",
        ),
        recovered_demand_impact(facts, channel.our_policy),
    )


def raise_fees(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    if not (
        facts.local_ratio < limits.raise_below_local_ratio
        and facts.demand_7d >= limits.raise_min_forwards_7d
    ):
        return None
    current_ppm = context.channel.our_policy.fee_ppm
    new_ppm = current_ppm + fee_step_ppm(current_ppm, limits)
    return _reprice(
        context,
        Action.RAISE_FEES,
        new_ppm,
        (
            f"Outbound liquidity is scarce: {facts.local_ratio:.0%} of the capacity is on our "
            f"side (below {limits.raise_below_local_ratio:.0%}).",
            f"Demand is there: {_demand_text(facts)} "
            f"(at least {limits.raise_min_forwards_7d} needed).",
            f"Scarce liquidity is underpriced: raise the fee by one step, "
            f"{current_ppm} → {new_ppm} ppm.",
        ),
    )


def base_fee_above_market(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    current = context.channel.our_policy
    market_msat = facts.alternative_median_base_msat
    if not (
        limits.base_fee_to_market
        and market_msat is not None
        and current.base_fee_msat - market_msat > limits.base_fee_tolerance_msat
        and facts.local_ratio > limits.lower_above_local_ratio
        and facts.forwards_out_7d < limits.probe_min_forwards_7d
    ):
        return None
    return _reprice(
        context,
        Action.LOWER_FEES,
        current.fee_ppm,
        (
            f"Base fee {current.base_fee_msat:,} msat, above the capacity-weighted median "
            f"{market_msat:,} msat of the {len(facts.alternative_base_fees_msat)} other channels "
            "toward this peer.",
            f"The price does not sell: {facts.forwards_out_7d} forwards out in 7 days with "
            f"{facts.local_ratio:.0%} of the capacity on our side. A base fee weighs most on "
            f"small payments: {current.base_fee_msat:,} msat is "
            f"{current.base_fee_msat * 1_000 // _SMALL_PAYMENT_SAT:,} ppm of a "
            f"{_SMALL_PAYMENT_SAT:,}-sat payment.",
            f"Lower the base fee to the market's: {current.base_fee_msat:,} → {market_msat:,} "
            f"msat; the rate stays {current.fee_ppm} ppm.",
        ),
        base_fee_msat=market_msat,
    )


_SMALL_PAYMENT_SAT = 10_000  # the payment a base fee is shown against in the reasons


def price_test(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    history = facts.price
    if not (
        limits.price_test_days > 0
        and history is not None
        and history.current_ppm > history.previous_ppm
        and history.previous_days > 0
    ):
        return None
    days = facts.price_days
    expected = history.previous_forwards_out * days / history.previous_days
    raised = (
        f"The fee was raised {history.previous_ppm} → {history.current_ppm} ppm "
        f"{days:.1f} days ago."
    )
    if days < limits.price_test_days or (
        expected < limits.price_test_forwards and days < limits.price_test_max_days
    ):
        return _keep(
            raised,
            f"Too early to judge: it is judged after {limits.price_test_days} days, once the old "
            f"rate would have brought {limits.price_test_forwards} forwards (so far "
            f"{expected:.1f}), or after {limits.price_test_max_days} days.",
        )
    before_per_day = history.previous_fees_msat / history.previous_days
    now_per_day = history.current_fees_msat / days
    earned = (
        f"At {history.current_ppm} ppm it earned {sat_text(int(now_per_day))}/day "
        f"({history.current_forwards_out} forwards in {days:.1f} days); at "
        f"{history.previous_ppm} ppm {sat_text(int(before_per_day))}/day "
        f"({history.previous_forwards_out} forwards in {history.previous_days:.1f} days)."
    )
    if now_per_day < before_per_day:
        if facts.local_ratio < limits.raise_below_local_ratio:
            return _keep(
                raised,
                earned,
                f"It earns less, but only {facts.local_ratio:.0%} of the capacity is on our "
                "side: the scarce liquidity keeps its price.",
            )
        return _reprice(
            context,
            Action.LOWER_FEES,
            history.previous_ppm,
            (
                raised,
                earned,
                f"The raise lost more volume than it gained in price: back to "
                f"{history.previous_ppm} ppm.",
            ),
        )
    if history.current_forwards_out == 0:
        return None
    current_ppm = context.channel.our_policy.fee_ppm
    new_ppm = probed_ppm(current_ppm, limits)
    return _reprice(
        context,
        Action.RAISE_FEES,
        new_ppm,
        (
            raised,
            earned,
            f"The raise paid: probe higher, {limits.probe_step_pct}% up: "
            f"{current_ppm} → {new_ppm} ppm; if it earns less, the fee comes back.",
        ),
    )


def lower_fees(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    if not (
        facts.local_ratio > limits.lower_above_local_ratio
        and facts.forwards_out_7d <= limits.lower_max_forwards_7d
    ):
        return None
    idle = (
        f"Liquidity sits idle: {facts.local_ratio:.0%} of the capacity is on our side (above "
        f"{limits.lower_above_local_ratio:.0%}) with {facts.forwards_out_7d} forwards out in "
        f"7 days (at most {limits.lower_max_forwards_7d})."
    )
    reference_ppm = facts.alternative_median_ppm
    if reference_ppm is None:
        return _keep(idle, "No other node has a channel toward this peer to compare fees with.")
    current_ppm = context.channel.our_policy.fee_ppm
    compared = (
        f"our fee {current_ppm} ppm against the median {reference_ppm} ppm of the "
        f"{len(facts.alternative_ppms)} other channels toward this peer"
    )
    if current_ppm <= reference_ppm:
        return _keep(idle, f"Already competitive: {compared}; the price is not what idles it.")
    new_ppm = max(0, reference_ppm, current_ppm - fee_step_ppm(current_ppm, limits))
    return _reprice(
        context,
        Action.LOWER_FEES,
        new_ppm,
        (
            idle,
            f"Priced above the alternatives: {compared}.",
            f"Lower the fee by one step, not below that median: {current_ppm} → {new_ppm} ppm.",
        ),
    )


def probe_price(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    if not (
        facts.forwards_out_1d >= max(1, limits.probe_min_forwards_1d)
        and facts.forwards_out_7d >= limits.probe_min_forwards_7d
    ):
        return None
    lowered = _lowered_recently(facts, limits)
    if lowered is not None:
        return _keep(lowered)
    current_ppm = context.channel.our_policy.fee_ppm
    probe_ppm = probed_ppm(current_ppm, limits)
    market_ppm = facts.alternative_median_ppm
    new_ppm = max(probe_ppm, market_ppm or 0)
    demand = (
        f"Demand holds at {current_ppm} ppm: {facts.forwards_out_1d} forwards out in the "
        f"last day and {facts.forwards_out_7d} in 7 days (at least "
        f"{limits.probe_min_forwards_1d} and {limits.probe_min_forwards_7d})."
    )
    if new_ppm > probe_ppm:
        return _reprice(
            context,
            Action.RAISE_FEES,
            new_ppm,
            (
                demand,
                f"The other {len(facts.alternative_ppms)} channels toward this peer charge a "
                f"median {market_ppm} ppm: payers who choose us would pay that elsewhere.",
                f"Raise to the market: {current_ppm} → {new_ppm} ppm.",
            ),
        )
    return _reprice(
        context,
        Action.RAISE_FEES,
        new_ppm,
        (
            demand,
            "Payers choose us among the alternatives at this price: it is not too high.",
            f"Probe a higher price, {limits.probe_step_pct}% up: {current_ppm} → {new_ppm} ppm; "
            "if the demand stops, the fee comes back down.",
        ),
    )


def untested_price(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    market_ppm = facts.alternative_median_ppm
    current_ppm = context.channel.our_policy.fee_ppm
    saturated = context.config.liquidity.saturated_ratio
    if not (
        limits.price_untested_at_market and not facts.has_history and facts.local_ratio < saturated
    ):
        return None
    if market_ppm is None or market_ppm <= current_ppm:
        return None
    return _reprice(
        context,
        Action.RAISE_FEES,
        market_ppm,
        (
            "No forward has gone through this channel in 30 days: its price is untested.",
            f"The other {len(facts.alternative_ppms)} channels toward this peer charge a "
            f"capacity-weighted median {market_ppm} ppm: start from the market price, "
            f"{current_ppm} → {market_ppm} ppm, and let demand move it from there.",
        ),
    )


def price(context: RuleContext) -> Outcome:
    """The fee the pricing model proposes (:mod:`lnopt.pricing`), as a decision."""
    facts, channel = context.facts, context.channel
    current_ppm = channel.our_policy.fee_ppm
    proposal = propose_fee(
        facts.evidence,
        current_ppm=current_ppm,
        market_ppm=facts.alternative_median_ppm,
        local_ratio=facts.local_ratio,
        config=context.config.pricing,
        seed=pricing_seed(facts.evidence),
    )
    if proposal.fee_ppm == current_ppm:
        return _keep(*proposal.reasons)
    action = Action.RAISE_FEES if proposal.fee_ppm > current_ppm else Action.LOWER_FEES
    return _reprice(context, action, proposal.fee_ppm, proposal.reasons)


def hold(context: RuleContext) -> Outcome:
    """The decision when no rule applies: keep, with the figures that were looked at."""
    facts = context.facts
    return _keep(
        f"No rule calls for a change: {facts.local_ratio:.0%} of the capacity on our side, "
        f"{_demand_text(facts)}, fee {context.channel.our_policy.fee_ppm} ppm, "
        f"score {context.score.score:.2f}."
    )


def _reprice(
    context: RuleContext,
    action: Action,
    new_ppm: int,
    reasons: tuple[str, ...],
    *,
    base_fee_msat: int | None = None,
) -> Outcome:
    """The outcome of a new fee rate (and base fee: by default the current one)."""
    current = context.channel.our_policy
    base = current.base_fee_msat if base_fee_msat is None else base_fee_msat
    proposed = current.with_fees(base_fee_msat=base, fee_ppm=new_ppm)
    impact = repricing_impact(context.facts, current, proposed, context.thresholds)
    return Outcome(action, reasons, impact, proposed)


RULES: dict[str, Rule] = {
    "not_open": not_open,
    "low_confidence": low_confidence,
    "close": close,
    "offline": offline,
    "balance_unknown": balance_unknown,
    "draining": draining,
    "rebalance": rebalance,
    "raise_fees": raise_fees,
    "base_fee_above_market": base_fee_above_market,
    "price_test": price_test,
    "untested_price": untested_price,
    "lower_fees": lower_fees,
    "probe_price": probe_price,
}
"""Every rule by name, in order of precedence: the first that applies decides."""

PRECEDENCE = tuple(RULES)

FEE_RULES = frozenset(("price_test", "untested_price", "lower_fees", "probe_price"))
"""The rules the pricing model replaces when ``pricing.enabled``: those that find the price
demand bears. ``draining`` and ``raise_fees`` still price scarce liquidity."""
