"""When the detectors look: after every run, when a run fails, when the Optimizer leaves a
channel alone, and as forwards are recorded. An :class:`AlertWatch` observes an Optimizer
(see :mod:`lnopt.observer`) and raises what the detectors find."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from lnopt.alerts.dispatch import AlertDispatcher
from lnopt.alerts.draining import HOUR_S, draining_channels
from lnopt.alerts.failures import MINUTE_S, FailureSpikeWatcher, failure_spikes
from lnopt.alerts.faults import breaker_open, scheduler_failure, store_failure
from lnopt.alerts.fees import fee_changed_alert
from lnopt.alerts.offline import offline_peers
from lnopt.backends.base import Backend
from lnopt.config import AlertsConfig
from lnopt.errors import StoreError
from lnopt.executor import BatchResult
from lnopt.model import Alert, Channel, ChannelPolicy, Forward
from lnopt.observer import RunOutcome, Work
from lnopt.store import Store

logger = logging.getLogger(__name__)


class AlertWatch:
    """Runs the detectors on what the Optimizer and the recorder see."""

    def __init__(
        self,
        dispatcher: AlertDispatcher,
        store: Store,
        backend: Backend,
        *,
        config: Callable[[], AlertsConfig],
        clock: Callable[[], float],
    ) -> None:
        self._dispatcher = dispatcher
        self._store = store
        self._backend = backend
        self._config = config
        self._clock = clock
        self._spikes = FailureSpikeWatcher(config, clock=clock)

    # --- the Optimizer's events ------------------------------------------------------------

    def run_finished(self, outcome: RunOutcome) -> None:
        snapshot, config = outcome.snapshot, self._config()
        now_s = float(snapshot.taken_at_s)
        channels = snapshot.channels
        window_s = config.drain_window_hours * HOUR_S
        alerts = [
            *draining_channels(
                channels,
                self._store.observations(since_s=now_s - window_s),
                config,
                now_s=now_s,
            ),
            *offline_peers(channels, self._store.disconnected_since(), config, now_s=now_s),
            *failure_spikes(
                self._store.failed_forwards_out(
                    since_s=now_s - config.failed_window_minutes * MINUTE_S
                ),
                config,
                now_s=now_s,
            ),
        ]
        breaker = self._breaker(now_s)
        if breaker is not None:
            alerts.append(breaker)
        self._dispatcher.raise_alerts(alerts)

    def work_failed(self, what: Work, error: Exception, *, now_s: float) -> None:
        alerts: list[Alert] = []
        breaker = self._breaker(now_s)
        if breaker is not None:
            alerts.append(breaker)
        if isinstance(error, StoreError):
            alerts.append(store_failure(error, what=f"the {what.value}", now_s=now_s))
        else:
            alerts.append(scheduler_failure(what.value, error, now_s=now_s))
        self._dispatcher.raise_alerts(alerts)

    def changes_made(self, result: BatchResult, *, rollback: bool) -> None:
        """Nothing to notice: a change that fails is answered to whoever asked for it."""

    def left_alone(self, channel: Channel, expected: ChannelPolicy, *, now_s: float) -> None:
        self._dispatcher.raise_alerts([fee_changed_alert(channel, expected, now_s=now_s)])

    # --- the recorder's --------------------------------------------------------------------

    def forwards_recorded(self, forwards: Sequence[Forward]) -> None:
        """Count failed forwards as they are recorded (the recorder's writer thread)."""
        found = [alert for f in forwards if (alert := self._spikes.observe(f)) is not None]
        if found:
            self._dispatcher.raise_alerts(found)

    def forwards_dropped(self, error: Exception) -> None:
        """The store would not take a batch of forwards."""
        self._dispatcher.raise_alerts(
            [store_failure(error, what="recording forwards", now_s=self._clock())]
        )

    def _breaker(self, now_s: float) -> Alert | None:
        return breaker_open(self._backend.health(), name=self._backend.name, now_s=now_s)
