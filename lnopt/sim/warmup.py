"""The warm-up: the history our node has when the scored period begins.

A real node that installs a fee tool has been forwarding for a while, at its starting fees;
every tool reads that history (lnopt's store, the forwarding tables other tools read), so no
rule has to start on an empty record. The warm-up simulates ``days`` days before the scored
period at the starting fees (no fee tool acts), with its own payments drawn from the world's
demand (seed: the run's stream seed + :data:`WARMUP_SEED_OFFSET`, at the scored period's rate
of payments per day), the competitors re-pricing and the liquidity rule at work.

It runs once per world and stream (:func:`warm_up`); each policy's run then starts from a copy
of its end state (:class:`WarmupState`): balances, our node's record (its forwards keep their
timestamps, before the scored period, so a policy's backend lists them as past forwards), the
senders' memory and the competitors' fees. Nothing of it is scored: income, counters and
samples start at zero when the scored period does.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lnopt.sim.engine import DAY_S, START_S, SimParams, Simulation
from lnopt.sim.policy import Policy, PolicyContext
from lnopt.sim.warmup_state import WarmupState
from lnopt.sim.world import World, draw_stream

WARMUP_SEED_OFFSET = 1 << 32  # the warm-up's payments: a stream of their own


@dataclass(frozen=True)
class WarmupParams:
    """How much history our node has before the scored period."""

    days: float = field(
        default=14.0,
        metadata={
            "help": "days simulated at the starting fees before the scored period, seen by "
            "every policy as history and not scored (0: none); 14 days fill the 7-day "
            "windows fee tools read twice over"
        },
    )


class StartingFees(Policy):
    """The node before any fee tool: it keeps the fees it has."""

    name = "warm-up"


def warm_up(world: World, params: SimParams, warmup: WarmupParams) -> WarmupState | None:
    """Simulate the warm-up of ``world`` (see the module docstring); None for 0 days."""
    if warmup.days <= 0:
        return None
    world_params = world.params
    stream = draw_stream(
        world.topo,
        world.our.network,
        world_params,
        seed=world.stream_seed + WARMUP_SEED_OFFSET,
        count=round(world_params.payments * warmup.days / world_params.days),
        days=warmup.days,
    )
    context = PolicyContext(world.median, world.seed, Path(tempfile.gettempdir()))
    simulation = Simulation(
        world,
        StartingFees(context),
        params,
        stream=stream,
        start_s=START_S - warmup.days * DAY_S,
        days=warmup.days,
    )
    simulation.run()
    return WarmupState(
        ledger=simulation.ledger,
        node=simulation.node,
        mission=simulation.network.mission,
        market=simulation.market,
        payments=len(stream),
    )
