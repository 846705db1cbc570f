"""Alerts, the channels left alone, metrics and the report's picture through the real plugin
protocol: lnopt_plugin.py as a subprocess against the stand-in node."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Launch
from tests.plugin_harness import (
    RPC_FILE,
    PluginErrorReply,
    PluginProcess,
    wait_for,
)
from tests.standin_node import StandinNode
from tests.test_plugin_process import scenario_state

INVALID_PARAMS = -32602


@pytest.fixture
def node(ldir: Path) -> Iterator[StandinNode]:
    standin = StandinNode(scenario_state(), ldir / RPC_FILE).start()
    yield standin
    standin.stop()


@pytest.fixture
def start(launch: Launch, node: StandinNode) -> Launch:
    """The plugin's launcher, with the stand-in node running."""
    return launch


def alerts_sent(plugin: PluginProcess) -> list[dict[str, Any]]:
    return [
        n["params"]["lnopt_alert"] for n in plugin.notifications if n["method"] == "lnopt_alert"
    ]


def test_a_fee_set_by_hand_is_left_alone_said_so_and_released(
    start: Any, node: StandinNode
) -> None:
    plugin = start({"lnopt-mode": "advise"})
    [changed] = [
        c for c in plugin.call("lnopt-apply", {"dryrun": False})["changes"] if c["status"] == "done"
    ][:1]
    scid = changed["short_channel_id"]
    # Given the operator then set that channel's fee by hand
    [ours] = [c for c in node.state.channels if c.short_channel_id == scid]
    ours.fee_ppm = 777

    # When lnopt plans again
    recommendations = plugin.call("lnopt-recommend")

    # Then recommend and status say the channel is left alone and why, and an alert went out
    [mark] = recommendations["hands_off"]
    assert mark["short_channel_id"] == scid and mark["node"]["fee_ppm"] == 777
    assert mark["expected"]["fee_ppm"] == changed["new"]["fee_ppm"]
    assert "changed outside lnopt" in mark["reason"]
    assert plugin.call("lnopt-status")["hands_off"] == [mark]
    alert = wait_for(lambda: alerts_sent(plugin), what="the alert")[0]
    assert (alert["kind"], alert["short_channel_id"]) == ("fee_changed_outside", scid)

    # When the operator releases it, it is lnopt's again; a second release is refused
    released = plugin.call("lnopt-release", {"channel": scid})
    assert released["released"]["short_channel_id"] == scid
    assert plugin.call("lnopt-status")["hands_off"] == []
    with pytest.raises(PluginErrorReply) as refused:
        plugin.call("lnopt-release", [scid])
    assert refused.value.code == INVALID_PARAMS and "is not left alone" in refused.value.message
    assert plugin.call("lnopt-alerts", {"limit": 5})["alerts"][0]["kind"] == "fee_changed_outside"


def test_the_report_draws_a_png_without_calling_the_node(
    start: Any, node: StandinNode, ldir: Path
) -> None:
    plugin = start()
    plugin.call("lnopt-recommend")
    node.clear_calls()

    answer = plugin.call("lnopt-report", {"days": 3, "png": str(ldir / "report.png")})

    data = (ldir / "report.png").read_bytes()
    assert answer["png"] == str(ldir / "report.png") and answer["days"] == 3
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", data[16:24]) == (1100, 880)
    assert node.calls == []
    with pytest.raises(PluginErrorReply) as refused:
        plugin.call("lnopt-report", {"png": str(ldir / "report.txt")})
    assert refused.value.code == INVALID_PARAMS and refused.value.message.startswith("png:")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_metrics_are_served_on_loopback_when_a_port_is_given(start: Any) -> None:
    port = free_port()
    plugin = start({"lnopt-metrics-port": port})
    plugin.call("setconfig", {"config": "lnopt-alert-max-per-hour", "val": "4"})
    with pytest.raises(PluginErrorReply) as refused:
        plugin.call("setconfig", {"config": "lnopt-alert-max-per-hour", "val": "-3"})
    assert "lnopt-alert-max-per-hour" in refused.value.message

    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)

    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"lnopt_decisions", "lnopt_forward_events", "lnopt_alerts"} <= names


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (
            {"lnopt-metrics-address": "localhost"},
            'lnopt-metrics-address must be an IP address (e.g. 127.0.0.1 or ::1); got "localhost"',
        ),
        (
            {"lnopt-metrics-port": 70000},
            "lnopt-metrics-port must be a whole number from 0 to 65535; got 70000",
        ),
        (
            {"lnopt-alert-webhook": "ftp://x"},
            "lnopt-alert-webhook must be an http:// or https:// URL with a host; got text of 7 "
            "characters",
        ),
        (
            {"lnopt-alert-max-per-hour": -1},
            "lnopt-alert-max-per-hour must be a whole number from 0 to 10000; got -1",
        ),
    ],
)
def test_bad_alert_and_metrics_options_disable_the_plugin_with_the_reason(
    ldir: Path, node: StandinNode, options: dict[str, Any], needle: str
) -> None:
    process = PluginProcess(ldir).start()
    try:
        result = process.handshake(options)
    finally:
        process.close()
    assert isinstance(result, dict) and needle in result["disable"]
