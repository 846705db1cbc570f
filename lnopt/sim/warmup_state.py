"""The end of a warm-up (:mod:`lnopt.sim.warmup`): the state every policy's run starts from.

Apart from the warm-up itself so that the engine, which starts runs from it, need not import
the module that drives the engine through the warm-up.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lnopt.model import Forward
from lnopt.sim.competitors import CompetitorMarket
from lnopt.sim.ledger import Ledger
from lnopt.sim.mission import MissionControl
from lnopt.sim.node import NodeCounters, OurNodeState


@dataclass(frozen=True)
class WarmupState:
    """The end of a warm-up, which every policy's run copies (never changes)."""

    ledger: Ledger
    node: OurNodeState
    mission: MissionControl
    market: CompetitorMarket | None
    payments: int

    def node_copy(self) -> OurNodeState:
        """Our node's state with its record, and counters back at zero for the scored period."""
        shared: dict[int, object] = {id(f): f for f in self.node.forwards}  # immutable
        node: OurNodeState = copy.deepcopy(self.node, shared)
        node.counters = NodeCounters()
        node.listeners = []
        return node

    @property
    def forwards(self) -> tuple[Forward, ...]:
        return tuple(self.node.forwards)
