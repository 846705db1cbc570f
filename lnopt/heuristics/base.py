"""What every heuristic is built from: its context, the registry it joins, shared helpers.

A heuristic takes a :class:`HeuristicContext` (one channel, its activity, the snapshot, the
graph metrics and the configuration) and returns a :class:`~lnopt.model.HeuristicScore`: a score
and a confidence in [0, 1], the raw values it used and a one-line explanation. Where data is
missing it falls back to a neutral score with low confidence; it never raises.

Figures about the whole snapshot that several channels need (network-wide distributions) live in
a :class:`SnapshotFacts`, built once per snapshot by the scorer and shared through the context,
so that the work per channel stays proportional to the degree of its peer.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lnopt.config import Config
from lnopt.graph import GraphMetrics
from lnopt.model import Channel, ChannelActivity, HeuristicScore, RawValue
from lnopt.snapshot import NodeSnapshot

NEUTRAL_SCORE = 0.5
NO_DATA_CONFIDENCE = 0.1
# Percentiles over a graph of this many nodes or more are trusted fully; smaller graphs
# (regtest, tests, young simulations) give coarse percentiles and halve the confidence at most.
FULL_GRAPH_NODES = 100
BLOCKS_PER_DAY = 144


class SnapshotFacts:
    """Network-wide figures of one snapshot, each computed on first use and then kept."""

    def __init__(self, snapshot: NodeSnapshot) -> None:
        self._snapshot = snapshot

    @cached_property
    def node_capacities_msat(self) -> list[int]:
        """Total channel capacity of every node in the graph, ascending."""
        return self._snapshot.graph.sorted_node_capacities_msat()

    @cached_property
    def node_degrees(self) -> list[int]:
        """Channel count of every node in the graph, ascending."""
        return self._snapshot.graph.sorted_degrees()

    @cached_property
    def fee_ppm_p90(self) -> int | None:
        """90th percentile of the fee rate over active channel directions (None: no edge)."""
        rates = self._snapshot.graph.active_fee_rates_ppm()
        if not rates.size:
            return None
        at = min(rates.size - 1, (rates.size * 9) // 10)
        return int(np.partition(rates, at)[at])


@dataclass(frozen=True, slots=True)
class HeuristicContext:
    """What a heuristic sees of one channel; ``facts`` is shared by every channel of a run."""

    snapshot: NodeSnapshot
    channel: Channel
    activity: ChannelActivity
    metrics: GraphMetrics
    config: Config
    facts: SnapshotFacts | None = None

    @property
    def shared(self) -> SnapshotFacts:
        """The snapshot's shared figures (built here, uncached, when no scorer passed them)."""
        return self.facts if self.facts is not None else SnapshotFacts(self.snapshot)


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


def saturate(value: float, half: float) -> float:
    """Map ``value >= 0`` into [0, 1): 0 at 0, 0.5 at ``half``, approaching 1 beyond."""
    if value <= 0:
        return 0.0
    return value / (value + half)


def share_below(ascending: Sequence[float], value: float) -> float:
    """Share of ``ascending`` strictly below ``value`` (as :meth:`GraphMetrics.percentile`)."""
    return bisect.bisect_left(ascending, value) / max(1, len(ascending) - 1)


def share_text(share: float) -> str:
    """A share of nodes as a whole percent, never "100%" (the node itself is not above itself)."""
    return f"{min(99, int(share * 100))}%"


def graph_confidence(metrics: GraphMetrics, base: float) -> float:
    """``base`` scaled down for graphs too small for percentiles to mean much."""
    nodes = len(metrics.pagerank)
    return base * (0.5 + 0.5 * min(1.0, nodes / FULL_GRAPH_NODES))


def no_data(
    name: str,
    explanation: str,
    raw: Mapping[str, RawValue],
    *,
    confidence: float = NO_DATA_CONFIDENCE,
) -> HeuristicScore:
    """The neutral answer of a heuristic that lacks the data to judge."""
    return HeuristicScore(name, NEUTRAL_SCORE, confidence, dict(raw), explanation)


def peer_missing(name: str, peer_id: str) -> HeuristicScore:
    """The neutral answer when the peer is absent from the graph (private, or stale gossip)."""
    return no_data(
        name,
        f"peer {peer_id[:16]}... is not in the network graph: no data, neutral score",
        {"peer_in_graph": False},
    )


def format_sat(amount_msat: int) -> str:
    """An amount for an operator: ``850 msat``, ``1,234 sat``, ``120.0k sat``, ``5.0M sat``."""
    if abs(amount_msat) < 1000:
        return f"{amount_msat} msat"
    sat = amount_msat / 1000
    if abs(sat) < 10_000:
        return f"{sat:,.0f} sat"
    if abs(sat) < 1_000_000:
        return f"{sat / 1e3:.1f}k sat"
    if abs(sat) < 100_000_000:
        return f"{sat / 1e6:.1f}M sat"
    return f"{sat / 1e8:.2f} BTC"


def log_scale(value: float, full: float) -> float:
    """``log(1 + value) / log(1 + full)`` clamped to [0, 1]: 1 at ``full`` and beyond."""
    if value <= 0:
        return 0.0
    return clamp01(math.log1p(value) / math.log1p(full))


def age_blocks(snapshot: NodeSnapshot, channel: Channel) -> int | None:
    """Blocks since the channel's funding block (negative if the snapshot's height lags).

    None when the short channel id does not encode a block height.
    """
    try:
        funded_at = channel.funding_height
    except ValueError:
        return None
    return snapshot.block_height - funded_at
