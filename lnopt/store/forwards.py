"""Forwarding activity: recording forwards once each and counting them per channel and window.

**Forwards** are keyed by the incoming channel and the incoming HTLC id, which Core Lightning
never reuses on one channel. Where ``in_htlc_id`` is missing (nodes before v22.11) the key is
the ``created_index`` (v23.11+), else the ``received_time``; a node reports the same fields in
its ``forward_event`` notifications and in ``listforwards``, so replays and backfills find the
same key. Only final statuses are stored: ``offered`` is ignored, and the first final status
recorded for a forward stands, so every forward is counted once.

**Attribution** in :meth:`ForwardTables.activity`: a settled forward counts as ``forwards_in``
and ``volume_in_msat`` of its incoming channel and as ``forwards_out``, ``volume_out_msat`` and
``fees_earned_msat`` of its outgoing channel. ``failed`` and ``local_failed`` count against the
outgoing channel. A failure whose outgoing channel is unknown (no ``out_channel``: the next hop
did not exist or the onion was bad) says nothing about any of our channels' liquidity and is
only counted in :meth:`ForwardTables.forward_counts`, not held against the incoming channel. A
forward's time is its ``resolved_time``, else its ``received_time``; a window of ``d`` days
holds the forwards with ``now - d * 86400 <= time <= now``. ``last_forward_s`` is the time of
the channel's last settled forward in either direction.

**Backfill cursors**: where the next backfill from a backend starts, the ``next_index`` of the
last page it gave (opaque here: only that backend reads it), kept per backend name. A page and
its cursor are written in one transaction (:meth:`ForwardTables.record_backfill_page`), so a
backfill cut short resumes after the last page it recorded. Forwards recorded from live events
(:meth:`ForwardTables.record_forwards`) never move a cursor: they arrive out of band.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from lnopt.errors import InvalidRequest
from lnopt.model import ChannelActivity, Forward, ForwardStatus, WindowActivity
from lnopt.store.schema import StoreBase

DAY_S = 86_400
WINDOW_DAYS = (1, 7, 30)


def forward_key(forward: Forward) -> str:
    """The per-channel identity of a forward (see the module docstring)."""
    if forward.in_htlc_id is not None:
        return f"htlc:{forward.in_htlc_id}"
    if forward.created_index is not None:
        return f"index:{forward.created_index}"
    return f"received:{forward.received_s!r}"


_ACTIVITY_IN_SQL = """
SELECT in_channel AS scid, MAX(event_s) AS last_s,
    SUM(event_s >= :since_1d) AS n_1d,
    SUM(CASE WHEN event_s >= :since_1d THEN in_msat ELSE 0 END) AS v_1d,
    SUM(event_s >= :since_7d) AS n_7d,
    SUM(CASE WHEN event_s >= :since_7d THEN in_msat ELSE 0 END) AS v_7d,
    SUM(event_s >= :since_30d) AS n_30d,
    SUM(CASE WHEN event_s >= :since_30d THEN in_msat ELSE 0 END) AS v_30d
FROM forwards WHERE status = 'settled' AND event_s <= :now
GROUP BY in_channel
"""

_ACTIVITY_OUT_SQL = """
SELECT out_channel AS scid, status, MAX(event_s) AS last_s,
    SUM(event_s >= :since_1d) AS n_1d,
    SUM(CASE WHEN event_s >= :since_1d THEN COALESCE(out_msat, 0) ELSE 0 END) AS v_1d,
    SUM(CASE WHEN event_s >= :since_1d THEN COALESCE(fee_msat, 0) ELSE 0 END) AS f_1d,
    SUM(event_s >= :since_7d) AS n_7d,
    SUM(CASE WHEN event_s >= :since_7d THEN COALESCE(out_msat, 0) ELSE 0 END) AS v_7d,
    SUM(CASE WHEN event_s >= :since_7d THEN COALESCE(fee_msat, 0) ELSE 0 END) AS f_7d,
    SUM(event_s >= :since_30d) AS n_30d,
    SUM(CASE WHEN event_s >= :since_30d THEN COALESCE(out_msat, 0) ELSE 0 END) AS v_30d,
    SUM(CASE WHEN event_s >= :since_30d THEN COALESCE(fee_msat, 0) ELSE 0 END) AS f_30d
FROM forwards WHERE out_channel IS NOT NULL AND event_s <= :now
GROUP BY out_channel, status
"""

_INSERT_FORWARD_SQL = """
INSERT OR IGNORE INTO forwards (in_channel, forward_key, in_htlc_id, out_channel, in_msat,
    out_msat, fee_msat, status, received_s, resolved_s, event_s, created_index)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


class ForwardTables(StoreBase):
    """The ``forwards`` table."""

    def record_forwards(self, forwards: Sequence[Forward]) -> int:
        """Store final forwards once each; returns how many were newly counted."""
        rows = [_forward_row(f) for f in forwards if f.status.is_final]
        if not rows:
            return 0
        with self._transaction() as tx:
            return _insert_forwards(tx, rows)

    def record_backfill_page(
        self, forwards: Sequence[Forward], *, source: str, next_index: int
    ) -> int:
        """Store a backfill page's final forwards once each and move ``source``'s cursor to
        ``next_index``, in one transaction; returns how many forwards were newly counted."""
        if next_index < 0:
            raise InvalidRequest(f"a backfill cursor is never negative, got {next_index}")
        rows = [_forward_row(f) for f in forwards if f.status.is_final]
        with self._transaction() as tx:
            counted = _insert_forwards(tx, rows)
            tx.execute(
                "INSERT INTO cursors (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (_cursor_name(source), str(next_index)),
            )
            return counted

    def forward_cursor(self, source: str) -> int | None:
        """Where the next backfill from ``source`` (a backend's name) starts; None: from the
        start of its history."""
        rows = self._query("SELECT position FROM cursors WHERE name = ?", (_cursor_name(source),))
        return int(rows[0][0]) if rows else None

    def forward_counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in ForwardStatus if status.is_final}
        for row in self._query("SELECT status, COUNT(*) FROM forwards GROUP BY status"):
            counts[row[0]] = int(row[1])
        counts["total"] = sum(counts.values())
        return counts

    def activity(self, *, now_s: float) -> dict[str, ChannelActivity]:
        """Per channel: settled, failed and local-failed forwards in the 1, 7 and 30 day windows."""
        params = {"now": now_s} | {f"since_{d}d": now_s - d * DAY_S for d in WINDOW_DAYS}
        windows: dict[str, dict[int, dict[str, int]]] = {}
        last_s: dict[str, float] = {}

        def add(scid: str, days: int, **counts: int) -> None:
            fields = windows.setdefault(scid, {d: {} for d in WINDOW_DAYS})[days]
            for name, value in counts.items():
                fields[name] = fields.get(name, 0) + value

        def settled_at(scid: str, when: float) -> None:
            last_s[scid] = max(when, last_s.get(scid, when))

        for row in self._query(_ACTIVITY_IN_SQL, params):
            settled_at(row["scid"], row["last_s"])
            for d in WINDOW_DAYS:
                add(row["scid"], d, forwards_in=row[f"n_{d}d"], volume_in_msat=row[f"v_{d}d"])
        for row in self._query(_ACTIVITY_OUT_SQL, params):
            status = ForwardStatus(row["status"])
            if status is ForwardStatus.SETTLED:
                settled_at(row["scid"], row["last_s"])
            for d in WINDOW_DAYS:
                count = row[f"n_{d}d"]
                if status is ForwardStatus.SETTLED:
                    add(
                        row["scid"],
                        d,
                        forwards_out=count,
                        volume_out_msat=row[f"v_{d}d"],
                        fees_earned_msat=row[f"f_{d}d"],
                    )
                else:
                    add(row["scid"], d, **{status.value: count})
        return {
            scid: ChannelActivity(
                scid,
                last_1d=WindowActivity(days=1, **per_window[1]),
                last_7d=WindowActivity(days=7, **per_window[7]),
                last_30d=WindowActivity(days=30, **per_window[30]),
                last_forward_s=last_s.get(scid),
            )
            for scid, per_window in windows.items()
        }


def _cursor_name(source: str) -> str:
    return f"forwards:{source}"


def _insert_forwards(tx: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert forward rows, skipping those already counted; returns how many were new."""
    before = tx.total_changes
    tx.executemany(_INSERT_FORWARD_SQL, rows)
    return tx.total_changes - before


def _forward_row(forward: Forward) -> tuple[Any, ...]:
    fee_msat = forward.fee_msat
    if fee_msat is None and forward.out_msat is not None:
        fee_msat = forward.in_msat - forward.out_msat
    event_s = forward.resolved_s if forward.resolved_s is not None else forward.received_s
    f = forward
    return (
        *(f.in_channel, forward_key(f), f.in_htlc_id, f.out_channel, f.in_msat, f.out_msat),
        *(fee_msat, f.status.value, f.received_s, f.resolved_s, event_s, f.created_index),
    )
