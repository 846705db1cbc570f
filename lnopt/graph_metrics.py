"""Topology metrics of the channel graph: betweenness, closeness, PageRank and clustering.

They are expensive: :class:`MetricsCache` keeps them per topology (a fingerprint of the channels,
fees do not enter it) and :class:`GraphMetrics` says when and how they were computed. This
module works on a sparse adjacency matrix and a node order, as
:meth:`lnopt.graph.NetworkGraph.metrics` passes them in.

Betweenness and closeness come from one pass of Brandes' algorithm run level by level on a
sparse adjacency matrix, many sources at a time. From ``k`` sampled sources (picked exactly as
``networkx.betweenness_centrality(G, k=k, seed=seed)`` picks them) the betweenness estimate is
networkx's unbiased normalised one; closeness is Wasserman-Faust closeness with the number of
reachable nodes and their mean distance estimated from the same sources.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from lnopt.errors import InvalidRequest

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


def compute_metrics(
    adjacency: csr_matrix,
    nodes: Sequence[str],
    *,
    fingerprint: str,
    samples: int | None,
    seed: int,
) -> GraphMetrics:
    """Every metric of the graph with symmetric 0/1 ``adjacency`` (rows in ``nodes`` order).

    ``samples`` source nodes, drawn with ``seed``, estimate betweenness and closeness; with
    ``None`` every node is a source and the values are exact.
    """
    started = time.perf_counter()
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
        fingerprint,
        n,
        samples,
        finished - started,
    )
    return GraphMetrics(
        fingerprint=fingerprint,
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
