"""The executor: the only code that changes a node's fees.

Each change goes validate → journal (old and new policy, committed to disk) → ``set_policy`` →
read back and verify → mark done. On any failure the old policy is restored and the entry is
marked failed with the reason. If even the restore fails (the node cannot be reached), the
entry is left open with the reason recorded, and :meth:`Executor.recover` settles it from the
node's actual policy, as it does at start-up for anything a crash left open. Hence after any
crash every channel's policy is either the old or the new value of its open entry, and once
recovered the journal says which.

Only the base fee and the fee rate are changed and compared; a change is validated against the
node's current policy (a plan made from a stale snapshot is refused) and refused while an
earlier change to the same channel is still open, so that settling that entry can never undo a
later one. A dry run takes the same
validation path and stops before the journal and the node. Every change logs one
``key=value`` line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lnopt.backends.base import Backend
from lnopt.errors import BackendError, StoreError
from lnopt.model import ChannelPolicy, GuardedChange
from lnopt.store import JournalEntry, JournalStatus, Store

logger = logging.getLogger(__name__)

INTERRUPTED = "interrupted before the change took effect"


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    change_id: int | None
    short_channel_id: str
    old_policy: ChannelPolicy
    new_policy: ChannelPolicy
    status: JournalStatus | None  # None in a dry run and for a change refused before journaling
    error: str | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch_id: str | None  # None in a dry run, or when nothing was journaled
    dryrun: bool
    outcomes: tuple[ChangeOutcome, ...]

    @property
    def done(self) -> tuple[ChangeOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status is JournalStatus.DONE)


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    finished: tuple[int, ...]  # entries found applied → DONE
    undone: tuple[int, ...]  # → FAILED, old policy in force / restored
    unresolved: tuple[int, ...] = ()  # the node could not be read or restored; still open


@dataclass(frozen=True, slots=True)
class _Plan:
    """One change to make: from ``old_policy`` (as planned) to the fees of ``new_policy``."""

    short_channel_id: str
    peer_id: str
    old_policy: ChannelPolicy
    new_policy: ChannelPolicy
    reasons: tuple[str, ...]
    rollback_of: int | None = None
    refusal: str | None = None  # refused before validation (guard verdict, entry status)


def same_fees(a: ChannelPolicy, b: ChannelPolicy) -> bool:
    """Whether two policies charge the same fees (the only fields the executor changes)."""
    return a.base_fee_msat == b.base_fee_msat and a.fee_ppm == b.fee_ppm


def _describe(policy: ChannelPolicy) -> str:
    return f"base_fee_msat={policy.base_fee_msat} fee_ppm={policy.fee_ppm}"


class Executor:
    """Applies, verifies and rolls back fee changes through a backend, journaling each first."""

    def __init__(
        self, backend: Backend, store: Store, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._backend = backend
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()

    def apply(self, changes: Sequence[GuardedChange], *, dryrun: bool = True) -> BatchResult:
        """Apply the guard's applicable changes as one batch; rejected ones are reported, not
        applied."""
        plans = []
        for guarded in changes:
            change = guarded.change
            refusal = None
            if not guarded.applicable or guarded.policy is None:
                refusal = "rejected by the guard: " + "; ".join(guarded.reasons)
            new_policy = guarded.policy if guarded.policy is not None else change.new_policy
            plans.append(
                _Plan(
                    short_channel_id=change.short_channel_id,
                    peer_id=change.peer_id,
                    old_policy=change.old_policy,
                    new_policy=new_policy,
                    reasons=(*change.reasons, *guarded.reasons),
                    refusal=refusal,
                )
            )
        with self._lock:
            return self._run(plans, dryrun=dryrun)

    def rollback(self, entries: Sequence[JournalEntry], *, dryrun: bool = False) -> BatchResult:
        """Restore the old policy of each DONE entry, newest first, as journaled changes."""
        plans = []
        with self._lock:
            for given in sorted(entries, key=lambda e: e.change_id, reverse=True):
                entry = self._store.journal_entry(given.change_id) or given
                refusal = None
                if entry.status is not JournalStatus.DONE:
                    refusal = (
                        f"change {entry.change_id} is {entry.status.value}; "
                        "only a done change can be rolled back"
                    )
                plans.append(
                    _Plan(
                        short_channel_id=entry.short_channel_id,
                        peer_id=entry.peer_id,
                        old_policy=entry.new_policy,
                        new_policy=entry.old_policy,
                        reasons=(f"rollback of change {entry.change_id}",),
                        rollback_of=entry.change_id,
                        refusal=refusal,
                    )
                )
            return self._run(plans, dryrun=dryrun)

    def recover(self) -> RecoveryResult:
        """Settle every open entry from the node's actual policy: at the new policy → DONE; at
        the old → FAILED; at neither → old restored, FAILED; node unreachable → left open."""
        finished: list[int] = []
        undone: list[int] = []
        unresolved: list[int] = []
        with self._lock:
            for entry in self._store.open_journal_entries():
                try:
                    actual = self._backend.get_policy(entry.short_channel_id)
                except BackendError as exc:
                    logger.warning(
                        "recover change_id=%d scid=%s unresolved error=%r",
                        entry.change_id,
                        entry.short_channel_id,
                        str(exc),
                    )
                    unresolved.append(entry.change_id)
                    continue
                if same_fees(actual, entry.new_policy):
                    self._finish(entry.change_id, entry.rollback_of)
                    self._log(entry, JournalStatus.DONE, None, action="recover")
                    finished.append(entry.change_id)
                    continue
                reason = INTERRUPTED
                if not same_fees(actual, entry.old_policy):
                    reason = f"node had neither policy ({_describe(actual)})"
                outcome = self._undo(entry, reason, actual=actual)
                self._log(entry, outcome.status, outcome.error, action="recover")
                target = undone if outcome.status is JournalStatus.FAILED else unresolved
                target.append(entry.change_id)
        return RecoveryResult(tuple(finished), tuple(undone), tuple(unresolved))

    # --- one batch ----------------------------------------------------------------------------

    def _run(self, plans: Sequence[_Plan], *, dryrun: bool) -> BatchResult:
        batch_id: str | None = None
        outcomes: list[ChangeOutcome] = []
        for plan in plans:
            refusal, current = self._validate(plan)
            if refusal is not None or current is None or dryrun:
                outcome = ChangeOutcome(
                    None,
                    plan.short_channel_id,
                    plan.old_policy,
                    plan.new_policy,
                    None,
                    refusal,
                )
                self._log(outcome, None, refusal, action="dryrun" if dryrun else "refuse")
                outcomes.append(outcome)
                continue
            if batch_id is None:
                batch_id = self._store.new_batch_id()
            outcomes.append(self._execute(batch_id, plan, current))
        return BatchResult(batch_id=batch_id, dryrun=dryrun, outcomes=tuple(outcomes))

    def _validate(self, plan: _Plan) -> tuple[str | None, ChannelPolicy | None]:
        """Why the plan cannot be applied (None if it can), and the node's current policy."""
        new = plan.new_policy
        if plan.refusal is not None:
            return plan.refusal, None
        if new.base_fee_msat < 0 or new.fee_ppm < 0:
            return f"negative fee refused ({_describe(new)})", None
        if same_fees(plan.old_policy, new):
            return "no change: the new fees equal the old ones", None
        unsettled = self._store.journal(
            short_channel_id=plan.short_channel_id,
            statuses=(JournalStatus.PENDING, JournalStatus.APPLIED),
            limit=1,
        )
        if unsettled:
            return (
                f"change {unsettled[0].change_id} on this channel is still open (its outcome "
                "is unknown); it is settled from the node's policy before the next apply",
                None,
            )
        try:
            current = self._backend.get_policy(plan.short_channel_id)
        except BackendError as exc:
            return f"cannot read the channel's policy: {exc}", None
        if not same_fees(current, plan.old_policy):
            return (
                f"stale plan: the node has {_describe(current)}, the change was planned "
                f"from {_describe(plan.old_policy)}",
                None,
            )
        return None, current

    def _execute(self, batch_id: str, plan: _Plan, current: ChannelPolicy) -> ChangeOutcome:
        new = current.with_fees(
            base_fee_msat=plan.new_policy.base_fee_msat, fee_ppm=plan.new_policy.fee_ppm
        )
        try:
            change_id = self._store.journal_begin(
                batch_id=batch_id,
                short_channel_id=plan.short_channel_id,
                peer_id=plan.peer_id,
                old_policy=current,
                new_policy=new,
                reasons=plan.reasons,
                created_s=self._clock(),
                rollback_of=plan.rollback_of,
            )
        except StoreError as exc:
            error = f"not applied: the journal cannot be written ({exc})"
            outcome = ChangeOutcome(None, plan.short_channel_id, current, new, None, error)
            self._log(outcome, None, error, action="refuse")
            return outcome
        entry = self._store.journal_entry(change_id)
        if entry is None:
            raise StoreError(f"journal entry {change_id} vanished after it was written")
        try:
            outcome = self._apply_entry(entry)
        except StoreError as exc:
            error = f"journal write failed ({exc}); entry left open for recover()"
            outcome = ChangeOutcome(change_id, plan.short_channel_id, current, new, None, error)
        self._log(entry, outcome.status, outcome.error, action="apply")
        return outcome

    def _apply_entry(self, entry: JournalEntry) -> ChangeOutcome:
        """set_policy → APPLIED → read back → DONE, or undo on any failure."""
        try:
            self._backend.set_policy(entry.short_channel_id, entry.new_policy)
        except BackendError as exc:
            return self._undo(entry, f"set_policy failed: {exc}")
        self._store.journal_mark(entry.change_id, JournalStatus.APPLIED, updated_s=self._clock())
        applied = _with_status(entry, JournalStatus.APPLIED)
        try:
            actual = self._backend.get_policy(entry.short_channel_id)
        except BackendError as exc:
            return self._undo(applied, f"cannot read the policy back: {exc}")
        if not same_fees(actual, entry.new_policy):
            return self._undo(
                applied,
                f"verification failed: the node reports {_describe(actual)}, "
                f"expected {_describe(entry.new_policy)}",
                actual=actual,
            )
        self._finish(entry.change_id, entry.rollback_of)
        return _outcome(entry, JournalStatus.DONE, None)

    def _finish(self, change_id: int, rollback_of: int | None) -> None:
        if rollback_of is None:
            self._store.journal_mark(change_id, JournalStatus.DONE, updated_s=self._clock())
        else:
            self._store.journal_finish_rollback(change_id, updated_s=self._clock())

    def _undo(
        self, entry: JournalEntry, reason: str, *, actual: ChannelPolicy | None = None
    ) -> ChangeOutcome:
        """Put the old policy back (if the node is not already there) and mark FAILED; if that
        cannot be done, record why and leave the entry open for :meth:`recover`."""
        if actual is None:
            try:
                actual = self._backend.get_policy(entry.short_channel_id)
            except BackendError:
                actual = None
        if actual is not None and same_fees(actual, entry.old_policy):
            return self._mark_failed(entry, f"{reason}; old policy in force")
        try:
            reported = self._backend.set_policy(entry.short_channel_id, entry.old_policy)
        except BackendError as exc:
            problem = str(exc)
        else:
            if same_fees(reported, entry.old_policy):
                return self._mark_failed(entry, f"{reason}; old policy restored")
            problem = f"the node reports {_describe(reported)} after the restore"
        error = f"{reason}; restoring the old policy failed ({problem}); left open for recover()"
        self._store.journal_mark(
            entry.change_id, entry.status, updated_s=self._clock(), error=error
        )
        return _outcome(entry, entry.status, error)

    def _mark_failed(self, entry: JournalEntry, error: str) -> ChangeOutcome:
        self._store.journal_mark(
            entry.change_id, JournalStatus.FAILED, updated_s=self._clock(), error=error
        )
        return _outcome(entry, JournalStatus.FAILED, error)

    @staticmethod
    def _log(
        change: JournalEntry | ChangeOutcome,
        status: JournalStatus | None,
        error: str | None,
        *,
        action: str,
    ) -> None:
        rollback_of = change.rollback_of if isinstance(change, JournalEntry) else None
        logger.info(
            "fee_change action=%s change_id=%s scid=%s old_base_fee_msat=%d old_fee_ppm=%d "
            "new_base_fee_msat=%d new_fee_ppm=%d status=%s rollback_of=%s error=%r",
            action,
            change.change_id,
            change.short_channel_id,
            change.old_policy.base_fee_msat,
            change.old_policy.fee_ppm,
            change.new_policy.base_fee_msat,
            change.new_policy.fee_ppm,
            None if status is None else status.value,
            rollback_of,
            error,
        )


def _with_status(entry: JournalEntry, status: JournalStatus) -> JournalEntry:
    return replace(entry, status=status)


def _outcome(entry: JournalEntry, status: JournalStatus, error: str | None) -> ChangeOutcome:
    return ChangeOutcome(
        entry.change_id,
        entry.short_channel_id,
        entry.old_policy,
        entry.new_policy,
        status,
        error,
    )
