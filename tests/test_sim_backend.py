"""The simulated backend answers like a Core Lightning node and refuses what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnopt.errors import BackendRefused
from lnopt.model import ForwardStatus
from lnopt.sim.baselines.static import StaticPolicy
from lnopt.sim.engine import Simulation
from lnopt.sim.policy import PolicyContext
from lnopt.sim.world import World
from tests.factories import policy
from tests.test_sim_worlds import P1, P2, US, line_world


@pytest.fixture
def simulation(tmp_path: Path) -> Simulation:
    world = line_world(x_fee_ppm=1000, our_fee_ppm=10)
    return Simulation(world, StaticPolicy(PolicyContext(world.median, 0, tmp_path)))


def test_unknown_channel_is_refused(simulation: Simulation) -> None:
    with pytest.raises(BackendRefused, match="unknown channel '9x9x9'") as refused:
        simulation.backend.set_policy("9x9x9", policy(0, 10))
    assert refused.value.code == -32602
    with pytest.raises(BackendRefused, match="unknown channel"):
        simulation.backend.get_policy("9x9x9")


@pytest.mark.parametrize(("base", "ppm"), [(-1, 10), (0, -5)])
def test_negative_fee_is_refused(simulation: Simulation, base: int, ppm: int) -> None:
    scid = simulation.world.topo.our_scids[0]
    before = simulation.backend.get_policy(scid)
    with pytest.raises(BackendRefused, match="must not be negative"):
        simulation.backend.set_policy(scid, policy(base, ppm))
    assert simulation.backend.get_policy(scid) == before


def test_set_policy_changes_only_fees_and_reads_back(simulation: Simulation) -> None:
    # Given our channel with an HTLC maximum and CLTV delta
    backend = simulation.backend
    scid = simulation.world.topo.our_scids[0]
    before = backend.get_policy(scid)
    # When a policy with other limits but new fees is set
    returned = backend.set_policy(scid, policy(7, 321, htlc_max_msat=1, cltv_delta=6))
    # Then only the fees changed, and reading back gives the same
    assert (returned.base_fee_msat, returned.fee_ppm) == (7, 321)
    assert (returned.htlc_max_msat, returned.cltv_delta) == (
        before.htlc_max_msat,
        before.cltv_delta,
    )
    assert backend.get_policy(scid) == returned
    assert simulation.node.counters.fee_updates == 1


def test_channels_and_gossip_show_balances_and_our_policy(simulation: Simulation) -> None:
    backend = simulation.backend
    channels = backend.channels()
    assert {ch.peer_id for ch in channels} == {P1, P2}
    for ch in channels:
        assert ch.local_msat + ch.remote_msat == ch.capacity_msat
        assert ch.local_msat == ch.capacity_msat // 2
    scid = channels[0].short_channel_id
    backend.set_policy(scid, policy(0, 77))
    simulation.now += 4000  # past the gossip refresh interval
    ours = [e for e in backend.gossip().edges_from(US) if e.short_channel_id == scid]
    assert [e.policy.fee_ppm for e in ours] == [77]
    assert backend.node_info().node_id == US


def test_forwards_are_paged_by_created_index(tmp_path: Path) -> None:
    # Given three payments through us
    world: World = line_world(
        x_fee_ppm=1000,
        our_fee_ppm=10,
        payments=[(60.0 * k, "02" + "1" * 64, "02" + "4" * 64, 10_000_000) for k in range(1, 4)],
    )
    simulation = Simulation(world, StaticPolicy(PolicyContext(world.median, 0, tmp_path)))
    simulation.run()
    backend = simulation.backend
    # When they are read two at a time
    first = backend.forwards(since_index=None, limit=2)
    second = backend.forwards(since_index=first.next_index, limit=2)
    # Then each comes once, in order, settled
    indices = [f.created_index for f in (*first.forwards, *second.forwards)]
    assert indices == [0, 1, 2]
    assert all(f.status is ForwardStatus.SETTLED for f in (*first.forwards, *second.forwards))
    assert backend.forwards(since_index=second.next_index).forwards == ()
