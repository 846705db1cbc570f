"""``python -m tests.standin_node``: serve a stand-in node as its own process."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from tests.standin_node.server import StandinNode
from tests.standin_node.state import LEGACY, MODERN, NodeState, build_node


def main(argv: list[str] | None = None) -> None:
    """Serve a stand-in node as its own process until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.standin_node")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--calls", type=Path)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--forwards", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--legacy", action="store_true")
    args = parser.parse_args(argv)
    if args.state.exists():
        state = NodeState.from_json(json.loads(args.state.read_text()))
    else:
        state = build_node(args.channels, seed=args.seed, forwards=args.forwards)
    flavour = LEGACY if args.legacy else MODERN
    node = StandinNode(
        state, args.socket, flavour=flavour, state_file=args.state, calls_file=args.calls
    )
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    with node:
        node.persist()
        print(f"ready {args.socket}", flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
