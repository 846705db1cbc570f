"""The network graph: reading gossip, lookups, topology metrics and their cache."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
import statistics
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from lnopt.errors import GraphError, InvalidRequest
from lnopt.graph import (
    GraphEdge,
    GraphMetrics,
    Metric,
    MetricsCache,
    NetworkGraph,
    parse_msat,
    path_centrality,
)
from tests import factories as f
from tests.conftest import GRAPH_2021, GRAPH_2025

A, B, C, D, E = (f.node_id(n) for n in range(1, 6))


@pytest.fixture(scope="session")
def graph_2025(shared_data: Path) -> NetworkGraph:
    return NetworkGraph.load(GRAPH_2025)


@pytest.fixture(scope="session")
def graph_2021(shared_data: Path) -> NetworkGraph:
    return NetworkGraph.load(GRAPH_2021)


def legacy(item: dict[str, Any]) -> dict[str, Any]:
    """The same direction as an older Core Lightning wrote it: msat strings and ``satoshis``."""
    old = dict(item)
    old["satoshis"] = item["amount_msat"] // 1000
    for key in ("amount_msat", "htlc_minimum_msat", "htlc_maximum_msat"):
        old[key] = f"{item[key]}msat"
    return old


def graph_of(simple: nx.Graph) -> NetworkGraph:
    """Both directions of one channel per edge of a networkx graph with integer nodes."""
    items = []
    for number, (a, b) in enumerate(simple.edges, start=1):
        items += f.both_directions(f"{800_000 + number}x1x0", f.node_id(a), f.node_id(b))
    return NetworkGraph.from_listchannels(items)


def by_node(graph: NetworkGraph, values: dict[Any, float]) -> dict[str, float]:
    return {f.node_id(node): value for node, value in values.items()}


# --- the real snapshots --------------------------------------------------------------------


def test_2025_snapshot_has_the_documented_size_and_fees(graph_2025: NetworkGraph) -> None:
    # Given the 2025 snapshot, whose facts /work/shared/data/README.md records
    # Then counts and the fee and capacity medians match them
    assert graph_2025.node_count == 12_827
    assert graph_2025.channel_count == 49_570
    assert len(graph_2025.edges) == 96_988
    channel_capacity_sat = {e.short_channel_id: e.capacity_msat // 1000 for e in graph_2025.edges}
    assert 2_000_000 <= statistics.median(channel_capacity_sat.values()) <= 2_100_000
    enabled_fees = [e.policy.fee_ppm for e in graph_2025.edges if e.active]
    assert statistics.median(enabled_fees) == 100
    assert sum(graph_2025.degree(node) for node in graph_2025.nodes) == 2 * 49_570


def test_2021_legacy_snapshot_reads_msat_strings(graph_2021: NetworkGraph) -> None:
    # Given the raw legacy items of the 2021 snapshot
    with gzip.open(GRAPH_2021, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)["channels"]
    # Then the graph has the documented size and every capacity is satoshis * 1000
    assert graph_2021.node_count == 8_827
    assert graph_2021.channel_count == 37_454
    assert isinstance(raw[0]["amount_msat"], str)
    capacity = {(e.short_channel_id, e.source): e.capacity_msat for e in graph_2021.edges}
    assert all(
        capacity[(item["short_channel_id"], item["source"])] == item["satoshis"] * 1000
        for item in raw
    )
    first = next(e for e in graph_2021.edges if e.short_channel_id == raw[0]["short_channel_id"])
    assert first.policy.htlc_max_msat == parse_msat(raw[0]["htlc_maximum_msat"], field_name="x")


def test_snapshot_lookups_agree_with_the_edges(graph_2025: NetworkGraph) -> None:
    # Given the best-connected node of the 2025 snapshot
    hub = max(graph_2025.nodes, key=graph_2025.degree)
    outgoing = graph_2025.edges_from(hub)
    # Then its capacity is that of its channels, and the fees toward it skip disabled ones
    channels = {e.short_channel_id: e.capacity_msat for e in outgoing}
    channels |= {e.short_channel_id: e.capacity_msat for e in graph_2025.edges_to(hub)}
    assert graph_2025.degree(hub) == len(channels) > 1000
    assert graph_2025.node_capacity_msat(hub) == sum(channels.values())
    inactive = [e for e in graph_2025.edges_to(hub) if not e.active]
    assert inactive
    assert len(graph_2025.policies_toward(hub)) == len(graph_2025.edges_to(hub)) - len(inactive)


def test_snapshot_metrics_are_cheap_with_few_samples_and_well_formed(
    graph_2025: NetworkGraph,
) -> None:
    # When metrics of the 2025 snapshot are computed from a few sources
    metrics = graph_2025.metrics(betweenness_samples=16, cache=MetricsCache())
    hub = max(graph_2025.nodes, key=graph_2025.degree)
    # Then every node has every metric, PageRank sums to one, and the hub ranks high
    assert metrics.betweenness_samples == 16
    for metric in Metric:
        assert set(metrics.values(metric)) == graph_2025.nodes
    assert sum(metrics.pagerank.values()) == pytest.approx(1.0)
    assert all(0.0 <= value <= 1.0 for value in metrics.clustering.values())
    assert (metrics.percentile(Metric.PAGERANK, hub) or 0.0) > 0.999
    assert (metrics.percentile(Metric.BETWEENNESS, hub) or 0.0) > 0.99


# --- reading gossip ------------------------------------------------------------------------


def test_legacy_and_modern_items_give_the_same_edge() -> None:
    # Given one direction in both shapes
    modern = f.gossip_item("812345x1020x1", A, B, capacity_msat=7_000_000_000, fee_ppm=321)
    # Then both read into the same edge
    edge = GraphEdge.from_listchannels(modern)
    assert GraphEdge.from_listchannels(legacy(modern)) == edge
    assert edge.capacity_msat == 7_000_000_000
    assert edge.policy.fee_ppm == 321


@given(
    capacity_sat=st.integers(min_value=1, max_value=21_000_000 * 10**8),
    htlc_min_msat=st.integers(min_value=0, max_value=10**9),
    base_fee_msat=st.integers(min_value=0, max_value=10**6),
    fee_ppm=st.integers(min_value=0, max_value=10**6),
)
def test_any_legacy_item_reads_as_its_modern_twin(
    capacity_sat: int, htlc_min_msat: int, base_fee_msat: int, fee_ppm: int
) -> None:
    modern = f.gossip_item(
        "700000x1x0",
        A,
        B,
        capacity_msat=capacity_sat * 1000,
        base_fee_msat=base_fee_msat,
        fee_ppm=fee_ppm,
    )
    modern["htlc_minimum_msat"] = htlc_min_msat
    assert GraphEdge.from_listchannels(legacy(modern)) == GraphEdge.from_listchannels(modern)


def test_integer_fields_may_be_decimal_strings() -> None:
    item = {**f.gossip_item("1x2x3", A, B), "fee_per_millionth": "250", "delay": "144"}
    policy = GraphEdge.from_listchannels(item).policy
    assert (policy.fee_ppm, policy.cltv_delta) == (250, 144)


def test_capacity_comes_from_satoshis_when_amount_msat_is_absent() -> None:
    item = legacy(f.gossip_item("1x2x3", A, B, capacity_msat=5_000_000))
    del item["amount_msat"]
    assert GraphEdge.from_listchannels(item).capacity_msat == 5_000_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": None}, "item 0: lacks the field 'source'"),
        ({"fee_per_millionth": None}, "lacks the field 'fee_per_millionth'"),
        ({"amount_msat": "50000000sat"}, "amount_msat: expected .* '1000msat', got '50000000sat'"),
        ({"amount_msat": -1}, "amount_msat: expected a non-negative integer"),
        ({"htlc_maximum_msat": "\uff11\uff10msat"}, "htlc_maximum_msat"),
        ({"base_fee_millisatoshi": True}, "base_fee_millisatoshi: expected a non-negative integer"),
        ({"fee_per_millionth": 1.5}, "fee_per_millionth: expected a non-negative integer"),
        ({"delay": "-40"}, "delay: expected a non-negative integer, got '-40'"),
        ({"active": "false"}, "active: expected true or false"),
        ({"short_channel_id": "812345:1:0"}, "is not a short channel id BLOCKxTXxOUT"),
        ({"short_channel_id": 812345}, "short_channel_id: expected a string"),
        ({"destination": A}, "joins node .* to itself"),
    ],
)
def test_a_malformed_item_is_a_graph_error_naming_the_field(
    change: dict[str, Any], message: str
) -> None:
    item = {**f.gossip_item("812345x1x0", A, B), **change}
    item = {key: value for key, value in item.items() if value is not None}
    with pytest.raises(GraphError, match=message):
        NetworkGraph.from_listchannels([item])


def test_the_error_names_the_position_of_the_bad_item() -> None:
    items: list[Any] = [*f.both_directions("1x1x1", A, B), "not an object"]
    with pytest.raises(GraphError, match="item 2: expected a JSON object, got str"):
        NetworkGraph.from_listchannels(items)


def test_directions_that_disagree_on_the_channel_are_refused() -> None:
    items = [f.gossip_item("1x1x1", A, B), f.gossip_item("1x1x1", C, A)]
    with pytest.raises(GraphError, match="directions of channel 1x1x1 disagree"):
        NetworkGraph.from_listchannels(items)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b'{"nodes": []}', "must hold a listchannels answer"),
        (b'[{"source": "x"}]', r"graph\.json: listchannels item 0: lacks the field"),
    ],
)
def test_a_bad_file_is_a_graph_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "graph.json"
    path.write_bytes(content)
    with pytest.raises(GraphError, match=message):
        NetworkGraph.load(path)


def test_a_missing_or_truncated_file_is_a_graph_error(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="cannot read graph file"):
        NetworkGraph.load(tmp_path / "absent.json")
    truncated = tmp_path / "graph.json.gz"
    truncated.write_bytes(gzip.compress(b'{"channels": []}')[:12])
    with pytest.raises(GraphError, match="cannot read graph file"):
        NetworkGraph.load(truncated)


def test_load_reads_plain_and_gzip_files_with_either_document_shape(tmp_path: Path) -> None:
    items = f.both_directions("1x1x1", A, B) + f.both_directions("2x1x1", B, C)
    (tmp_path / "bare.json").write_text(json.dumps(items))
    (tmp_path / "answer.json.gz").write_bytes(
        gzip.compress(json.dumps({"channels": items}).encode())
    )
    bare = NetworkGraph.load(tmp_path / "bare.json")
    answer = NetworkGraph.load(tmp_path / "answer.json.gz")
    assert bare.fingerprint == answer.fingerprint
    assert (bare.node_count, bare.channel_count) == (3, 2)


def test_a_newer_update_of_a_direction_replaces_the_older() -> None:
    old = f.gossip_item("1x1x1", A, B, fee_ppm=10)
    new = {**f.gossip_item("1x1x1", A, B, fee_ppm=20), "last_update": old["last_update"] + 1}
    for order in ([old, new], [new, old]):
        graph = NetworkGraph.from_listchannels(order)
        assert [e.policy.fee_ppm for e in graph.edges_from(A)] == [20]


# --- lookups -------------------------------------------------------------------------------


@pytest.fixture()
def small() -> NetworkGraph:
    """A has two parallel channels with B and one with C; D and E lead into C."""
    items = (
        f.both_directions("1x1x0", A, B, capacity_msat=1_000_000)
        + f.both_directions("2x1x0", A, B, capacity_msat=2_000_000)
        + f.both_directions("3x1x0", A, C, capacity_msat=4_000_000, fee_ppm=50)
        + [f.gossip_item("4x1x0", D, C, fee_ppm=70, active=False)]
        + [f.gossip_item("5x1x0", E, C, fee_ppm=90)]
    )
    return NetworkGraph.from_listchannels(items)


def test_degree_capacity_and_peers_count_every_channel(small: NetworkGraph) -> None:
    assert small.degree(A) == 3
    assert small.node_capacity_msat(A) == 7_000_000
    assert small.peers(A) == {B, C}
    assert small.degree(C) == 3
    assert small.node_capacity_msat(C) == 4_000_000 + 2 * 5_000_000_000
    assert small.peers(C) == {A, D, E}
    assert (small.node_count, small.channel_count, len(small.edges)) == (5, 5, 8)


def test_policies_toward_skip_inactive_directions_and_the_excluded_source(
    small: NetworkGraph,
) -> None:
    # Given C is reached from A (50 ppm), from D (disabled) and from E (90 ppm)
    # When we ask what others charge toward C, leaving A out
    fees = [p.fee_ppm for p in small.policies_toward(C, exclude_source=A)]
    # Then only E's active direction remains
    assert fees == [90]
    assert sorted(p.fee_ppm for p in small.policies_toward(C)) == [50, 90]


def test_an_unknown_node_has_nothing(small: NetworkGraph) -> None:
    stranger = f.node_id(99)
    assert not small.has_node(stranger)
    assert small.degree(stranger) == 0
    assert small.node_capacity_msat(stranger) == 0
    assert small.peers(stranger) == set()
    assert list(small.edges_from(stranger)) == list(small.edges_to(stranger)) == []
    assert small.policies_toward(stranger) == []
    metrics = small.metrics(cache=MetricsCache())
    assert metrics.percentile(Metric.BETWEENNESS, stranger) is None


def test_lookups_return_copies_the_caller_may_change(small: NetworkGraph) -> None:
    small.peers(A).add(E)
    small.nodes.add(f.node_id(99))
    assert small.peers(A) == {B, C}
    assert small.node_count == 5


def test_an_empty_graph_works() -> None:
    graph = NetworkGraph([])
    metrics = graph.metrics(cache=MetricsCache())
    assert (graph.node_count, graph.channel_count, graph.nodes) == (0, 0, set())
    assert graph.to_networkx().number_of_nodes() == 0
    assert all(not metrics.values(metric) for metric in Metric)
    assert metrics.percentile(Metric.CLOSENESS, A) is None
    assert graph.fingerprint == NetworkGraph.from_listchannels([]).fingerprint


# --- fingerprint and cache -----------------------------------------------------------------


def test_metrics_are_cached_by_topology_not_by_fees(small: NetworkGraph) -> None:
    cache = MetricsCache()
    first = small.metrics(cache=cache)
    # When the same graph is asked again, or after a fee change
    again = small.metrics(cache=cache)
    repriced_item = f.gossip_item("3x1x0", A, C, capacity_msat=4_000_000, fee_ppm=999)
    repriced = small.with_edges([GraphEdge.from_listchannels(repriced_item)])
    # Then the same metrics object comes back
    assert again is first
    assert [p.fee_ppm for p in repriced.policies_toward(C, exclude_source=E)] == [999]
    assert repriced.fingerprint == small.fingerprint
    assert repriced.metrics(cache=cache) is first
    # When a channel is added, the topology and its metrics are new
    grown = small.with_edges([GraphEdge.from_listchannels(f.gossip_item("6x1x0", B, E))])
    assert grown.fingerprint != small.fingerprint
    fresh = grown.metrics(cache=cache)
    assert fresh is not first
    assert fresh.fingerprint == grown.fingerprint
    assert fresh.betweenness[B] > first.betweenness[B]


def test_a_repriced_graph_reads_as_one_built_from_its_edges(small: NetworkGraph) -> None:
    # Given one direction repriced and one direction switched off, both of known channels
    repriced = GraphEdge.from_listchannels(
        f.gossip_item("3x1x0", A, C, capacity_msat=4_000_000, fee_ppm=999)
    )
    switched_off = dataclasses.replace(small.edges_from(B)[0], active=False)
    before = {(e.short_channel_id, e.source): e for e in small.edges}
    replaced = {(e.short_channel_id, e.source) for e in (repriced, switched_off)}
    rates_before = sorted(small.active_fee_rates_ppm().tolist())
    # When they replace their directions
    changed = small.with_edges([repriced, switched_off])
    rebuilt = NetworkGraph(
        [e for key, e in before.items() if key not in replaced] + [repriced, switched_off]
    )
    # Then every read matches a graph built from the resulting directions
    assert sorted(changed.edges, key=_key) == sorted(rebuilt.edges, key=_key)
    for node in small.nodes:
        assert sorted(changed.edges_from(node), key=_key) == sorted(
            rebuilt.edges_from(node), key=_key
        )
        assert sorted(changed.edges_to(node), key=_key) == sorted(rebuilt.edges_to(node), key=_key)
        assert Counter(changed.policies_toward(node)) == Counter(rebuilt.policies_toward(node))
        assert (changed.degree(node), changed.peers(node)) == (
            rebuilt.degree(node),
            rebuilt.peers(node),
        )
    assert [p.fee_ppm for p in changed.policies_toward(C, exclude_source=E)] == [999]
    assert [e.active for e in changed.edges_from(B) if _key(e) == _key(switched_off)] == [False]
    assert (changed.node_order, changed.fingerprint) == (small.node_order, small.fingerprint)
    for graph in (changed, NetworkGraph(small.edges).with_edges([repriced, switched_off])):
        assert sorted(graph.active_fee_rates_ppm().tolist()) == sorted(
            rebuilt.active_fee_rates_ppm().tolist()
        )
        assert graph.sorted_node_capacities_msat() == rebuilt.sorted_node_capacities_msat()
        assert graph.sorted_degrees() == rebuilt.sorted_degrees()
    assert sorted(small.active_fee_rates_ppm().tolist()) == rates_before
    # and the graph it came from is unchanged
    assert {(e.short_channel_id, e.source): e for e in small.edges} == before


def _key(edge: GraphEdge) -> tuple[str, str]:
    return (edge.short_channel_id, edge.source)


def test_a_direction_that_disagrees_with_its_channel_is_refused(small: NetworkGraph) -> None:
    resized = GraphEdge.from_listchannels(f.gossip_item("3x1x0", A, C, capacity_msat=5_000_000))
    with pytest.raises(GraphError, match="3x1x0 disagree"):
        small.with_edges([resized])


def test_cache_keeps_the_most_recently_used_entries() -> None:
    cache = MetricsCache(size=2)
    graphs = [graph_of(nx.path_graph(n)) for n in (3, 4, 5)]
    first = graphs[0].metrics(cache=cache)
    graphs[1].metrics(cache=cache)
    assert graphs[0].metrics(cache=cache) is first  # now the most recent
    graphs[2].metrics(cache=cache)  # evicts graphs[1]
    assert graphs[0].metrics(cache=cache) is first
    assert cache.get((graphs[1].fingerprint, None, 0)) is None


def test_concurrent_callers_compute_once() -> None:
    cache = MetricsCache()
    graph = graph_of(nx.path_graph(6))
    computed: list[GraphMetrics] = []

    def compute() -> GraphMetrics:
        computed.append(graph.metrics(cache=MetricsCache()))
        return computed[-1]

    results: list[GraphMetrics] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute(("k", 1, 1), compute)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(computed) == 1
    assert all(result is computed[0] for result in results)


def test_sample_counts_that_cover_the_graph_are_exact(small: NetworkGraph) -> None:
    cache = MetricsCache()
    exact = small.metrics(betweenness_samples=None, cache=cache)
    assert small.metrics(betweenness_samples=0, cache=cache) is exact
    assert small.metrics(betweenness_samples=5, seed=3, cache=cache) is exact
    assert exact.betweenness_samples is None and exact.closeness_samples is None
    assert small.metrics(betweenness_samples=2, cache=cache).betweenness_samples == 2
    with pytest.raises(InvalidRequest, match="betweenness_samples must be a positive number"):
        small.metrics(betweenness_samples=-1, cache=cache)


def test_metrics_say_how_fresh_they_are(small: NetworkGraph) -> None:
    metrics = small.metrics(cache=MetricsCache())
    assert metrics.age_s(metrics.computed_at_s + 90.0) == 90.0
    assert metrics.age_s(metrics.computed_at_s - 5.0) == 0.0
    assert sum(metrics.stage_s.values()) == pytest.approx(metrics.compute_s)
    assert set(metrics.stage_s) == {"paths", "pagerank", "clustering"}


# --- metrics against networkx --------------------------------------------------------------


def small_graphs() -> list[nx.Graph]:
    disconnected = nx.disjoint_union(nx.cycle_graph(7), nx.barbell_graph(4, 3))
    return [
        nx.barabasi_albert_graph(120, 2, seed=1),
        nx.connected_watts_strogatz_graph(80, 4, 0.2, seed=2),
        disconnected,
        nx.star_graph(9),
    ]


@pytest.mark.parametrize(
    "simple", small_graphs(), ids=["scale-free", "small-world", "split", "star"]
)
def test_exact_metrics_equal_networkx(simple: nx.Graph) -> None:
    graph = graph_of(simple)
    metrics = graph.metrics(betweenness_samples=None, cache=MetricsCache())
    expected = {
        Metric.BETWEENNESS: nx.betweenness_centrality(simple),
        Metric.CLOSENESS: nx.closeness_centrality(simple, wf_improved=True),
        Metric.PAGERANK: nx.pagerank(simple, tol=1e-13, max_iter=10_000),
        Metric.CLUSTERING: nx.clustering(simple),
    }
    for metric, values in expected.items():
        assert metrics.values(metric) == pytest.approx(by_node(graph, values), abs=1e-9)


def test_sampled_betweenness_is_networkx_estimate_for_the_same_seed() -> None:
    simple = nx.barabasi_albert_graph(150, 2, seed=4)
    graph = graph_of(simple)
    metrics = graph.metrics(betweenness_samples=30, seed=11, cache=MetricsCache())
    expected = nx.betweenness_centrality(graph.to_networkx(), k=30, seed=11)
    assert metrics.betweenness == pytest.approx(expected, abs=1e-12)


def test_sampled_betweenness_ranks_nodes_like_exact() -> None:
    graph = graph_of(nx.barabasi_albert_graph(400, 2, seed=5))
    exact = graph.metrics(betweenness_samples=None, cache=MetricsCache())
    sampled = graph.metrics(betweenness_samples=100, seed=7, cache=MetricsCache())
    nodes = list(exact.betweenness)
    for metric in (Metric.BETWEENNESS, Metric.CLOSENESS):
        rho = spearmanr(
            [exact.values(metric)[v] for v in nodes], [sampled.values(metric)[v] for v in nodes]
        ).statistic
        assert rho > 0.9, metric


def test_sampled_betweenness_averages_to_exact_over_every_sample() -> None:
    # Given a small graph and every set of 3 sources out of its 7 nodes
    simple = nx.Graph([(0, 1), (1, 2), (2, 3), (3, 0), (2, 4), (4, 5), (5, 6), (6, 4)])
    graph = graph_of(simple)
    adjacency = graph.adjacency()
    n = adjacency.shape[0]
    exact, _ = path_centrality(adjacency, np.arange(n))
    samples = [np.array(s) for s in itertools.combinations(range(n), 3)]
    # Then the estimates average to the exact betweenness (the estimator is unbiased)
    mean = np.mean([path_centrality(adjacency, s)[0] for s in samples], axis=0)
    np.testing.assert_allclose(mean, exact, atol=1e-12)
    assert exact.max() > 0


def test_sampled_closeness_of_a_node_outside_the_sample_counts_all_sources() -> None:
    # Given a disconnected graph and every node but one as a source
    simple = nx.disjoint_union(nx.path_graph(5), nx.complete_graph(4))
    graph = graph_of(simple)
    exact = by_node(graph, nx.closeness_centrality(simple))
    adjacency = graph.adjacency()
    for left_out, node in enumerate(graph.node_order):
        sources = np.array([i for i in range(adjacency.shape[0]) if i != left_out])
        # Then that node's estimate is its exact Wasserman-Faust closeness
        _, closeness = path_centrality(adjacency, sources)
        assert closeness[left_out] == pytest.approx(exact[node], abs=1e-12)


def test_pagerank_converges_on_a_large_star() -> None:
    # Given a star with m leaves, whose PageRank has a closed form
    m, alpha = 2000, 0.85
    graph = graph_of(nx.star_graph(m))
    pagerank = graph.metrics(cache=MetricsCache()).pagerank
    center = (1 + alpha * m) / ((m + 1) * (1 + alpha))
    assert pagerank[f.node_id(0)] == pytest.approx(center, rel=1e-9)
    assert pagerank[f.node_id(1)] == pytest.approx((1 - center) / m, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    edges=st.lists(
        st.tuples(st.integers(0, 14), st.integers(0, 14)).filter(lambda e: e[0] != e[1]),
        min_size=1,
        max_size=40,
    ),
    samples=st.integers(1, 15),
)
def test_metrics_of_any_small_graph_are_bounded_and_exact_matches_networkx(
    edges: list[tuple[int, int]], samples: int
) -> None:
    simple = nx.Graph(edges)
    graph = graph_of(simple)
    exact = graph.metrics(betweenness_samples=None, cache=MetricsCache())
    assert exact.betweenness == pytest.approx(by_node(graph, nx.betweenness_centrality(simple)))
    assert exact.closeness == pytest.approx(by_node(graph, nx.closeness_centrality(simple)))
    sampled = graph.metrics(betweenness_samples=samples, cache=MetricsCache())
    for metric in (Metric.BETWEENNESS, Metric.CLOSENESS):
        assert all(0.0 <= value <= 1.0 for value in sampled.values(metric).values())


# --- percentiles ---------------------------------------------------------------------------


def metrics_with(values: dict[str, float]) -> GraphMetrics:
    return GraphMetrics("fp", values, values, values, values, 0.0, 0.0, None, None)


def test_percentile_runs_from_lowest_to_highest_and_ties_share_a_rank() -> None:
    metrics = metrics_with({"a": 0.0, "b": 0.0, "c": 0.5, "d": 0.9, "e": 0.2})
    ranks = {node: metrics.percentile(Metric.CLOSENESS, node) for node in "abcde"}
    assert ranks == {"a": 0.0, "b": 0.0, "e": 0.5, "c": 0.75, "d": 1.0}
    assert metrics.percentile("clustering", "d") == 1.0


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="unknown graph metric 'fingerprint'"):
        metrics_with({"a": 1.0}).percentile("fingerprint", "a")


@given(st.dictionaries(st.text(min_size=1, max_size=4), st.floats(0, 1), min_size=1))
def test_percentile_is_within_bounds_and_follows_the_value(values: dict[str, float]) -> None:
    metrics = metrics_with(values)
    ranks: dict[str, float] = {}
    for node in values:
        rank = metrics.percentile(Metric.PAGERANK, node)
        assert rank is not None and 0.0 <= rank <= 1.0
        ranks[node] = rank
    for a, b in itertools.combinations(values, 2):
        if values[a] < values[b]:
            assert ranks[a] < ranks[b]
        elif values[a] == values[b]:
            assert ranks[a] == ranks[b]
    assert min(ranks.values()) == 0.0
