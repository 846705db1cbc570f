"""The Optimizer: snapshot → score → decide → guard → execute, in the configured mode."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from lnopt.alerts.fees import changed_outside, left_alone_reason
from lnopt.backends.base import Backend, NodeInfo
from lnopt.config import Config
from lnopt.decisions import decide
from lnopt.errors import InvalidRequest, LnoptError
from lnopt.executor import BatchResult, Executor, RecoveryResult
from lnopt.graph import GraphMetrics, NetworkGraph
from lnopt.guard import review
from lnopt.model import (
    ChannelScore,
    Decision,
    GuardedChange,
    Mode,
    ProposedChange,
)
from lnopt.observer import Observers, RunOutcome, ServiceObserver, Work
from lnopt.pricing.evidence import ChannelEvidence
from lnopt.report_picture import write_report_png
from lnopt.reports import (
    BackendStatus,
    GraphFreshness,
    History,
    Recommendation,
    ScoreReport,
    ShadowReport,
    Status,
    build_report,
    read_history,
    status_counts,
)
from lnopt.scoring import score_channels
from lnopt.service.backfill import backfill_forwards
from lnopt.service.proposals import triage, with_outcomes
from lnopt.service.targets import (
    ALL,
    parse_proposal_id,
    queued_proposal,
    require_short_channel_id,
    rollback_entries,
)
from lnopt.snapshot import NodeSnapshot
from lnopt.store import AlertRecord, HandsOffMark, Proposal, ProposalStatus, RunRecord, Store

logger = logging.getLogger(__name__)

DAY_S = 86_400
_SHADOW_REFUSAL = (
    "lnopt is in shadow mode: it decides and logs but never changes the node. To change fees, "
    "switch mode first (lightning-cli setconfig lnopt-mode advise, or auto; for lnopt run, "
    "--mode or mode: in its settings file), or pass dryrun=true (on the command line: leave "
    "out --no-dry-run) to see what would change"
)


@dataclass(frozen=True)
class _Plan:
    snapshot: NodeSnapshot
    scores: tuple[ChannelScore, ...]
    decisions: tuple[Decision, ...]
    guarded: tuple[GuardedChange | None, ...]  # aligned with decisions


class Optimizer:
    """snapshot → score → decide → guard → execute, in the configured mode."""

    def __init__(
        self,
        backend: Backend,
        store: Store,
        config: Config,
        *,
        mode: Mode = Mode.SHADOW,
        interval_s: int = 3600,
        clock: Callable[[], float] = time.time,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self._backend = backend
        self._store = store
        self._config = config
        self._mode = mode
        self._interval_s = _non_negative("interval", interval_s)
        self._clock = clock
        self._executor = Executor(backend, store, clock=clock)
        self._lock = lock if lock is not None else threading.RLock()
        self._started_s = clock()
        self._graph: NetworkGraph | None = None
        self._graph_read_s: float | None = None
        self._metrics: GraphMetrics | None = None
        self._info: NodeInfo | None = None
        self._observers = Observers()

    def add_observer(self, observer: ServiceObserver) -> None:
        """Tell ``observer`` of every run, failed run, change made and channel left alone."""
        self._observers.add(observer)

    @property
    def backend(self) -> Backend:
        return self._backend

    # --- settings --------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def config(self) -> Config:
        return self._config

    @property
    def interval_s(self) -> int:
        return self._interval_s

    def set_mode(self, mode: Mode) -> None:
        if mode is not self._mode:
            logger.info("event=mode_changed old=%s new=%s", self._mode.value, mode.value)
        self._mode = mode

    def set_config(self, config: Config) -> None:
        self._config = config

    def set_interval(self, interval_s: int) -> None:
        """Seconds between scheduled runs; 0 turns scheduled runs off."""
        self._interval_s = _non_negative("interval", interval_s)

    def next_run_s(self) -> float | None:
        """When the next scheduled run is due (None: scheduled runs are off)."""
        if self._interval_s == 0:
            return None
        last = self._store.last_run()
        if last is None:
            return self._started_s
        return last.started_s + self._interval_s

    # --- the pipeline ----------------------------------------------------------------------

    def snapshot(self) -> NodeSnapshot:
        """The node as it is now: channels, gossip and the activity the store has seen."""
        info = self._backend.node_info()
        self._info = info
        channels = tuple(self._backend.channels())
        graph = self._backend.gossip()
        now = self._clock()
        if graph is not self._graph:
            self._graph, self._graph_read_s = graph, now
        return NodeSnapshot(
            node_id=info.node_id,
            block_height=info.block_height,
            taken_at_s=int(now),
            channels=channels,
            activity=self._store.activity(now_s=now),
            graph=graph,
            prices=self._store.price_histories(now_s=now),
            evidence=self._price_evidence(now),
        )

    def _price_evidence(self, now_s: float) -> dict[str, ChannelEvidence]:
        """What the pricing model reads; nothing while it is off (the fee rules do not)."""
        pricing = self._config.pricing
        if not pricing.enabled:
            return {}
        return self._store.price_evidence(
            now_s=now_s,
            window_days=pricing.window_days,
            half_life_days=pricing.half_life_days,
            payment_window_s=pricing.payment_window_s,
        )

    def score(self, short_channel_id: str | None = None) -> ScoreReport:
        with self._lock:
            snapshot = self.snapshot()
            scores = self._score(snapshot, short_channel_id)
            return ScoreReport(snapshot.taken_at_s, scores, self.graph_freshness())

    def recommend(self, short_channel_id: str | None = None) -> tuple[Recommendation, ...]:
        with self._lock:
            plan = self._plan(short_channel_id)
        by_scid = {score.short_channel_id: score for score in plan.scores}
        return tuple(
            Recommendation(decision, by_scid[decision.short_channel_id], guarded)
            for decision, guarded in zip(plan.decisions, plan.guarded, strict=True)
        )

    def apply(self, target: str = ALL, *, dryrun: bool = True) -> BatchResult:
        """Plan and apply the fee changes of one channel (a short channel id) or ``"all"``."""
        short_channel_id = None if target == ALL else require_short_channel_id(target)
        with self._lock:
            if not dryrun:
                self._require_changes_allowed()
                self._ensure_recovered()
            plan = self._plan(short_channel_id)
            changes = [guarded for guarded in plan.guarded if guarded is not None]
            result = self._executor.apply(changes, dryrun=dryrun)
            self._observers.changes_made(result, rollback=False)
            return result

    def run_once(self) -> RunRecord:
        """One scheduled run: shadow logs the decisions, advise queues, auto applies."""
        with self._lock:
            started = time.monotonic()
            started_s = self._clock()
            try:
                self._ensure_recovered()
                mode = self._mode
                run_id = self._store.start_run(mode=mode, started_s=started_s)
            except Exception as exc:
                self._observers.work_failed(Work.RUN, exc, now_s=self._clock())
                raise
            decisions = proposals = changes = 0
            error: str | None = None
            applied: BatchResult | None = None
            try:
                plan = self._plan(None)
                self._observe(run_id, plan.snapshot)
                decisions = len(plan.decisions)
                self._store.record_decisions(
                    run_id, plan.decisions, plan.guarded, created_s=started_s
                )
                for decision, guarded in zip(plan.decisions, plan.guarded, strict=True):
                    _log_decision(mode, decision, guarded)
                applicable = [g for g in plan.guarded if g is not None and g.applicable]
                if mode is Mode.ADVISE:
                    queued = self._store.queue_proposals(applicable, created_s=started_s)
                    proposals = len(queued)
                elif mode is Mode.AUTO and applicable:
                    applied = self._executor.apply(applicable, dryrun=False)
                    changes = len(applied.done)
                    self._observers.changes_made(applied, rollback=False)
            except Exception as exc:
                error = str(exc) or type(exc).__name__
                self._observers.work_failed(Work.RUN, exc, now_s=self._clock())
                raise
            finally:
                self._finish_run(run_id, decisions, proposals, changes, error)
            last = self._store.last_run()
            assert last is not None  # noqa: S101 - the run was just recorded
            self._observers.run_finished(
                RunOutcome(
                    mode=mode,
                    snapshot=plan.snapshot,
                    scores=plan.scores,
                    decisions=plan.decisions,
                    guarded=plan.guarded,
                    duration_s=time.monotonic() - started,
                    applied=applied,
                )
            )
            return last

    def _finish_run(
        self, run_id: int, decisions: int, proposals: int, changes: int, error: str | None
    ) -> None:
        try:
            self._store.finish_run(
                run_id,
                finished_s=self._clock(),
                decisions=decisions,
                proposals=proposals,
                changes=changes,
                error=error,
            )
        except LnoptError as exc:
            if error is None:
                self._observers.work_failed(Work.RUN, exc, now_s=self._clock())
            raise

    # --- advise mode's queue ---------------------------------------------------------------

    def proposals(self) -> tuple[Proposal, ...]:
        return tuple(self._store.proposals(status=ProposalStatus.QUEUED))

    def approve(self, target: str) -> BatchResult:
        """Apply a queued proposal (its id) or every queued proposal (``"all"``)."""
        with self._lock:
            self._require_changes_allowed()
            if target == ALL:
                chosen = list(self._store.proposals(status=ProposalStatus.QUEUED))
            else:
                chosen = [queued_proposal(self._store, parse_proposal_id(target))]
            self._ensure_recovered()
            now = self._clock()
            current = {ch.short_channel_id: ch.our_policy for ch in self._backend.channels()}
            triaged = triage(chosen, current)
            for proposal, _ in triaged.expired:
                self._store.set_proposal_status(
                    proposal.proposal_id, ProposalStatus.EXPIRED, updated_s=now
                )
            for proposal, _ in triaged.fresh:
                self._store.set_proposal_status(
                    proposal.proposal_id, ProposalStatus.APPROVED, updated_s=now
                )
            changes = [change for _, change in triaged.fresh]
            guarded = self._review(changes, now) if changes else ()
            result = self._executor.apply(guarded, dryrun=False) if changes else None
            if result is not None:
                self._observers.changes_made(result, rollback=False)
            return with_outcomes(result, [outcome for _, outcome in triaged.expired])

    def reject(self, proposal_id: int) -> Proposal:
        with self._lock:
            proposal = queued_proposal(self._store, proposal_id)
            self._store.set_proposal_status(
                proposal.proposal_id, ProposalStatus.REJECTED, updated_s=self._clock()
            )
            updated = self._store.proposal(proposal.proposal_id)
            assert updated is not None  # noqa: S101 - it was just read
            return updated

    def alerts(self, limit: int = 20) -> tuple[AlertRecord, ...]:
        """The alerts delivered lately, newest first."""
        if limit < 1:
            raise InvalidRequest(f"limit: {limit} is not allowed; give a whole number >= 1")
        return tuple(self._store.alerts(limit=limit))

    # --- channels left alone --------------------------------------------------------------

    def hands_off(self) -> tuple[HandsOffMark, ...]:
        """The channels lnopt leaves alone, by channel."""
        marks = self._store.hands_off()
        return tuple(marks[scid] for scid in sorted(marks))

    def release(self, short_channel_id: str) -> HandsOffMark:
        """Hand a channel left alone back to lnopt, which takes the node's fees now as its
        own from here on."""
        require_short_channel_id(short_channel_id)
        with self._lock:
            if short_channel_id not in self._store.hands_off():
                raise InvalidRequest(
                    f"channel {short_channel_id} is not left alone; lnopt-status lists those "
                    "that are"
                )
            policy = self._backend.get_policy(short_channel_id)
            mark = self._store.release_hands_off(
                short_channel_id, released_s=self._clock(), policy=policy
            )
        assert mark is not None  # noqa: S101 - checked under the lock
        logger.info("event=released channel=%s fee_ppm=%d", short_channel_id, policy.fee_ppm)
        return mark

    # --- rollback, recovery, backfill ------------------------------------------------------

    def rollback(self, target: str, *, dryrun: bool = False) -> BatchResult:
        """Restore the policy before a change (``"42"``), a batch (``"b7"``), a channel's latest
        change (a short channel id) or the last batch (``"last"``)."""
        with self._lock:
            entries = rollback_entries(self._store, target)
            if not dryrun:
                self._require_changes_allowed()
                self._ensure_recovered()
            result = self._executor.rollback(entries, dryrun=dryrun)
            self._observers.changes_made(result, rollback=True)
            return result

    def recover(self) -> RecoveryResult:
        """Finish or undo every journal entry a crash left open (runs in every mode)."""
        with self._lock:
            try:
                result = self._executor.recover()
            except Exception as exc:
                self._observers.work_failed(Work.RECOVERY, exc, now_s=self._clock())
                raise
        for change_id in result.finished:
            logger.info("event=recovered change_id=%d outcome=done", change_id)
        for change_id in result.undone:
            logger.info("event=recovered change_id=%d outcome=old_policy_kept", change_id)
        return result

    def backfill(self, *, page_size: int = 1000) -> int:
        """Read the node's forwarding history from where the last backfill stopped; returns
        the forwards newly counted (see :mod:`lnopt.service.backfill`)."""
        try:
            return backfill_forwards(self._backend, self._store, page_size=page_size)
        except Exception as exc:
            self._observers.work_failed(Work.BACKFILL, exc, now_s=self._clock())
            raise

    # --- reading the record ----------------------------------------------------------------

    def history(
        self,
        short_channel_id: str | None = None,
        *,
        since_s: float | None = None,
        limit: int = 100,
    ) -> History:
        """Decisions and fee changes, newest first, of one channel or all."""
        if short_channel_id is not None:
            require_short_channel_id(short_channel_id)
        if since_s is not None and since_s < 0:
            raise InvalidRequest(f"since: {since_s} is negative; give a unix time in seconds")
        if limit < 1:
            raise InvalidRequest(f"limit: {limit} is not allowed; give a whole number >= 1")
        return read_history(self._store, short_channel_id, since_s=since_s, limit=limit)

    def status(self) -> Status:
        return Status(
            mode=self._mode,
            interval_s=self._interval_s,
            last_run=self._store.last_run(),
            next_run_s=self.next_run_s(),
            counts=status_counts(self._store),
            store_path=self._store.path,
            store_size_bytes=self._store.size_bytes(),
            graph=self.graph_freshness(),
            guard=self._config.guard,
            backend=BackendStatus(
                name=self._backend.name,
                limitations=self._backend.limitations(),
                health=self._backend.health(),
                privilege_warnings=self._backend.privilege_warnings(),
            ),
            observations=self._store.observation_summary(),
        )

    def report(self, days: int = 7) -> ShadowReport:
        """What lnopt decided (or would have changed) over ``days``, and what its changes did."""
        if days < 1:
            raise InvalidRequest(f"days: {days} is not allowed; give a whole number >= 1")
        return build_report(self._store, days=days, now_s=self._clock())

    def report_picture(self, path: Path, days: int = 7) -> Path:
        """Draw the report of the last ``days`` days as a PNG at ``path`` (from the store
        alone; see :mod:`lnopt.report_picture`)."""
        if days < 1:
            raise InvalidRequest(f"days: {days} is not allowed; give a whole number >= 1")
        if path.suffix.lower() != ".png":
            raise InvalidRequest(f"png: {str(path)[:200]!r} does not end in .png; give a .png path")
        try:
            return write_report_png(self._store, path, days=days, now_s=self._clock())
        except OSError as exc:
            raise InvalidRequest(f"png: cannot write {str(path)[:200]!r}: {exc.strerror}") from exc

    def graph_freshness(self) -> GraphFreshness:
        return GraphFreshness.of(self._graph, self._graph_read_s, self._metrics)

    # --- internals -------------------------------------------------------------------------

    def _score(
        self, snapshot: NodeSnapshot, short_channel_id: str | None
    ) -> tuple[ChannelScore, ...]:
        if short_channel_id is not None:
            require_short_channel_id(short_channel_id)
        metrics = snapshot.graph.metrics(
            betweenness_samples=self._config.graph.samples, seed=self._config.graph.seed
        )
        self._metrics = metrics
        return score_channels(snapshot, self._config, metrics=metrics, only=short_channel_id)

    def _plan(self, short_channel_id: str | None) -> _Plan:
        snapshot = self.snapshot()
        self._notice_changes_outside(snapshot)
        scores = self._score(snapshot, short_channel_id)
        decisions = tuple(decide(snapshot, scores, self._config))
        proposed = {
            change.short_channel_id: change
            for change in map(ProposedChange.from_decision, decisions)
            if change is not None
        }
        reviewed = self._review(list(proposed.values()), snapshot.taken_at_s)
        by_scid = {guarded.change.short_channel_id: guarded for guarded in reviewed}
        guarded = tuple(by_scid.get(decision.short_channel_id) for decision in decisions)
        return _Plan(snapshot, scores, decisions, guarded)

    def _review(self, changes: Sequence[ProposedChange], now_s: float) -> tuple[GuardedChange, ...]:
        limits = self._config.guard
        since = now_s - max(DAY_S, limits.cooldown_s)
        recent = self._store.change_times(since_s=since)
        alone = {scid: mark.reason for scid, mark in self._store.hands_off().items()}
        return tuple(
            review(changes, limits=limits, recent_changes=recent, now_s=now_s, left_alone=alone)
        )

    def _notice_changes_outside(self, snapshot: NodeSnapshot) -> None:
        """Leave alone every channel whose fees are not what lnopt left (see
        :mod:`lnopt.alerts.fees`); each newly left alone is told to the observers."""
        marked = self._store.hands_off()
        for channel, expected in changed_outside(
            snapshot.channels, self._store.expected_policies()
        ):
            if channel.short_channel_id in marked:
                continue
            now = self._clock()
            newly = self._store.mark_hands_off(
                channel.short_channel_id,
                since_s=now,
                reason=left_alone_reason(channel, expected),
                node_policy=channel.our_policy,
                expected_policy=expected,
            )
            if newly:
                logger.warning(
                    "event=left_alone channel=%s fee_ppm=%d expected_fee_ppm=%d",
                    channel.short_channel_id,
                    channel.our_policy.fee_ppm,
                    expected.fee_ppm,
                )
                self._observers.left_alone(channel, expected, now_s=now)

    def _observe(self, run_id: int, snapshot: NodeSnapshot) -> None:
        """Record the node's fee totals and its channels' balances and fees at this run."""
        self._store.record_observation(
            run_id=run_id,
            observed_s=snapshot.taken_at_s,
            channels=snapshot.channels,
            fee_totals=self._info.fee_totals if self._info is not None else None,
        )

    def _ensure_recovered(self) -> None:
        """Settle open journal entries (a crash, or a node unreachable during a restore) before
        anything new is changed."""
        if self._store.open_journal_entries():
            self.recover()

    def _require_changes_allowed(self) -> None:
        if self._mode is Mode.SHADOW:
            raise InvalidRequest(_SHADOW_REFUSAL)


def _non_negative(name: str, value: int) -> int:
    if value < 0:
        raise InvalidRequest(f"{name}: {value} is negative; give a whole number >= 0")
    return value


def _log_decision(mode: Mode, decision: Decision, guarded: GuardedChange | None) -> None:
    proposed = decision.proposed_policy
    logger.info(
        "event=decision mode=%s channel=%s action=%s confidence=%.2f fee_ppm=%d "
        "proposed_fee_ppm=%s verdict=%s",
        mode.value,
        decision.short_channel_id,
        decision.action.value,
        decision.confidence,
        decision.current_policy.fee_ppm,
        proposed.fee_ppm if proposed is not None else "-",
        guarded.verdict.value if guarded is not None else "-",
    )
