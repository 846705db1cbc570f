"""Each baseline reproduces its published algorithm on small hand-made cases."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from lnopt.errors import ConfigError
from lnopt.graph import NetworkGraph
from lnopt.model import Forward, ForwardStatus
from lnopt.sim.baselines import charge_lnd, clboss, clboss_size, feeadjuster, lndg, lndmanage
from lnopt.sim.baselines.feeadjuster import AdjustmentMethod
from lnopt.sim.baselines.history import ChannelFlow
from lnopt.sim.engine import Simulation
from lnopt.sim.policies import load_policies, make_policy
from lnopt.sim.policy import POLICIES, PolicyContext
from tests.factories import both_directions, channel, node_id, policy
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
    tools = {"static", "feeadjuster", "charge-lnd", "lndg", "clboss", "lndmanage"}
    tuned = {f"{tool}-tuned" for tool in tools - {"clboss"}}
    assert {"lnopt", *tools, *tuned} <= set(POLICIES)
    with pytest.raises(ConfigError, match="unknown policy 'nope'"):
        make_policy("nope", PolicyContext(policy(), 0, Path(".")))


# --- feeadjuster -----------------------------------------------------------------------------


def test_feeadjuster_ratio_curve() -> None:
    assert feeadjuster.get_ratio(0.5) == pytest.approx(1.0)
    assert feeadjuster.get_ratio(0.0) == pytest.approx(50**0.5)
    assert feeadjuster.get_ratio(1.0) == pytest.approx(50**-0.5)
    # feeadjuster-adjustment-method soft: 10 ** (0.5 - x); hard: 100 ** (0.5 - x) * (1 - x) * 2
    assert feeadjuster.get_ratio(0.2, AdjustmentMethod.SOFT) == pytest.approx(10**0.3)
    assert feeadjuster.get_ratio(0.2, AdjustmentMethod.HARD) == pytest.approx(100**0.3 * 1.6)
    assert feeadjuster.get_ratio(1.0, AdjustmentMethod.HARD) == 0.0


def test_feeadjuster_reference_is_the_configured_default_fee(tmp_path: Path) -> None:
    # Given fee-per-satoshi 400 and fee-base 0 as the node's defaults, the hard curve, 20% local
    simulation = simulation_with(
        "feeadjuster:fee_ppm=400,base_fee_msat=0,adjustment_method=hard", tmp_path, local_share=0.2
    )
    simulation.policy.start(simulation.backend, simulation.now)
    # Then each fee is int(400 * 100 ** 0.3 * (1 - 0.2) * 2) = int(400 * 3.98107 * 1.6) = 2547
    for ch in simulation.backend.channels():
        assert (ch.our_policy.base_fee_msat, ch.our_policy.fee_ppm) == (0, 2547)


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


def test_charge_lnd_runs_the_shipped_example_whatever_the_market(tmp_path: Path) -> None:
    # Given channels with 20% on our side (the line world's median fee is 0 ppm)
    simulation = simulation_with("charge-lnd", tmp_path, local_share=0.2)
    # When it runs examples/all-channels-proportional.config (1000 msat, 100..300 ppm)
    simulation.policy.start(simulation.backend, simulation.now)
    # Then each fee is int(100 + (1 - 0.2) * (300 - 100)) = 260 ppm with a 1,000 msat base
    for ch in simulation.backend.channels():
        assert (ch.our_policy.base_fee_msat, ch.our_policy.fee_ppm) == (1000, 260)


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


def _peer(local_ratio: float, capacity_sat: int = 10_000_000, **sums: int) -> lndg.PeerFlow:
    peer = lndg.PeerFlow(local_sat=int(capacity_sat * local_ratio), capacity_sat=capacity_sat)
    for key, value in sums.items():
        setattr(peer, key, value)
    return peer


def test_lndg_lowers_idle_channels() -> None:
    m = 5  # AF-Multiplier
    assert lndg.adjustment(_peer(0.5)) == -3 * m  # balanced, nothing in or out in 7 days
    assert lndg.adjustment(_peer(0.97)) == -5 * m  # full (out% >= 95), idle
    assert lndg.new_rate(500, lndg.adjustment(_peer(0.5))) == 485


def test_lndg_raises_by_2m_times_one_plus_net_outflow() -> None:
    # 15M sat out, 0 in over 7 days on 10M sat: net = 1.5 capacities > 1, so +2m(1 + net) = 25
    peer = _peer(0.5, routed_out_7d_sat=15_000_000)
    assert lndg.adjustment(peer) == pytest.approx(2 * 5 * (1 + 1.5))
    assert lndg.new_rate(500, lndg.adjustment(peer)) == 525
    # net = 1.23: 500 + 10 * 2.23 = 522.3, a multiple of 5: round(104.46) * 5 = 520
    assert lndg.new_rate(500, lndg.adjustment(_peer(0.5, routed_out_7d_sat=12_300_000))) == 520
    # net = 1 is not above 1: no change
    assert lndg.adjustment(_peer(0.5, routed_out_7d_sat=10_000_000)) == 0


def test_lndg_low_liquidity_rule_needs_failures_and_no_inflow_today() -> None:
    # out% <= AF-LowLiqLimit (15): +5m with more than 25 liquidity failures and nothing in today
    assert lndg.adjustment(_peer(0.15, failed_out_1d=26, routed_out_7d_sat=1)) == 25
    assert lndg.adjustment(_peer(0.15, failed_out_1d=25, routed_out_7d_sat=1)) == 0
    assert lndg.adjustment(_peer(0.15, failed_out_1d=26, routed_in_1d_sat=5_000)) == 0
    # at 16% the balanced rules apply: flowing, net below 1, no change
    assert lndg.adjustment(_peer(0.16, failed_out_1d=26, routed_out_7d_sat=1)) == 0


def test_lndg_lowers_a_full_channel_that_mostly_assists() -> None:
    # out% >= 95, net outflow < 0 and assisted revenue > 10x its own revenue: -5m
    peer = _peer(0.96, routed_in_7d_sat=1_000_000, revenue_7d_msat=100, assisted_7d_msat=1001)
    assert lndg.adjustment(peer) == -25
    peer.assisted_7d_msat = 1000
    assert lndg.adjustment(peer) == 0


def test_lndg_clips_to_its_rate_limits() -> None:
    assert lndg.new_rate(2490, 25) == 2500  # AF-MaxRate
    assert lndg.new_rate(10, -25) == 0  # AF-MinRate


def test_lndg_groups_channels_by_peer() -> None:
    # Given two channels to one peer: a 2M sat one nearly empty that routed 3M sat out, and an
    # 8M sat one full and idle; alone, the first would be "low liquidity", the second "idle"
    peer = node_id(7)
    small = channel(1, peer=peer, capacity_sat=2_000_000, local_ratio=0.05)
    large = channel(2, peer=peer, capacity_sat=8_000_000, local_ratio=0.95)
    other = channel(3, capacity_sat=10_000_000, local_ratio=0.5)
    flows_7d = defaultdict(ChannelFlow, {small.short_channel_id: ChannelFlow(out_msat=12 * 10**9)})
    groups = lndg.group_by_peer(
        [small, large, other], flows_1d=defaultdict(ChannelFlow), flows_7d=flows_7d, failed_out={}
    )
    # Then the peer's channels are summed: out% = (0.1M + 7.6M) / 10M = 77%, net = 12M / 10M
    grouped = groups[peer]
    assert (grouped.local_sat, grouped.capacity_sat) == (7_700_000, 10_000_000)
    assert [ch.short_channel_id for ch in grouped.channels] == [
        small.short_channel_id,
        large.short_channel_id,
    ]
    # and both get the balanced-channel raise 2m(1 + 1.2) = 22; the other peer is idle: -15
    assert lndg.adjustment(grouped) == pytest.approx(22)
    assert lndg.adjustment(groups[other.peer_id]) == -15


def test_lndg_changes_a_channel_at_most_daily(tmp_path: Path) -> None:
    simulation = simulation_with("lndg", tmp_path)
    backend = simulation.backend
    simulation.policy.start(backend, simulation.now)
    simulation.policy.tick(backend, simulation.now + 23 * 3600)
    assert simulation.node.counters.fee_updates == 0
    simulation.policy.tick(backend, simulation.now + 25 * 3600)
    assert {ch.our_policy.fee_ppm for ch in backend.channels()} == {100 - 15}


def test_lndg_starts_from_the_operators_fee(tmp_path: Path) -> None:
    simulation = simulation_with("lndg:start_fee_ppm=400", tmp_path)
    simulation.policy.start(simulation.backend, simulation.now)
    assert {ch.our_policy.fee_ppm for ch in simulation.backend.channels()} == {400}


# --- CLBOSS ----------------------------------------------------------------------------------


def test_clboss_weighted_median_and_price_levels() -> None:
    assert clboss.weighted_median([(10, 1), (20, 1), (1000, 5)]) == 1000
    assert clboss.weighted_median([(10, 5), (20, 1), (1000, 1)]) == 10
    # WeightedMedian::finalize stops where 2 x running weight > total: at half, the next one
    assert clboss.weighted_median([(10, 1), (20, 1)]) == 20
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


def test_clboss_fee_manager_rounds_and_keeps_a_zero_base_fee() -> None:
    median = policy(base_fee_msat=1, fee_ppm=1)
    # 1 * 0.4 rounds to 0: the rate becomes 1, the base fee stays 0 (clboss-zerobasefee allow)
    assert clboss.final_fees(median, 0.4, clboss.ZeroBaseFee.ALLOW) == (0, 1)
    assert clboss.final_fees(median, 0.4, clboss.ZeroBaseFee.DISALLOW) == (1, 1)
    assert clboss.final_fees(policy(1000, 100), 1.5, clboss.ZeroBaseFee.REQUIRE) == (0, 150)
    assert clboss.final_fees(policy(1000, 100), 1.2345, clboss.ZeroBaseFee.ALLOW) == (1234, 123)


def test_clboss_size_multiplier_follows_calculate_multiplier() -> None:
    # every competitor larger: pos 0, x = sqrt(0.5), x^2 = 0.5
    assert clboss_size.size_multiplier(0, 4, 4) == pytest.approx(0.5)
    # 1 of 4 smaller: pos 0.25 -> 0.5, x = sqrt(.5) * 0.5 + 0.5 = 0.853553, x^2 = 0.728553
    assert clboss_size.size_multiplier(1, 3, 4) == pytest.approx(0.728553, abs=1e-6)
    # as many smaller as larger: pos 0.5 -> 0 in the upper half, x = 1
    assert clboss_size.size_multiplier(2, 2, 4) == pytest.approx(1.0)
    # 2 of 3 smaller: lim = 16 + ln(1/3) = 14.901388, pos 2/3 -> 1/3,
    # x = 2/3 + sqrt(14.901388) / 3 = 1.953411, x^2 = 3.815813
    assert clboss_size.size_multiplier(2, 1, 3) == pytest.approx(3.815813, abs=1e-6)
    # all smaller: x^2 = lim; with e^14 competitors lim = 16 - 14 = 2, and it goes no lower
    assert clboss_size.size_multiplier(3, 0, 3) == pytest.approx(16 - 1.0986123, abs=1e-6)
    assert clboss_size.size_multiplier(10**7, 0, 10**7) == pytest.approx(2.0)
    # no competitor, or all exactly our size (0 / 0 upstream): 1
    assert clboss_size.size_multiplier(0, 0, 0) == 1.0
    assert clboss_size.size_multiplier(0, 0, 2) == 1.0


def test_clboss_size_compares_node_sizes_from_gossip() -> None:
    # Given our node U (5M to P, 5M to Q: 10M sat) and P's other peers A (1M), B (2M), and
    # C (20M to P, 20M to Q: 40M); sizes count the channels a node is the source of
    us, p, q, a, b, c = (node_id(n) for n in range(1, 7))
    items = [
        *both_directions("1x1x0", us, p, capacity_msat=5 * 10**9),
        *both_directions("1x2x0", us, q, capacity_msat=5 * 10**9),
        *both_directions("1x3x0", a, p, capacity_msat=1 * 10**9),
        *both_directions("1x4x0", b, p, capacity_msat=2 * 10**9),
        *both_directions("1x5x0", c, p, capacity_msat=20 * 10**9),
        *both_directions("1x6x0", c, q, capacity_msat=20 * 10**9),
    ]
    graph = NetworkGraph.from_listchannels(items)
    modder = clboss_size.SizeModder(us)
    # Then toward P: 2 competitors smaller (A, B), 1 larger (C) of 3: 3.815813 (as above);
    # toward Q: its only competitor C is larger: 0.5
    assert modder.multiplier(graph, p) == pytest.approx(3.815813, abs=1e-6)
    assert modder.multiplier(graph, q) == pytest.approx(0.5)


LEVELS = {round(clboss.price_to_multiplier(p), 9): p for p in range(-8, 9)}


def _level(multiplier: float) -> int:
    return LEVELS[round(multiplier, 9)]


# --- lndmanage -------------------------------------------------------------------------------


def test_lndmanage_demand_factor() -> None:
    # 10M sat channel, 5M local: the floor is 1 - 0.5 * 4.5M / 9.5M
    floor = 1 - 0.5 * 4_500_000 / 9_500_000
    # c = 1 + 0.5 * (r / r_t - 1), r_t = 100,000 sat a week
    assert lndmanage.delta_demand(100_000, 5_000_000, 10_000_000) == pytest.approx(1.0)
    assert lndmanage.delta_demand(150_000, 5_000_000, 10_000_000) == pytest.approx(1.25)
    assert lndmanage.delta_demand(1_000_000, 5_000_000, 10_000_000) == pytest.approx(1.5)
    assert lndmanage.delta_demand(0, 5_000_000, 10_000_000) == pytest.approx(floor)
    # below the 500k sat reserve the floor rises above 1: an idle, depleted channel gets dearer
    assert lndmanage.delta_demand(0, 100_000, 10_000_000) == pytest.approx(1 + 0.05 * 0.8)
    # against a 200,000 sat weekly target, 300,000 sat out is r / r_t = 1.5: c = 1.25
    wider = lndmanage.UpdateFeesSettings(target_sat_per_week=200_000)
    assert lndmanage.delta_demand(300_000, 5_000_000, 10_000_000, wider) == pytest.approx(1.25)


def test_lndmanage_base_fee_factor() -> None:
    # 1 + 0.5 * (n / (4/7) - 1) with n forwards a day, bounded to [0.75, 1.5]
    assert lndmanage.base_fee_factor(4) == pytest.approx(1.0)  # n = 4/7
    assert lndmanage.base_fee_factor(6) == pytest.approx(1.25)  # n / n_t = 1.5
    assert lndmanage.base_fee_factor(3) == pytest.approx(0.875)  # n / n_t = 0.75
    assert lndmanage.base_fee_factor(0) == pytest.approx(0.75)  # 0.5, bounded
    assert lndmanage.base_fee_factor(100) == pytest.approx(1.5)


def test_lndmanage_caps_at_5000_ppm_and_lets_the_base_fee_reach_zero() -> None:
    busy = channel(1, capacity_sat=10_000_000, local_ratio=0.5, fee_ppm=4000, base_fee_msat=4000)
    # demand 1.5 x 4000 ppm = 6000, capped at 5000; 4000 msat x 1.5 = 6000, capped at 5000
    assert lndmanage.new_fees([busy], amount_out_sat=400_000, forwards_out=100) == (5000, 5000)
    # an idle, full channel at 8 ppm and 10 msat: 8 x 0.5 = 4 ppm, raised to 5; 10 x 0.75 = 7
    idle = channel(1, capacity_sat=10_000_000, local_ratio=1.0, fee_ppm=8, base_fee_msat=10)
    assert lndmanage.new_fees([idle], amount_out_sat=0, forwards_out=0) == (7, 5)
    # and a base fee of 1 msat goes to int(0.75) = 0 (min_base_fee 0)
    low = channel(1, capacity_sat=10_000_000, local_ratio=0.5, fee_ppm=100, base_fee_msat=1)
    assert lndmanage.new_fees([low], amount_out_sat=100_000, forwards_out=0)[0] == 0


def test_lndmanage_sets_one_fee_per_peer_from_the_mean() -> None:
    peer = node_id(9)
    one = channel(1, peer=peer, capacity_sat=5_000_000, local_ratio=0.5, fee_ppm=100)
    two = channel(2, peer=peer, capacity_sat=5_000_000, local_ratio=0.5, fee_ppm=300)
    # mean rate 200 ppm, 10M sat with 5M local, 200,000 sat out a week: c = 1.5 -> 300 ppm
    base, ppm = lndmanage.new_fees([one, two], amount_out_sat=200_000, forwards_out=4)
    assert (base, ppm) == (1000, 300)
