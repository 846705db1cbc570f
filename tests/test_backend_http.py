"""The REST backends' HTTP client against a real HTTP server on loopback that answers as told."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from lnopt.backends.http import (
    BreakerState,
    HttpProblem,
    HttpSettings,
    JsonHttpClient,
    _TokenBucket,
)
from lnopt.errors import BackendError, BackendRefused, BackendUnavailable

SECRET = "s3cr3t-token-value"
NO_WAIT = HttpSettings(timeout_s=1.0, retries=3, backoff_base_s=0.0, backoff_max_s=0.0)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    delay_s: float = 0.0
    drop: bool = False  # close the connection without an answer


@dataclass
class Script:
    answers: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def next(self) -> Answer:
        return self.answers.pop(0) if self.answers else self.default


class ScriptedServer(http.server.ThreadingHTTPServer):
    script: Script


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ScriptedServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.script.seen.append((self.command, self.path, dict(self.headers), body))
        answer = self.server.script.next()
        if answer.delay_s:
            time.sleep(answer.delay_s)
        if answer.drop:
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815 (http.server names)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    httpd = ScriptedServer(("127.0.0.1", 0), _Handler)
    httpd.script = Script()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client_for(
    server: ScriptedServer, settings: HttpSettings = NO_WAIT, **kwargs: object
) -> JsonHttpClient:
    host, port = server.server_address[:2]
    return JsonHttpClient(
        f"http://{host!s}:{port}",
        service="TestNode",
        headers=lambda: {"Authorization": f"Bearer {SECRET}"},
        settings=settings,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_read_is_retried_after_server_errors_and_answers_the_json(server: ScriptedServer) -> None:
    server.script.answers = [Answer(503), Answer(502), Answer(200, b'{"ok": 1}')]
    client = client_for(server)

    assert client.get("/info") == {"ok": 1}
    assert client.calls == 3
    assert [seen[:2] for seen in server.script.seen] == [("GET", "/info")] * 3
    assert server.script.seen[0][2]["Authorization"] == f"Bearer {SECRET}"


def test_a_request_that_is_not_idempotent_is_sent_once(server: ScriptedServer) -> None:
    server.script.answers = [Answer(500, b'{"detail": "boom"}')]
    client = client_for(server)

    with pytest.raises(BackendRefused, match="HTTP 500: boom") as refused:
        client.request("POST", "/pay", json={"amount_msat": 1}, idempotent=False)
    assert refused.value.code == 500
    assert client.calls == 1


def test_a_client_error_is_not_retried_and_is_described_by_the_backend(
    server: ScriptedServer,
) -> None:
    server.script.answers = [Answer(403, b'{"detail": "Missing rights"}')]
    problems: list[HttpProblem] = []

    def describe(problem: HttpProblem) -> str:
        problems.append(problem)
        return "the token lacks node write access"

    client = client_for(server, describe_refusal=describe)
    with pytest.raises(BackendRefused, match="lacks node write") as refused:
        client.request("PUT", "/channels/1", json={"fee_ppm": 5}, idempotent=True)
    assert refused.value.code == 403
    assert client.calls == 1
    assert problems == [HttpProblem("PUT", "/channels/1", 403, {"detail": "Missing rights"})]


def test_retries_end_with_the_last_answer(server: ScriptedServer) -> None:
    server.script.default = Answer(503, b'{"detail": "node UI is off"}')
    client = client_for(server, HttpSettings(retries=2, backoff_base_s=0, backoff_max_s=0))

    with pytest.raises(BackendRefused, match="node UI is off") as refused:
        client.get("/info")
    assert refused.value.code == 503
    assert client.calls == 3


def test_a_body_that_is_not_json_is_a_backend_error(server: ScriptedServer) -> None:
    server.script.answers = [Answer(200, b"<html>gateway</html>")]
    with pytest.raises(BackendError, match="GET /info with a body that is not JSON"):
        client_for(server).get("/info")


def test_an_empty_body_answers_none(server: ScriptedServer) -> None:
    server.script.answers = [Answer(200, b"")]
    assert client_for(server).get("/nothing") is None


def test_a_server_that_is_gone_is_unavailable_and_the_message_holds_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = JsonHttpClient(
        f"http://127.0.0.1:{port}",
        service="TestNode",
        headers=lambda: {"Authorization": f"Bearer {SECRET}"},
        settings=HttpSettings(retries=1, backoff_base_s=0, backoff_max_s=0),
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(BackendUnavailable, match="TestNode cannot be reached at") as gone:
        client.get("/info")
    assert client.calls == 2
    assert SECRET not in str(gone.value)
    assert SECRET not in caplog.text


def test_a_slow_answer_times_out(server: ScriptedServer) -> None:
    server.script.answers = [Answer(delay_s=1.0)]
    client = client_for(server, HttpSettings(timeout_s=0.2, retries=0))
    with pytest.raises(BackendUnavailable, match=r"did not answer GET /info within 0.2 s"):
        client.get("/info")


def test_a_dropped_connection_is_retried(server: ScriptedServer) -> None:
    server.script.answers = [Answer(drop=True), Answer(200, b"[1]")]
    client = client_for(server)
    assert client.get("/list") == [1]
    assert client.calls == 2


def test_the_breaker_opens_stops_calling_and_closes_when_the_server_is_back(
    server: ScriptedServer,
) -> None:
    settings = HttpSettings(
        retries=0, backoff_base_s=0, backoff_max_s=0, breaker_failures=3, breaker_reset_s=0.3
    )
    client = client_for(server, settings)
    server.script.default = Answer(500, b'{"detail": "down"}')

    for _ in range(3):
        with pytest.raises(BackendRefused):
            client.get("/info")
    assert client.breaker().state is BreakerState.OPEN
    assert client.breaker().opened_at_s is not None

    with pytest.raises(BackendUnavailable, match=r"circuit breaker is open after 3 failures"):
        client.get("/info")
    assert client.calls == 3  # the open breaker answered without calling

    time.sleep(0.35)
    server.script.default = Answer(200, b'{"ok": true}')
    assert client.get("/info") == {"ok": True}
    status = client.breaker()
    assert (status.state, status.consecutive_failures, status.opened_at_s) == (
        BreakerState.CLOSED,
        0,
        None,
    )


def test_a_server_error_the_backend_calls_final_is_neither_retried_nor_counted(
    server: ScriptedServer,
) -> None:
    server.script.default = Answer(500, b'{"code": 2, "message": "permission denied"}')
    client = client_for(
        server,
        HttpSettings(retries=3, breaker_failures=1),
        final_refusal=lambda problem: problem.body.get("message") == "permission denied",
    )
    with pytest.raises(BackendRefused, match="permission denied") as refused:
        client.get("/v1/getinfo")
    assert refused.value.code == 500
    assert client.calls == 1
    assert client.breaker().state is BreakerState.CLOSED


def test_refusals_do_not_open_the_breaker(server: ScriptedServer) -> None:
    client = client_for(server, HttpSettings(retries=0, breaker_failures=2))
    server.script.default = Answer(404, b'{"detail": "Channel not found"}')
    for _ in range(5):
        with pytest.raises(BackendRefused, match="Channel not found"):
            client.get("/channels/9")
    assert client.breaker().state is BreakerState.CLOSED


def test_the_token_bucket_lets_a_burst_through_then_spaces_calls() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = _TokenBucket(rate_per_s=2.0, burst=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        bucket.acquire()
    assert waits == []
    bucket.acquire()
    bucket.acquire()
    assert waits == pytest.approx([0.5, 0.5])
    now[0] += 10.0
    bucket.acquire()
    assert waits == pytest.approx([0.5, 0.5])


def test_the_client_keeps_to_its_rate_on_the_wire(server: ScriptedServer) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = client_for(
        server,
        HttpSettings(rate_per_s=5.0, burst=1, retries=0),
        clock=lambda: now[0],
        sleep=sleep,
    )
    for _ in range(6):
        client.get("/info")
    assert now[0] == pytest.approx(1.0)
    assert client.calls == 6
