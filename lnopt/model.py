"""Domain values shared by every part of lnopt.

All values are frozen dataclasses. Money is always an integer: millisatoshi (``*_msat``) or
parts per million (``*_ppm``). Short channel ids are strings ``BLOCKxTXxOUT``. Only heuristic
scores and confidences are floats, always in [0, 1].
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from lnopt.params import SHORT_CHANNEL_ID, is_short_channel_id, shown

RawValue = int | float | str | bool | None


def funding_height(short_channel_id: str) -> int:
    """Block height of the funding transaction, encoded in a short channel id ``BxTxO``."""
    block, _, _ = parse_short_channel_id(short_channel_id)
    return block


def parse_short_channel_id(short_channel_id: str) -> tuple[int, int, int]:
    """Split ``BLOCKxTXxOUT`` into its three integers; ``ValueError`` if it is not one (ASCII
    digits, each part within BOLT 7's field sizes)."""
    if not isinstance(short_channel_id, str) or not is_short_channel_id(short_channel_id):
        raise ValueError(f"{shown(short_channel_id)} is not {SHORT_CHANNEL_ID}")
    block, tx, out = (int(part) for part in short_channel_id.split("x"))
    return block, tx, out


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """The forwarding policy one side of a channel announces."""

    base_fee_msat: int
    fee_ppm: int
    htlc_min_msat: int = 0
    htlc_max_msat: int | None = None
    cltv_delta: int = 80

    def fee_msat(self, amount_msat: int) -> int:
        """Fee charged to forward ``amount_msat`` (rounded down, as BOLT 7 specifies)."""
        return self.base_fee_msat + amount_msat * self.fee_ppm // 1_000_000

    def with_fees(self, *, base_fee_msat: int, fee_ppm: int) -> ChannelPolicy:
        return ChannelPolicy(
            base_fee_msat=base_fee_msat,
            fee_ppm=fee_ppm,
            htlc_min_msat=self.htlc_min_msat,
            htlc_max_msat=self.htlc_max_msat,
            cltv_delta=self.cltv_delta,
        )


class ChannelState(enum.Enum):
    ACTIVE = "active"  # open and usable (CLN: CHANNELD_NORMAL)
    PENDING = "pending"  # funding not yet locked in
    CLOSING = "closing"  # shutting down or closed on chain
    INACTIVE = "inactive"  # open but not usable (awaiting lock-in, splicing, errors)


class Opener(enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"


@dataclass(frozen=True, slots=True)
class Channel:
    """One of our own channels as the node sees it."""

    short_channel_id: str
    peer_id: str
    capacity_msat: int
    local_msat: int
    remote_msat: int
    our_policy: ChannelPolicy
    peer_policy: ChannelPolicy | None
    state: ChannelState
    connected: bool
    private: bool
    opener: Opener
    state_changes: int = 0
    channel_id: str = ""
    balance_known: bool = True  # False where only gossip is known (balances then split evenly)

    @property
    def funding_height(self) -> int:
        return funding_height(self.short_channel_id)

    @property
    def local_ratio(self) -> float:
        """Share of the capacity on our side, in [0, 1]."""
        if self.capacity_msat <= 0:
            return 0.0
        return min(1.0, max(0.0, self.local_msat / self.capacity_msat))


class ForwardStatus(enum.Enum):
    OFFERED = "offered"
    SETTLED = "settled"
    FAILED = "failed"
    LOCAL_FAILED = "local_failed"

    @property
    def is_final(self) -> bool:
        return self is not ForwardStatus.OFFERED


@dataclass(frozen=True, slots=True)
class Forward:
    """One forwarded HTLC, identified by the incoming channel and HTLC id."""

    in_channel: str
    in_htlc_id: int | None
    out_channel: str | None
    in_msat: int
    out_msat: int | None
    fee_msat: int | None
    status: ForwardStatus
    received_s: float
    resolved_s: float | None = None
    created_index: int | None = None


@dataclass(frozen=True, slots=True)
class WindowActivity:
    """Forwarding activity of one channel over the last ``days`` days.

    ``forwards_out``/``volume_out_msat``/``fees_earned_msat`` count settled forwards that left
    through the channel (the fee is earned by the outgoing channel); ``forwards_in`` and
    ``volume_in_msat`` those that came in through it. ``failed`` counts forwards out through the
    channel that failed downstream, ``local_failed`` those we failed ourselves (typically for
    lack of outbound liquidity in this channel).
    """

    days: int
    forwards_in: int = 0
    forwards_out: int = 0
    volume_in_msat: int = 0
    volume_out_msat: int = 0
    fees_earned_msat: int = 0
    failed: int = 0
    local_failed: int = 0

    @property
    def settled(self) -> int:
        return self.forwards_in + self.forwards_out

    @property
    def attempts_out(self) -> int:
        return self.forwards_out + self.failed + self.local_failed


@dataclass(frozen=True, slots=True)
class ChannelActivity:
    short_channel_id: str
    last_1d: WindowActivity = field(default_factory=lambda: WindowActivity(days=1))
    last_7d: WindowActivity = field(default_factory=lambda: WindowActivity(days=7))
    last_30d: WindowActivity = field(default_factory=lambda: WindowActivity(days=30))
    last_forward_s: float | None = None

    @property
    def windows(self) -> tuple[WindowActivity, WindowActivity, WindowActivity]:
        return (self.last_1d, self.last_7d, self.last_30d)


@dataclass(frozen=True, slots=True)
class PriceHistory:
    """What one channel earned at its current fee rate and at the rate before, read from the
    fee journal (a channel whose fee lnopt never changed has none).

    The current rate counts from ``since_s``, when it took effect; the previous one over the
    time it was in force, at most the last ``previous_days`` before that. Earnings are the
    settled forwards out of the channel and their fees.
    """

    current_ppm: int
    since_s: float
    current_forwards_out: int
    current_fees_msat: int
    previous_ppm: int
    previous_days: float
    previous_forwards_out: int
    previous_fees_msat: int


@dataclass(frozen=True, slots=True)
class HeuristicScore:
    """One heuristic's view of one channel."""

    name: str
    score: float
    confidence: float
    raw: Mapping[str, RawValue]
    explanation: str


@dataclass(frozen=True, slots=True)
class ChannelScore:
    short_channel_id: str
    peer_id: str
    score: float
    confidence: float
    parts: tuple[HeuristicScore, ...]

    def part(self, name: str) -> HeuristicScore:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)


class Action(enum.Enum):
    KEEP = "keep"
    RAISE_FEES = "raise_fees"
    LOWER_FEES = "lower_fees"
    REBALANCE = "rebalance"
    CLOSE = "close"

    @property
    def changes_fees(self) -> bool:
        return self in (Action.RAISE_FEES, Action.LOWER_FEES)


class ConfidenceLevel(enum.Enum):
    HIGH = "high"  # above 0.8
    MEDIUM = "medium"  # 0.5 to 0.8
    LOW = "low"  # below 0.5

    @classmethod
    def of(cls, confidence: float) -> ConfidenceLevel:
        if confidence > 0.8:
            return cls.HIGH
        if confidence >= 0.5:
            return cls.MEDIUM
        return cls.LOW


@dataclass(frozen=True, slots=True)
class ExpectedImpact:
    """Estimated change of daily fee income, and what the estimate rests on."""

    daily_fee_delta_msat: int
    basis: str


@dataclass(frozen=True, slots=True)
class Decision:
    short_channel_id: str
    peer_id: str
    action: Action
    confidence: float
    reasons: tuple[str, ...]
    current_policy: ChannelPolicy
    proposed_policy: ChannelPolicy | None
    impact: ExpectedImpact

    @property
    def level(self) -> ConfidenceLevel:
        return ConfidenceLevel.of(self.confidence)


@dataclass(frozen=True, slots=True)
class ProposedChange:
    """A fee change the decider wants, before the guard has looked at it."""

    short_channel_id: str
    peer_id: str
    old_policy: ChannelPolicy
    new_policy: ChannelPolicy
    reasons: tuple[str, ...]

    @classmethod
    def from_decision(cls, decision: Decision) -> ProposedChange | None:
        if decision.proposed_policy is None or decision.proposed_policy == decision.current_policy:
            return None
        return cls(
            short_channel_id=decision.short_channel_id,
            peer_id=decision.peer_id,
            old_policy=decision.current_policy,
            new_policy=decision.proposed_policy,
            reasons=decision.reasons,
        )


class Verdict(enum.Enum):
    APPROVED = "approved"
    CLAMPED = "clamped"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class GuardedChange:
    """The guard's verdict on a proposed change; ``policy`` is what may be applied."""

    change: ProposedChange
    verdict: Verdict
    policy: ChannelPolicy | None
    reasons: tuple[str, ...]

    @property
    def applicable(self) -> bool:
        return self.verdict is not Verdict.REJECTED and self.policy is not None


class Mode(enum.Enum):
    """How far lnopt may act: log only, queue for approval, or apply on its own."""

    SHADOW = "shadow"
    ADVISE = "advise"
    AUTO = "auto"


DetailValue = int | float | str | None  # one detail of an alert


class AlertKind(enum.Enum):
    """Every alert lnopt raises; the value names it in notifications, webhooks and the store."""

    CHANNEL_DRAINING = "channel_draining"  # local share fell fast
    PEER_OFFLINE = "peer_offline"  # a peer has been disconnected for long
    FAILED_FORWARDS = "failed_forwards"  # a spike of failed forwards out of a channel
    FEE_CHANGED_OUTSIDE = "fee_changed_outside"  # the node's fee is not what lnopt left
    BREAKER_OPEN = "breaker_open"  # a backend's circuit breaker is open
    STORE_FAILURE = "store_failure"  # the store could not be written
    SCHEDULER_FAILURE = "scheduler_failure"  # a run, recovery or backfill failed


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing an operator should hear about.

    ``subject`` is what it is about (a short channel id, a peer id, a backend's name or
    ``"store"``): two alerts of the same kind and subject are the same alert for
    de-duplication.
    """

    kind: AlertKind
    subject: str
    message: str
    raised_s: float
    short_channel_id: str | None = None
    peer_id: str | None = None
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    @property
    def key(self) -> tuple[AlertKind, str]:
        return (self.kind, self.subject)

    def as_json(self) -> dict[str, object]:
        """The alert as notifications and webhooks carry it."""
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "message": self.message,
            "raised_at": self.raised_s,
            "short_channel_id": self.short_channel_id,
            "peer_id": self.peer_id,
            "details": dict(self.details),
        }
