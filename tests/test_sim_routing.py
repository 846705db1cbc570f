"""Routing: path choice, failures and retries, fees, and that no sat is created or destroyed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lnopt.model import ForwardStatus
from lnopt.sim.baselines.static import StaticPolicy
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.hindsight import FixedFeesPolicy
from lnopt.sim.liquidity import LiquidityParams
from lnopt.sim.payments import Outcome, PaymentNetwork
from lnopt.sim.policy import PolicyContext
from lnopt.sim.world import World
from tests.test_sim_worlds import R, S, line_world, small_world  # noqa: F401 - fixture

NO_RELAX = LiquidityParams(relax_half_life_s=1e18)
QUIET = SimParams(liquidity=NO_RELAX)


def context(world: World, tmp_path: Path) -> PolicyContext:
    return PolicyContext(median_policy=world.median, seed=0, workdir=tmp_path)


def run(world: World, tmp_path: Path, fees: dict[str, int] | None = None) -> Simulation:
    policy = (
        StaticPolicy(context(world, tmp_path))
        if fees is None
        else FixedFeesPolicy(context(world, tmp_path), fees)
    )
    simulation = Simulation(world, policy, QUIET)
    simulation.run()
    return simulation


def settled_paths(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], list[int], int, int]]:
    """Record (path, hop amounts, sender, amount) of every settled part."""
    seen: list[tuple[list[int], list[int], int, int]] = []
    original = PaymentNetwork._settle

    def settle(self: PaymentNetwork, held, payment) -> None:  # type: ignore[no-untyped-def]
        for path, amounts, part_msat in held:
            seen.append((list(path), list(amounts), payment.sender, part_msat))
        original(self, held, payment)

    monkeypatch.setattr(PaymentNetwork, "_settle", settle)
    return seen


def test_cheap_path_through_us_is_taken_and_pays_us(tmp_path: Path) -> None:
    # Given X charges 1,000 ppm and we charge 10 ppm
    world = line_world(x_fee_ppm=1000, our_fee_ppm=10)
    # When S pays R 50,000 sat
    simulation = run(world, tmp_path, fees=dict.fromkeys(world.topo.our_scids, 10))
    # Then the payment goes through us and we earn our fee on the amount forwarded
    forwards = [f for f in simulation.node.forwards if f.status is ForwardStatus.SETTLED]
    assert len(forwards) == 1
    assert forwards[0].out_msat == 50_000_000
    assert forwards[0].fee_msat == 50_000_000 * 10 // 1_000_000
    assert simulation.node.counters.income_msat == 500


def test_expensive_us_is_avoided(tmp_path: Path) -> None:
    # Given X charges 10 ppm and we charge 1,000 ppm
    world = line_world(x_fee_ppm=10, our_fee_ppm=1000)
    # When S pays R
    simulation = run(world, tmp_path, fees=dict.fromkeys(world.topo.our_scids, 1000))
    # Then the payment settles without us
    assert simulation.network.counters.settled == 1
    assert simulation.node.counters.forwards == 0


def test_failure_at_our_node_is_recorded_and_the_sender_retries(tmp_path: Path) -> None:
    # Given we are the cheap route but our channel toward P2 holds almost nothing on our side
    world = line_world(x_fee_ppm=1000, our_fee_ppm=10)
    out_scid = world.topo.our_scids[1]
    chan = world.topo.our_chan[1]
    us_first = int(world.topo.chan_first[chan]) == world.topo.us
    world = line_world(
        x_fee_ppm=1000, our_fee_ppm=10, balances={out_scid: 0.001 if us_first else 0.999}
    )
    # When S pays R
    simulation = run(world, tmp_path, fees=dict.fromkeys(world.topo.our_scids, 10))
    # Then we failed it for lack of liquidity, and the retry went around us through X
    assert simulation.node.counters.failed_liquidity == 1
    failed = [f for f in simulation.node.forwards if f.status is ForwardStatus.LOCAL_FAILED]
    assert [f.out_channel for f in failed] == [out_scid]
    assert simulation.network.counters.settled == 1
    assert simulation.network.counters.attempts == 2


def test_path_over_the_fee_budget_is_not_used(tmp_path: Path) -> None:
    # Given the only route (through X; we are far more expensive) costs 1% in fees
    world = line_world(x_fee_ppm=10_000, our_fee_ppm=20_000)
    # When S pays R
    simulation = run(world, tmp_path, fees=dict.fromkeys(world.topo.our_scids, 20_000))
    # Then the sender, accepting at most 0.5%, does not pay
    assert simulation.network.counters.settled == 0
    assert simulation.network.counters.attempts == 0


def test_stale_gossip_fee_fails_at_us_and_the_sender_learns(tmp_path: Path) -> None:
    # Given senders know our fee of 10 ppm, and we raise it to 200 ppm just before the payment
    payments = ((700.0, S, R, 50_000_000),)
    world = line_world(x_fee_ppm=1000, our_fee_ppm=10, payments=payments)
    simulation = Simulation(
        world, StaticPolicy(context(world, tmp_path)), SimParams(liquidity=NO_RELAX)
    )
    for scid in world.topo.our_scids:
        simulation.node.set_policy(
            scid,
            world.our.channels[0].our_policy.with_fees(base_fee_msat=0, fee_ppm=200),
            simulation.now - 700,
        )
    # When S pays R after the old fee stopped being accepted but before gossip told anyone
    outcome = simulation.network.pay(
        world.topo.index[S], world.topo.index[R], 50_000_000, simulation.now + 700
    )
    # Then the first try fails at us for the fee, and the retry pays our new fee
    assert outcome is Outcome.SETTLED
    assert simulation.node.counters.failed_fee == 1
    assert simulation.node.counters.income_msat == 50_000_000 * 200 // 1_000_000


def test_routing_conserves_money(small_world: World, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    # Given a generated world, nothing relaxing balances, and every settled payment recorded
    seen = settled_paths(monkeypatch)
    world = small_world
    topo = world.topo
    simulation = Simulation(world, StaticPolicy(context(world, tmp_path)), QUIET)
    before = simulation.ledger.holdings().copy()
    # When the payments run
    simulation.run()
    after = simulation.ledger.holdings()
    # Then every node's holdings moved by exactly what it paid, received and earned
    expected = np.zeros(topo.node_count, dtype=np.int64)
    fees_paid = 0
    for path, amounts, sender, amount in seen:
        expected[sender] -= amounts[0]
        expected[topo.e_dst[path[-1]]] += amount
        for h in range(1, len(path)):
            expected[topo.e_src[path[h]]] += amounts[h - 1] - amounts[h]
        fees_paid += amounts[0] - amount
    assert len(seen) > 100
    assert (after - before == expected).all()
    # and the capacities are untouched, the fees paid equal the fees earned
    assert after.sum() == before.sum() == topo.chan_cap.sum()
    assert fees_paid == simulation.network.counters.fees_msat
    assert after[topo.us] - before[topo.us] == simulation.node.counters.income_msat


def test_same_seed_same_result(small_world: World, tmp_path: Path) -> None:  # noqa: F811
    # Given the same world twice
    first = Simulation(small_world, StaticPolicy(context(small_world, tmp_path))).run()
    second = Simulation(small_world, StaticPolicy(context(small_world, tmp_path))).run()
    # Then everything measured is the same
    assert first.figures() == second.figures()
    assert first.income_by_channel == second.income_by_channel
    assert first.forwards > 0
