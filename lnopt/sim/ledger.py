"""Channel balances: who owns what in every channel, and the moves routing makes.

Each channel's capacity is split between its two sides; the ledger keeps side 0's share
(integer msat) and side 1 holds the rest, so a move never creates or destroys money. A side
cannot spend its channel reserve (1% of the capacity, BOLT 2's usual choice).

Balances of other people's channels are unknown in reality; the simulation draws them. Their
operators also manage them (rebalancing, swaps, new channels) in ways the simulation does not
model path by path: :meth:`Ledger.relax` moves channels part of the way back to their starting
split, which keeps the network from draining in the direction of the demand. Which channels
relax is the liquidity rule's choice (:mod:`lnopt.sim.liquidity`): every channel alike, ours
included, or everyone's but ours when our node must pay to rebalance.

The ledger also counts what crossed each direction (:attr:`Ledger.moved_msat`), the traffic a
competitor's fee policy reacts to (:mod:`lnopt.sim.competitors`).
"""

from __future__ import annotations

import numpy as np

from lnopt.sim.topology import Topology

RESERVE_PPM = 10_000


class Ledger:
    def __init__(self, topo: Topology, side0_msat: np.ndarray) -> None:
        if side0_msat.shape != topo.chan_cap.shape:
            raise ValueError("one starting balance per channel is needed")
        if (side0_msat < 0).any() or (side0_msat > topo.chan_cap).any():
            raise ValueError("starting balances must lie between 0 and the capacity")
        self.topo = topo
        self.side0 = side0_msat.astype(np.int64).copy()
        self.start = self.side0.copy()
        self.reserve = topo.chan_cap * RESERVE_PPM // 1_000_000
        self.relaxed = np.ones(len(topo.chan_cap), dtype=bool)
        self.moved_msat = np.zeros(topo.edge_count, dtype=np.int64)

    def copy(self) -> Ledger:
        """An independent ledger with the same balances (the topology is shared)."""
        twin = Ledger(self.topo, self.start)
        twin.side0 = self.side0.copy()
        twin.relaxed = self.relaxed.copy()
        twin.moved_msat = self.moved_msat.copy()
        return twin

    def relax_ours(self, relaxed: bool) -> None:
        """Whether our node's channels relax like everyone's."""
        self.relaxed[self.topo.our_chan] = relaxed

    def balance(self, chan: int, side: int) -> int:
        own = int(self.side0[chan])
        return own if side == 0 else int(self.topo.chan_cap[chan]) - own

    def spendable(self, edge: int) -> int:
        """What the source of ``edge`` can send through it now."""
        chan = int(self.topo.e_chan[edge])
        own = self.balance(chan, int(self.topo.e_side[edge]))
        return max(0, own - int(self.reserve[chan]))

    def move(self, edge: int, amount_msat: int) -> None:
        """Shift ``amount_msat`` from the source's side of ``edge`` to the destination's."""
        chan = int(self.topo.e_chan[edge])
        if self.topo.e_side[edge] == 0:
            self.side0[chan] -= amount_msat
        else:
            self.side0[chan] += amount_msat
        self.moved_msat[edge] += amount_msat

    def relax(self, fraction: float) -> None:
        """Move the relaxed channels ``fraction`` of the way back to their starting split."""
        if fraction <= 0:
            return
        shift = np.rint((self.start - self.side0) * fraction).astype(np.int64)
        self.side0 += np.where(self.relaxed, shift, 0)

    def holdings(self) -> np.ndarray:
        """Each node's total across its channels (msat), for accounting checks."""
        topo = self.topo
        held = np.zeros(topo.node_count, dtype=np.int64)
        np.add.at(held, topo.chan_first, self.side0)
        np.add.at(held, topo.chan_second, topo.chan_cap - self.side0)
        return held
