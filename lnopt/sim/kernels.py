"""The simulator's inner loops that numpy cannot express in a few array operations, compiled
with numba: two graph searches scipy does not offer, and a sender's choice of its first path.

**Repairing trees** (:func:`repair_trees`). A tree toward a root gives every node its cost to
the root (``dist``) and its next hop (``nxt``, -9999 at the root and where the root is out of
reach), as ``scipy.sparse.csgraph.dijkstra`` on the reversed graph returns them. When other
people re-price their channels, a few hundred edges change weight and most cached trees are
touched somewhere, yet only a part of each tree is wrong. The repair fixes exactly that part
(the dynamic shortest-path repair of Ramalingam and Reps, 1996):

1. the nodes whose path to the root crosses a changed edge lose their cost (it may have risen);
2. each of them takes its best cost through a neighbour whose cost still holds, and each node
   a changed edge now undercuts takes the cheaper cost through that edge;
3. a Dijkstra search started from those nodes spreads the new costs upstream, as far as they
   reach and no further.

The result is the tree a new search gives, up to the choice between paths of equal cost.

**One path** (:func:`cheapest_path`): an A* search from a source that stops when the target
is reached. Its lower bound on the cost still to go comes from the cached trees (the cost to
the target and to each of our peers on the graph without penalties), which are nearly exact,
so it explores little beyond the path itself, where scipy's Dijkstra explores the whole graph.
It returns the path as adjacency entries, the cheapest of parallel channels included.

**The first path** (:func:`choose_first_path`): the choice between the best path avoiding our
node and the best path through it, as :mod:`lnopt.sim.payments` describes it, each node's
cost to reach our node (:func:`cost_to_us`), and the first hops a sender can use
(:func:`spendable_edges`).

**An attempt** (:func:`price_path`, :func:`first_blocked_hop`): what each hop of a path
carries, whether the sender would use the path at all, and where an HTLC stops.

Weights must be positive (every edge's cost has a fee or risk part above zero).
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_HOP = -9999  # scipy's predecessor for the root and unreachable nodes
FIRST_HOP_COST = 1e-6  # a usable first hop costs (almost) nothing
SENDER_IS_PEER = -2  # the first hop of a path through us when the sender is the entry peer


@njit(cache=True, nogil=True)
def _heap_push(keys: np.ndarray, nodes: np.ndarray, size: int, key: float, node: int) -> int:
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        nodes[i] = nodes[parent]
        i = parent
    keys[i] = key
    nodes[i] = node
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(keys: np.ndarray, nodes: np.ndarray, size: int) -> int:
    """Remove the smallest entry (read it at index 0 first); returns the new size."""
    size -= 1
    if size == 0:
        return 0
    key, node = keys[size], nodes[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[i] = keys[child]
        nodes[i] = nodes[child]
        i = child
    keys[i] = key
    nodes[i] = node
    return size


@njit(cache=True, nogil=True)
def repair_trees(
    out_ptr: np.ndarray,
    out_node: np.ndarray,
    out_weight: np.ndarray,
    in_ptr: np.ndarray,
    in_node: np.ndarray,
    in_weight: np.ndarray,
    changed_src: np.ndarray,
    changed_dst: np.ndarray,
    changed_weight: np.ndarray,
    dist: np.ndarray,
    nxt: np.ndarray,
) -> np.ndarray:
    """Update ``T`` trees in place: ``dist`` (n x T, float64) and ``nxt`` (T x n, int32).

    ``out_*`` is the graph's adjacency by source (``out_node[k]`` the far end of node ``v``'s
    ``k``-th edge for ``k`` in ``out_ptr[v]:out_ptr[v + 1]``), ``in_*`` by destination, both
    with the current weights; ``changed_*`` are the edges whose weight changed since the trees
    were computed, with their current weights. Returns, for each tree, how many nodes it
    touched (0: the tree was right as it was). Beyond clearing one array of the graph's size,
    the work grows with the part of a tree that the changes reach (the nodes upstream of a
    changed tree edge, and those a cheaper edge now serves), not with the graph.
    """
    n, trees = dist.shape
    state = np.zeros(n, dtype=np.int8)  # 0 holds, 1 lost its cost, 2 moved; reset after each
    touched = np.empty(n, dtype=np.int64)
    # every node enters the heap at most once as a seed, and once per edge into it after
    capacity = in_node.shape[0] + n + changed_src.shape[0] + 1
    keys = np.empty(capacity)
    nodes = np.empty(capacity, dtype=np.int64)
    moved = np.zeros(trees, dtype=np.int64)
    for t in range(trees):
        moved[t] = _repair_one(
            out_ptr,
            out_node,
            out_weight,
            in_ptr,
            in_node,
            in_weight,
            changed_src,
            changed_dst,
            changed_weight,
            dist[:, t],
            nxt[t],
            state,
            touched,
            keys,
            nodes,
        )
    return moved


@njit(cache=True, nogil=True)
def _repair_one(
    out_ptr: np.ndarray,
    out_node: np.ndarray,
    out_weight: np.ndarray,
    in_ptr: np.ndarray,
    in_node: np.ndarray,
    in_weight: np.ndarray,
    changed_src: np.ndarray,
    changed_dst: np.ndarray,
    changed_weight: np.ndarray,
    dist: np.ndarray,
    nxt: np.ndarray,
    state: np.ndarray,
    touched: np.ndarray,
    keys: np.ndarray,
    nodes: np.ndarray,
) -> int:
    # 1. nodes whose path crosses a changed edge: marked at the edge, then up the tree (the
    #    nodes whose next hop is a marked node, found among its in-neighbours)
    count = 0
    for k in range(changed_src.shape[0]):
        v = changed_src[k]
        if nxt[v] == changed_dst[k] and state[v] == 0:
            state[v] = 1
            touched[count] = v
            count += 1
    i = 0
    while i < count:
        v = touched[i]
        i += 1
        for k in range(in_ptr[v], in_ptr[v + 1]):
            x = in_node[k]
            if state[x] == 0 and nxt[x] == v:
                state[x] = 1
                touched[count] = x
                count += 1
    lost = count
    size = 0
    for i in range(lost):
        v = touched[i]
        best, hop = np.inf, NO_HOP
        for k in range(out_ptr[v], out_ptr[v + 1]):
            u = out_node[k]
            if state[u] != 1 and out_weight[k] + dist[u] < best:
                best, hop = out_weight[k] + dist[u], u
        dist[v], nxt[v] = best, hop
        if hop != NO_HOP:
            size = _heap_push(keys, nodes, size, best, v)
    # 2. nodes a changed edge now undercuts
    undercut = 0
    for k in range(changed_src.shape[0]):
        v, u = changed_src[k], changed_dst[k]
        if state[v] != 1 and state[u] != 1 and changed_weight[k] + dist[u] < dist[v]:
            dist[v], nxt[v] = changed_weight[k] + dist[u], u
            undercut += 1
            size = _heap_push(keys, nodes, size, dist[v], v)
    # 3. the new costs spread upstream
    while size > 0:
        d, u = keys[0], nodes[0]
        size = _heap_pop(keys, nodes, size)
        if d > dist[u]:
            continue
        for k in range(in_ptr[u], in_ptr[u + 1]):
            x = in_node[k]
            candidate = d + in_weight[k]
            if candidate < dist[x]:
                if state[x] == 0:
                    state[x] = 2
                    touched[count] = x
                    count += 1
                dist[x], nxt[x] = candidate, u
                size = _heap_push(keys, nodes, size, candidate, x)
    for i in range(count):
        state[touched[i]] = 0
    return count + undercut


def search_space(nodes: int, entries: int) -> tuple[np.ndarray, ...]:
    """The work arrays :func:`cheapest_path` reuses from one search to the next."""
    return (
        np.full(nodes, np.inf),  # cost from the source
        np.full(nodes, -1, dtype=np.int64),  # the entry the cheapest path arrives by
        np.zeros(nodes, dtype=np.bool_),  # settled
        np.empty(nodes, dtype=np.int64),  # the nodes reached, to reset after the search
        np.empty(entries + 1),  # heap keys
        np.empty(entries + 1, dtype=np.int64),  # heap nodes
    )


CUT_OFF_NODES = 64  # how far back from the target a search first looks for a way in


def entries_into(ptr: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The adjacency entries arriving at each node (``into_ptr``/``into_entry``, grouped by
    far end like ``ptr`` groups them by source) and each entry's source node."""
    into_entry = np.argsort(node, kind="stable").astype(np.int64)
    into_ptr = np.concatenate(([0], np.cumsum(np.bincount(node, minlength=len(ptr) - 1))))
    entry_source = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    return into_ptr.astype(np.int64), into_entry, entry_source


@njit(cache=True, nogil=True)
def _cut_off(
    into_ptr: np.ndarray,
    into_entry: np.ndarray,
    entry_source: np.ndarray,
    weight: np.ndarray,
    source: int,
    target: int,
    seen: np.ndarray,
    queue: np.ndarray,
) -> bool:
    """Whether the nodes that reach ``target`` by entries of finite weight are fewer than
    :data:`CUT_OFF_NODES` and ``source`` is not among them (a target behind failed channels).
    ``seen`` (all false) and ``queue`` are work arrays of the graph's size, left as they came."""
    seen[target] = True
    queue[0] = target
    count, i, cut = 1, 0, True
    while cut and i < count:
        v = queue[i]
        i += 1
        for k in range(into_ptr[v], into_ptr[v + 1]):
            entry = into_entry[k]
            u = entry_source[entry]
            if weight[entry] == np.inf or seen[u]:
                continue
            if u == source or count == CUT_OFF_NODES:
                cut = False
                break
            seen[u] = True
            queue[count] = u
            count += 1
    for i in range(count):
        seen[queue[i]] = False
    return cut


@njit(cache=True, nogil=True)
def cheapest_path(
    ptr: np.ndarray,
    node: np.ndarray,
    weight: np.ndarray,
    into_ptr: np.ndarray,
    into_entry: np.ndarray,
    entry_source: np.ndarray,
    source: int,
    target: int,
    floor_a: np.ndarray,
    floor_b: np.ndarray,
    offset_b: float,
    cost: np.ndarray,
    via: np.ndarray,
    done: np.ndarray,
    reached: np.ndarray,
    keys: np.ndarray,
    nodes: np.ndarray,
) -> np.ndarray:
    """The adjacency entries (``ptr``/``node``/``weight`` by source node, as in a CSR matrix)
    of the cheapest path ``source -> target``, in order; empty if the target is out of reach.
    ``into_*`` and ``entry_source`` index the same entries by far end (:func:`entries_into`):
    a target that few nodes can still reach is checked first, without a search (a receiver
    whose only channels failed would otherwise send it over every node the bound lets in).

    The search is A*: ``min(floor_a[v], floor_b[v] + offset_b)`` must never exceed the cost
    from ``v`` to the target, and never exceed an edge's weight plus the same bound at its far
    end, except on the source's own edges (then the first path found is the cheapest). Nodes
    whose bound is infinite cannot reach the target and are not explored. Entries of infinite
    weight are never used. ``cost`` to ``nodes`` are the work arrays of :func:`search_space`,
    left as they came.
    """
    if _cut_off(into_ptr, into_entry, entry_source, weight, source, target, done, reached):
        return np.empty(0, dtype=np.int64)
    count = 0
    cost[source] = 0.0
    reached[count] = source
    count += 1
    size = _heap_push(keys, nodes, 0, 0.0, source)
    while size > 0:
        u = nodes[0]
        size = _heap_pop(keys, nodes, size)
        if done[u]:
            continue
        done[u] = True
        if u == target:
            break
        for k in range(ptr[u], ptr[u + 1]):
            v = node[k]
            candidate = cost[u] + weight[k]
            if candidate < cost[v] and not done[v]:
                bound = min(floor_a[v], floor_b[v] + offset_b)
                if bound == np.inf:
                    continue
                if cost[v] == np.inf:
                    reached[count] = v
                    count += 1
                cost[v] = candidate
                via[v] = k
                size = _heap_push(keys, nodes, size, candidate + bound, v)
    path = np.empty(0, dtype=np.int64)
    if done[target] and target != source:
        hops = 0
        v = target
        while v != source:
            hops += 1
            v = node_of_entry(ptr, via[v])
        path = np.empty(hops, dtype=np.int64)
        v = target
        for h in range(hops - 1, -1, -1):
            path[h] = via[v]
            v = node_of_entry(ptr, via[v])
    for i in range(count):
        v = reached[i]
        cost[v], via[v], done[v] = np.inf, -1, False
    return path


@njit(cache=True, nogil=True)
def node_of_entry(ptr: np.ndarray, entry: int) -> int:
    """The source node of adjacency entry ``entry`` (the row whose range holds it)."""
    return int(np.searchsorted(ptr, entry, side="right")) - 1


@njit(cache=True, nogil=True)
def choose_first_path(
    firsts: np.ndarray,
    to_receiver: np.ndarray,
    to_peer: np.ndarray,
    entry_in: np.ndarray,
    direct: np.ndarray,
    exit_cost: np.ndarray,
    fuzz: np.ndarray,
    plain_usable: bool,
) -> tuple[int, int, int, int]:
    """The sender's first path: ``(k, i, j, first)``.

    ``firsts`` are the far ends of the sender's usable first hops that do not enter our node;
    ``to_receiver`` every node's cost to the receiver avoiding us, ``to_peer`` (n x P) to each
    of our peers; ``entry_in[i]`` the cost of peer ``i``'s channel into us (infinite if none);
    ``direct[i]`` whether the sender is peer ``i`` with a usable channel into us;
    ``exit_cost[j]`` our fee toward peer ``j`` as the sender knows it, its risk and ``j``'s
    cost to the receiver; ``fuzz`` the cost factors (empty: none), ``[0]`` for the path
    avoiding us and ``[1 + j]`` through our channel ``j``; ``plain_usable`` false when the
    best path avoiding us cannot be used.

    ``k`` is the index in ``firsts`` of the best path avoiding us (-1: none). ``j`` is -1 when
    that path is the choice; otherwise the path enters us from peer ``i`` (by first hop
    ``firsts[first]``, or :data:`SENDER_IS_PEER`) and leaves to peer ``j`` (``i != j``).
    """
    peers = entry_in.shape[0]
    best_k, plain_cost = -1, np.inf
    for k in range(firsts.shape[0]):
        if to_receiver[firsts[k]] < plain_cost:
            best_k, plain_cost = k, to_receiver[firsts[k]]
    plain_cost = plain_cost + FIRST_HOP_COST if plain_usable else np.inf
    entry_cost = np.full(peers, np.inf)
    entry_first = np.full(peers, -1, dtype=np.int64)
    for p in range(peers):
        if direct[p]:
            entry_cost[p], entry_first[p] = FIRST_HOP_COST, SENDER_IS_PEER
            continue
        for k in range(firsts.shape[0]):
            if to_peer[firsts[k], p] + entry_in[p] < entry_cost[p]:
                entry_cost[p], entry_first[p] = to_peer[firsts[k], p] + entry_in[p], k
    if peers < 2:
        return best_k, -1, -1, -1
    i1 = 0
    for p in range(1, peers):
        if entry_cost[p] < entry_cost[i1]:
            i1 = p
    i2 = 1 if i1 == 0 else 0
    for p in range(peers):
        if p != i1 and entry_cost[p] < entry_cost[i2]:
            i2 = p
    best_j, best_score = -1, np.inf
    for j in range(peers):
        through = (entry_cost[i2] if j == i1 else entry_cost[i1]) + exit_cost[j]
        score = through * fuzz[1 + j] if fuzz.shape[0] else through
        if score < best_score:
            best_j, best_score = j, score
    plain_score = plain_cost * fuzz[0] if fuzz.shape[0] else plain_cost
    if best_j < 0 or not best_score < plain_score:
        return best_k, -1, -1, -1
    i = i1 if best_j != i1 else i2
    return best_k, i, best_j, entry_first[i]


ALL_BITCOIN_MSAT = 21_000_000 * 100_000_000 * 1000  # no amount can be larger


@njit(cache=True, nogil=True)
def _with_fee(out: int, base: int, ppm: int) -> int:
    """``out`` plus the fee ``base + out * ppm // 10**6`` (BOLT 7), exactly, without int64
    overflow: a sum beyond every bitcoin there is stops at :data:`ALL_BITCOIN_MSAT`."""
    whole, rest = out // 1_000_000, out % 1_000_000
    if whole > 0 and ppm > ALL_BITCOIN_MSAT // whole:
        return ALL_BITCOIN_MSAT
    return min(ALL_BITCOIN_MSAT, out + base + whole * ppm + rest * ppm // 1_000_000)


@njit(cache=True, nogil=True)
def _spendable(
    edge: int,
    e_chan: np.ndarray,
    e_side: np.ndarray,
    side0: np.ndarray,
    capacity: np.ndarray,
    reserve: np.ndarray,
) -> int:
    """What the source of ``edge`` can send through it now (as ``Ledger.spendable``)."""
    chan = e_chan[edge]
    own = side0[chan] if e_side[edge] == 0 else capacity[chan] - side0[chan]
    spendable: int = max(0, own - reserve[chan])
    return spendable


@njit(cache=True, nogil=True)
def spendable_edges(
    edges: np.ndarray,
    e_chan: np.ndarray,
    e_side: np.ndarray,
    side0: np.ndarray,
    capacity: np.ndarray,
    reserve: np.ndarray,
    held: np.ndarray,
    amount: int,
) -> np.ndarray:
    """The ``edges`` whose source can send ``amount`` now: its side of the channel less the
    reserve (:class:`~lnopt.sim.ledger.Ledger`) and less what ``held`` (per edge) reserves."""
    keep = np.empty(edges.shape[0], dtype=edges.dtype)
    count = 0
    for k in range(edges.shape[0]):
        edge = edges[k]
        if _spendable(edge, e_chan, e_side, side0, capacity, reserve) - held[edge] >= amount:
            keep[count] = edge
            count += 1
    return keep[:count]


@njit(cache=True, nogil=True)
def cost_to_us(to_peer: np.ndarray, entry_in: np.ndarray) -> np.ndarray:
    """Each node's cost to reach our node: ``min_i to_peer[v, i] + entry_in[i]``."""
    nodes, peers = to_peer.shape
    cost = np.full(nodes, np.inf)
    for v in range(nodes):
        for i in range(peers):
            if to_peer[v, i] + entry_in[i] < cost[v]:
                cost[v] = to_peer[v, i] + entry_in[i]
    return cost


@njit(cache=True, nogil=True)
def price_path(
    path: np.ndarray,
    amount: int,
    budget: int,
    e_base: np.ndarray,
    e_ppm: np.ndarray,
    e_max: np.ndarray,
    capacity: np.ndarray,
    e_chan: np.ndarray,
    our_out: np.ndarray,
    known_base: np.ndarray,
    known_ppm: np.ndarray,
) -> tuple[np.ndarray, int]:
    """What each hop of ``path`` carries and the edge the sender would not use (-1: none).

    A hop carries the part's ``amount`` plus the fees of the hops after it (BOLT 7's rounding
    down; see :func:`_with_fee` for fees too large to add up); our own directions
    (``our_out[edge]`` is their index ``j``, else -1) charge what the sender knows of them
    (``known_base[j]``, ``known_ppm[j]``). The edge refused is the first that cannot carry its
    amount (above its ``htlc_maximum``, or not below its capacity), else, when the fees exceed
    ``budget``, the hop charging most.
    """
    hops = path.shape[0]
    amounts = np.empty(hops, dtype=np.int64)
    amounts[hops - 1] = amount
    for h in range(hops - 1, 0, -1):
        edge, out = path[h], amounts[h]
        j = our_out[edge]
        if j >= 0:
            amounts[h - 1] = _with_fee(out, known_base[j], known_ppm[j])
        else:
            amounts[h - 1] = _with_fee(out, e_base[edge], e_ppm[edge])
    for h in range(hops):
        edge = path[h]
        if amounts[h] > e_max[edge] or amounts[h] >= capacity[e_chan[edge]]:
            return amounts, edge
    if hops < 2 or amounts[0] - amount <= budget:
        return amounts, -1
    worst = 1
    for h in range(2, hops):
        if amounts[h - 1] - amounts[h] > amounts[worst - 1] - amounts[worst]:
            worst = h
    return amounts, path[worst]


@njit(cache=True, nogil=True)
def first_blocked_hop(
    path: np.ndarray,
    amounts: np.ndarray,
    start: int,
    e_chan: np.ndarray,
    e_side: np.ndarray,
    side0: np.ndarray,
    capacity: np.ndarray,
    reserve: np.ndarray,
    held: np.ndarray,
    our_out: np.ndarray,
) -> int:
    """The first hop from ``start`` on that our node forwards on (past the first) or whose
    source cannot send its amount now; ``len(path)`` when there is none."""
    hops: int = path.shape[0]
    for h in range(start, hops):
        edge = path[h]
        if h > 0 and our_out[edge] >= 0:
            return h
        if _spendable(edge, e_chan, e_side, side0, capacity, reserve) - held[edge] < amounts[h]:
            return h
    return hops
