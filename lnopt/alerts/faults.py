"""lnopt's own faults: a backend's circuit breaker open, the store failing, the scheduler's
work (a run, recovery or backfill) failing.

A backend may report its health (``Backend.health()``): None when it has nothing to say, or a
:class:`BreakerStatus`. Anything else it returns is ignored.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lnopt.model import Alert, AlertKind


@runtime_checkable
class BreakerStatus(Protocol):
    """A backend's circuit breaker: open while calls to the node are refused without trying."""

    @property
    def open(self) -> bool: ...


@runtime_checkable
class ReportsHealth(Protocol):
    def health(self) -> object: ...


def breaker_open(backend: object, *, name: str, now_s: float) -> Alert | None:
    """The alert for a backend whose breaker is open; None for a closed breaker, a backend
    that reports no health, or one whose report cannot be read."""
    if not isinstance(backend, ReportsHealth):
        return None
    status = backend.health()
    if not isinstance(status, BreakerStatus) or status.open is not True:
        return None
    reason = getattr(status, "reason", None)
    because = f": {reason}" if isinstance(reason, str) and reason else ""
    return Alert(
        kind=AlertKind.BREAKER_OPEN,
        subject=name,
        raised_s=now_s,
        message=(
            f"backend {name}: its circuit breaker is open, calls to the node are refused "
            f"until it closes{because}"
        ),
        details={"backend": name},
    )


def store_failure(error: Exception, *, what: str, now_s: float) -> Alert:
    return Alert(
        kind=AlertKind.STORE_FAILURE,
        subject="store",
        raised_s=now_s,
        message=f"the store failed while {what}: {error}",
        details={"while": what},
    )


def scheduler_failure(what: str, error: Exception, *, now_s: float) -> Alert:
    """The scheduler's ``what`` (a run, recovery or backfill) failed."""
    return Alert(
        kind=AlertKind.SCHEDULER_FAILURE,
        subject=what,
        raised_s=now_s,
        message=f"the {what} failed: {type(error).__name__}: {error}",
        details={"work": what, "error": type(error).__name__},
    )
