"""LNbits benchmark: a fresh LNbits server's start, and a full auto run on 100 channels.

Run with ``.venv/bin/python -m bench.bench_lnbits`` (needs ``make lnbits-venv``). Prints:

- the first start of LNbits 1.6.2 on a fresh data folder (migrations included) until it
  answers HTTP, and a restart on the same folder;
- one full auto run of the Optimizer (snapshot, score, decide, guard, apply, verify) through
  the LNbits backend on a node of 100 channels: its time and the HTTP calls it made, then a
  second run (which finds nothing more to change) the same way. The client's rate limit
  (``--rate``, 10 calls a second by default) bounds the first run's time.

The node behind LNbits is the tests' in-memory node (``tests/lnbits_server``); nothing here
asserts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lnopt.backends.http import HttpSettings
from lnopt.backends.lnbits import LnbitsBackend
from lnopt.config import default_config
from lnopt.model import Mode
from lnopt.service import Optimizer
from lnopt.store import Store
from tests.lnbits_fixture import LnbitsServer, seed_node, set_up_accounts, write_graph_file


def line(name: str, value: str) -> None:
    print(f"  {name:<44} {value:>16}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument(
        "--rate", type=float, default=HttpSettings().rate_per_s, help="calls a second at most"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lnopt-bench-lnbits-"))
    server = LnbitsServer(root)
    seed_node(server.data_folder, channels=args.channels)
    try:
        line("LNbits first start (fresh data folder)", f"{server.start():.1f} s")
        accounts = set_up_accounts(server.base_url)
        server.kill()
        line("LNbits restart", f"{server.start():.1f} s")
        graph_file = write_graph_file(root / "graph.json", server.data_folder)
        settings = HttpSettings(rate_per_s=args.rate, burst=max(1, int(args.rate)))
        backend = LnbitsBackend(
            server.base_url, token=accounts.node_token, settings=settings, graph_file=graph_file
        )
        store = Store(root / "lnopt.sqlite3")
        service = Optimizer(backend, store, default_config(), mode=Mode.AUTO)
        for name in ("first auto run", "second auto run"):
            calls = backend.calls
            started = time.perf_counter()
            run = service.run_once()
            elapsed = time.perf_counter() - started
            line(f"{name}, {args.channels} channels", f"{elapsed:.2f} s")
            line("  HTTP calls / fee changes", f"{backend.calls - calls} / {run.changes}")
        store.close()
        backend.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
