"""The command line: ``python -m lnopt demo | score | sim compare | credentials``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from lnopt import demo
from lnopt.backends.gossip import GossipBackend
from lnopt.config import Config, load_config
from lnopt.decisions import decide
from lnopt.demo import DemoParams
from lnopt.errors import LnoptError
from lnopt.graph import NetworkGraph
from lnopt.render import score_table
from lnopt.rpc import recommendation_json, score_json
from lnopt.scoring import score_channels
from lnopt.security import commands as security_commands
from lnopt.service import Recommendation
from lnopt.sim import commands as sim_commands
from lnopt.snapshot import NodeSnapshot


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except LnoptError as exc:
        print(f"lnopt: {exc}", file=sys.stderr)
        return 2
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lnopt", description="Explainable channel scoring and safe fee management."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="the main job on a generated network: scores, decisions, and a comparison",
        description="Generate a Lightning-like network, give our node about twenty channels and "
        "a history, show how lnopt scores them and what it decides, then compare it with the "
        "fee tools operators use today on the same payments.",
    )
    sim_commands.add_demo_arguments(demo)
    demo.add_argument("--json", action="store_true", help="print JSON instead of tables")
    demo.set_defaults(handler=_demo_command)

    score = commands.add_parser(
        "score",
        help="score a public node's channels from a listchannels file",
        description="Score every channel of NODE from gossip alone. Balances are unknown, so "
        "the liquidity part has low confidence.",
    )
    score.add_argument("--graph", required=True, help="listchannels JSON file (.json or .json.gz)")
    score.add_argument("--node", required=True, help="the node id whose channels to score")
    score.add_argument("--config", help="YAML file overriding the defaults")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.set_defaults(handler=_score_command)

    sim_commands.add_commands(commands)
    security_commands.add_commands(commands)
    return parser


def score_from_gossip(
    graph: NetworkGraph, node_id: str, config: Config
) -> tuple[list[dict[str, Any]], str]:
    """Scores and decisions for a public node: the JSON view and the table."""
    backend = GossipBackend(graph, node_id)
    info = backend.node_info()
    snapshot = NodeSnapshot(
        node_id=node_id,
        block_height=info.block_height,
        taken_at_s=max((edge.last_update for edge in graph.edges), default=0),
        channels=tuple(backend.channels()),
        activity={},
        graph=graph,
    )
    scores = score_channels(snapshot, config)
    decisions = decide(snapshot, scores, config)
    rows = [
        recommendation_json(Recommendation(decision=decision, score=score, guarded=None))
        | {"parts": score_json(score)["parts"]}
        for score, decision in zip(scores, decisions, strict=True)
    ]
    return rows, score_table(snapshot, scores, decisions)


def _demo_command(args: argparse.Namespace) -> int:
    params = DemoParams(
        seeds=args.seeds,
        nodes=args.nodes,
        days=args.days,
        payments=args.payments,
        workers=args.workers,
        plot_path=args.plot,
    )
    return demo.run(params, as_json_output=args.json)


def _score_command(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    graph = NetworkGraph.load(args.graph)
    rows, table = score_from_gossip(graph, args.node, config)
    if args.json:
        print(json.dumps({"node": args.node, "channels": rows}, indent=2))
    else:
        print(table)
    return 0
