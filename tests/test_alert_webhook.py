"""The alert webhook against a real HTTP server on 127.0.0.1: each alert arrives as JSON, a
failing answer is retried up to the configured attempts, and the dispatcher's de-duplication
and hourly cap decide what is posted at all."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lnopt.alerts.delivery import WebhookSink
from lnopt.alerts.dispatch import AlertDispatcher
from lnopt.config import AlertsConfig
from lnopt.model import Alert, AlertKind
from lnopt.store import Store

T0 = 1_760_000_000.0


class Receiver(ThreadingHTTPServer):
    """Keeps every POST body; answers 503 to the first ``failures`` requests, then 200."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures = failures
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/lnopt?token=abc"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.bodies.append(json.loads(body))
            self.server.paths.append(self.path)
            failing = len(self.server.bodies) <= self.server.failures
        self.send_response(503 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(failures=getattr(request, "param", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def alert(subject: str = "800000x1x0", at_s: float = T0) -> Alert:
    return Alert(
        kind=AlertKind.CHANNEL_DRAINING,
        subject=subject,
        short_channel_id=subject,
        message=f"channel {subject} is draining fast",
        raised_s=at_s,
        details={"drop_ratio": 0.4},
    )


@pytest.mark.parametrize("receiver", [2], indirect=True)
def test_a_failing_webhook_is_retried_until_it_takes_the_alert(receiver: Receiver) -> None:
    sink = WebhookSink(receiver.url, attempts=lambda: 3, timeout_s=lambda: 2.0)
    sent = alert()

    sink.deliver(sent)
    sink.close()

    assert receiver.bodies == [sent.as_json()] * 3
    assert receiver.paths == ["/hooks/lnopt?token=abc"] * 3
    assert (sink.posted, sink.failed) == (1, 0)


@pytest.mark.parametrize("receiver", [10], indirect=True)
def test_a_webhook_that_keeps_failing_is_given_up_after_the_attempts(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    sink = WebhookSink(receiver.url, attempts=lambda: 2, timeout_s=lambda: 2.0)

    sink.deliver(alert())
    sink.close()

    assert len(receiver.bodies) == 2
    assert (sink.posted, sink.failed) == (0, 1)
    assert "token=abc" not in caplog.text  # the URL may hold a secret: never logged


def test_dispatched_alerts_are_deduplicated_and_capped_before_they_are_posted(
    receiver: Receiver, tmp_path: Path
) -> None:
    store = Store(tmp_path / "lnopt.sqlite3")
    sink = WebhookSink(receiver.url, attempts=lambda: 1, timeout_s=lambda: 2.0)
    config = AlertsConfig(dedup_minutes=30, max_per_hour=3)
    dispatcher = AlertDispatcher(store, [sink], config=lambda: config, now_s=T0)

    delivered = dispatcher.raise_alerts(
        [
            alert("800000x1x0", T0),
            alert("800000x1x0", T0 + 60),  # the same alert a minute later: held
            alert("800000x2x0", T0 + 120),
            alert("800000x3x0", T0 + 180),
            alert("800000x4x0", T0 + 240),  # a fourth within the hour: over the cap
        ]
    )
    sink.close()

    posted = [body["subject"] for body in receiver.bodies]
    assert posted == ["800000x1x0", "800000x2x0", "800000x3x0"]
    assert [a.subject for a in delivered] == posted
    assert [r.alert.subject for r in store.alerts()] == posted[::-1]

    # and after a restart the store's alerts still hold the same one back
    again = AlertDispatcher(store, [], config=lambda: config, now_s=T0 + 600)
    assert again.raise_alerts([alert("800000x1x0", T0 + 600)]) == []
    store.close()
