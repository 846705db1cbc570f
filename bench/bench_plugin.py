"""Plugin benchmark: forward_event handling, lnopt-score on a large node, and start-up.

Run with ``.venv/bin/python -m bench.bench_plugin`` (``--help`` for options). Prints, beside
their targets:

- sustained ``forward_event`` notifications per second through the real plugin subprocess
  (until the dispatch loop has read them all, and until the store has counted them all);
- the time pyln's dispatch loop spends per event, in process (parse, dispatch, our handler);
- ``lnopt-score`` on a node with 1,000 channels: the first (cold) call and warm calls;
- start-up: process start until ``getmanifest`` and ``init`` are answered.

The stand-in node (``tests.standin_node``) serves the JSON-RPC socket; nothing here asserts.
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lnopt_plugin import LnoptApp, build_plugin
from tests.plugin_harness import (
    FEATURE_SET,
    RPC_FILE,
    PluginProcess,
    forward_flood,
    short_lightning_dir,
    wait_for,
)
from tests.standin_node import StandinNode, build_node

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GRAPH_2025 = SHARED_DATA / "ln-graph-2025-10-25.listchannels.json.gz"
CHUNK = 1_000
OPTIONS = {"lnopt-interval": 0}


def line(name: str, value: str, target: str = "") -> None:
    print(f"  {name:<44} {value:>16}   {target}")


def started(ldir: Path, options: dict[str, Any] | None = None) -> PluginProcess:
    plugin = PluginProcess(ldir).start()
    result = plugin.handshake(options or OPTIONS)
    if result is not None:
        raise SystemExit(f"the plugin disabled itself: {result}")
    return plugin


def bench_forward_events(forwards: int) -> None:
    """Notifications/s through the subprocess, while lnopt-status is asked now and then."""
    with short_lightning_dir() as ldir:
        node = StandinNode(build_node(8, seed=3), ldir / RPC_FILE).start()
        plugin = started(ldir)
        try:
            channels = [c.short_channel_id or "" for c in node.state.channels]
            messages, _, _ = forward_flood(channels, forwards)
            latencies: list[float] = []

            def send() -> None:
                for start in range(0, len(messages), CHUNK):
                    plugin.send_raw(messages[start : start + CHUNK])

            writer = threading.Thread(target=send)
            begun = time.perf_counter()
            writer.start()
            while writer.is_alive():
                asked = time.perf_counter()
                plugin.call("lnopt-status")
                latencies.append(time.perf_counter() - asked)
                time.sleep(0.1)
            writer.join()
            plugin.call("lnopt-status")  # read after every notification before it
            dispatched = time.perf_counter() - begun
            wait_for(
                lambda: plugin.call("lnopt-status")["counts"]["forwards"] >= forwards,
                timeout_s=600,
                what="every forward counted",
            )
            recorded = time.perf_counter() - begun
        finally:
            plugin.close()
            node.stop()
    n = len(messages)
    print(f"forward_event through the subprocess ({n:,} notifications, {forwards:,} forwards)")
    line("dispatched (read and handed to the recorder)", f"{n / dispatched:,.0f} /s", "≥ 5,000/s")
    line("recorded (counted in the store)", f"{n / recorded:,.0f} /s")
    line(
        "lnopt-status during the flood, median / max",
        f"{statistics.median(latencies) * 1e3:.0f} / {max(latencies) * 1e3:.0f} ms",
    )


class _NullStdout(io.TextIOWrapper):
    """Where the in-process plugin writes its answers and logs: nowhere."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO())


def bench_dispatch_loop(forwards: int) -> None:
    """Time pyln's dispatch loop spends per forward_event, in this process."""
    with short_lightning_dir() as ldir:
        node = StandinNode(build_node(8, seed=3), ldir / RPC_FILE).start()
        app = LnoptApp()
        plugin = build_plugin(app)
        plugin.stdout = _NullStdout()
        try:
            configuration = {
                "lightning-dir": str(ldir),
                "rpc-file": RPC_FILE,
                "startup": True,
                "network": "regtest",
                "feature_set": FEATURE_SET,
            }
            options = {"lnopt-mode": "shadow", **OPTIONS}
            if app.init(options, configuration) is not None:
                raise SystemExit("the plugin disabled itself")
            channels = [c.short_channel_id or "" for c in node.state.channels]
            messages, _, _ = forward_flood(channels, forwards)
            payloads = [message.rstrip(b"\n") for message in messages]
            plugin._getmanifest()  # pyln reads allow-deprecated-apis here
            begun = time.perf_counter()
            plugin._multi_dispatch([*payloads, b""])  # the loop body of Plugin.run
            elapsed = time.perf_counter() - begun
        finally:
            app.stop()
            node.stop()
    per_event_ms = elapsed / len(payloads) * 1e3
    print(f"dispatch loop, in process ({len(payloads):,} notifications)")
    line("time per forward_event", f"{per_event_ms:.3f} ms", "< 0.2 ms")
    line("events per second of dispatch time", f"{len(payloads) / elapsed:,.0f} /s")


def bench_score(channels: int, real_graph: bool, warm_calls: int) -> None:
    """lnopt-score of every channel: the first call computes the graph metrics, later are warm."""
    snapshot = GRAPH_2025 if real_graph else None
    state = build_node(channels, seed=4, snapshot=snapshot)
    with short_lightning_dir() as ldir:
        node = StandinNode(state, ldir / RPC_FILE).start()
        plugin = started(ldir)
        try:
            cold, result = timed(lambda: plugin.call("lnopt-score", timeout_s=600))
            warm = [timed(lambda: plugin.call("lnopt-score"))[0] for _ in range(warm_calls)]
        finally:
            plugin.close()
            node.stop()
    graph = result["graph"]
    source = "a slice of the 2025 snapshot" if real_graph else "a generated graph"
    print(
        f"lnopt-score, {len(result['channels']):,} channels, gossip from {source} "
        f"({graph['nodes']:,} nodes, {graph['channels']:,} channels)"
    )
    line("first call (reads gossip, computes metrics)", f"{cold:.2f} s")
    line("warm call, median / max", f"{statistics.median(warm):.2f} / {max(warm):.2f} s", "< 1 s")


def bench_startup(runs: int) -> None:
    """Process start until getmanifest and init are answered."""
    times = []
    for _ in range(runs):
        with short_lightning_dir() as ldir:
            node = StandinNode(build_node(10, seed=2), ldir / RPC_FILE).start()
            try:
                elapsed, plugin = timed(lambda: started(ldir))
                plugin.close()
            finally:
                node.stop()
        times.append(elapsed)
    print(f"start-up ({runs} runs)")
    line(
        "getmanifest + init answered, median / max",
        f"{statistics.median(times):.2f} / {max(times):.2f} s",
        "< 2 s",
    )


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    begun = time.perf_counter()
    result = function()
    return time.perf_counter() - begun, result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_plugin", description=__doc__)
    parser.add_argument("--forwards", type=int, default=50_000, help="forwards in the flood")
    parser.add_argument("--channels", type=int, default=1_000, help="channels for lnopt-score")
    parser.add_argument("--real-graph", action="store_true", help="gossip from the 2025 file")
    parser.add_argument("--warm-calls", type=int, default=3)
    parser.add_argument("--startups", type=int, default=5)
    args = parser.parse_args(argv)
    bench_startup(args.startups)
    bench_dispatch_loop(min(args.forwards, 20_000))
    bench_forward_events(args.forwards)
    bench_score(args.channels, args.real_graph, args.warm_calls)


if __name__ == "__main__":
    main()
