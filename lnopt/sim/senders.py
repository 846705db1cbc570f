"""Who pays, with which wallet software: fee budgets, splitting and route randomness.

Each node that pays runs one *sender class* (its wallet software), drawn once per payment
stream from the class mix (:func:`assign_classes`). A class fixes:

- the **fee budget** of a payment: ``max(exempt_fee_msat, amount * max_fee_ppm / 10^6)``, or the
  whole amount when the amount is at most ``whole_amount_up_to_msat``. Core Lightning ``pay``:
  ``maxfeepercent`` 0.5% and ``exemptfee`` 5,000 msat (``plugins/pay.c``). LND (``lncli
  payinvoice`` and ``routerrpc`` callers without a limit): ``DefaultRoutingFeeLimitForAmount``
  in ``lnwallet/parameters.go``, 100% up to 1,000 sat, else 5%. The budget of a multi-part
  payment is shared among its parts in proportion to their amounts, as CLN's presplitter does.
- **splitting**. CLN's presplitter (``plugins/libplugin-pay.c``) cuts a payment above
  ``MPP_TARGET_SIZE`` (10,000 sat) into parts of about that size, doubling the part size while
  that would give more than ``PRESPLIT_MAX_SPLITS`` (16) parts; its adaptive splitter halves a
  part that cannot get through, down to ``MPP_ADAPTIVE_LOWER_LIMIT`` (100 sat). LND sends the
  whole amount first and halves a shard only when path finding finds no route for it
  (``routing/payment_session.go``), down to ``DefaultShardMinAmt`` (10,000 sat) and at most
  ``max_parts`` (16, ``routerrpc``'s default) parts.
- **route randomness**. CLN's ``getroute`` scales each channel's cost by a pseudo-random factor
  within ``fuzzpercent`` (5% by default, ``plugins/topology.c`` ``route_score_fuzz``), fixed per
  channel for one route request. LND's path finding has no fuzz: it is deterministic given its
  mission control. Here the fuzz scales the fee of each of our channels and the fee of the best
  path avoiding us, per payment, from the stream's per-payment key (see
  :mod:`lnopt.sim.payments`), so every policy meets the same draws.
- **mission control** (:mod:`lnopt.sim.mission`): how fast a sender forgets a failure
  (LND ``routerrpc.apriori.penaltyhalflife``, one hour: ``DefaultPenaltyHalfLife`` in
  ``routing/probability_apriori.go``). Each paying node keeps its own memory.

Not modelled: mobile wallets paying through a trampoline or LSP (Phoenix, Breez): their budget
is the LSP's published fee, which the sources at hand do not state; CLN's ``xpay`` (min-cost
flow) and LND's bimodal estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lnopt.errors import InvalidRequest


@dataclass(frozen=True)
class SenderClass:
    """One wallet software's payment behaviour (see the module docstring)."""

    name: str = field(metadata={"help": "name of the class, as reported"})
    share: float = field(
        metadata={"help": "share of the paying nodes that run it (the shares are normalised)"}
    )
    max_fee_ppm: int = field(metadata={"help": "fee budget as a share of the amount, ppm"})
    exempt_fee_msat: int = field(
        metadata={"help": "fees up to this are accepted whatever the amount (CLN exemptfee)"}
    )
    whole_amount_up_to_msat: int = field(
        metadata={"help": "payments up to this may spend their whole amount in fees (LND)"}
    )
    presplit_part_sat: int = field(
        metadata={"help": "payments above this are cut into parts of about it; 0: no presplit"}
    )
    max_presplit_parts: int = field(
        metadata={"help": "the presplit part size doubles while it would give more parts"}
    )
    max_parts: int = field(metadata={"help": "most parts a payment may be split into"})
    min_part_sat: int = field(metadata={"help": "a part is not halved below this"})
    fuzz_ppm: int = field(
        metadata={"help": "route randomisation: costs scaled by up to this, ppm (CLN 5%)"}
    )

    def fee_budget_msat(self, amount_msat: int) -> int:
        if amount_msat <= self.whole_amount_up_to_msat:
            return amount_msat
        return max(self.exempt_fee_msat, amount_msat * self.max_fee_ppm // 1_000_000)

    def presplit(self, amount_msat: int) -> list[int]:
        """The parts the payment starts with (integer msat summing to the amount)."""
        target_msat = self.presplit_part_sat * 1000
        if target_msat <= 0 or amount_msat <= target_msat:
            return [amount_msat]
        while amount_msat // target_msat > self.max_presplit_parts:
            target_msat *= 2
        count = min(self.max_parts, max(1, -(-amount_msat // target_msat)))
        return split_evenly(amount_msat, count)


CORE_LIGHTNING = SenderClass(
    name="core-lightning",
    share=0.5,
    max_fee_ppm=5_000,
    exempt_fee_msat=5_000,
    whole_amount_up_to_msat=0,
    presplit_part_sat=10_000,
    max_presplit_parts=16,
    max_parts=32,
    min_part_sat=100,
    fuzz_ppm=50_000,
)
LND = SenderClass(
    name="lnd",
    share=0.5,
    max_fee_ppm=50_000,
    exempt_fee_msat=0,
    whole_amount_up_to_msat=1_000_000,
    presplit_part_sat=0,
    max_presplit_parts=1,
    max_parts=16,
    min_part_sat=10_000,
    fuzz_ppm=0,
)


@dataclass(frozen=True)
class SenderParams:
    """The senders' wallet software and how they route (see the module docstring)."""

    classes: tuple[SenderClass, ...] = field(
        default=(CORE_LIGHTNING, LND),
        metadata={"help": "the wallet software mix; defaults: CLN pay and LND, half each"},
    )
    penalty_half_life_s: float = field(
        default=3600.0,
        metadata={"help": "a failure's penalty halves in this time (LND penaltyhalflife, 1 h)"},
    )
    max_attempts_per_part: int = field(
        default=5,
        metadata={"help": "tries of one part before it counts as stuck (then it is halved)"},
    )
    max_attempts_per_payment: int = field(
        default=40,
        metadata={"help": "tries of all parts of a payment (about LND's 60 s payment timeout)"},
    )

    def __post_init__(self) -> None:
        if not self.classes or any(c.share < 0 for c in self.classes):
            raise InvalidRequest("senders.classes needs at least one class, shares >= 0")
        if sum(c.share for c in self.classes) <= 0:
            raise InvalidRequest("senders.classes: the shares must not all be 0")


def assign_classes(
    node_count: int, rng: np.random.Generator, classes: Sequence[SenderClass]
) -> np.ndarray:
    """The class index of every node (int8), drawn from the mix."""
    shares = np.array([c.share for c in classes], dtype=float)
    picked: np.ndarray = rng.choice(len(classes), size=node_count, p=shares / shares.sum())
    return picked.astype(np.int8)


def split_evenly(amount_msat: int, count: int) -> list[int]:
    base, extra = divmod(amount_msat, count)
    return [base + (1 if k < extra else 0) for k in range(count)]
