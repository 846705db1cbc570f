"""What the Optimizer answers: the value types of its results, and the read-only views it
builds from the store (history, counts, the shadow-mode report).

The shadow-mode report says what lnopt decided and would have changed, the activity it saw,
and what the changes it did make earned. Fee income before and after a change compares equal
windows: the longest of the store's windows (30, 7 or 1 days) that has fully passed since the
change, once ending at the change and once starting at it. A change younger than a day has no
comparison yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lnopt.backends.base import Limitation
from lnopt.backends.http import BreakerStatus
from lnopt.config import GuardLimits
from lnopt.graph import GraphMetrics, NetworkGraph
from lnopt.model import ChannelScore, Decision, GuardedChange, Mode, WindowActivity
from lnopt.store import (
    DAY_S,
    WINDOW_DAYS,
    DecisionRecord,
    JournalEntry,
    JournalStatus,
    ObservationSummary,
    RunRecord,
    Store,
)

DECISIONS_READ = 20_000  # newest decisions a report reads; enough for weeks of hourly runs


@dataclass(frozen=True)
class GraphFreshness:
    """How old the network graph and its topology metrics are, and how they were computed."""

    fingerprint: str | None
    nodes: int
    channels: int
    read_at_s: float | None
    metrics_computed_at_s: float | None
    metrics_compute_s: float | None
    betweenness_samples: int | None

    @classmethod
    def of(
        cls, graph: NetworkGraph | None, read_at_s: float | None, metrics: GraphMetrics | None
    ) -> GraphFreshness:
        return cls(
            fingerprint=graph.fingerprint if graph is not None else None,
            nodes=graph.node_count if graph is not None else 0,
            channels=graph.channel_count if graph is not None else 0,
            read_at_s=read_at_s,
            metrics_computed_at_s=metrics.computed_at_s if metrics is not None else None,
            metrics_compute_s=metrics.compute_s if metrics is not None else None,
            betweenness_samples=metrics.betweenness_samples if metrics is not None else None,
        )


@dataclass(frozen=True)
class ScoreReport:
    taken_at_s: int
    scores: tuple[ChannelScore, ...]
    graph: GraphFreshness


@dataclass(frozen=True)
class Recommendation:
    """A channel's decision, the score it rests on, and the guard's verdict on any fee change."""

    decision: Decision
    score: ChannelScore
    guarded: GuardedChange | None  # None: the decision changes no fee


@dataclass(frozen=True)
class History:
    """Decisions and fee changes, each newest first."""

    decisions: tuple[DecisionRecord, ...]
    changes: tuple[JournalEntry, ...]


@dataclass(frozen=True)
class BackendStatus:
    """What the backend cannot give, its circuit breaker, and what its credential can do."""

    name: str
    limitations: tuple[Limitation, ...]
    health: BreakerStatus | None
    privilege_warnings: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    mode: Mode
    interval_s: int
    last_run: RunRecord | None
    next_run_s: float | None
    counts: Mapping[str, int]
    store_path: Path
    store_size_bytes: int
    graph: GraphFreshness
    guard: GuardLimits
    backend: BackendStatus | None = None
    observations: ObservationSummary | None = None


@dataclass(frozen=True)
class IncomeComparison:
    """Fees earned through a changed channel in equal windows before and after the change."""

    change: JournalEntry
    window_days: int | None  # None: the change is too recent to compare
    fees_before_msat: int | None
    fees_after_msat: int | None
    forwards_before: int | None
    forwards_after: int | None


@dataclass(frozen=True)
class ShadowReport:
    days: int
    since_s: float
    until_s: float
    decisions: int
    decisions_truncated: bool
    actions: Mapping[str, int]  # action value -> decisions
    would_change: tuple[DecisionRecord, ...]  # each channel's latest fee proposal
    activity_window_days: int
    activity: Mapping[str, WindowActivity]
    changes: tuple[IncomeComparison, ...]


def read_history(
    store: Store, short_channel_id: str | None, *, since_s: float | None, limit: int
) -> History:
    decisions = store.decisions(short_channel_id=short_channel_id, since_s=since_s, limit=limit)
    changes = store.journal(short_channel_id=short_channel_id, since_s=since_s, limit=limit)
    return History(tuple(decisions), tuple(changes))


def status_counts(store: Store) -> dict[str, int]:
    """Forwards by final status, and the decisions, changes, rollbacks, runs and queue held."""
    forwards = store.forward_counts()
    stored = store.counts()
    return {
        "forwards": forwards["total"],
        "settled": forwards["settled"],
        "failed": forwards["failed"],
        "local_failed": forwards["local_failed"],
        **{key: stored[key] for key in ("decisions", "changes", "rollbacks", "runs")},
        "proposals_queued": stored["proposals_queued"],
    }


def build_report(store: Store, *, days: int, now_s: float) -> ShadowReport:
    since_s = now_s - days * DAY_S
    records = store.decisions(since_s=since_s, limit=DECISIONS_READ)
    window_days = next((d for d in WINDOW_DAYS if d >= days), WINDOW_DAYS[-1])
    activity = {
        scid: channel.windows[WINDOW_DAYS.index(window_days)]
        for scid, channel in store.activity(now_s=now_s).items()
    }
    changes = [
        entry
        for entry in store.journal(
            since_s=since_s, statuses=(JournalStatus.DONE, JournalStatus.ROLLED_BACK)
        )
        if entry.rollback_of is None
    ]
    return ShadowReport(
        days=days,
        since_s=since_s,
        until_s=now_s,
        decisions=len(records),
        decisions_truncated=len(records) >= DECISIONS_READ,
        actions=dict(Counter(record.action.value for record in records)),
        would_change=_latest_fee_proposals(records),
        activity_window_days=window_days,
        activity={scid: window for scid, window in activity.items() if window.settled},
        changes=tuple(compare_income(store, entry, now_s=now_s) for entry in changes),
    )


def compare_income(store: Store, change: JournalEntry, *, now_s: float) -> IncomeComparison:
    """Fees through the channel in the longest full window before and after ``change``."""
    elapsed_s = now_s - change.created_s
    fitting = [d for d in WINDOW_DAYS if d * DAY_S <= elapsed_s]
    if not fitting:
        return IncomeComparison(change, None, None, None, None, None)
    window_days = fitting[-1]
    index = WINDOW_DAYS.index(window_days)
    before = _window(store, change.short_channel_id, change.created_s, index)
    after = _window(store, change.short_channel_id, change.created_s + window_days * DAY_S, index)
    return IncomeComparison(
        change=change,
        window_days=window_days,
        fees_before_msat=before.fees_earned_msat,
        fees_after_msat=after.fees_earned_msat,
        forwards_before=before.forwards_out,
        forwards_after=after.forwards_out,
    )


def _window(store: Store, short_channel_id: str, end_s: float, index: int) -> WindowActivity:
    found = store.activity(now_s=end_s).get(short_channel_id)
    if found is None:
        return WindowActivity(days=WINDOW_DAYS[index])
    return found.windows[index]


def _latest_fee_proposals(records: list[DecisionRecord]) -> tuple[DecisionRecord, ...]:
    """Each channel's newest decision that proposed a fee change, by channel."""
    latest: dict[str, DecisionRecord] = {}
    for record in records:  # newest first
        if record.short_channel_id in latest:
            continue
        proposed = record.proposed_policy
        if proposed is not None and proposed != record.current_policy:
            latest[record.short_channel_id] = record
    return tuple(latest[scid] for scid in sorted(latest))
