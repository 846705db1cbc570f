"""The eight heuristics, one behaviour at a time, and their bounds over random channels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lnopt.config import HEURISTIC_NAMES, Config, default_config, load_config
from lnopt.graph import NetworkGraph
from lnopt.heuristics import (
    REGISTRY,
    HeuristicContext,
    SnapshotFacts,
    format_sat,
    load_all,
    register,
)
from lnopt.model import Channel, ChannelActivity, ChannelState, HeuristicScore
from tests import factories as f

load_all()


def run(
    name: str,
    channel: Channel,
    *,
    others: Sequence[Channel] = (),
    extra: Iterable[dict[str, Any]] = (),
    activity: ChannelActivity | None = None,
    graph: NetworkGraph | None = None,
    config: Config | None = None,
    samples: int | None = None,
) -> HeuristicScore:
    """Run heuristic ``name`` on ``channel`` of a snapshot holding it and ``others``."""
    channels = [channel, *others]
    if graph is None:
        graph = f.graph_for([c for c in channels if not c.private], extra)
    snapshot = f.snapshot(
        channels,
        activity_by_scid={} if activity is None else {channel.short_channel_id: activity},
        graph=graph,
    )
    context = HeuristicContext(
        snapshot=snapshot,
        channel=channel,
        activity=snapshot.activity_of(channel.short_channel_id),
        metrics=graph.metrics(betweenness_samples=samples),
        config=config or default_config(),
        facts=SnapshotFacts(snapshot),
    )
    return REGISTRY[name](context)


def number(result: HeuristicScore, key: str) -> float:
    """A numeric raw value of ``result``."""
    value = result.raw[key]
    assert isinstance(value, int | float), f"{key} is {value!r}"
    return value


def busy(scid: str, **month: int) -> ChannelActivity:
    """Activity with the same daily pace over every window, scaled from 30-day counters."""
    return f.activity(
        scid,
        last_1d={key: value // 30 for key, value in month.items()},
        last_7d={key: value * 7 // 30 for key, value in month.items()},
        last_30d=dict(month),
    )


def star(hub: int, leaves: Iterable[int], *, start: int = 700_000) -> list[dict[str, Any]]:
    """Gossip for channels from node ``hub`` to each of ``leaves``."""
    items: list[dict[str, Any]] = []
    for i, leaf in enumerate(leaves):
        items += f.both_directions(f"{start + i}x{hub}x{leaf}", f.node_id(hub), f.node_id(leaf))
    return items


# --- registry ------------------------------------------------------------------------------


def test_every_configured_heuristic_is_registered() -> None:
    assert set(HEURISTIC_NAMES) <= set(load_all())


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'liquidity' is registered twice"):
        register("liquidity")(REGISTRY["liquidity"])


@pytest.mark.parametrize(
    ("amount_msat", "text"),
    [
        (850, "850 msat"),
        (11_000, "11 sat"),
        (120_000_000, "120.0k sat"),
        (5_000_000_000, "5.0M sat"),
        (250_000_000_000, "2.50 BTC"),
    ],
)
def test_amounts_read_naturally(amount_msat: int, text: str) -> None:
    assert format_sat(amount_msat) == text


# --- liquidity -----------------------------------------------------------------------------


def test_depleted_channel_scores_low_and_says_so() -> None:
    # Given a channel with 5% of its 5M sat on our side
    channel = f.channel(local_ratio=0.05)

    # When
    result = run("liquidity", channel)

    # Then
    assert result.score < 0.1
    assert "nearly depleted" in result.explanation
    assert "local 5% of 5.0M sat" in result.explanation
    assert result.confidence > 0.9


def test_crossing_the_depleted_threshold_halves_the_score() -> None:
    # Given channels just above and just below the 10% depleted threshold
    above = run("liquidity", f.channel(local_ratio=0.11))
    below = run("liquidity", f.channel(local_ratio=0.09))

    # Then the step down is more than the small change of balance explains
    assert below.score < above.score / 2
    assert "nearly depleted" not in above.explanation


def test_saturated_channel_scores_low_and_says_so() -> None:
    result = run("liquidity", f.channel(local_ratio=0.97))

    assert result.score < 0.1
    assert "nearly saturated" in result.explanation


def test_balanced_channel_scores_best() -> None:
    balanced = run("liquidity", f.channel(local_ratio=0.5))
    leaning = run("liquidity", f.channel(local_ratio=0.3))

    assert balanced.score == pytest.approx(1.0)
    assert 0.1 < leaning.score < balanced.score
    assert "balanced" in balanced.explanation


def test_liquidity_follows_the_configured_target() -> None:
    config = load_config(None, {"liquidity": {"target_local_ratio": 0.8}})

    at_target = run("liquidity", f.channel(local_ratio=0.8), config=config)
    at_half = run("liquidity", f.channel(local_ratio=0.5), config=config)

    assert at_target.score == pytest.approx(1.0)
    assert at_half.score < at_target.score
    assert "target 80%" in at_target.explanation


def test_unknown_balance_is_neutral_with_low_confidence() -> None:
    result = run("liquidity", f.channel(local_ratio=0.5, balance_known=False))

    assert result.score == 0.5
    assert result.confidence < 0.3
    assert "unknown" in result.explanation


def test_channel_that_cannot_forward_has_less_certain_liquidity() -> None:
    active = run("liquidity", f.channel(local_ratio=0.5))
    closing = run("liquidity", f.channel(local_ratio=0.5, state=ChannelState.CLOSING))

    assert closing.confidence < active.confidence
    assert "closing" in closing.explanation


# --- activity ------------------------------------------------------------------------------


def test_channel_without_history_has_low_activity_confidence() -> None:
    result = run("activity", f.channel())

    assert result.confidence < 0.3
    assert result.score == 0.5
    assert "no forward" in result.explanation


def test_earning_channel_scores_above_an_idle_one() -> None:
    # Given two channels of the same size, one moving its capacity and earning, one barely used
    earning = f.channel(1)
    quiet = f.channel(2)
    earning_activity = busy(
        earning.short_channel_id,
        forwards_out=300,
        forwards_in=90,
        volume_out_msat=9_000_000_000,
        fees_earned_msat=4_000_000,
    )
    quiet_activity = busy(quiet.short_channel_id, forwards_out=1, volume_out_msat=10_000_000)

    # When
    high = run("activity", earning, activity=earning_activity)
    low = run("activity", quiet, activity=quiet_activity)

    # Then
    assert high.score > 0.6 > low.score
    assert high.confidence > low.confidence
    assert "busy and earning" in high.explanation
    assert "390 forwards" in high.explanation


def test_fees_earned_raise_the_activity_score() -> None:
    channel = f.channel()
    moved = {"forwards_out": 60, "volume_out_msat": 2_000_000_000}

    free = run("activity", channel, activity=busy(channel.short_channel_id, **moved))
    paid = run(
        "activity",
        channel,
        activity=busy(channel.short_channel_id, **moved, fees_earned_msat=600_000),
    )

    assert paid.score > free.score
    assert number(paid, "yield_ppm_per_year") > 0 == number(free, "yield_ppm_per_year")


def test_failed_attempts_lower_the_activity_score() -> None:
    channel = f.channel()
    base = {"forwards_out": 30, "volume_out_msat": 1_000_000_000, "fees_earned_msat": 100_000}

    clean = run("activity", channel, activity=busy(channel.short_channel_id, **base))
    failing = run(
        "activity", channel, activity=busy(channel.short_channel_id, **base, local_failed=90)
    )

    assert failing.score < clean.score
    assert failing.raw["success_rate_30d"] == pytest.approx(0.25)


def test_young_channel_rates_count_only_the_days_it_was_open() -> None:
    # Given the same 30-day counters on a 3-day-old and on a 300-day-old channel
    young = f.channel(1, age_blocks=3 * 144)
    old = f.channel(2, age_blocks=300 * 144)
    counters = {"forwards_out": 20, "volume_out_msat": 500_000_000, "fees_earned_msat": 50_000}

    fresh = run("activity", young, activity=f.activity(young.short_channel_id, last_30d=counters))
    aged = run("activity", old, activity=f.activity(old.short_channel_id, last_30d=counters))

    # Then the young channel did it in fewer days: a higher pace
    assert number(fresh, "forwards_per_day") > number(aged, "forwards_per_day")
    assert fresh.score > aged.score


# --- centrality ----------------------------------------------------------------------------


def test_peer_that_is_a_hub_scores_higher_on_centrality() -> None:
    # Given our channels to peer 1, a hub joined to ten nodes, and to peer 2, a leaf
    hub, leaf = f.channel(1), f.channel(2)
    extra = star(1, range(10, 20)) + star(12, range(30, 35), start=710_000)

    high = run("centrality", hub, others=[leaf], extra=extra)
    low = run("centrality", leaf, others=[hub], extra=extra)

    assert high.score > low.score
    assert number(high, "betweenness_percentile") > number(low, "betweenness_percentile")


def test_peer_missing_from_the_graph_is_neutral_with_low_confidence() -> None:
    # Given a private channel whose peer appears nowhere in the gossip
    present = f.channel(1)
    private = f.channel(2, private=True)

    for name in ("centrality", "competitiveness", "peer_quality", "position"):
        # When
        result = run(name, private, others=[present])

        # Then
        assert result.score == 0.5, name
        assert result.confidence <= 0.1, name
        assert "not in the network graph" in result.explanation, name
        assert result.raw["peer_in_graph"] is False


def test_sampled_metrics_lower_centrality_confidence() -> None:
    channel = f.channel(1)
    extra = star(1, range(10, 200))

    exact = run("centrality", channel, extra=extra)
    sampled = run("centrality", channel, extra=extra, samples=20)

    assert sampled.confidence < exact.confidence
    assert "sampled" in sampled.explanation


def test_small_graphs_give_less_confident_percentiles() -> None:
    channel = f.channel(1)

    small = run("centrality", channel, extra=star(1, range(10, 13)))
    large = run("centrality", channel, extra=star(1, range(10, 200)))

    assert small.confidence < large.confidence


# --- competitiveness -----------------------------------------------------------------------


def alternatives(peer: int, fees_ppm: Iterable[int], **kwargs: Any) -> list[dict[str, Any]]:
    """Channels from other nodes into ``node_id(peer)`` charging ``fees_ppm``."""
    items: list[dict[str, Any]] = []
    for i, fee_ppm in enumerate(fees_ppm):
        other = f.node_id(500 + i)
        items += f.both_directions(
            f"750000x{i}x{peer}", other, f.node_id(peer), fee_ppm=fee_ppm, **kwargs
        )
    return items


def test_fee_far_above_the_alternatives_is_not_competitive() -> None:
    channel = f.channel(fee_ppm=3000)

    result = run("competitiveness", channel, extra=alternatives(1, [50, 80, 100, 120, 200]))

    assert result.score < 0.1
    assert "expensive" in result.explanation
    assert "100% of them cheaper" in result.explanation
    assert result.raw["alternatives"] == 5


def test_fee_below_the_alternatives_is_competitive() -> None:
    channel = f.channel(fee_ppm=10, base_fee_msat=0)

    result = run("competitiveness", channel, extra=alternatives(1, [50, 80, 100, 120, 200]))

    assert result.score == pytest.approx(1.0)
    assert "competitive" in result.explanation


def test_base_fee_counts_in_competitiveness() -> None:
    # Given the same fee rate as every alternative, once with a base fee far above theirs
    extra = alternatives(1, [100, 100, 100])
    same = run("competitiveness", f.channel(fee_ppm=100, base_fee_msat=1000), extra=extra)
    heavy = run("competitiveness", f.channel(fee_ppm=100, base_fee_msat=50_000), extra=extra)

    assert heavy.score < same.score
    assert heavy.raw["our_fee_msat"] == 50_000 + 10_000


def test_channels_too_small_for_a_typical_payment_are_no_alternative() -> None:
    tiny = alternatives(1, [1, 1, 1], capacity_msat=50_000_000)

    result = run("competitiveness", f.channel(fee_ppm=3000), extra=tiny)

    assert result.score == 0.5
    assert result.raw["alternatives"] == 0
    assert "no competition" in result.explanation


def test_more_alternatives_give_more_confidence() -> None:
    few = run("competitiveness", f.channel(), extra=alternatives(1, [100]))
    many = run("competitiveness", f.channel(), extra=alternatives(1, [100] * 30))

    assert many.confidence > few.confidence


# --- reliability ---------------------------------------------------------------------------


def test_disconnected_peer_lowers_reliability() -> None:
    connected = run("reliability", f.channel(connected=True))
    disconnected = run("reliability", f.channel(connected=False))

    assert disconnected.score < connected.score
    assert "disconnected" in disconnected.explanation


def test_closing_channel_is_not_reliable() -> None:
    result = run("reliability", f.channel(state=ChannelState.CLOSING))

    assert result.score == 0.0
    assert "unreliable" in result.explanation


def test_frequent_state_changes_lower_reliability() -> None:
    calm = run("reliability", f.channel(state_changes=3))
    flapping = run("reliability", f.channel(state_changes=20))

    assert flapping.score < calm.score


def test_failures_downstream_count_against_the_peer_but_our_own_do_not() -> None:
    channel = f.channel()
    scid = channel.short_channel_id

    clean = run("reliability", channel, activity=busy(scid, forwards_out=50))
    peer_failing = run("reliability", channel, activity=busy(scid, forwards_out=50, failed=150))
    we_failing = run("reliability", channel, activity=busy(scid, forwards_out=50, local_failed=150))

    assert peer_failing.score < clean.score
    assert we_failing.score == pytest.approx(clean.score)
    assert "25% of 200 forwards handed to the peer settled" in peer_failing.explanation


# --- age -----------------------------------------------------------------------------------


def test_older_channel_scores_higher_on_age() -> None:
    week = run("age", f.channel(age_blocks=7 * 144))
    half_year = run("age", f.channel(age_blocks=180 * 144))
    two_years = run("age", f.channel(age_blocks=730 * 144))

    assert week.score < half_year.score < two_years.score == 1.0
    assert "(7 days) ago: young" in week.explanation


def test_funding_above_the_snapshot_height_is_age_zero_with_less_confidence() -> None:
    result = run("age", f.channel(age_blocks=-6))

    assert result.score == 0.0
    assert result.confidence < 0.9


def test_short_channel_id_without_a_height_is_neutral() -> None:
    other = f.channel(2)
    odd = f.channel(1, short_channel_id="alias-1")

    result = run("age", odd, others=[other], graph=f.graph_for([other]))

    assert result.score == 0.5
    assert result.confidence <= 0.1


# --- peer quality --------------------------------------------------------------------------


def test_large_well_connected_peer_scores_higher() -> None:
    big, small = f.channel(1), f.channel(2)
    extra = star(1, range(10, 40))

    high = run("peer_quality", big, others=[small], extra=extra)
    low = run("peer_quality", small, others=[big], extra=extra)

    assert high.score > low.score
    assert "in 31 channels" in high.explanation


def test_peer_with_absurd_fees_scores_lower() -> None:
    # Given two peers alike but for their own fee rates
    sane, greedy = f.channel(1), f.channel(2)
    extra = [
        *f.both_directions("700000x1x9", f.node_id(1), f.node_id(9), fee_ppm=100),
        *f.both_directions("700000x2x9", f.node_id(2), f.node_id(9), fee_ppm=100),
        *[
            f.gossip_item(f"71000{i}x1x0", f.node_id(2), f.node_id(40 + i), fee_ppm=90_000)
            for i in range(3)
        ],
        *[f.gossip_item(f"72000{i}x1x0", f.node_id(1), f.node_id(40 + i)) for i in range(3)],
        *star(20, range(50, 80)),
    ]

    good = run("peer_quality", sane, others=[greedy], extra=extra)
    bad = run("peer_quality", greedy, others=[sane], extra=extra)

    assert number(bad, "fee_sanity") < number(good, "fee_sanity") == 1.0
    assert bad.score < good.score


def test_peer_with_disabled_channels_scores_lower() -> None:
    up, down = f.channel(1), f.channel(2)
    extra = [
        *[f.gossip_item(f"71000{i}x1x0", f.node_id(1), f.node_id(40 + i)) for i in range(4)],
        *[
            f.gossip_item(f"72000{i}x1x0", f.node_id(2), f.node_id(40 + i), active=False)
            for i in range(4)
        ],
    ]

    good = run("peer_quality", up, others=[down], extra=extra)
    bad = run("peer_quality", down, others=[up], extra=extra)

    assert number(bad, "active_share") < number(good, "active_share")
    assert bad.score < good.score


# --- position ------------------------------------------------------------------------------


def test_peer_whose_neighbours_interconnect_is_easy_to_bypass() -> None:
    # Given two peers with four neighbours each; only peer 1's neighbours are linked in a ring
    open_peer, clustered_peer = f.channel(2), f.channel(1)
    ring = [10, 11, 12, 13]
    extra = star(1, ring) + star(2, range(20, 24), start=710_000)
    for i, node in enumerate(ring):
        nxt = ring[(i + 1) % len(ring)]
        extra += f.both_directions(f"720000x{node}x{nxt}", f.node_id(node), f.node_id(nxt))

    easy = run("position", clustered_peer, others=[open_peer], extra=extra)
    hard = run("position", open_peer, others=[clustered_peer], extra=extra)

    assert number(easy, "clustering") > number(hard, "clustering") == 0.0
    assert easy.score < hard.score
    assert "few routes bypass it" in hard.explanation


# --- bounds over random channels -----------------------------------------------------------

RAW_TYPES = (int, float, str, bool, type(None))

windows = st.fixed_dictionaries(
    {
        "forwards_in": st.integers(0, 10_000),
        "forwards_out": st.integers(0, 10_000),
        "volume_in_msat": st.integers(0, 10**14),
        "volume_out_msat": st.integers(0, 10**14),
        "fees_earned_msat": st.integers(0, 10**11),
        "failed": st.integers(0, 10_000),
        "local_failed": st.integers(0, 10_000),
    }
)


@st.composite
def channel_cases(draw: st.DrawFn) -> tuple[Channel, ChannelActivity, list[dict[str, Any]]]:
    channel = f.channel(
        1,
        capacity_sat=draw(st.integers(0, 10**9)),
        local_ratio=draw(st.floats(0, 1)),
        fee_ppm=draw(st.integers(0, 100_000)),
        base_fee_msat=draw(st.integers(0, 1_000_000)),
        age_blocks=draw(st.integers(-1_000, 800_000)),
        state=draw(st.sampled_from(ChannelState)),
        connected=draw(st.booleans()),
        private=draw(st.booleans()),
        state_changes=draw(st.integers(0, 1_000)),
        balance_known=draw(st.booleans()),
    )
    activity = f.activity(
        channel.short_channel_id,
        **{name: draw(windows) for name in ("last_1d", "last_7d", "last_30d")},
    )
    rival_fees = draw(st.lists(st.integers(0, 100_000), max_size=4))
    return channel, activity, alternatives(1, rival_fees)


def check_bounds(result: HeuristicScore, name: str) -> None:
    assert result.name == name
    assert 0.0 <= result.score <= 1.0, result
    assert 0.0 <= result.confidence <= 1.0, result
    assert result.explanation and "\n" not in result.explanation
    assert all(isinstance(value, RAW_TYPES) for value in result.raw.values()), result.raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=channel_cases())
def test_every_heuristic_stays_within_bounds_for_random_channels(
    case: tuple[Channel, ChannelActivity, list[dict[str, Any]]],
) -> None:
    channel, activity, extra = case
    neighbour = f.channel(2)
    for name in HEURISTIC_NAMES:
        check_bounds(run(name, channel, others=[neighbour], extra=extra, activity=activity), name)


def test_heuristics_do_without_a_shared_facts_object() -> None:
    channel = f.channel()
    snapshot = f.snapshot([channel])
    context = HeuristicContext(
        snapshot=snapshot,
        channel=channel,
        activity=snapshot.activity_of(channel.short_channel_id),
        metrics=snapshot.graph.metrics(betweenness_samples=None),
        config=default_config(),
    )
    with_facts = run("peer_quality", channel)

    assert REGISTRY["peer_quality"](context) == with_facts
