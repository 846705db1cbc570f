"""Decisions: what to do about each channel, from its score, its balance and its activity.

Each rule is a small pure function registered by name with :func:`rule`. It looks at one
channel (a :class:`RuleContext`) and either does not apply (``None``) or returns an
:class:`Outcome`. :func:`decide` asks the rules in the order of :data:`PRECEDENCE`; the first
that applies decides; when none does, the channel is kept, with the figures that were looked at.
The precedence, first asked first:

1. ``not_open``: a channel that is pending, closing or inactive is kept; it cannot forward.
2. ``low_confidence``: a score whose confidence is below ``decisions.min_confidence`` is kept.
3. ``close``: a channel that is poor (score below ``close_below_score``), idle (no forward,
   settled or failed, for at least ``close_idle_days``) and old (at least
   ``close_min_age_days``) is proposed for closing. All three must hold, so a young or active
   channel is never closed; a channel without any activity record is not known to be idle.
4. ``offline``: a channel whose peer is disconnected is kept; a new fee earns nothing until the
   peer is back.
5. ``balance_unknown``: a channel whose balance is not known (gossip only) is kept; the
   remaining rules are about liquidity.
6. ``draining``: a channel still selling (a forward out in the last day) whose local balance
   would be gone within ``drain_horizon_days`` at its net outflow (per day over the last day or
   over 7 days, whichever is faster) sells its liquidity too cheaply: the fee rises by ``probe_step_pct`` percent, so what is left goes to the payers who
   value it most (0 days turns the rule off).
7. ``rebalance``: a valuable channel (score at least ``rebalance_min_score``) that is depleted
   (local share below ``rebalance_below_local_ratio``) while demand continues (at least
   ``raise_min_forwards_7d`` forwards out or failed by us for lack of liquidity in 7 days):
   pricing alone will not refill it.
8. ``raise_fees``: scarce outbound liquidity (local share below ``raise_below_local_ratio``)
   with that same demand is underpriced: raise the fee by one step.
9. ``untested_price``: a channel without any forward in 30 days, not saturated (local share
   below ``liquidity.saturated_ratio``) and cheaper than the market (the capacity-weighted
   median fee of the other nodes' channels toward the same peer) moves to the market price:
   nothing tells it to be cheaper than what payers already pay (``price_untested_at_market``
   0 turns the rule off).
10. ``lower_fees``: idle liquidity (local share above ``lower_above_local_ratio``, at most
    ``lower_max_forwards_7d`` forwards out in 7 days) priced above the market: lower the fee
    by one step, not below the market price. When the fee is already at or below it, or there
    is nothing to compare with, the channel is kept, saying so.
11. ``probe_price``: demand holds at the current price (at least ``probe_min_forwards_1d``
    forwards out in the last day and ``probe_min_forwards_7d`` in 7 days): payers choose us
    among the alternatives at this price, so it is not too high; the fee rises by
    ``probe_step_pct`` percent, or straight to the market price when that is higher. When a
    probe goes too far the demand stops, and ``lower_fees`` brings the fee back down step by
    step once the liquidity has sat idle for a week.

The market price is a *capacity-weighted* median because large channels carry most payments.

A fee step is ``fee_step_pct`` percent of the current fee rate, at least ``fee_step_min_ppm``.
A proposal changes only ``fee_ppm`` (base fee, HTLC limits and CLTV delta are kept) and never
goes below 0 ppm. The confidence of a decision is the confidence of the channel's score.

Expected impacts rest on the last 7 days of outbound volume and on ``decisions.fee_elasticity``:
the share of volume assumed lost when the fee rate rises by 100% (and gained when it falls by
100%), proportionally for smaller changes; a change from 0 ppm counts as +100%.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from lnopt.config import Config, DecisionConfig
from lnopt.errors import InvalidRequest
from lnopt.model import (
    Action,
    Channel,
    ChannelActivity,
    ChannelPolicy,
    ChannelScore,
    ChannelState,
    Decision,
    ExpectedImpact,
    NodeSnapshot,
    WindowActivity,
)

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400
BLOCKS_PER_DAY = 144
NO_CHANGE = ExpectedImpact(daily_fee_delta_msat=0, basis="no change")


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """What the rules need to know about one channel, computed once from the snapshot.

    ``idle_days`` is the time since the channel last forwarded (settled or failed, in or out);
    when ``idle_at_least`` is true it is only a lower bound, read from the activity windows.
    ``alternative_ppms`` are the fee rates of the other nodes' active channels toward the peer,
    in increasing order, and ``alternative_capacities_msat`` their capacities.
    """

    local_ratio: float
    forwards_out_1d: int
    forwards_out_7d: int
    forwards_out_30d: int
    local_failed_7d: int
    volume_out_7d_msat: int
    volume_in_7d_msat: int
    fees_earned_30d_msat: int
    age_days: float
    idle_days: float
    idle_at_least: bool
    alternative_ppms: tuple[int, ...]
    alternative_capacities_msat: tuple[int, ...] = ()
    net_out_1d_msat: int = 0  # volume out minus volume in over the last day
    has_history: bool = True  # the store has any forward of this channel in 30 days

    @property
    def demand_7d(self) -> int:
        """Forwards out in 7 days plus those we failed for lack of outbound liquidity."""
        return self.forwards_out_7d + self.local_failed_7d

    @property
    def alternative_median_ppm(self) -> int | None:
        """The capacity-weighted (lower) median of the alternatives' fee rates.

        Larger channels carry more of the payments, so their price counts more; with equal
        capacities this is the plain lower median.
        """
        if not self.alternative_ppms:
            return None
        weights = self.alternative_capacities_msat or (1,) * len(self.alternative_ppms)
        half = sum(weights) / 2
        running = 0
        for ppm, weight in zip(self.alternative_ppms, weights, strict=True):
            running += weight
            if running >= half:
                return ppm
        return self.alternative_ppms[-1]


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

RULES: dict[str, Rule] = {}

PRECEDENCE = (
    "not_open",
    "low_confidence",
    "close",
    "offline",
    "balance_unknown",
    "draining",
    "rebalance",
    "raise_fees",
    "untested_price",
    "lower_fees",
    "probe_price",
)


def rule(name: str) -> Callable[[Rule], Rule]:
    """Register a decision rule under ``name``; a duplicate name is a programming error."""

    def decorator(function: Rule) -> Rule:
        if name in RULES:
            raise ValueError(f"decision rule {name!r} is registered twice")
        RULES[name] = function
        return function

    return decorator


def decide(
    snapshot: NodeSnapshot, scores: Sequence[ChannelScore], config: Config
) -> tuple[Decision, ...]:
    """One decision per score, in the same order; pure and deterministic."""
    channels = {channel.short_channel_id: channel for channel in snapshot.channels}
    decisions = []
    for score in scores:
        channel = channels.get(score.short_channel_id)
        if channel is None:
            raise InvalidRequest(
                f"score for channel {score.short_channel_id} which the snapshot does not hold"
            )
        decisions.append(decide_channel(snapshot, channel, score, config))
    return tuple(decisions)


def decide_channel(
    snapshot: NodeSnapshot, channel: Channel, score: ChannelScore, config: Config
) -> Decision:
    """The decision for one channel: the first rule of :data:`PRECEDENCE` that applies."""
    outcome = first_outcome(RuleContext(channel, score, channel_facts(snapshot, channel), config))
    decision = Decision(
        short_channel_id=channel.short_channel_id,
        peer_id=channel.peer_id,
        action=outcome.action,
        confidence=score.confidence,
        reasons=outcome.reasons,
        current_policy=channel.our_policy,
        proposed_policy=outcome.proposed_policy,
        impact=outcome.impact,
    )
    logger.debug(
        "decision scid=%s action=%s confidence=%.2f daily_fee_delta_msat=%d",
        decision.short_channel_id,
        decision.action.value,
        decision.confidence,
        decision.impact.daily_fee_delta_msat,
    )
    return decision


def first_outcome(context: RuleContext) -> Outcome:
    """The outcome of the first rule of :data:`PRECEDENCE` that applies, else :func:`hold`."""
    for name in PRECEDENCE:
        outcome = RULES[name](context)
        if outcome is not None:
            return outcome
    return hold(context)


def channel_facts(snapshot: NodeSnapshot, channel: Channel) -> ChannelFacts:
    scid = channel.short_channel_id
    record = snapshot.activity.get(scid)
    activity = record if record is not None else ChannelActivity(scid)
    idle_days, idle_at_least = _idle_days(record, snapshot.taken_at_s)
    alternatives = sorted(
        (edge.policy.fee_ppm, edge.capacity_msat)
        for edge in snapshot.graph.edges_to(channel.peer_id)
        if edge.active and edge.source != snapshot.node_id
    )
    return ChannelFacts(
        local_ratio=channel.local_ratio,
        forwards_out_1d=activity.last_1d.forwards_out,
        forwards_out_7d=activity.last_7d.forwards_out,
        forwards_out_30d=activity.last_30d.forwards_out,
        local_failed_7d=activity.last_7d.local_failed,
        volume_out_7d_msat=activity.last_7d.volume_out_msat,
        volume_in_7d_msat=activity.last_7d.volume_in_msat,
        net_out_1d_msat=activity.last_1d.volume_out_msat - activity.last_1d.volume_in_msat,
        fees_earned_30d_msat=activity.last_30d.fees_earned_msat,
        age_days=max(0, snapshot.block_height - channel.funding_height) / BLOCKS_PER_DAY,
        idle_days=idle_days,
        idle_at_least=idle_at_least,
        alternative_ppms=tuple(ppm for ppm, _ in alternatives),
        alternative_capacities_msat=tuple(capacity for _, capacity in alternatives),
        has_history=record is not None,
    )


def fee_step_ppm(current_ppm: int, thresholds: DecisionConfig) -> int:
    """One fee step: ``fee_step_pct`` percent of the current rate, at least ``fee_step_min_ppm``."""
    return max(thresholds.fee_step_min_ppm, max(0, current_ppm) * thresholds.fee_step_pct // 100)


def _forwards(window: WindowActivity) -> int:
    return window.settled + window.failed + window.local_failed


def _idle_days(activity: ChannelActivity | None, now_s: float) -> tuple[float, bool]:
    """Days since the last forward, and whether that is only a lower bound.

    Without an activity record nothing is known: 0 days. The windows bound the answer: it is
    less than the shortest window with a forward and at least the longest one without any.
    """
    if activity is None:
        return 0.0, True
    busy = [window.days for window in activity.windows if _forwards(window) > 0]
    ceiling = min(busy, default=None)
    if activity.last_forward_s is not None:
        exact = max(0.0, (now_s - activity.last_forward_s) / SECONDS_PER_DAY)
        if ceiling is None or exact < ceiling:
            return exact, False
    quiet = [
        window.days
        for window in activity.windows
        if _forwards(window) == 0 and (ceiling is None or window.days < ceiling)
    ]
    return float(max(quiet, default=0)), True


def _sat(msat: int) -> str:
    return f"{msat // 1000:,} sat"


def _keep(*reasons: str) -> Outcome:
    return Outcome(Action.KEEP, reasons, NO_CHANGE)


def _demand_text(facts: ChannelFacts) -> str:
    return (
        f"{facts.forwards_out_7d} forwards out and {facts.local_failed_7d} failed by us "
        "for lack of liquidity in 7 days"
    )


# --- the rules, in order of precedence -------------------------------------------------------


@rule("not_open")
def not_open(context: RuleContext) -> Outcome | None:
    state = context.channel.state
    if state is ChannelState.ACTIVE:
        return None
    return _keep(
        f"The channel is {state.value}, not active: it cannot forward, so it is left alone."
    )


@rule("low_confidence")
def low_confidence(context: RuleContext) -> Outcome | None:
    minimum = context.thresholds.min_confidence
    if context.score.confidence >= minimum:
        return None
    return _keep(
        f"Confidence {context.score.confidence:.2f} is below the minimum {minimum:.2f}: "
        "too little is known to act, so nothing changes."
    )


@rule("close")
def close(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    poor = context.score.score < limits.close_below_score
    idle = facts.idle_days >= limits.close_idle_days
    old = facts.age_days >= limits.close_min_age_days
    if not (poor and idle and old):
        return None
    idle_text = f"{'at least ' if facts.idle_at_least else ''}{facts.idle_days:.0f} days"
    local_msat = context.channel.local_msat
    lost_msat = -_per_day(facts.fees_earned_30d_msat, 30)
    return Outcome(
        Action.CLOSE,
        (
            f"Score {context.score.score:.2f} is below {limits.close_below_score:.2f}.",
            f"No forward for {idle_text} (closing needs {limits.close_idle_days}).",
            f"The channel is {facts.age_days:.0f} days old "
            f"(closing needs {limits.close_min_age_days}).",
            f"Closing frees {_sat(local_msat)} of local balance for a better channel.",
        ),
        ExpectedImpact(
            lost_msat,
            f"no forward for {idle_text}; 30-day fee income lost; frees {_sat(local_msat)} "
            "before on-chain fees",
        ),
    )


@rule("offline")
def offline(context: RuleContext) -> Outcome | None:
    if context.channel.connected:
        return None
    return _keep("The peer is disconnected: a new fee earns nothing until it is back.")


@rule("balance_unknown")
def balance_unknown(context: RuleContext) -> Outcome | None:
    if context.channel.balance_known:
        return None
    return _keep("The channel's balance is not known, so its liquidity cannot be judged.")


@rule("draining")
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
    new_ppm = current_ppm + probe_step_ppm(current_ppm, limits)
    return _reprice(
        context,
        Action.RAISE_FEES,
        new_ppm,
        (
            f"The channel is draining: {_sat(int(net_out_per_day_msat))}/day more went out than "
            f"came in over {window}, and {facts.forwards_out_1d} forwards went out in the last "
            "day.",
            f"At that pace its {_sat(channel.local_msat)} on our side last {days_left:.1f} days "
            f"(less than {limits.drain_horizon_days}): the liquidity sells too cheaply.",
            f"Raise {limits.probe_step_pct}%: {current_ppm} → {new_ppm} ppm, so what is left goes "
            "to the payers who value it most.",
        ),
    )


@rule("rebalance")
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
            f"move about {_sat(needed_msat)} into it to reach {target_ratio:.0%} local.",
        ),
        _recovered_demand_impact(facts, channel.our_policy),
    )


@rule("raise_fees")
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


@rule("lower_fees")
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


@rule("probe_price")
def probe_price(context: RuleContext) -> Outcome | None:
    limits, facts = context.thresholds, context.facts
    if not (
        facts.forwards_out_1d >= max(1, limits.probe_min_forwards_1d)
        and facts.forwards_out_7d >= limits.probe_min_forwards_7d
    ):
        return None
    current_ppm = context.channel.our_policy.fee_ppm
    probe_ppm = current_ppm + probe_step_ppm(current_ppm, limits)
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


@rule("untested_price")
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


def probe_step_ppm(current_ppm: int, thresholds: DecisionConfig) -> int:
    """One upward probe: ``probe_step_pct`` percent of the rate, at least ``fee_step_min_ppm``."""
    return max(thresholds.fee_step_min_ppm, max(0, current_ppm) * thresholds.probe_step_pct // 100)


def hold(context: RuleContext) -> Outcome:
    """The decision when no rule applies: keep, with the figures that were looked at."""
    facts = context.facts
    return _keep(
        f"No rule calls for a change: {facts.local_ratio:.0%} of the capacity on our side, "
        f"{_demand_text(facts)}, fee {context.channel.our_policy.fee_ppm} ppm, "
        f"score {context.score.score:.2f}."
    )


# --- expected impacts ------------------------------------------------------------------------


def _per_day(total_msat: int, days: int) -> int:
    return round(Fraction(total_msat, days))


def _reprice(
    context: RuleContext, action: Action, new_ppm: int, reasons: tuple[str, ...]
) -> Outcome:
    current = context.channel.our_policy
    proposed = current.with_fees(base_fee_msat=current.base_fee_msat, fee_ppm=new_ppm)
    impact = _repricing_impact(context.facts, current, proposed, context.thresholds)
    return Outcome(action, reasons, impact, proposed)


def _repricing_impact(
    facts: ChannelFacts, current: ChannelPolicy, proposed: ChannelPolicy, limits: DecisionConfig
) -> ExpectedImpact:
    """Change of daily fee income if the last 7 days' outbound flow meets the new fee."""
    if facts.volume_out_7d_msat == 0:
        return ExpectedImpact(
            0,
            "no outbound volume in 7 days to reprice; any effect depends on demand the new "
            "fee finds",
        )
    old_ppm, new_ppm = current.fee_ppm, proposed.fee_ppm
    relative = 1.0 if old_ppm <= 0 else min(1.0, abs(new_ppm - old_ppm) / old_ppm)
    volume_change = -limits.fee_elasticity * relative * (1 if new_ppm > old_ppm else -1)
    factor = max(0.0, 1.0 + volume_change)
    before_msat = _fee_income_msat(current, facts.volume_out_7d_msat, facts.forwards_out_7d)
    after_msat = _fee_income_msat(
        proposed, round(facts.volume_out_7d_msat * factor), round(facts.forwards_out_7d * factor)
    )
    direction = "fall" if volume_change < 0 else "rise"
    return ExpectedImpact(
        _per_day(after_msat - before_msat, 7),
        f"7-day outbound volume {_sat(facts.volume_out_7d_msat // 7)}/day at "
        f"{old_ppm} → {new_ppm} ppm, assuming volume would {direction} by "
        f"{abs(volume_change):.1%} (elasticity {limits.fee_elasticity:g})",
    )


def _fee_income_msat(policy: ChannelPolicy, volume_msat: int, forwards: int) -> int:
    return volume_msat * policy.fee_ppm // 1_000_000 + forwards * policy.base_fee_msat


def _recovered_demand_impact(facts: ChannelFacts, policy: ChannelPolicy) -> ExpectedImpact:
    """Fees of the forwards we failed for lack of liquidity, at the average forward size."""
    if facts.local_failed_7d == 0 or facts.forwards_out_7d == 0:
        return ExpectedImpact(
            0,
            "no forward failed for lack of liquidity in 7 days, or their size is unknown; "
            "before the cost of rebalancing",
        )
    average_msat = facts.volume_out_7d_msat // facts.forwards_out_7d
    fee_msat = policy.fee_msat(average_msat)
    return ExpectedImpact(
        _per_day(facts.local_failed_7d * fee_msat, 7),
        f"{facts.local_failed_7d} forwards failed for lack of liquidity in 7 days, each worth "
        f"{fee_msat:,} msat at the average forward of {_sat(average_msat)}; "
        "before the cost of rebalancing",
    )
