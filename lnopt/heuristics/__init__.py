"""The eight heuristics, each a pure function registered by name.

A heuristic takes a :class:`HeuristicContext` (one channel, its activity, the snapshot, the
graph metrics and the configuration) and returns a :class:`~lnopt.model.HeuristicScore`: a score
and a confidence in [0, 1], the raw values it used and a one-line explanation. Where data is
missing it falls back to a neutral score with low confidence; it never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lnopt.config import Config
from lnopt.graph import GraphMetrics
from lnopt.model import Channel, ChannelActivity, HeuristicScore, NodeSnapshot


@dataclass(frozen=True, slots=True)
class HeuristicContext:
    snapshot: NodeSnapshot
    channel: Channel
    activity: ChannelActivity
    metrics: GraphMetrics
    config: Config


Heuristic = Callable[[HeuristicContext], HeuristicScore]

REGISTRY: dict[str, Heuristic] = {}


def register(name: str) -> Callable[[Heuristic], Heuristic]:
    """Register a heuristic under ``name``; a duplicate name is a programming error."""

    def decorator(function: Heuristic) -> Heuristic:
        if name in REGISTRY:
            raise ValueError(f"heuristic {name!r} is registered twice")
        REGISTRY[name] = function
        return function

    return decorator


def clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def load_all() -> dict[str, Heuristic]:
    """Import every heuristic module so that each registers itself; return the registry."""
    from lnopt.heuristics import (  # noqa: F401
        activity,
        age,
        centrality,
        competitiveness,
        liquidity,
        peer_quality,
        position,
        reliability,
    )

    return REGISTRY
