"""The compiled loops give what plain code gives: repaired trees and A* paths what a full
search finds, the first path what a brute force over every pair of peers picks, a path's
amounts and an HTLC's walk what integer arithmetic hop by hop gives."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from lnopt.sim.kernels import (
    ALL_BITCOIN_MSAT,
    SENDER_IS_PEER,
    choose_first_path,
    first_blocked_hop,
    price_path,
)
from lnopt.sim.network import generate_network, load_network
from lnopt.sim.routing import Router
from lnopt.sim.world import World, WorldParams, build_world
from tests.conftest import GRAPH_2025

BUCKET = 3


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(generate_network(seed=5, nodes=800), WorldParams(seed=5, payments=10))


@pytest.fixture(scope="module")
def snapshot_world() -> World:
    """The 2025 graph: parallel channels between the same two nodes, which generated ones lack."""
    return build_world(load_network(GRAPH_2025), WorldParams(seed=5, payments=10))


def reprice_at_random(router: Router, rng: np.random.Generator, count: int) -> None:
    edges = rng.choice(router.topo.others, count, replace=False)
    router.set_edge_fees(edges, rng.integers(0, 2000, count), rng.integers(0, 4000, count))


def assert_tree_is_a_shortest_path_tree(
    router: Router, dist: np.ndarray, nxt: np.ndarray, fresh: np.ndarray, root: int
) -> None:
    """Costs are those of a new search, and each next hop lies on a cheapest path."""
    assert np.array_equal(np.isfinite(dist), np.isfinite(fresh))
    reached = np.isfinite(fresh) & (np.arange(len(fresh)) != root)
    assert np.allclose(dist[reached], fresh[reached], rtol=1e-12)
    hop = nxt[reached]
    step = np.array(
        [
            router.weights[BUCKET, router.tree_edge(int(v), int(u), BUCKET)]
            for v, u in zip(np.flatnonzero(reached), hop, strict=True)
        ]
    )
    assert np.allclose(dist[reached], step + dist[hop], rtol=1e-9)


@pytest.mark.parametrize("graph", ["generated", "snapshot"])
def test_repaired_trees_equal_new_searches_after_many_repricings(
    graph: str, request: pytest.FixtureRequest
) -> None:
    world = request.getfixturevalue("world" if graph == "generated" else "snapshot_world")
    router = Router(world.topo)
    rng = np.random.default_rng(7)
    receivers = [int(r) for r in rng.choice(world.topo.node_count, 8) if r != world.topo.us]
    for receiver in receivers:
        router.tree(receiver, BUCKET)
    router.peer_costs(BUCKET)
    walked = {
        r: router.path_to(r, BUCKET, int(rng.integers(world.topo.node_count))) for r in receivers
    }
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
            # Then it is the tree a new search gives
            fresh = dijkstra(matrix, indices=receiver)
            assert_tree_is_a_shortest_path_tree(router, dist, nxt, fresh, receiver)
        # and so are the trees toward each of our peers
        to_peer, peer_nxt = router.peer_costs(BUCKET)
        fresh_peers = dijkstra(matrix, indices=world.topo.our_peer)
        for p, peer in enumerate(world.topo.our_peer):
            assert_tree_is_a_shortest_path_tree(
                router, to_peer[:, p], peer_nxt[p], fresh_peers[p], int(peer)
            )
    # and the paths walked before follow the repaired trees, not the old ones
    for receiver, path in walked.items():
        start = int(world.topo.e_src[path[0]]) if path else None
        if start is not None:
            _, nxt = router.tree(receiver, BUCKET)
            assert router.path_to(receiver, BUCKET, start) == router.walk(start, nxt, BUCKET)
    # and no tree was searched anew
    assert router.searches == runs
    assert router.repairs > 0


def test_a_star_path_is_as_cheap_as_a_full_search_with_penalties(world: World) -> None:
    topo = world.topo
    router = Router(topo)
    rng = np.random.default_rng(11)
    reprice_at_random(router, rng, topo.others // 10)
    checked = 0
    for trial in range(150):
        if trial % 30 == 29:
            reprice_at_random(router, rng, topo.others // 10)  # the bound from repaired trees
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


def test_a_receiver_behind_failed_channels_is_found_out_of_reach_or_reached_by_the_one_way_left(
    world: World,
) -> None:
    topo = world.topo
    router = Router(topo)
    rng = np.random.default_rng(17)
    sealed = reached = inside = 0
    for _ in range(150):
        sender, receiver = (int(v) for v in rng.choice(topo.node_count, 2, replace=False))
        if topo.us in (sender, receiver):
            continue
        b = int(rng.integers(0, router.weights.shape[0]))
        # Given every way into the receiver failed, but those from a few of its neighbours,
        # whose own ways in failed too: a pocket of nodes nobody outside can reach ...
        into = np.flatnonzero(topo.e_dst == receiver)
        neighbours = np.unique(topo.e_src[into])
        pocket = set(rng.choice(neighbours, min(2, len(neighbours)), replace=False).tolist())
        failed = [int(e) for e in into if int(topo.e_src[e]) not in pocket]
        failed += [int(e) for v in pocket for e in np.flatnonzero(topo.e_dst == v)]
        # ... unless one way into the pocket is left open, or the sender is in it
        way = rng.random()
        if way < 0.4 and failed:
            failed.remove(int(rng.choice(failed)))
        elif way < 0.6 and pocket and topo.us not in pocket:
            sender = int(min(pocket))
            inside += 1
        penalties = dict.fromkeys(failed, np.inf)
        our_costs = np.full(len(topo.our_out), 1e5)
        first_hops = topo.out_edges(sender)
        weight = router.weights[b].copy()
        weight[topo.our_out] = our_costs
        weight[first_hops] = 1e-6
        weight[failed] = np.inf
        expected = dijkstra(router._forward.matrix(weight[router._forward.edges]), indices=sender)
        # When the router searches a path to it
        path = router.route_avoiding(
            sender, receiver, b, penalties=penalties, first_hops=first_hops, our_costs=our_costs
        )
        # Then it finds none exactly when none exists, and otherwise the cheapest
        if np.isfinite(expected[receiver]):
            assert path is not None
            assert topo.e_dst[path[-1]] == receiver
            assert weight[path].sum() == pytest.approx(expected[receiver], rel=1e-9)
            reached += 1
        else:
            assert path is None
            sealed += 1
    assert sealed > 20 and reached > 20 and inside > 10


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


def test_first_path_choice_in_the_corner_cases() -> None:
    to_receiver = np.array([5.0, np.inf, 3.0, 9.0])
    to_peer = np.array([[1.0, 8.0], [2.0, 2.0], [np.inf, 1.0], [4.0, 4.0]])
    entry_in, exit_cost = np.array([1.0, 1.0]), np.array([50.0, 0.5])
    none, no_fuzz = np.zeros(2, dtype=bool), np.empty(0)
    firsts = np.array([0, 1, 2])
    # the cheapest path avoiding us is through node 2 (cost 3), dearer than entering at peer 0
    # (cost 1 + 1) and leaving to peer 1 (0.5): through us wins, entered by first hop 0
    assert choose_first_path(
        firsts, to_receiver, to_peer, entry_in, none, exit_cost, no_fuzz, True
    ) == (2, 0, 1, 0)
    # with the path avoiding us unusable, the choice through us stands
    assert choose_first_path(
        firsts, to_receiver, to_peer, entry_in, none, exit_cost, no_fuzz, False
    )[1:] == (0, 1, 0)
    # a path through us needs two distinct peers: with one, the path avoiding us is the choice
    one = (to_peer[:, :1], entry_in[:1], none[:1], exit_cost[:1])
    assert choose_first_path(
        firsts, to_receiver, one[0], one[1], one[2], one[3], no_fuzz, True
    ) == (2, -1, -1, -1)
    # no first hop that reaches anything: nothing is chosen
    unreachable = np.full(4, np.inf)
    stuck = np.full((4, 2), np.inf)
    assert choose_first_path(
        firsts, unreachable, stuck, entry_in, none, exit_cost, no_fuzz, True
    ) == (-1, -1, -1, -1)


def reference_amounts(path, amount, e_base, e_ppm, our_out, known_base, known_ppm):  # type: ignore[no-untyped-def]
    amounts = [amount] * len(path)
    for h in range(len(path) - 1, 0, -1):
        edge, out = path[h], amounts[h]
        j = our_out[edge]
        base, ppm = (known_base[j], known_ppm[j]) if j >= 0 else (e_base[edge], e_ppm[edge])
        amounts[h - 1] = out + int(base) + out * int(ppm) // 1_000_000
    return amounts


def test_path_amounts_limits_and_budget_match_integer_arithmetic() -> None:
    rng = np.random.default_rng(5)
    edges = 30
    e_base = rng.integers(0, 5000, edges)
    e_ppm = rng.integers(0, 5000, edges)
    e_max = rng.integers(10**9, 10**11, edges)
    capacity = rng.integers(10**9, 10**11, edges)
    e_chan = np.arange(edges)
    our_out = np.where(rng.random(edges) < 0.2, np.arange(edges) % 4, -1)
    known_base, known_ppm = rng.integers(0, 2000, 4), rng.integers(0, 9000, 4)
    for _ in range(300):
        path = rng.choice(edges, int(rng.integers(1, 6)), replace=False)
        amount = int(rng.integers(10**6, 10**10))
        budget = int(rng.integers(0, 10**7))
        amounts, refused = price_path(
            path,
            amount,
            budget,
            e_base,
            e_ppm,
            e_max,
            capacity,
            e_chan,
            our_out,
            known_base,
            known_ppm,
        )
        expected = reference_amounts(path, amount, e_base, e_ppm, our_out, known_base, known_ppm)
        assert amounts.tolist() == expected
        beyond = [
            int(e) for e, a in zip(path, expected, strict=True) if a > e_max[e] or a >= capacity[e]
        ]
        if beyond:
            assert refused == beyond[0]
        elif len(path) > 1 and expected[0] - amount > budget:
            fees = [expected[h - 1] - expected[h] for h in range(1, len(path))]
            assert refused == path[1 + int(np.argmax(fees))]
        else:
            assert refused == -1


def test_fees_beyond_64_bits_are_exact_or_capped_never_negative() -> None:
    path = np.array([0, 1])
    huge_rate = np.array([0, 2**32 - 1])  # the largest fee rate BOLT 7 allows
    large = np.full(2, 10**13)  # 100 BTC channels
    nothing = np.zeros(0, dtype=np.int64)

    def price(amount: int) -> tuple[np.ndarray, int]:
        return price_path(
            path,
            amount,
            10**6,
            np.zeros(2, dtype=np.int64),
            huge_rate,
            large,
            large,
            np.arange(2),
            np.full(2, -1),
            nothing,
            nothing,
        )

    # Given a 2.5M-sat part, whose fee at that rate needs more than 64 bits to multiply out
    amounts, refused = price(2_500_000_000)
    # Then the fee is what exact integers give (10.7 BTC), and the path is refused, not paid
    assert amounts[0] == 2_500_000_000 + 2_500_000_000 * (2**32 - 1) // 10**6
    assert refused == 0
    # and an amount whose fee would exceed every bitcoin there is stops there
    amounts, refused = price(10**18)
    assert amounts[0] == ALL_BITCOIN_MSAT and refused == 0


def test_htlc_walk_stops_where_plain_code_would() -> None:
    rng = np.random.default_rng(9)
    edges = 20
    e_chan, e_side = np.arange(edges), rng.integers(0, 2, edges).astype(np.int8)
    capacity = np.full(edges, 10**9)
    reserve = capacity // 100
    our_out = np.where(rng.random(edges) < 0.15, 0, -1)
    for _ in range(300):
        side0 = rng.integers(0, 10**9, edges)
        held = np.where(rng.random(edges) < 0.2, rng.integers(0, 10**8, edges), 0)
        path = rng.choice(edges, int(rng.integers(1, 6)), replace=False)
        amounts = rng.integers(10**6, 6 * 10**8, len(path))
        start = int(rng.integers(0, len(path)))
        stop = first_blocked_hop(
            path, amounts, start, e_chan, e_side, side0, capacity, reserve, held, our_out
        )
        expected = len(path)
        for h in range(start, len(path)):
            e = path[h]
            own = side0[e] if e_side[e] == 0 else capacity[e] - side0[e]
            if (h > 0 and our_out[e] >= 0) or max(0, own - reserve[e]) - held[e] < amounts[h]:
                expected = h
                break
        assert stop == expected
