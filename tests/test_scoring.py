"""The scorer: weights, confidence weighting, order, determinism, and channel selection."""

from __future__ import annotations

from typing import Any

import pytest

from lnopt.config import HEURISTIC_NAMES, Config, default_config, load_config
from lnopt.errors import ConfigError, InvalidRequest
from lnopt.graph import MetricsCache
from lnopt.heuristics import REGISTRY, HeuristicContext
from lnopt.model import HeuristicScore
from lnopt.scoring import combine, score_channels, validate_weights
from lnopt.snapshot import NodeSnapshot
from tests import factories as f


def weights(**chosen: float) -> Config:
    """Defaults with only the ``chosen`` weights (the others absent)."""
    return load_config(None, {"weights": chosen})


def all_weights(**chosen: float) -> dict[str, float]:
    """Every heuristic weighted 0 except the ``chosen`` ones."""
    return {name: chosen.get(name, 0.0) for name in HEURISTIC_NAMES}


def part(name: str, score: float, confidence: float) -> HeuristicScore:
    return HeuristicScore(name, score, confidence, {}, "test part")


@pytest.fixture
def snapshot() -> NodeSnapshot:
    """Three channels: depleted and busy, balanced and expensive, saturated and idle."""
    depleted = f.channel(1, local_ratio=0.05, fee_ppm=50)
    expensive = f.channel(2, local_ratio=0.5, fee_ppm=4000)
    saturated = f.channel(3, local_ratio=0.95, fee_ppm=100)
    extra: list[dict[str, Any]] = []
    for peer in (1, 2, 3):
        for i in range(4):
            extra += f.both_directions(
                f"760000x{i}x{peer}", f.node_id(100 + i), f.node_id(peer), fee_ppm=200
            )
    busy = f.activity(
        depleted.short_channel_id,
        last_7d={"forwards_out": 40, "volume_out_msat": 2_000_000_000},
        last_30d={"forwards_out": 150, "volume_out_msat": 8_000_000_000, "failed": 20},
    )
    channels = [depleted, expensive, saturated]
    return f.snapshot(
        channels,
        activity_by_scid={depleted.short_channel_id: busy},
        graph=f.graph_for(channels, extra),
    )


# --- combining parts -----------------------------------------------------------------------


def test_parts_count_by_weight_times_confidence() -> None:
    # Given a sure part scoring 1 and a half-sure part scoring 0, weighted equally
    parts = (part("liquidity", 1.0, 1.0), part("activity", 0.0, 0.5))

    # When
    score, confidence = combine(parts, {"liquidity": 0.5, "activity": 0.5})

    # Then the sure part counts twice as much: 0.5 / (0.5 + 0.25)
    assert score == pytest.approx(2 / 3)
    assert confidence == pytest.approx(0.75)


def test_parts_without_any_confidence_fall_back_to_the_plain_weighted_mean() -> None:
    parts = (part("liquidity", 0.8, 0.0), part("activity", 0.2, 0.0))

    score, confidence = combine(parts, {"liquidity": 0.75, "activity": 0.25})

    assert score == pytest.approx(0.75 * 0.8 + 0.25 * 0.2)
    assert confidence == 0.0


# --- weights -------------------------------------------------------------------------------


def test_all_weight_on_liquidity_gives_the_liquidity_score(snapshot: NodeSnapshot) -> None:
    config = weights(**all_weights(liquidity=1.0))

    for scored in score_channels(snapshot, config):
        assert scored.score == pytest.approx(scored.part("liquidity").score)
        assert scored.confidence == pytest.approx(scored.part("liquidity").confidence)
        assert len(scored.parts) == len(HEURISTIC_NAMES)


def test_a_single_weighted_heuristic_is_the_only_part(snapshot: NodeSnapshot) -> None:
    scores = score_channels(snapshot, weights(liquidity=1.0))

    assert all([p.name for p in s.parts] == ["liquidity"] for s in scores)


def test_weights_decide_which_channel_ranks_first(snapshot: NodeSnapshot) -> None:
    # Given the depleted channel (poor liquidity, cheap) and the expensive one (balanced)
    depleted, expensive = snapshot.channels[0], snapshot.channels[1]

    def ranking(config: Config) -> list[str]:
        scores = sorted(score_channels(snapshot, config), key=lambda s: -s.score)
        return [
            s.short_channel_id
            for s in scores
            if s.short_channel_id in {depleted.short_channel_id, expensive.short_channel_id}
        ]

    # When weighting liquidity, then competitiveness
    by_liquidity = ranking(weights(liquidity=0.9, competitiveness=0.1))
    by_price = ranking(weights(liquidity=0.1, competitiveness=0.9))

    # Then the order flips
    assert by_liquidity == [expensive.short_channel_id, depleted.short_channel_id]
    assert by_price == [depleted.short_channel_id, expensive.short_channel_id]


def test_parts_follow_the_configured_order(snapshot: NodeSnapshot) -> None:
    order = ["position", "age", "liquidity", "activity", "reliability"]
    config = weights(**dict.fromkeys(order, 0.2))

    for scored in score_channels(snapshot, config):
        assert [p.name for p in scored.parts] == order


def test_default_parts_follow_the_default_order(snapshot: NodeSnapshot) -> None:
    config = default_config()

    scored = score_channels(snapshot, config)[0]

    assert [p.name for p in scored.parts] == list(config.weights)


def test_validate_weights_refuses_a_name_nobody_registered() -> None:
    config = Config(weights={"liquidity": 0.5, "moon_phase": 0.5})

    with pytest.raises(ConfigError, match=r"weights\.moon_phase: no such heuristic; accepted:"):
        validate_weights(config)


def test_validate_weights_refuses_no_weights_at_all(snapshot: NodeSnapshot) -> None:
    with pytest.raises(ConfigError, match=r"weights: no heuristic is weighted; accepted names"):
        score_channels(snapshot, Config())


def test_validate_weights_returns_the_heuristics_in_order() -> None:
    config = default_config()

    assert list(validate_weights(config)) == list(config.weights)


# --- results -------------------------------------------------------------------------------


def test_scores_and_confidences_lie_in_the_unit_interval(snapshot: NodeSnapshot) -> None:
    scores = score_channels(snapshot, default_config())

    assert [s.short_channel_id for s in scores] == [c.short_channel_id for c in snapshot.channels]
    for scored in scores:
        assert 0.0 <= scored.score <= 1.0
        assert 0.0 <= scored.confidence <= 1.0
        assert scored.peer_id == snapshot.channel(scored.short_channel_id).peer_id  # type: ignore[union-attr]


def test_depleted_channel_loses_to_a_balanced_one_on_default_weights() -> None:
    # Given two channels alike but for their balance
    depleted, balanced = f.channel(1, local_ratio=0.02), f.channel(2, local_ratio=0.5)

    scores = {
        s.short_channel_id: s.score
        for s in score_channels(f.snapshot([depleted, balanced]), default_config())
    }

    assert scores[depleted.short_channel_id] < scores[balanced.short_channel_id]


def test_scoring_is_deterministic(snapshot: NodeSnapshot) -> None:
    config = default_config()

    first = score_channels(snapshot, config)
    second = score_channels(snapshot, config)
    recomputed = score_channels(
        snapshot,
        config,
        metrics=snapshot.graph.metrics(
            betweenness_samples=config.graph.samples,
            seed=config.graph.seed,
            cache=MetricsCache(),
        ),
    )

    assert first == second == recomputed


def test_given_metrics_are_used_instead_of_computing_them(snapshot: NodeSnapshot) -> None:
    # Given metrics of a different graph, where our peers are unknown
    other = f.snapshot([f.channel(70)]).graph.metrics(betweenness_samples=None)

    scored = score_channels(snapshot, default_config(), metrics=other)[0]

    assert scored.part("centrality").confidence <= 0.1
    assert "not in the network graph" in scored.part("centrality").explanation


# --- one channel ---------------------------------------------------------------------------


def test_only_scores_the_named_channel(snapshot: NodeSnapshot) -> None:
    wanted = snapshot.channels[1].short_channel_id

    scores = score_channels(snapshot, default_config(), only=wanted)
    everything = score_channels(snapshot, default_config())

    assert [s.short_channel_id for s in scores] == [wanted]
    assert scores[0] == everything[1]


def test_unknown_channel_is_refused_naming_it_and_the_accepted_ids(
    snapshot: NodeSnapshot,
) -> None:
    known = snapshot.channels[0].short_channel_id

    with pytest.raises(
        InvalidRequest,
        match=rf"unknown channel '1x2x3': accepted values are our short channel ids \({known}, ",
    ):
        score_channels(snapshot, default_config(), only="1x2x3")


def test_unknown_channel_lists_only_the_first_ids_of_a_large_node() -> None:
    channels = [f.channel(n) for n in range(1, 26)]

    with pytest.raises(InvalidRequest, match=r"and 15 more\)$"):
        score_channels(f.snapshot(channels), default_config(), only="9x9x9")


def test_unknown_channel_of_a_node_without_channels_says_so() -> None:
    with pytest.raises(InvalidRequest, match=r"we have no channel"):
        score_channels(f.snapshot([]), default_config(), only="9x9x9")


# --- a faulty heuristic --------------------------------------------------------------------


def test_a_heuristic_that_raises_is_ignored_not_fatal(
    snapshot: NodeSnapshot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an age heuristic with a bug
    def broken(ctx: HeuristicContext) -> HeuristicScore:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(REGISTRY, "age", broken)

    # When
    scores = score_channels(snapshot, default_config())

    # Then every channel is still scored, the part carries no weight, and the bug is logged
    for scored in scores:
        age = scored.part("age")
        assert age.confidence == 0.0
        assert "ZeroDivisionError" in age.explanation
        assert 0.0 <= scored.score <= 1.0
    assert "heuristic failed name=age" in caplog.text
