"""lndmanage's ``update-fees``, run weekly.

Re-implemented from bitromortac/lndmanage ``lndmanage/lib/fee_setting.py`` at commit
1aa45a7d1ba4 (2024-01-06, v0.16.0; ``delta_min``, ``delta_demand``,
``FeeSetter.new_fee_policies``, ``FeeSetter.factor_demand_base_fee``) with its
``optimization_parameters``, as ``lndmanage update-fees --reckless --from-days-ago 7`` runs
them every Sunday (the README's cron line). Per peer, over the last 7 days, with ``r`` the
amount forwarded out per day (sat) and ``r_t`` the target, 100,000 sat per week:

- fee rate: the peer's mean rate times ``c = 1 + 0.5 * (r / r_t - 1)`` (``delta_min_dn``
  0.5), capped above at ``delta_max`` 1.5 and below by ``delta_min`` (from 1.05 for an empty
  channel, through 1 at the 500,000 sat reserve, down to 0.5 for a full one), then clipped to
  [``min_fee_rate`` 5, ``max_fee_rate`` 5,000] ppm and rounded to 6 decimals of a rate;
- base fee: the peer's mean base fee (``int``) times
  ``1 + δ_b * (n / n_t - 1)``, with ``n`` the outgoing forwards per day, ``δ_b`` 0.5 and
  ``n_t`` 4/7, bounded to [1 - ``delta_b_min``, 1 + ``delta_b_max``] = [0.75, 1.5], then
  clipped to [``min_base_fee`` 0, ``max_base_fee`` 5,000] msat and truncated.

Departures: ``cltv`` 40 is not set (the simulation has no time locks); the first run is not
``--init`` (which sets half of ``max_fee_rate`` and ``min_base_fee``): the node starts from
its own fees, as one that has routed for a while. The target is the operator's choice
(``--target-forwarding-amount-sat``; here ``target_sat_per_week``): ``lndmanage-tuned`` runs
the one ``sim tune`` found best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.model import Channel
from lnopt.sim.baselines.history import ForwardHistory
from lnopt.sim.baselines.settings import ConfiguredPolicy
from lnopt.sim.policy import PolicyContext, register_policy

WEEK_S = 7 * 86_400
DAYS = 7  # --from-days-ago
DELTA_MAX = 1.5
DELTA_MIN_UP = 0.05
DELTA_MIN_DN = 0.50
RESERVE_SAT = 500_000  # local_balance_reserve
DELTA_B = 0.5
DELTA_B_MIN = 0.25
DELTA_B_MAX = 0.50
N_T = 4 / 7  # outgoing forwards per day


@dataclass(frozen=True)
class UpdateFeesSettings:
    target_sat_per_week: int = 100_000  # r_t, upstream 100,000 / 7 sat per day
    min_fee_ppm: int = 5  # min_fee_rate 0.000005
    max_fee_ppm: int = 5000  # max_fee_rate 0.005
    min_base_fee_msat: int = 0
    max_base_fee_msat: int = 5000


def delta_min(local_sat: int, capacity_sat: int) -> float:
    """The floor of the demand factor: above 1 below the reserve, down to 0.5 when full."""
    reserve = capacity_sat // 3 if RESERVE_SAT > capacity_sat // 2 else RESERVE_SAT
    if local_sat < RESERVE_SAT:
        return -(DELTA_MIN_UP / reserve) * (local_sat - reserve) + 1
    return -(DELTA_MIN_DN / (capacity_sat - reserve)) * (local_sat - reserve) + 1


def delta_demand(
    amount_out_sat: float,
    local_sat: int,
    capacity_sat: int,
    settings: UpdateFeesSettings = UpdateFeesSettings(),
) -> float:
    rate = amount_out_sat / DAYS
    r_t = settings.target_sat_per_week / 7
    change = 1.0 + DELTA_MIN_DN * (rate / r_t - 1.0)
    floor = delta_min(local_sat, capacity_sat)
    if change < floor:
        return floor
    return min(DELTA_MAX, change)


def base_fee_factor(forwards_out: int) -> float:
    """``factor_demand_base_fee``: in [0.75, 1.5]."""
    delta = 1 + DELTA_B * ((forwards_out / DAYS) / N_T - 1)
    return max(1 - DELTA_B_MIN, min(delta, 1 + DELTA_B_MAX))


def new_fees(
    channels: Sequence[Channel],
    *,
    amount_out_sat: float,
    forwards_out: int,
    settings: UpdateFeesSettings = UpdateFeesSettings(),
) -> tuple[int, int]:
    """(base fee msat, fee ppm) for every channel to one peer after one weekly run."""
    capacity_sat = sum(ch.capacity_msat for ch in channels) // 1000
    local_sat = sum(ch.local_msat for ch in channels) // 1000
    fee_rate = sum(ch.our_policy.fee_ppm for ch in channels) / 1e6 / len(channels)
    base_fee_msat = int(sum(ch.our_policy.base_fee_msat for ch in channels) / len(channels))
    change = delta_demand(amount_out_sat, local_sat, capacity_sat, settings)
    rate = min(settings.max_fee_ppm / 1e6, max(settings.min_fee_ppm / 1e6, fee_rate * change))
    rate = round(rate, 6)
    base = base_fee_msat * base_fee_factor(forwards_out)
    base = int(max(settings.min_base_fee_msat, base))
    base = int(min(settings.max_base_fee_msat, base))
    return base, round(rate * 1e6)


@register_policy("lndmanage")
class LndmanagePolicy(ConfiguredPolicy):
    settings: ClassVar[UpdateFeesSettings] = UpdateFeesSettings()
    interval_s = float(WEEK_S)

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._history = ForwardHistory()

    def tick(self, backend: SimBackend, now_s: float) -> None:
        self._history.refresh(backend)
        flows = self._history.flows(now_s=now_s, days=DAYS)
        by_peer: dict[str, list[Channel]] = {}
        for channel in backend.channels():
            by_peer.setdefault(channel.peer_id, []).append(channel)
        for channels in by_peer.values():
            peer_flows = [flows[ch.short_channel_id] for ch in channels]
            base, ppm = new_fees(
                channels,
                amount_out_sat=sum(f.out_msat for f in peer_flows) / 1000,
                forwards_out=sum(f.out_count for f in peer_flows),
                settings=self.settings,
            )
            for channel in channels:
                current = channel.our_policy
                if (current.base_fee_msat, current.fee_ppm) != (base, ppm):
                    backend.set_policy(
                        channel.short_channel_id,
                        current.with_fees(base_fee_msat=base, fee_ppm=ppm),
                    )
