"""One simulation: a policy drives our node through a world's payment stream.

Time advances from payment to payment; in between, in time order, the engine delivers what is
due: the policy's scheduled ticks, gossip emissions and arrivals, the hourly drift of other
people's channels back toward their starting split (:meth:`~lnopt.sim.ledger.Ledger.relax`),
and hourly samples of our channels for the metrics. Settled forwards reach the policy at once,
as ``forward_event`` notifications do.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from lnopt.backends.sim import SimBackend
from lnopt.model import ForwardStatus
from lnopt.sim.gossip import GossipModel, GossipParams
from lnopt.sim.ledger import Ledger
from lnopt.sim.metrics import RunResult
from lnopt.sim.node import OurNodeState
from lnopt.sim.payments import Outcome, PaymentNetwork
from lnopt.sim.policy import Policy
from lnopt.sim.world import World

HOUR_S = 3600.0
START_S = 1_760_000_000.0


@dataclass(frozen=True)
class SimParams:
    """How the simulation treats everything outside the payments themselves."""

    relax_half_life_s: float = 2 * 86_400.0  # other operators' liquidity management
    sample_s: float = HOUR_S
    gossip: GossipParams = field(default_factory=GossipParams)
    depleted_ratio: float = 0.1
    saturated_ratio: float = 0.9


class Simulation:
    def __init__(self, world: World, policy: Policy, params: SimParams | None = None) -> None:
        self.world = world
        self.policy = policy
        self.params = params or SimParams()
        self.now = START_S
        our = world.our
        self.ledger = Ledger(world.topo, world.start_side0_msat)
        self.node = OurNodeState(our.channels)
        self.gossip = GossipModel(
            self.params.gossip, START_S, {ch.short_channel_id: ch.our_policy for ch in our.channels}
        )
        self.backend = SimBackend(
            our,
            ledger=self.ledger,
            node=self.node,
            gossip=self.gossip,
            clock=lambda: self.now,
            start_s=START_S,
        )
        self.network = PaymentNetwork(
            world.topo,
            world.router,
            self.ledger,
            self.node,
            self.gossip,
            senders=world.params.senders,
        )
        interval = policy.interval_s
        self._next_tick = START_S + interval if interval else math.inf
        self._next_sample = START_S
        self._next_relax = START_S + HOUR_S
        self._relax_fraction = 1.0 - 0.5 ** (HOUR_S / self.params.relax_half_life_s)
        self._samples_t: list[float] = []
        self._samples_income: list[int] = []
        self._samples_ratio: list[np.ndarray] = []
        self._outcomes: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self._payment_income_msat: list[int] = []  # what each payment that paid us brought

    def run(self) -> RunResult:
        started = time.perf_counter()
        backend, policy = self.backend, self.policy
        policy.start(backend, self.now)
        self.node.listeners.append(lambda forward: policy.on_forward(backend, forward))
        stream = self.world.stream
        times = stream.times_s + START_S
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
            self._advance(START_S + self.world.params.days * 86_400.0)
        finally:
            policy.close()
        return self._result(time.perf_counter() - started)

    def _advance(self, until_s: float) -> None:
        gossip = self.gossip
        while True:
            due_gossip = gossip.next_event_s()
            gossip_s = math.inf if due_gossip is None else due_gossip
            when = min(gossip_s, self._next_tick, self._next_sample, self._next_relax)
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
            else:
                self.ledger.relax(self._relax_fraction)
                self._next_relax += HOUR_S
        self.now = max(self.now, until_s)

    def _sample(self) -> None:
        topo = self.world.topo
        ratios = np.array(
            [
                self.backend.local_msat(scid) / int(topo.chan_cap[chan])
                for scid, chan in zip(topo.our_scids, topo.our_chan, strict=True)
            ]
        )
        self._samples_t.append(self.now - START_S)
        self._samples_income.append(self.node.counters.income_msat)
        self._samples_ratio.append(ratios)

    def _result(self, wall_s: float) -> RunResult:
        counters = self.node.counters
        ratios = np.array(self._samples_ratio)
        income_by_channel = dict.fromkeys(self.world.topo.our_scids, 0)
        for forward in self.node.forwards:
            if forward.status is ForwardStatus.SETTLED and forward.out_channel is not None:
                income_by_channel[forward.out_channel] += forward.fee_msat or 0
        network = self.network.counters
        return RunResult(
            policy=self.policy.name,
            seed=self.world.seed,
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
        )
