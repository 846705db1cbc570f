"""Our node inside the simulation: its fee policies and its forwarding record.

It behaves like a Core Lightning node: a ``setchannel`` takes effect at once, and for
``enforce_delay_s`` (``setchannel``'s ``enforcedelay``, 600 s) the previous fee is still
accepted. A forward whose offered fee is below what the node accepts fails locally
(``fee_insufficient``), as does one the outgoing channel cannot carry (lack of liquidity).
Every forward is kept as a :class:`~lnopt.model.Forward` with an increasing ``created_index``
(what ``listforwards`` pages by); local failures are also kept as :class:`LinkFailure` records,
the HTLC event stream an LND tool such as LNDg reads.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lnopt.model import Channel, ChannelPolicy, Forward, ForwardStatus

ENFORCE_DELAY_S = 600.0


class FailureReason(enum.Enum):
    INSUFFICIENT_BALANCE = "insufficient_balance"
    FEE_INSUFFICIENT = "fee_insufficient"


@dataclass(frozen=True, slots=True)
class LinkFailure:
    """An HTLC our node failed itself."""

    at_s: float
    in_channel: str
    out_channel: str
    amount_msat: int
    available_msat: int
    reason: FailureReason


@dataclass
class NodeCounters:
    income_msat: int = 0
    forwards: int = 0
    volume_msat: int = 0
    failed_downstream: int = 0
    failed_liquidity: int = 0
    failed_fee: int = 0
    fee_updates: int = 0


ForwardListener = Callable[[Forward], None]


class OurNodeState:
    """Policies we enforce and what we forwarded (see the module docstring)."""

    def __init__(
        self, channels: Sequence[Channel], *, enforce_delay_s: float = ENFORCE_DELAY_S
    ) -> None:
        self.channels = tuple(channels)
        self.scids = tuple(ch.short_channel_id for ch in channels)
        self.policies: dict[str, ChannelPolicy] = {
            ch.short_channel_id: ch.our_policy for ch in channels
        }
        self._previous: dict[str, tuple[ChannelPolicy, float]] = {}
        self.enforce_delay_s = enforce_delay_s
        self.forwards: list[Forward] = []
        self.link_failures: list[LinkFailure] = []
        self.counters = NodeCounters()
        self.listeners: list[ForwardListener] = []
        self._htlc_ids: defaultdict[str, int] = defaultdict(int)

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy, now_s: float) -> bool:
        """Enforce ``policy``; True if the fees changed."""
        old = self.policies[short_channel_id]
        self.policies[short_channel_id] = policy
        changed = (old.base_fee_msat, old.fee_ppm) != (policy.base_fee_msat, policy.fee_ppm)
        if changed:
            self._previous[short_channel_id] = (old, now_s + self.enforce_delay_s)
            self.counters.fee_updates += 1
        return changed

    def accepts_fee(
        self, short_channel_id: str, fee_msat: int, out_msat: int, now_s: float
    ) -> bool:
        required = self.policies[short_channel_id].fee_msat(out_msat)
        previous = self._previous.get(short_channel_id)
        if previous is not None and now_s < previous[1]:
            required = min(required, previous[0].fee_msat(out_msat))
        return fee_msat >= required

    def record(
        self,
        status: ForwardStatus,
        *,
        in_channel: str,
        out_channel: str,
        in_msat: int,
        out_msat: int,
        now_s: float,
    ) -> Forward:
        htlc_id = self._htlc_ids[in_channel]
        self._htlc_ids[in_channel] = htlc_id + 1
        settled = status is ForwardStatus.SETTLED
        forward = Forward(
            in_channel=in_channel,
            in_htlc_id=htlc_id,
            out_channel=out_channel,
            in_msat=in_msat,
            out_msat=out_msat,
            fee_msat=in_msat - out_msat,
            status=status,
            received_s=now_s,
            resolved_s=now_s,
            created_index=len(self.forwards),
        )
        self.forwards.append(forward)
        if settled:
            self.counters.forwards += 1
            self.counters.income_msat += in_msat - out_msat
            self.counters.volume_msat += out_msat
            for listener in self.listeners:
                listener(forward)
        elif status is ForwardStatus.FAILED:
            self.counters.failed_downstream += 1
        return forward

    def fail_locally(
        self,
        reason: FailureReason,
        *,
        in_channel: str,
        out_channel: str,
        in_msat: int,
        out_msat: int,
        available_msat: int,
        now_s: float,
    ) -> None:
        self.record(
            ForwardStatus.LOCAL_FAILED,
            in_channel=in_channel,
            out_channel=out_channel,
            in_msat=in_msat,
            out_msat=out_msat,
            now_s=now_s,
        )
        if reason is FailureReason.INSUFFICIENT_BALANCE:
            self.counters.failed_liquidity += 1
        else:
            self.counters.failed_fee += 1
        self.link_failures.append(
            LinkFailure(now_s, in_channel, out_channel, out_msat, available_msat, reason)
        )
