"""The simulator's backend, as a contract harness: our node in the line world of
:mod:`tests.test_sim_worlds`, its own state (policies, forwards, balances) the truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lnopt.backends.sim import START_BLOCK
from lnopt.model import ForwardStatus
from lnopt.sim.baselines.static import StaticPolicy
from lnopt.sim.engine import Simulation
from lnopt.sim.policy import PolicyContext
from tests.contract.harness import Harness
from tests.test_sim_worlds import line_world

ALIAS = "lnopt-sim"


class SimHarness(Harness):
    """Our two channels in the line world, before any payment.

    Not a :class:`~tests.contract.harness.TransportHarness`: the simulated node runs in the same
    process and answers in domain values, so it can neither go away nor send a garbled answer.
    """

    def __init__(self, workdir: Path) -> None:
        world = line_world(x_fee_ppm=1000, our_fee_ppm=10)
        self.simulation = Simulation(world, StaticPolicy(PolicyContext(world.median, 0, workdir)))
        self.backend = self.simulation.backend
        self.our = world.our

    def node_identity(self) -> tuple[str, str, int]:
        return self.our.node_id, ALIAS, START_BLOCK

    def node_channels(self) -> dict[str, dict[str, Any]]:
        node = self.simulation.node
        found: dict[str, dict[str, Any]] = {}
        for ch in self.our.channels:
            scid = ch.short_channel_id
            ours = node.policies[scid]
            found[scid] = {
                "capacity_msat": ch.capacity_msat,
                "local_msat": self._local_msat(scid),
                "our_fees": (ours.base_fee_msat, ours.fee_ppm),
                "peer_fees": None
                if ch.peer_policy is None
                else (ch.peer_policy.base_fee_msat, ch.peer_policy.fee_ppm),
                "state": ch.state.value,
                "opener": ch.opener.value,
                "peer_id": ch.peer_id,
            }
        return found

    def node_fees(self, short_channel_id: str) -> tuple[int, int, int, int | None]:
        fees = self.simulation.node.policies[short_channel_id]
        return fees.base_fee_msat, fees.fee_ppm, fees.htlc_min_msat, fees.htlc_max_msat

    def add_settled_forwards(self, count: int) -> None:
        first, second = (ch.short_channel_id for ch in self.our.channels)
        for i in range(count):
            into, out = (first, second) if i % 2 else (second, first)
            self.simulation.node.record(
                ForwardStatus.SETTLED,
                in_channel=into,
                out_channel=out,
                in_msat=10_001 + i,
                out_msat=10_000 + i,
                now_s=float(i),
            )

    def forward_count(self) -> int:
        return len(self.simulation.node.forwards)

    def _local_msat(self, short_channel_id: str) -> int:
        topo, ledger = self.simulation.world.topo, self.simulation.ledger
        chan = topo.chan_scid.index(short_channel_id)
        side = 0 if int(topo.chan_first[chan]) == topo.us else 1
        return ledger.balance(chan, side)
