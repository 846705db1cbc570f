"""Routing one payment: choose a path, try it against real balances, retry, settle.

A sender first takes the cheapest path (see :mod:`lnopt.sim.routing` for the cost) among two
kinds: the best path avoiding our node, read from the receiver's static tree, and the best path
through our node, entering from peer ``i`` and leaving to peer ``j``: cost to reach ``i`` +
``i``'s fee into us + our fee (as gossip told the sender) + cost from ``j`` to the receiver,
minimised over ``i != j`` in a few vector operations. A path that would visit a node twice is
left to the full search.

A path whose fees exceed what the sender accepts (Core Lightning ``pay``'s defaults: 0.5% of the
amount, or 5 sat) is not tried: the sender drops its most expensive hop and searches again.
The attempt walks the path hop by hop. Each hop must be able to carry its amount (the
amount plus the fees of the hops after it): our node also checks the fee it is offered. On a
failure the sender excludes the failing channel (or, for ``fee_insufficient``, learns our real
policy from the error) and searches again on the whole graph, up to ``max_attempts`` tries. On
success every hop moves its amount across its channel: the sender pays the amount plus fees,
the receiver gets the amount, each forwarding node keeps its fee.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from lnopt.model import ChannelPolicy, ForwardStatus
from lnopt.sim.gossip import GossipModel
from lnopt.sim.ledger import Ledger
from lnopt.sim.mission import MissionControl
from lnopt.sim.node import FailureReason, OurNodeState
from lnopt.sim.routing import BUCKET_AMOUNTS_MSAT, FIRST_HOP_COST, Router, bucket_of, fee_cost
from lnopt.sim.topology import Topology

MAX_ATTEMPTS = 5
MAX_FEE_PPM = 5_000  # Core Lightning pay's maxfeepercent (0.5%)...
EXEMPT_FEE_MSAT = 5_000  # ...and exemptfee (5 sat): fees below this are always accepted


class Outcome(enum.Enum):
    SETTLED = "settled"
    NO_ROUTE = "no_route"
    GAVE_UP = "gave_up"


@dataclass
class NetworkCounters:
    payments: int = 0
    settled: int = 0
    attempts: int = 0
    volume_msat: int = 0
    fees_msat: int = 0  # paid by senders, earned by forwarding nodes (ours included)
    through_us: int = 0


@dataclass
class _Payment:
    sender: int
    receiver: int
    amount_msat: int
    bucket: int
    now_s: float
    expected_cost: float = np.inf  # cost of the best path before any failure
    excluded: set[int] = field(default_factory=set)
    learned: dict[int, ChannelPolicy] = field(default_factory=dict)  # our channel j -> policy


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
        max_attempts: int = MAX_ATTEMPTS,
        mission: MissionControl | None = None,
    ) -> None:
        self.topo = topo
        self.router = router
        self.ledger = ledger
        self.node = node
        self.gossip = gossip
        self.max_attempts = max_attempts
        self.mission = mission
        self.counters = NetworkCounters()
        self._edge_to_ours = {int(e): j for j, e in enumerate(topo.our_out)}
        self._edge_to_ours.update({int(e): j for j, e in enumerate(topo.our_in) if e >= 0})
        self._in_costs = [
            np.where(topo.our_in >= 0, router.weights[b][topo.our_in], np.inf)
            for b in range(router.weights.shape[0])
        ]
        self._out_risk = [router.risk(b, topo.our_out) for b in range(router.weights.shape[0])]
        self._known_cache: dict[int, tuple[int, np.ndarray]] = {}

    # --- our fees as senders see them ----------------------------------------------------

    def known_policy(self, j: int, learned: dict[int, ChannelPolicy]) -> ChannelPolicy:
        found = learned.get(j)
        return found if found is not None else self.gossip.known(self.topo.our_scids[j])

    def _our_costs(self, b: int, learned: dict[int, ChannelPolicy]) -> np.ndarray:
        """Fee part of the cost of each of our outgoing directions, as the sender knows them."""
        cached = self._known_cache.get(b)
        if cached is None or cached[0] != self.gossip.version:
            policies = [self.gossip.known(scid) for scid in self.topo.our_scids]
            cached = (self.gossip.version, _policy_costs(b, policies))
            self._known_cache[b] = cached
        costs = cached[1]
        if learned:
            costs = costs.copy()
            for j, policy in learned.items():
                costs[j] = _policy_costs(b, [policy])[0]
        return costs

    # --- one payment -----------------------------------------------------------------------

    def pay(self, sender: int, receiver: int, amount_msat: int, now_s: float) -> Outcome:
        payment = _Payment(sender, receiver, amount_msat, bucket_of(amount_msat), now_s)
        self.counters.payments += 1
        path = self._first_path(payment)
        mission = self.mission
        if (
            mission is not None
            and path is not None
            and mission.avoids_any(path, amount_msat, now_s)
        ):
            payment.excluded |= mission.avoided(amount_msat, now_s)
            path = None
        tries = 0
        searches = 0
        while tries < self.max_attempts and searches < 4 * self.max_attempts:
            searches += 1
            if path is None:
                path = self._search(payment)
                if path is None:
                    return Outcome.NO_ROUTE
            amounts = self._amounts(path, payment)
            unusable = self._beyond_limits(path, amounts)
            if unusable is None:
                unusable = self._over_budget(path, amounts, payment)
            if unusable is not None:
                payment.excluded.add(unusable)
                path = None
                continue
            tries += 1
            self.counters.attempts += 1
            if self._attempt(path, amounts, payment):
                self._settle(path, amounts, payment)
                return Outcome.SETTLED
            path = None
        return Outcome.GAVE_UP

    def _first_path(self, payment: _Payment) -> list[int] | None:
        topo, router = self.topo, self.router
        b = payment.bucket
        outgoing = topo.out_edges(payment.sender)
        usable = outgoing[self.ledger.spendable_many(outgoing) >= payment.amount_msat]
        if usable.size == 0:
            return None
        dist_r, next_r = router.tree(payment.receiver, b)
        into_us = topo.e_dst[usable] == topo.us
        plain = usable[~into_us]
        best_cost = np.inf
        best_path: list[int] | None = None
        peers = len(topo.our_peer)
        entry_cost = np.full(peers, np.inf)
        entry_first = np.full(peers, -1, dtype=np.int64)
        if plain.size:
            firsts = topo.e_dst[plain]
            costs = dist_r[firsts]
            k = int(np.argmin(costs))
            walk = router.walk(int(firsts[k]), next_r, b)
            if np.isfinite(costs[k]) and walk is not None:
                best_cost = float(costs[k]) + FIRST_HOP_COST
                best_path = [int(plain[k]), *walk]
            to_peer, _ = router.peer_costs(b)
            reach = to_peer[firsts]
            pick = np.argmin(reach, axis=0)
            entry_cost = reach[pick, np.arange(peers)] + self._in_costs[b]
            entry_first = plain[pick]
        for edge in usable[into_us]:
            j = self._edge_to_ours[int(edge)]
            entry_cost[j] = FIRST_HOP_COST
            entry_first[j] = -2  # the sender is peer j itself
        exit_cost = self._our_costs(b, {}) + self._out_risk[b] + dist_r[topo.our_peer]
        payment.expected_cost = best_cost
        if peers < 2:
            return best_path
        order = np.argsort(entry_cost)
        i1, i2 = int(order[0]), int(order[1])
        through = entry_cost[i1] + exit_cost
        through[i1] = entry_cost[i2] + exit_cost[i1]
        j = int(np.argmin(through))
        payment.expected_cost = float(min(best_cost, through[j]))
        if not through[j] < best_cost:
            return best_path
        i = i1 if j != i1 else i2
        path = self._through_us(payment, i, j, int(entry_first[i]), next_r)
        return path if path is not None else best_path

    def _through_us(
        self, payment: _Payment, i: int, j: int, first: int, next_r: np.ndarray
    ) -> list[int] | None:
        topo, router = self.topo, self.router
        b = payment.bucket
        if first == -2:
            head: list[int] = []
        else:
            _, next_peer = router.peer_costs(b)
            walk = router.walk(int(topo.e_dst[first]), next_peer[i], b)
            if walk is None:
                return None
            head = [first, *walk]
        tail = router.walk(int(topo.our_peer[j]), next_r, b)
        if tail is None:
            return None
        path = [*head, int(topo.our_in[i]), int(topo.our_out[j]), *tail]
        visited = [payment.sender, *(int(topo.e_dst[e]) for e in path)]
        return path if len(set(visited)) == len(visited) else None

    def _search(self, payment: _Payment) -> list[int] | None:
        outgoing = self.topo.out_edges(payment.sender)
        spendable = self.ledger.spendable_many(outgoing)
        first_hops = np.array(
            [
                e
                for e, s in zip(outgoing, spendable, strict=True)
                if s >= payment.amount_msat and int(e) not in payment.excluded
            ],
            dtype=np.int64,
        )
        if first_hops.size == 0:
            return None
        b = payment.bucket
        our_costs = self._our_costs(b, payment.learned) + self._out_risk[b]
        return self.router.route_avoiding(
            payment.sender,
            payment.receiver,
            b,
            excluded=payment.excluded,
            first_hops=first_hops,
            our_costs=our_costs,
            expected_cost=payment.expected_cost,
        )

    # --- amounts, limits, attempt ----------------------------------------------------------

    def _amounts(self, path: list[int], payment: _Payment) -> list[int]:
        """What each hop carries: the amount plus the fees of the hops after it."""
        topo = self.topo
        amounts = [payment.amount_msat] * len(path)
        for h in range(len(path) - 1, 0, -1):
            edge = path[h]
            out = amounts[h]
            if topo.e_src[edge] == topo.us:
                fee = self.known_policy(self._edge_to_ours[edge], payment.learned).fee_msat(out)
            else:
                fee = int(topo.e_base[edge]) + out * int(topo.e_ppm[edge]) // 1_000_000
            amounts[h - 1] = out + fee
        return amounts

    def _beyond_limits(self, path: list[int], amounts: list[int]) -> int | None:
        topo = self.topo
        for edge, amount in zip(path, amounts, strict=True):
            if amount > topo.e_max[edge] or amount >= topo.chan_cap[topo.e_chan[edge]]:
                return edge
        return None

    def _over_budget(self, path: list[int], amounts: list[int], payment: _Payment) -> int | None:
        """The hop charging most, if the path's fees exceed what the sender accepts."""
        budget = max(EXEMPT_FEE_MSAT, payment.amount_msat * MAX_FEE_PPM // 1_000_000)
        if amounts[0] - payment.amount_msat <= budget or len(path) < 2:
            return None
        fees = [amounts[h - 1] - amounts[h] for h in range(1, len(path))]
        return path[1 + int(np.argmax(fees))]

    def _attempt(self, path: list[int], amounts: list[int], payment: _Payment) -> bool:
        topo, node, ledger = self.topo, self.node, self.ledger
        forwarded_at: int | None = None
        for h, edge in enumerate(path):
            amount = amounts[h]
            at_us = h > 0 and topo.e_src[edge] == topo.us
            if at_us:
                j = self._edge_to_ours[edge]
                scid = topo.our_scids[j]
                in_scid = topo.our_scids[self._edge_to_ours[path[h - 1]]]
                fee = amounts[h - 1] - amount
                if not node.accepts_fee(scid, fee, amount, payment.now_s):
                    node.fail_locally(
                        FailureReason.FEE_INSUFFICIENT,
                        in_channel=in_scid,
                        out_channel=scid,
                        in_msat=amounts[h - 1],
                        out_msat=amount,
                        available_msat=ledger.spendable(edge),
                        now_s=payment.now_s,
                    )
                    payment.learned[j] = node.policies[scid]
                    return False
            available = ledger.spendable(edge)
            if available < amount:
                payment.excluded.add(edge)
                if self.mission is not None and h > 0:
                    self.mission.failed(edge, amount, payment.now_s)
                if at_us:
                    node.fail_locally(
                        FailureReason.INSUFFICIENT_BALANCE,
                        in_channel=in_scid,
                        out_channel=scid,
                        in_msat=amounts[h - 1],
                        out_msat=amount,
                        available_msat=available,
                        now_s=payment.now_s,
                    )
                elif forwarded_at is not None:
                    self._record_ours(path, amounts, forwarded_at, ForwardStatus.FAILED, payment)
                return False
            if at_us:
                forwarded_at = h
        return True

    def _settle(self, path: list[int], amounts: list[int], payment: _Payment) -> None:
        topo = self.topo
        for edge, amount in zip(path, amounts, strict=True):
            self.ledger.move(edge, amount)
        counters = self.counters
        counters.settled += 1
        counters.volume_msat += payment.amount_msat
        counters.fees_msat += amounts[0] - payment.amount_msat
        for h in range(1, len(path)):
            if topo.e_src[path[h]] == topo.us:
                counters.through_us += 1
                self._record_ours(path, amounts, h, ForwardStatus.SETTLED, payment)

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
