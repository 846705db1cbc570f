"""The command line: ``python -m lnopt demo | score | sim compare | credentials``, and the
standalone runner's ``run`` and one-shot commands (:mod:`lnopt.runner.commands`).

``lnopt score --graph FILE --node ID`` scores a public node from gossip alone; without
``--graph``, ``lnopt score`` scores our own node through its backend (``--backend`` or the
settings file), as the plugin's ``lnopt-score`` does.
"""

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
from lnopt.errors import InvalidRequest, LnoptError
from lnopt.graph import NetworkGraph
from lnopt.render import score_table
from lnopt.rpc import recommendation_json, score_json
from lnopt.runner import commands as runner_commands
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
        help="score our node's channels (--backend), or a public node's from a listchannels file",
        description="With --backend (or a settings file): score our node's channels as the "
        "plugin's lnopt-score does, in JSON. With --graph FILE --node ID: score every channel "
        "of a public node from gossip alone; balances are unknown, so the liquidity part has "
        "low confidence.",
    )
    gossip = score.add_argument_group("a public node from gossip")
    gossip.add_argument("--graph", help="listchannels JSON file (.json or .json.gz)")
    gossip.add_argument("--node", help="the node id whose channels to score")
    gossip.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runner_commands.add_params(score, runner_commands.SCORE_PARAMS)
    runner_commands.add_settings_options(score)
    score.set_defaults(handler=_score_command)
    runner_commands.add_commands(commands)

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
    if args.graph is None and args.node is None:
        return runner_commands.score_command(args)
    if args.graph is None or args.node is None:
        raise InvalidRequest("score from gossip needs both --graph FILE and --node ID")
    node_settings = [
        flag for flag in runner_commands.given_settings(args) if flag != "--config"
    ] + (["--channel"] if hasattr(args, "channel") else [])
    if node_settings:
        raise InvalidRequest(
            f"score --graph scores a public node from gossip and takes only --node, --config "
            f"and --json, not {', '.join(node_settings)}; leave out --graph to score our "
            "node through its backend"
        )
    config = load_config(getattr(args, "setting_config", None))
    graph = NetworkGraph.load(args.graph)
    rows, table = score_from_gossip(graph, args.node, config)
    if args.json:
        print(json.dumps({"node": args.node, "channels": rows}, indent=2))
    else:
        print(table)
    return 0
