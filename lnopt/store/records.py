"""What the store hands back: its records and the statuses of journal entries and proposals."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lnopt.model import Action, ChannelPolicy, ExpectedImpact, Mode, Verdict


class JournalStatus(enum.Enum):
    PENDING = "pending"  # written before the node is touched
    APPLIED = "applied"  # the node accepted the change, not yet verified
    DONE = "done"  # read back and verified
    FAILED = "failed"  # not applied (or undone); `error` says why; old policy in force
    ROLLED_BACK = "rolled_back"  # was done, later restored by a rollback (see rolled_back_by)


class ProposalStatus(enum.Enum):
    QUEUED = "queued"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # replaced by a newer proposal for the same channel, or withdrawn


@dataclass(frozen=True, slots=True)
class JournalEntry:
    change_id: int
    batch_id: str
    short_channel_id: str
    peer_id: str
    old_policy: ChannelPolicy
    new_policy: ChannelPolicy
    status: JournalStatus
    reasons: tuple[str, ...]
    created_s: float
    updated_s: float
    error: str | None
    rollback_of: int | None  # this entry restores change `rollback_of`
    rolled_back_by: int | None


@dataclass(frozen=True, slots=True)
class Proposal:
    proposal_id: int
    short_channel_id: str
    peer_id: str
    old_policy: ChannelPolicy
    new_policy: ChannelPolicy
    reasons: tuple[str, ...]
    created_s: float
    status: ProposalStatus
    updated_s: float


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: int
    mode: Mode
    started_s: float
    finished_s: float | None
    decisions: int
    proposals: int
    changes: int
    error: str | None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    decision_id: int
    run_id: int
    created_s: float
    short_channel_id: str
    peer_id: str
    action: Action
    confidence: float
    reasons: tuple[str, ...]
    current_policy: ChannelPolicy
    proposed_policy: ChannelPolicy | None
    verdict: Verdict | None
    verdict_reasons: tuple[str, ...]
    guarded_policy: ChannelPolicy | None  # what the guard would let through
    impact: ExpectedImpact
