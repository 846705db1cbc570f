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

Speed. Shortest-path trees on the graph *without* our node change only when other people
re-price (:meth:`Router.set_edge_fees`): :meth:`Router.tree` gives, for a receiver and a
bucket, every node's cost to reach the receiver and its next hop (one
``scipy.sparse.csgraph.dijkstra`` in C on the reversed graph, cached);
:meth:`Router.peer_costs` does the same toward each of our peers at once. A cached tree that
other people's fees changed since is brought up to date when it is next asked for, by
:func:`~lnopt.sim.kernels.repair_trees`, which searches only where the changes reach. A sender
then compares the best path avoiding us with the best path entering us from peer ``i`` and
leaving to peer ``j`` (:func:`~lnopt.sim.kernels.choose_first_path`; see
:mod:`lnopt.sim.payments`). Paths read from a tree are walked once and kept
(:meth:`Router.path_to`, :meth:`Router.path_to_peer`) until the tree changes. A retry whose
cheapest tree path meets a failed or penalised channel searches the whole graph from the
sender (:meth:`Router.route_avoiding`, an A* search whose bound comes from the trees).
Parallel channels stay separate entries; the searches take the cheapest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from lnopt.sim.kernels import (
    FIRST_HOP_COST,
    cheapest_path,
    cost_to_us,
    entries_into,
    repair_trees,
    search_space,
)
from lnopt.sim.topology import Topology

# Upper bounds of the amount buckets, msat: 10^(6.5), 10^7, ... 10^9.5 (3.16k sat ... 3.16M sat).
BUCKET_BOUNDS_MSAT = np.array([10 ** (6.5 + 0.5 * k) for k in range(7)])
BUCKET_AMOUNTS_MSAT = np.array([10 ** (6.25 + 0.5 * k) for k in range(8)])
ATTEMPT_COST_MSAT = 100_000
ATTEMPT_COST_PPM = 1_000


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
        self._pairs: dict[int, list[int]] | None = None  # row * n + col -> entry positions

    def _entries(self) -> dict[int, list[int]]:
        if self._pairs is None:
            rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
            self._pairs = {}
            for position, key in enumerate((rows * self.n + self.indices).tolist()):
                self._pairs.setdefault(key, []).append(position)
        return self._pairs

    def matrix(self, data: np.ndarray) -> csr_matrix:
        return csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def cheapest(self, row: int, col: int, data: np.ndarray) -> int:
        """The edge of the cheapest entry ``row -> col`` (parallel channels give several)."""
        found = self._entries()[row * self.n + col]
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
        self._others_out = _Csr(topo.e_src[others], topo.e_dst[others], others, n)
        every = np.arange(topo.edge_count)
        self._forward = _Csr(topo.e_src, topo.e_dst, every, n)
        capacity = topo.chan_cap[topo.e_chan].astype(float)
        self.weights = np.empty((len(BUCKET_AMOUNTS_MSAT), topo.edge_count))
        for b, amount in enumerate(BUCKET_AMOUNTS_MSAT):
            self.weights[b] = fee_cost(topo.e_base, topo.e_ppm, amount) + risk_cost(
                capacity, topo.e_max.astype(float), amount
            )
        self._reverse_data = self.weights[:, self._reverse.edges]
        self._others_out_data = self.weights[:, self._others_out.edges]
        self._reverse_matrices = [
            self._reverse.matrix(self._reverse_data[b]) for b in range(len(BUCKET_AMOUNTS_MSAT))
        ]
        self._search_space = search_space(n, topo.edge_count)
        self._forward_into = entries_into(self._forward.indptr, self._forward.indices)
        self._forward_matrices = [
            self._forward.matrix(self.weights[b][self._forward.edges].copy())
            for b in range(len(BUCKET_AMOUNTS_MSAT))
        ]
        # (receiver, b) -> cost to the receiver, next hops, the version they are up to date with
        self._trees: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray, int]] = (
            OrderedDict()
        )
        self._max_trees = max_trees
        self._peer_costs: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
        self._to_us: dict[int, tuple[np.ndarray, int]] = {}
        self._entry_costs: dict[int, tuple[np.ndarray, int]] = {}
        # walked tree paths: (receiver, b) -> start -> edges; (-1 - peer, b) for peer trees
        self._walks: dict[tuple[int, int], dict[int, list[int] | None]] = {}
        self._changes: list[np.ndarray] = []  # edges between other nodes re-priced, by version
        self._unions: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._unions_version = 0
        self.searches = 0  # whole-graph searches: new trees and A* paths (repairs apart)
        self.repairs = 0
        self.version = 0  # increases whenever other people's fees change

    def set_edge_fees(self, edges: np.ndarray, base_msat: np.ndarray, ppm: np.ndarray) -> None:
        """Re-price other people's channel directions ``edges``.

        The topology's fees and every bucket's weights are updated at once; cached trees are
        repaired when next asked for. Our own directions are priced by our node's policy and
        refused here.
        """
        topo = self.topo
        edges = np.asarray(edges, dtype=np.int64).reshape(-1)
        base = np.broadcast_to(np.asarray(base_msat, dtype=np.int64), edges.shape)
        rate = np.broadcast_to(np.asarray(ppm, dtype=np.int64), edges.shape)
        if edges.size == 0:
            return
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
        self._others_out_data[:, self._others_out.position[inside]] = self.weights[:, inside]
        for b, matrix in enumerate(self._reverse_matrices):
            matrix.data[:] = self._reverse_data[b]
        self._changes.append(inside)
        self.version += 1

    def _changed_since(self, since: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The edges re-priced since version ``since``, their sources and far ends (kept for
        the current version: every tree last brought up to date at ``since`` needs them)."""
        if self._unions_version != self.version:
            self._unions.clear()
            self._unions_version = self.version
        found = self._unions.get(since)
        if found is None:
            edges = np.unique(np.concatenate(self._changes[since:]))
            found = self._unions[since] = (edges, self.topo.e_src[edges], self.topo.e_dst[edges])
        return found

    def _repair(self, b: int, dist: np.ndarray, nxt: np.ndarray, since: int) -> np.ndarray:
        """Bring trees (``dist`` n x T, ``nxt`` T x n) from version ``since`` up to date in
        place; returns how many nodes moved in each."""
        edges, src, dst = self._changed_since(since)
        if edges.size == 0:
            return np.zeros(nxt.shape[0], dtype=np.int64)
        self.repairs += nxt.shape[0]
        inward, outward = self._reverse, self._others_out
        moved: np.ndarray = repair_trees(
            outward.indptr,
            outward.indices,
            self._others_out_data[b],
            inward.indptr,
            inward.indices,
            self._reverse_data[b],
            src,
            dst,
            self.weights[b, edges],
            dist,
            nxt,
        )
        return moved

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
            dist, nxt, version = found
            if version != self.version:
                if self._repair(b, dist.reshape(-1, 1), nxt.reshape(1, -1), version).any():
                    self._walks.pop(key, None)
                self._trees[key] = (dist, nxt, self.version)
            return dist, nxt
        dist, pred = dijkstra(self._reverse_matrices[b], indices=receiver, return_predecessors=True)
        self.searches += 1
        nxt = pred.astype(np.int32)
        self._trees[key] = (dist, nxt, self.version)
        if len(self._trees) > self._max_trees:
            evicted, _ = self._trees.popitem(last=False)
            self._walks.pop(evicted, None)
        return dist, nxt

    def peer_costs(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Cost from every node to each of our peers (n x P) and next hops (P x n)."""
        found = self._peer_costs.get(b)
        if found is None:
            dist, pred = dijkstra(
                self._reverse_matrices[b], indices=self.topo.our_peer, return_predecessors=True
            )
            self.searches += 1
            found = (np.ascontiguousarray(dist.T), pred.astype(np.int32), self.version)
            self._peer_costs[b] = found
        to_peer, nxt, version = found
        if version != self.version:
            moved = self._repair(b, to_peer, nxt, version)
            for p in np.flatnonzero(moved).tolist():
                self._walks.pop((-1 - p, b), None)
            self._peer_costs[b] = (to_peer, nxt, self.version)
        return to_peer, nxt

    def entry_costs(self, b: int) -> np.ndarray:
        """The cost of each of our peers' channels into us (infinite where there is none)."""
        found = self._entry_costs.get(b)
        if found is None or found[1] != self.version:
            topo = self.topo
            cost = np.where(topo.our_in >= 0, self.weights[b][topo.our_in], np.inf)
            found = self._entry_costs[b] = (cost, self.version)
        return found[0]

    def to_us(self, b: int) -> np.ndarray:
        """Each node's cost to reach our node, by the cheapest of our peers (0 at ours)."""
        found = self._to_us.get(b)
        if found is None or found[1] != self.version:
            cost = cost_to_us(self.peer_costs(b)[0], self.entry_costs(b))
            cost[self.topo.us] = 0.0
            found = self._to_us[b] = (cost, self.version)
        return found[0]

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
        _, nxt = self.tree(receiver, b)  # first: a repair drops the walks it makes stale
        walks = self._walks.setdefault((receiver, b), {})
        if start not in walks:
            walks[start] = self.walk(start, nxt, b)
        return walks[start]

    def path_to_peer(self, p: int, b: int, start: int) -> list[int] | None:
        """The peer tree's path from ``start`` to our peer ``p`` (walked once)."""
        _, nxt = self.peer_costs(b)  # first: a repair drops the walks it makes stale
        walks = self._walks.setdefault((-1 - p, b), {})
        if start not in walks:
            walks[start] = self.walk(start, nxt[p], b)
        return walks[start]

    def route_avoiding(
        self,
        sender: int,
        receiver: int,
        b: int,
        *,
        penalties: Mapping[int, float],
        first_hops: np.ndarray,
        our_costs: np.ndarray,
    ) -> list[int] | None:
        """The cheapest path on the whole graph with ``penalties`` added to edges' costs.

        ``penalties`` maps edges to an added cost (infinite: the edge is not used);
        ``first_hops`` are the sender's usable outgoing edges (enough balance); ``our_costs``
        the cost, as this sender knows our fees, of each of our outgoing directions.

        The search's lower bound on the cost from a node to the receiver is the smaller of the
        tree's (the cheapest path avoiding our node, without penalties) and, for paths through
        us, the cost to reach our node plus the cheapest way on from it (our channel's cost as
        the sender knows it, then the peer's cost to the receiver).
        Penalties only add cost, so neither exceeds the true cost, and both are shortest-path
        distances (plus a constant), so the bound is consistent along every edge but the
        sender's own first hops (cheaper than in the trees), which the search leaves first and
        never comes back to. The receiver is never our node.
        """
        forward, topo = self._forward, self.topo
        to_receiver, _ = self.tree(receiver, b)
        to_us = self.to_us(b)
        onward = float((our_costs + to_receiver[topo.our_peer]).min(initial=np.inf))
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
            entries = cheapest_path(
                matrix.indptr,
                matrix.indices,
                data,
                *self._forward_into,
                sender,
                receiver,
                to_receiver,
                to_us,
                onward,
                *self._search_space,
            )
            self.searches += 1
            return forward.edges[entries].tolist() if entries.size else None
        finally:
            data[changed[::-1]] = saved[::-1]
