"""The store: one SQLite file (WAL) holding forwarding activity, runs, the shadow log of
decisions, the advise queue and the fee journal.

Schema versions are numbered migrations (:data:`MIGRATIONS`), each a function with a docstring;
the ``schema_version`` table records which ran. Opening an older file migrates it; a file
written by a newer lnopt is refused with :class:`~lnopt.errors.StoreError`.

**Forwards** are keyed by the incoming channel and the incoming HTLC id, which Core Lightning
never reuses on one channel. Where ``in_htlc_id`` is missing (nodes before v22.11) the key is
the ``created_index`` (v23.11+), else the ``received_time``; a node reports the same fields in
its ``forward_event`` notifications and in ``listforwards``, so replays and backfills find the
same key. Only final statuses are stored: ``offered`` is ignored, and the first final status
recorded for a forward stands, so every forward is counted once.

**Attribution** in :meth:`Store.activity`: a settled forward counts as ``forwards_in`` and
``volume_in_msat`` of its incoming channel and as ``forwards_out``, ``volume_out_msat`` and
``fees_earned_msat`` of its outgoing channel. ``failed`` and ``local_failed`` count against the
outgoing channel. A failure whose outgoing channel is unknown (no ``out_channel``: the next hop
did not exist or the onion was bad) says nothing about any of our channels' liquidity and is
only counted in :meth:`Store.forward_counts`, not held against the incoming channel. A
forward's time is its ``resolved_time``, else its ``received_time``; a window of ``d`` days
holds the forwards with ``now - d * 86400 <= time <= now``. ``last_forward_s`` is the time of
the channel's last settled forward in either direction.

**Retention** (:meth:`Store.prune`) deletes forwards, decisions, runs and decided proposals
older than ``retention_days``; the fee journal is the record of every change made to the node
and is kept.

The store is thread-safe: one connection, shared under a lock, with a busy timeout for other
processes. Fee journal writes and migrations are committed with ``synchronous=FULL``: they are
on disk when the method returns, whatever happens next. Everything else is committed with
``synchronous=NORMAL``, which survives a crash of the process but may lose the last commits to
a power cut (a journal commit flushes them too); forwards lost that way come back with a
backfill from the node.
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lnopt.errors import InvalidRequest, StoreError
from lnopt.model import (
    Action,
    ChannelActivity,
    ChannelPolicy,
    Decision,
    ExpectedImpact,
    Forward,
    ForwardStatus,
    GuardedChange,
    Mode,
    Verdict,
    WindowActivity,
)

logger = logging.getLogger(__name__)

DAY_S = 86_400
BUSY_TIMEOUT_S = 10.0
WINDOW_DAYS = (1, 7, 30)


class JournalStatus(enum.Enum):
    PENDING = "pending"  # written before the node is touched
    APPLIED = "applied"  # the node accepted the change, not yet verified
    DONE = "done"  # read back and verified
    FAILED = "failed"  # not applied (or undone); `error` says why; old policy in force
    ROLLED_BACK = "rolled_back"  # was done, later restored by a rollback (see rolled_back_by)


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


def _migration_1(conn: sqlite3.Connection) -> None:
    """Forwarding activity, runs and the shadow log of decisions."""
    for statement in (
        """CREATE TABLE forwards (
            forward_id INTEGER PRIMARY KEY, in_channel TEXT NOT NULL,
            forward_key TEXT NOT NULL, in_htlc_id INTEGER, out_channel TEXT,
            in_msat INTEGER NOT NULL, out_msat INTEGER, fee_msat INTEGER, status TEXT NOT NULL,
            received_s REAL NOT NULL, resolved_s REAL, event_s REAL NOT NULL,
            created_index INTEGER, UNIQUE (in_channel, forward_key))""",
        # covering indexes: activity() reads only these, grouped in index order
        "CREATE INDEX forwards_in ON forwards (status, in_channel, event_s, in_msat)",
        "CREATE INDEX forwards_out ON forwards (out_channel, status, event_s, out_msat, fee_msat)",
        """CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY AUTOINCREMENT, mode TEXT NOT NULL,
            started_s REAL NOT NULL, finished_s REAL, decisions INTEGER NOT NULL DEFAULT 0,
            proposals INTEGER NOT NULL DEFAULT 0, changes INTEGER NOT NULL DEFAULT 0,
            error TEXT)""",
        """CREATE TABLE decisions (
            decision_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
            created_s REAL NOT NULL, short_channel_id TEXT NOT NULL, peer_id TEXT NOT NULL,
            action TEXT NOT NULL, confidence REAL NOT NULL, reasons TEXT NOT NULL,
            current_policy TEXT NOT NULL, proposed_policy TEXT,
            daily_fee_delta_msat INTEGER NOT NULL, impact_basis TEXT NOT NULL,
            verdict TEXT, verdict_reasons TEXT NOT NULL, guarded_policy TEXT)""",
        "CREATE INDEX decisions_by_time ON decisions (created_s)",
        "CREATE INDEX decisions_by_channel ON decisions (short_channel_id, created_s)",
    ):
        conn.execute(statement)


def _migration_2(conn: sqlite3.Connection) -> None:
    """The fee journal with its batch counter, and the advise queue of proposals."""
    for statement in (
        "CREATE TABLE batches (batch_seq INTEGER PRIMARY KEY AUTOINCREMENT)",
        """CREATE TABLE journal (
            change_id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT NOT NULL,
            short_channel_id TEXT NOT NULL, peer_id TEXT NOT NULL,
            old_policy TEXT NOT NULL, new_policy TEXT NOT NULL, status TEXT NOT NULL,
            reasons TEXT NOT NULL, created_s REAL NOT NULL, updated_s REAL NOT NULL,
            error TEXT, rollback_of INTEGER, rolled_back_by INTEGER)""",
        "CREATE INDEX journal_by_channel ON journal (short_channel_id, change_id)",
        "CREATE INDEX journal_by_batch ON journal (batch_id)",
        "CREATE INDEX journal_by_status ON journal (status)",
        """CREATE TABLE proposals (
            proposal_id INTEGER PRIMARY KEY AUTOINCREMENT, short_channel_id TEXT NOT NULL,
            peer_id TEXT NOT NULL, old_policy TEXT NOT NULL, new_policy TEXT NOT NULL,
            reasons TEXT NOT NULL, created_s REAL NOT NULL, updated_s REAL NOT NULL,
            status TEXT NOT NULL)""",
        "CREATE INDEX proposals_by_status ON proposals (status, short_channel_id)",
    ):
        conn.execute(statement)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migration_1, _migration_2)

# A 16 MiB page cache and checkpoints every 4000 pages (16 MiB of log): batches of forwards
# touch many index pages, and fewer, larger checkpoints write them much faster.
_TUNING = ("PRAGMA cache_size = -16384", "PRAGMA wal_autocheckpoint = 4000")
_SYNC_FULL = "PRAGMA synchronous = FULL"
_SYNC_NORMAL = "PRAGMA synchronous = NORMAL"

_SCHEMA_VERSION_SQL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_s REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
)
"""

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

_INSERT_DECISION_SQL = """
INSERT INTO decisions (run_id, created_s, short_channel_id, peer_id, action, confidence, reasons,
    current_policy, proposed_policy, daily_fee_delta_msat, impact_basis, verdict,
    verdict_reasons, guarded_policy)
VALUES (:run_id, :created_s, :short_channel_id, :peer_id, :action, :confidence, :reasons,
    :current_policy, :proposed_policy, :daily_fee_delta_msat, :impact_basis, :verdict,
    :verdict_reasons, :guarded_policy)
"""

_EXPIRE_PROPOSALS_SQL = """
UPDATE proposals SET status = :expired, updated_s = :updated_s
WHERE short_channel_id = :short_channel_id AND status = :status
"""

_INSERT_PROPOSAL_SQL = """
INSERT INTO proposals (short_channel_id, peer_id, old_policy, new_policy, reasons, created_s,
    updated_s, status)
VALUES (:short_channel_id, :peer_id, :old_policy, :new_policy, :reasons, :created_s,
    :updated_s, :status)
"""

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


def forward_key(forward: Forward) -> str:
    """The per-channel identity of a forward (see the module docstring)."""
    if forward.in_htlc_id is not None:
        return f"htlc:{forward.in_htlc_id}"
    if forward.created_index is not None:
        return f"index:{forward.created_index}"
    return f"received:{forward.received_s!r}"


_POLICY_COLUMNS = frozenset(
    {"old_policy", "new_policy", "current_policy", "proposed_policy", "guarded_policy"}
)
_TEXT_LIST_COLUMNS = frozenset({"reasons", "verdict_reasons"})


def _sql(value: Any) -> Any:
    """A domain value as stored: policies and lists of words as JSON, enums by their value."""
    if isinstance(value, ChannelPolicy):
        return json.dumps(asdict(value), sort_keys=True)
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _named(**values: Any) -> dict[str, Any]:
    """Named SQL parameters from domain values."""
    return {key: _sql(value) for key, value in values.items()}


def _decoded(row: sqlite3.Row) -> dict[str, Any]:
    """A row as a dict, with policies and lists of words decoded (enums are left as text)."""
    values = dict(zip(row.keys(), tuple(row), strict=True))
    for key in values.keys() & _POLICY_COLUMNS:
        if values[key] is not None:
            values[key] = ChannelPolicy(**json.loads(values[key]))
    for key in values.keys() & _TEXT_LIST_COLUMNS:
        values[key] = tuple(json.loads(values[key]))
    return values


class Store:
    """lnopt's SQLite file; see the module docstring for what it holds and how."""

    SCHEMA_VERSION = len(MIGRATIONS)

    def __init__(self, path: str | Path, *, retention_days: int = 90) -> None:
        if retention_days < 1:
            raise InvalidRequest(f"retention_days must be at least 1, got {retention_days}")
        self.path = Path(path)
        self.retention_days = retention_days
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.row_factory = sqlite3.Row
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"store {self.path}: cannot switch to WAL mode (got {mode})")
            for pragma in _TUNING:
                self._conn.execute(pragma)
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        except StoreError:
            self.close()
            raise

    # --- connection, transactions, schema -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {self.path} is closed")
        return self._conn

    @contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error;
        ``durable``: on disk when it returns (see the module docstring)."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(_SYNC_FULL if durable else _SYNC_NORMAL)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except (sqlite3.Error, OverflowError) as exc:
                raise StoreError(f"store {self.path}: write failed: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: read failed: {exc}") from exc

    def _migrate(self) -> None:
        with self._transaction(durable=True) as tx:
            tx.execute(_SCHEMA_VERSION_SQL)
            current = self._read_version(tx)
            if current > self.SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.path} has schema version {current}, newer than this lnopt "
                    f"understands ({self.SCHEMA_VERSION}); upgrade lnopt or use another file"
                )
            for version in range(current + 1, self.SCHEMA_VERSION + 1):
                migration = MIGRATIONS[version - 1]
                logger.info("store migrate path=%s version=%d", self.path, version)
                migration(tx)
                tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    @staticmethod
    def _read_version(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        return int(row[0])

    def schema_version(self) -> int:
        with self._lock:
            try:
                return self._read_version(self._connection())
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: read failed: {exc}") from exc

    def journal_mode(self) -> str:
        return str(self._query("PRAGMA journal_mode")[0][0])

    def size_bytes(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        total = 0
        for suffix in ("", "-wal"):
            candidate = self.path.with_name(self.path.name + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- forwards ---------------------------------------------------------------------------

    def record_forwards(self, forwards: Sequence[Forward]) -> int:
        """Store final forwards once each; returns how many were newly counted."""
        rows = [_forward_row(f) for f in forwards if f.status.is_final]
        if not rows:
            return 0
        with self._transaction() as tx:
            before = tx.total_changes
            tx.executemany(_INSERT_FORWARD_SQL, rows)
            return tx.total_changes - before

    def forward_counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in ForwardStatus if status.is_final}
        for row in self._query("SELECT status, COUNT(*) FROM forwards GROUP BY status"):
            counts[row[0]] = int(row[1])
        counts["total"] = sum(counts.values())
        return counts

    def last_forward_index(self) -> int | None:
        """The highest ``created_index`` recorded (Core Lightning's listforwards position)."""
        row = self._query("SELECT MAX(created_index) FROM forwards")[0]
        return None if row[0] is None else int(row[0])

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

    # --- runs and decisions -----------------------------------------------------------------

    def start_run(self, *, mode: Mode, started_s: float) -> int:
        with self._transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO runs (mode, started_s) VALUES (?, ?)", (mode.value, started_s)
            )
            return _rowid(cursor)

    def finish_run(
        self,
        run_id: int,
        *,
        finished_s: float,
        decisions: int,
        proposals: int,
        changes: int,
        error: str | None = None,
    ) -> None:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE runs SET finished_s = ?, decisions = ?, proposals = ?, changes = ?, "
                "error = ? WHERE run_id = ?",
                (finished_s, decisions, proposals, changes, error, run_id),
            )
            if cursor.rowcount == 0:
                raise InvalidRequest(f"no run {run_id} in the store")

    def last_run(self) -> RunRecord | None:
        rows = self._query("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1")
        return _run(rows[0]) if rows else None

    def record_decisions(
        self,
        run_id: int,
        decisions: Sequence[Decision],
        verdicts: Sequence[GuardedChange | None],
        *,
        created_s: float,
    ) -> None:
        """The shadow log: each decision with the guard's verdict on its change, if any."""
        if len(decisions) != len(verdicts):
            raise InvalidRequest(
                f"{len(decisions)} decisions but {len(verdicts)} verdicts; one verdict "
                "(or None) is expected per decision"
            )
        rows = [
            _decision_row(run_id, d, v, created_s) for d, v in zip(decisions, verdicts, strict=True)
        ]
        with self._transaction() as tx:
            tx.executemany(_INSERT_DECISION_SQL, rows)

    def decisions(
        self,
        *,
        short_channel_id: str | None = None,
        since_s: float | None = None,
        limit: int = 100,
    ) -> list[DecisionRecord]:
        """Logged decisions, newest first."""
        rows = self._query(
            "SELECT * FROM decisions WHERE (:scid IS NULL OR short_channel_id = :scid) "
            "AND (:since IS NULL OR created_s >= :since) ORDER BY decision_id DESC LIMIT :limit",
            {"scid": short_channel_id, "since": since_s, "limit": limit},
        )
        return [_decision(row) for row in rows]

    # --- advise queue -----------------------------------------------------------------------

    def queue_proposals(
        self, changes: Sequence[GuardedChange], *, created_s: float
    ) -> list[Proposal]:
        """Queue each applicable change; a still-queued proposal for its channel expires."""
        ids: list[int] = []
        with self._transaction() as tx:
            for guarded in changes:
                if not guarded.applicable or guarded.policy is None:
                    continue
                change = guarded.change
                params = _named(
                    short_channel_id=change.short_channel_id,
                    peer_id=change.peer_id,
                    old_policy=change.old_policy,
                    new_policy=guarded.policy,
                    reasons=(*change.reasons, *guarded.reasons),
                    created_s=created_s,
                    updated_s=created_s,
                    status=ProposalStatus.QUEUED,
                    expired=ProposalStatus.EXPIRED,
                )
                tx.execute(_EXPIRE_PROPOSALS_SQL, params)
                ids.append(_rowid(tx.execute(_INSERT_PROPOSAL_SQL, params)))
        return [p for p in (self.proposal(i) for i in ids) if p is not None]

    def proposals(self, *, status: ProposalStatus | None = ProposalStatus.QUEUED) -> list[Proposal]:
        """Proposals with ``status`` (all when None), oldest first."""
        rows = self._query(
            "SELECT * FROM proposals WHERE (:status IS NULL OR status = :status) "
            "ORDER BY proposal_id",
            {"status": None if status is None else status.value},
        )
        return [_proposal(row) for row in rows]

    def proposal(self, proposal_id: int) -> Proposal | None:
        rows = self._query("SELECT * FROM proposals WHERE proposal_id = ?", (proposal_id,))
        return _proposal(rows[0]) if rows else None

    def set_proposal_status(
        self, proposal_id: int, status: ProposalStatus, *, updated_s: float
    ) -> None:
        """Decide a queued proposal; a proposal already decided is refused (InvalidRequest)."""
        with self._transaction() as tx:
            row = tx.execute(
                "SELECT status FROM proposals WHERE proposal_id = ?", (proposal_id,)
            ).fetchone()
            if row is None:
                raise InvalidRequest(f"no proposal {proposal_id}")
            if row[0] != ProposalStatus.QUEUED.value:
                raise InvalidRequest(f"proposal {proposal_id} is {row[0]}, no longer queued")
            tx.execute(
                "UPDATE proposals SET status = ?, updated_s = ? WHERE proposal_id = ?",
                (status.value, updated_s, proposal_id),
            )

    # --- fee journal ------------------------------------------------------------------------

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
            params = _named(
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
            return _rowid(tx.execute(_INSERT_JOURNAL_SQL, params))

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
            "statuses": None if statuses is None else _sql([s.value for s in statuses]),
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
            return f"b{_rowid(tx.execute('INSERT INTO batches DEFAULT VALUES'))}"

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

    # --- retention and counts ---------------------------------------------------------------

    def prune(self, *, now_s: float) -> int:
        """Delete what is older than ``retention_days``; returns the rows deleted."""
        cutoff = now_s - self.retention_days * DAY_S
        with self._transaction() as tx:
            before = tx.total_changes
            tx.execute("DELETE FROM forwards WHERE event_s < ?", (cutoff,))
            tx.execute("DELETE FROM decisions WHERE created_s < ?", (cutoff,))
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


# --- row conversions --------------------------------------------------------------------------


def _rowid(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:
        raise StoreError("the store did not return the id of a new row")
    return cursor.lastrowid


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


def _run(row: sqlite3.Row) -> RunRecord:
    values = _decoded(row)
    return RunRecord(**values | {"mode": Mode(values["mode"])})


def _decision_row(
    run_id: int, decision: Decision, guarded: GuardedChange | None, created_s: float
) -> dict[str, Any]:
    return _named(
        run_id=run_id,
        created_s=created_s,
        short_channel_id=decision.short_channel_id,
        peer_id=decision.peer_id,
        action=decision.action,
        confidence=decision.confidence,
        reasons=decision.reasons,
        current_policy=decision.current_policy,
        proposed_policy=decision.proposed_policy,
        daily_fee_delta_msat=decision.impact.daily_fee_delta_msat,
        impact_basis=decision.impact.basis,
        verdict=None if guarded is None else guarded.verdict,
        verdict_reasons=() if guarded is None else guarded.reasons,
        guarded_policy=None if guarded is None else guarded.policy,
    )


def _decision(row: sqlite3.Row) -> DecisionRecord:
    values = _decoded(row)
    impact = ExpectedImpact(values.pop("daily_fee_delta_msat"), values.pop("impact_basis"))
    verdict = None if values["verdict"] is None else Verdict(values["verdict"])
    return DecisionRecord(
        **values | {"action": Action(values["action"]), "verdict": verdict, "impact": impact}
    )


def _proposal(row: sqlite3.Row) -> Proposal:
    values = _decoded(row)
    return Proposal(**values | {"status": ProposalStatus(values["status"])})


def _journal_entry(row: sqlite3.Row) -> JournalEntry:
    values = _decoded(row)
    return JournalEntry(**values | {"status": JournalStatus(values["status"])})
