"""Forwarding history as the LND tools keep it: settled forwards, summed per channel and window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from lnopt.backends.base import Backend
from lnopt.model import Forward, ForwardStatus

DAY_S = 86_400


@dataclass
class ChannelFlow:
    """Settled forwards of one channel in a window (amounts as forwarded out, msat)."""

    in_msat: int = 0
    out_msat: int = 0
    in_count: int = 0
    out_count: int = 0
    fees_out_msat: int = 0  # earned on forwards leaving through the channel
    fees_in_msat: int = 0  # earned on forwards that came in through it ("assisted")


@dataclass
class ForwardHistory:
    """Reads the backend's forwards once each and keeps the settled ones."""

    settled: list[Forward] = field(default_factory=list)
    _next: int | None = None

    def refresh(self, backend: Backend) -> None:
        page = backend.forwards(since_index=self._next)
        self.settled += [f for f in page.forwards if f.status is ForwardStatus.SETTLED]
        self._next = page.next_index

    def flows(
        self, *, now_s: float, days: float, min_out_msat: int = 0
    ) -> defaultdict[str, ChannelFlow]:
        return summarise(
            (f for f in self.settled if f.received_s >= now_s - days * DAY_S),
            min_out_msat=min_out_msat,
        )


def summarise(
    forwards: Iterable[Forward], *, min_out_msat: int = 0
) -> defaultdict[str, ChannelFlow]:
    flows: defaultdict[str, ChannelFlow] = defaultdict(ChannelFlow)
    for forward in forwards:
        out_msat = forward.out_msat or 0
        if forward.out_channel is None or out_msat < min_out_msat:
            continue
        fee = forward.fee_msat or 0
        inbound = flows[forward.in_channel]
        inbound.in_msat += out_msat
        inbound.in_count += 1
        inbound.fees_in_msat += fee
        outbound = flows[forward.out_channel]
        outbound.out_msat += out_msat
        outbound.out_count += 1
        outbound.fees_out_msat += fee
    return flows
