"""Traffic: atomic multi-part payments, senders that differ and learn alone, seeds, re-pricing."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from lnopt.model import ForwardStatus
from lnopt.sim.baselines.static import StaticPolicy
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.liquidity import LiquidityParams
from lnopt.sim.mission import MissionControl
from lnopt.sim.network import generate_network
from lnopt.sim.payments import Outcome
from lnopt.sim.policy import PolicyContext
from lnopt.sim.routing import bucket_of
from lnopt.sim.senders import CORE_LIGHTNING, LND
from lnopt.sim.world import World, WorldParams, build_world, with_stream
from tests.test_sim_worlds import P1, P2, WHOLE_CLN, R, S, X, line_world

QUIET = SimParams(liquidity=LiquidityParams(relax_half_life_s=1e18))
# CLN's presplit into parts of 10,000 sat, none halved further: the parts are what is sent.
PRESPLIT_ONLY = replace(CORE_LIGHTNING, share=1.0, fuzz_ppm=0, min_part_sat=1_000_000)


def simulation_of(world: World, tmp_path: Path) -> Simulation:
    context = PolicyContext(median_policy=world.median, seed=0, workdir=tmp_path)
    return Simulation(world, StaticPolicy(context), QUIET)


def side0_share(world: World, scid: str, first_share: float, holder: str) -> float:
    """The side-0 share that leaves ``holder`` with ``first_share`` of channel ``scid``."""
    topo = world.topo
    chan = topo.chan_scid.index(scid)
    holder_first = topo.node_ids[int(topo.chan_first[chan])] == holder
    return first_share if holder_first else 1.0 - first_share


def mpp_world(our_spendable_sat: int) -> World:
    """S pays R 50,000 sat as five parts; we are the cheap route, X's side toward R is empty."""
    base = line_world(x_fee_ppm=1000, our_fee_ppm=10)
    out_scid = base.topo.our_scids[1]
    reserve_share = 0.01  # the channel reserve, 1% of 10M sat
    balances = {
        out_scid: side0_share(
            base, out_scid, reserve_share + our_spendable_sat / 10_000_000, base.our.node_id
        ),
        "1x3x0": side0_share(base, "1x3x0", 0.0, X),
    }
    return line_world(
        x_fee_ppm=1000,
        our_fee_ppm=10,
        balances=balances,
        senders=(PRESPLIT_ONLY,),
        payments=((60.0, S, R, 50_000_000),),
    )


def test_a_multi_part_payment_with_one_failed_part_earns_nobody_anything(
    tmp_path: Path,
) -> None:
    # Given our outgoing channel can carry two of the five parts, and the way around us none
    world = mpp_world(our_spendable_sat=25_000)
    simulation = simulation_of(world, tmp_path)
    before = simulation.ledger.side0.copy()
    # When S pays R
    outcome = simulation.network.pay(world.topo.index[S], world.topo.index[R], 50_000_000, 60.0)
    # Then the payment fails as a whole: no balance moved, no fee earned by anyone
    assert outcome is Outcome.GAVE_UP
    assert (simulation.ledger.side0 == before).all()
    assert simulation.node.counters.income_msat == 0
    assert simulation.network.counters.fees_msat == 0
    assert simulation.network.counters.settled == 0
    # and the two parts we held are released: our node saw them fail, nothing stays reserved
    statuses = [f.status for f in simulation.node.forwards]
    assert statuses.count(ForwardStatus.FAILED) == 2
    assert statuses.count(ForwardStatus.SETTLED) == 0
    assert simulation.node.counters.failed_liquidity >= 1
    assert not simulation.network._held_msat.any()
    # and a later payment sees the full balances again
    assert simulation.network.pay(world.topo.index[S], world.topo.index[P2], 10_000_000, 61.0) in (
        Outcome.SETTLED,
    )


def test_a_multi_part_payment_settles_every_part_at_once(tmp_path: Path) -> None:
    # Given our outgoing channel can carry every part
    world = mpp_world(our_spendable_sat=60_000)
    simulation = simulation_of(world, tmp_path)
    # When S pays R
    outcome = simulation.network.pay(world.topo.index[S], world.topo.index[R], 50_000_000, 60.0)
    # Then all five parts settle through us, each paying our fee, as one payment
    assert outcome is Outcome.SETTLED
    settled = [f for f in simulation.node.forwards if f.status is ForwardStatus.SETTLED]
    assert [f.out_msat for f in settled] == [10_000_000] * 5
    assert simulation.node.counters.income_msat == 5 * (10_000_000 * 10 // 1_000_000)
    counters = simulation.network.counters
    assert (counters.payments, counters.settled, counters.parts_settled) == (1, 1, 5)


def test_senders_with_different_budgets_choose_differently(tmp_path: Path) -> None:
    # Given we charge 8,000 ppm (0.8%) and the way around us 20,000 ppm
    def world_for(sender_class: int) -> World:
        return line_world(
            x_fee_ppm=20_000,
            our_fee_ppm=8_000,
            senders=(WHOLE_CLN, replace(LND, share=1.0)),
            node_class={S: sender_class},
        )

    results = {}
    for name, kind in (("cln", 0), ("lnd", 1)):
        world = world_for(kind)
        simulation = simulation_of(world, tmp_path)
        simulation.run()
        results[name] = simulation
    # Then CLN's pay (0.5% at most) does not pay at all, while LND (5%) pays our fee
    assert results["cln"].network.counters.settled == 0
    assert results["cln"].node.counters.income_msat == 0
    assert results["lnd"].network.counters.settled == 1
    assert results["lnd"].node.counters.income_msat == 50_000_000 * 8_000 // 1_000_000


def test_each_senders_failures_are_its_own_and_fade_with_lnds_half_life() -> None:
    mission = MissionControl(half_life_s=3600.0)
    mission.of(1).failed(edge=7, amount_msat=50_000_000, now_s=0.0)
    attempt = 150_000.0
    # The sender that failed avoids the edge at once, for that amount and more
    assert mission.penalties(mission.of(1), 50_000_000, attempt, 0.0) == {7: math.inf}
    assert mission.penalties(mission.of(1), 10_000_000, attempt, 0.0) == {}
    # another sender knows nothing of it
    assert mission.penalties(mission.of(2), 50_000_000, attempt, 0.0) == {}
    # after one half-life the success probability is back at half: a cost of ln 2 attempts
    later = mission.penalties(mission.of(1), 50_000_000, attempt, 3600.0)
    assert later[7] == pytest.approx(attempt * math.log(2))
    # and after eight half-lives it is forgotten
    assert mission.penalties(mission.of(1), 50_000_000, attempt, 8 * 3600.0) == {}
    assert mission.of(1).failures == {}


def test_a_fee_learned_from_an_error_is_kept_by_that_sender_only(tmp_path: Path) -> None:
    # Given senders know our fee of 10 ppm, and we raise it to 200 ppm before anyone is told
    world = line_world(x_fee_ppm=1000, our_fee_ppm=10)
    simulation = simulation_of(world, tmp_path)
    raised = world.our.channels[0].our_policy.with_fees(base_fee_msat=0, fee_ppm=200)
    for scid in world.topo.our_scids:
        simulation.node.set_policy(scid, raised, simulation.now - 700)
    pay = simulation.network.pay
    s, p1, r = world.topo.index[S], world.topo.index[P1], world.topo.index[R]
    # When S pays twice and then P1 pays once, before gossip arrives
    assert pay(s, r, 50_000_000, simulation.now + 700) is Outcome.SETTLED
    assert simulation.node.counters.failed_fee == 1
    assert pay(s, r, 50_000_000, simulation.now + 710) is Outcome.SETTLED
    # Then S's second payment offered the new fee at once: no second failure
    assert simulation.node.counters.failed_fee == 1
    # while P1, who had not learned it, fails at us first
    assert pay(p1, r, 50_000_000, simulation.now + 720) is Outcome.SETTLED
    assert simulation.node.counters.failed_fee == 2
    assert simulation.node.counters.income_msat == 3 * 50_000_000 * 200 // 1_000_000
    assert set(simulation.network.mission.of(s).learned) == {1}


def test_one_world_many_streams() -> None:
    network = generate_network(seed=11, nodes=300)
    world = build_world(network, WorldParams(seed=11, payments=400, days=1))
    # The stream seed defaults to the world's seed
    assert world.params.effective_stream_seed == 11
    same = with_stream(world, 11)
    other = with_stream(world, 12)
    # Then the same stream seed gives the identical stream, another one another stream
    assert (same.stream.amounts_msat == world.stream.amounts_msat).all()
    assert (same.stream.keys == world.stream.keys).all()
    assert not np.array_equal(other.stream.amounts_msat, world.stream.amounts_msat)
    # on the very same world: network, router (and its caches), balances and demand's shape
    assert other.topo is world.topo and other.router is world.router
    assert (other.start_side0_msat == world.start_side0_msat).all()
    # and building the world with that stream seed gives the same stream
    rebuilt = build_world(network, WorldParams(seed=11, payments=400, days=1, stream_seed=12))
    assert (rebuilt.stream.amounts_msat == other.stream.amounts_msat).all()
    assert (rebuilt.stream.senders == other.stream.senders).all()


def test_set_edge_fees_changes_routes_and_repairs_the_trees_it_affects(tmp_path: Path) -> None:
    # Given the cheap route is through us (X charges 1,000 ppm toward R, we charge 10)
    world = line_world(x_fee_ppm=1000, our_fee_ppm=10)
    topo, router = world.topo, world.router
    s, x, r = (topo.index[n] for n in (S, X, R))
    b = bucket_of(50_000_000)
    before_r = router.tree(r, b)[0].copy()
    before_s = router.tree(s, b)[0].copy()
    x_to_r = next(e for e in range(topo.others) if topo.e_src[e] == x and topo.e_dst[e] == r)
    runs = router.searches
    # When X drops its fee to 0
    router.set_edge_fees(np.array([x_to_r]), 0, 0)
    # Then the tree toward R is repaired without a new search: X is cheaper to leave, and
    # so is everyone behind X; the tree toward S, which never crosses X toward R, is the same
    after_r, nxt_r = router.tree(r, b)
    assert router.searches == runs
    assert after_r[x] < before_r[x] and nxt_r[x] == r
    assert after_r[r] == 0.0
    assert (router.tree(s, b)[0] == before_s).all()
    # and a payment now goes around us
    simulation = simulation_of(world, tmp_path)
    assert simulation.network.pay(s, r, 50_000_000, 60.0) is Outcome.SETTLED
    assert simulation.node.counters.forwards == 0
    # and raising the fee above where it was makes X dearer to leave than at first, exactly as
    # a new search finds, and routes via us
    router.set_edge_fees(np.array([x_to_r]), 0, 5000)
    repaired = router.tree(r, b)[0]
    assert repaired[x] > before_r[x]
    fresh = dijkstra(router._reverse_matrices[b], indices=r)
    assert np.allclose(repaired[np.isfinite(fresh)], fresh[np.isfinite(fresh)], rtol=1e-12)
    assert simulation.network.pay(s, r, 50_000_000, 61.0) is Outcome.SETTLED
    assert simulation.node.counters.forwards == 1
    # and our own fees cannot be set this way
    with pytest.raises(ValueError, match="our own channels"):
        router.set_edge_fees(topo.our_out[:1], 0, 1)
