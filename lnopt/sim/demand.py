"""Payment demand: who pays whom, how much and when, the same stream for every policy.

Nodes play roles that make payments skewed, so channels deplete as they do in reality:

- **wallets** (nodes with one or two channels) mostly pay; a few of them also receive
  (payments between people);
- **merchants** (some of the mid-sized nodes) mostly receive;
- **services** (the best-connected nodes: exchanges, custodial wallets, swap services) both pay
  and receive, and carry most of the volume.

How much a node pays or receives within its role follows a heavy-tailed (Pareto) weight.
Amounts are log-normal (median ``median_amount_sat``, tens of thousands of sat by default,
clipped to ``[min_amount_sat, max_amount_sat]``); arrival times are a Poisson process over the
period. A payment larger than ``max_part_sat`` is sent as a multi-part payment: equal parts,
each routed on its own, as Core Lightning's and LND's payers split large payments.

Everything is drawn from ``seed``: the same seed gives the same stream, which every policy then
faces (common random numbers). Our own node never pays nor is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lnopt.errors import InvalidRequest

DAY_S = 86_400


@dataclass(frozen=True)
class DemandParams:
    """The shape of the demand; the defaults give a Lightning-like mix."""

    median_amount_sat: int = field(
        default=25_000, metadata={"help": "median payment, sat (log-normal amounts)"}
    )
    amount_sigma: float = field(
        default=1.5, metadata={"help": "spread (sigma of the log) of payment amounts"}
    )
    min_amount_sat: int = field(default=100, metadata={"help": "smallest payment, sat"})
    max_amount_sat: int = field(default=4_000_000, metadata={"help": "largest payment, sat"})
    service_share: float = field(
        default=0.01, metadata={"help": "the best-connected share of nodes that are services"}
    )
    merchants: int = field(
        default=250,
        metadata={"help": "merchants, drawn among nodes with 3+ channels that are not services"},
    )
    receiving_wallets: int = field(
        default=100, metadata={"help": "wallets that are also paid (payments between people)"}
    )
    wallet_receive_weight: float = field(
        default=0.15, metadata={"help": "a receiving wallet's weight relative to a merchant's"}
    )
    pareto_shape: float = field(
        default=1.2, metadata={"help": "tail of how much each node pays or receives in its role"}
    )
    max_part_sat: int = field(
        default=200_000, metadata={"help": "larger payments travel as equal parts of at most this"}
    )


@dataclass(frozen=True)
class PaymentStream:
    """Payments (parts of multi-part payments counted one by one) in time order; node indices
    refer to ``nodes``."""

    nodes: tuple[str, ...]
    times_s: np.ndarray  # float64, seconds since the start
    senders: np.ndarray  # int32 indices into ``nodes``
    receivers: np.ndarray  # int32
    amounts_msat: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.times_s)


def generate_payments(
    nodes: Sequence[str],
    degrees: Sequence[int],
    *,
    seed: int,
    count: int,
    days: float,
    stream_seed: int | None = None,
    params: DemandParams | None = None,
    largest_channel_msat: Sequence[int] | None = None,
    can_pay: Sequence[bool] | None = None,
    can_be_paid: Sequence[bool] | None = None,
) -> PaymentStream:
    """``count`` payments over ``days`` days among ``nodes`` (with their channel counts).

    With ``largest_channel_msat`` (per node) no payment exceeds half the largest channel of
    its sender or of its receiver: people pay within their means and are paid within their
    inbound liquidity. Nodes with ``can_pay`` (``can_be_paid``) false never pay (are never
    paid): nodes whose channels are all disabled in that direction. The roles come from
    ``seed``; the payments from ``stream_seed`` when given (another stream of the same demand),
    else from ``seed`` too.
    """
    if count < 0 or days <= 0:
        raise InvalidRequest(f"need count >= 0 and days > 0, got {count} payments, {days} days")
    if len(nodes) != len(degrees) or len(nodes) < 3:
        raise InvalidRequest("need at least 3 nodes, each with its number of channels")
    params = params or DemandParams()
    rng = np.random.default_rng(seed)
    pay_weight, receive_weight = _role_weights(np.asarray(degrees), rng, params)
    if stream_seed is not None and stream_seed != seed:
        rng = np.random.default_rng(stream_seed)
    if can_pay is not None:
        pay_weight = np.where(np.asarray(can_pay, dtype=bool), pay_weight, 0.0)
    if can_be_paid is not None:
        receive_weight = np.where(np.asarray(can_be_paid, dtype=bool), receive_weight, 0.0)
    senders = rng.choice(len(nodes), size=count, p=pay_weight / pay_weight.sum())
    receivers = rng.choice(len(nodes), size=count, p=receive_weight / receive_weight.sum())
    clash = senders == receivers
    while clash.any():
        receivers[clash] = rng.choice(
            len(nodes), size=int(clash.sum()), p=receive_weight / receive_weight.sum()
        )
        clash = senders == receivers
    amounts_sat = np.exp(
        rng.normal(np.log(params.median_amount_sat), params.amount_sigma, size=count)
    )
    amounts_sat = np.clip(amounts_sat, params.min_amount_sat, params.max_amount_sat)
    if largest_channel_msat is not None:
        largest_sat = np.asarray(largest_channel_msat, dtype=float) / 1000
        affordable = np.minimum(largest_sat[senders], largest_sat[receivers]) / 2
        amounts_sat = np.maximum(params.min_amount_sat, np.minimum(amounts_sat, affordable))
    times = np.sort(rng.uniform(0.0, days * DAY_S, size=count))
    parts = np.maximum(1, np.ceil(amounts_sat / params.max_part_sat)).astype(np.int64)
    part_sat = np.rint(amounts_sat / parts).astype(np.int64)
    return PaymentStream(
        nodes=tuple(nodes),
        times_s=np.repeat(times, parts),
        senders=np.repeat(senders, parts).astype(np.int32),
        receivers=np.repeat(receivers, parts).astype(np.int32),
        amounts_msat=np.repeat(part_sat, parts) * 1000,
    )


def receive_weights(
    degrees: Sequence[int], *, seed: int, params: DemandParams | None = None
) -> np.ndarray:
    """How much each node receives in the stream :func:`generate_payments` draws from ``seed``.

    Public knowledge in reality (merchant and exchange rankings); an operator uses it to pick
    peers that payments flow to.
    """
    rng = np.random.default_rng(seed)
    _, receive = _role_weights(np.asarray(degrees), rng, params or DemandParams())
    return receive


def _role_weights(
    degrees: np.ndarray, rng: np.random.Generator, params: DemandParams
) -> tuple[np.ndarray, np.ndarray]:
    """Pay and receive weights per node from its role (see the module docstring)."""
    n = len(degrees)
    heavy = rng.pareto(params.pareto_shape, size=n) + 1.0
    order = np.argsort(-degrees, kind="stable")
    services = np.zeros(n, dtype=bool)
    services[order[: max(2, int(n * params.service_share))]] = True
    wallets = (degrees <= 2) & ~services
    middle = ~services & ~wallets
    middle_ids = np.flatnonzero(middle)
    merchants = np.zeros(n, dtype=bool)
    merchants[
        rng.choice(middle_ids, size=min(params.merchants, len(middle_ids)), replace=False)
    ] = True
    pay = np.zeros(n)
    receive = np.zeros(n)
    pay[wallets] = heavy[wallets]
    pay[services] = 20.0 * heavy[services]
    pay[merchants] = 0.1 * heavy[merchants]
    receive[merchants] = 2.0 * heavy[merchants]
    receive[services] = 20.0 * heavy[services]
    wallet_ids = np.flatnonzero(wallets)
    if len(wallet_ids):
        chosen = rng.choice(
            wallet_ids, size=min(params.receiving_wallets, len(wallet_ids)), replace=False
        )
        receive[chosen] = params.wallet_receive_weight * 2.0 * heavy[chosen]
    if pay.sum() <= 0 or receive.sum() <= 0:
        pay[:] = 1.0
        receive[:] = 1.0
    return pay, receive
