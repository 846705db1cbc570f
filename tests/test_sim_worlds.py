"""Small hand-made worlds for the simulator tests, and tests of how a world is put together.

The line world::

    S ── P1 ── X ── R          S pays R; the plain path goes through X,
          │          │          the other one through our node U:
          U ──────── P2         S → P1 → U → P2 → R
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from lnopt.graph import NetworkGraph
from lnopt.model import ChannelPolicy
from lnopt.sim.demand import PaymentStream
from lnopt.sim.network import OurNode, generate_network
from lnopt.sim.routing import Router
from lnopt.sim.senders import CORE_LIGHTNING, SenderClass, SenderParams
from lnopt.sim.topology import build_topology
from lnopt.sim.world import World, WorldParams, build_world
from tests.factories import both_directions, channel, policy

S, P1, X, R, P2 = (f"02{c * 64}" for c in "12345")
US = "03" + "ab" * 32
CAPACITY_MSAT = 10_000_000_000  # 10M sat
# Core Lightning pay's budget, sending each payment whole and without fuzz: one path per payment.
WHOLE_CLN = replace(CORE_LIGHTNING, share=1.0, presplit_part_sat=0, fuzz_ppm=0)
WHOLE_CLN_SENDERS = SenderParams(classes=(WHOLE_CLN,))


def line_world(
    *,
    x_fee_ppm: int = 1000,
    our_fee_ppm: int = 10,
    payments: Sequence[tuple[float, str, str, int]] = ((60.0, S, R, 50_000_000),),
    balances: dict[str, float] | None = None,
    days: float = 1.0,
    senders: Sequence[SenderClass] = (WHOLE_CLN,),
    node_class: dict[str, int] | None = None,
) -> World:
    """The line world; ``balances`` gives side-0 shares by short channel id (default 0.5).

    ``senders`` are the sender classes; ``node_class`` the class of some nodes (default 0).
    """
    items = [
        *both_directions("1x1x0", S, P1, capacity_msat=CAPACITY_MSAT, fee_ppm=0, base_fee_msat=0),
        *both_directions("1x2x0", P1, X, capacity_msat=CAPACITY_MSAT, fee_ppm=0, base_fee_msat=0),
        *both_directions(
            "1x3x0", X, R, capacity_msat=CAPACITY_MSAT, fee_ppm=x_fee_ppm, base_fee_msat=0
        ),
        *both_directions("1x4x0", P2, R, capacity_msat=CAPACITY_MSAT, fee_ppm=0, base_fee_msat=0),
    ]
    network = NetworkGraph.from_listchannels(items)
    peer_policy = policy(0, 0)
    ours = (
        channel(
            1,
            peer=P1,
            capacity_sat=10_000_000,
            fee_ppm=our_fee_ppm,
            base_fee_msat=0,
            peer_policy=peer_policy,
        ),
        channel(
            2,
            peer=P2,
            capacity_sat=10_000_000,
            fee_ppm=our_fee_ppm,
            base_fee_msat=0,
            peer_policy=peer_policy,
        ),
    )
    our = OurNode(node_id=US, channels=ours, network=network)
    return world_of(
        our,
        payments,
        balances or {},
        days=days,
        senders=SenderParams(classes=tuple(senders)),
        node_class=node_class or {},
    )


def world_of(
    our: OurNode,
    payments: Sequence[tuple[float, str, str, int]],
    balances: dict[str, float],
    *,
    days: float,
    senders: SenderParams = WHOLE_CLN_SENDERS,
    node_class: dict[str, int] | None = None,
) -> World:
    topo = build_topology(our)
    side0 = (topo.chan_cap // 2).astype(np.int64)
    for scid, share in balances.items():
        chan = topo.chan_scid.index(scid)
        side0[chan] = int(topo.chan_cap[chan] * share)
    for ch, chan in zip(our.channels, topo.our_chan, strict=True):
        if ch.short_channel_id not in balances:
            ours_first = int(topo.chan_first[chan]) == topo.us
            side0[chan] = ch.local_msat if ours_first else ch.remote_msat
    stream = PaymentStream(
        nodes=topo.node_ids[: topo.us],
        times_s=np.array([t for t, _, _, _ in payments], dtype=float),
        senders=np.array([topo.index[s] for _, s, _, _ in payments], dtype=np.int32),
        receivers=np.array([topo.index[r] for _, _, r, _ in payments], dtype=np.int32),
        amounts_msat=np.array([a for _, _, _, a in payments], dtype=np.int64),
        node_class=np.array(
            [(node_class or {}).get(n, 0) for n in topo.node_ids[: topo.us]], dtype=np.int8
        ),
    )
    return World(
        params=WorldParams(seed=0, payments=len(payments), days=days, senders=senders),
        our=our,
        topo=topo,
        router=Router(topo),
        stream=stream,
        start_side0_msat=side0,
        median=ChannelPolicy(base_fee_msat=0, fee_ppm=100),
    )


@pytest.fixture(scope="module")
def small_world() -> World:
    return build_world(
        generate_network(seed=3, nodes=300), WorldParams(seed=3, payments=3000, days=3)
    )


def test_topology_puts_our_node_last_and_lists_our_directions() -> None:
    # Given the line world
    world = line_world()
    topo = world.topo
    # Then our node is the last one, and our two channels have both directions
    assert topo.node_ids[topo.us] == US
    assert topo.us == topo.node_count - 1
    for j, peer in enumerate((P1, P2)):
        assert topo.node_ids[topo.e_src[topo.our_out[j]]] == US
        assert topo.node_ids[topo.e_dst[topo.our_out[j]]] == peer
        assert topo.node_ids[topo.e_src[topo.our_in[j]]] == peer
    # and every edge's side is the side of its source
    for e in range(topo.edge_count):
        chan = topo.e_chan[e]
        first = topo.chan_first[chan] if topo.e_side[e] == 0 else topo.chan_second[chan]
        assert first == topo.e_src[e]


def test_world_payments_exclude_our_node_and_stay_within_means(small_world: World) -> None:
    # Given a generated world
    topo, stream = small_world.topo, small_world.stream
    # Then nobody pays or is paid by our node, and nobody pays themselves
    assert (stream.senders != topo.us).all() and (stream.receivers != topo.us).all()
    assert (stream.senders != stream.receivers).all()
    # and no payment exceeds half of the sender's or the receiver's largest channel
    largest = np.zeros(topo.node_count, dtype=np.int64)
    np.maximum.at(largest, topo.chan_first, topo.chan_cap)
    np.maximum.at(largest, topo.chan_second, topo.chan_cap)
    cap = np.minimum(largest[stream.senders], largest[stream.receivers]) // 2
    assert (stream.amounts_msat <= np.maximum(cap, 100_000) + 1000).all()


def test_world_is_the_same_for_the_same_seed() -> None:
    # Given two worlds built from the same seed on the same network
    network = generate_network(seed=5, nodes=200)
    a = build_world(network, WorldParams(seed=5, payments=500, days=1))
    b = build_world(network, WorldParams(seed=5, payments=500, days=1))
    c = build_world(network, WorldParams(seed=6, payments=500, days=1))
    # Then they hold the same peers, balances and payments; another seed differs
    assert [ch.peer_id for ch in a.our.channels] == [ch.peer_id for ch in b.our.channels]
    assert (a.start_side0_msat == b.start_side0_msat).all()
    assert (a.stream.amounts_msat == b.stream.amounts_msat).all()
    assert not np.array_equal(a.stream.amounts_msat, c.stream.amounts_msat)
