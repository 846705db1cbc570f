"""The forward recorder: parsing forward events, O(1) submission, batched writing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyln.client import Millisatoshi

from lnopt.errors import StoreError
from lnopt.model import Forward, ForwardStatus
from lnopt.recorder import MAX_INTEGER, QUEUE_BATCHES, ForwardRecorder, forward_from_event
from lnopt.store import Store

NOW = 1_760_000_000.0
IN, OUT = "800000x1x0", "800000x2x0"


def event(htlc: int, status: str = "settled", **changes: Any) -> dict[str, Any]:
    """A modern (v23.11+) forward_event payload."""
    item: dict[str, Any] = {
        "payment_hash": "ab" * 32,
        "in_channel": IN,
        "in_htlc_id": htlc,
        "out_channel": OUT,
        "out_htlc_id": htlc + 1000,
        "in_msat": 1_001_000,
        "out_msat": 1_000_000,
        "fee_msat": 1_000,
        "status": status,
        "style": "tlv",
        "received_time": NOW - 5 - htlc / 1000,
        "created_index": htlc + 1,
        "updated_index": htlc + 1,
    }
    if status != "offered":
        item["resolved_time"] = NOW - 4 - htlc / 1000
    item.update(changes)
    return {key: value for key, value in item.items() if value is not None}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "lnopt.sqlite3")
    yield opened
    opened.close()


# --- parsing ---------------------------------------------------------------------------------


def test_a_modern_event_is_read_with_integer_amounts() -> None:
    forward = forward_from_event(event(7))
    assert forward == Forward(
        in_channel=IN,
        in_htlc_id=7,
        out_channel=OUT,
        in_msat=1_001_000,
        out_msat=1_000_000,
        fee_msat=1_000,
        status=ForwardStatus.SETTLED,
        received_s=NOW - 5 - 0.007,
        resolved_s=NOW - 4 - 0.007,
        created_index=8,
    )


def test_a_legacy_event_with_msat_strings_reads_the_same() -> None:
    legacy = {
        "in_channel": IN,
        "out_channel": OUT,
        "in_msatoshi": 1_001_000,
        "in_msat": "1001000msat",
        "out_msatoshi": 1_000_000,
        "out_msat": "1000000msat",
        "fee": 1_000,
        "fee_msat": "1000msat",
        "status": "settled",
        "received_time": NOW - 5,
        "resolved_time": NOW - 4,
    }
    forward = forward_from_event(legacy)
    assert forward is not None
    assert (forward.in_msat, forward.out_msat, forward.fee_msat) == (1_001_000, 1_000_000, 1_000)
    assert (forward.in_htlc_id, forward.created_index) == (None, None)
    only_old_names = {
        k: v for k, v in legacy.items() if k not in ("in_msat", "out_msat", "fee_msat")
    }
    assert forward_from_event(only_old_names) == forward


def test_pyln_millisatoshi_values_and_the_whole_notification_params_are_read() -> None:
    params = {"forward_event": event(3, in_msat=Millisatoshi(2_000), fee_msat=Millisatoshi(10))}
    forward = forward_from_event(params)
    assert forward is not None and (forward.in_msat, forward.fee_msat) == (2_000, 10)


def test_a_local_failure_without_outgoing_channel_is_read() -> None:
    forward = forward_from_event(
        event(4, "local_failed", out_channel=None, out_msat=None, fee_msat=None, out_htlc_id=None)
    )
    assert forward is not None
    assert (forward.status, forward.out_channel, forward.out_msat) == (
        ForwardStatus.LOCAL_FAILED,
        None,
        None,
    )


@pytest.mark.parametrize(
    "broken",
    [
        event(1, status="exploded"),
        event(1, in_channel="not-a-scid"),
        event(1, in_channel=None),
        event(1, in_msat=-5),
        event(1, in_msat="12sat"),
        event(1, in_msat=True),
        event(1, in_msat=2**64),
        event(1, out_msat="lots"),
        event(1, received_time="yesterday"),
        event(1, received_time=float("nan")),
        event(1, in_htlc_id=-1),
        event(1, in_htlc_id="7"),
        event(1, out_channel=12),
        {},
        {"forward_event": "nope"},
    ],
)
def test_malformed_events_are_refused_with_none(broken: dict[str, Any]) -> None:
    assert forward_from_event(broken) is None


def test_things_that_are_not_events_are_refused_with_none() -> None:
    for thing in (None, 42, "settled", ["in_channel"], b"{}"):
        assert forward_from_event(thing) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
event_keys = st.sampled_from(
    [
        "in_channel",
        "in_htlc_id",
        "out_channel",
        "in_msat",
        "out_msat",
        "fee_msat",
        "status",
        "received_time",
        "resolved_time",
        "created_index",
        "in_msatoshi",
        "fee",
        "forward_event",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(event_keys, json_values, max_size=10), st.integers(0, 50))
def test_parsing_never_raises_and_sends_the_recorder_nothing_unreadable(
    mutation: dict[str, Any], htlc: int
) -> None:
    # given a valid event with any fields replaced by any JSON values
    candidate = event(htlc) | mutation
    # when it is parsed, then it either gives a forward with sane values or None, never raises
    forward = forward_from_event(candidate)
    if forward is not None:
        assert forward.in_msat >= 0 and forward.received_s >= 0
        assert isinstance(forward.in_msat, int) and not isinstance(forward.in_msat, bool)


# --- recording ---------------------------------------------------------------------------------


def test_many_events_from_one_thread_while_another_reads(store: Store) -> None:
    # given a running recorder, and a reader polling the store meanwhile
    recorder = ForwardRecorder(store, batch_size=500, flush_interval_s=0.05)
    recorder.start()
    stop_reading = threading.Event()
    reads: list[int] = []

    def read() -> None:
        while not stop_reading.is_set():
            reads.append(store.forward_counts()["total"])
            store.activity(now_s=NOW)

    reader = threading.Thread(target=read)
    reader.start()
    # when 100,000 forwards arrive as offered + final events, a fifth of them replayed
    n = 50_000
    for htlc in range(n):
        status = "failed" if htlc % 10 == 0 else "settled"
        recorder.submit_event(event(htlc, "offered"))
        recorder.submit_event(event(htlc, status))
        if htlc % 5 == 0:
            recorder.submit_event(event(htlc, status))
    recorder.flush(timeout_s=120)
    stop_reading.set()
    reader.join()
    recorder.stop()
    # then every forward is counted exactly once, by its final status
    counts = store.forward_counts()
    assert counts == {"settled": n - n // 10, "failed": n // 10, "local_failed": 0, "total": n}
    assert recorder.submitted == recorder.written == 2 * n + n // 5
    assert recorder.counted == n and recorder.dropped == 0
    assert reads and reads == sorted(reads)
    activity = store.activity(now_s=NOW)
    assert activity[OUT].last_1d.forwards_out == n - n // 10
    assert activity[OUT].last_1d.failed == n // 10


def test_stop_writes_everything_then_ends_the_thread(store: Store) -> None:
    recorder = ForwardRecorder(store, batch_size=7, flush_interval_s=10)
    recorder.start()
    for htlc in range(100):
        recorder.submit_event(event(htlc))
    recorder.stop()
    assert not recorder.running
    assert store.forward_counts()["total"] == 100
    # a forward submitted after the stop is queued without error and written by a flush
    recorder.submit_event(event(500))
    recorder.flush()
    assert store.forward_counts()["total"] == 101


def test_malformed_events_are_ignored_and_counted(store: Store) -> None:
    recorder = ForwardRecorder(store)
    recorder.start()
    recorder.submit_event(event(1))
    recorder.submit_event({"status": "settled"})
    recorder.submit_event("garbage")
    recorder.flush()
    recorder.stop()
    assert (recorder.submitted, recorder.ignored, recorder.written) == (1, 2, 1)
    assert store.forward_counts()["total"] == 1


class BlockingStore:
    """A store whose writes wait until released, counting what reached it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.recorded = 0

    def record_forwards(self, forwards: Sequence[Forward]) -> int:
        self.entered.set()
        self.release.wait(timeout=30)
        self.recorded += len(forwards)
        return len(forwards)


def test_submit_waits_for_a_slow_store_only_once_the_queue_is_full() -> None:
    # given a recorder whose store is stuck in a write
    slow = BlockingStore()
    recorder = ForwardRecorder(slow, batch_size=10)  # type: ignore[arg-type]
    recorder.start()
    recorder.submit_event(event(0))
    assert slow.entered.wait(timeout=10)
    # when many more forwards arrive while it is stuck
    bound = QUEUE_BATCHES * 10
    sender = threading.Thread(
        target=lambda: [recorder.submit_event(event(htlc)) for htlc in range(1, 1_001)]
    )
    sender.start()
    # then submit takes a queue's worth at once, then waits for the writer
    wait_until = time.monotonic() + 10
    while recorder.submitted < 1 + bound and time.monotonic() < wait_until:
        time.sleep(0.01)
    time.sleep(0.2)
    assert sender.is_alive() and recorder.submitted == 1 + bound + 1  # the last one waiting
    assert slow.recorded == 0
    # and once the store is free again, everything is written
    slow.release.set()
    sender.join(timeout=30)
    recorder.stop()
    assert slow.recorded == 1_001


def test_without_a_writer_thread_a_full_queue_is_written_by_submit(store: Store) -> None:
    recorder = ForwardRecorder(store, batch_size=5)
    for htlc in range(QUEUE_BATCHES * 5 + 3):
        recorder.submit_event(event(htlc))
    assert store.forward_counts()["total"] == QUEUE_BATCHES * 5
    recorder.flush()
    assert store.forward_counts()["total"] == QUEUE_BATCHES * 5 + 3


class FailingStore:
    """A store that cannot be written."""

    def __init__(self) -> None:
        self.attempts = 0

    def record_forwards(self, forwards: Sequence[Forward]) -> int:
        self.attempts += 1
        raise StoreError("disk full")


def test_a_failing_store_drops_forwards_but_never_stops_the_recorder(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("lnopt.recorder.STORE_RETRY_DELAY_S", 0.0)
    failing = FailingStore()
    recorder = ForwardRecorder(failing, batch_size=1000)  # type: ignore[arg-type]
    recorder.start()
    for htlc in range(10):
        recorder.submit_event(event(htlc))
    recorder.flush()
    assert recorder.running
    assert (recorder.dropped, recorder.written) == (10, 0)
    assert failing.attempts >= 3
    assert "recorder dropped forwards=" in caplog.text
    recorder.stop()


# --- keys of forwards that carry neither an HTLC id nor an index -----------------------------


def legacy_event(received_s: float, status: str = "settled") -> dict[str, Any]:
    """A forward_event of a node before v22.11: no in_htlc_id, no created_index."""
    return event(0, status, in_htlc_id=None, created_index=None, received_time=received_s)


def test_forwards_received_within_one_second_are_kept_apart_by_their_sub_second_time(
    store: Store,
) -> None:
    # given two forwards on one channel, a quarter of a second apart in the same second,
    # known only by their received_time, the first seen twice
    recorder = ForwardRecorder(store)
    for received_s in (NOW - 5.75, NOW - 5.75, NOW - 5.5):
        recorder.submit_event(legacy_event(received_s))
    recorder.flush()
    # then both are counted, once each, and their amounts add up
    assert store.forward_counts()["settled"] == 2
    assert recorder.counted == 2
    assert store.activity(now_s=NOW)[OUT].last_1d.volume_out_msat == 2_000_000


def test_a_microsecond_apart_is_another_forward(store: Store) -> None:
    recorder = ForwardRecorder(store)
    for received_s in (NOW - 5.000001, NOW - 5.000002, NOW - 5.000001):
        recorder.submit_event(legacy_event(received_s))
    recorder.flush()
    assert store.forward_counts()["settled"] == 2


@pytest.mark.parametrize(
    ("changes", "storable"),
    [
        ({"received_time": 0.0, "resolved_time": 0.5}, True),  # the epoch itself is a time
        ({"received_time": -1.0}, False),
        ({"resolved_time": -0.5}, False),
        ({"in_msat": MAX_INTEGER}, True),  # the largest integer SQLite holds
        ({"in_msat": MAX_INTEGER + 1}, False),
        ({"created_index": MAX_INTEGER + 1}, False),
    ],
)
def test_what_the_store_can_hold_is_read_and_nothing_past_it(
    changes: dict[str, Any], storable: bool
) -> None:
    assert (forward_from_event(event(1, **changes)) is not None) is storable
