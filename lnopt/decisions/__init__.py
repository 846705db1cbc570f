"""Decisions: what to do about each channel, from its score, its balance and its activity.

Each rule is a small pure function, named in :data:`RULES`. It looks at one
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
   over 7 days, whichever is faster) sells its liquidity too cheaply: the fee rises by
   ``probe_step_pct`` percent, so what is left goes to the payers who value it most (0 days
   turns the rule off). A fee that came down less than ``probe_pause_days`` ago (the price test
   took back a raise) is kept instead: the higher price was tried and earned less.
7. ``rebalance``: a valuable channel (score at least ``rebalance_min_score``) that is depleted
   (local share below ``rebalance_below_local_ratio``) while demand continues (at least
   ``raise_min_forwards_7d`` forwards out or failed by us for lack of liquidity in 7 days):
   pricing alone will not refill it.
8. ``raise_fees``: scarce outbound liquidity (local share below ``raise_below_local_ratio``)
   with that same demand is underpriced: raise the fee by one step.
9. ``base_fee_above_market``: idle liquidity (local share above ``lower_above_local_ratio``,
   fewer than ``probe_min_forwards_7d`` forwards out in 7 days) whose base fee is more than
   ``base_fee_tolerance_msat`` above the market's (the capacity-weighted median base fee of the
   other nodes' channels toward the same peer) gets the market's base fee, its rate unchanged:
   a base fee weighs most on small payments, and payers see the sum (``base_fee_to_market`` 0
   turns the rule off). The pricing model, which sets rates, keeps this rule.
10. ``price_test``: the fee lnopt raised last is judged by what it earned (from the fee journal:
   fees per day at the new rate against the old one, over the time the old one was in force,
   however short, at most a week). Not before ``price_test_days``, and not before the old rate
   would have brought ``price_test_forwards`` forwards in the time, or ``price_test_max_days``
   have passed. Earning less per day, the fee goes back to the old rate (unless outbound liquidity
   is scarce, which keeps its price); earning at least as much with forwards at the new rate,
   it is probed ``probe_step_pct`` percent higher. Until it is judged, the channel is kept
   (0 days turns the rule off). The channel climbs while each raise pays and steps back from
   the first that does not.
11. ``untested_price``: a channel without any forward in 30 days, not saturated (local share
    below ``liquidity.saturated_ratio``) and cheaper than the market (the capacity-weighted
    median fee of the other nodes' channels toward the same peer) moves to the market price:
    nothing tells it to be cheaper than what payers already pay (``price_untested_at_market``
    0 turns the rule off).
12. ``lower_fees``: idle liquidity (local share above ``lower_above_local_ratio``, at most
    ``lower_max_forwards_7d`` forwards out in 7 days) priced above the market: lower the fee
    by one step, not below the market price. When the fee is already at or below it, or there
    is nothing to compare with, the channel is kept, saying so.
13. ``probe_price``: demand holds at the current price (at least ``probe_min_forwards_1d``
    forwards out in the last day and ``probe_min_forwards_7d`` in 7 days): payers choose us
    among the alternatives at this price, so it is not too high; the fee rises by
    ``probe_step_pct`` percent, or straight to the market price when that is higher. When a
    probe goes too far, ``price_test`` takes it back; a fee that came down is not raised again
    (by this rule or ``draining``) for ``probe_pause_days``. When the demand stops altogether,
    ``lower_fees`` brings the fee down step by step once the liquidity has sat idle for a week.

**The pricing model.** With ``pricing.enabled`` the demand rules (10 to 13) are not asked, and
a channel that none of the others decides is priced by :mod:`lnopt.pricing` (a demand curve
learned per channel, Thompson sampling, a hold time, a floor and a ceiling). The liquidity
rules (6 and 8) still raise the fee of a draining or depleted channel, and the guard still
approves, clamps or refuses every proposal.

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
from collections.abc import Sequence

from lnopt.config import Config
from lnopt.decisions.facts import ChannelFacts, channel_facts
from lnopt.decisions.impact import NO_CHANGE
from lnopt.decisions.rules import (
    PRECEDENCE,
    RULES,
    Outcome,
    Rule,
    RuleContext,
    fee_step_ppm,
    first_outcome,
    hold,
    probe_step_ppm,
)
from lnopt.errors import InvalidRequest
from lnopt.model import Channel, ChannelScore, Decision
from lnopt.snapshot import NodeSnapshot

__all__ = [
    "NO_CHANGE",
    "PRECEDENCE",
    "RULES",
    "ChannelFacts",
    "Outcome",
    "Rule",
    "RuleContext",
    "channel_facts",
    "decide",
    "decide_channel",
    "fee_step_ppm",
    "first_outcome",
    "hold",
    "probe_step_ppm",
]

logger = logging.getLogger(__name__)


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
