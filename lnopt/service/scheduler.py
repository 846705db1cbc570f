"""The optimizer's background work: recovery, backfill, then runs on the schedule."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from lnopt.errors import LnoptError
from lnopt.service.optimizer import Optimizer

logger = logging.getLogger(__name__)

RETRY_S = 60  # least time between two attempts of a scheduled run


class Scheduler:
    """The optimizer's background work, in one daemon thread.

    On start it recovers open journal entries, then backfills forwarding history, then calls
    :meth:`Optimizer.run_once` whenever a run is due: one interval after the last recorded run
    (a failed run is recorded too), and at most once a minute if a run cannot even be recorded.
    :meth:`wake` makes it look at the schedule again at once (after the interval changed).
    With ``backfill_before_runs`` every scheduled run is preceded by a backfill, for a driver
    that receives no ``forward_event`` notifications (the standalone runner).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        *,
        clock: Callable[[], float] = time.time,
        backfill_before_runs: bool = False,
    ) -> None:
        self._optimizer = optimizer
        self._backfill_before_runs = backfill_before_runs
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._not_before_s = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lnopt-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float | None = 5.0) -> None:
        """Stop after the work in progress (waiting up to ``timeout_s``; None: until it ends)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        self._attempt("recovery", self._optimizer.recover)
        self._attempt("backfill", self._optimizer.backfill)
        while not self._stop.is_set():
            due_s = self._optimizer.next_run_s()
            now = self._clock()
            if due_s is None or max(due_s, self._not_before_s) > now:
                wait_s = None if due_s is None else max(due_s, self._not_before_s) - now
                self._wake.wait(wait_s)
                self._wake.clear()
                continue
            self._not_before_s = now + min(self._optimizer.interval_s, RETRY_S)
            if self._backfill_before_runs:
                self._attempt("backfill", self._optimizer.backfill)
            self._attempt("scheduled run", self._optimizer.run_once)

    def _attempt(self, what: str, work: Callable[[], object]) -> None:
        if self._stop.is_set():
            return
        try:
            work()
        except LnoptError as exc:
            logger.warning("event=background_failed work=%r error=%r", what, str(exc))
        except Exception:
            logger.exception("event=background_failed work=%r (unexpected)", what)
