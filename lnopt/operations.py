"""Alerts and metrics for a running lnopt: the alert sinks, the dispatcher and the watch that
observes the Optimizer and the forward recorder, and the metrics endpoint when asked for."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lnopt.alerts.delivery import AlertSink, LogSink, NotificationSink, WebhookSink
from lnopt.alerts.dispatch import AlertDispatcher
from lnopt.alerts.watch import AlertWatch
from lnopt.config import AlertsConfig
from lnopt.errors import LnoptError
from lnopt.metrics import LnoptMetrics, RecorderCounts
from lnopt.service import Optimizer
from lnopt.store import Store

METRICS_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class OperationsSettings:
    """Where alerts and metrics go, read once at init (the hourly cap is dynamic)."""

    webhook_url: str | None
    max_alerts_per_hour: int | None  # None: alerts.max_per_hour of the YAML file
    metrics_port: int  # 0: no metrics
    metrics_address: str


class Operations:
    """What an operator watches lnopt with; :meth:`close` ends its threads."""

    def __init__(
        self,
        optimizer: Optimizer,
        store: Store,
        settings: OperationsSettings,
        *,
        notify: Callable[[str, dict[str, Any]], None] | None,
        log: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        def alerts_config() -> AlertsConfig:
            return optimizer.config.alerts

        sinks: list[AlertSink] = [LogSink(log)]
        if notify is not None:
            sinks.append(NotificationSink(notify))
        self.webhook: WebhookSink | None = None
        if settings.webhook_url is not None:
            self.webhook = WebhookSink(
                settings.webhook_url,
                attempts=lambda: optimizer.config.alerts.webhook_attempts,
                timeout_s=lambda: float(optimizer.config.alerts.webhook_timeout_s),
            )
            sinks.append(self.webhook)
        self.metrics: LnoptMetrics | None = None
        self.metrics_port: int | None = None
        if settings.metrics_port:
            self.metrics = LnoptMetrics()
            sinks.append(self.metrics)
        dispatcher = AlertDispatcher(store, sinks, config=alerts_config, now_s=clock())
        self.watch = AlertWatch(
            dispatcher,
            store,
            optimizer.backend,
            config=alerts_config,
            clock=clock,
        )
        optimizer.add_observer(self.watch)
        if self.metrics is not None:
            optimizer.add_observer(self.metrics)
            try:
                self.metrics_port = self.metrics.serve(
                    port=settings.metrics_port, address=settings.metrics_address
                )
            except LnoptError:
                self.close()
                raise

    def watch_recorder(self, recorder: RecorderCounts) -> None:
        if self.metrics is not None:
            self.metrics.watch_recorder(recorder)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()
        if self.metrics is not None:
            self.metrics.close()
