"""Payment demand: realistic amounts, skewed roles, how senders split, seeded streams."""

from __future__ import annotations

import numpy as np
import pytest

from lnopt.errors import InvalidRequest
from lnopt.sim.demand import DemandParams, generate_payments, receive_weights
from lnopt.sim.network import generate_network
from lnopt.sim.senders import CORE_LIGHTNING, LND, SenderParams

NETWORK = generate_network(seed=21, nodes=1500)
NODES = sorted(NETWORK.nodes)
DEGREES = [NETWORK.degree(n) for n in NODES]


def test_amounts_have_a_median_in_the_tens_of_thousands_of_sat() -> None:
    stream = generate_payments(NODES, DEGREES, seed=1, count=20_000, days=10)
    amounts_sat = stream.amounts_msat / 1000
    assert 10_000 <= np.median(amounts_sat) <= 50_000
    assert amounts_sat.max() <= DemandParams().max_amount_sat
    assert (np.diff(stream.times_s) >= 0).all()
    assert stream.times_s.max() <= 10 * 86_400


def test_roles_skew_who_pays_and_who_is_paid() -> None:
    stream = generate_payments(NODES, DEGREES, seed=2, count=20_000, days=10)
    pays = np.bincount(stream.senders, minlength=len(NODES))
    paid = np.bincount(stream.receivers, minlength=len(NODES))
    degrees = np.array(DEGREES)
    wallets = (degrees <= 2) & (paid == 0)
    # wallets pay and are not paid; some nodes are paid far more than they pay (merchants)
    assert pays[wallets].sum() > 0.3 * len(stream)
    mostly_paid = (paid > 10 * np.maximum(pays, 1)).sum()
    assert mostly_paid >= 20
    # the receivers are concentrated: the top 10% take most of the payments
    top = np.sort(paid)[::-1][: len(NODES) // 10]
    assert top.sum() > 0.6 * paid.sum()
    # and what receive_weights tells an operator matches who is actually paid
    weights = receive_weights(DEGREES, seed=2)
    assert (paid[weights == 0] == 0).all()


def test_core_lightning_presplits_and_lnd_sends_whole() -> None:
    # Given a payment of 35,000 sat and one of 2M sat
    # Then CLN cuts them into parts of about 10,000 sat (the part size doubling past 16
    # parts), which add up to the amount, and LND starts with the whole amount
    assert CORE_LIGHTNING.presplit(35_000_000) == [8_750_000] * 4
    big = CORE_LIGHTNING.presplit(2_000_000_000)
    assert sum(big) == 2_000_000_000 and len(big) == 13  # parts of 160k sat at most
    assert CORE_LIGHTNING.presplit(9_000_000) == [9_000_000]
    assert LND.presplit(2_000_000_000) == [2_000_000_000]
    # and the budgets follow the defaults: CLN 0.5% or 5 sat, LND all up to 1,000 sat, else 5%
    assert CORE_LIGHTNING.fee_budget_msat(100_000) == 5_000
    assert CORE_LIGHTNING.fee_budget_msat(10_000_000) == 50_000
    assert LND.fee_budget_msat(1_000_000) == 1_000_000
    assert LND.fee_budget_msat(1_001_000) == 50_050


def test_the_stream_seed_draws_the_stream_and_the_seed_the_shape() -> None:
    def draw(stream_seed: int):  # type: ignore[no-untyped-def]
        return generate_payments(
            NODES, DEGREES, seed=7, stream_seed=stream_seed, count=3000, days=1
        )

    a, b, c = draw(1), draw(1), draw(2)
    # The same stream seed gives the identical stream, classes and keys included
    assert (a.amounts_msat == b.amounts_msat).all() and (a.senders == b.senders).all()
    assert (a.keys == b.keys).all() and (a.node_class == b.node_class).all()
    # another stream seed another stream, on the same demand's shape: the same nodes are paid
    assert not np.array_equal(a.amounts_msat, c.amounts_msat)
    assert not np.array_equal(a.node_class, c.node_class)
    weights = receive_weights(DEGREES, seed=7)
    for stream in (a, c):
        assert (weights[stream.receivers] > 0).all()
    # and classes follow the mix
    params = SenderParams()
    share = np.mean(a.node_class == 0)
    assert abs(share - params.classes[0].share) < 0.05


def test_same_seed_same_stream_and_means_are_respected() -> None:
    largest = [1_000_000] * len(NODES)  # 1,000 sat channels everywhere
    a = generate_payments(NODES, DEGREES, seed=4, count=500, days=1, largest_channel_msat=largest)
    b = generate_payments(NODES, DEGREES, seed=4, count=500, days=1, largest_channel_msat=largest)
    assert (a.amounts_msat == b.amounts_msat).all() and (a.senders == b.senders).all()
    assert a.amounts_msat.max() <= 500_000  # half of the largest channel
    with pytest.raises(InvalidRequest, match="days > 0"):
        generate_payments(NODES, DEGREES, seed=4, count=10, days=0)
