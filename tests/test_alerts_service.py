"""Alerts from a running Optimizer over an in-memory node and a real store: a fee changed
outside lnopt leaves the channel alone until released, runs notice draining channels and
offline peers, an open breaker and failures are told, and every alert is kept and listed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lnopt.backends.http import BreakerState, BreakerStatus
from lnopt.config import default_config
from lnopt.errors import BackendUnavailable, InvalidRequest
from lnopt.model import AlertKind, Mode, Verdict
from lnopt.operations import Operations, OperationsSettings
from lnopt.recorder import ForwardRecorder
from lnopt.service import Optimizer
from lnopt.store import Store
from tests.factories import channel
from tests.memory_backend import MemoryBackend
from tests.test_alert_detectors import failed
from tests.test_service import competitors

T0 = 1_760_000_000.0
HOUR = 3600.0
NO_WEBHOOK = OperationsSettings(
    webhook_url=None, max_alerts_per_hour=None, metrics_port=0, metrics_address="127.0.0.1"
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class BreakerBackend(MemoryBackend):
    """The in-memory node, with a circuit breaker that reports through ``health()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker = BreakerStatus(BreakerState.CLOSED, 0, None, None)

    def health(self) -> BreakerStatus:
        return self.breaker


@dataclasses.dataclass
class Running:
    backend: BreakerBackend
    store: Store
    optimizer: Optimizer
    clock: Clock
    operations: Operations
    notified: list[dict[str, Any]]

    def kinds(self) -> list[tuple[str, str]]:
        return [(n["lnopt_alert"]["kind"], n["lnopt_alert"]["subject"]) for n in self.notified]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """Three idle, full channels at 400 ppm (the engine lowers them) in advise mode."""
    channels = [channel(n, local_ratio=0.92, fee_ppm=400) for n in (1, 2, 3)]
    backend = BreakerBackend(channels, extra_gossip=competitors(channels))
    store = Store(tmp_path / "lnopt.sqlite3")
    clock = Clock()
    optimizer = Optimizer(backend, store, default_config(), mode=Mode.ADVISE, clock=clock)
    notified: list[dict[str, Any]] = []
    operations = Operations(
        optimizer,
        store,
        NO_WEBHOOK,
        notify=lambda topic, params: notified.append(params),
        clock=clock,
    )
    yield Running(backend, store, optimizer, clock, operations, notified)
    operations.close()
    store.close()


def scid(n: int) -> str:
    return channel(n).short_channel_id


# --- fees changed outside lnopt ------------------------------------------------------------------


def test_a_fee_changed_outside_lnopt_leaves_the_channel_alone_until_released(
    running: Running,
) -> None:
    backend, optimizer, clock = running.backend, running.optimizer, running.clock
    # Given lnopt lowered every channel's fee, and then the operator set channel 1 by hand
    applied = optimizer.apply("all", dryrun=False)
    assert len(applied.done) == 3
    backend.policies[scid(1)] = backend.policies[scid(1)].with_fees(base_fee_msat=0, fee_ppm=777)
    clock.now += 2 * 86_400  # past the cooldown and the day's changes

    # When lnopt plans again
    recommendations = {r.decision.short_channel_id: r for r in optimizer.recommend()}

    # Then channel 1 is left alone, and said so: in the guard's verdict, in hands_off, as an alert
    guarded = recommendations[scid(1)].guarded
    assert guarded is not None and guarded.verdict is Verdict.REJECTED
    assert guarded.reasons[0].startswith("left alone: its fee was changed outside lnopt")
    assert f"lnopt-release {scid(1)}" in guarded.reasons[0]
    [mark] = optimizer.hands_off()
    assert mark.short_channel_id == scid(1) and mark.node_policy.fee_ppm == 777
    assert running.kinds() == [("fee_changed_outside", scid(1))]
    # and an apply changes the others but never channel 1
    backend.set_policy_calls.clear()
    optimizer.apply("all", dryrun=False)
    assert scid(1) not in {changed for changed, _ in backend.set_policy_calls}
    assert backend.policies[scid(1)].fee_ppm == 777

    # When the operator releases it
    released = optimizer.release(scid(1))

    # Then lnopt takes 777 ppm as its own: no longer left alone, not noticed again, changeable
    assert released.short_channel_id == scid(1)
    assert optimizer.hands_off() == ()
    assert running.store.expected_policies()[scid(1)].fee_ppm == 777
    clock.now += 2 * 86_400
    again = {r.decision.short_channel_id: r for r in optimizer.recommend()}[scid(1)]
    assert again.guarded is not None and again.guarded.verdict is not Verdict.REJECTED
    assert running.kinds() == [("fee_changed_outside", scid(1))]


def test_releasing_a_channel_not_left_alone_says_so(running: Running) -> None:
    with pytest.raises(InvalidRequest, match="is not left alone"):
        running.optimizer.release(scid(2))
    with pytest.raises(InvalidRequest, match="BLOCKxTXxOUT"):
        running.optimizer.release("not-a-channel")


def test_a_channel_lnopt_never_changed_is_not_left_alone_whatever_its_fee(
    running: Running,
) -> None:
    running.backend.policies[scid(2)] = running.backend.policies[scid(2)].with_fees(
        base_fee_msat=5, fee_ppm=5
    )
    running.optimizer.recommend()
    assert running.optimizer.hands_off() == ()


# --- what runs notice ----------------------------------------------------------------------------


def test_runs_notice_a_channel_draining_fast_and_a_peer_offline_for_long(
    running: Running,
) -> None:
    backend, optimizer, clock = running.backend, running.optimizer, running.clock
    optimizer.set_mode(Mode.SHADOW)
    capacity = channel(1).capacity_msat
    # Given a run saw channel 1 at 92% and channel 2's peer gone
    backend.update_channel(scid(2), connected=False)
    optimizer.run_once()
    assert running.kinds() == []

    # When, 4 hours later, channel 1 is at 50%
    clock.now += 4 * HOUR
    backend.update_channel(scid(1), local_msat=capacity // 2, remote_msat=capacity // 2)
    optimizer.run_once()

    # Then it is draining fast; the peer is not offline for long yet
    assert running.kinds() == [("channel_draining", scid(1))]

    # When 24 hours have passed since the peer was first seen gone
    clock.now += 20 * HOUR
    optimizer.run_once()

    # Then it is offline for long, and the draining alert (still true) is not repeated
    assert running.kinds()[1:] == [("peer_offline", channel(2).peer_id)]
    listed = [record.alert.kind for record in optimizer.alerts()]
    assert listed == [AlertKind.PEER_OFFLINE, AlertKind.CHANNEL_DRAINING]


def test_an_open_breaker_and_a_failing_run_are_told(running: Running) -> None:
    backend, optimizer = running.backend, running.optimizer
    # Given the breaker opened and the node cannot be reached
    backend.breaker = BreakerStatus(BreakerState.OPEN, 5, T0, "HTTP 503")
    backend.unavailable = True

    with pytest.raises(BackendUnavailable):
        optimizer.run_once()

    assert running.kinds() == [("breaker_open", "memory"), ("scheduler_failure", "run")]
    assert running.store.last_run() is not None
    assert running.store.last_run().error  # type: ignore[union-attr]


def test_a_store_that_cannot_take_forwards_is_told_even_though_it_cannot_keep_it(
    running: Running,
) -> None:
    recorder = ForwardRecorder(running.store, listener=running.operations.watch)
    running.store.close()

    recorder.submit(failed(1, T0))
    recorder.flush()

    assert running.kinds() == [("store_failure", "store")]
    assert recorder.dropped == 1


def test_failed_forwards_recorded_one_by_one_raise_one_spike(running: Running) -> None:
    recorder = ForwardRecorder(running.store, batch_size=1, listener=running.operations.watch)
    for n in range(12):
        recorder.submit(failed(n, T0 - 5))
    recorder.flush()

    assert running.kinds() == [("failed_forwards", "800000x1x0")]


def test_a_failing_backfill_or_recovery_is_told_with_what_failed(running: Running) -> None:
    running.backend.unavailable = True

    with pytest.raises(BackendUnavailable):
        running.optimizer.backfill()

    assert running.kinds() == [("scheduler_failure", "backfill")]
    assert (
        "the backfill failed: BackendUnavailable" in running.notified[0]["lnopt_alert"]["message"]
    )
