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
and leaving to peer ``j`` (vectorised over our channels) — see :mod:`lnopt.sim.payments`. A
retry that must avoid failed channels runs one dijkstra from the sender on the whole graph
(:meth:`Router.route_avoiding`). Parallel channels stay separate entries; dijkstra takes the
cheapest.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Collection

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

    def matrix(self, data: np.ndarray) -> csr_matrix:
        return csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def entries(self, row: int, col: int) -> np.ndarray:
        """Positions of the entries ``row -> col`` (parallel channels give several)."""
        start, end = int(self.indptr[row]), int(self.indptr[row + 1])
        segment = self.indices[start:end]
        left = int(np.searchsorted(segment, col, side="left"))
        right = int(np.searchsorted(segment, col, side="right"))
        return np.arange(start + left, start + right)


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
        self.dijkstra_runs = 0

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
            self._trees.popitem(last=False)
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
        entries = self._reverse.entries(next_node, node)
        best = entries[int(np.argmin(self._reverse_data[b][entries]))]
        return int(self._reverse.edges[best])

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

    def route_avoiding(
        self,
        sender: int,
        receiver: int,
        b: int,
        *,
        excluded: Collection[int],
        first_hops: np.ndarray,
        our_costs: np.ndarray,
        expected_cost: float = np.inf,
    ) -> list[int] | None:
        """The cheapest path on the whole graph that avoids ``excluded`` edges.

        ``first_hops`` are the sender's usable outgoing edges (enough balance); ``our_costs``
        the cost, as this sender knows our fees, of each of our outgoing directions. The search
        first explores only up to a few times ``expected_cost`` (the cost of the best path
        before the exclusions), then, if the receiver is not within reach, everything.
        """
        forward = self._forward
        matrix = self._forward_matrices[b]
        changed = np.concatenate(
            [
                forward.position[self.topo.our_out],
                forward.position[self.topo.out_edges(sender)],
                forward.position[np.fromiter(excluded, dtype=np.int64, count=len(excluded))],
            ]
        )
        saved = matrix.data[changed].copy()
        try:
            data = matrix.data
            data[forward.position[self.topo.our_out]] = our_costs
            data[forward.position[self.topo.out_edges(sender)]] = np.inf
            data[forward.position[first_hops]] = FIRST_HOP_COST
            data[changed[len(self.topo.our_out) + len(self.topo.out_edges(sender)) :]] = np.inf
            limits = [1.5 * expected_cost, 4 * expected_cost] if np.isfinite(expected_cost) else []
            for limit in [*limits, np.inf]:
                dist, pred = dijkstra(matrix, indices=sender, return_predecessors=True, limit=limit)
                self.dijkstra_runs += 1
                if np.isfinite(dist[receiver]):
                    return self._path(sender, receiver, pred, data)
            return None
        finally:
            matrix.data[changed] = saved

    def _path(self, sender: int, receiver: int, pred: np.ndarray, data: np.ndarray) -> list[int]:
        forward = self._forward
        nodes = [receiver]
        while nodes[-1] != sender:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        path: list[int] = []
        for u, v in itertools.pairwise(nodes):
            entries = forward.entries(u, v)
            best = entries[int(np.argmin(data[entries]))]
            path.append(int(forward.edges[best]))
        return path

    def set_edge_fees(self, edges: np.ndarray, base_msat: np.ndarray, ppm: np.ndarray) -> None:
        """Other people's ``edges`` now charge ``base_msat`` + ``ppm``: the topology's fees, the
        path costs and the cached trees that depended on them follow."""
        edges = np.asarray(edges, dtype=np.int64)
        if edges.size == 0:
            return
        if (edges >= self.topo.others).any():
            raise ValueError("set_edge_fees changes other people's edges, not our node's")
        topo = self.topo
        topo.e_base[edges] = base_msat
        topo.e_ppm[edges] = ppm
        capacity = topo.chan_cap[topo.e_chan[edges]].astype(float)
        limits = topo.e_max[edges].astype(float)
        reverse_at = self._reverse.position[edges]
        forward_at = self._forward.position[edges]
        for b, amount in enumerate(BUCKET_AMOUNTS_MSAT):
            cost = fee_cost(topo.e_base[edges], topo.e_ppm[edges], amount)
            cost = cost + risk_cost(capacity, limits, amount)
            self.weights[b, edges] = cost
            self._reverse_data[b, reverse_at] = cost
            self._forward_matrices[b].data[forward_at] = cost
        self._trees.clear()
        self._peer_costs.clear()
