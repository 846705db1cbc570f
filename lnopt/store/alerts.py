"""Alerts raised, and the channels lnopt leaves alone ("hands off") until the operator says.

A channel whose fee was changed outside lnopt is marked hands off: the guard rejects every
change lnopt proposes for it until :meth:`AlertTables.release_hands_off` hands it back. The
release records the policy the node had then, so that policy is what lnopt expects from then
on (see :meth:`AlertTables.expected_policies`). Alerts are pruned with the rest of the store;
marks are kept.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from lnopt.model import Alert, AlertKind, ChannelPolicy
from lnopt.store.records import JournalStatus
from lnopt.store.rows import decoded, rowid, sql_value
from lnopt.store.schema import StoreBase

_INSERT_ALERT_SQL = """
INSERT INTO alerts (kind, subject, short_channel_id, peer_id, message, details, raised_s)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""

_MARK_SQL = """
INSERT INTO hands_off (short_channel_id, since_s, reason, node_policy, expected_policy,
    released_s, released_policy)
VALUES (:scid, :since_s, :reason, :node_policy, :expected_policy, NULL, NULL)
ON CONFLICT (short_channel_id) DO UPDATE SET since_s = excluded.since_s,
    reason = excluded.reason, node_policy = excluded.node_policy,
    expected_policy = excluded.expected_policy, released_s = NULL, released_policy = NULL
WHERE hands_off.released_s IS NOT NULL
"""

# the policy of each channel's newest verified journal entry (a change or a rollback)
_JOURNAL_LEFT_SQL = """
SELECT j.short_channel_id, j.new_policy, j.updated_s FROM journal j
JOIN (SELECT short_channel_id, MAX(change_id) AS newest FROM journal
      WHERE status IN (:done, :rolled_back) GROUP BY short_channel_id) n
  ON j.change_id = n.newest
"""


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert_id: int
    alert: Alert


@dataclass(frozen=True, slots=True)
class HandsOffMark:
    """A channel lnopt leaves alone, since when and why."""

    short_channel_id: str
    since_s: float
    reason: str
    node_policy: ChannelPolicy  # what the node had when it was noticed
    expected_policy: ChannelPolicy  # what lnopt expected


class AlertTables(StoreBase):
    """The ``alerts`` and ``hands_off`` tables."""

    def record_alert(self, alert: Alert) -> int:
        with self._transaction() as tx:
            cursor = tx.execute(
                _INSERT_ALERT_SQL,
                (
                    alert.kind.value,
                    alert.subject,
                    alert.short_channel_id,
                    alert.peer_id,
                    alert.message,
                    json.dumps(dict(alert.details), sort_keys=True),
                    alert.raised_s,
                ),
            )
            return rowid(cursor)

    def alerts(self, *, limit: int = 50, since_s: float | None = None) -> list[AlertRecord]:
        """Recorded alerts, newest first."""
        rows = self._query(
            "SELECT * FROM alerts WHERE (:since IS NULL OR raised_s >= :since) "
            "ORDER BY alert_id DESC LIMIT :limit",
            {"since": since_s, "limit": limit},
        )
        return [_alert(row) for row in rows]

    def mark_hands_off(
        self,
        short_channel_id: str,
        *,
        since_s: float,
        reason: str,
        node_policy: ChannelPolicy,
        expected_policy: ChannelPolicy,
    ) -> bool:
        """Leave the channel alone; False when it already was."""
        params = {
            "scid": short_channel_id,
            "since_s": since_s,
            "reason": reason,
            "node_policy": sql_value(node_policy),
            "expected_policy": sql_value(expected_policy),
        }
        with self._transaction(durable=True) as tx:
            return tx.execute(_MARK_SQL, params).rowcount > 0

    def hands_off(self) -> dict[str, HandsOffMark]:
        """The channels lnopt leaves alone now."""
        rows = self._query("SELECT * FROM hands_off WHERE released_s IS NULL")
        return {row["short_channel_id"]: _mark(row) for row in rows}

    def release_hands_off(
        self, short_channel_id: str, *, released_s: float, policy: ChannelPolicy
    ) -> HandsOffMark | None:
        """Hand the channel back to lnopt, which expects ``policy`` from now on; the mark that
        was released, or None when the channel was not left alone."""
        with self._transaction(durable=True) as tx:
            row = tx.execute(
                "SELECT * FROM hands_off WHERE short_channel_id = ? AND released_s IS NULL",
                (short_channel_id,),
            ).fetchone()
            if row is None:
                return None
            tx.execute(
                "UPDATE hands_off SET released_s = ?, released_policy = ? "
                "WHERE short_channel_id = ?",
                (released_s, sql_value(policy), short_channel_id),
            )
            return _mark(row)

    def expected_policies(self) -> dict[str, ChannelPolicy]:
        """Per channel, the fees lnopt last left it with: its newest verified journal entry's,
        or the node's at a later release. A channel with an entry still open is left out (its
        policy is being changed); one lnopt never changed or released has none."""
        left: dict[str, tuple[float, ChannelPolicy]] = {}
        params = {"done": JournalStatus.DONE.value, "rolled_back": JournalStatus.ROLLED_BACK.value}
        for row in self._query(_JOURNAL_LEFT_SQL, params):
            left[row[0]] = (float(row[2]), ChannelPolicy(**json.loads(row[1])))
        released = self._query(
            "SELECT short_channel_id, released_s, released_policy FROM hands_off "
            "WHERE released_s IS NOT NULL"
        )
        for row in released:
            current = left.get(row[0])
            if current is None or float(row[1]) >= current[0]:
                left[row[0]] = (float(row[1]), ChannelPolicy(**json.loads(row[2])))
        open_rows = self._query(
            "SELECT DISTINCT short_channel_id FROM journal WHERE status IN (?, ?)",
            (JournalStatus.PENDING.value, JournalStatus.APPLIED.value),
        )
        for row in open_rows:
            left.pop(row[0], None)
        return {scid: policy for scid, (_, policy) in left.items()}


def _alert(row: sqlite3.Row) -> AlertRecord:
    return AlertRecord(
        alert_id=int(row["alert_id"]),
        alert=Alert(
            kind=AlertKind(row["kind"]),
            subject=row["subject"],
            message=row["message"],
            raised_s=float(row["raised_s"]),
            short_channel_id=row["short_channel_id"],
            peer_id=row["peer_id"],
            details=json.loads(row["details"]),
        ),
    )


def _mark(row: sqlite3.Row) -> HandsOffMark:
    values = decoded(row)
    return HandsOffMark(
        short_channel_id=values["short_channel_id"],
        since_s=float(values["since_s"]),
        reason=values["reason"],
        node_policy=ChannelPolicy(**json.loads(values["node_policy"])),
        expected_policy=ChannelPolicy(**json.loads(values["expected_policy"])),
    )
