"""The store: one SQLite file (WAL) holding forwarding activity and the backfill cursors, runs,
the shadow log of decisions, the advise queue and the fee journal.

:class:`Store` is one object over one connection, assembled from a part per group of tables:
:mod:`~lnopt.store.schema` (the connection, transactions and numbered migrations),
:mod:`~lnopt.store.forwards` (forwards, how they are keyed and counted, backfill cursors),
:mod:`~lnopt.store.runs` (runs, decisions and proposals), :mod:`~lnopt.store.journal` (the
fee journal), :mod:`~lnopt.store.prices` (what each channel earned at its last two fee
rates), :mod:`~lnopt.store.evidence` (each channel's fee spells and payments, for the pricing
model), :mod:`~lnopt.store.observations` (what each run saw of the node and of each
channel, fee income per day) and :mod:`~lnopt.store.alerts` (alerts raised, channels left alone);
:mod:`~lnopt.store.records` holds what they hand back.

**Retention** (:meth:`Store.prune`) deletes forwards, decisions, runs, decided proposals,
channel observations and alerts older than ``retention_days``; the fee journal is the record
of every change made to the node and is kept, and so are the backfill cursors and the marks
of channels left alone.

The store is thread-safe: one connection, shared under a lock, with a busy timeout for other
processes. Fee journal writes and migrations are committed with ``synchronous=FULL``: they are
on disk when the method returns, whatever happens next. Everything else is committed with
``synchronous=NORMAL``, which survives a crash of the process but may lose the last commits to
a power cut (a journal commit flushes them too); forwards lost that way come back with a
backfill from the node.
"""

from __future__ import annotations

import logging

from lnopt.store.alerts import AlertRecord, AlertTables, HandsOffMark
from lnopt.store.evidence import EvidenceTables
from lnopt.store.forwards import DAY_S, WINDOW_DAYS, ForwardTables, forward_key
from lnopt.store.journal import JournalTables
from lnopt.store.observations import (
    ChannelObservation,
    DailyIncome,
    ObservationSummary,
    ObservationTables,
)
from lnopt.store.prices import PriceTables
from lnopt.store.records import (
    DecisionRecord,
    JournalEntry,
    JournalStatus,
    Proposal,
    ProposalStatus,
    RunRecord,
)
from lnopt.store.runs import RunTables
from lnopt.store.schema import BUSY_TIMEOUT_S, MIGRATIONS

__all__ = [
    "BUSY_TIMEOUT_S",
    "DAY_S",
    "MIGRATIONS",
    "WINDOW_DAYS",
    "AlertRecord",
    "ChannelObservation",
    "DailyIncome",
    "DecisionRecord",
    "HandsOffMark",
    "JournalEntry",
    "JournalStatus",
    "ObservationSummary",
    "Proposal",
    "ProposalStatus",
    "RunRecord",
    "Store",
    "forward_key",
]

logger = logging.getLogger(__name__)


class Store(
    ForwardTables,
    RunTables,
    JournalTables,
    PriceTables,
    EvidenceTables,
    ObservationTables,
    AlertTables,
):
    """lnopt's SQLite file; see the module docstring for what it holds and how."""

    def prune(self, *, now_s: float) -> int:
        """Delete what is older than ``retention_days``; returns the rows deleted."""
        cutoff = now_s - self.retention_days * DAY_S
        with self._transaction() as tx:
            before = tx.total_changes
            tx.execute("DELETE FROM forwards WHERE event_s < ?", (cutoff,))
            tx.execute("DELETE FROM decisions WHERE created_s < ?", (cutoff,))
            tx.execute("DELETE FROM channel_observations WHERE observed_s < ?", (cutoff,))
            tx.execute("DELETE FROM node_observations WHERE observed_s < ?", (cutoff,))
            tx.execute("DELETE FROM alerts WHERE raised_s < ?", (cutoff,))
            tx.execute(
                "DELETE FROM runs WHERE started_s < ? "
                "AND run_id NOT IN (SELECT run_id FROM decisions)",
                (cutoff,),
            )
            tx.execute(
                "DELETE FROM proposals WHERE updated_s < ? AND status != ?",
                (cutoff, ProposalStatus.QUEUED.value),
            )
            deleted = tx.total_changes - before
        logger.info("store prune cutoff_s=%.0f deleted=%d", cutoff, deleted)
        return deleted

    def counts(self) -> dict[str, int]:
        row = self._query(
            "SELECT (SELECT COUNT(*) FROM forwards), (SELECT COUNT(*) FROM decisions), "
            "(SELECT COUNT(*) FROM journal WHERE rollback_of IS NULL), "
            "(SELECT COUNT(*) FROM journal WHERE rollback_of IS NOT NULL), "
            "(SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM proposals WHERE status = ?)",
            (ProposalStatus.QUEUED.value,),
        )[0]
        names = ("forwards", "decisions", "changes", "rollbacks", "runs", "proposals_queued")
        return {name: int(value) for name, value in zip(names, tuple(row), strict=True)}
