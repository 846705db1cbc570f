"""lnopt's alerts reach another plugin through the real plugin protocol: lnopt declares the
``lnopt_alert`` notification topic and sends each alert on it; the harness relays it as
lightningd does (see :mod:`tests.plugin_harness`) to a small pyln-client plugin subscribed to
the topic (``tests/alert_subscriber.py``), running as a subprocess of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugin_harness import (
    RPC_FILE,
    PluginProcess,
    forward_event,
    wait_for,
)
from tests.standin_node import StandinNode, build_node

SUBSCRIBER = Path(__file__).with_name("alert_subscriber.py")


@pytest.fixture
def plugins(ldir: Path) -> Iterator[tuple[StandinNode, PluginProcess, PluginProcess]]:
    """The stand-in node, lnopt (3 failed forwards in an hour are a spike) and a subscriber."""
    node = StandinNode(build_node(2, seed=3), ldir / RPC_FILE).start()
    config = ldir / "lnopt.yaml"
    config.write_text("alerts:\n  failed_forwards: 3\n  failed_window_minutes: 60\n")
    subscriber = PluginProcess(ldir, plugin_path=SUBSCRIBER).start()
    lnopt = PluginProcess(ldir).start()
    try:
        assert subscriber.handshake() is None
        lnopt.relay_to(subscriber)
        assert lnopt.handshake({"lnopt-interval": 0, "lnopt-config": str(config)}) is None
        yield node, lnopt, subscriber
    finally:
        lnopt.close()
        subscriber.close()
        node.stop()


def fail_forwards(lnopt: PluginProcess, scid: str, ids: range) -> None:
    now = time.time()
    for n in ids:
        lnopt.send_forward_event(
            forward_event(n, "local_failed", out_channel=scid, received_time=now)
        )


def test_a_subscribed_plugin_receives_each_alert_once_with_lnopt_as_its_origin(
    plugins: tuple[StandinNode, PluginProcess, PluginProcess],
) -> None:
    node, lnopt, subscriber = plugins
    scid = str(node.state.channels[0].short_channel_id)
    assert {"method": "lnopt_alert"} in (lnopt.manifest or {})["notifications"]

    # When three forwards out of one channel fail within the hour
    fail_forwards(lnopt, scid, range(3))

    # Then the subscriber receives one lnopt_alert, sent by lnopt, naming the channel
    received = wait_for(
        lambda: subscriber.call("alerts-received")["received"], what="the alert to arrive"
    )
    [got] = received
    assert got["origin"] == "lnopt_plugin.py"
    assert got["alert"]["kind"] == "failed_forwards"
    assert got["alert"]["short_channel_id"] == scid
    assert got["alert"]["details"]["failures"] == 3
    # and the node's log has it at warn, and lnopt-alerts lists it
    logged = lnopt.wait_for_log("event=alert kind=failed_forwards")
    assert logged["level"] == "warn"
    [listed] = lnopt.call("lnopt-alerts")["alerts"]
    assert (listed["kind"], listed["short_channel_id"]) == ("failed_forwards", scid)

    # When three more fail: the same alert within the de-duplication window is not repeated
    fail_forwards(lnopt, scid, range(3, 6))
    wait_for(lambda: lnopt.call("lnopt-status")["counts"]["local_failed"] == 6)
    time.sleep(0.5)
    assert len(subscriber.call("alerts-received")["received"]) == 1
    assert len(lnopt.call("lnopt-alerts")["alerts"]) == 1


def test_a_notification_on_an_undeclared_topic_is_not_relayed(
    plugins: tuple[StandinNode, PluginProcess, PluginProcess],
) -> None:
    _, lnopt, subscriber = plugins
    # Given the harness relays only what the sender declared, as lightningd does
    lnopt.manifest = {**(lnopt.manifest or {}), "notifications": []}
    scid = "103x1x0"

    fail_forwards(lnopt, scid, range(3))

    wait_for(lambda: lnopt.dropped_notifications, what="the notification to be dropped")
    assert subscriber.call("alerts-received")["received"] == []
