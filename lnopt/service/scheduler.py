"""The optimizer's background work: recovery, backfill, then runs on the schedule."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lnopt.errors import LnoptError
from lnopt.service.optimizer import Optimizer

logger = logging.getLogger(__name__)

RETRY_S = 60  # least time between two attempts of a scheduled run, and after a failure
LONGEST_WAIT_S = 3600  # the schedule is looked at again at least this often


@dataclass(frozen=True)
class SchedulerState:
    """What ``lnopt-status`` shows of the background thread."""

    alive: bool
    next_run_s: float | None  # None: scheduled runs are off (or the thread has ended)
    last_error: str | None
    last_error_s: float | None
    failures: int


class Scheduler:
    """The optimizer's background work, in one daemon thread.

    On start it recovers open journal entries, then backfills forwarding history, then calls
    :meth:`Optimizer.run_once` whenever a run is due: one interval after the last recorded run
    (a failed run is recorded too), and at most once a minute if a run cannot even be recorded.
    :meth:`wake` makes it look at the schedule again at once (after the interval changed).

    Nothing ends the thread but :meth:`stop`: any failure, of a run or of the schedule itself,
    is logged with its traceback, kept for :meth:`state` and retried a minute later.
    """

    def __init__(self, optimizer: Optimizer, *, clock: Callable[[], float] = time.time) -> None:
        self._optimizer = optimizer
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._not_before_s = 0.0
        self._state_lock = threading.Lock()
        self._last_error: str | None = None
        self._last_error_s: float | None = None
        self._failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lnopt-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def state(self) -> SchedulerState:
        """Whether the thread runs, when the next run starts (never before now while it runs)
        and the last failure."""
        alive = self._thread is not None and self._thread.is_alive() and not self._stop.is_set()
        next_run_s: float | None = None
        if alive:
            due_s = self._optimizer.next_run_s()
            if due_s is not None:
                next_run_s = max(due_s, self._not_before_s, self._clock())
        with self._state_lock:
            return SchedulerState(
                alive, next_run_s, self._last_error, self._last_error_s, self._failures
            )

    def _loop(self) -> None:
        self._attempt("recovery", self._optimizer.recover)
        self._attempt("backfill", self._optimizer.backfill)
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:
                self._failed("schedule", exc)
                self._wake.wait(RETRY_S)
                self._wake.clear()

    def _step(self) -> None:
        due_s = self._optimizer.next_run_s()
        now = self._clock()
        if due_s is None or max(due_s, self._not_before_s) > now:
            wait_s = None if due_s is None else max(due_s, self._not_before_s) - now
            self._wake.wait(None if wait_s is None else min(wait_s, LONGEST_WAIT_S))
            self._wake.clear()
            return
        self._not_before_s = now + min(self._optimizer.interval_s, RETRY_S)
        self._attempt("scheduled run", self._optimizer.run_once)

    def _attempt(self, what: str, work: Callable[[], object]) -> None:
        if self._stop.is_set():
            return
        try:
            work()
        except Exception as exc:
            self._failed(what, exc)

    def _failed(self, what: str, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, LnoptError):
            logger.warning("event=background_failed work=%r error=%r", what, message)
        else:
            logger.exception("event=background_failed work=%r (unexpected)", what)
            message = f"{type(exc).__name__}: {message}"
        with self._state_lock:
            self._last_error = f"{what}: {message}"
            self._last_error_s = self._clock()
            self._failures += 1
