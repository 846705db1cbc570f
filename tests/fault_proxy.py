"""A loopback HTTP proxy that injects faults between a client and a server, for resilience tests.

Each request is forwarded to ``upstream`` unless a fault is drawn for it (with probability
``fault_rate``, from a seeded random source, so a run can be repeated):

- ``timeout``: forwarded, then the answer is held back past the client's timeout;
- ``error_500``: not forwarded; answered HTTP 500;
- ``garbage``: forwarded, then answered HTTP 200 with a body that is not JSON;
- ``drop_before`` / ``drop_after``: the connection is closed without an answer, before or after
  the request was forwarded (the server may or may not have acted on it).

``garble(path_part)`` answers well-formed JSON of the wrong shape for GETs whose path contains
``path_part``. The proxy counts the requests it saw and the faults it injected, per kind.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

FAULTS = ("timeout", "error_500", "garbage", "drop_before", "drop_after")
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


class FaultProxy:
    def __init__(
        self, upstream: str, *, fault_rate: float = 0.0, hold_s: float = 1.0, seed: int = 1
    ) -> None:
        self.upstream = upstream
        self.fault_rate = fault_rate
        self.hold_s = hold_s
        self.calls = 0
        self.faults: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._garbled: str | None = None
        self._client = httpx.Client(base_url=upstream, timeout=30.0)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def garble(self, path_part: str) -> None:
        self._garbled = path_part

    def stop(self) -> None:
        """Close the port: the server is gone for the client."""
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _draw(self, method: str, path: str) -> str | None:
        with self._lock:
            self.calls += 1
            if self._garbled is not None and method == "GET" and self._garbled in path:
                self.faults["garbled"] += 1
                return "garbled"
            if self._random.random() >= self.fault_rate:
                return None
            fault = self._random.choice(FAULTS)
            self.faults[fault] += 1
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the tests count instead."""

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._draw(self.command, self.path)
                if fault == "drop_before":
                    self._drop()
                    return
                if fault == "error_500":
                    self._answer(500, b'{"detail": "Internal Server Error"}')
                    return
                if fault == "garbled":
                    self._answer(200, b'{"channels": "none today"}')
                    return
                headers = {
                    key: value
                    for key, value in self.headers.items()
                    if key.lower() not in _HOP_HEADERS
                }
                try:
                    answer = proxy._client.request(
                        self.command, self.path, content=body, headers=headers
                    )
                except httpx.HTTPError:
                    self._drop()
                    return
                if fault == "drop_after":
                    self._drop()
                elif fault == "timeout":
                    time.sleep(proxy.hold_s)
                    self._drop()
                elif fault == "garbage":
                    self._answer(200, b"<html>502 Bad Gateway</html>")
                else:
                    self._answer(answer.status_code, answer.content)

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _relay  # noqa: N815

        return Handler
