"""One simulation: a policy drives our node through a world's payment stream.

Time advances from payment to payment; in between, in time order, the engine delivers what is
due: the policy's scheduled ticks, gossip emissions and arrivals, the competitors' re-pricings
(:mod:`lnopt.sim.competitors`), the hourly drift of channels back toward their starting split
under the liquidity rule (:mod:`lnopt.sim.liquidity`), and hourly samples of our channels for
the metrics. Settled forwards reach the policy at once, as ``forward_event`` notifications do.

A run may start from a warm-up's end state (:mod:`lnopt.sim.warmup`): then our node already has
a record of past forwards, which the policy reads, but nothing before the scored period counts.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np

from lnopt.backends.sim import SimBackend
from lnopt.model import ForwardStatus
from lnopt.sim.competitors import CompetitorMarket, CompetitorParams
from lnopt.sim.demand import PaymentStream
from lnopt.sim.gossip import GossipModel, GossipParams
from lnopt.sim.ledger import Ledger
from lnopt.sim.liquidity import LiquidityParams, Rebalancer
from lnopt.sim.metrics import RunResult
from lnopt.sim.node import OurNodeState
from lnopt.sim.payments import Outcome, PaymentNetwork
from lnopt.sim.policy import Policy
from lnopt.sim.warmup_state import WarmupState
from lnopt.sim.world import World

HOUR_S = 3600.0
DAY_S = 86_400.0
START_S = 1_760_000_000.0


@dataclass(frozen=True)
class SimParams:
    """How the simulation treats everything outside the payments themselves."""

    sample_s: float = field(
        default=HOUR_S, metadata={"help": "seconds between samples of our channels' balances"}
    )
    gossip: GossipParams = field(default_factory=GossipParams)
    depleted_ratio: float = field(
        default=0.1, metadata={"help": "a channel-hour below this local share counts as empty"}
    )
    saturated_ratio: float = field(
        default=0.9, metadata={"help": "a channel-hour above this local share counts as full"}
    )
    competitors: CompetitorParams = field(default_factory=CompetitorParams)
    liquidity: LiquidityParams = field(default_factory=LiquidityParams)


class Simulation:
    """One policy on one world's payments; ``stream``, ``start_s`` and ``days`` default to the
    world's scored period, ``warmup`` (the end of a warm-up) to a node without history."""

    def __init__(
        self,
        world: World,
        policy: Policy,
        params: SimParams | None = None,
        *,
        warmup: WarmupState | None = None,
        stream: PaymentStream | None = None,
        start_s: float = START_S,
        days: float | None = None,
    ) -> None:
        self.world = world
        self.policy = policy
        self.params = params or SimParams()
        self.stream = world.stream if stream is None else stream
        self.start_s = start_s
        self.end_s = start_s + (world.params.days if days is None else days) * DAY_S
        self.now = start_s
        our = world.our
        if warmup is None:
            self.ledger = Ledger(world.topo, world.start_side0_msat)
            self.node = OurNodeState(our.channels)
            self.market: CompetitorMarket | None = CompetitorMarket(
                world.topo,
                world.network_edges,
                self.params.competitors,
                seed=world.seed,
                start_s=start_s,
                start_side0_msat=world.start_side0_msat,
            )
        else:
            self.ledger = warmup.ledger.copy()
            self.node = warmup.node_copy()
            self.market = copy.deepcopy(warmup.market)
        self.ledger.relax_ours(self.params.liquidity.rule == "relax")
        self._first_forward = len(self.node.forwards)
        self._market_changes = 0 if self.market is None else self.market.changes
        self.rebalancer = Rebalancer(world.router, self.ledger, self.params.liquidity)
        self.gossip = GossipModel(
            self.params.gossip, start_s, {ch.short_channel_id: ch.our_policy for ch in our.channels}
        )
        self.backend = SimBackend(
            our,
            ledger=self.ledger,
            node=self.node,
            gossip=self.gossip,
            clock=lambda: self.now,
            start_s=start_s,
            market=self.market,
            rebalancer=self.rebalancer,
        )
        self.network = PaymentNetwork(
            world.topo,
            world.router,
            self.ledger,
            self.node,
            self.gossip,
            senders=world.params.senders,
        )
        if warmup is not None:
            self.network.mission = copy.deepcopy(warmup.mission)
        interval = policy.interval_s
        self._next_tick = start_s + interval if interval else math.inf
        self._next_sample = start_s
        self._next_relax = start_s + HOUR_S
        self._relax_fraction = 1.0 - 0.5 ** (HOUR_S / self.params.liquidity.relax_half_life_s)
        self._samples_t: list[float] = []
        self._samples_income: list[int] = []
        self._samples_ratio: list[np.ndarray] = []
        self._outcomes: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self._payment_income_msat: list[int] = []  # what each payment that paid us brought

    def run(self) -> RunResult:
        started = time.perf_counter()
        backend, policy = self.backend, self.policy
        if self.market is not None:
            self.market.apply(self.world.router)
        policy.start(backend, self.now)
        self.node.listeners.append(lambda forward: policy.on_forward(backend, forward))
        stream = self.stream
        times = stream.times_s + self.start_s
        senders, receivers, amounts = stream.senders, stream.receivers, stream.amounts_msat
        pay = self.network.pay
        counters = self.node.counters
        try:
            for k in range(len(stream)):
                t = float(times[k])
                self._advance(t)
                income_before_msat = counters.income_msat
                sender = int(senders[k])
                outcome = pay(
                    sender,
                    int(receivers[k]),
                    int(amounts[k]),
                    t,
                    sender_class=stream.sender_class(sender),
                    key=stream.key(k),
                )
                self._outcomes[outcome] += 1
                if counters.income_msat != income_before_msat:
                    self._payment_income_msat.append(counters.income_msat - income_before_msat)
            self._advance(self.end_s)
        finally:
            policy.close()
        return self._result(time.perf_counter() - started)

    def _advance(self, until_s: float) -> None:
        gossip, market = self.gossip, self.market
        while True:
            due_gossip = gossip.next_event_s()
            gossip_s = math.inf if due_gossip is None else due_gossip
            market_s = math.inf if market is None else market.next_tick_s
            when = min(gossip_s, self._next_tick, self._next_sample, self._next_relax, market_s)
            if when > until_s:
                break
            self.now = max(self.now, when)
            if when == gossip_s:
                gossip.advance(when)
            elif when == self._next_tick:
                self.policy.tick(self.backend, when)
                self._next_tick += self.policy.interval_s or math.inf
            elif when == self._next_sample:
                self._sample()
                self._next_sample += self.params.sample_s
            elif when == self._next_relax:
                self.ledger.relax(self._relax_fraction)
                self._next_relax += HOUR_S
            elif market is not None:
                market.tick(when, self.ledger, self.world.router)
        self.now = max(self.now, until_s)

    def _sample(self) -> None:
        topo = self.world.topo
        ratios = np.array(
            [
                self.backend.local_msat(scid) / int(topo.chan_cap[chan])
                for scid, chan in zip(topo.our_scids, topo.our_chan, strict=True)
            ]
        )
        self._samples_t.append(self.now - self.start_s)
        self._samples_income.append(self.node.counters.income_msat)
        self._samples_ratio.append(ratios)

    def _result(self, wall_s: float) -> RunResult:
        counters = self.node.counters
        ratios = np.array(self._samples_ratio)
        income_by_channel = dict.fromkeys(self.world.topo.our_scids, 0)
        for forward in self.node.forwards[self._first_forward :]:
            if forward.status is ForwardStatus.SETTLED and forward.out_channel is not None:
                income_by_channel[forward.out_channel] += forward.fee_msat or 0
        network = self.network.counters
        return RunResult(
            policy=self.policy.name,
            seed=self.world.seed,
            stream_seed=self.world.stream_seed,
            income_msat=counters.income_msat,
            forwards=counters.forwards,
            volume_msat=counters.volume_msat,
            failed_liquidity=counters.failed_liquidity,
            failed_fee=counters.failed_fee,
            failed_downstream=counters.failed_downstream,
            fee_updates=counters.fee_updates,
            gossip_emitted=self.gossip.stats.emitted,
            gossip_dropped=self.gossip.stats.dropped,
            depleted_share=float((ratios < self.params.depleted_ratio).mean()),
            saturated_share=float((ratios > self.params.saturated_ratio).mean()),
            payments=network.payments,
            payments_settled=network.settled,
            parts=network.parts,
            parts_settled=network.parts_settled,
            attempts=network.attempts,
            income_by_channel=income_by_channel,
            final_ppm={scid: p.fee_ppm for scid, p in self.node.policies.items()},
            series_t_s=np.array(self._samples_t),
            series_income_msat=np.array(self._samples_income, dtype=np.int64),
            series_local_ratio=ratios,
            payment_income_msat=np.array(self._payment_income_msat, dtype=np.int64),
            wall_s=wall_s,
            explanations=tuple(self.policy.explanations()),
            rebalance_cost_msat=self.rebalancer.counters.cost_msat,
            rebalances=self.rebalancer.counters.rebalances,
            competitor_fee_changes=0
            if self.market is None
            else self.market.changes - self._market_changes,
        )
