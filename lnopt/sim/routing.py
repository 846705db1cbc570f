"""Path finding as senders do it: cheapest by fee plus a success-probability cost.

The cost of using a channel direction for an amount ``a`` is its fee plus
``attempt_cost(a) * -ln P(a)``, where ``P(a) = (capacity + 1 - a) / (capacity + 1)`` is the
probability, under a uniform prior on the unknown balance, that the channel can carry ``a``;
``attempt_cost`` is 100 sat plus 1,000 ppm of the amount (LND's default
``routerrpc.attemptcost`` and ``attemptcostppm``). Both terms are additive along a path, so the
cheapest path is a shortest path. A direction whose capacity or ``htlc_maximum`` is below the
amount is not used. The sender knows its own balances: its first hop costs nothing and is
usable only if the balance suffices.

Amounts fall in half-decade buckets (3.2k, 10k, 31.6k... sat); costs are computed at each
bucket's representative amount, while the fees actually paid use the exact amounts.

Speed. Only our node's fees change during a run, so shortest-path trees on the graph *without*
our node are static: :meth:`Router.tree` gives, for a receiver and a bucket, every node's cost to
reach the receiver and its next hop (one ``scipy.sparse.csgraph.dijkstra`` in C on the reversed
graph, cached); :meth:`Router.peer_costs` does the same toward each of our peers at once. A
sender then compares the best path avoiding us with the best path entering us from peer ``i``
and leaving to peer ``j`` (vectorised over our channels) — see :mod:`lnopt.sim.payments`.
Paths read from a tree are walked once and kept (:meth:`Router.path_to`,
:meth:`Router.path_to_peer`) until the tree is dropped. A retry whose cheapest tree path meets
a failed or penalised channel runs one dijkstra from the sender on the whole graph
(:meth:`Router.route_avoiding`). Parallel channels stay separate entries; dijkstra takes the
cheapest.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from lnopt.sim.topology import Topology

# Upper bounds of the amount buckets, msat: 10^(6.5), 10^7, ... 10^9.5 (3.16k sat ... 3.16M sat).
BUCKET_BOUNDS_MSAT = np.array([10 ** (6.5 + 0.5 * k) for k in range(7)])
BUCKET_AMOUNTS_MSAT = np.array([10 ** (6.25 + 0.5 * k) for k in range(8)])
ATTEMPT_COST_MSAT = 100_000
ATTEMPT_COST_PPM = 1_000
FIRST_HOP_COST = 1e-6  # a usable first hop costs (almost) nothing


def bucket_of(amount_msat: int) -> int:
    return int(np.searchsorted(BUCKET_BOUNDS_MSAT, amount_msat, side="right"))


def fee_cost(base_msat: np.ndarray, ppm: np.ndarray, amount_msat: float) -> np.ndarray:
    cost: np.ndarray = base_msat + ppm * (amount_msat / 1e6)
    return cost


def risk_cost(capacity_msat: np.ndarray, max_msat: np.ndarray, amount_msat: float) -> np.ndarray:
    """``attempt_cost * -ln P``; infinite where the direction cannot carry the amount."""
    attempt = ATTEMPT_COST_MSAT + amount_msat * ATTEMPT_COST_PPM / 1e6
    usable = (capacity_msat > amount_msat) & (max_msat >= amount_msat)
    safe_capacity = np.where(usable, capacity_msat, amount_msat + 1.0)
    probability = (safe_capacity + 1.0 - amount_msat) / (safe_capacity + 1.0)
    risk: np.ndarray = np.where(usable, -attempt * np.log(probability), np.inf)
    return risk


class _Csr:
    """A CSR adjacency over a subset of edges, remembering which entry is which edge."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, edges: np.ndarray, n: int) -> None:
        order = np.lexsort((cols, rows))
        self.edges = edges[order].astype(np.int32)  # entry -> edge
        self.indices = cols[order].astype(np.int32)
        counts = np.bincount(rows, minlength=n)
        self.indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        self.position = np.full(int(edges.max(initial=-1)) + 1, -1, dtype=np.int64)
        self.position[self.edges] = np.arange(len(self.edges))
        self.n = n
        self._pairs: dict[int, list[int]] = {}  # row * n + col -> entry positions
        keys = (np.repeat(np.arange(n, dtype=np.int64), counts) * n + self.indices).tolist()
        for position, key in enumerate(keys):
            found = self._pairs.get(key)
            if found is None:
                self._pairs[key] = [position]
            else:
                found.append(position)

    def matrix(self, data: np.ndarray) -> csr_matrix:
        return csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def cheapest(self, row: int, col: int, data: np.ndarray) -> int:
        """The edge of the cheapest entry ``row -> col`` (parallel channels give several)."""
        found = self._pairs[row * self.n + col]
        if len(found) == 1:
            return int(self.edges[found[0]])
        best = min(found, key=lambda position: float(data[position]))
        return int(self.edges[best])


class Router:
    """Shortest paths for senders (see the module docstring); one per topology, shared."""

    def __init__(self, topo: Topology, *, max_trees: int = 3000) -> None:
        self.topo = topo
        n = topo.node_count
        others = np.arange(topo.others)
        self._reverse = _Csr(topo.e_dst[others], topo.e_src[others], others, n)
        every = np.arange(topo.edge_count)
        self._forward = _Csr(topo.e_src, topo.e_dst, every, n)
        capacity = topo.chan_cap[topo.e_chan].astype(float)
        self.weights = np.empty((len(BUCKET_AMOUNTS_MSAT), topo.edge_count))
        for b, amount in enumerate(BUCKET_AMOUNTS_MSAT):
            self.weights[b] = fee_cost(topo.e_base, topo.e_ppm, amount) + risk_cost(
                capacity, topo.e_max.astype(float), amount
            )
        self._reverse_data = self.weights[:, self._reverse.edges]
        self._forward_matrices = [
            self._forward.matrix(self.weights[b][self._forward.edges].copy())
            for b in range(len(BUCKET_AMOUNTS_MSAT))
        ]
        self._trees: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._max_trees = max_trees
        self._peer_costs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # walked tree paths: (receiver, b) -> start -> edges; (-1 - peer, b) for peer trees
        self._walks: dict[tuple[int, int], dict[int, list[int] | None]] = {}
        self.dijkstra_runs = 0
        self.version = 0  # increases whenever other people's fees change

    def set_edge_fees(self, edges: np.ndarray, base_msat: np.ndarray, ppm: np.ndarray) -> int:
        """Re-price other people's channel directions ``edges``; returns the trees dropped.

        The topology's fees and every bucket's weights are updated, and exactly the cached
        trees (and per-bucket peer trees) that may change are dropped: those using one of the
        edges, or that one of the edges now undercuts (reaching its far end and crossing it is
        no dearer than the tree's cost at its near end). Our own directions are priced by our
        node's policy and refused here.
        """
        topo = self.topo
        edges = np.asarray(edges, dtype=np.int64).reshape(-1)
        base = np.broadcast_to(np.asarray(base_msat, dtype=np.int64), edges.shape)
        rate = np.broadcast_to(np.asarray(ppm, dtype=np.int64), edges.shape)
        if edges.size == 0:
            return 0
        if ((edges < 0) | (edges >= topo.edge_count)).any():
            raise ValueError(f"edges must lie in [0, {topo.edge_count}), got {edges.tolist()}")
        if np.isin(edges, topo.our_out).any():
            raise ValueError("our own channels' fees are set by our node's policy, not here")
        if (base < 0).any() or (rate < 0).any():
            raise ValueError("base fees and fee rates must be >= 0")
        topo.e_base[edges] = base
        topo.e_ppm[edges] = rate
        capacity = topo.chan_cap[topo.e_chan[edges]].astype(float)
        maximum = topo.e_max[edges].astype(float)
        for b, amount in enumerate(BUCKET_AMOUNTS_MSAT):
            self.weights[b, edges] = fee_cost(
                base.astype(float), rate.astype(float), amount
            ) + risk_cost(capacity, maximum, amount)
            self._forward_matrices[b].data[self._forward.position[edges]] = self.weights[b, edges]
        inside = edges[edges < topo.others]
        self._reverse_data[:, self._reverse.position[inside]] = self.weights[:, inside]
        self.version += 1
        return self._drop_trees_using(inside)

    def _drop_trees_using(self, edges: np.ndarray) -> int:
        if edges.size == 0:
            return 0
        src, dst = self.topo.e_src[edges], self.topo.e_dst[edges]
        weights = self.weights[:, edges]

        def affected(dist: np.ndarray, nxt: np.ndarray, w: np.ndarray) -> bool:
            used = nxt[src] == dst
            through = dist[dst] + w
            undercut = np.isfinite(through) & (through <= dist[src] * (1 + 1e-6) + 1e-6)
            return bool((used | undercut).any())

        stale = [
            key
            for key, (dist, nxt) in self._trees.items()
            if affected(dist.astype(float), nxt, weights[key[1]])
        ]
        for key in stale:
            del self._trees[key]
            self._walks.pop(key, None)
        dropped = len(stale)
        for b in list(self._peer_costs):
            dist, pred = self._peer_costs[b]
            if any(affected(dist[:, p], pred[p], weights[b]) for p in range(dist.shape[1])):
                del self._peer_costs[b]
                for p in range(dist.shape[1]):
                    self._walks.pop((-1 - p, b), None)
                dropped += 1
        return dropped

    def risk(self, b: int, edges: np.ndarray) -> np.ndarray:
        """The probability part of the cost of ``edges`` in bucket ``b``."""
        topo = self.topo
        capacity = topo.chan_cap[topo.e_chan[edges]].astype(float)
        return risk_cost(capacity, topo.e_max[edges].astype(float), BUCKET_AMOUNTS_MSAT[b])

    def tree(self, receiver: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Cost from every node to ``receiver`` avoiding our node, and each node's next hop."""
        key = (receiver, b)
        found = self._trees.get(key)
        if found is not None:
            self._trees.move_to_end(key)
            return found
        matrix = self._reverse.matrix(self._reverse_data[b])
        dist, pred = dijkstra(matrix, indices=receiver, return_predecessors=True)
        self.dijkstra_runs += 1
        found = (dist.astype(np.float32), pred.astype(np.int32))
        self._trees[key] = found
        if len(self._trees) > self._max_trees:
            evicted, _ = self._trees.popitem(last=False)
            self._walks.pop(evicted, None)
        return found

    def peer_costs(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Cost from every node to each of our peers (n x P) and next hops (P x n)."""
        found = self._peer_costs.get(b)
        if found is None:
            matrix = self._reverse.matrix(self._reverse_data[b])
            dist, pred = dijkstra(matrix, indices=self.topo.our_peer, return_predecessors=True)
            self.dijkstra_runs += 1
            found = (np.ascontiguousarray(dist.T), pred.astype(np.int32))
            self._peer_costs[b] = found
        return found

    def tree_edge(self, node: int, next_node: int, b: int) -> int:
        """The cheapest direction ``node -> next_node`` among those the trees use."""
        return self._reverse.cheapest(next_node, node, self._reverse_data[b])

    def walk(self, start: int, nxt: np.ndarray, b: int, limit: int = 64) -> list[int] | None:
        """Edges from ``start`` along next hops until a node without one (the tree's root)."""
        path: list[int] = []
        node = start
        while True:
            step = int(nxt[node])
            if step < 0:
                return path
            path.append(self.tree_edge(node, step, b))
            node = step
            if len(path) > limit:
                return None

    def path_to(self, receiver: int, b: int, start: int) -> list[int] | None:
        """The tree path from ``start`` to ``receiver`` avoiding our node (walked once)."""
        walks = self._walks.setdefault((receiver, b), {})
        if start in walks:
            return walks[start]
        _, nxt = self.tree(receiver, b)
        found = walks[start] = self.walk(start, nxt, b)
        return found

    def path_to_peer(self, p: int, b: int, start: int) -> list[int] | None:
        """The peer tree's path from ``start`` to our peer ``p`` (walked once)."""
        walks = self._walks.setdefault((-1 - p, b), {})
        if start in walks:
            return walks[start]
        _, nxt = self.peer_costs(b)
        found = walks[start] = self.walk(start, nxt[p], b)
        return found

    def route_avoiding(
        self,
        sender: int,
        receiver: int,
        b: int,
        *,
        penalties: Mapping[int, float],
        first_hops: np.ndarray,
        our_costs: np.ndarray,
        expected_cost: float = np.inf,
    ) -> list[int] | None:
        """The cheapest path on the whole graph with ``penalties`` added to edges' costs.

        ``penalties`` maps edges to an added cost (infinite: the edge is not used);
        ``first_hops`` are the sender's usable outgoing edges (enough balance); ``our_costs``
        the cost, as this sender knows our fees, of each of our outgoing directions. The search
        first explores only up to a few times ``expected_cost`` (the cost of the best path
        before the penalties), then, if the receiver is not within reach, everything.
        """
        forward, topo = self._forward, self.topo
        matrix = self._forward_matrices[b]
        data = matrix.data
        own = forward.position[topo.out_edges(sender)]
        ours = forward.position[topo.our_out]
        penalised = np.fromiter(penalties.keys(), dtype=np.int64, count=len(penalties))
        added = np.fromiter(penalties.values(), dtype=float, count=len(penalties))
        where = forward.position[penalised]
        changed = np.concatenate([ours, own, where])
        saved = data[changed].copy()
        try:
            data[ours] = our_costs
            data[own] = np.inf
            data[forward.position[first_hops]] = FIRST_HOP_COST
            np.add.at(data, where, added)
            limits = [1.5 * expected_cost, 4 * expected_cost] if np.isfinite(expected_cost) else []
            for limit in [*limits, np.inf]:
                dist, pred = dijkstra(matrix, indices=sender, return_predecessors=True, limit=limit)
                self.dijkstra_runs += 1
                if np.isfinite(dist[receiver]):
                    return self._path(sender, receiver, pred, data)
            return None
        finally:
            data[changed[::-1]] = saved[::-1]

    def _path(self, sender: int, receiver: int, pred: np.ndarray, data: np.ndarray) -> list[int]:
        forward = self._forward
        nodes = [receiver]
        while nodes[-1] != sender:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        path: list[int] = []
        for u, v in itertools.pairwise(nodes):
            path.append(forward.cheapest(u, v, data))
        return path
