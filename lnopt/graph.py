"""The public channel graph, built from gossip in Core Lightning's ``listchannels`` shape.

Reads both the modern shape (every ``*_msat`` an integer) and the legacy one (``"50000000msat"``
strings and ``satoshis``). Lookups by node (degree, capacity, peers, edges) are constant time.
Topology metrics (betweenness, closeness, PageRank, clustering) are expensive:
:meth:`NetworkGraph.metrics` computes them once per topology, keyed by a fingerprint of the
channels (fees do not enter it), and says when and how they were computed.

Betweenness and closeness come from one pass of Brandes' algorithm run level by level on a
sparse adjacency matrix, many sources at a time. From ``k`` sampled sources (picked exactly as
``networkx.betweenness_centrality(G, k=k, seed=seed)`` picks them) the betweenness estimate is
networkx's unbiased normalised one; closeness is Wasserman-Faust closeness with the number of
reachable nodes and their mean distance estimated from the same sources.
"""

from __future__ import annotations

import enum
import gzip
import hashlib
import json
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix

from lnopt.errors import GraphError, InvalidRequest
from lnopt.model import ChannelPolicy, parse_short_channel_id

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

# Cells (nodes x sources) of the dense matrices one Brandes batch or clustering chunk holds.
_BATCH_CELLS = 1 << 20
_PAGERANK_ALPHA = 0.85
_PAGERANK_TOL = 1e-10  # L1 change between iterations; the iteration contracts by alpha each step
_PAGERANK_MAX_ITER = 1000


class Metric(enum.StrEnum):
    """The per-node topology metrics of :class:`GraphMetrics`."""

    BETWEENNESS = "betweenness"
    CLOSENESS = "closeness"
    PAGERANK = "pagerank"
    CLUSTERING = "clustering"


def parse_msat(value: Any, *, field_name: str) -> int:
    """A non-negative amount in msat from an integer or a legacy ``"1234msat"`` string."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        digits = value.removesuffix("msat")
        if digits.isascii() and digits.isdigit():
            return int(digits)
    raise GraphError(
        f"{field_name}: expected a non-negative integer or a string like '1000msat', got {value!r}"
    )


def _integer(item: Mapping[str, Any], key: str, default: int | None = None) -> int:
    """A non-negative integer field; decimal strings (as LND's JSON writes them) are accepted."""
    value = item.get(key, default)
    if value is None:
        raise GraphError(f"lacks the field {key!r}")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GraphError(f"{key}: expected a non-negative integer, got {value!r}")
    return value


def _node(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        raise GraphError(f"lacks the field {key!r}")
    if not isinstance(value, str) or not value:
        raise GraphError(f"{key}: expected a node id, got {value!r}")
    return value


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
        """Read one ``listchannels`` item; :class:`GraphError` names the field at fault."""
        if not isinstance(item, Mapping):
            raise GraphError(f"expected a JSON object, got {type(item).__name__}")
        scid = item.get("short_channel_id")
        if scid is None:
            raise GraphError("lacks the field 'short_channel_id'")
        if not isinstance(scid, str):
            raise GraphError(f"short_channel_id: expected a string BLOCKxTXxOUT, got {scid!r}")
        try:
            parse_short_channel_id(scid)
        except ValueError as exc:
            raise GraphError(f"short_channel_id: {exc}") from exc
        source, destination = _node(item, "source"), _node(item, "destination")
        if source == destination:
            raise GraphError(f"channel {scid} joins node {source} to itself")
        if "amount_msat" in item:
            capacity_msat = parse_msat(item["amount_msat"], field_name="amount_msat")
        else:
            capacity_msat = _integer(item, "satoshis") * 1000
        active = item.get("active", True)
        if not isinstance(active, bool):
            raise GraphError(f"active: expected true or false, got {active!r}")
        htlc_max = item.get("htlc_maximum_msat")
        policy = ChannelPolicy(
            base_fee_msat=_integer(item, "base_fee_millisatoshi"),
            fee_ppm=_integer(item, "fee_per_millionth"),
            htlc_min_msat=parse_msat(
                item.get("htlc_minimum_msat", 0), field_name="htlc_minimum_msat"
            ),
            htlc_max_msat=None
            if htlc_max is None
            else parse_msat(htlc_max, field_name="htlc_maximum_msat"),
            cltv_delta=_integer(item, "delay", 0),
        )
        return cls(
            short_channel_id=scid,
            source=source,
            destination=destination,
            capacity_msat=capacity_msat,
            policy=policy,
            active=active,
            last_update=_integer(item, "last_update", 0),
        )


@dataclass(frozen=True)
class GraphMetrics:
    """Topology metrics of every node, and how fresh and how exact they are.

    ``stage_s`` says how long each stage of the computation took: ``paths`` (betweenness and
    closeness, one pass), ``pagerank`` and ``clustering``.
    """

    fingerprint: str
    betweenness: Mapping[str, float]
    closeness: Mapping[str, float]
    pagerank: Mapping[str, float]
    clustering: Mapping[str, float]
    computed_at_s: float
    compute_s: float
    betweenness_samples: int | None  # None: exact
    closeness_samples: int | None  # None: exact
    stage_s: Mapping[str, float] = field(default_factory=dict)
    _percentiles: dict[Metric, dict[str, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def values(self, metric: Metric | str) -> Mapping[str, float]:
        """The value of ``metric`` for every node."""
        return {
            Metric.BETWEENNESS: self.betweenness,
            Metric.CLOSENESS: self.closeness,
            Metric.PAGERANK: self.pagerank,
            Metric.CLUSTERING: self.clustering,
        }[_metric(metric)]

    def percentile(self, metric: Metric | str, node_id: str) -> float | None:
        """Share of the other nodes with a lower value of ``metric`` than ``node_id``.

        In [0, 1]: 0 for the lowest value, 1 for a unique highest; ``None`` for an unknown node.
        Constant time once a metric's ranks are known (they are computed on first use).
        """
        chosen = _metric(metric)
        ranks = self._percentiles.get(chosen)
        if ranks is None:
            ranks = _percentile_ranks(self.values(chosen))
            self._percentiles[chosen] = ranks
        return ranks.get(node_id)

    def age_s(self, now_s: float) -> float:
        """Seconds since the metrics were computed."""
        return max(0.0, now_s - self.computed_at_s)


def _metric(metric: Metric | str) -> Metric:
    try:
        return Metric(metric)
    except ValueError as exc:
        raise InvalidRequest(
            f"unknown graph metric {metric!r}; expected one of {[m.value for m in Metric]}"
        ) from exc


def _percentile_ranks(values: Mapping[str, float]) -> dict[str, float]:
    array = np.fromiter(values.values(), dtype=np.float64, count=len(values))
    below = np.searchsorted(np.sort(array), array, side="left")
    share = below / max(1, len(array) - 1)
    return dict(zip(values, share.tolist(), strict=True))


MetricsKey = tuple[str, int | None, int]


class MetricsCache:
    """Remembers the metrics of the last few topologies, keyed by fingerprint and parameters.

    Thread-safe; a computation for a key runs once, concurrent callers wait for its result.
    """

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._entries: OrderedDict[MetricsKey, GraphMetrics] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: MetricsKey) -> GraphMetrics | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: MetricsKey, metrics: GraphMetrics) -> None:
        with self._lock:
            self._entries[key] = metrics
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get_or_compute(self, key: MetricsKey, compute: Callable[[], GraphMetrics]) -> GraphMetrics:
        with self._lock:
            found = self.get(key)
            if found is None:
                found = compute()
                self.put(key, found)
            return found


DEFAULT_METRICS_CACHE = MetricsCache()


class NetworkGraph:
    """The channel graph: directed edges with policies, and topology metrics on demand.

    Of two directions with the same short channel id and source, the later ``last_update``
    wins. The two directions of a channel must agree on its endpoints and capacity.
    """

    def __init__(self, edges: Iterable[GraphEdge]) -> None:
        latest: dict[tuple[str, str], GraphEdge] = {}
        for edge in edges:
            key = (edge.short_channel_id, edge.source)
            kept = latest.get(key)
            if kept is None or edge.last_update >= kept.last_update:
                latest[key] = edge
        self._edges: tuple[GraphEdge, ...] = tuple(latest.values())
        out: dict[str, list[GraphEdge]] = {}
        into: dict[str, list[GraphEdge]] = {}
        self._channels: dict[str, tuple[str, str, int]] = {}
        for edge in self._edges:
            out.setdefault(edge.source, []).append(edge)
            into.setdefault(edge.destination, []).append(edge)
            a, b = sorted((edge.source, edge.destination))
            known = self._channels.setdefault(edge.short_channel_id, (a, b, edge.capacity_msat))
            if known != (a, b, edge.capacity_msat):
                raise GraphError(
                    f"the directions of channel {edge.short_channel_id} disagree on its "
                    "endpoints or capacity"
                )
        self._out = {node: tuple(found) for node, found in out.items()}
        self._in = {node: tuple(found) for node, found in into.items()}
        self._degree: dict[str, int] = {}
        self._capacity_msat: dict[str, int] = {}
        self._peers: dict[str, set[str]] = {}
        for a, b, capacity_msat in self._channels.values():
            for node, peer in ((a, b), (b, a)):
                self._degree[node] = self._degree.get(node, 0) + 1
                self._capacity_msat[node] = self._capacity_msat.get(node, 0) + capacity_msat
                self._peers.setdefault(node, set()).add(peer)
        self._fingerprint: str | None = None
        self._adjacency: csr_matrix | None = None

    @classmethod
    def from_listchannels(cls, items: Iterable[Mapping[str, Any]]) -> NetworkGraph:
        """Graph of ``listchannels`` items; a bad item is a :class:`GraphError` naming it."""
        edges = []
        for position, item in enumerate(items):
            try:
                edges.append(GraphEdge.from_listchannels(item))
            except GraphError as exc:
                raise GraphError(f"listchannels item {position}: {exc}") from exc
        return cls(edges)

    @classmethod
    def load(cls, path: str | Path) -> NetworkGraph:
        """Read a ``listchannels`` answer (``{"channels": [...]}`` or a bare list), gzip or not."""
        path = Path(path)
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, EOFError) as exc:
            raise GraphError(f"cannot read graph file {path}: {exc}") from exc
        except ValueError as exc:
            raise GraphError(f"graph file {path} is not valid JSON: {exc}") from exc
        items = document.get("channels") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise GraphError(
                f"graph file {path} must hold a listchannels answer: "
                '{"channels": [...]} or a list of channel directions'
            )
        try:
            return cls.from_listchannels(items)
        except GraphError as exc:
            raise GraphError(f"graph file {path}: {exc}") from exc

    # --- structure -------------------------------------------------------------------------

    @property
    def edges(self) -> tuple[GraphEdge, ...]:
        return self._edges

    @property
    def nodes(self) -> set[str]:
        """A new set of every node with a channel (use :meth:`has_node` to test one)."""
        return set(self._degree)

    @property
    def node_count(self) -> int:
        return len(self._degree)

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    def has_node(self, node_id: str) -> bool:
        return node_id in self._degree

    def degree(self, node_id: str) -> int:
        """Number of channels of the node (parallel channels counted each)."""
        return self._degree.get(node_id, 0)

    def node_capacity_msat(self, node_id: str) -> int:
        """Total capacity of the node's channels."""
        return self._capacity_msat.get(node_id, 0)

    def peers(self, node_id: str) -> set[str]:
        """A new set of the nodes the node has a channel with."""
        return set(self._peers.get(node_id, ()))

    def edges_from(self, node_id: str) -> Sequence[GraphEdge]:
        return self._out.get(node_id, ())

    def edges_to(self, node_id: str) -> Sequence[GraphEdge]:
        return self._in.get(node_id, ())

    def policies_toward(
        self, node_id: str, *, exclude_source: str | None = None
    ) -> list[ChannelPolicy]:
        """Policies of the active channel directions that lead into ``node_id``.

        These are what a sender could use instead of us to reach that node.
        """
        return [
            edge.policy
            for edge in self._in.get(node_id, ())
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
        graph.add_nodes_from(self._degree)
        graph.add_edges_from((a, b) for a, b, _ in self._channels.values())
        return graph

    @property
    def node_order(self) -> tuple[str, ...]:
        """Every node, in the order of the rows of :meth:`adjacency` and of :meth:`to_networkx`."""
        return tuple(self._degree)

    def adjacency(self) -> csr_matrix:
        """Symmetric 0/1 adjacency matrix of :meth:`to_networkx`, rows in :attr:`node_order`."""
        if self._adjacency is None:
            index = {node: i for i, node in enumerate(self._degree)}
            pairs = {(index[a], index[b]) for a, b, _ in self._channels.values()}
            first = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
            second = np.fromiter((j for _, j in pairs), dtype=np.int64, count=len(pairs))
            n = len(index)
            self._adjacency = csr_matrix(
                (np.ones(2 * len(pairs)), (np.r_[first, second], np.r_[second, first])),
                shape=(n, n),
            )
        return self._adjacency

    # --- metrics ---------------------------------------------------------------------------

    def metrics(
        self,
        *,
        betweenness_samples: int | None = 1024,
        seed: int = 7,
        cache: MetricsCache = DEFAULT_METRICS_CACHE,
    ) -> GraphMetrics:
        """Topology metrics, computed once per fingerprint and parameters.

        ``betweenness_samples`` source nodes (chosen with ``seed``) estimate betweenness and
        closeness; ``None``, 0 or a number at least the node count computes them exactly.
        """
        if betweenness_samples is not None and betweenness_samples < 0:
            raise InvalidRequest(
                f"betweenness_samples must be a positive number of nodes, or 0 or None for "
                f"exact metrics; got {betweenness_samples}"
            )
        exact = not betweenness_samples or betweenness_samples >= self.node_count
        samples = None if exact else betweenness_samples
        key = (self.fingerprint, samples, 0 if samples is None else seed)
        return cache.get_or_compute(key, lambda: _compute_metrics(self, samples, seed))


def _compute_metrics(graph: NetworkGraph, samples: int | None, seed: int) -> GraphMetrics:
    started = time.perf_counter()
    adjacency = graph.adjacency()
    nodes = graph.node_order
    n = len(nodes)
    if samples is None:
        sources: IntArray = np.arange(n, dtype=np.int64)
    else:
        sampler = random.Random(seed)  # noqa: S311 - reproducible sampling, not cryptography
        sources = np.array(sampler.sample(range(n), samples), dtype=np.int64)
    betweenness, closeness = path_centrality(adjacency, sources)
    paths_done = time.perf_counter()
    pagerank = _pagerank(adjacency)
    pagerank_done = time.perf_counter()
    clustering = _clustering(adjacency)
    finished = time.perf_counter()
    logger.info(
        "graph metrics fingerprint=%s nodes=%d samples=%s compute_s=%.2f",
        graph.fingerprint,
        n,
        samples,
        finished - started,
    )
    return GraphMetrics(
        fingerprint=graph.fingerprint,
        betweenness=dict(zip(nodes, betweenness.tolist(), strict=True)),
        closeness=dict(zip(nodes, closeness.tolist(), strict=True)),
        pagerank=dict(zip(nodes, pagerank.tolist(), strict=True)),
        clustering=dict(zip(nodes, clustering.tolist(), strict=True)),
        computed_at_s=time.time(),
        compute_s=finished - started,
        betweenness_samples=samples,
        closeness_samples=samples,
        stage_s={
            "paths": paths_done - started,
            "pagerank": pagerank_done - paths_done,
            "clustering": finished - pagerank_done,
        },
    )


def path_centrality(adjacency: csr_matrix, sources: IntArray) -> tuple[FloatArray, FloatArray]:
    """Normalised betweenness and Wasserman-Faust closeness of every node, from ``sources``.

    ``sources`` are distinct row indices of the symmetric 0/1 ``adjacency``; all rows give the
    exact values. From a uniform sample of ``k`` sources, a node's betweenness is its summed
    dependency over the ``k_v`` sources other than itself, divided by ``k_v (n - 2)``: averaged
    over all samples this is the exact value (networkx's estimator). Closeness is
    ``(r / d) * (r / k_v)``, where ``r`` of those sources reach the node at summed distance ``d``.
    """
    n = adjacency.shape[0]
    totals = np.zeros((3, n))
    width = max(1, _BATCH_CELLS // max(1, n))
    for start in range(0, len(sources), width):
        totals += _brandes_batch(adjacency, sources[start : start + width])
    dependency, distance, reached = totals
    others = np.full(n, float(len(sources)))
    others[sources] -= 1.0
    betweenness: FloatArray = np.divide(
        dependency, others * max(1, n - 2), out=np.zeros(n), where=(others > 0) & (n > 2)
    )
    closeness: FloatArray = np.divide(
        reached * reached, distance * others, out=np.zeros(n), where=distance > 0
    )
    return betweenness, closeness


def _brandes_batch(adjacency: csr_matrix, sources: IntArray) -> FloatArray:
    """Per node, over ``sources``: summed dependency, summed distance, sources reaching it.

    Brandes' algorithm from several sources at once, one BFS level per sparse product.

    Column ``b`` of the dense matrices belongs to ``sources[b]``; each level is kept as the
    flat indices of its cells, so every step but the matrix product touches only those. The
    carry of deeper levels stays in place: BFS neighbours differ by at most one level, so it
    never reaches the parents of the level being accumulated.
    """
    n, width = adjacency.shape[0], len(sources)
    sigma = np.zeros((n, width))
    unvisited = np.ones((n, width))
    frontier = np.zeros((n, width))
    sigma_flat, unvisited_flat = sigma.reshape(-1), unvisited.reshape(-1)
    level = sources * width + np.arange(width)
    sigma_flat[level] = 1.0
    unvisited_flat[level] = 0.0
    frontier.reshape(-1)[level] = 1.0
    levels = [level]
    sums = np.zeros((3, n))
    while True:
        frontier = adjacency @ frontier
        frontier *= unvisited
        level = np.flatnonzero(frontier)
        if level.size == 0:
            break
        sigma_flat[level] = frontier.reshape(-1)[level]
        unvisited_flat[level] = 0.0
        reached = np.bincount(level // width, minlength=n)
        sums[1] += len(levels) * reached
        sums[2] += reached
        levels.append(level)
    delta = np.zeros((n, width))
    delta_flat = delta.reshape(-1)
    carry = np.zeros((n, width))
    carry_flat = carry.reshape(-1)
    for depth in range(len(levels) - 1, 1, -1):
        children, parents = levels[depth], levels[depth - 1]
        carry_flat[children] = (1.0 + delta_flat[children]) / sigma_flat[children]
        pulled = (adjacency @ carry).reshape(-1)
        delta_flat[parents] += sigma_flat[parents] * pulled[parents]
    sums[0] = delta.sum(axis=1)
    return sums


def _pagerank(adjacency: csr_matrix) -> FloatArray:
    """PageRank of an undirected graph by power iteration (as networkx defines it).

    The iteration contracts by ``alpha`` at every step, so it converges on any graph, stars and
    other bipartite graphs included; should it not reach the tolerance, the last iterate is
    returned with a warning.
    """
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = degree == 0
    inverse = np.divide(1.0, degree, out=np.zeros(n), where=~dangling)
    rank = np.full(n, 1.0 / n)
    for _ in range(_PAGERANK_MAX_ITER):
        previous = rank
        rank = _PAGERANK_ALPHA * (adjacency @ (previous * inverse))
        rank += (_PAGERANK_ALPHA * previous[dangling].sum() + 1.0 - _PAGERANK_ALPHA) / n
        if np.abs(rank - previous).sum() < _PAGERANK_TOL:
            break
    else:
        logger.warning("pagerank did not converge in %d iterations", _PAGERANK_MAX_ITER)
    return rank / rank.sum()  # type: ignore[no-any-return]


def _clustering(adjacency: csr_matrix) -> FloatArray:
    """Local clustering coefficient of every node (triangles over pairs of neighbours)."""
    n = adjacency.shape[0]
    degree = np.diff(adjacency.indptr).astype(np.float64)
    closed = np.zeros(n)
    step = max(1, _BATCH_CELLS // max(1, n))
    for start in range(0, n, step):
        rows = adjacency[start : start + step]
        closed[start : start + step] = np.asarray((rows @ adjacency).multiply(rows).sum(axis=1))[
            :, 0
        ]
    pairs = degree * (degree - 1.0)
    clustering: FloatArray = np.divide(closed, pairs, out=np.zeros(n), where=pairs > 0)
    return clustering
