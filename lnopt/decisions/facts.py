"""What the decision rules look at: the figures of one channel, computed once from the snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from lnopt.model import Channel, ChannelActivity, PriceHistory, WindowActivity
from lnopt.pricing.evidence import ChannelEvidence
from lnopt.snapshot import NodeSnapshot

SECONDS_PER_DAY = 86_400
BLOCKS_PER_DAY = 144


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """What the rules need to know about one channel, computed once from the snapshot.

    ``idle_days`` is the time since the channel last forwarded (settled or failed, in or out);
    when ``idle_at_least`` is true it is only a lower bound, read from the activity windows.
    ``alternative_ppms`` are the fee rates of the other nodes' active channels toward the peer,
    in increasing order, and ``alternative_capacities_msat`` their capacities (the base fees
    likewise, in ``alternative_base_fees_msat``). ``price`` is
    what the channel earned at its current fee rate and the one before (None when lnopt has
    not set the fee in force), ``price_days`` how long the current rate has been in force.
    ``evidence`` is what the pricing model reads: the channel's fee spells and payments.
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
    alternative_base_fees_msat: tuple[int, ...] = ()  # increasing, with their capacities:
    alternative_base_capacities_msat: tuple[int, ...] = ()
    net_out_1d_msat: int = 0  # volume out minus volume in over the last day
    has_history: bool = True  # the store has any forward of this channel in 30 days
    price: PriceHistory | None = None
    price_days: float = 0.0
    evidence: ChannelEvidence | None = None  # what each fee rate showed (lnopt.pricing)
    taken_at_s: int = 0  # when the snapshot was taken

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
        return _weighted_lower_median(self.alternative_ppms, self.alternative_capacities_msat)

    @property
    def alternative_median_base_msat(self) -> int | None:
        """The capacity-weighted (lower) median of the alternatives' base fees."""
        return _weighted_lower_median(
            self.alternative_base_fees_msat, self.alternative_base_capacities_msat
        )


def _weighted_lower_median(values: tuple[int, ...], weights: tuple[int, ...]) -> int | None:
    """The lower median of increasing ``values``, each counted by its weight (all equal when
    ``weights`` is empty); None without values."""
    if not values:
        return None
    counted = weights or (1,) * len(values)
    half = sum(counted) / 2
    running = 0
    for value, weight in zip(values, counted, strict=True):
        running += weight
        if running >= half:
            return value
    return values[-1]


def channel_facts(snapshot: NodeSnapshot, channel: Channel) -> ChannelFacts:
    scid = channel.short_channel_id
    record = snapshot.activity.get(scid)
    activity = record if record is not None else ChannelActivity(scid)
    idle_days, idle_at_least = _idle_days(record, snapshot.taken_at_s)
    price = snapshot.prices.get(scid)
    if price is not None and price.current_ppm != channel.our_policy.fee_ppm:
        price = None  # the fee was changed outside lnopt since: its journal no longer applies
    competing = [
        edge
        for edge in snapshot.graph.edges_to(channel.peer_id)
        if edge.active and edge.source != snapshot.node_id
    ]
    alternatives = sorted((edge.policy.fee_ppm, edge.capacity_msat) for edge in competing)
    base_fees = sorted((edge.policy.base_fee_msat, edge.capacity_msat) for edge in competing)
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
        alternative_base_fees_msat=tuple(base for base, _ in base_fees),
        alternative_base_capacities_msat=tuple(capacity for _, capacity in base_fees),
        has_history=record is not None,
        price=price,
        price_days=0.0
        if price is None
        else max(0.0, snapshot.taken_at_s - price.since_s) / SECONDS_PER_DAY,
        evidence=snapshot.evidence.get(scid),
        taken_at_s=snapshot.taken_at_s,
    )


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
