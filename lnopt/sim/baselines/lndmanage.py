"""lndmanage's ``update-fees``, run weekly.

Re-implemented from bitromortac/lndmanage ``lndmanage/lib/fee_setting.py`` (``delta_demand``,
``delta_min``, ``FeeSetter.new_fee_policy``) with its ``optimization_parameters``: over the
last 7 days, with ``r`` the amount forwarded out per day and ``r_t`` = 100,000 sat per week,
the fee rate changes by ``c = 1 + 0.5 * (r / r_t - 1)``, capped above at 1.5 and below by
``delta_min`` (up to 1.05 when the local balance is under the 500,000 sat reserve, down to 0.5
as the channel fills), then clipped to [4, 1000] ppm. The base fee changes by
``0.25 * (forwards_out / 5 - 1) + 1`` per week (at most 2x), clipped to [20, 5000] msat.
"""

from __future__ import annotations

from lnopt.backends.sim import SimBackend
from lnopt.model import Channel
from lnopt.sim.baselines.history import ForwardHistory
from lnopt.sim.policy import Policy, PolicyContext, register_policy

WEEK_S = 7 * 86_400
DAYS = 7
DELTA_MAX = 1.5
DELTA_MIN_UP = 0.05
DELTA_MIN_DN = 0.50
R_T = 100_000 / 7  # sat per day
R_MAX = 200_000 / 7
RESERVE_SAT = 500_000
MIN_FEE_RATE = 0.000004
MAX_FEE_RATE = 0.001
MIN_BASE_FEE = 20
MAX_BASE_FEE = 5000


def delta_min(local_sat: int, capacity_sat: int) -> float:
    reserve = capacity_sat // 3 if RESERVE_SAT > capacity_sat // 2 else RESERVE_SAT
    if local_sat < RESERVE_SAT:
        return -(DELTA_MIN_UP / reserve) * (local_sat - reserve) + 1
    return -(DELTA_MIN_DN / (capacity_sat - reserve)) * (local_sat - reserve) + 1


def delta_demand(amount_out_sat: float, local_sat: int, capacity_sat: int) -> float:
    rate = amount_out_sat / DAYS
    slope = (DELTA_MAX - 1.0) / (R_MAX / R_T - 1.0)
    change = 1.0 + slope * (rate / R_T - 1.0)
    floor = delta_min(local_sat, capacity_sat)
    if change < floor:
        return floor
    return min(DELTA_MAX, change)


def base_fee_factor(forwards_out: int) -> float:
    return min(0.25 * ((forwards_out / DAYS) / (5 / 7) - 1) + 1, 2.0)


def new_fees(channel: Channel, *, amount_out_sat: float, forwards_out: int) -> tuple[int, int]:
    """(base fee msat, fee ppm) after one weekly run."""
    capacity_sat = channel.capacity_msat // 1000
    change = delta_demand(amount_out_sat, channel.local_msat // 1000, capacity_sat)
    rate = round(channel.our_policy.fee_ppm / 1e6 * change, 6)
    rate = min(MAX_FEE_RATE, max(MIN_FEE_RATE, rate))
    base = channel.our_policy.base_fee_msat * base_fee_factor(forwards_out)
    base = min(MAX_BASE_FEE, max(MIN_BASE_FEE, int(base)))
    return int(base), round(rate * 1e6)


@register_policy("lndmanage")
class LndmanagePolicy(Policy):
    interval_s = float(WEEK_S)

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._history = ForwardHistory()

    def tick(self, backend: SimBackend, now_s: float) -> None:
        self._history.refresh(backend)
        flows = self._history.flows(now_s=now_s, days=DAYS)
        for channel in backend.channels():
            flow = flows[channel.short_channel_id]
            base, ppm = new_fees(
                channel, amount_out_sat=flow.out_msat / 1000, forwards_out=flow.out_count
            )
            current = channel.our_policy
            if (current.base_fee_msat, current.fee_ppm) != (base, ppm):
                backend.set_policy(
                    channel.short_channel_id, current.with_fees(base_fee_msat=base, fee_ppm=ppm)
                )
