"""The public channel graph, built from gossip in Core Lightning's ``listchannels`` shape.

Reads both the modern shape (every ``*_msat`` an integer) and the legacy one (``"50000000msat"``
strings and ``satoshis``). Topology metrics (betweenness, closeness, PageRank, clustering) are
expensive: :meth:`NetworkGraph.metrics` computes them once per topology, keyed by a fingerprint
of the channels (fees do not enter it), and says when and how they were computed.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from lnopt.errors import GraphError
from lnopt.model import ChannelPolicy


def parse_msat(value: Any, *, field_name: str) -> int:
    """An amount in msat from an integer or a legacy ``"1234msat"`` string."""
    if isinstance(value, bool):
        raise GraphError(f"{field_name}: expected an amount in msat, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value.removesuffix("msat")
        if digits.isdigit():
            return int(digits)
    raise GraphError(
        f"{field_name}: expected an integer or a string like '1000msat', got {value!r}"
    )


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """One direction of a public channel: ``source`` forwards to ``destination``."""

    short_channel_id: str
    source: str
    destination: str
    capacity_msat: int
    policy: ChannelPolicy
    active: bool
    last_update: int

    @classmethod
    def from_listchannels(cls, item: Mapping[str, Any]) -> GraphEdge:
        try:
            if "amount_msat" in item:
                capacity_msat = parse_msat(item["amount_msat"], field_name="amount_msat")
            else:
                capacity_msat = int(item["satoshis"]) * 1000
            htlc_max = item.get("htlc_maximum_msat")
            policy = ChannelPolicy(
                base_fee_msat=int(item["base_fee_millisatoshi"]),
                fee_ppm=int(item["fee_per_millionth"]),
                htlc_min_msat=parse_msat(
                    item.get("htlc_minimum_msat", 0), field_name="htlc_minimum_msat"
                ),
                htlc_max_msat=None
                if htlc_max is None
                else parse_msat(htlc_max, field_name="htlc_maximum_msat"),
                cltv_delta=int(item.get("delay", 0)),
            )
            return cls(
                short_channel_id=str(item["short_channel_id"]),
                source=str(item["source"]),
                destination=str(item["destination"]),
                capacity_msat=capacity_msat,
                policy=policy,
                active=bool(item.get("active", True)),
                last_update=int(item.get("last_update", 0)),
            )
        except KeyError as exc:
            raise GraphError(f"listchannels item lacks the field {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise GraphError(f"listchannels item has a malformed value: {exc}") from exc


@dataclass(frozen=True)
class GraphMetrics:
    """Topology metrics of every node, and how fresh and how exact they are."""

    fingerprint: str
    betweenness: Mapping[str, float]
    closeness: Mapping[str, float]
    pagerank: Mapping[str, float]
    clustering: Mapping[str, float]
    computed_at_s: float
    compute_s: float
    betweenness_samples: int | None  # None: exact
    closeness_samples: int | None  # None: exact

    def percentile(self, metric: str, node_id: str) -> float | None:
        """Share of nodes with a lower value of ``metric`` than ``node_id`` (None if unknown)."""
        values: Mapping[str, float] = getattr(self, metric)
        value = values.get(node_id)
        if value is None:
            return None
        ranked = _sorted_values(self, metric)
        return bisect.bisect_left(ranked, value) / max(1, len(ranked) - 1)

    def age_s(self, now_s: float) -> float:
        return max(0.0, now_s - self.computed_at_s)


_SORTED_CACHE: dict[tuple[str, str], list[float]] = {}


def _sorted_values(metrics: GraphMetrics, metric: str) -> list[float]:
    key = (metrics.fingerprint, metric)
    ranked = _SORTED_CACHE.get(key)
    if ranked is None:
        ranked = sorted(getattr(metrics, metric).values())
        _SORTED_CACHE[key] = ranked
    return ranked


class MetricsCache:
    """Remembers the metrics of the last few topologies, keyed by fingerprint and parameters."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, int | None, int], GraphMetrics] = OrderedDict()

    def get(self, key: tuple[str, int | None, int]) -> GraphMetrics | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, int | None, int], metrics: GraphMetrics) -> None:
        self._entries[key] = metrics
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


DEFAULT_METRICS_CACHE = MetricsCache()


class NetworkGraph:
    """The channel graph: directed edges with policies, and topology metrics on demand."""

    def __init__(self, edges: Iterable[GraphEdge]) -> None:
        self._edges: tuple[GraphEdge, ...] = tuple(edges)
        self._out: dict[str, list[GraphEdge]] = defaultdict(list)
        self._in: dict[str, list[GraphEdge]] = defaultdict(list)
        self._channels: dict[str, tuple[str, str, int]] = {}
        for edge in self._edges:
            self._out[edge.source].append(edge)
            self._in[edge.destination].append(edge)
            a, b = sorted((edge.source, edge.destination))
            self._channels[edge.short_channel_id] = (a, b, edge.capacity_msat)
        self._node_channels: dict[str, set[str]] = defaultdict(set)
        for scid, (a, b, _) in self._channels.items():
            self._node_channels[a].add(scid)
            self._node_channels[b].add(scid)
        self._fingerprint: str | None = None

    @classmethod
    def from_listchannels(cls, items: Iterable[Mapping[str, Any]]) -> NetworkGraph:
        return cls(GraphEdge.from_listchannels(item) for item in items)

    @classmethod
    def load(cls, path: str | Path) -> NetworkGraph:
        """Read a ``listchannels`` answer (``{"channels": [...]}`` or a bare list), gzip or not."""
        path = Path(path)
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as handle:
                document = json.load(handle)
        except OSError as exc:
            raise GraphError(f"cannot read graph file {path}: {exc}") from exc
        except ValueError as exc:
            raise GraphError(f"graph file {path} is not valid JSON: {exc}") from exc
        items = document.get("channels") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise GraphError(
                f"graph file {path} must hold a listchannels answer: "
                '{"channels": [...]} or a list of channel directions'
            )
        return cls.from_listchannels(items)

    # --- structure -------------------------------------------------------------------------

    @property
    def edges(self) -> tuple[GraphEdge, ...]:
        return self._edges

    @property
    def nodes(self) -> set[str]:
        return set(self._node_channels)

    @property
    def node_count(self) -> int:
        return len(self._node_channels)

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    def has_node(self, node_id: str) -> bool:
        return node_id in self._node_channels

    def degree(self, node_id: str) -> int:
        """Number of channels of the node."""
        return len(self._node_channels.get(node_id, ()))

    def node_capacity_msat(self, node_id: str) -> int:
        return sum(self._channels[scid][2] for scid in self._node_channels.get(node_id, ()))

    def peers(self, node_id: str) -> set[str]:
        peers: set[str] = set()
        for scid in self._node_channels.get(node_id, ()):
            a, b, _ = self._channels[scid]
            peers.add(b if a == node_id else a)
        return peers

    def edges_from(self, node_id: str) -> Sequence[GraphEdge]:
        return self._out.get(node_id, [])

    def edges_to(self, node_id: str) -> Sequence[GraphEdge]:
        return self._in.get(node_id, [])

    def policies_toward(
        self, node_id: str, *, exclude_source: str | None = None
    ) -> list[ChannelPolicy]:
        """Policies of the active channel directions that lead into ``node_id``.

        These are what a sender could use instead of us to reach that node.
        """
        return [
            edge.policy
            for edge in self._in.get(node_id, [])
            if edge.active and edge.source != exclude_source
        ]

    def with_edges(self, extra: Iterable[GraphEdge]) -> NetworkGraph:
        """A new graph with ``extra`` directions added (replacing any with the same key)."""
        added = {(edge.short_channel_id, edge.source): edge for edge in extra}
        kept = [e for e in self._edges if (e.short_channel_id, e.source) not in added]
        return NetworkGraph([*kept, *added.values()])

    @property
    def fingerprint(self) -> str:
        """Digest of the topology (channels, endpoints, capacities), independent of fees."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for scid in sorted(self._channels):
                a, b, capacity = self._channels[scid]
                digest.update(f"{scid}:{a}:{b}:{capacity};".encode())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def to_networkx(self) -> nx.Graph:
        """Undirected simple graph of the channels (parallel channels merged)."""
        graph = nx.Graph()
        graph.add_nodes_from(self._node_channels)
        graph.add_edges_from((a, b) for a, b, _ in self._channels.values())
        return graph

    # --- metrics ---------------------------------------------------------------------------

    def metrics(
        self,
        *,
        betweenness_samples: int | None = 256,
        seed: int = 7,
        cache: MetricsCache = DEFAULT_METRICS_CACHE,
    ) -> GraphMetrics:
        """Topology metrics, computed once per fingerprint and parameters.

        ``betweenness_samples`` source nodes (chosen with ``seed``) estimate betweenness and
        closeness; ``None`` or a number at least the node count computes them exactly.
        """
        key = (self.fingerprint, betweenness_samples, seed)
        found = cache.get(key)
        if found is None:
            found = _compute_metrics(self, betweenness_samples, seed)
            cache.put(key, found)
        return found


def _compute_metrics(graph: NetworkGraph, samples: int | None, seed: int) -> GraphMetrics:
    started = time.perf_counter()
    simple = graph.to_networkx()
    n = simple.number_of_nodes()
    exact = samples is None or samples >= n
    k = None if exact else samples
    if n == 0:
        empty: dict[str, float] = {}
        return GraphMetrics(graph.fingerprint, empty, empty, empty, empty, time.time(), 0.0, k, k)
    betweenness = nx.betweenness_centrality(simple, k=k, seed=seed, normalized=True)
    closeness = _closeness(simple, k, seed)
    pagerank = nx.pagerank(simple, alpha=0.85, tol=1e-6, max_iter=1000)
    clustering = nx.clustering(simple)
    return GraphMetrics(
        fingerprint=graph.fingerprint,
        betweenness=betweenness,
        closeness=closeness,
        pagerank=pagerank,
        clustering={node: float(value) for node, value in clustering.items()},
        computed_at_s=time.time(),
        compute_s=time.perf_counter() - started,
        betweenness_samples=k,
        closeness_samples=k,
    )


def _closeness(simple: nx.Graph, samples: int | None, seed: int) -> dict[str, float]:
    """Closeness (Wasserman-Faust, for disconnected graphs) from all or sampled sources."""
    nodes = list(simple.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    rows = [index[a] for a, b in simple.edges] + [index[b] for a, b in simple.edges]
    cols = [index[b] for a, b in simple.edges] + [index[a] for a, b in simple.edges]
    adjacency = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    rng = np.random.default_rng(seed)
    sources = np.arange(n) if samples is None else rng.choice(n, size=samples, replace=False)
    distances = shortest_path(adjacency, unweighted=True, directed=False, indices=sources)
    reachable = np.isfinite(distances)
    total = np.where(reachable, distances, 0.0).sum(axis=0)
    count = reachable.sum(axis=0) - np.isin(np.arange(n), sources)
    scale = (n - 1) / max(1, len(sources) - 1)
    closeness = np.zeros(n)
    positive = total > 0
    closeness[positive] = (count[positive] / total[positive]) * (
        count[positive] * scale / max(1, n - 1)
    )
    return {node: float(closeness[i]) for i, node in enumerate(nodes)}
