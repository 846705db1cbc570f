"""The compiled searches give what a full search gives: repaired trees, A* paths, first paths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from lnopt.sim.kernels import SENDER_IS_PEER, choose_first_path
from lnopt.sim.network import generate_network
from lnopt.sim.routing import Router
from lnopt.sim.world import World, WorldParams, build_world

BUCKET = 3


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(generate_network(seed=5, nodes=800), WorldParams(seed=5, payments=10))


def reprice_at_random(router: Router, rng: np.random.Generator, count: int) -> None:
    edges = rng.choice(router.topo.others, count, replace=False)
    router.set_edge_fees(edges, rng.integers(0, 2000, count), rng.integers(0, 4000, count))


def test_repaired_trees_equal_new_searches_after_many_repricings(world: World) -> None:
    router = Router(world.topo)
    rng = np.random.default_rng(7)
    receivers = [int(r) for r in rng.choice(world.topo.node_count, 12) if r != world.topo.us]
    for receiver in receivers:
        router.tree(receiver, BUCKET)
    router.peer_costs(BUCKET)
    runs = router.searches
    for round_ in range(6):
        # Given other people re-price a tenth of their channels, lowering some, raising others
        reprice_at_random(router, rng, world.topo.others // 10)
        if round_ % 2:
            continue  # trees repaired after two rounds of changes at once, too
        matrix = router._reverse_matrices[BUCKET]
        for receiver in receivers:
            # When a cached tree is asked for
            dist, nxt = router.tree(receiver, BUCKET)
            fresh = dijkstra(matrix, indices=receiver)
            # Then its costs are those a new search finds, and each next hop is on such a path
            assert np.array_equal(np.isfinite(dist), np.isfinite(fresh))
            reached = np.isfinite(fresh) & (np.arange(len(fresh)) != receiver)
            assert np.allclose(dist[reached], fresh[reached], rtol=1e-12)
            hop = nxt[reached]
            step = np.array(
                [
                    router.weights[BUCKET, router.tree_edge(int(v), int(u), BUCKET)]
                    for v, u in zip(np.flatnonzero(reached), hop, strict=True)
                ]
            )
            assert np.allclose(dist[reached], step + dist[hop], rtol=1e-9)
        to_peer, _ = router.peer_costs(BUCKET)
        fresh = dijkstra(matrix, indices=world.topo.our_peer).T
        finite = np.isfinite(fresh)
        assert np.array_equal(np.isfinite(to_peer), finite)
        assert np.allclose(to_peer[finite], fresh[finite], rtol=1e-12)
    # and no tree was searched anew
    assert router.searches == runs
    assert router.repairs > 0


def test_a_star_path_is_as_cheap_as_a_full_search_with_penalties(world: World) -> None:
    topo = world.topo
    router = Router(topo)
    rng = np.random.default_rng(11)
    reprice_at_random(router, rng, topo.others // 10)
    checked = 0
    for _ in range(150):
        sender, receiver = (int(v) for v in rng.choice(topo.node_count, 2, replace=False))
        if topo.us in (sender, receiver):
            continue
        b = int(rng.integers(0, router.weights.shape[0]))
        outgoing = topo.out_edges(sender)
        penalised = rng.choice(topo.edge_count, 30)
        penalties = {
            int(e): np.inf if rng.random() < 0.3 else float(rng.uniform(0, 5e6)) for e in penalised
        }
        our_costs = np.abs(rng.normal(0.0, 2e5, len(topo.our_out)))
        first_hops = outgoing[: max(1, len(outgoing) // 2)]
        # Given the graph as this sender sees it, built by hand
        weight = router.weights[b].copy()
        weight[topo.our_out] = our_costs
        weight[outgoing] = np.inf
        weight[first_hops] = 1e-6
        for edge, added in penalties.items():
            weight[edge] += added
        expected = dijkstra(router._forward.matrix(weight[router._forward.edges]), indices=sender)
        # When the router searches it
        path = router.route_avoiding(
            sender, receiver, b, penalties=penalties, first_hops=first_hops, our_costs=our_costs
        )
        # Then it finds a path exactly when one exists, a real one, and none is cheaper
        if not np.isfinite(expected[receiver]):
            assert path is None
            continue
        assert path is not None
        assert topo.e_src[path[0]] == sender and topo.e_dst[path[-1]] == receiver
        assert all(topo.e_dst[a] == topo.e_src[c] for a, c in itertools.pairwise(path))
        assert weight[path].sum() == pytest.approx(expected[receiver], rel=1e-9)
        checked += 1
    assert checked > 50


def brute_force_first_path(
    firsts: np.ndarray,
    to_receiver: np.ndarray,
    to_peer: np.ndarray,
    entry_in: np.ndarray,
    direct: np.ndarray,
    exit_cost: np.ndarray,
    fuzz: np.ndarray,
) -> tuple[float, float]:
    """The scores of the best path avoiding us and the best through us, over every (i, j)."""
    plain = to_receiver[firsts].min(initial=np.inf) + 1e-6
    entry = np.where(direct, 1e-6, (to_peer[firsts] + entry_in).min(axis=0, initial=np.inf))
    through = min(
        (entry[i] + exit_cost[j]) * fuzz[1 + j]
        for i in range(len(entry_in))
        for j in range(len(entry_in))
        if i != j
    )
    return plain * fuzz[0], through


def test_first_path_choice_matches_a_brute_force_over_every_pair_of_peers() -> None:
    rng = np.random.default_rng(3)
    nodes, peers = 40, 6
    for _ in range(300):
        firsts = rng.choice(nodes, int(rng.integers(0, 5)), replace=False)
        to_receiver = rng.uniform(1e3, 1e5, nodes)
        to_peer = rng.uniform(1e3, 1e5, (nodes, peers))
        to_peer[rng.random((nodes, peers)) < 0.2] = np.inf
        entry_in = np.where(rng.random(peers) < 0.2, np.inf, rng.uniform(1e2, 1e4, peers))
        direct = rng.random(peers) < 0.1
        exit_cost = rng.uniform(1e3, 1e5, peers)
        fuzz = 1.0 + 0.05 * rng.uniform(-1.0, 1.0, peers + 1)
        k, i, j, first = choose_first_path(
            firsts, to_receiver, to_peer, entry_in, direct, exit_cost, fuzz, True
        )
        plain, through = brute_force_first_path(
            firsts, to_receiver, to_peer, entry_in, direct, exit_cost, fuzz
        )
        if j < 0:
            # the path avoiding us wins, or nothing goes through us
            assert not through < plain
        else:
            assert i != j and through < plain
            entry = 1e-6 if first == SENDER_IS_PEER else to_peer[firsts[first], i] + entry_in[i]
            assert entry + exit_cost[j] == pytest.approx(through / fuzz[1 + j], rel=1e-12)
            assert (first == SENDER_IS_PEER) == bool(direct[i])
        if firsts.size and np.isfinite(to_receiver[firsts]).any():
            assert to_receiver[firsts[k]] == to_receiver[firsts].min()
        else:
            assert k == -1
