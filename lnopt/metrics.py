"""Prometheus metrics, opt-in: what lnopt saw, decided and did, in a registry of its own.

:class:`LnoptMetrics` observes an Optimizer (see :mod:`lnopt.observer`), counts the
alerts delivered (it is an alert sink), reads the forward recorder's counters when scraped,
and serves ``/metrics`` over HTTP on the address and port it is given (``127.0.0.1`` unless
told otherwise). :data:`METRICS` names every metric it exports and its labels.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from lnopt.errors import ConfigError
from lnopt.executor import BatchResult
from lnopt.model import Action, Alert, AlertKind, Channel, ChannelPolicy, Verdict
from lnopt.observer import RunOutcome, Work
from lnopt.store import JournalStatus

logger = logging.getLogger(__name__)

CHANNEL = ("short_channel_id",)

# name as exposed -> labels
METRICS: dict[str, tuple[str, ...]] = {
    "lnopt_channel_score": CHANNEL,
    "lnopt_channel_fee_ppm": CHANNEL,
    "lnopt_channel_local_ratio": CHANNEL,
    "lnopt_channel_forwards_7d": CHANNEL,
    "lnopt_channel_fees_earned_7d_msat": CHANNEL,
    "lnopt_decisions_total": ("action",),
    "lnopt_guard_verdicts_total": ("verdict",),
    "lnopt_runs_total": ("result",),
    "lnopt_run_duration_seconds": (),
    "lnopt_applies_total": (),
    "lnopt_apply_failures_total": (),
    "lnopt_rollbacks_total": (),
    "lnopt_forward_events_total": ("result",),
    "lnopt_alerts_total": ("kind",),
}


class RecorderCounts(Protocol):
    """The forward recorder's counters (see :class:`lnopt.recorder.ForwardRecorder`)."""

    @property
    def written(self) -> int: ...

    @property
    def ignored(self) -> int: ...

    @property
    def dropped(self) -> int: ...


class _RecorderCollector(Collector):
    def __init__(self, recorder: RecorderCounts) -> None:
        self._recorder = recorder

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "lnopt_forward_events",
            "forward events: recorded in the store, ignored as unreadable, dropped by a failing "
            "store",
            labels=["result"],
        )
        family.add_metric(["recorded"], self._recorder.written)
        family.add_metric(["ignored"], self._recorder.ignored)
        family.add_metric(["dropped"], self._recorder.dropped)
        yield family


class LnoptMetrics:
    """lnopt's metrics and, once :meth:`serve` is called, their HTTP endpoint."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._score = Gauge("lnopt_channel_score", "channel score in [0, 1]", CHANNEL, registry=r)
        self._fee = Gauge("lnopt_channel_fee_ppm", "our fee rate (ppm)", CHANNEL, registry=r)
        self._local = Gauge(
            "lnopt_channel_local_ratio", "share of the capacity on our side", CHANNEL, registry=r
        )
        self._forwards = Gauge(
            "lnopt_channel_forwards_7d", "settled forwards out, last 7 days", CHANNEL, registry=r
        )
        self._fees = Gauge(
            "lnopt_channel_fees_earned_7d_msat",
            "fees earned by forwards out, last 7 days (msat)",
            CHANNEL,
            registry=r,
        )
        self._decisions = Counter("lnopt_decisions", "decisions by action", ["action"], registry=r)
        self._verdicts = Counter(
            "lnopt_guard_verdicts", "guard verdicts on proposed changes", ["verdict"], registry=r
        )
        self._runs = Counter("lnopt_runs", "runs by result (ok, failed)", ["result"], registry=r)
        self._duration = Histogram(
            "lnopt_run_duration_seconds",
            "how long a run took",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self._applies = Counter("lnopt_applies", "fee changes made and verified", registry=r)
        self._failures = Counter("lnopt_apply_failures", "fee changes that failed", registry=r)
        self._rollbacks = Counter("lnopt_rollbacks", "changes rolled back", registry=r)
        self._alerts = Counter("lnopt_alerts", "alerts delivered by kind", ["kind"], registry=r)
        for action in Action:
            self._decisions.labels(action.value)
        for verdict in Verdict:
            self._verdicts.labels(verdict.value)
        for result in ("ok", "failed"):
            self._runs.labels(result)
        for kind in AlertKind:
            self._alerts.labels(kind.value)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def watch_recorder(self, recorder: RecorderCounts) -> None:
        self.registry.register(_RecorderCollector(recorder))

    # --- the endpoint ------------------------------------------------------------------------

    def serve(self, *, port: int, address: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``address:port`` (0 picks a free port); the port served."""
        try:
            self._server, self._thread = start_http_server(
                port, addr=address, registry=self.registry
            )
        except OSError as exc:
            raise ConfigError(
                f"lnopt-metrics-port: cannot serve metrics on {address}:{port}: {exc.strerror}"
            ) from exc
        served = int(self._server.server_port)
        logger.info("event=metrics_served address=%s port=%d", address, served)
        return served

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- what it observes --------------------------------------------------------------------

    def deliver(self, alert: Alert) -> None:
        self._alerts.labels(alert.kind.value).inc()

    def run_finished(self, outcome: RunOutcome) -> None:
        self._runs.labels("ok").inc()
        self._duration.observe(outcome.duration_s)
        for decision in outcome.decisions:
            self._decisions.labels(decision.action.value).inc()
        for guarded in outcome.guarded:
            if guarded is not None:
                self._verdicts.labels(guarded.verdict.value).inc()
        snapshot = outcome.snapshot
        scores = {score.short_channel_id: score.score for score in outcome.scores}
        for gauge in (self._score, self._fee, self._local, self._forwards, self._fees):
            gauge.clear()
        for channel in snapshot.channels:
            scid = channel.short_channel_id
            week = snapshot.activity_of(scid).last_7d
            if scid in scores:
                self._score.labels(scid).set(scores[scid])
            self._fee.labels(scid).set(channel.our_policy.fee_ppm)
            if channel.balance_known:
                self._local.labels(scid).set(channel.local_ratio)
            self._forwards.labels(scid).set(week.forwards_out)
            self._fees.labels(scid).set(week.fees_earned_msat)

    def work_failed(self, what: Work, error: Exception, *, now_s: float) -> None:
        if what is Work.RUN:
            self._runs.labels("failed").inc()

    def changes_made(self, result: BatchResult, *, rollback: bool) -> None:
        for outcome in result.outcomes:
            if outcome.status is JournalStatus.DONE:
                (self._rollbacks if rollback else self._applies).inc()
            elif outcome.status is JournalStatus.FAILED:
                self._failures.inc()

    def left_alone(self, channel: Channel, expected: ChannelPolicy, *, now_s: float) -> None:
        """Counted with the alert it raises."""
