"""Payment demand: realistic amounts, skewed roles, multi-part splitting, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from lnopt.errors import InvalidRequest
from lnopt.sim.demand import DemandParams, generate_payments, receive_weights
from lnopt.sim.network import generate_network

NETWORK = generate_network(seed=21, nodes=1500)
NODES = sorted(NETWORK.nodes)
DEGREES = [NETWORK.degree(n) for n in NODES]


def test_amounts_have_a_median_in_the_tens_of_thousands_of_sat() -> None:
    stream = generate_payments(NODES, DEGREES, seed=1, count=20_000, days=10)
    amounts_sat = stream.amounts_msat / 1000
    assert 10_000 <= np.median(amounts_sat) <= 50_000
    assert amounts_sat.max() <= DemandParams().max_part_sat
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


def test_large_payments_travel_as_equal_parts() -> None:
    # Given a cap of 10,000 sat per part and every payment of exactly 35,000 sat
    params = DemandParams(median_amount_sat=35_000, amount_sigma=0.0, max_part_sat=10_000)
    stream = generate_payments(NODES, DEGREES, seed=3, count=100, days=1, params=params)
    # Then each payment is four parts of 8,750 sat, with the same time and ends
    assert len(stream) == 400
    assert set(stream.amounts_msat.tolist()) == {8_750_000}
    for k in range(0, 400, 4):
        assert len({stream.times_s[k + i] for i in range(4)}) == 1
        assert len({(stream.senders[k + i], stream.receivers[k + i]) for i in range(4)}) == 1


def test_same_seed_same_stream_and_means_are_respected() -> None:
    largest = [1_000_000] * len(NODES)  # 1,000 sat channels everywhere
    a = generate_payments(NODES, DEGREES, seed=4, count=500, days=1, largest_channel_msat=largest)
    b = generate_payments(NODES, DEGREES, seed=4, count=500, days=1, largest_channel_msat=largest)
    assert (a.amounts_msat == b.amounts_msat).all() and (a.senders == b.senders).all()
    assert a.amounts_msat.max() <= 500_000  # half of the largest channel
    with pytest.raises(InvalidRequest, match="days > 0"):
        generate_payments(NODES, DEGREES, seed=4, count=10, days=0)
