"""A flood of ``forward_event`` notifications through the real plugin process: none lost, none
counted twice, and the plugin's methods keep answering while it lasts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.plugin_harness import (
    RPC_FILE,
    PluginProcess,
    forward_flood,
    wait_for,
)
from tests.standin_node import StandinNode, build_node

FORWARDS = 50_000  # an offered and a final event each: 100,000 notifications
CHUNK = 1_000  # notifications written at a time, so that method calls interleave
STALL_S = 5.0  # an answer slower than this means the dispatch loop stalled


def test_a_flood_of_forward_events_is_counted_exactly_while_methods_answer(ldir: Path) -> None:
    # Given a running plugin and 100,000 forward_event notifications for 50,000 forwards
    node = StandinNode(build_node(4, seed=9), ldir / RPC_FILE).start()
    plugin = PluginProcess(ldir).start()
    try:
        assert plugin.handshake({"lnopt-interval": 0}) is None
        channels = [c.short_channel_id or "" for c in node.state.channels]
        messages, finals, replay = forward_flood(channels, FORWARDS)
        assert len(messages) == 2 * FORWARDS

        # When they are written as fast as the pipe takes them, while lnopt-status is called
        def send() -> None:
            for start in range(0, len(messages), CHUNK):
                plugin.send_raw(messages[start : start + CHUNK])

        writer = threading.Thread(target=send)
        started = time.perf_counter()
        writer.start()
        latencies = []
        while writer.is_alive():
            asked = time.perf_counter()
            plugin.call("lnopt-status", timeout_s=STALL_S * 4)
            latencies.append(time.perf_counter() - asked)
            time.sleep(0.05)
        writer.join()
        counts = wait_for(
            lambda: (c := plugin.call("lnopt-status")["counts"])["forwards"] >= FORWARDS and c,
            timeout_s=120,
            what="every forward recorded",
        )
        elapsed = time.perf_counter() - started

        # And a hundredth of the final events arrives a second time
        plugin.send_raw(replay)
        plugin.call("lnopt-status")
        time.sleep(1.0)  # longer than the recorder's flush interval
        replayed = plugin.call("lnopt-status")["counts"]
    finally:
        plugin.close()
        node.stop()

    # Then every forward is counted once, by its final status
    assert counts["forwards"] == FORWARDS
    assert {k: counts[k] for k in ("settled", "failed", "local_failed")} == dict(finals)
    assert replayed == counts
    # And the plugin answered throughout (a generous bound: this catches a stall, no more)
    assert len(latencies) >= 2
    assert max(latencies) < STALL_S, f"lnopt-status took {max(latencies):.2f} s during the flood"
    print(
        f"\n{2 * FORWARDS} notifications recorded in {elapsed:.1f} s "
        f"({2 * FORWARDS / elapsed:,.0f}/s); lnopt-status during the flood: "
        f"{len(latencies)} calls, max {max(latencies) * 1000:.0f} ms"
    )
