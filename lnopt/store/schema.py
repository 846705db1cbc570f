"""The store's SQLite connection: opening it (WAL), transactions, reads and the schema.

Schema versions are numbered migrations (:data:`MIGRATIONS`), each a function with a docstring;
the ``schema_version`` table records which ran. Opening an older file migrates it; a file
written by a newer lnopt is refused with :class:`~lnopt.errors.StoreError`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lnopt.errors import InvalidRequest, StoreError

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0


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


def _migration_3(conn: sqlite3.Connection) -> None:
    """Backfill cursors: where the next read of a backend's forwarding history starts, as the
    backend last gave it (an opaque position, kept as decimal text: it may not fit in 64 bits).
    A file from before starts without one, and its first backfill reads the whole history."""
    conn.execute("CREATE TABLE cursors (name TEXT PRIMARY KEY, position TEXT NOT NULL)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
)

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


PRIVATE_MODE = 0o600
STORE_SUFFIXES = ("", "-wal", "-shm")  # the database, its write-ahead log and shared memory


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner alone, whatever the umask (SQLite gives
    its -wal and -shm files the database file's mode)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE))


def _narrow_modes(path: Path) -> None:
    """Make the store's files owner-only where an earlier lnopt or a copy left them wider."""
    for suffix in STORE_SUFFIXES:
        part = path.with_name(path.name + suffix)
        if not part.exists():
            continue
        mode = stat.S_IMODE(part.stat().st_mode)
        if mode & ~PRIVATE_MODE:
            part.chmod(PRIVATE_MODE)
            logger.warning(
                "event=store_mode_narrowed path=%s old_mode=%o new_mode=%o",
                part,
                mode,
                PRIVATE_MODE,
            )


class StoreBase:
    """The store's connection, its transactions and its schema; the groups of tables build
    on it (see :mod:`lnopt.store`)."""

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
            _create_private(self.path)
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
            _narrow_modes(self.path)
        except (OSError, ValueError, sqlite3.Error) as exc:  # ValueError: a NUL in the path
            self.close()
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        except StoreError:
            self.close()
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {self.path} is closed")
        return self._conn

    @contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error;
        ``durable``: on disk when it returns (see :mod:`lnopt.store`)."""
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
