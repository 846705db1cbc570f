"""Each baseline reproduces its published algorithm on small hand-made cases."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lnopt.errors import ConfigError
from lnopt.model import Forward, ForwardStatus
from lnopt.sim.baselines import charge_lnd, clboss, feeadjuster, lndg, lndmanage
from lnopt.sim.baselines.history import ChannelFlow
from lnopt.sim.engine import Simulation
from lnopt.sim.policies import load_policies, make_policy
from lnopt.sim.policy import POLICIES, PolicyContext
from tests.factories import channel, policy
from tests.test_sim_worlds import line_world


def simulation_with(name: str, tmp_path: Path, *, local_share: float | None = None) -> Simulation:
    world = line_world(x_fee_ppm=1000, our_fee_ppm=100)
    if local_share is not None:
        topo = world.topo
        balances = {}
        for scid, chan in zip(topo.our_scids, topo.our_chan, strict=True):
            ours_first = int(topo.chan_first[chan]) == topo.us
            balances[scid] = local_share if ours_first else 1 - local_share
        world = line_world(x_fee_ppm=1000, our_fee_ppm=100, balances=balances)
    context = PolicyContext(world.median, 0, tmp_path)
    return Simulation(world, make_policy(name, context))


def test_every_baseline_is_registered_and_unknown_names_are_refused() -> None:
    load_policies()
    assert {"static", "feeadjuster", "charge-lnd", "lndg", "clboss", "lndmanage", "lnopt"} <= set(
        POLICIES
    )
    with pytest.raises(ConfigError, match="unknown policy 'nope'"):
        make_policy("nope", PolicyContext(policy(), 0, Path(".")))


# --- feeadjuster -----------------------------------------------------------------------------


def test_feeadjuster_ratio_curve() -> None:
    assert feeadjuster.get_ratio(0.5) == pytest.approx(1.0)
    assert feeadjuster.get_ratio(0.0) == pytest.approx(50**0.5)
    assert feeadjuster.get_ratio(1.0) == pytest.approx(50**-0.5)


def test_feeadjuster_prices_a_depleted_channel_up_at_start(tmp_path: Path) -> None:
    # Given both channels hold 20% on our side and the reference fee is 100 ppm
    simulation = simulation_with("feeadjuster", tmp_path, local_share=0.2)
    # When the plugin starts
    simulation.policy.start(simulation.backend, simulation.now)
    # Then each fee is int(100 * 50 ** 0.3), the base fee is the reference one
    for ch in simulation.backend.channels():
        assert ch.our_policy.fee_ppm == int(100 * 50**0.3)
        assert ch.our_policy.base_fee_msat == simulation.world.median.base_fee_msat


def test_feeadjuster_waits_for_a_significant_balance_move(tmp_path: Path) -> None:
    # Given the plugin adjusted at a 20% local share
    simulation = simulation_with("feeadjuster", tmp_path, local_share=0.2)
    adjuster = simulation.policy
    backend = simulation.backend
    adjuster.start(backend, simulation.now)
    ch = backend.channels()[0]
    updates = simulation.node.counters.fee_updates
    # When a forward moves the balance by 0.5% of the capacity
    edge = simulation.world.topo.our_out[0]
    simulation.ledger.move(int(edge), ch.capacity_msat // 200)
    forward = Forward(
        ch.short_channel_id, 0, ch.short_channel_id, 1, 1, 0, ForwardStatus.SETTLED, 0.0
    )
    adjuster.on_forward(backend, forward)
    # Then nothing changes; after a 10% move it adjusts
    assert simulation.node.counters.fee_updates == updates
    simulation.ledger.move(int(edge), ch.capacity_msat // 10)
    adjuster.on_forward(backend, forward)
    assert simulation.node.counters.fee_updates == updates + 1
    share = backend.local_msat(ch.short_channel_id) / ch.capacity_msat
    assert backend.get_policy(ch.short_channel_id).fee_ppm == int(100 * 50 ** (0.5 - share))


# --- charge-lnd ------------------------------------------------------------------------------


def test_charge_lnd_proportional_goes_from_max_to_min() -> None:
    assert charge_lnd.proportional_ppm(0.0, 100, 300) == 300
    assert charge_lnd.proportional_ppm(1.0, 100, 300) == 100
    assert charge_lnd.proportional_ppm(0.5, 100, 300) == 200
    assert charge_lnd.proportional_ppm(0.25, 100, 300) == 250


def test_charge_lnd_skips_changes_below_the_minimum_delta(tmp_path: Path) -> None:
    # Given balanced channels at 200 ppm (the proportional rate at 50% with 100..300)
    simulation = simulation_with("charge-lnd", tmp_path)
    backend = simulation.backend
    for ch in backend.channels():
        backend.set_policy(ch.short_channel_id, policy(1000, 195))
    updates = simulation.node.counters.fee_updates
    # When it runs, the 5 ppm difference is below the 10 ppm delta: nothing changes
    simulation.policy.tick(backend, simulation.now)
    assert simulation.node.counters.fee_updates == updates
    # but from 150 ppm it moves to 200
    for ch in backend.channels():
        backend.set_policy(ch.short_channel_id, policy(1000, 150))
    simulation.policy.tick(backend, simulation.now)
    assert {ch.our_policy.fee_ppm for ch in backend.channels()} == {200}


# --- LNDg AutoFees ---------------------------------------------------------------------------


def _lndg(local_ratio: float, **flows: ChannelFlow | int) -> int:
    ch = channel(1, capacity_sat=10_000_000, local_ratio=local_ratio, fee_ppm=500)
    return lndg.new_rate(
        ch,
        rate=500,
        flow_1d=flows.get("flow_1d", ChannelFlow()),  # type: ignore[arg-type]
        flow_7d=flows.get("flow_7d", ChannelFlow()),  # type: ignore[arg-type]
        failed_out_1d=int(flows.get("failed", 0)),  # type: ignore[arg-type]
    )


def test_lndg_lowers_idle_channels() -> None:
    assert _lndg(0.5) == 500 - 3 * 5  # balanced, no flow in 7 days
    assert _lndg(0.97) == 500 - 5 * 5  # full, no flow in 7 days


def test_lndg_raises_on_net_outflow_and_on_failed_htlcs() -> None:
    # net outflow of 1.5 capacities in 7 days: +2m(1 + net/capacity), rounded to 5
    outflow = ChannelFlow(out_msat=15_000_000_000, out_count=30)
    assert _lndg(0.5, flow_7d=outflow) == 510
    # nearly empty with 26 liquidity failures and nothing in today: +5m
    assert _lndg(0.03, failed=26, flow_7d=outflow) == 525
    # ...but not with 25 failures, nor with inflow today
    assert _lndg(0.03, failed=25, flow_7d=outflow) == 500
    inflow = ChannelFlow(in_msat=5_000_000, in_count=1)
    assert _lndg(0.03, failed=26, flow_1d=inflow, flow_7d=outflow) == 500


def test_lndg_changes_a_channel_at_most_daily(tmp_path: Path) -> None:
    simulation = simulation_with("lndg", tmp_path)
    backend = simulation.backend
    simulation.policy.start(backend, simulation.now)
    simulation.policy.tick(backend, simulation.now + 23 * 3600)
    assert simulation.node.counters.fee_updates == 0
    simulation.policy.tick(backend, simulation.now + 25 * 3600)
    assert {ch.our_policy.fee_ppm for ch in backend.channels()} == {100 - 15}


# --- CLBOSS ----------------------------------------------------------------------------------


def test_clboss_weighted_median_and_price_levels() -> None:
    assert clboss.weighted_median([(10, 1), (20, 1), (1000, 5)]) == 1000
    assert clboss.weighted_median([(10, 5), (20, 1), (1000, 1)]) == 10
    assert clboss.price_to_multiplier(2) == pytest.approx(1.44)
    assert clboss.price_to_multiplier(-2) == pytest.approx(0.64)
    assert clboss.balance_ratio(0.5) == pytest.approx(1.0)


def test_clboss_price_theory_moves_to_the_best_earning_card() -> None:
    # Given a fresh deck around price 0
    theory = clboss.PriceTheory(random.Random(1))
    played = []
    # When each of the five cards is played for its 288 periods, and only price +1 earns
    for _ in range(5):
        level = _level(theory.multiplier("peer"))
        played.append(level)
        if level == 1:
            theory.earned("peer", 5000)
        for _ in range(clboss.CARD_LIFETIME):
            theory.period(["peer"])
    # Then all five levels were tried, and the next round is centred on +1
    assert sorted(played) == [-2, -1, 0, 1, 2]
    next_round = []
    for _ in range(5):
        next_round.append(_level(theory.multiplier("peer")))
        for _ in range(clboss.CARD_LIFETIME):
            theory.period(["peer"])
    assert sorted(next_round) == [-1, 0, 1, 2, 3]


def test_clboss_price_theory_keeps_its_centre_when_nothing_earns() -> None:
    theory = clboss.PriceTheory(random.Random(2))
    for _ in range(10):
        theory.multiplier("peer")
        for _ in range(clboss.CARD_LIFETIME):
            theory.period(["peer"])
    levels = set()
    for _ in range(5):
        levels.add(_level(theory.multiplier("peer")))
        for _ in range(clboss.CARD_LIFETIME):
            theory.period(["peer"])
    assert levels == {-2, -1, 0, 1, 2}


LEVELS = {round(clboss.price_to_multiplier(p), 9): p for p in range(-8, 9)}


def _level(multiplier: float) -> int:
    return LEVELS[round(multiplier, 9)]


# --- lndmanage -------------------------------------------------------------------------------


def test_lndmanage_demand_factor() -> None:
    # 10M sat channel, 5M local: the floor is 1 - 0.5 * 4.5M / 9.5M
    floor = 1 - 0.5 * 4_500_000 / 9_500_000
    assert lndmanage.delta_demand(100_000, 5_000_000, 10_000_000) == pytest.approx(1.0)
    assert lndmanage.delta_demand(200_000, 5_000_000, 10_000_000) == pytest.approx(1.5)
    assert lndmanage.delta_demand(1_000_000, 5_000_000, 10_000_000) == pytest.approx(1.5)
    assert lndmanage.delta_demand(0, 5_000_000, 10_000_000) == pytest.approx(floor)
    # below the 500k sat reserve the floor rises above 1: an idle, depleted channel gets dearer
    assert lndmanage.delta_demand(0, 100_000, 10_000_000) == pytest.approx(1 + 0.05 * 0.8)


def test_lndmanage_base_fee_factor_and_clipping() -> None:
    assert lndmanage.base_fee_factor(5) == pytest.approx(1.0)
    assert lndmanage.base_fee_factor(0) == pytest.approx(0.75)
    assert lndmanage.base_fee_factor(100) == pytest.approx(2.0)
    ch = channel(1, capacity_sat=10_000_000, local_ratio=0.5, fee_ppm=900, base_fee_msat=4000)
    base, ppm = lndmanage.new_fees(ch, amount_out_sat=400_000, forwards_out=100)
    assert (base, ppm) == (5000, 1000)  # both clipped at their maximum
