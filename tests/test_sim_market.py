"""The market around our node: competitors re-price, liquidity follows one rule, the warm-up.

The competing world::

    S ── P1 ── X ── R          S pays R; the plain path goes through X (P1 -> X charges
          │          │          50 ppm), the other one through our node U (we charge 100 ppm):
          U ──────── P2         S -> P1 -> U -> P2 -> R
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lnopt.graph import NetworkGraph
from lnopt.model import ForwardStatus
from lnopt.sim.baselines.static import StaticPolicy
from lnopt.sim.compare import CompareParams, Comparison
from lnopt.sim.competitors import BALANCE, DEMAND, CompetitorMarket, CompetitorParams
from lnopt.sim.engine import START_S, SimParams, Simulation
from lnopt.sim.liquidity import LiquidityParams, RebalanceStatus
from lnopt.sim.lnopt_policy import LnoptPolicy
from lnopt.sim.network import OurNode
from lnopt.sim.payments import Outcome
from lnopt.sim.policy import PolicyContext
from lnopt.sim.report import paired
from lnopt.sim.warmup import WarmupParams, warm_up
from lnopt.sim.world import World
from tests.factories import both_directions, channel, policy
from tests.test_sim_worlds import P1, P2, US, R, S, X, line_world, small_world, world_of

__all__ = ["small_world"]  # the fixture

AMOUNT_MSAT = 50_000_000
ALL_BALANCE = CompetitorParams(balance_share=1.0, demand_share=0.0)
ALL_DEMAND = CompetitorParams(balance_share=0.0, demand_share=1.0)


def competing_world() -> World:
    capacity = 10_000_000_000
    items = [
        *both_directions("1x1x0", S, P1, capacity_msat=capacity, fee_ppm=0, base_fee_msat=0),
        *both_directions("1x2x0", P1, X, capacity_msat=capacity, fee_ppm=50, base_fee_msat=0),
        *both_directions("1x3x0", X, R, capacity_msat=capacity, fee_ppm=0, base_fee_msat=0),
        *both_directions("1x4x0", P2, R, capacity_msat=capacity, fee_ppm=0, base_fee_msat=0),
    ]
    ours = tuple(
        channel(
            n,
            peer=peer,
            capacity_sat=10_000_000,
            fee_ppm=100,
            base_fee_msat=0,
            peer_policy=policy(0, 0),
        )
        for n, peer in ((1, P1), (2, P2))
    )
    our = OurNode(node_id=US, channels=ours, network=NetworkGraph.from_listchannels(items))
    return world_of(our, ((60.0, S, R, AMOUNT_MSAT),), {}, days=1.0)


def simulation(world: World, tmp_path: Path, params: SimParams | None = None) -> Simulation:
    context = PolicyContext(world.median, 0, tmp_path)
    return Simulation(world, StaticPolicy(context), params)


def edge_between(world: World, source: str, destination: str) -> int:
    topo = world.topo
    (found,) = [
        e
        for e in range(topo.others)
        if topo.node_ids[topo.e_src[e]] == source and topo.node_ids[topo.e_dst[e]] == destination
    ]
    return found


# --- competitors -----------------------------------------------------------------------------


def test_the_competitors_are_the_channels_into_and_out_of_our_peers() -> None:
    world = competing_world()
    market = CompetitorMarket(
        world.topo,
        world.network_edges,
        CompetitorParams(),
        seed=0,
        start_s=START_S,
        start_side0_msat=world.start_side0_msat,
    )
    topo = world.topo
    pairs = {(topo.node_ids[topo.e_src[e]], topo.node_ids[topo.e_dst[e]]) for e in market.edges}
    # into P1 and P2 from others, out of P1 and P2 to others; X -> R and R -> X are further away
    assert pairs == {(S, P1), (X, P1), (R, P2), (P1, S), (P1, X), (P2, R)}
    only_into = CompetitorMarket(
        world.topo,
        world.network_edges,
        CompetitorParams(out_of_peers=False),
        seed=0,
        start_s=START_S,
        start_side0_msat=world.start_side0_msat,
    )
    assert {topo.node_ids[topo.e_dst[e]] for e in only_into.edges} == {P1, P2}


def test_a_draining_competitor_raises_its_fee_and_the_payment_comes_to_us(
    tmp_path: Path,
) -> None:
    # Given every competitor prices by balance, and P1 -> X is cheaper than the way through us
    world = competing_world()
    sim = simulation(world, tmp_path, SimParams(competitors=ALL_BALANCE))
    assert sim.market is not None
    sim.market.apply(world.router)
    edge = edge_between(world, P1, X)
    sender, receiver = world.topo.index[S], world.topo.index[R]
    assert sim.network.pay(sender, receiver, AMOUNT_MSAT, 100.0) is Outcome.SETTLED
    assert sim.node.counters.forwards == 0  # it went S -> P1 -> X -> R
    # When P1's side of P1 -> X drains from half to 5% and the competitors re-price
    chan, side = int(world.topo.e_chan[edge]), int(world.topo.e_side[edge])
    capacity = int(world.topo.chan_cap[chan])
    sim.ledger.move(edge, sim.ledger.balance(chan, side) - capacity // 20)
    sim.market.tick(START_S + 3600, sim.ledger, world.router)
    # Then P1 -> X charges feeadjuster's curve from its start: 50 ppm * 50 ** (0.5 - 0.05)
    share = sim.ledger.balance(chan, side) / capacity
    expected = round(50 * 50 ** (0.5 - share))
    assert int(world.topo.e_ppm[edge]) == expected > 100
    # and the next payment comes through our node
    assert sim.network.pay(sender, receiver, AMOUNT_MSAT, 200.0) is Outcome.SETTLED
    assert sim.node.counters.forwards == 1
    # and a policy reading the gossip sees the competitor's new fee
    sim.now = START_S + 7 * 3600
    seen = [e for e in sim.backend.gossip().edges_from(P1) if e.destination == X]
    assert [e.policy.fee_ppm for e in seen] == [expected]


def test_the_gossip_shows_a_competitor_fee_that_moved_and_moved_back(tmp_path: Path) -> None:
    # Given P1 -> X drained and re-priced before the first read of the gossip
    world = competing_world()
    sim = simulation(world, tmp_path, SimParams(competitors=ALL_BALANCE))
    market = sim.market
    assert market is not None
    edge, back = edge_between(world, P1, X), edge_between(world, X, P1)
    chan, side = int(world.topo.e_chan[edge]), int(world.topo.e_side[edge])
    drained = sim.ledger.balance(chan, side) - int(world.topo.chan_cap[chan]) // 20
    sim.ledger.move(edge, drained)
    market.tick(START_S + 3600, sim.ledger, world.router)
    raised = int(world.topo.e_ppm[edge])

    def seen_ppm(at_s: float) -> list[int]:
        sim.now = at_s
        return [e.policy.fee_ppm for e in sim.backend.gossip().edges_from(P1) if e.destination == X]

    assert raised > 50
    assert seen_ppm(START_S + 2 * 3600) == [raised]
    # When its balance comes back and it re-prices to its starting fee
    sim.ledger.move(back, drained)
    market.tick(START_S + 10 * 3600, sim.ledger, world.router)
    assert int(world.topo.e_ppm[edge]) == 50
    # Then the next read of the gossip shows the starting fee, not the one it read first
    assert seen_ppm(START_S + 12 * 3600) == [50]
    assert {e.short_channel_id for e in sim.backend.gossip().edges} == {
        e.short_channel_id for e in world.our.graph.edges
    }


def test_a_demand_driven_competitor_raises_after_forwarding_and_lowers_when_idle(
    tmp_path: Path,
) -> None:
    world = competing_world()
    sim = simulation(world, tmp_path, SimParams(competitors=ALL_DEMAND))
    market = sim.market
    assert market is not None and (market.kind == DEMAND).all()
    edge = edge_between(world, P1, X)
    k = int(np.flatnonzero(market.edges == edge)[0])
    # When P1 -> X forwards, at the next re-pricing its fee rises 10%
    sim.ledger.move(edge, AMOUNT_MSAT)
    market.tick(START_S + 4 * 3600, sim.ledger, world.router)
    assert int(market.ppm[k]) == 55 and int(world.topo.e_ppm[edge]) == 55
    # and after a day without a forward it falls 5%
    market.tick(START_S + 8 * 3600, sim.ledger, world.router)
    assert int(market.ppm[k]) == 55
    market.tick(START_S + 29 * 3600, sim.ledger, world.router)
    assert int(market.ppm[k]) == 55 * 95 // 100
    # as did X -> P1, idle since the start (the zero fees stay at zero)
    back = int(np.flatnonzero(market.edges == edge_between(world, X, P1))[0])
    assert int(market.ppm[back]) == 50 * 95 // 100
    assert market.changes == 3


def test_competitor_rules_come_from_the_world_seed_and_each_run_starts_from_its_market(
    tmp_path: Path,
) -> None:
    # Given a run whose competitors moved the shared router's fees
    world = competing_world()
    first = simulation(world, tmp_path, SimParams(competitors=ALL_BALANCE))
    assert first.market is not None
    edge = edge_between(world, P1, X)
    first.ledger.move(edge, 4_000_000_000)
    first.market.tick(START_S + 3600, first.ledger, world.router)
    assert int(world.topo.e_ppm[edge]) != 50
    # When another policy's run starts on the same world
    second = simulation(world, tmp_path, SimParams(competitors=ALL_BALANCE))
    second.run()
    # Then it met the competitors at their starting fees, with the same rules and times
    assert second.market is not None
    assert (second.market.kind == first.market.kind).all()
    assert (second.market.kind == BALANCE).all()
    assert int(world.topo.e_ppm[edge]) == 50


def test_competitors_move_in_a_generated_world(small_world: World, tmp_path: Path) -> None:
    result = simulation(small_world, tmp_path).run()
    assert result.competitor_fee_changes > 0


# --- liquidity -------------------------------------------------------------------------------


def test_our_channels_relax_like_everyone_elses_under_the_relax_rule(tmp_path: Path) -> None:
    world = line_world()
    for rule, ours_relax in (("relax", True), ("rebalance", False)):
        sim = simulation(world, tmp_path, SimParams(liquidity=LiquidityParams(rule=rule)))
        ours, theirs = int(world.topo.our_out[0]), edge_between(world, P1, X)
        for edge in (ours, theirs):
            sim.ledger.move(edge, 2_000_000_000)
        before = sim.ledger.side0.copy()
        held = sim.ledger.holdings().sum()
        sim.ledger.relax(0.5)
        moved = sim.ledger.side0 != before
        assert moved[world.topo.e_chan[theirs]]
        assert moved[world.topo.e_chan[ours]] == ours_relax, rule
        assert sim.ledger.holdings().sum() == held


def test_a_circular_rebalance_pays_the_fees_it_meets_and_the_run_shows_the_cost(
    tmp_path: Path,
) -> None:
    # Given the line world, where the way from P1 back to P2 crosses X -> R at 1,000 ppm
    world = line_world(x_fee_ppm=1000, payments=())
    sim = simulation(world, tmp_path)
    out_scid, in_scid = world.topo.our_scids
    local_out, local_in = sim.backend.local_msat(out_scid), sim.backend.local_msat(in_scid)
    held = sim.ledger.holdings()
    amount = 1_000_000_000
    # When our node moves 1M sat out through P1 and back in through P2
    result = sim.backend.rebalance(out_scid, in_scid, amount, max_fee_ppm=1000)
    # Then it settled and paid X's fee, 1,000 ppm of the amount
    assert result.status is RebalanceStatus.DONE
    assert result.fee_msat == amount * 1000 // 1_000_000
    assert sim.backend.local_msat(out_scid) == local_out - amount - result.fee_msat
    assert sim.backend.local_msat(in_scid) == local_in + amount
    # and the money went where it should: our node paid the fee, X earned it, none was made
    now = sim.ledger.holdings()
    index = world.topo.index
    assert now[index[US]] == held[index[US]] - result.fee_msat
    assert now[index[X]] == held[index[X]] + result.fee_msat
    assert now.sum() == held.sum()
    # and the run result charges it: net income is routing income less the cost
    run = sim.run()
    assert (run.rebalance_cost_msat, run.rebalances) == (result.fee_msat, 1)
    assert run.net_income_msat == run.income_msat - result.fee_msat


@pytest.mark.parametrize(
    ("liquidity", "max_fee_ppm", "status"),
    [
        (LiquidityParams(), 999, RebalanceStatus.TOO_EXPENSIVE),
        (LiquidityParams(max_fee_ppm=500), 5000, RebalanceStatus.TOO_EXPENSIVE),
        (LiquidityParams(daily_budget_msat=999_999), 1000, RebalanceStatus.OVER_BUDGET),
    ],
)
def test_a_rebalance_beyond_its_limits_is_refused_and_moves_nothing(
    tmp_path: Path, liquidity: LiquidityParams, max_fee_ppm: int, status: RebalanceStatus
) -> None:
    world = line_world(x_fee_ppm=1000, payments=())
    sim = simulation(world, tmp_path, SimParams(liquidity=liquidity))
    before = sim.ledger.side0.copy()
    out_scid, in_scid = world.topo.our_scids
    result = sim.backend.rebalance(out_scid, in_scid, 1_000_000_000, max_fee_ppm=max_fee_ppm)
    assert result.status is status
    assert (sim.ledger.side0 == before).all()
    assert sim.rebalancer.counters.cost_msat == 0


def test_the_comparison_pairs_net_income(tmp_path: Path) -> None:
    # Given lnopt earned more than static but spent more than the difference on rebalancing
    run = simulation(line_world(), tmp_path).run()
    mine = dataclasses.replace(
        run, policy="lnopt", income_msat=9_000_000, rebalance_cost_msat=6_000_000
    )
    theirs = dataclasses.replace(run, policy="static", income_msat=5_000_000)
    params = CompareParams(seeds=(0,), policies=("lnopt", "static"))
    ratio = paired(Comparison(params, (mine, theirs)))["static"]
    # Then lnopt's 3,000 sat net lose against static's 5,000
    assert ratio.log_ratios == pytest.approx((np.log(3_001_000 / 5_001_000),))
    assert ratio.losses == 1


# --- warm-up ---------------------------------------------------------------------------------


def test_the_warm_up_is_history_every_policy_sees_and_none_scores(
    small_world: World, tmp_path: Path
) -> None:
    # Given two days of warm-up at the starting fees
    params = SimParams()
    state = warm_up(small_world, params, WarmupParams(days=2))
    assert state is not None
    past = state.forwards
    assert past and all(f.received_s < START_S for f in past)
    settled_before = sum(f.status is ForwardStatus.SETTLED for f in past)
    assert settled_before > 0
    side0 = state.ledger.side0.copy()
    # When two policies run from it
    runs = []
    for _ in range(2):
        policy = StaticPolicy(PolicyContext(small_world.median, small_world.seed, tmp_path))
        sim = Simulation(small_world, policy, params, warmup=state)
        assert (sim.ledger.side0 == side0).all()  # the same starting state for each
        listed = sim.backend.forwards().forwards
        assert listed[: len(past)] == past  # the backend lists the history first
        result = sim.run()
        runs.append((sim, result))
    # Then each run's figures count only the scored period
    for sim, result in runs:
        scored = sim.node.forwards[len(past) :]
        assert all(f.received_s >= START_S for f in scored)
        settled = [f for f in scored if f.status is ForwardStatus.SETTLED]
        assert result.forwards == len(settled)
        assert result.income_msat == sum(f.fee_msat or 0 for f in settled)
        assert result.payments == len(small_world.stream)
        assert result.series_t_s[0] == 0.0 and result.series_income_msat[0] == 0
    assert runs[0][1].income_msat == runs[1][1].income_msat  # same start, same payments
    assert (state.ledger.side0 == side0).all()  # the runs worked on copies
    assert len(state.forwards) == len(past)


def test_lnopt_reads_the_warm_up_into_its_store(small_world: World, tmp_path: Path) -> None:
    state = warm_up(small_world, SimParams(), WarmupParams(days=2))
    assert state is not None
    policy = LnoptPolicy(PolicyContext(small_world.median, small_world.seed, tmp_path))
    sim = Simulation(small_world, policy, warmup=state)
    policy.start(sim.backend, sim.now)
    try:
        assert policy._store is not None
        counts = policy._store.forward_counts()
        assert counts["total"] == len(state.forwards) > 0
        settled = sum(f.status is ForwardStatus.SETTLED for f in state.forwards)
        assert counts[ForwardStatus.SETTLED.value] == settled
    finally:
        policy.close()


def test_no_warm_up_for_zero_days(small_world: World) -> None:
    assert warm_up(small_world, SimParams(), WarmupParams(days=0)) is None


def test_lnopt_refills_a_depleted_channel_from_the_fullest_one(tmp_path: Path) -> None:
    # Given our channel to P2 holds 5% on our side and the one to P1 90%, X charges 5 ppm
    world = line_world(x_fee_ppm=5, our_fee_ppm=10, payments=())
    topo = world.topo
    shares = {}
    for scid, chan, local in zip(topo.our_scids, topo.our_chan, (0.9, 0.05), strict=True):
        shares[scid] = local if int(topo.chan_first[chan]) == topo.us else 1 - local
    world = line_world(x_fee_ppm=5, our_fee_ppm=10, payments=(), balances=shares)
    policy = LnoptPolicy(PolicyContext(world.median, 0, tmp_path))
    sim = Simulation(world, policy)
    full, depleted = world.topo.our_scids
    half = world.our.channels[1].capacity_msat // 2
    local_full, local_depleted = (sim.backend.local_msat(scid) for scid in (full, depleted))
    # When lnopt's decision to rebalance the depleted channel is carried out
    policy._rebalance(sim.backend, depleted)
    # Then the fullest channel refilled it with its spare (what it holds above half: 40%),
    # paying X's 5 ppm, at most the refilled channel's own 10 ppm
    moved = local_full - half
    assert moved < half - local_depleted
    fee = moved * 5 // 1_000_000
    assert sim.rebalancer.counters.rebalances == 1
    assert (sim.rebalancer.counters.moved_msat, sim.rebalancer.counters.cost_msat) == (moved, fee)
    assert sim.backend.local_msat(depleted) == local_depleted + moved
    assert sim.backend.local_msat(full) == half - fee
