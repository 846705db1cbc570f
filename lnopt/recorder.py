"""Forward events from the plugin's dispatch loop into the store, in batches.

pyln-client runs every method and notification of a plugin in one dispatch loop, so the
``forward_event`` handler does little: :meth:`ForwardRecorder.submit` puts the forward on a
queue and returns. A writer thread takes up to ``batch_size`` forwards at a time and records
them in one transaction (:meth:`~lnopt.store.Store.record_forwards`); the store counts each
forward once, so a replayed event or an overlapping backfill is harmless.

The queue holds at most ``QUEUE_BATCHES`` batches. In a flood of events the dispatch loop
parses as fast as the events come and would keep the interpreter to itself, starving the
writer and the threads that answer method calls; once the queue is full, :meth:`submit` waits
for the writer to take a batch. Memory stays bounded and method calls keep answering, while
the events are recorded as fast as before (lightningd holds what the plugin has not read yet).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lnopt.backends.cln_shapes import forward_from_listforwards
from lnopt.errors import BackendError, StoreError
from lnopt.model import Forward, parse_short_channel_id
from lnopt.store import Store

logger = logging.getLogger(__name__)

QUEUE_BATCHES = 4
STORE_ATTEMPTS = 3
STORE_RETRY_DELAY_S = 0.2
MAX_INTEGER = 2**63 - 1  # the largest integer SQLite stores

_STOP = object()
_LEGACY_AMOUNT_NAMES = {"in_msat": "in_msatoshi", "out_msat": "out_msatoshi", "fee_msat": "fee"}


def forward_from_event(event: object) -> Forward | None:
    """A :class:`Forward` from a ``forward_event`` notification (its payload or the whole
    ``{"forward_event": {...}}`` params) or a ``listforwards`` item, in the modern shape
    (integer ``*_msat``) or the legacy one (``"…msat"`` strings, ``in_msatoshi``, ``fee``).
    None for anything malformed or that the store cannot hold; never raises."""
    if not isinstance(event, Mapping):
        return None
    inner = event.get("forward_event")
    if isinstance(inner, Mapping):
        event = inner
    try:
        forward = forward_from_listforwards(_listforwards_item(event))
    except BackendError:
        return None
    return forward if _storable(forward) else None


def _listforwards_item(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a ``listforwards`` item: amounts under their ``*_msat`` names (legacy names
    read where those are absent), pyln ``Millisatoshi`` values as integers."""
    item = dict(event)
    for name, legacy in _LEGACY_AMOUNT_NAMES.items():
        value = item.get(name)
        if value is None:
            value = item.get(legacy)
        millisatoshis = getattr(value, "millisatoshis", None)
        item[name] = millisatoshis if isinstance(millisatoshis, int) else value
    return item


def _storable(forward: Forward) -> bool:
    """Whether the store can key and hold ``forward``: its channels are short channel ids, its
    amounts and indexes integers SQLite stores, its times finite and not negative."""
    amounts = (forward.in_msat, forward.out_msat, forward.fee_msat)
    indexes = (forward.in_htlc_id, forward.created_index)
    times = (forward.received_s, forward.resolved_s)
    return (
        _is_scid(forward.in_channel)
        and (forward.out_channel is None or _is_scid(forward.out_channel))
        and all(value is None or 0 <= value <= MAX_INTEGER for value in (*amounts, *indexes))
        and all(value is None or (math.isfinite(value) and value >= 0) for value in times)
    )


def _is_scid(value: str) -> bool:
    try:
        parse_short_channel_id(value)
    except ValueError:
        return False
    return True


class RecordingListener(Protocol):
    """Told, in the writer thread, of each batch written and of each batch dropped."""

    def forwards_recorded(self, forwards: Sequence[Forward]) -> None: ...

    def forwards_dropped(self, error: Exception) -> None: ...


class ForwardRecorder:
    """Takes forward events from the plugin's dispatch loop and writes them in batches
    from its own thread.

    Counters: ``submitted`` forwards handed to :meth:`submit`; ``written`` of those passed to
    the store (``counted`` of which were new final forwards, the rest offered or already
    known); ``dropped`` lost because the store kept failing (each loss is logged); ``ignored``
    events :meth:`submit_event` could not read.
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        listener: RecordingListener | None = None,
    ) -> None:
        self._store = store
        self._listener = listener
        self._batch_size = max(1, batch_size)
        self._flush_interval_s = flush_interval_s
        self._queue: queue.Queue[Forward | object] = queue.Queue(
            maxsize=QUEUE_BATCHES * self._batch_size
        )
        self._thread: threading.Thread | None = None
        self._done = threading.Condition()
        self._submitted = 0
        self._ignored = 0
        self._written = 0
        self._counted = 0
        self._dropped = 0

    @property
    def submitted(self) -> int:
        return self._submitted

    @property
    def written(self) -> int:
        return self._written

    @property
    def counted(self) -> int:
        return self._counted

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def ignored(self) -> int:
        return self._ignored

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the writer thread (once; a second call does nothing)."""
        if self.running:
            return
        self._thread = threading.Thread(target=self._run, name="lnopt-recorder", daemon=True)
        self._thread.start()

    def submit(self, forward: Forward) -> None:
        """Queue one forward; never raises. Waits while the queue is full and the writer thread
        runs; without a writer thread, a full queue is written here first."""
        self._submitted += 1
        if self._thread is None and self._queue.full():
            self._drain()
        self._queue.put(forward)

    def submit_event(self, event: object) -> None:
        """Parse a raw ``forward_event`` and queue it; a malformed one is counted as ignored."""
        forward = forward_from_event(event)
        if forward is None:
            self._ignored += 1
            logger.debug("recorder ignored malformed forward_event")
            return
        self.submit(forward)

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until everything submitted so far is written (or dropped), at most
        ``timeout_s``; without a running writer thread the queue is written here."""
        target = self._submitted
        if not self.running:
            self._drain()
            return
        deadline = time.monotonic() + timeout_s
        with self._done:
            while self._written + self._dropped < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning(
                        "recorder flush timed out pending=%d",
                        target - self._written - self._dropped,
                    )
                    return
                self._done.wait(remaining)

    def stop(self) -> None:
        """Write everything submitted, then end the writer thread."""
        thread = self._thread
        if thread is None:
            self._drain()
            return
        self._queue.put(_STOP)
        thread.join()
        self._thread = None
        self._drain()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._flush_interval_s)
            except queue.Empty:
                continue
            if first is _STOP:
                return
            batch, stop = self._take_batch(first)
            self._write(batch)
            if stop:
                return

    def _take_batch(self, first: Forward | object) -> tuple[list[Forward], bool]:
        """``first`` and whatever else is queued, up to ``batch_size``; and whether the stop
        marker was met."""
        batch = [first] if isinstance(first, Forward) else []
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            if isinstance(item, Forward):
                batch.append(item)
        return batch, False

    def _drain(self) -> None:
        """Write what is queued from the calling thread (no writer thread is running)."""
        while True:
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return
            batch, _ = self._take_batch(first)
            self._write(batch)

    def _write(self, batch: list[Forward]) -> None:
        """Record a batch, retrying a failing store; the writer thread survives any error."""
        if not batch:
            return
        counted: int | None = None
        failure: Exception | None = None
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                counted = self._store.record_forwards(batch)
                break
            except StoreError as exc:
                failure = exc
                logger.warning(
                    "recorder store write failed attempt=%d forwards=%d error=%s",
                    attempt,
                    len(batch),
                    exc,
                )
                time.sleep(STORE_RETRY_DELAY_S * attempt)
            except Exception as exc:
                failure = exc
                logger.exception("recorder cannot record forwards=%d", len(batch))
                break
        with self._done:
            if counted is None:
                self._dropped += len(batch)
                logger.error("recorder dropped forwards=%d after store failures", len(batch))
            else:
                self._written += len(batch)
                self._counted += counted
            self._done.notify_all()
        self._tell(batch, None if counted is not None else failure)

    def _tell(self, batch: list[Forward], failure: Exception | None) -> None:
        """Tell the listener; whatever it does, the writer thread goes on."""
        if self._listener is None:
            return
        try:
            if failure is None:
                self._listener.forwards_recorded(batch)
            else:
                self._listener.forwards_dropped(failure)
        except Exception:
            logger.exception("recorder listener failed")
