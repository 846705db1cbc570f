"""A running lnopt: the store, the optimizer over it and the scheduler, opened and closed
together. The Core Lightning plugin and the standalone runner both hold one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from lnopt.backends.base import Backend
from lnopt.config import Config
from lnopt.model import Mode
from lnopt.service.node_lock import NodeLock, lock_path
from lnopt.service.optimizer import Optimizer
from lnopt.service.scheduler import Scheduler, SchedulerState
from lnopt.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What a running lnopt is told at start: mode, schedule, configuration and store file."""

    mode: Mode
    interval_s: int
    config: Config
    db_path: Path


class Service:
    """The store, the optimizer and its scheduler for one backend.

    :meth:`open` opens the store (a :class:`~lnopt.errors.StoreError` if it cannot), and gives
    the optimizer a :class:`~lnopt.service.node_lock.NodeLock` beside it, so that processes
    sharing the store act on the node one at a time;
    :meth:`start` starts the scheduler (recovery, backfill, then the scheduled runs);
    :meth:`close` lets a run in progress finish, stops the scheduler and closes the store.
    ``backfill_before_runs`` reads the node's forwarding history again before each scheduled
    run, for a driver that receives no ``forward_event`` notifications.
    """

    def __init__(self, store: Store, optimizer: Optimizer, scheduler: Scheduler) -> None:
        self.store = store
        self.optimizer = optimizer
        self._scheduler = scheduler
        self._started = False
        self._closed = False

    @classmethod
    def open(
        cls, backend: Backend, settings: Settings, *, backfill_before_runs: bool = False
    ) -> Service:
        store = Store(settings.db_path, retention_days=settings.config.store.retention_days)
        optimizer = Optimizer(
            backend,
            store,
            settings.config,
            mode=settings.mode,
            interval_s=settings.interval_s,
            lock=NodeLock(lock_path(settings.db_path)),
        )
        scheduler = Scheduler(optimizer, backfill_before_runs=backfill_before_runs)
        return cls(store, optimizer, scheduler)

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    def scheduler_state(self) -> SchedulerState | None:
        """The scheduler's state; None where this process runs none (a one-shot command)."""
        return self._scheduler.state() if self._started else None

    def start(self) -> None:
        self._scheduler.start()
        self._started = True

    def close(self, timeout_s: float | None = None) -> None:
        """Stop the scheduler (waiting up to ``timeout_s`` for a run in progress, for ever when
        None) and close the store; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._scheduler.stop(timeout_s)
        self.store.close()
        logger.info("event=store_closed db=%s", self.store.path)
