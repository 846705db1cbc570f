"""The alert detectors at their thresholds, and the gate that holds repeats and floods back.
Pure: given what the store and the node show, when a detector looks, then the alerts."""

from __future__ import annotations

import dataclasses

import pytest

from lnopt.alerts.draining import draining_channels
from lnopt.alerts.failures import FailureSpikeWatcher, failure_spikes
from lnopt.alerts.faults import breaker_open, scheduler_failure, store_failure
from lnopt.alerts.fees import changed_outside, fee_changed_alert
from lnopt.alerts.gate import AlertGate
from lnopt.alerts.offline import offline_peers
from lnopt.backends.http import BreakerState, BreakerStatus
from lnopt.config import AlertsConfig
from lnopt.errors import StoreError
from lnopt.model import Alert, AlertKind, ChannelState, Forward, ForwardStatus
from lnopt.store import ChannelObservation
from tests.factories import channel, policy

NOW = 1_760_000_000.0
HOUR = 3600.0
CAPACITY_MSAT = 5_000_000_000


def seen(
    ratio: float, *, hours_ago: float, scid: str, connected: bool = True
) -> ChannelObservation:
    return ChannelObservation(
        short_channel_id=scid,
        observed_s=NOW - hours_ago * HOUR,
        peer_id="03" + "11" * 32,
        capacity_msat=CAPACITY_MSAT,
        local_msat=int(CAPACITY_MSAT * ratio),
        connected=connected,
        base_fee_msat=1000,
        fee_ppm=100,
    )


# --- draining --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "now", "drains"),
    [(0.8, 0.5, True), (0.8, 0.51, False), (0.8, 0.49, True), (0.5, 0.8, False)],
)
def test_a_channel_drains_fast_once_its_share_fell_by_the_drop_ratio(
    earlier: float, now: float, drains: bool
) -> None:
    # Given a channel at `now` that a run saw at `earlier` five hours ago (window 6 h, drop 0.3)
    ours = channel(1, local_ratio=now)
    history = {ours.short_channel_id: [seen(earlier, hours_ago=5, scid=ours.short_channel_id)]}

    alerts = draining_channels([ours], history, AlertsConfig(), now_s=NOW)

    assert [a.kind for a in alerts] == ([AlertKind.CHANNEL_DRAINING] if drains else [])
    if drains:
        assert alerts[0].short_channel_id == ours.short_channel_id
        assert alerts[0].details["from_local_msat"] == int(CAPACITY_MSAT * earlier)


def test_a_fall_that_took_longer_than_the_window_is_not_fast() -> None:
    ours = channel(1, local_ratio=0.2)
    scid = ours.short_channel_id
    history = {scid: [seen(0.9, hours_ago=6.01, scid=scid), seen(0.45, hours_ago=5.99, scid=scid)]}

    # the 0.9 is older than 6 h; from 0.45 it fell by 0.25 only
    assert draining_channels([ours], history, AlertsConfig(), now_s=NOW) == []
    # at exactly the window's edge it counts
    history[scid][0] = seen(0.9, hours_ago=6, scid=scid)
    assert len(draining_channels([ours], history, AlertsConfig(), now_s=NOW)) == 1


def test_draining_is_off_with_a_window_of_zero_hours() -> None:
    ours = channel(1, local_ratio=0.0)
    history = {ours.short_channel_id: [seen(1.0, hours_ago=0, scid=ours.short_channel_id)]}
    config = AlertsConfig(drain_window_hours=0)
    assert draining_channels([ours], history, config, now_s=NOW) == []


# --- peers offline -----------------------------------------------------------------------------


@pytest.mark.parametrize(("hours", "alerted"), [(23.99, False), (24.0, True), (30.0, True)])
def test_a_peer_is_offline_for_long_after_the_configured_hours(hours: float, alerted: bool) -> None:
    down = channel(1, connected=False)
    since = {down.short_channel_id: NOW - hours * HOUR}

    alerts = offline_peers([down], since, AlertsConfig(), now_s=NOW)

    assert [a.subject for a in alerts] == ([down.peer_id] if alerted else [])


def test_a_peer_with_two_channels_offline_is_one_alert_and_a_connected_one_none() -> None:
    peer = "03" + "22" * 32
    first, second = channel(1, connected=False, peer=peer), channel(2, connected=False, peer=peer)
    back = channel(3, connected=True)
    closing = channel(4, connected=False, state=ChannelState.CLOSING)
    since = {ch.short_channel_id: NOW - 48 * HOUR for ch in (first, second, back, closing)}

    alerts = offline_peers([first, second, back, closing], since, AlertsConfig(), now_s=NOW)

    assert [(a.kind, a.peer_id) for a in alerts] == [(AlertKind.PEER_OFFLINE, peer)]
    assert alerts[0].details["offline_hours"] == 48.0


# --- failed forwards ---------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "alerted"), [(9, False), (10, True)])
def test_failed_forwards_are_a_spike_from_the_configured_count(
    failures: int, alerted: bool
) -> None:
    alerts = failure_spikes({"800000x1x0": failures}, AlertsConfig(), now_s=NOW)
    assert [a.short_channel_id for a in alerts] == (["800000x1x0"] if alerted else [])


def failed(
    n: int, at_s: float, *, out: str | None = "800000x1x0", status: str = "failed"
) -> Forward:
    return Forward(
        in_channel="800000x9x0",
        in_htlc_id=n,
        out_channel=out,
        in_msat=1_001_000,
        out_msat=1_000_000,
        fee_msat=1000,
        status=ForwardStatus(status),
        received_s=at_s - 1,
        resolved_s=at_s,
    )


def test_the_watcher_alerts_when_the_last_failures_fit_in_the_window() -> None:
    config = AlertsConfig(failed_forwards=3, failed_window_minutes=10)
    watcher = FailureSpikeWatcher(lambda: config, clock=lambda: NOW)
    # three failures spread over 10 min and 1 s: not yet a spike
    assert watcher.observe(failed(1, NOW - 601)) is None
    assert watcher.observe(failed(2, NOW - 300)) is None
    assert watcher.observe(failed(3, NOW)) is None
    # the fourth makes the last three fit in 10 min
    alert = watcher.observe(failed(4, NOW))
    assert alert is not None and alert.kind is AlertKind.FAILED_FORWARDS
    assert alert.details["failures"] == 3


def test_the_watcher_ignores_settled_old_and_unattributed_forwards() -> None:
    config = AlertsConfig(failed_forwards=2, failed_window_minutes=10)
    watcher = FailureSpikeWatcher(lambda: config, clock=lambda: NOW)
    assert watcher.observe(failed(1, NOW, status="settled")) is None
    assert watcher.observe(failed(2, NOW, status="settled")) is None
    assert watcher.observe(failed(3, NOW, out=None)) is None
    assert watcher.observe(failed(4, NOW, out=None)) is None
    assert watcher.observe(failed(5, NOW - 601)) is None  # replayed from long ago
    assert watcher.observe(failed(6, NOW - 601)) is None
    assert watcher.observe(failed(7, NOW, status="local_failed")) is None
    assert watcher.observe(failed(8, NOW, status="local_failed")) is not None


# --- fees changed outside lnopt ----------------------------------------------------------------


def test_a_fee_other_than_the_journal_left_is_changed_outside() -> None:
    kept = channel(1, fee_ppm=120, base_fee_msat=1000)
    moved = channel(2, fee_ppm=121, base_fee_msat=1000)
    rebased = channel(3, fee_ppm=120, base_fee_msat=999)
    never = channel(4, fee_ppm=5)  # lnopt never changed it: nothing expected
    htlc_only = dataclasses.replace(
        channel(5, fee_ppm=120), our_policy=policy(1000, 120, htlc_max_msat=10)
    )
    expected = {ch.short_channel_id: policy(1000, 120) for ch in (kept, moved, rebased, htlc_only)}

    found = changed_outside([kept, moved, rebased, never, htlc_only], expected)

    assert [ch.short_channel_id for ch, _ in found] == [
        moved.short_channel_id,
        rebased.short_channel_id,
    ]
    alert = fee_changed_alert(moved, expected[moved.short_channel_id], now_s=NOW)
    assert alert.details["node_fee_ppm"] == 121 and alert.details["expected_fee_ppm"] == 120
    assert f"lnopt-release {moved.short_channel_id}" in alert.message


# --- lnopt's own faults ------------------------------------------------------------------------


def breaker(state: BreakerState, failures: int = 5) -> BreakerStatus:
    return BreakerStatus(state, failures, opened_at_s=NOW - 10, last_error="HTTP 503")


def test_an_open_breaker_is_an_alert_and_a_closed_or_half_open_one_or_none_is_not() -> None:
    alert = breaker_open(breaker(BreakerState.OPEN), name="lnbits", now_s=NOW)
    assert alert is not None and alert.kind is AlertKind.BREAKER_OPEN
    assert "open after 5 failures in a row (last: HTTP 503)" in alert.message
    assert breaker_open(breaker(BreakerState.CLOSED, 0), name="lnbits", now_s=NOW) is None
    assert breaker_open(breaker(BreakerState.HALF_OPEN), name="lnbits", now_s=NOW) is None
    assert breaker_open(None, name="cln", now_s=NOW) is None


def test_store_and_scheduler_failures_name_what_failed() -> None:
    stored = store_failure(StoreError("disk full"), what="recording forwards", now_s=NOW)
    assert (stored.kind, stored.subject) == (AlertKind.STORE_FAILURE, "store")
    assert "recording forwards: disk full" in stored.message
    ran = scheduler_failure("backfill", ValueError("boom"), now_s=NOW)
    assert (ran.kind, ran.subject) == (AlertKind.SCHEDULER_FAILURE, "backfill")
    assert "the backfill failed: ValueError: boom" in ran.message


# --- the gate ----------------------------------------------------------------------------------


def alert(kind: AlertKind, subject: str, at_s: float) -> Alert:
    return Alert(kind=kind, subject=subject, message="m", raised_s=at_s)


def test_the_same_alert_is_held_within_the_dedup_window_and_let_through_after() -> None:
    gate = AlertGate(dedup_minutes=10, max_per_hour=100)
    first = alert(AlertKind.PEER_OFFLINE, "a", NOW)
    assert gate.admit(first) is None
    assert gate.admit(alert(AlertKind.PEER_OFFLINE, "a", NOW + 599)) is not None
    assert gate.admit(alert(AlertKind.PEER_OFFLINE, "b", NOW + 599)) is None  # other subject
    assert gate.admit(alert(AlertKind.CHANNEL_DRAINING, "a", NOW + 599)) is None  # other kind
    assert gate.admit(alert(AlertKind.PEER_OFFLINE, "a", NOW + 600)) is None


def test_at_most_the_hourly_cap_is_let_through_in_any_hour() -> None:
    gate = AlertGate(dedup_minutes=0, max_per_hour=3)
    times = [NOW, NOW + 10, NOW + 20]
    assert [gate.admit(alert(AlertKind.SCHEDULER_FAILURE, str(t), t)) for t in times] == [None] * 3
    refusal = gate.admit(alert(AlertKind.SCHEDULER_FAILURE, "x", NOW + 3599))
    assert refusal is not None and "max_per_hour" in refusal
    assert gate.admit(alert(AlertKind.SCHEDULER_FAILURE, "y", NOW + 3600)) is None


def test_a_seeded_gate_remembers_what_was_delivered_before_a_restart() -> None:
    gate = AlertGate(dedup_minutes=60, max_per_hour=10)
    gate.seed([alert(AlertKind.STORE_FAILURE, "store", NOW)])
    assert gate.admit(alert(AlertKind.STORE_FAILURE, "store", NOW + 60)) is not None
