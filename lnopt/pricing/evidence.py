"""What a channel has shown at each fee rate: time in force, payments served and turned away.

A **spell** is a stretch of time one fee rate was in force on a channel. The spells come from
what the store saw: the fee each run observed on the channel and each change the fee journal
made, in time order (a change made by a run comes after that run's observation); consecutive
equal rates are one spell, and the last one runs until now. A fee changed outside lnopt shows up
at the next observation. Before the first observation (history backfilled when lnopt starts)
the fee first observed is taken to have been in force since the channel's first payment in the
evidence window: the fee a node runs at has usually been set well before.

A **payment** is what one payer asked of the channel at one time: the parts that left through
it within ``payment_window_s`` of the first are one payment (the parts of a multi-part payment
arrive together), its amount the sum of theirs. It was *served* when any part settled; it is
*censored* when every part was failed by us (for lack of liquidity, or for a fee the payer had
not yet seen): demand existed at the price in force, though we earned nothing from it. Failures
further downstream say nothing about our price and are not counted.

An **arm** sums the spells of one fee rate: its exposure in days and its payments, each weighed
by ``0.5 ** (age / half_life_days)`` so that old evidence fades as the market moves; the raw
(unweighted) volume and fees of its served payments are kept as integers for the explanation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class PriceSpell:
    """One stretch of time ``fee_ppm`` was in force on a channel."""

    fee_ppm: int
    start_s: float
    end_s: float

    @property
    def days(self) -> float:
        return max(0.0, self.end_s - self.start_s) / DAY_S


@dataclass(frozen=True, slots=True)
class PaymentSeen:
    """One payment that asked to leave through a channel (its parts grouped)."""

    at_s: float
    amount_msat: int
    fee_msat: int
    served: bool


@dataclass(frozen=True, slots=True)
class ArmEvidence:
    """What one fee rate showed: weighted exposure and payments, raw served totals."""

    fee_ppm: int
    days: float  # weighted exposure
    payments: float  # weighted payments, served and censored
    served: int  # raw count of served payments
    censored: int  # raw count of payments we failed
    volume_msat: int  # raw volume of the served payments
    fees_msat: int  # raw fees of the served payments
    raw_days: float  # unweighted exposure


@dataclass(frozen=True, slots=True)
class ChannelEvidence:
    """A channel's arms, the rate in force and for how long."""

    short_channel_id: str
    current_ppm: int
    held_days: float  # how long the current rate has been in force
    arms: tuple[ArmEvidence, ...]
    latest_run_id: int = 0  # the store's latest run when the evidence was read (0: none)

    @property
    def served(self) -> int:
        return sum(arm.served for arm in self.arms)

    @property
    def censored(self) -> int:
        return sum(arm.censored for arm in self.arms)

    @property
    def mean_amount_msat(self) -> int | None:
        """The mean amount of a served payment; None before the first."""
        served = self.served
        if served == 0:
            return None
        return sum(arm.volume_msat for arm in self.arms) // served


def spells_from(
    rate_events: Iterable[tuple[float, int, int, int]],
    *,
    now_s: float,
    first_seen_s: float | None,
) -> tuple[PriceSpell, ...]:
    """The spells from ``(time_s, order, sequence, fee_ppm)`` events, in any order: an
    observation (order 0) or a journal change (order 1, its ``change_id`` as the sequence, so
    changes made at the same time follow one another as they were made). The first spell starts
    at ``first_seen_s`` when that is earlier (see the module docstring)."""
    spells: list[PriceSpell] = []
    for time_s, _, _, fee_ppm in sorted(rate_events):
        if time_s > now_s:
            break
        if not spells and first_seen_s is not None:
            time_s = min(time_s, first_seen_s)
        if spells and spells[-1].fee_ppm == fee_ppm:
            continue
        if spells and spells[-1].start_s >= time_s:  # replaced at once: never in force
            spells.pop()
            if spells and spells[-1].fee_ppm == fee_ppm:
                spells[-1] = PriceSpell(fee_ppm, spells[-1].start_s, now_s)
                continue
        if spells:
            spells[-1] = PriceSpell(spells[-1].fee_ppm, spells[-1].start_s, time_s)
        spells.append(PriceSpell(fee_ppm, time_s, now_s))
    return tuple(spells)


def group_payments(
    parts: Iterable[tuple[float, int, int, bool]], *, payment_window_s: float
) -> list[PaymentSeen]:
    """Payments from ``(received_s, out_msat, fee_msat, settled)`` parts of one channel.

    A served payment's amount and fee are those of its settled parts (a part we failed was
    routed elsewhere); a censored one's amount is that of all its parts."""
    groups: list[list[tuple[float, int, int, bool]]] = []
    for part in sorted(parts):
        if groups and part[0] - groups[-1][0][0] <= payment_window_s:
            groups[-1].append(part)
        else:
            groups.append([part])
    payments = []
    for group in groups:
        settled = [part for part in group if part[3]]
        counted = settled or group
        payments.append(
            PaymentSeen(
                at_s=group[0][0],
                amount_msat=sum(part[1] for part in counted),
                fee_msat=sum(part[2] for part in settled),
                served=bool(settled),
            )
        )
    return payments


@dataclass(slots=True)
class _ArmSums:
    days: float = 0.0
    raw_days: float = 0.0
    payments: float = 0.0
    served: int = 0
    censored: int = 0
    volume_msat: int = 0
    fees_msat: int = 0


def channel_evidence(
    short_channel_id: str,
    spells: Sequence[PriceSpell],
    payments: Sequence[PaymentSeen],
    *,
    now_s: float,
    half_life_days: float,
    latest_run_id: int = 0,
) -> ChannelEvidence | None:
    """The channel's arms from its spells and payments; None without any spell."""
    if not spells:
        return None
    decay = math.log(2) / (half_life_days * DAY_S)
    sums: dict[int, _ArmSums] = {}
    for spell in spells:
        arm = sums.setdefault(spell.fee_ppm, _ArmSums())
        arm.days += _weighted_days(spell.start_s, spell.end_s, now_s, decay)
        arm.raw_days += spell.days
    for payment in payments:
        paid_at = _spell_at(spells, payment.at_s)
        if paid_at is None:
            continue
        arm = sums[paid_at.fee_ppm]
        arm.payments += math.exp(-decay * max(0.0, now_s - payment.at_s))
        if payment.served:
            arm.served += 1
            arm.volume_msat += payment.amount_msat
            arm.fees_msat += payment.fee_msat
        else:
            arm.censored += 1
    arms = tuple(
        ArmEvidence(
            fee_ppm=ppm,
            days=arm.days,
            payments=arm.payments,
            served=arm.served,
            censored=arm.censored,
            volume_msat=arm.volume_msat,
            fees_msat=arm.fees_msat,
            raw_days=arm.raw_days,
        )
        for ppm, arm in sorted(sums.items())
    )
    current = spells[-1]
    return ChannelEvidence(
        short_channel_id=short_channel_id,
        current_ppm=current.fee_ppm,
        held_days=current.days,
        arms=arms,
        latest_run_id=latest_run_id,
    )


def _weighted_days(start_s: float, end_s: float, now_s: float, decay: float) -> float:
    """∫ exp(-decay (now - t)) dt over [start, end], in days."""
    if end_s <= start_s:
        return 0.0
    weight = (math.exp(-decay * (now_s - end_s)) - math.exp(-decay * (now_s - start_s))) / decay
    return weight / DAY_S


def _spell_at(spells: Sequence[PriceSpell], at_s: float) -> PriceSpell | None:
    for spell in reversed(spells):
        if spell.start_s <= at_s:
            return spell if at_s <= spell.end_s else None
    return None
