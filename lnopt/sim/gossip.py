"""How a fee change of ours reaches the senders, following Core Lightning's gossip rules.

- Our node emits at most one ``channel_update`` per channel every ``min_interval_s`` (CLN's
  ``GOSSIP_MIN_INTERVAL``, 300 s); changes in between are merged into the next one.
- The rest of the network rate-limits updates with a token bucket per channel direction: one
  token per hour, an update costs 12, at most 48 are saved (2 updates a day, bursts of 4; CLN
  ``gossipd/routing.c`` ``TOKENS_PER_MSG``/``TOKEN_MAX`` with ``GOSSIP_TOKEN_TIME`` of 1 hour).
  A rate-limited update is dropped: senders keep the policy they knew until a later update
  passes.
- An accepted update reaches senders ``propagation_s`` after it is emitted.

:meth:`GossipModel.known` is the policy senders use to find paths and compute the fee they
offer. Nodes also learn a channel's real policy from the update a failing node attaches to a
``fee_insufficient`` error; that is per payment and handled where payments are routed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from lnopt.model import ChannelPolicy

TOKEN_TIME_S = 3600
TOKENS_PER_UPDATE = 12
TOKEN_MAX = 48


@dataclass(frozen=True)
class GossipParams:
    min_interval_s: float = field(
        default=300.0,
        metadata={"help": "our node emits at most one update per channel this often (CLN 300 s)"},
    )
    propagation_s: float = field(
        default=600.0, metadata={"help": "seconds an accepted update takes to reach senders"}
    )
    rate_limited: bool = field(
        default=True,
        metadata={"help": "the network's token bucket drops updates beyond 2 a day (CLN gossipd)"},
    )


@dataclass
class _Channel:
    known: ChannelPolicy
    tokens: int = TOKEN_MAX
    tokens_at_s: float = 0.0
    last_emit_s: float = float("-inf")
    pending: ChannelPolicy | None = None  # waiting for the minimum interval
    known_since_s: float = float("-inf")  # when the update senders know was emitted


@dataclass
class GossipStats:
    emitted: int = 0
    dropped: int = 0
    propagated: int = 0


@dataclass
class GossipModel:
    """The network's view of our channels' policies (see the module docstring)."""

    params: GossipParams
    start_s: float
    policies: dict[str, ChannelPolicy]
    stats: GossipStats = field(default_factory=GossipStats)

    def __post_init__(self) -> None:
        self._channels = {
            scid: _Channel(known=policy, tokens_at_s=self.start_s)
            for scid, policy in self.policies.items()
        }
        self._events: list[tuple[float, int, str, str, ChannelPolicy]] = []
        self._sequence = 0
        self.version = 0  # increases whenever a known policy changes

    def known(self, short_channel_id: str) -> ChannelPolicy:
        return self._channels[short_channel_id].known

    def known_since_s(self, short_channel_id: str) -> float:
        """When the update senders know was emitted (-inf: the starting policy)."""
        return self._channels[short_channel_id].known_since_s

    def announce(self, short_channel_id: str, policy: ChannelPolicy, now_s: float) -> None:
        """Our node changed its policy of the channel at ``now_s``."""
        channel = self._channels[short_channel_id]
        if channel.pending is not None:
            channel.pending = policy
            return
        emit_s = max(now_s, channel.last_emit_s + self.params.min_interval_s)
        channel.pending = policy
        self._push(emit_s, "emit", short_channel_id, policy)

    def next_event_s(self) -> float | None:
        return self._events[0][0] if self._events else None

    def advance(self, now_s: float) -> None:
        """Process every emission and arrival due by ``now_s``."""
        while self._events and self._events[0][0] <= now_s:
            when, _, kind, scid, policy = heapq.heappop(self._events)
            channel = self._channels[scid]
            if kind == "emit":
                self._emit(channel, scid, when)
            elif channel.known != policy:
                channel.known = policy
                channel.known_since_s = when - self.params.propagation_s
                self.stats.propagated += 1
                self.version += 1

    def _emit(self, channel: _Channel, scid: str, when: float) -> None:
        policy = channel.pending
        channel.pending = None
        if policy is None:
            return
        channel.last_emit_s = when
        self.stats.emitted += 1
        if self.params.rate_limited and not _take_token(channel, when):
            self.stats.dropped += 1
            return
        self._push(when + self.params.propagation_s, "arrive", scid, policy)

    def _push(self, when: float, kind: str, scid: str, policy: ChannelPolicy) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (when, self._sequence, kind, scid, policy))


def _take_token(channel: _Channel, now_s: float) -> bool:
    earned = int((now_s - channel.tokens_at_s) // TOKEN_TIME_S)
    if earned > 0:
        channel.tokens = min(TOKEN_MAX, channel.tokens + earned)
        channel.tokens_at_s += earned * TOKEN_TIME_S
    if channel.tokens >= TOKENS_PER_UPDATE:
        channel.tokens -= TOKENS_PER_UPDATE
        return True
    return False
