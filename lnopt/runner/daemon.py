"""``lnopt run``: the long-running runner.

It opens the :class:`~lnopt.service.Service` for the configured backend and lets its scheduler
work: recovery of open journal entries, a backfill of the node's forwards, then a run on the
schedule (each preceded by a backfill, as no ``forward_event`` reaches a standalone runner).
Alerts go to the log and, if configured, a webhook; metrics to their endpoint if asked for.
SIGTERM and SIGINT stop it cleanly: a run in progress finishes, no new one starts, the store
is closed and the process ends with status 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from lnopt.backends.factory import build_backend
from lnopt.operations import Operations
from lnopt.runner.settings import RunnerSettings
from lnopt.service import Service

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
POLL_S = 0.5  # how often the main thread looks whether a stop signal arrived


class StopSignal:
    """Records the first stop signal; installed before anything is opened."""

    def __init__(self) -> None:
        self._received = threading.Event()
        self.name: str | None = None

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.name is None:
            self.name = signal.Signals(signum).name
        self._received.set()

    def received(self) -> bool:
        return self._received.is_set()

    def wait(self) -> None:
        while not self._received.wait(POLL_S):
            pass


def run(settings: RunnerSettings) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status (0). The signals are caught from
    the moment the backend is built (its credentials read) and before the store is opened."""
    service_settings = settings.service
    backend = build_backend(
        settings.node, settings.vault, graph_refresh_s=service_settings.config.graph.refresh_s
    )
    stop = StopSignal()
    stop.install()
    service = Service.open(backend, service_settings, backfill_before_runs=True)
    operations: Operations | None = None
    try:
        # alerts go to the log and the webhook; metrics to their endpoint, when asked for
        operations = Operations(service.optimizer, service.store, settings.operations, notify=None)
        logger.info(
            "event=started backend=%s mode=%s interval_s=%d db=%s",
            settings.backend.value,
            service_settings.mode.value,
            service_settings.interval_s,
            service_settings.db_path,
        )
        if not stop.received():
            service.start()
            stop.wait()
        logger.info("event=stopping signal=%s", stop.name)
    finally:
        if operations is not None:
            operations.close()
        service.close()
    logger.info("event=stopped signal=%s exit=0", stop.name)
    return 0
