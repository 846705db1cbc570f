"""A resilient JSON-over-HTTP client for the REST backends (LNbits, LND).

Every call has a timeout. Idempotent requests (reads, and a fee update whose body fully
determines the result) are retried with exponential backoff and full jitter (tenacity) after a
transport error, a timeout or a 429/5xx answer; nothing else is ever retried, so a request that
may have taken effect is never sent twice. A token bucket keeps the client under a call rate, and
a circuit breaker (pybreaker) stops calling a server that keeps failing: after
``breaker_failures`` consecutive availability failures it answers at once, without a call, until
``breaker_reset_s`` has passed, then lets one call through to see whether the server is back.

Library errors never leave this module: they become :mod:`lnopt.errors` errors whose messages
name the service, the request and what went wrong, never a header (credentials travel there).
"""

from __future__ import annotations

import enum
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pybreaker
import tenacity

from lnopt.errors import BackendError, BackendRefused, BackendUnavailable

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout_s: float = 10.0  # every call: connect, read, write and pool
    retries: int = 3  # extra attempts, for idempotent requests only
    backoff_base_s: float = 0.5  # exponential backoff with full jitter ...
    backoff_max_s: float = 8.0  # ... capped here
    rate_per_s: float = 10.0  # token bucket: at most this many calls a second ...
    burst: int = 10  # ... with bursts up to this many
    breaker_failures: int = 5  # consecutive availability failures that open the breaker
    breaker_reset_s: float = 30.0  # an open breaker lets one call through after this


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    state: BreakerState
    consecutive_failures: int
    opened_at_s: float | None  # on the client's clock
    last_error: str | None  # never holds a secret


@dataclass(frozen=True, slots=True)
class HttpProblem:
    """An answer with an HTTP error status, as a backend's ``describe_refusal`` receives it."""

    method: str
    path: str
    status: int
    body: Any  # the parsed JSON, or the text when it is not JSON


class _Unavailable(Exception):
    """One attempt failed for want of the server; the breaker counts it and it may be retried."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class _TokenBucket:
    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            wait_s = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate
            self._tokens -= 1
        if wait_s > 0:
            self._sleep(wait_s)


class _BreakerWatch(pybreaker.CircuitBreakerListener):  # type: ignore[misc]
    """Remembers when the breaker opened and says so in the log."""

    def __init__(self, service: str, clock: Callable[[], float]) -> None:
        self.service = service
        self.clock = clock
        self.opened_at_s: float | None = None
        self.last_error: str | None = None

    def failure(self, cb: pybreaker.CircuitBreaker, exc: BaseException) -> None:
        self.last_error = str(exc)

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        name = new_state.name if new_state is not None else ""
        if name == pybreaker.STATE_OPEN:
            self.opened_at_s = self.clock()
            logger.warning(
                "circuit breaker opened service=%s failures=%d last_error=%r",
                self.service,
                cb.fail_counter,
                self.last_error,
            )
        elif name == pybreaker.STATE_CLOSED:
            self.opened_at_s = None
            logger.info("circuit breaker closed service=%s", self.service)


class JsonHttpClient:
    """JSON requests to one server, with timeouts, retries, a rate limit and a circuit breaker."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        headers: Callable[[], Mapping[str, str]],
        verify: ssl.SSLContext | bool = True,
        settings: HttpSettings | None = None,
        describe_refusal: Callable[[HttpProblem], str] | None = None,
        final_refusal: Callable[[HttpProblem], bool] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``final_refusal`` tells an answer with a retryable status that is a refusal all the
        same (LND answers a refused macaroon with HTTP 500): it is neither retried nor counted
        by the breaker."""
        self.settings = settings or HttpSettings()
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.calls = 0
        self._headers = headers
        self._describe = describe_refusal or _default_description(service)
        self._final_refusal = final_refusal
        self._clock = clock
        self._sleep = sleep
        self._calls_lock = threading.Lock()
        self._bucket = _TokenBucket(self.settings.rate_per_s, self.settings.burst, clock, sleep)
        self._watch = _BreakerWatch(service, clock)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=self.settings.breaker_failures,
            reset_timeout=self.settings.breaker_reset_s,
            listeners=[self._watch],
            name=service,
            throw_new_error_on_trip=False,
        )
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.settings.timeout_s),
            verify=verify,
            transport=transport,
        )

    def get(self, path: str, *, params: Mapping[str, str | int] | None = None) -> Any:
        return self.request("GET", path, params=params, idempotent=True)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        idempotent: bool,
    ) -> Any:
        """Send one request and answer its JSON body (``None`` for an empty body)."""
        attempts = 1 + (self.settings.retries if idempotent else 0)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_random_exponential(
                multiplier=self.settings.backoff_base_s, max=self.settings.backoff_max_s
            ),
            retry=tenacity.retry_if_exception_type(_Unavailable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response: httpx.Response = retrying(self._attempt, method, path, json, params)
        except pybreaker.CircuitBreakerError as exc:
            raise BackendUnavailable(self._open_message()) from exc
        except _Unavailable as exc:
            if exc.response is None:
                raise BackendUnavailable(str(exc)) from exc
            response = exc.response
        if response.status_code >= 400:
            problem = HttpProblem(method, path, response.status_code, _body(response))
            raise BackendRefused(self._describe(problem), code=response.status_code)
        return self._json(method, path, response)

    def breaker(self) -> BreakerStatus:
        state = BreakerState(self._breaker.current_state)
        return BreakerStatus(
            state=state,
            consecutive_failures=self._breaker.fail_counter,
            opened_at_s=self._watch.opened_at_s if state is not BreakerState.CLOSED else None,
            last_error=self._watch.last_error,
        )

    def close(self) -> None:
        self._client.close()

    def _attempt(
        self, method: str, path: str, json: Any, params: Mapping[str, str | int] | None
    ) -> httpx.Response:
        self._bucket.acquire()
        response: httpx.Response = self._breaker.call(self._send, method, path, json, params)
        return response

    def _send(
        self, method: str, path: str, json: Any, params: Mapping[str, str | int] | None
    ) -> httpx.Response:
        with self._calls_lock:
            self.calls += 1
        where = f"{method} {path}"
        try:
            response = self._client.request(
                method, path, json=json, params=params, headers=dict(self._headers())
            )
        except httpx.TimeoutException as exc:
            raise _Unavailable(
                f"{self.service} did not answer {where} within {self.settings.timeout_s:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise _Unavailable(
                f"{self.service} cannot be reached at {self.base_url} ({where}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code in RETRYABLE_STATUSES and not self._is_final(
            method, path, response
        ):
            raise _Unavailable(
                f"{self.service} answered {where} with HTTP {response.status_code}",
                response=response,
            )
        return response

    def _is_final(self, method: str, path: str, response: httpx.Response) -> bool:
        if self._final_refusal is None:
            return False
        return self._final_refusal(HttpProblem(method, path, response.status_code, _body(response)))

    def _json(self, method: str, path: str, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise BackendError(
                f"{self.service} answered {method} {path} with a body that is not JSON"
            ) from exc

    def _open_message(self) -> str:
        status = self.breaker()
        wait = ""
        if status.opened_at_s is not None:
            left_s = max(0.0, status.opened_at_s + self.settings.breaker_reset_s - self._clock())
            wait = f"; next try in {left_s:.0f} s"
        return (
            f"{self.service} circuit breaker is open after {self.settings.breaker_failures} "
            f"failures in a row (last: {status.last_error}){wait}"
        )


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:_DETAIL_CHARS]


def _default_description(service: str) -> Callable[[HttpProblem], str]:
    def describe(problem: HttpProblem) -> str:
        return (
            f"{service} refused {problem.method} {problem.path}: HTTP {problem.status}: "
            f"{server_detail(problem.body)}"
        )

    return describe


def server_detail(body: Any) -> str:
    """The server's own words from an error body, shortened: ``detail``, ``message`` or text."""
    if isinstance(body, Mapping):
        for key in ("detail", "message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])[:_DETAIL_CHARS]
    return str(body)[:_DETAIL_CHARS]
