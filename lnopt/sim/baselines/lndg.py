"""LNDg's AutoFees with its default settings.

Re-implemented from cryptosharks131/lndg ``gui/af.py`` (``main``): multiplier ``m`` 5,
increment 5, rates clipped to [0, 2500] ppm, a channel changed at most once per 24 hours
(``AF-UpdateHours``). Forwards of at least 1,000 sat count; with ``out%`` the local share:

- nearly empty (``out% <= 5``): ``+5m`` if more than 25 HTLCs failed on it for lack of
  liquidity in the last day and nothing came in through it that day;
- balanced (``5 < out% < 95``): ``+2m * (1 + net / capacity)`` if the net outflow of 7 days
  (``net``, in capacities) is above 1; ``-3m`` if nothing flowed either way in 7 days;
- nearly full (``out% >= 95``): ``-5m`` if it drained inward while the fees it helped earn
  as an incoming channel exceed 10 times its own; ``-5m`` if nothing flowed in 7 days;

then rounded to the increment. The base fee is not touched. Failed HTLCs come from the HTLC
event stream (:meth:`~lnopt.backends.sim.SimBackend.link_failures`). Checked every hour.
"""

from __future__ import annotations

from lnopt.backends.sim import SimBackend
from lnopt.model import Channel
from lnopt.sim.baselines.history import DAY_S, ChannelFlow, ForwardHistory
from lnopt.sim.node import FailureReason
from lnopt.sim.policy import Policy, PolicyContext, register_policy

MULTIPLIER = 5
INCREMENT = 5
MAX_RATE = 2500
MIN_RATE = 0
FAILED_HTLC_LIMIT = 25
UPDATE_HOURS = 24
LOW_LIQ_PCT = 5
EXCESS_PCT = 95
MIN_FORWARD_MSAT = 1_000_000


def new_rate(
    channel: Channel,
    *,
    rate: int,
    flow_1d: ChannelFlow,
    flow_7d: ChannelFlow,
    failed_out_1d: int,
) -> int:
    """AutoFees' proposed fee rate for one channel (see the module docstring)."""
    m = MULTIPLIER
    capacity_sat = channel.capacity_msat // 1000
    out_pct = round(channel.local_msat / channel.capacity_msat * 100)
    in_7d_sat = flow_7d.in_msat // 1000
    out_7d_sat = flow_7d.out_msat // 1000
    net_routed = round((out_7d_sat - in_7d_sat) / capacity_sat, 1)
    idle = in_7d_sat + out_7d_sat == 0
    proposed: float = rate
    if out_pct <= LOW_LIQ_PCT:
        if failed_out_1d > FAILED_HTLC_LIMIT and flow_1d.in_msat // 1000 == 0:
            proposed = rate + 5 * m
    elif out_pct < EXCESS_PCT:
        if net_routed > 1:
            proposed = rate + 2 * m * (1 + net_routed / capacity_sat)
        if idle:
            proposed = rate - 3 * m
    else:
        revenue = flow_7d.fees_out_msat // 1000
        assisted = flow_7d.fees_in_msat // 1000
        if net_routed < 0 and assisted > revenue * 10:
            proposed = rate - 5 * m
        if idle:
            proposed = rate - 5 * m
    rounded = int(round(proposed / INCREMENT, 0) * INCREMENT)
    return max(MIN_RATE, min(MAX_RATE, rounded))


@register_policy("lndg")
class LndgAutoFeesPolicy(Policy):
    interval_s = 3600.0

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._history = ForwardHistory()
        self._updated_s: dict[str, float] = {}

    def start(self, backend: SimBackend, now_s: float) -> None:
        self._updated_s = {ch.short_channel_id: now_s for ch in backend.channels()}

    def tick(self, backend: SimBackend, now_s: float) -> None:
        self._history.refresh(backend)
        flows_1d = self._history.flows(now_s=now_s, days=1, min_out_msat=MIN_FORWARD_MSAT)
        flows_7d = self._history.flows(now_s=now_s, days=7, min_out_msat=MIN_FORWARD_MSAT)
        failed: dict[str, int] = {}
        for failure in backend.link_failures(since_s=now_s - DAY_S):
            if (
                failure.reason is FailureReason.INSUFFICIENT_BALANCE
                and failure.amount_msat > failure.available_msat
            ):
                failed[failure.out_channel] = failed.get(failure.out_channel, 0) + 1
        for channel in backend.channels():
            scid = channel.short_channel_id
            if now_s - self._updated_s.get(scid, now_s) <= UPDATE_HOURS * 3600:
                continue
            rate = channel.our_policy.fee_ppm
            proposed = new_rate(
                channel,
                rate=rate,
                flow_1d=flows_1d[scid],
                flow_7d=flows_7d[scid],
                failed_out_1d=failed.get(scid, 0),
            )
            if proposed != rate:
                backend.set_policy(
                    scid,
                    channel.our_policy.with_fees(
                        base_fee_msat=channel.our_policy.base_fee_msat, fee_ppm=proposed
                    ),
                )
                self._updated_s[scid] = now_s
