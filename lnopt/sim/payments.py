"""Routing one payment: split it, route every part, hold, then settle all parts or none.

**A payment is atomic.** Its sender's wallet software (:mod:`lnopt.sim.senders`) cuts it into
parts (CLN presplits, LND starts whole). Parts are routed one after another; a part that
reaches the receiver is *held*: every hop's balance is reserved (its HTLC is in flight) and
later parts see less. A part that cannot get through (no route, or its tries are used up) is
halved, as CLN's adaptive splitter and LND's shard halving do, within the class's part limits.
When every part is held the receiver settles them all: balances move, fees are earned. When a
part fails for good, every held part is released and nobody earns anything: our node records
each held part it carried as a failed forward (the receiver failed the HTLC set back after the
multi-part timeout, which a forwarding node sees as a failure from downstream).

**A part's path.** The sender first takes the cheapest path (see :mod:`lnopt.sim.routing` for
the cost) among two kinds: the best path avoiding our node, read from the receiver's cached
tree, and the best path through our node, entering from peer ``i`` and leaving to peer ``j``:
cost to reach ``i`` + ``i``'s fee into us + our fee (as this sender knows it) + cost from ``j``
to the receiver, minimised over ``i != j`` (:func:`~lnopt.sim.kernels.choose_first_path`).
Fuzz (CLN) scales each candidate's cost by its own factor drawn from the payment's key. First
hops this payment already saw fail (or excluded for this part) are left out before that
choice. If the chosen path crosses a channel the sender's mission control penalises
(:mod:`lnopt.sim.mission`), the sender searches the whole graph with the penalties added:
penalties only raise costs, so a best path without penalised edges is still the best one, and
the cached trees serve every sender. A path that would visit a node twice is left to the full
search. Parts of one payment
of the same amount bucket take the path a sibling took while no failure came in between (the
sender's knowledge is the same), and tree paths are walked once and kept by the router.

A path whose fees exceed the part's share of the payment's fee budget is not tried: the
sender drops its most expensive hop and searches again. The attempt walks the path hop by hop.
Each hop must be able to carry its amount (the part plus the fees of the hops after it): our
node also checks the fee it is offered. On a failure the sender remembers the failing channel
(or, for ``fee_insufficient``, learns our real policy from the error) and searches again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from lnopt.model import ChannelPolicy, ForwardStatus
from lnopt.sim.gossip import GossipModel
from lnopt.sim.kernels import (
    SENDER_IS_PEER,
    choose_first_path,
    first_blocked_hop,
    price_path,
    spendable_edges,
)
from lnopt.sim.ledger import Ledger
from lnopt.sim.mission import MissionControl, SenderMemory
from lnopt.sim.node import FailureReason, OurNodeState
from lnopt.sim.routing import (
    ATTEMPT_COST_MSAT,
    ATTEMPT_COST_PPM,
    BUCKET_AMOUNTS_MSAT,
    Router,
    bucket_of,
    fee_cost,
)
from lnopt.sim.senders import SenderClass, SenderParams
from lnopt.sim.topology import Topology

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class Outcome(enum.Enum):
    SETTLED = "settled"
    NO_ROUTE = "no_route"
    GAVE_UP = "gave_up"


@dataclass
class NetworkCounters:
    payments: int = 0
    settled: int = 0
    parts: int = 0  # parts routed (halves of a stuck part count again)
    parts_settled: int = 0
    attempts: int = 0
    volume_msat: int = 0
    fees_msat: int = 0  # paid by senders, earned by forwarding nodes (ours included)
    through_us: int = 0  # settled parts that crossed our node


@dataclass
class _Payment:
    sender: int
    receiver: int
    amount_msat: int
    now_s: float
    kind: SenderClass
    memory: SenderMemory
    learned: dict[int, ChannelPolicy]  # our channel j -> policy this sender learned
    fuzz: np.ndarray | None  # cost factors: [0] the path avoiding us, [1 + j] through our j
    attempts: int = 0
    failed: dict[int, int] = field(default_factory=dict)  # edge -> smallest amount failed
    generation: int = 0  # increases with every failure this payment meets
    searched: dict[tuple[int, int], list[int]] = field(default_factory=dict)


@dataclass
class _Part:
    amount_msat: int
    bucket: int
    budget_msat: int
    excluded: set[int] = field(default_factory=set)


_Held = tuple[list[int], list[int], int]  # path, hop amounts, part amount


class PaymentNetwork:
    """The network payments run through; our node's fees come from ``node`` and ``gossip``."""

    def __init__(
        self,
        topo: Topology,
        router: Router,
        ledger: Ledger,
        node: OurNodeState,
        gossip: GossipModel,
        *,
        senders: SenderParams | None = None,
    ) -> None:
        self.topo = topo
        self.router = router
        self.ledger = ledger
        self.node = node
        self.gossip = gossip
        self.senders = senders or SenderParams()
        self.mission = MissionControl(self.senders.penalty_half_life_s)
        self.counters = NetworkCounters()
        self._edge_to_ours = {int(e): j for j, e in enumerate(topo.our_out)}
        self._edge_to_ours.update({int(e): j for j, e in enumerate(topo.our_in) if e >= 0})
        self._our_out_index = np.full(topo.edge_count, -1, dtype=np.int64)
        self._our_out_index[topo.our_out] = np.arange(len(topo.our_out))
        self._known_fees_version = -1
        self._known_base = np.empty(0, dtype=np.int64)
        self._known_ppm = np.empty(0, dtype=np.int64)
        self._out_risk = [router.risk(b, topo.our_out) for b in range(router.weights.shape[0])]
        self._known_cache: dict[int, tuple[int, np.ndarray]] = {}
        # msat reserved on each edge by the current payment's held parts, and the edges touched
        self._held_msat = np.zeros(topo.edge_count, dtype=np.int64)
        self._held_edges: list[int] = []
        self._no_peer = np.zeros(len(topo.our_peer), dtype=bool)
        self._no_fuzz = np.empty(0)

    # --- our fees as senders see them ----------------------------------------------------

    def _our_costs(self, b: int, learned: dict[int, ChannelPolicy]) -> np.ndarray:
        """Cost of each of our outgoing directions, fee and risk, as the sender knows them."""
        risk = self._out_risk[b]
        cached = self._known_cache.get(b)
        if cached is None or cached[0] != self.gossip.version:
            base, ppm = self._known_fees({})
            amount = float(BUCKET_AMOUNTS_MSAT[b])
            fees = fee_cost(base.astype(float), ppm.astype(float), amount)
            cached = (self.gossip.version, fees + risk)
            self._known_cache[b] = cached
        costs = cached[1]
        if learned:
            costs = costs.copy()
            for j, policy in learned.items():
                costs[j] = _policy_costs(b, [policy])[0] + risk[j]
        return costs

    def _still_learned(self, memory: SenderMemory) -> dict[int, ChannelPolicy]:
        """The sender's learned policies that gossip has not superseded since."""
        if not memory.learned:
            return {}
        scids = self.topo.our_scids
        for j in [
            j
            for j, (_, at_s) in memory.learned.items()
            if self.gossip.known_since_s(scids[j]) > at_s
        ]:
            del memory.learned[j]
        return {j: policy for j, (policy, _) in memory.learned.items()}

    # --- one payment -----------------------------------------------------------------------

    def pay(
        self,
        sender: int,
        receiver: int,
        amount_msat: int,
        now_s: float,
        *,
        sender_class: int = 0,
        key: int = 0,
    ) -> Outcome:
        kind = self.senders.classes[sender_class]
        memory = self.mission.of(sender)
        payment = _Payment(
            sender,
            receiver,
            amount_msat,
            now_s,
            kind,
            memory,
            self._still_learned(memory),
            _fuzz_factors(key, len(self.topo.our_scids) + 1, kind.fuzz_ppm),
        )
        self.counters.payments += 1
        budget_msat = kind.fee_budget_msat(amount_msat)
        pending = kind.presplit(amount_msat)
        held: list[_Held] = []
        self._clear_held()
        limit = self.senders.max_attempts_per_payment
        while pending:
            part_msat = pending.pop()
            self.counters.parts += 1
            part = _Part(part_msat, bucket_of(part_msat), budget_msat * part_msat // amount_msat)
            placed = self._route_part(payment, part)
            if placed is not None:
                held.append(placed)
                self._held_msat[placed[0]] += placed[1]  # a path never repeats an edge
                self._held_edges.extend(placed[0])
                continue
            splittable = (
                payment.attempts < limit
                and part_msat >= 2 * kind.min_part_sat * 1000
                and len(held) + len(pending) + 2 <= kind.max_parts
            )
            if not splittable:
                self._release(held, payment)
                return Outcome.GAVE_UP if payment.attempts else Outcome.NO_ROUTE
            half = part_msat // 2
            pending.extend((part_msat - half, half))
        self._settle(held, payment)
        return Outcome.SETTLED

    def _route_part(self, payment: _Payment, part: _Part) -> _Held | None:
        """Route one part to the receiver and hold it there, or None if it cannot get through."""
        per_part = self.senders.max_attempts_per_part
        per_payment = self.senders.max_attempts_per_payment
        penalties = self._penalties(payment, part)
        tries = 0
        searches = 0
        while tries < per_part and payment.attempts < per_payment and searches < 4 * per_part:
            searches += 1
            path = self._choose_path(payment, part, penalties)
            if path is None:
                return None
            hops = np.array(path, dtype=np.int64)
            amounts, unusable = self._price(hops, payment, part)
            if unusable >= 0:
                part.excluded.add(unusable)
                penalties[unusable] = np.inf
                continue
            tries += 1
            payment.attempts += 1
            self.counters.attempts += 1
            carried = amounts.tolist()
            if self._attempt(path, hops, amounts, carried, payment):
                return path, carried, part.amount_msat
            penalties = self._penalties(payment, part)
        return None

    def _penalties(self, payment: _Payment, part: _Part) -> dict[int, float]:
        """Added cost per edge for this part: the sender's memory, this payment's failures."""
        amount = part.amount_msat
        attempt = ATTEMPT_COST_MSAT + amount * ATTEMPT_COST_PPM / 1e6
        found = self.mission.penalties(payment.memory, amount, attempt, payment.now_s)
        for edge, smallest in payment.failed.items():
            if amount >= smallest:
                found[edge] = np.inf
        for edge in part.excluded:
            found[edge] = np.inf
        return found

    def _spendable_first_hops(
        self, payment: _Payment, amount_msat: int, penalties: dict[int, float]
    ) -> np.ndarray:
        """The sender's outgoing edges that can carry the amount and are not excluded."""
        usable: np.ndarray = spendable_edges(
            self.topo.out_edges(payment.sender), *self._balances(), amount_msat
        )
        src = self.topo.e_src
        blocked = [
            e for e, cost in penalties.items() if cost == np.inf and src[e] == payment.sender
        ]
        if blocked:
            usable = usable[~np.isin(usable, blocked)]
        return usable

    def _choose_path(
        self, payment: _Payment, part: _Part, penalties: dict[int, float]
    ) -> list[int] | None:
        """The path this part tries next: a sibling's, the first path, or a full search.

        Parts of one payment share what the sender learned: while no failure came in between,
        a sibling of the same amount bucket would find the same path, so it tries that one
        (if the sender's own first hop can still carry it).
        """
        key = (part.bucket, payment.generation)
        if not part.excluded:
            found = payment.searched.get(key)
            if found is not None:
                first = found[0]
                spendable = self.ledger.spendable(first) - int(self._held_msat[first])
                if spendable >= part.amount_msat:
                    return found
        usable = self._spendable_first_hops(payment, part.amount_msat, penalties)
        if usable.size == 0:
            return None
        path = self._first_path(payment, part, usable)
        if path is not None and penalties and any(edge in penalties for edge in path):
            path = None
        if path is None:
            path = self._search(payment, part, penalties, usable)
        if path is not None and not part.excluded:
            payment.searched[key] = path
        return path

    def _first_path(self, payment: _Payment, part: _Part, usable: np.ndarray) -> list[int] | None:
        """The cheapest path before penalties: avoiding us by the trees, or through us."""
        topo, router = self.topo, self.router
        b = part.bucket
        to_receiver, _ = router.tree(payment.receiver, b)
        to_peer, _ = router.peer_costs(b)
        into_us = topo.e_dst[usable] == topo.us
        plain = usable[~into_us]
        firsts = topo.e_dst[plain]
        direct = self._no_peer
        if into_us.any():
            direct = direct.copy()
            direct[[self._edge_to_ours[int(e)] for e in usable[into_us]]] = True
        exit_cost = self._our_costs(b, payment.learned) + to_receiver[topo.our_peer]
        fuzz = self._no_fuzz if payment.fuzz is None else payment.fuzz
        choose = (firsts, to_receiver, to_peer, router.entry_costs(b), direct, exit_cost, fuzz)
        k, i, j, first = choose_first_path(*choose, True)
        plain_path = None
        if k >= 0:
            walk = router.path_to(payment.receiver, b, int(firsts[k]))
            if walk is None:
                k, i, j, first = choose_first_path(*choose, False)
            else:
                plain_path = [int(plain[k]), *walk]
        if j < 0:
            return plain_path
        entry = int(plain[first]) if first != SENDER_IS_PEER else SENDER_IS_PEER
        path = self._through_us(payment, b, i, j, entry)
        return path if path is not None else plain_path

    def _through_us(
        self, payment: _Payment, b: int, i: int, j: int, first: int
    ) -> list[int] | None:
        topo, router = self.topo, self.router
        if first == SENDER_IS_PEER:
            head: list[int] = []
        else:
            walk = router.path_to_peer(i, b, int(topo.e_dst[first]))
            if walk is None:
                return None
            head = [first, *walk]
        tail = router.path_to(payment.receiver, b, int(topo.our_peer[j]))
        if tail is None:
            return None
        path = [*head, int(topo.our_in[i]), int(topo.our_out[j]), *tail]
        visited = [payment.sender, *(int(topo.e_dst[e]) for e in path)]
        return path if len(set(visited)) == len(visited) else None

    def _search(
        self, payment: _Payment, part: _Part, penalties: dict[int, float], usable: np.ndarray
    ) -> list[int] | None:
        """The cheapest path on the whole graph under the penalties (one A* search)."""
        b = part.bucket
        our_costs = self._our_costs(b, payment.learned)
        if payment.fuzz is not None:
            our_costs = our_costs * payment.fuzz[1:]
        return self.router.route_avoiding(
            payment.sender,
            payment.receiver,
            b,
            penalties=penalties,
            first_hops=usable,
            our_costs=our_costs,
        )

    # --- amounts, limits, attempt ----------------------------------------------------------

    def _price(self, hops: np.ndarray, payment: _Payment, part: _Part) -> tuple[np.ndarray, int]:
        """What each hop carries, and the edge the sender would not use (-1: none)."""
        topo = self.topo
        base, ppm = self._known_fees(payment.learned)
        amounts, unusable = price_path(
            hops,
            part.amount_msat,
            part.budget_msat,
            topo.e_base,
            topo.e_ppm,
            topo.e_max,
            topo.chan_cap,
            topo.e_chan,
            self._our_out_index,
            base,
            ppm,
        )
        return amounts, int(unusable)

    def _known_fees(self, learned: dict[int, ChannelPolicy]) -> tuple[np.ndarray, np.ndarray]:
        """Base fee and fee rate of each of our channels as the sender knows them."""
        if self._known_fees_version != self.gossip.version:
            policies = [self.gossip.known(scid) for scid in self.topo.our_scids]
            self._known_base = np.array([p.base_fee_msat for p in policies], dtype=np.int64)
            self._known_ppm = np.array([p.fee_ppm for p in policies], dtype=np.int64)
            self._known_fees_version = self.gossip.version
        if not learned:
            return self._known_base, self._known_ppm
        base, ppm = self._known_base.copy(), self._known_ppm.copy()
        for j, policy in learned.items():
            base[j], ppm[j] = policy.base_fee_msat, policy.fee_ppm
        return base, ppm

    def _attempt(
        self,
        path: list[int],
        hops: np.ndarray,
        amounts: np.ndarray,
        carried: list[int],
        payment: _Payment,
    ) -> bool:
        """Send the HTLC along ``path`` (``hops`` as an array), each hop carrying its amount;
        True when it reaches the receiver. Hops our node does not forward on are checked in
        one compiled pass up to the first that cannot carry its amount."""
        topo, node, ledger = self.topo, self.node, self.ledger
        forwarded_at: int | None = None
        h = 0
        while True:
            h = first_blocked_hop(hops, amounts, h, *self._balances(), self._our_out_index)
            if h == len(path):
                return True
            edge, amount = path[h], carried[h]
            at_us = h > 0 and self._our_out_index[edge] >= 0
            if at_us:
                j = self._edge_to_ours[edge]
                scid = topo.our_scids[j]
                in_scid = topo.our_scids[self._edge_to_ours[path[h - 1]]]
                fee = carried[h - 1] - amount
                if not node.accepts_fee(scid, fee, amount, payment.now_s):
                    node.fail_locally(
                        FailureReason.FEE_INSUFFICIENT,
                        in_channel=in_scid,
                        out_channel=scid,
                        in_msat=carried[h - 1],
                        out_msat=amount,
                        available_msat=ledger.spendable(edge),
                        now_s=payment.now_s,
                    )
                    payment.learned[j] = node.policies[scid]
                    payment.memory.learn(j, node.policies[scid], payment.now_s)
                    payment.generation += 1
                    return False
            available = ledger.spendable(edge) - int(self._held_msat[edge])
            if available < amount:
                payment.failed[edge] = min(amount, payment.failed.get(edge, amount))
                payment.generation += 1
                if h > 0:
                    payment.memory.failed(edge, amount, payment.now_s)
                if at_us:
                    node.fail_locally(
                        FailureReason.INSUFFICIENT_BALANCE,
                        in_channel=in_scid,
                        out_channel=scid,
                        in_msat=carried[h - 1],
                        out_msat=amount,
                        available_msat=max(0, available),
                        now_s=payment.now_s,
                    )
                elif forwarded_at is not None:
                    self._record_ours(path, carried, forwarded_at, ForwardStatus.FAILED, payment)
                return False
            if at_us:
                forwarded_at = h
            h += 1

    # --- the end of a payment --------------------------------------------------------------

    def _settle(self, held: list[_Held], payment: _Payment) -> None:
        """Every part reached the receiver: balances move and every hop earns its fee."""
        counters = self.counters
        counters.settled += 1
        counters.volume_msat += payment.amount_msat
        counters.parts_settled += len(held)
        for path, amounts, part_msat in held:
            for edge, amount in zip(path, amounts, strict=True):
                self.ledger.move(edge, amount)
            counters.fees_msat += amounts[0] - part_msat
            for h in self._our_hops(path):
                counters.through_us += 1
                self._record_ours(path, amounts, h, ForwardStatus.SETTLED, payment)
        self._clear_held()

    def _release(self, held: list[_Held], payment: _Payment) -> None:
        """A part failed for good: every held part fails back, nothing moves, nobody earns."""
        for path, amounts, _ in held:
            for h in self._our_hops(path):
                self._record_ours(path, amounts, h, ForwardStatus.FAILED, payment)
        self._clear_held()

    def _balances(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What the kernels need to tell what an edge's source can send now (held parts
        deducted): channel and side of each edge, the ledger's balances, capacities, reserves."""
        topo, ledger = self.topo, self.ledger
        return (
            topo.e_chan,
            topo.e_side,
            ledger.side0,
            topo.chan_cap,
            ledger.reserve,
            self._held_msat,
        )

    def _clear_held(self) -> None:
        self._held_msat[self._held_edges] = 0
        self._held_edges.clear()

    def _our_hops(self, path: list[int]) -> list[int]:
        """Positions of the hops our node forwards on."""
        return [h for h in range(1, len(path)) if self._our_out_index[path[h]] >= 0]

    def _record_ours(
        self,
        path: list[int],
        amounts: list[int],
        h: int,
        status: ForwardStatus,
        payment: _Payment,
    ) -> None:
        ours = self._edge_to_ours
        self.node.record(
            status,
            in_channel=self.topo.our_scids[ours[path[h - 1]]],
            out_channel=self.topo.our_scids[ours[path[h]]],
            in_msat=amounts[h - 1],
            out_msat=amounts[h],
            now_s=payment.now_s,
        )


def _policy_costs(b: int, policies: list[ChannelPolicy]) -> np.ndarray:
    base = np.array([p.base_fee_msat for p in policies], dtype=float)
    ppm = np.array([p.fee_ppm for p in policies], dtype=float)
    return fee_cost(base, ppm, float(BUCKET_AMOUNTS_MSAT[b]))


def _fuzz_factors(key: int, count: int, fuzz_ppm: int) -> np.ndarray | None:
    """``count`` cost factors in ``1 ± fuzz`` from the payment's key (splitmix64), or None."""
    if fuzz_ppm <= 0:
        return None
    x = np.uint64(key) + np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    unit = (x >> np.uint64(11)).astype(float) / float(2**53)
    factors: np.ndarray = 1.0 + (fuzz_ppm / 1e6) * (2.0 * unit - 1.0)
    return factors
