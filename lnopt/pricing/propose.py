"""The fee the pricing model proposes for one channel, and why, in words.

In order:

1. **Quiet channels go to the market.** With fewer than ``quiet_payments`` payments (served or
   failed by us) in the evidence window nothing says what payers would pay us, and a quiet
   channel is not cut because nothing happened: its fee moves to the market price toward its
   peer (within the floor and ceiling), or stays where it is when there is no market to read,
   when it is within :data:`MARKET_BAND` of that price, or when it was set less than
   ``hold_days`` ago (the market moves every day; following it would flood gossip).
2. **A price is held to be judged.** A fee in force for less than ``hold_days`` is kept: a
   price needs days of traffic before it says anything, and gossip allows few updates.
3. **Thompson sampling picks the candidate.** The candidates are the rates of a log-spaced grid
   (a factor √2 apart), the current fee and the market price, those within ``max_move_factor``
   of the current fee and within the floor and the ceiling. One draw of the demand posterior
   (:mod:`lnopt.pricing.demand`) names the candidate that would earn most; rates seldom tried
   are drawn often enough to be explored, rates shown poor seldom.
4. **No move without evidence.** The drawn rate replaces the current one only when the
   posterior says it earns more with probability at least ``min_win_probability``. A current
   fee outside the floor and ceiling is not held: it moves at once to the best candidate inside
   them (the nearest bound when none lies within ``max_move_factor``).

A market price of 0 ppm (free channels toward the peer) is no price to follow: it counts as no
market.

The **ceiling** (``ceiling_ppm``) sits below the senders' fee budget cliff: Core Lightning's
``pay`` gives up routes costing over 0.5% of the amount, so above it a fee is not dear but
invisible. The **floor** is the liquidity's opportunity cost: when less than
``scarce_local_ratio`` of the capacity is on our side, the sats left are worth at least what
refilling them costs, about what the other channels toward the peer charge (the market price),
and the scarcer they are the more the payments they would carry later are worth: the floor is
the market price times ``scarce_local_ratio / local share`` (at most :data:`MAX_SCARCITY`
times), so a channel halfway below the mark sells at twice the market at least.

The draw is seeded by the evidence itself (the channel, the rate in force, the payments counted
at each rate and the id of the store's latest run, :func:`pricing_seed`), not by the clock: the
plugin, the runner and the simulator propose the same fee from the same store whenever they
look, and each run draws anew, as does each new payment or fee.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from lnopt.config import PricingConfig
from lnopt.pricing.demand import DemandPosterior, fit_demand
from lnopt.pricing.evidence import ArmEvidence, ChannelEvidence

MAX_SCARCITY = 8.0  # the floor is at most this multiple of the market price
MARKET_BAND = 1.25  # a quiet channel within this factor of the market price is at the market
GRID_PPM = tuple(sorted({round(2 ** (k / 2)) for k in range(0, 29)}))
ARMS_EXPLAINED = 4


@dataclass(frozen=True, slots=True)
class PriceProposal:
    """The fee to set (the current one: keep), why, and how sure the model is."""

    fee_ppm: int
    reasons: tuple[str, ...]
    win_probability: float | None = None


def pricing_seed(evidence: ChannelEvidence | None) -> int:
    """The seed of the draw for ``evidence`` (see the module docstring); 0 without evidence."""
    if evidence is None:
        return 0
    counts = ",".join(f"{arm.fee_ppm}:{arm.served}:{arm.censored}" for arm in evidence.arms)
    key = f"{evidence.short_channel_id}@{evidence.current_ppm}|{counts}|{evidence.latest_run_id}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big")


def bounds_ppm(
    *, market_ppm: int | None, local_ratio: float, config: PricingConfig
) -> tuple[int, int]:
    """The floor and ceiling of the fee (see the module docstring)."""
    floor = 0
    if market_ppm is not None and local_ratio < config.scarce_local_ratio:
        scarcity = min(MAX_SCARCITY, config.scarce_local_ratio / max(local_ratio, 1e-9))
        floor = round(market_ppm * scarcity)
    ceiling = config.ceiling_ppm
    return min(floor, ceiling), ceiling


def propose_fee(
    evidence: ChannelEvidence | None,
    *,
    current_ppm: int,
    market_ppm: int | None,
    local_ratio: float,
    config: PricingConfig,
    seed: int,
) -> PriceProposal:
    market_ppm = market_ppm or None  # free channels toward the peer set no price to follow
    floor, ceiling = bounds_ppm(market_ppm=market_ppm, local_ratio=local_ratio, config=config)
    bounded = (
        f" (floor {floor} ppm: only {local_ratio:.0%} of the capacity is on our side)"
        if floor
        else ""
    )
    held_days = 0.0 if evidence is None else evidence.held_days
    if evidence is None or evidence.served + evidence.censored < config.quiet_payments:
        return _quiet(current_ppm, market_ppm, floor, ceiling, held_days, config)
    within = floor <= current_ppm <= ceiling
    if evidence.current_ppm != current_ppm and within:
        return PriceProposal(
            current_ppm,
            (
                f"The fee was set to {current_ppm} ppm outside lnopt since the last run: it is "
                f"held {config.hold_days:g} days before it is judged.",
            ),
        )
    if evidence.held_days < config.hold_days and within:
        return PriceProposal(
            current_ppm,
            (
                f"{current_ppm} ppm has been in force {evidence.held_days:.1f} days: it is "
                f"held {config.hold_days:g} days before it is judged.",
            ),
        )
    posterior = fit_demand(
        evidence,
        market_ppm=market_ppm,
        choke_spread=config.choke_spread,
        choke_prior_factor=config.choke_prior_factor,
    )
    tried = _tried_text(evidence)
    candidates = _candidates(current_ppm, market_ppm, floor, ceiling, config)
    if not within:
        best = candidates[int(np.argmax(posterior.expected_income_msat_per_day(candidates)))]
        return PriceProposal(
            best,
            (
                tried,
                f"{current_ppm} ppm is outside {floor} to {ceiling} ppm{bounded}.",
                f"Within them {best} ppm is expected to earn most "
                f"({_per_day(posterior, best)}): {current_ppm} → {best} ppm.",
            ),
        )
    drawn = posterior.sample_best(candidates, np.random.default_rng(seed))
    if drawn == current_ppm:
        return PriceProposal(
            current_ppm,
            (
                tried,
                f"{current_ppm} ppm still looks best among {candidates[0]} to {candidates[-1]} "
                f"ppm{bounded} ({_per_day(posterior, current_ppm)}): keep it.",
            ),
        )
    sure = posterior.win_probability(drawn, current_ppm)
    compared = (
        f"{drawn} ppm ({_per_day(posterior, drawn)}) against {current_ppm} ppm "
        f"({_per_day(posterior, current_ppm)}): {sure:.0%} sure it earns more"
    )
    if sure < config.min_win_probability:
        return PriceProposal(
            current_ppm,
            (
                tried,
                f"{compared}, below the {config.min_win_probability:.0%} needed to move: keep "
                f"{current_ppm} ppm.",
            ),
            sure,
        )
    return PriceProposal(
        drawn,
        (tried, f"{compared}{bounded}: {current_ppm} → {drawn} ppm."),
        sure,
    )


def _quiet(
    current_ppm: int,
    market_ppm: int | None,
    floor: int,
    ceiling: int,
    held_days: float,
    config: PricingConfig,
) -> PriceProposal:
    too_few = (
        "No payment"
        if config.quiet_payments == 1
        else f"Fewer than {config.quiet_payments} payments"
    )
    quiet = (
        f"{too_few} in {config.window_days} days: nothing yet says what payers would pay this "
        "channel, and it is not cut for that."
    )
    if market_ppm is None:
        return PriceProposal(
            current_ppm, (quiet, "No other channel toward this peer gives a market price.")
        )
    target = min(ceiling, max(floor, market_ppm))
    within = floor <= current_ppm <= ceiling
    if within and target / MARKET_BAND <= current_ppm <= target * MARKET_BAND:
        return PriceProposal(
            current_ppm,
            (quiet, f"It is at about the market price, {target} ppm: keep {current_ppm} ppm."),
        )
    if held_days < config.hold_days and within:
        return PriceProposal(
            current_ppm,
            (
                quiet,
                f"The market price is {target} ppm, but {current_ppm} ppm has been in force "
                f"{held_days:.1f} days: it is held {config.hold_days:g} days.",
            ),
        )
    return PriceProposal(
        target,
        (
            quiet,
            f"The other channels toward this peer charge a capacity-weighted median "
            f"{market_ppm} ppm: start from the market, {current_ppm} → {target} ppm.",
        ),
    )


def _candidates(
    current_ppm: int, market_ppm: int | None, floor: int, ceiling: int, config: PricingConfig
) -> list[int]:
    low = max(floor, current_ppm / config.max_move_factor)
    high = min(ceiling, max(current_ppm, 1) * config.max_move_factor)
    found = {ppm for ppm in GRID_PPM if low <= ppm <= high}
    for extra in (current_ppm, market_ppm):
        if extra is not None and low <= extra <= high:
            found.add(extra)
    if not found:
        found.add(min(ceiling, max(floor, current_ppm)))
    return sorted(found)


def _per_day(posterior: DemandPosterior, fee_ppm: int) -> str:
    income = float(posterior.expected_income_msat_per_day([fee_ppm])[0])
    payments = posterior.expected_payments_per_day(fee_ppm)
    sat = income / 1000
    return f"about {payments:.2f} payments and {sat:,.{1 if sat < 10 else 0}f} sat a day"


def _tried_text(evidence: ChannelEvidence) -> str:
    shown = sorted(evidence.arms, key=lambda arm: -arm.raw_days)[:ARMS_EXPLAINED]
    return "Tried: " + "; ".join(_arm_text(arm) for arm in sorted(shown, key=_by_fee)) + "."


def _by_fee(arm: ArmEvidence) -> int:
    return arm.fee_ppm


def _arm_text(arm: ArmEvidence) -> str:
    failed = f", {arm.censored} failed by us" if arm.censored else ""
    return (
        f"{arm.fee_ppm} ppm for {arm.raw_days:.1f} days: {arm.served} payments{failed}, "
        f"{arm.fees_msat // 1000:,} sat"
    )
