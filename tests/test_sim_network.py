"""The generated network matches the real graph's distributions; our node joins it sensibly."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest

from lnopt.errors import InvalidRequest
from lnopt.graph import NetworkGraph
from lnopt.sim import distributions
from lnopt.sim.network import generate_network, join_network, load_network, median_policy
from tests.conftest import GRAPH_2025


@pytest.fixture(scope="module")
def network() -> NetworkGraph:
    return generate_network(seed=11, nodes=3000)


def _channels(graph: NetworkGraph) -> dict[str, int]:
    return {e.short_channel_id: e.capacity_msat // 1000 for e in graph.edges}


def test_capacity_quantiles_match_the_snapshot(network: NetworkGraph) -> None:
    capacities = np.array(list(_channels(network).values()))
    # README: median 2.06M sat, p10 100k, p90 20M, p99 200M
    assert 1_600_000 <= np.median(capacities) <= 2_600_000
    assert 70_000 <= np.quantile(capacities, 0.10) <= 140_000
    assert 15_000_000 <= np.quantile(capacities, 0.90) <= 26_000_000
    assert 120_000_000 <= np.quantile(capacities, 0.99) <= 320_000_000


def test_fee_distributions_match_the_snapshot(network: NetworkGraph) -> None:
    active = [e.policy for e in network.edges if e.active]
    ppm = np.array([p.fee_ppm for p in active])
    base = np.array([p.base_fee_msat for p in active])
    cltv = [p.cltv_delta for p in active]
    # README: fee rate median 100 ppm (p25 1, p75 500, p90 ~2,000), 9.6% at 0 ppm
    assert 70 <= np.median(ppm) <= 140
    assert np.quantile(ppm, 0.25) <= 2
    assert 400 <= np.quantile(ppm, 0.75) <= 600
    assert 1500 <= np.quantile(ppm, 0.90) <= 2600
    assert 0.07 <= (ppm == 0).mean() <= 0.12
    # base fee: 41% zero, 45% exactly 1,000 msat, median 837
    assert 0.37 <= (base == 0).mean() <= 0.45
    assert 0.41 <= (base == 1000).mean() <= 0.49
    assert 500 <= np.median(base) <= 1000
    assert statistics.median(cltv) == 80


def test_degrees_are_heavy_tailed(network: NetworkGraph) -> None:
    degrees = np.array([network.degree(n) for n in network.nodes])
    # most nodes have one or two channels; a few hubs have hundreds
    assert np.median(degrees) <= 2
    assert 0.40 <= (degrees == 1).mean() <= 0.65
    assert degrees.max() >= 100 * np.median(degrees)
    assert 5 <= degrees.mean() <= 12


def test_generation_is_seeded(network: NetworkGraph) -> None:
    assert generate_network(seed=11, nodes=3000).fingerprint == network.fingerprint
    assert generate_network(seed=12, nodes=3000).fingerprint != network.fingerprint
    with pytest.raises(InvalidRequest, match="at least 10 nodes"):
        generate_network(seed=1, nodes=3)


def test_quantile_interpolates_between_points() -> None:
    table = (
        (0.0, 10),
        (0.5, 1000),
        (1.0, 1000),
    )
    values = distributions.quantile(table, np.array([0.0, 0.25, 0.5, 0.9]))
    assert list(values) == [10, 100, 1000, 1000]  # log-linear between 10 and 1000
    zeros = distributions.quantile(((0.0, 0), (0.3, 0), (0.3, 5), (1.0, 5)), np.array([0.1, 0.5]))
    assert list(zeros) == [0, 5]


def test_our_node_joins_with_hubs_and_the_median_fee(network: NetworkGraph) -> None:
    # When our node joins with 20 peers, 8 of them hubs
    our = join_network(network, seed=4, peers=20, hubs=8)
    # Then it has 20 distinct peers, the first 8 among the 1% best connected nodes
    peers = [ch.peer_id for ch in our.channels]
    assert len(set(peers)) == 20
    ranked = sorted(network.nodes, key=lambda n: -network.degree(n))
    hub_tier = set(ranked[: len(ranked) // 100])
    assert set(peers[:8]) <= hub_tier
    assert all(network.degree(p) >= 3 for p in peers[8:])
    # at the network's median fee, half of each channel on our side
    median = median_policy(network)
    for ch in our.channels:
        assert (ch.our_policy.base_fee_msat, ch.our_policy.fee_ppm) == (
            median.base_fee_msat,
            median.fee_ppm,
        )
        assert ch.local_msat * 2 == ch.capacity_msat
    # and its channels appear in the graph in both directions
    graph = our.graph
    assert graph.degree(our.node_id) == 20
    assert not ({ch.short_channel_id for ch in our.channels} & set(_channels(network)))


def test_prefer_steers_the_choice_of_smaller_peers(network: NetworkGraph) -> None:
    favourite = next(n for n in sorted(network.nodes) if 3 <= network.degree(n) <= 10)
    our = join_network(
        network,
        seed=4,
        peers=20,
        hubs=8,
        prefer={favourite: 1.0, **{n: 1e-9 for n in network.nodes if n != favourite}},
    )
    assert favourite in {ch.peer_id for ch in our.channels}


def test_snapshot_loads_and_our_node_joins_it(shared_data: Path) -> None:
    graph = load_network(GRAPH_2025)
    assert graph.channel_count == 49_570
    our = join_network(graph, seed=1)
    assert len(our.channels) == 20
    assert median_policy(graph).fee_ppm == 100
