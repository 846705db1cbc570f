"""What the Optimizer tells those who watch it (alerts, metrics): each run's outcome, its
background work failing (a run, recovery or backfill), the fee changes it made or rolled back,
and a channel it now leaves alone.

:class:`Observers` hands each event to every observer and never raises: an observer that
fails is logged, and the run goes on as if nothing had watched it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Protocol

from lnopt.executor import BatchResult
from lnopt.model import (
    Channel,
    ChannelPolicy,
    ChannelScore,
    Decision,
    GuardedChange,
    Mode,
)
from lnopt.snapshot import NodeSnapshot

logger = logging.getLogger(__name__)


class Work(enum.Enum):
    """The Optimizer's work that the scheduler does in the background."""

    RUN = "run"
    RECOVERY = "recovery"
    BACKFILL = "backfill"


@dataclass(frozen=True)
class RunOutcome:
    """One finished run: what it saw, decided and changed, and how long it took."""

    mode: Mode
    snapshot: NodeSnapshot
    scores: tuple[ChannelScore, ...]
    decisions: tuple[Decision, ...]
    guarded: tuple[GuardedChange | None, ...]  # aligned with decisions
    duration_s: float
    applied: BatchResult | None  # the changes made in auto mode


class ServiceObserver(Protocol):
    def run_finished(self, outcome: RunOutcome) -> None: ...

    def work_failed(self, what: Work, error: Exception, *, now_s: float) -> None: ...

    def changes_made(self, result: BatchResult, *, rollback: bool) -> None: ...

    def left_alone(self, channel: Channel, expected: ChannelPolicy, *, now_s: float) -> None: ...


class Observers:
    """Every observer of one Optimizer."""

    def __init__(self) -> None:
        self._observers: list[ServiceObserver] = []

    def add(self, observer: ServiceObserver) -> None:
        self._observers.append(observer)

    def run_finished(self, outcome: RunOutcome) -> None:
        for observer in self._observers:
            self._safely(observer, lambda o: o.run_finished(outcome))

    def work_failed(self, what: Work, error: Exception, *, now_s: float) -> None:
        for observer in self._observers:
            self._safely(observer, lambda o: o.work_failed(what, error, now_s=now_s))

    def changes_made(self, result: BatchResult, *, rollback: bool) -> None:
        if result.dryrun:
            return
        for observer in self._observers:
            self._safely(observer, lambda o: o.changes_made(result, rollback=rollback))

    def left_alone(self, channel: Channel, expected: ChannelPolicy, *, now_s: float) -> None:
        for observer in self._observers:
            self._safely(observer, lambda o: o.left_alone(channel, expected, now_s=now_s))

    @staticmethod
    def _safely(observer: ServiceObserver, event: _Event) -> None:
        try:
            event(observer)
        except Exception:
            logger.exception("event=observer_failed observer=%s", type(observer).__name__)


class _Event(Protocol):
    def __call__(self, observer: ServiceObserver, /) -> None: ...
