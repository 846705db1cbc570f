"""The fee journal: every change made to the node, written before the node is touched.

An entry is written PENDING and moves to APPLIED, DONE or FAILED; a DONE change may later become
ROLLED_BACK, restored by an entry of its own (its ``rollback_of``). Entry writes are durable
(see :mod:`lnopt.store`), and the journal is never pruned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence

from lnopt.errors import StoreError
from lnopt.model import ChannelPolicy
from lnopt.store.records import JournalEntry, JournalStatus
from lnopt.store.rows import named, record_of, rowid, sql_value
from lnopt.store.schema import StoreBase

_JOURNAL_TRANSITIONS: dict[JournalStatus, frozenset[JournalStatus]] = {
    JournalStatus.PENDING: frozenset(
        {JournalStatus.PENDING, JournalStatus.APPLIED, JournalStatus.DONE, JournalStatus.FAILED}
    ),
    JournalStatus.APPLIED: frozenset(
        {JournalStatus.APPLIED, JournalStatus.DONE, JournalStatus.FAILED}
    ),
    JournalStatus.DONE: frozenset({JournalStatus.ROLLED_BACK}),
    JournalStatus.FAILED: frozenset(),
    JournalStatus.ROLLED_BACK: frozenset(),
}


_INSERT_JOURNAL_SQL = """
INSERT INTO journal (batch_id, short_channel_id, peer_id, old_policy, new_policy, status,
    reasons, created_s, updated_s, rollback_of)
VALUES (:batch_id, :short_channel_id, :peer_id, :old_policy, :new_policy, :status,
    :reasons, :created_s, :updated_s, :rollback_of)
"""

_JOURNAL_QUERY_SQL = """
SELECT * FROM journal
WHERE (:scid IS NULL OR short_channel_id = :scid)
  AND (:batch IS NULL OR batch_id = :batch)
  AND (:since IS NULL OR created_s >= :since)
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
ORDER BY change_id DESC LIMIT :limit
"""


class JournalTables(StoreBase):
    """The ``journal`` and ``batches`` tables."""

    def journal_begin(
        self,
        *,
        batch_id: str,
        short_channel_id: str,
        peer_id: str,
        old_policy: ChannelPolicy,
        new_policy: ChannelPolicy,
        reasons: Sequence[str],
        created_s: float,
        rollback_of: int | None = None,
    ) -> int:
        """Write a PENDING entry; it is committed to disk before this returns."""
        with self._transaction(durable=True) as tx:
            params = named(
                batch_id=batch_id,
                short_channel_id=short_channel_id,
                peer_id=peer_id,
                old_policy=old_policy,
                new_policy=new_policy,
                status=JournalStatus.PENDING,
                reasons=tuple(reasons),
                created_s=created_s,
                updated_s=created_s,
                rollback_of=rollback_of,
            )
            return rowid(tx.execute(_INSERT_JOURNAL_SQL, params))

    def journal_mark(
        self, change_id: int, status: JournalStatus, *, updated_s: float, error: str | None = None
    ) -> None:
        """Move an entry to ``status``; an open entry may keep its status to record an error."""
        with self._transaction(durable=True) as tx:
            self._mark(tx, change_id, status, updated_s=updated_s, error=error)

    def journal_link_rollback(self, change_id: int, rolled_back_by: int) -> None:
        """Mark DONE change ``change_id`` ROLLED_BACK, restored by change ``rolled_back_by``."""
        with self._transaction(durable=True) as tx:
            self._link(tx, change_id, rolled_back_by)

    def journal_finish_rollback(self, rollback_id: int, *, updated_s: float) -> None:
        """In one transaction: the rollback entry DONE and the change it restores ROLLED_BACK."""
        with self._transaction(durable=True) as tx:
            row = tx.execute(
                "SELECT rollback_of FROM journal WHERE change_id = ?", (rollback_id,)
            ).fetchone()
            if row is None or row[0] is None:
                raise StoreError(f"journal entry {rollback_id} is not a rollback")
            self._mark(tx, rollback_id, JournalStatus.DONE, updated_s=updated_s, error=None)
            self._link(tx, int(row[0]), rollback_id)

    def _mark(
        self,
        tx: sqlite3.Connection,
        change_id: int,
        status: JournalStatus,
        *,
        updated_s: float,
        error: str | None,
    ) -> None:
        row = tx.execute("SELECT status FROM journal WHERE change_id = ?", (change_id,)).fetchone()
        if row is None:
            raise StoreError(f"no journal entry {change_id}")
        current = JournalStatus(row[0])
        if status not in _JOURNAL_TRANSITIONS[current]:
            raise StoreError(
                f"journal entry {change_id} is {current.value}; it cannot become {status.value}"
            )
        tx.execute(
            "UPDATE journal SET status = ?, updated_s = ?, error = ? WHERE change_id = ?",
            (status.value, updated_s, error, change_id),
        )

    def _link(self, tx: sqlite3.Connection, change_id: int, rolled_back_by: int) -> None:
        row = tx.execute(
            "SELECT updated_s FROM journal WHERE change_id = ?", (rolled_back_by,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no journal entry {rolled_back_by}")
        self._mark(tx, change_id, JournalStatus.ROLLED_BACK, updated_s=row[0], error=None)
        tx.execute(
            "UPDATE journal SET rolled_back_by = ? WHERE change_id = ?",
            (rolled_back_by, change_id),
        )

    def journal_entry(self, change_id: int) -> JournalEntry | None:
        rows = self._query("SELECT * FROM journal WHERE change_id = ?", (change_id,))
        return _journal_entry(rows[0]) if rows else None

    def journal(
        self,
        *,
        short_channel_id: str | None = None,
        batch_id: str | None = None,
        since_s: float | None = None,
        statuses: Collection[JournalStatus] | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Journal entries matching every filter given, newest first."""
        params = {
            "scid": short_channel_id,
            "batch": batch_id,
            "since": since_s,
            "statuses": None if statuses is None else sql_value([s.value for s in statuses]),
            "limit": -1 if limit is None else limit,
        }
        return [_journal_entry(row) for row in self._query(_JOURNAL_QUERY_SQL, params)]

    def open_journal_entries(self) -> list[JournalEntry]:
        """Entries a crash (or an unreachable node) left PENDING or APPLIED, oldest first."""
        entries = self.journal(statuses=(JournalStatus.PENDING, JournalStatus.APPLIED))
        return entries[::-1]

    def new_batch_id(self) -> str:
        """A fresh batch id ``b1``, ``b2``, ...: unique and increasing, never reused."""
        with self._transaction() as tx:
            return f"b{rowid(tx.execute('INSERT INTO batches DEFAULT VALUES'))}"

    def last_batch_id(self, *, exclude_rollbacks: bool = True) -> str | None:
        """The batch of the newest journal entry (of a non-rollback entry by default)."""
        rows = self._query(
            "SELECT batch_id FROM journal WHERE (:all OR rollback_of IS NULL) "
            "ORDER BY change_id DESC LIMIT 1",
            {"all": not exclude_rollbacks},
        )
        return str(rows[0][0]) if rows else None

    def change_times(self, *, since_s: float) -> dict[str, list[float]]:
        """Per channel, oldest first: when changes (rollbacks included) that reached or may
        have reached the node were started since ``since_s``; failed changes are left out."""
        rows = self._query(
            "SELECT short_channel_id, created_s FROM journal WHERE created_s >= ? "
            "AND status != ? ORDER BY created_s",
            (since_s, JournalStatus.FAILED.value),
        )
        times: dict[str, list[float]] = {}
        for row in rows:
            times.setdefault(row[0], []).append(float(row[1]))
        return times


def _journal_entry(row: sqlite3.Row) -> JournalEntry:
    return record_of(JournalEntry, row, status=JournalStatus)
