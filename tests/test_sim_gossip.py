"""Gossip: delays, merging of close updates, and Core Lightning's rate limit."""

from __future__ import annotations

from lnopt.sim.gossip import GossipModel, GossipParams
from tests.factories import policy

SCID = "1x1x0"


def model(**params: float | bool) -> GossipModel:
    return GossipModel(GossipParams(**params), 0.0, {SCID: policy(1000, 100)})  # type: ignore[arg-type]


def test_update_reaches_senders_after_the_propagation_delay() -> None:
    # Given senders know 100 ppm
    gossip = model(propagation_s=600.0)
    # When our node sets 200 ppm at t=1000
    gossip.announce(SCID, policy(1000, 200), 1000.0)
    gossip.advance(1599.0)
    # Then senders still use 100 ppm just before the delay has passed, 200 ppm after
    assert gossip.known(SCID).fee_ppm == 100
    gossip.advance(1600.0)
    assert gossip.known(SCID).fee_ppm == 200
    assert gossip.stats.propagated == 1


def test_changes_within_the_minimum_interval_are_merged() -> None:
    # Given an update emitted at t=0
    gossip = model(min_interval_s=300.0, propagation_s=0.0)
    gossip.announce(SCID, policy(1000, 150), 0.0)
    gossip.advance(0.0)
    # When two more changes follow within 300 s
    gossip.announce(SCID, policy(1000, 160), 10.0)
    gossip.announce(SCID, policy(1000, 170), 20.0)
    gossip.advance(299.0)
    # Then nothing new is emitted before the interval, and then only the latest
    assert gossip.known(SCID).fee_ppm == 150
    gossip.advance(300.0)
    assert gossip.known(SCID).fee_ppm == 170
    assert gossip.stats.emitted == 2


def test_rate_limit_allows_bursts_of_four_then_two_a_day() -> None:
    # Given updates one every 10 minutes
    gossip = model(min_interval_s=0.0, propagation_s=0.0)
    for k in range(6):
        gossip.announce(SCID, policy(1000, 200 + k), 600.0 * k)
        gossip.advance(600.0 * k)
    # Then four pass, the next ones are dropped and senders keep the fourth
    assert gossip.stats.emitted == 6
    assert gossip.stats.dropped == 2
    assert gossip.known(SCID).fee_ppm == 203
    # When twelve hours pass (12 tokens), one more passes
    gossip.announce(SCID, policy(1000, 300), 3000.0 + 12 * 3600)
    gossip.advance(3000.0 + 12 * 3600)
    assert gossip.known(SCID).fee_ppm == 300


def test_without_rate_limit_nothing_is_dropped() -> None:
    gossip = model(min_interval_s=0.0, propagation_s=0.0, rate_limited=False)
    for k in range(10):
        gossip.announce(SCID, policy(1000, 200 + k), 60.0 * k)
        gossip.advance(60.0 * k)
    assert gossip.stats.dropped == 0
    assert gossip.known(SCID).fee_ppm == 209
