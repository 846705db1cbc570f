"""Raising alerts: through the gate (no repeats, no floods), into the store, out to the sinks.

:meth:`AlertDispatcher.raise_alerts` never raises: an alert the store cannot keep is still
delivered, a sink that fails is logged and the others still get it. Thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from lnopt.alerts.delivery import AlertSink
from lnopt.alerts.gate import HOUR_S, MINUTE_S, AlertGate
from lnopt.config import AlertsConfig
from lnopt.errors import LnoptError
from lnopt.model import Alert
from lnopt.store import Store

logger = logging.getLogger(__name__)


class AlertDispatcher:
    """Decides which alerts are delivered, keeps them, and hands them to every sink."""

    def __init__(
        self,
        store: Store,
        sinks: Sequence[AlertSink],
        *,
        config: Callable[[], AlertsConfig],
        now_s: float,
    ) -> None:
        self._store = store
        self._sinks = tuple(sinks)
        self._config = config
        self._lock = threading.Lock()
        settings = config()
        self._gate = AlertGate(
            dedup_minutes=settings.dedup_minutes, max_per_hour=settings.max_per_hour
        )
        since_s = now_s - max(settings.dedup_minutes * MINUTE_S, HOUR_S)
        try:
            self._gate.seed(record.alert for record in store.alerts(limit=10_000, since_s=since_s))
        except LnoptError as exc:
            logger.warning("event=alerts_not_read error=%r", str(exc))

    def raise_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Deliver each alert the gate admits; returns those delivered."""
        delivered = []
        for alert in alerts:
            with self._lock:
                settings = self._config()
                self._gate.dedup_minutes = settings.dedup_minutes
                self._gate.max_per_hour = settings.max_per_hour
                refusal = self._gate.admit(alert)
            if refusal is not None:
                logger.debug("event=alert_held kind=%s reason=%r", alert.kind.value, refusal)
                continue
            self._keep(alert)
            for sink in self._sinks:
                try:
                    sink.deliver(alert)
                except Exception:
                    logger.exception("event=alert_sink_failed sink=%s", type(sink).__name__)
            delivered.append(alert)
        return delivered

    def _keep(self, alert: Alert) -> None:
        try:
            self._store.record_alert(alert)
        except LnoptError as exc:
            logger.error("event=alert_not_kept kind=%s error=%r", alert.kind.value, str(exc))
