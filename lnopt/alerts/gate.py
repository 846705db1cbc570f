"""Which alerts are delivered: the same alert (kind and subject) at most once per
``dedup_minutes``, and at most ``max_per_hour`` alerts in any hour. Pure and deterministic:
the caller says when."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from lnopt.model import Alert, AlertKind

HOUR_S = 3600
MINUTE_S = 60


class AlertGate:
    """Remembers what it let through, to refuse repeats and floods."""

    def __init__(self, *, dedup_minutes: int, max_per_hour: int) -> None:
        self.dedup_minutes = dedup_minutes
        self.max_per_hour = max_per_hour
        self._last: dict[tuple[AlertKind, str], float] = {}
        self._hour: deque[float] = deque()

    def seed(self, delivered: Iterable[Alert]) -> None:
        """Remember alerts delivered before (e.g. read back from the store at start-up)."""
        for alert in sorted(delivered, key=lambda a: a.raised_s):
            self._remember(alert)

    def admit(self, alert: Alert) -> str | None:
        """None when ``alert`` may be delivered now (and it is remembered), else why not."""
        now_s = alert.raised_s
        last_s = self._last.get(alert.key)
        if last_s is not None and now_s - last_s < self.dedup_minutes * MINUTE_S:
            return f"the same alert was delivered {now_s - last_s:.0f} s ago"
        while self._hour and now_s - self._hour[0] >= HOUR_S:
            self._hour.popleft()
        if len(self._hour) >= self.max_per_hour:
            return f"{len(self._hour)} alerts in the last hour (alerts.max_per_hour)"
        self._remember(alert)
        return None

    def _remember(self, alert: Alert) -> None:
        self._last[alert.key] = alert.raised_s
        self._hour.append(alert.raised_s)
        if len(self._last) > 10_000:
            oldest = min(self._last, key=self._last.__getitem__)
            del self._last[oldest]
