"""One actor on a node at a time, across processes.

The plugin, ``lnopt run`` and the one-shot commands (``lnopt apply``, ``approve``, ``rollback``)
may share one store from separate processes. Everything that reads the node and may act on it
(a run, an apply, a recovery) holds a :class:`NodeLock` on a file beside the store: a lock of
this process's threads (reentrant) and an exclusive ``flock`` that other processes wait for, so
one never settles or overwrites a change another is making.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

from lnopt.errors import StoreError


class NodeLock:
    """A reentrant lock shared by this process's threads and, through ``flock`` on ``path``,
    with other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> NodeLock:
        self._threads.acquire()
        try:
            if self._depth == 0:
                self._fd = self._lock_file()
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._threads.release()

    def _lock_file(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd


def lock_path(db_path: Path) -> Path:
    """The lock file of the store at ``db_path``: beside it, ``<name>.lock``."""
    return db_path.with_name(f"{db_path.name}.lock")
