"""Network graph benchmark on the real 2025 snapshot: speed, memory, and sampling accuracy.

Run with ``.venv/bin/python -m bench.bench_graph`` (``--help`` for options). Prints the graph
load time, cold metrics per stage, a warm (cached) metrics call, 1,000 warm channel lookups and
peak RSS beside their targets; then how far sampled betweenness is from exact on the induced
subgraph of the best-connected nodes (Spearman rank correlation, overlap of the top 100, time
and speed-up), and networkx's time for the same estimator. ``--full-exact`` also compares the
sampled betweenness of the whole graph with its exact value.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import networkx as nx
import numpy as np
from scipy.stats import spearmanr

from lnopt.config import default_config
from lnopt.graph import Metric, MetricsCache, NetworkGraph

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GRAPH_2025 = SHARED_DATA / "ln-graph-2025-10-25.listchannels.json.gz"
T = TypeVar("T")


def timed(function: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def row(label: str, figure: str, target: str = "") -> None:
    print(f"  {label:<44} {figure:>14}   {target}")


def speed_and_memory(graph: NetworkGraph, load_s: float, samples: int, seed: int) -> None:
    print(
        f"\n2025 snapshot: {graph.node_count:,} nodes, {graph.channel_count:,} channels, "
        f"{len(graph.edges):,} directions; betweenness/closeness from {samples} sampled sources"
    )
    row("graph load (JSON + parse + indexes)", f"{load_s:.2f} s", "target < 10 s")
    _, fingerprint_s = timed(lambda: graph.fingerprint)
    row("topology fingerprint", f"{fingerprint_s * 1000:.0f} ms")
    cache = MetricsCache()
    metrics, cold_s = timed(
        lambda: graph.metrics(betweenness_samples=samples, seed=seed, cache=cache)
    )
    row("cold metrics, all", f"{cold_s:.2f} s", "target < 60 s")
    for stage, stage_s in metrics.stage_s.items():
        row(f"  {stage}", f"{stage_s:.2f} s")
    row("  adjacency matrix (before the stages)", f"{cold_s - metrics.compute_s:.2f} s")
    nodes = list(graph.node_order)
    _, ranks_s = timed(lambda: [metrics.percentile(m, nodes[0]) for m in Metric])
    row("percentile ranks, first use (4 metrics)", f"{ranks_s * 1000:.0f} ms")
    warm, warm_s = timed(lambda: graph.metrics(betweenness_samples=samples, seed=seed, cache=cache))
    assert warm is metrics
    row("warm metrics (cache hit)", f"{warm_s * 1e6:.0f} us")
    peers = [nodes[i] for i in np.random.default_rng(seed).choice(len(nodes), 1000)]

    def lookups() -> None:
        for peer in peers:
            graph.degree(peer)
            graph.node_capacity_msat(peer)
            graph.policies_toward(peer, exclude_source=nodes[0])
            for metric in Metric:
                metrics.percentile(metric, peer)

    _, lookups_s = timed(lookups)
    row("1,000 peers: degree, capacity, fees, 4 ranks", f"{lookups_s * 1000:.1f} ms", "(< 1 s)")
    row("peak RSS (ru_maxrss)", f"{peak_rss_mb():.0f} MB", "target < 1,536 MB")


def best_connected(graph: NetworkGraph, count: int) -> NetworkGraph:
    """The subgraph induced by the ``count`` nodes of highest degree."""
    top = set(sorted(graph.node_order, key=graph.degree, reverse=True)[:count])
    return NetworkGraph(e for e in graph.edges if e.source in top and e.destination in top)


def agreement(
    exact: dict[str, float], sampled: dict[str, float], top: int = 100
) -> tuple[float, float]:
    """Spearman rank correlation, and the share of the exact top ``top`` in the sampled one."""
    nodes = list(exact)
    rho = float(spearmanr([exact[v] for v in nodes], [sampled[v] for v in nodes]).statistic)
    exact_top = set(sorted(nodes, key=exact.__getitem__, reverse=True)[:top])
    sampled_top = set(sorted(nodes, key=sampled.__getitem__, reverse=True)[:top])
    return rho, len(exact_top & sampled_top) / top


def accuracy(
    graph: NetworkGraph, label: str, sample_sizes: Sequence[int], seed: int, networkx_k: int
) -> None:
    print(f"\nSampled vs exact betweenness on {label}")
    exact, exact_s = timed(
        lambda: graph.metrics(betweenness_samples=None, cache=MetricsCache()).betweenness
    )
    print(f"  exact betweenness and the other metrics: {exact_s:.2f} s")
    print(f"  {'sources':>8} {'time':>8} {'speed-up':>9} {'spearman':>9} {'top-100 kept':>13}")
    for k in sample_sizes:
        metrics, k_s = timed(
            partial(graph.metrics, betweenness_samples=k, seed=seed, cache=MetricsCache())
        )
        rho, kept = agreement(dict(exact), dict(metrics.betweenness))
        print(f"  {k:>8} {k_s:>7.2f}s {exact_s / k_s:>8.1f}x {rho:>9.4f} {kept:>13.0%}")
    if networkx_k:
        simple = graph.to_networkx()
        ours, _ = timed(
            lambda: graph.metrics(betweenness_samples=networkx_k, seed=seed, cache=MetricsCache())
        )
        paths_s = ours.stage_s["paths"]
        theirs, theirs_s = timed(
            lambda: nx.betweenness_centrality(simple, k=networkx_k, seed=seed, normalized=True)
        )
        gap = max(abs(theirs[v] - ours.betweenness[v]) for v in theirs)
        print(
            f"  networkx betweenness_centrality, k={networkx_k}, same sources: {theirs_s:.2f} s; "
            f"ours (betweenness + closeness) {paths_s:.2f} s, {theirs_s / paths_s:.0f}x faster; "
            f"largest difference {gap:.1e}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=GRAPH_2025)
    parser.add_argument("--top-nodes", type=int, default=2500)
    parser.add_argument("--samples", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--networkx-k", type=int, default=128, help="0 to skip networkx")
    parser.add_argument("--full-exact", action="store_true", help="exact on the whole graph too")
    args = parser.parse_args(argv)
    config = default_config().graph
    graph, load_s = timed(lambda: NetworkGraph.load(args.graph))
    speed_and_memory(graph, load_s, config.betweenness_samples, config.seed)
    subgraph = best_connected(graph, args.top_nodes)
    accuracy(
        subgraph,
        f"the {subgraph.node_count:,} best-connected nodes "
        f"({subgraph.channel_count:,} channels among them)",
        args.samples,
        config.seed,
        args.networkx_k,
    )
    if args.full_exact:
        accuracy(graph, "the whole graph", args.samples, config.seed, networkx_k=0)


if __name__ == "__main__":
    main()
