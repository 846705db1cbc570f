"""Where alerts go: the node's log (at ``warn``), a Core Lightning custom notification
(``lnopt_alert``) and, when configured, a webhook that receives each alert as JSON.

A sink's :meth:`~AlertSink.deliver` returns at once: the webhook posts from its own thread,
through a bounded queue (an alert that finds it full is dropped and logged), with at most
``attempts`` tries of ``timeout_s`` each. The webhook URL may hold a token: it is never
logged.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from lnopt.model import Alert

logger = logging.getLogger(__name__)

NOTIFICATION_TOPIC = "lnopt_alert"
WEBHOOK_QUEUE = 100
RETRY_DELAY_S = 0.5


class AlertSink(Protocol):
    def deliver(self, alert: Alert) -> None: ...


class LogSink:
    """One ``warn`` line per alert in the node's log: through ``write(line, "warn")`` where
    given (a Core Lightning plugin's ``log``: pyln-client's logging handler would pass a
    Python warning on at ``info``), else as a warning of this module's logger."""

    def __init__(self, write: Callable[[str, str], None] | None = None) -> None:
        self._write = write

    def deliver(self, alert: Alert) -> None:
        line = (
            f"event=alert kind={alert.kind.value} subject={alert.subject} message={alert.message!r}"
        )
        if self._write is not None:
            self._write(f"{__name__}: {line}", "warn")
        else:
            logger.warning("%s", line)


class NotificationSink:
    """A custom notification ``lnopt_alert`` whose payload is ``{"lnopt_alert": alert}``."""

    def __init__(self, notify: Callable[[str, dict[str, Any]], None]) -> None:
        self._notify = notify

    def deliver(self, alert: Alert) -> None:
        self._notify(NOTIFICATION_TOPIC, {NOTIFICATION_TOPIC: alert.as_json()})


class WebhookSink:
    """POSTs each alert as JSON to ``url`` from its own thread, retrying failures."""

    def __init__(
        self,
        url: str,
        *,
        attempts: Callable[[], int],
        timeout_s: Callable[[], float],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._transport = transport
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=WEBHOOK_QUEUE)
        self.posted = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="lnopt-webhook", daemon=True)
        self._thread.start()

    def deliver(self, alert: Alert) -> None:
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.failed += 1
            logger.warning("event=webhook_dropped kind=%s reason=queue_full", alert.kind.value)

    def close(self, timeout_s: float = 5.0) -> None:
        """Post what is queued (within ``timeout_s``), then end the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _run(self) -> None:
        with httpx.Client(transport=self._transport, follow_redirects=False) as client:
            while (alert := self._queue.get()) is not None:
                self._post(client, alert)

    def _post(self, client: httpx.Client, alert: Alert) -> None:
        attempts = max(1, self._attempts())
        for attempt in range(1, attempts + 1):
            try:
                response = client.post(self._url, json=alert.as_json(), timeout=self._timeout_s())
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                if response.is_success:
                    self.posted += 1
                    return
                problem = f"HTTP {response.status_code}"
            logger.info(
                "event=webhook_failed kind=%s attempt=%d of=%d problem=%s",
                alert.kind.value,
                attempt,
                attempts,
                problem,
            )
            if attempt < attempts:
                time.sleep(RETRY_DELAY_S * attempt)
        self.failed += 1
        logger.warning("event=webhook_given_up kind=%s attempts=%d", alert.kind.value, attempts)
