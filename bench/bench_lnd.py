"""LND backend benchmark: a full run on a node with 100 channels, over HTTPS on loopback.

Run with ``.venv/bin/python -m bench.bench_lnd`` (``--help`` for options). The LND REST stand-in
(``tests.standin_lnd``) serves a node with 100 channels and 3,000 forwards; with ``--graph`` the
2025 gossip snapshot (from ``$LNOPT_SHARED_DATA``, else ../shared/data) is added to its graph,
so ``/v1/graph`` is as large as a mainnet node's. The backend uses its default HTTP settings
(10 calls a second, bursts of 10).
Prints:

- a full run in auto mode (backfill of the forwarding history, then snapshot → score → decide
  → guard → execute): wall time and HTTP calls, and the calls per route;
- how the channels' policies are read: one ``/v1/graph`` read (what the backend does) against
  one ``/v1/graph/edge/{chan_id}`` read per channel, in calls and time.

Nothing here asserts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from lnopt.backends.lnd import LndBackend
from lnopt.backends.lnd_shapes import chan_id_of
from lnopt.config import default_config
from lnopt.model import Mode
from lnopt.service.optimizer import Optimizer
from lnopt.store import Store
from tests.conftest import GRAPH_2025
from tests.standin_lnd.fixtures import LndSetup, start_standin
from tests.standin_lnd.node import Edge, NodeState, Policy


def add_gossip(node: NodeState, path: Path) -> int:
    """Every channel of a ``listchannels`` snapshot as an LND edge; how many were added."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        items = json.load(handle)["channels"]
    by_scid: dict[str, dict[str, dict[str, object]]] = {}
    for item in items:
        by_scid.setdefault(item["short_channel_id"], {})[item["source"]] = item
    added = 0
    for scid, sides in by_scid.items():
        chan_id = chan_id_of(scid)
        if chan_id in node.edges:
            continue
        first = next(iter(sides.values()))
        node1, node2 = sorted((str(first["source"]), str(first["destination"])))
        policies = [_policy(sides[n]) if n in sides else None for n in (node1, node2)]
        node.edges[chan_id] = Edge(
            chan_id,
            f"{'0' * 63}1:{added % 4}",
            node1,
            node2,
            int(str(first["amount_msat"])) // 1000,
            policies[0],
            policies[1],
        )
        added += 1
    return added


def _policy(item: dict[str, object]) -> Policy:
    return Policy(
        fee_base_msat=int(str(item["base_fee_millisatoshi"])),
        fee_rate_ppm=int(str(item["fee_per_millionth"])),
        time_lock_delta=int(str(item["delay"])),
        min_htlc_msat=int(str(item["htlc_minimum_msat"])),
        max_htlc_msat=int(str(item["htlc_maximum_msat"])),
        disabled=not item["active"],
        last_update=int(str(item["last_update"])),
    )


def route_counts(setup: LndSetup, since: int) -> str:
    counts = Counter(
        r.path if not r.path.startswith("/v1/graph/edge/") else "/v1/graph/edge/{chan_id}"
        for r in setup.standin.requests[since:]
    )
    return ", ".join(f"{path} {n}" for path, n in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="add the 2025 mainnet gossip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        setup = start_standin(Path(directory), channels=100, forwards=3_000)
        try:
            if args.graph:
                print(f"  gossip edges added: {add_gossip(setup.standin.node, GRAPH_2025)}")
            backend = LndBackend(
                setup.standin.url, macaroon=setup.macaroon, tls_cert_pem=setup.tls.cert_pem
            )
            store = Store(Path(directory) / "lnopt.sqlite")
            optimizer = Optimizer(backend, store, default_config(), mode=Mode.AUTO)
            started = time.perf_counter()
            counted = optimizer.backfill()
            record = optimizer.run_once()
            elapsed = time.perf_counter() - started
            print(
                f"  full run (auto, 100 channels): {elapsed:.2f} s, {backend.calls} HTTP calls; "
                f"{counted} forwards counted, {record.decisions} decisions, "
                f"{record.changes} changes"
            )
            print(f"    per route: {route_counts(setup, 0)}")

            fresh = LndBackend(
                setup.standin.url, macaroon=setup.macaroon, tls_cert_pem=setup.tls.cert_pem
            )
            started = time.perf_counter()
            fresh.channels()
            graph_s = time.perf_counter() - started
            graph_calls = fresh.calls
            started = time.perf_counter()
            fresh._client.get("/v1/channels")
            fresh._client.get("/v1/fees")
            for chan_id in setup.standin.node.channels:
                fresh._client.get(f"/v1/graph/edge/{chan_id}")
            edges_s = time.perf_counter() - started
            print(
                f"  channels() via one /v1/graph read: {graph_calls} calls, {graph_s:.2f} s; "
                f"via /v1/graph/edge per channel: {fresh.calls - graph_calls} calls, "
                f"{edges_s:.2f} s"
            )
        finally:
            setup.standin.stop()


if __name__ == "__main__":
    main()
