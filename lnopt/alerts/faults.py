"""lnopt's own faults: a backend's circuit breaker open, the store failing, the scheduler's
work (a run, recovery or backfill) failing.

A REST backend reports its circuit breaker through ``Backend.health()``; other backends
answer None.
"""

from __future__ import annotations

from lnopt.backends.http import BreakerState, BreakerStatus
from lnopt.model import Alert, AlertKind


def breaker_open(status: BreakerStatus | None, *, name: str, now_s: float) -> Alert | None:
    """The alert for a backend whose breaker is open (``Backend.health()``); None for a closed
    or half-open breaker, or a backend without one."""
    if status is None or status.state is not BreakerState.OPEN:
        return None
    last = f" (last: {status.last_error})" if status.last_error else ""
    return Alert(
        kind=AlertKind.BREAKER_OPEN,
        subject=name,
        raised_s=now_s,
        message=(
            f"backend {name}: its circuit breaker is open after "
            f"{status.consecutive_failures} failures in a row{last}; calls to the node are "
            "refused until it closes"
        ),
        details={"backend": name, "failures": status.consecutive_failures},
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
