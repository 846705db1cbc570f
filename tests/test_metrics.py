"""Prometheus metrics scraped from the real endpoint over loopback and read with
prometheus-client's parser, after real runs of an Optimizer over an in-memory node; and the
Grafana dashboard asks only for metrics that are exported."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lnopt.config import default_config
from lnopt.errors import BackendUnavailable, ConfigError
from lnopt.metrics import METRICS, LnoptMetrics
from lnopt.model import Alert, AlertKind, Mode
from lnopt.recorder import ForwardRecorder
from lnopt.service import Optimizer
from lnopt.store import Store
from tests.factories import channel
from tests.memory_backend import MemoryBackend
from tests.test_alert_detectors import failed
from tests.test_service import competitors

T0 = 1_760_000_000.0
DASHBOARD = Path(__file__).resolve().parents[1] / "contrib" / "grafana" / "lnopt.json"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


class Clock:
    now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Optimizer, MemoryBackend, LnoptMetrics, Store, int]]:
    """Three idle channels at 400 ppm (lowered in auto mode) and two balanced at the market."""
    channels = [channel(n, local_ratio=0.92, fee_ppm=400) for n in (1, 2, 3)]
    channels += [channel(n, local_ratio=0.5, fee_ppm=100) for n in (4, 5)]
    backend = MemoryBackend(channels, extra_gossip=competitors(channels))
    store = Store(tmp_path / "lnopt.sqlite3")
    optimizer = Optimizer(backend, store, default_config(), mode=Mode.AUTO, clock=Clock())
    metrics = LnoptMetrics()
    optimizer.add_observer(metrics)
    port = metrics.serve(port=0)
    yield optimizer, backend, metrics, store, port
    metrics.close()
    store.close()


def test_a_scrape_shows_each_channel_and_what_the_runs_did(
    served: tuple[Optimizer, MemoryBackend, LnoptMetrics, Store, int],
) -> None:
    optimizer, backend, metrics, store, port = served
    recorder = ForwardRecorder(store)
    metrics.watch_recorder(recorder)
    before = {scid: policy.fee_ppm for scid, policy in backend.policies.items()}

    # Given an auto run that lowered three fees, a rollback of one, a failed run, and events
    run = optimizer.run_once()
    optimizer.rollback(channel(1).short_channel_id, dryrun=False)
    backend.unavailable = True
    with pytest.raises(BackendUnavailable):
        optimizer.run_once()
    for n in range(4):
        recorder.submit(failed(n, T0))
    recorder.submit_event({"not": "a forward"})
    recorder.flush()
    metrics.deliver(Alert(kind=AlertKind.PEER_OFFLINE, subject="p", message="m", raised_s=T0))

    # When Prometheus scrapes the endpoint
    samples = scrape(port)

    # Then each channel's gauges are as the run saw them
    for n in range(1, 6):
        scid = channel(n).short_channel_id
        assert value(samples, "lnopt_channel_fee_ppm", short_channel_id=scid) == before[scid]
        assert 0 <= value(samples, "lnopt_channel_score", short_channel_id=scid) <= 1
        ratio = value(samples, "lnopt_channel_local_ratio", short_channel_id=scid)
        assert ratio == pytest.approx(0.92 if n <= 3 else 0.5)
        assert value(samples, "lnopt_channel_forwards_7d", short_channel_id=scid) == 0
        assert value(samples, "lnopt_channel_fees_earned_7d_msat", short_channel_id=scid) == 0
    # and the counters count what happened
    decisions = sum(v for (name, _), v in samples.items() if name == "lnopt_decisions_total")
    assert decisions == run.decisions == 5
    assert value(samples, "lnopt_decisions_total", action="lower_fees") == 3
    assert value(samples, "lnopt_guard_verdicts_total", verdict="approved") == 3
    assert value(samples, "lnopt_applies_total") == run.changes == 3
    assert value(samples, "lnopt_rollbacks_total") == 1
    assert value(samples, "lnopt_apply_failures_total") == 0
    assert value(samples, "lnopt_runs_total", result="ok") == 1
    assert value(samples, "lnopt_runs_total", result="failed") == 1
    assert value(samples, "lnopt_run_duration_seconds_count") == 1
    assert value(samples, "lnopt_forward_events_total", result="recorded") == 4
    assert value(samples, "lnopt_forward_events_total", result="ignored") == 1
    assert value(samples, "lnopt_alerts_total", kind="peer_offline") == 1
    assert value(samples, "lnopt_alerts_total", kind="store_failure") == 0


def test_the_endpoint_listens_on_loopback_only_by_default(
    served: tuple[Optimizer, MemoryBackend, LnoptMetrics, Store, int],
) -> None:
    metrics = served[2]
    assert metrics._server is not None
    assert metrics._server.server_address[0] == "127.0.0.1"


def test_a_port_already_taken_is_refused_with_the_option_named(
    served: tuple[Optimizer, MemoryBackend, LnoptMetrics, Store, int],
) -> None:
    with pytest.raises(ConfigError, match="lnopt-metrics-port: cannot serve metrics on"):
        LnoptMetrics().serve(port=served[4])


def exported_names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def test_every_metric_named_in_the_table_is_exported(
    served: tuple[Optimizer, MemoryBackend, LnoptMetrics, Store, int],
) -> None:
    optimizer, _, metrics, store, port = served
    metrics.watch_recorder(ForwardRecorder(store))
    optimizer.run_once()
    names = exported_names(scrape(port))
    for name in METRICS:
        assert name in names or f"{name}_count" in names, name


def test_the_grafana_dashboard_uses_only_exported_metrics(
    served: tuple[Optimizer, MemoryBackend, LnoptMetrics, Store, int],
) -> None:
    optimizer, _, metrics, store, port = served
    metrics.watch_recorder(ForwardRecorder(store))
    optimizer.run_once()
    exported = exported_names(scrape(port))
    dashboard = json.loads(DASHBOARD.read_text())

    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    used = {name for expr in expressions for name in re.findall(r"\blnopt_[a-z0-9_]+", expr)}

    assert len(expressions) >= len(dashboard["panels"]) >= 10
    assert used and used <= exported, used - exported
    # and every metric lnopt exports has a panel
    assert {re.sub(r"_(bucket|count|sum)$", "", name) for name in used} >= set(METRICS)
