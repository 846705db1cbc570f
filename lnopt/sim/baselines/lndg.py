"""LNDg's AutoFees with its default settings.

Re-implemented from cryptosharks131/lndg ``af.py`` (``main``) at commit b75b9a383b40
(2025-03-22, "Automate Inbound AF Updates"; the rules grouped by peer since 18bf2ad106fc),
applied as ``jobs.py`` (``auto_fees``) applies them:

- forwards of at least 1,000 sat count; per channel, over 7 days, the amount routed out
  through it and routed in through it (both as forwarded out, in sat), the fees it earned as
  outgoing channel (revenue) and as incoming channel (assisted revenue), the amount routed in
  over 1 day, and its HTLCs failed in the last ``AF-UpdateHours`` for lack of liquidity
  (``wire_failure`` 15, ``failure_detail`` 6, amount above the outbound liquidity);
- these are summed over the channels to each peer (``remote_pubkey``), with ``out%`` the
  peer's local share in percent and ``net`` its net outflow of 7 days in capacities, not
  rounded; with ``m`` the multiplier (``AF-Multiplier`` 5) the peer's adjustment is:
  - ``out% <= AF-LowLiqLimit`` (15): ``+5m`` if more than ``AF-FailedHTLCs`` (25) HTLCs failed
    and nothing came in that day;
  - ``out% < AF-ExcessLimit`` (95): ``-3m`` if nothing flowed either way in 7 days, else
    ``2m * (1 + net)`` if ``net > 1``;
  - otherwise ``-5m`` if nothing flowed in 7 days, else ``-5m`` if ``net < 0`` and the assisted
    revenue exceeds 10 times the revenue;
- each channel's new rate is its rate plus its peer's adjustment, rounded to a multiple of
  ``AF-Increment`` (5) and clipped to [``AF-MinRate`` 0, ``AF-MaxRate`` 2500] ppm; a channel
  whose fees changed less than ``AF-UpdateHours`` (24) ago is left alone; the base fee is not
  touched. Failed HTLCs come from the HTLC event stream
  (:meth:`~lnopt.backends.sim.SimBackend.link_failures`).

Departures:

- checked every hour, where ``jobs.py`` loops every 20 s: the 24-hour wait between changes of
  a channel makes the difference at most an hour;
- ``AF-LowLiqLimit`` is 15, the default the settings page shows and ``af.py`` stores; on its
  very first run ``af.py`` uses 5 while it stores 15;
- inbound fees (``AF-InboundFees``, off by default) are left out: the simulated node, like
  Core Lightning, has none;
- LNDg's auto-rebalancer (``AR-*``, off by default) is not run: the simulated node cannot
  rebalance yet.

The starting fee is the operator's choice (``start_fee_ppm``; unset, the node's own fee):
``lndg-tuned`` starts from the one ``sim tune`` found best.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.model import Channel
from lnopt.sim.baselines.history import ChannelFlow, ForwardHistory
from lnopt.sim.baselines.settings import ConfiguredPolicy
from lnopt.sim.node import FailureReason, LinkFailure
from lnopt.sim.policy import PolicyContext, register_policy

MIN_FORWARD_MSAT = 1_000_000


@dataclass(frozen=True)
class AutoFeesSettings:
    max_rate: int = 2500  # AF-MaxRate, ppm
    min_rate: int = 0  # AF-MinRate, ppm
    increment: int = 5  # AF-Increment, ppm
    multiplier: int = 5  # AF-Multiplier
    failed_htlcs: int = 25  # AF-FailedHTLCs
    update_hours: int = 24  # AF-UpdateHours
    low_liq_limit: int = 15  # AF-LowLiqLimit, percent
    excess_limit: int = 95  # AF-ExcessLimit, percent
    start_fee_ppm: int | None = None  # set once before AutoFees runs; None: the node's fee


@dataclass
class PeerFlow:
    """One peer's channels summed, as ``af.py`` groups them by ``remote_pubkey`` (sat)."""

    local_sat: int = 0
    capacity_sat: int = 0
    failed_out_1d: int = 0
    routed_in_1d_sat: int = 0
    routed_in_7d_sat: int = 0
    routed_out_7d_sat: int = 0
    revenue_7d_msat: int = 0
    assisted_7d_msat: int = 0
    channels: list[Channel] = field(default_factory=list)

    def add(
        self, channel: Channel, *, flow_1d: ChannelFlow, flow_7d: ChannelFlow, failed_out_1d: int
    ) -> None:
        self.channels.append(channel)
        self.local_sat += channel.local_msat // 1000
        self.capacity_sat += channel.capacity_msat // 1000
        self.failed_out_1d += failed_out_1d
        self.routed_in_1d_sat += flow_1d.in_msat // 1000
        self.routed_in_7d_sat += flow_7d.in_msat // 1000
        self.routed_out_7d_sat += flow_7d.out_msat // 1000
        self.revenue_7d_msat += flow_7d.fees_out_msat
        self.assisted_7d_msat += flow_7d.fees_in_msat


def adjustment(peer: PeerFlow, settings: AutoFeesSettings = AutoFeesSettings()) -> float:
    """``compute_outbound_adjustment``: the ppm to add to each of the peer's channels."""
    m = settings.multiplier
    out_pct = peer.local_sat / peer.capacity_sat * 100 if peer.capacity_sat > 0 else 0.0
    net = (
        (peer.routed_out_7d_sat - peer.routed_in_7d_sat) / peer.capacity_sat
        if peer.capacity_sat > 0
        else 0.0
    )
    idle = peer.routed_in_7d_sat + peer.routed_out_7d_sat == 0
    if out_pct <= settings.low_liq_limit:
        starved = peer.failed_out_1d > settings.failed_htlcs and peer.routed_in_1d_sat == 0
        return 5 * m if starved else 0
    if out_pct < settings.excess_limit:
        if idle:
            return -3 * m
        return 2 * m * (1 + net) if net > 1 else 0
    if idle:
        return -5 * m
    if net < 0 and peer.assisted_7d_msat > peer.revenue_7d_msat * 10:
        return -5 * m
    return 0


def new_rate(
    rate: int, peer_adjustment: float, settings: AutoFeesSettings = AutoFeesSettings()
) -> int:
    """A channel's rate plus its peer's adjustment, rounded to the increment and clipped."""
    rounded = round((rate + peer_adjustment) / settings.increment) * settings.increment
    return int(min(settings.max_rate, max(settings.min_rate, rounded)))


def group_by_peer(
    channels: Sequence[Channel],
    *,
    flows_1d: defaultdict[str, ChannelFlow],
    flows_7d: defaultdict[str, ChannelFlow],
    failed_out: dict[str, int],
) -> dict[str, PeerFlow]:
    peers: dict[str, PeerFlow] = {}
    for channel in channels:
        scid = channel.short_channel_id
        peers.setdefault(channel.peer_id, PeerFlow()).add(
            channel,
            flow_1d=flows_1d[scid],
            flow_7d=flows_7d[scid],
            failed_out_1d=failed_out.get(scid, 0),
        )
    return peers


def liquidity_failures(failures: Sequence[LinkFailure]) -> dict[str, int]:
    """HTLCs failed per outgoing channel for lack of balance (``failure_detail`` 6)."""
    counted: dict[str, int] = {}
    for failure in failures:
        if (
            failure.reason is FailureReason.INSUFFICIENT_BALANCE
            and failure.amount_msat > failure.available_msat
        ):
            counted[failure.out_channel] = counted.get(failure.out_channel, 0) + 1
    return counted


@register_policy("lndg")
class LndgAutoFeesPolicy(ConfiguredPolicy):
    settings: ClassVar[AutoFeesSettings] = AutoFeesSettings()
    interval_s = 3600.0

    def __init__(self, context: PolicyContext) -> None:
        super().__init__(context)
        self._history = ForwardHistory()
        self._updated_s: dict[str, float] = {}

    def start(self, backend: SimBackend, now_s: float) -> None:
        start_ppm = self.settings.start_fee_ppm
        for channel in backend.channels():
            if start_ppm is not None and channel.our_policy.fee_ppm != start_ppm:
                backend.set_policy(
                    channel.short_channel_id,
                    channel.our_policy.with_fees(
                        base_fee_msat=channel.our_policy.base_fee_msat, fee_ppm=start_ppm
                    ),
                )
            self._updated_s[channel.short_channel_id] = now_s

    def tick(self, backend: SimBackend, now_s: float) -> None:
        settings = self.settings
        self._history.refresh(backend)
        window_s = settings.update_hours * 3600
        peers = group_by_peer(
            backend.channels(),
            flows_1d=self._history.flows(now_s=now_s, days=1, min_out_msat=MIN_FORWARD_MSAT),
            flows_7d=self._history.flows(now_s=now_s, days=7, min_out_msat=MIN_FORWARD_MSAT),
            failed_out=liquidity_failures(backend.link_failures(since_s=now_s - window_s)),
        )
        for peer in peers.values():
            peer_adjustment = adjustment(peer, settings)
            for channel in peer.channels:
                scid = channel.short_channel_id
                if now_s - self._updated_s.get(scid, now_s) <= window_s:
                    continue
                rate = channel.our_policy.fee_ppm
                proposed = new_rate(rate, peer_adjustment, settings)
                if proposed != rate:
                    backend.set_policy(
                        scid,
                        channel.our_policy.with_fees(
                            base_fee_msat=channel.our_policy.base_fee_msat, fee_ppm=proposed
                        ),
                    )
                    self._updated_s[scid] = now_s
