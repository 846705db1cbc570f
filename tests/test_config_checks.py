"""Each check of the configuration, at its edge: the value on the edge loads, the value just
past it is refused with a message naming the key and what is accepted."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from lnopt.config import load_config
from lnopt.errors import ConfigError

PAST_ONE = math.nextafter(1.0, math.inf)
BELOW_ZERO = math.nextafter(0.0, -math.inf)

REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "a negative float": (
        {"decisions": {"fee_elasticity": -0.5}},
        r"decisions\.fee_elasticity: -0\.5 is negative; it must be >= 0",
    ),
    "the smallest negative float": (
        {"liquidity": {"target_local_ratio": BELOW_ZERO}},
        r"liquidity\.target_local_ratio: -5e-324 is negative",
    ),
    "a negative whole number": (
        {"guard": {"cooldown_s": -1}},
        r"guard\.cooldown_s must be a whole number from 0 to 9223372036854775807; got -1$",
    ),
    "infinity": (
        {"decisions": {"fee_elasticity": math.inf}},
        r"decisions\.fee_elasticity: expected a finite number, got inf",
    ),
    "minus infinity": (
        {"decisions": {"fee_elasticity": -math.inf}},
        r"decisions\.fee_elasticity: expected a finite number, got -inf",
    ),
    "not a number": (
        {"decisions": {"rebalance_min_score": math.nan}},
        r"decisions\.rebalance_min_score: expected a finite number, got nan",
    ),
    "min_confidence above 1": (
        {"decisions": {"min_confidence": PAST_ONE}},
        r"decisions\.min_confidence: 1\.0000000000000002 is outside \[0, 1\]",
    ),
    "min_confidence below 0": (
        {"decisions": {"min_confidence": -0.01}},
        r"decisions\.min_confidence: -0\.01 is negative",
    ),
    "a ratio above 1": (
        {"decisions": {"raise_below_local_ratio": PAST_ONE}},
        r"decisions\.raise_below_local_ratio: 1\.0000000000000002 is outside \[0, 1\]",
    ),
    "a score above 1": (
        {"decisions": {"close_below_score": 1.5}},
        r"decisions\.close_below_score: 1\.5 is outside \[0, 1\]",
    ),
    "raise threshold above the lower threshold": (
        {"decisions": {"raise_below_local_ratio": 0.3, "lower_above_local_ratio": 0.29}},
        r"decisions\.raise_below_local_ratio \(0\.3\) is above "
        r"decisions\.lower_above_local_ratio \(0\.29\); the minimum must not exceed the maximum",
    ),
    "depleted above saturated": (
        {"liquidity": {"depleted_ratio": 0.5, "saturated_ratio": 0.4}},
        r"liquidity\.depleted_ratio \(0\.5\) is above liquidity\.saturated_ratio \(0\.4\)",
    ),
    "price test sooner than its latest": (
        {"decisions": {"price_test_days": 8, "price_test_max_days": 7}},
        r"decisions\.price_test_days \(8\) is above decisions\.price_test_max_days \(7\)",
    ),
    "minimum fee above the maximum": (
        {"guard": {"min_fee_ppm": 101, "max_fee_ppm": 100}},
        r"guard\.min_fee_ppm \(101\) is above guard\.max_fee_ppm \(100\)",
    ),
    "minimum base fee above the maximum": (
        {"guard": {"min_base_fee_msat": 2, "max_base_fee_msat": 1}},
        r"guard\.min_base_fee_msat \(2\) is above guard\.max_base_fee_msat \(1\)",
    ),
    "a fraction where a whole number belongs": (
        {"decisions": {"close_idle_days": 1.5}},
        r"decisions\.close_idle_days must be a whole number from 0 to 9223372036854775807; "
        r"got 1\.5$",
    ),
    "a boolean where a whole number belongs": (
        {"guard": {"max_changes_per_day": True}},
        r"guard\.max_changes_per_day must be a whole number from 0 to 9223372036854775807; "
        r"got true$",
    ),
    "a boolean where a number belongs": (
        {"decisions": {"min_confidence": False}},
        r"decisions\.min_confidence: expected a number, got false$",
    ),
    "a text where a number belongs": (
        {"decisions": {"fee_elasticity": "0.5"}},
        r'decisions\.fee_elasticity: expected a number, got "0\.5"$',
    ),
    "a text where a list of channels belongs": (
        {"guard": {"exclude_channels": "800000x1x0"}},
        r'guard\.exclude_channels: expected a list, got "800000x1x0"$',
    ),
    "a weight above 1": (
        {"weights": {"liquidity": PAST_ONE}},
        r"weights\.liquidity: 1\.0000000000000002 is outside \[0, 1\]",
    ),
    "weights a little short of 1": (
        {"weights": {"liquidity": 0.5, "activity": 0.4999}},
        r"weights: they sum to 0\.9999; they must sum to 1",
    ),
}


@pytest.mark.parametrize(("overrides", "message"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_value_past_its_edge_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


ACCEPTED: dict[str, tuple[dict[str, Any], str, str, Any]] = {
    "min_confidence of 1": (
        {"decisions": {"min_confidence": 1}},
        "decisions",
        "min_confidence",
        1.0,
    ),
    "min_confidence of 0": (
        {"decisions": {"min_confidence": 0.0}},
        "decisions",
        "min_confidence",
        0.0,
    ),
    "a ratio of exactly 1": (
        {"liquidity": {"saturated_ratio": 1.0}},
        "liquidity",
        "saturated_ratio",
        1.0,
    ),
    "raise and lower thresholds equal": (
        {"decisions": {"raise_below_local_ratio": 0.4, "lower_above_local_ratio": 0.4}},
        "decisions",
        "raise_below_local_ratio",
        0.4,
    ),
    "price test days equal": (
        {"decisions": {"price_test_days": 7, "price_test_max_days": 7}},
        "decisions",
        "price_test_days",
        7,
    ),
    "fee bounds equal": ({"guard": {"min_fee_ppm": 5000}}, "guard", "min_fee_ppm", 5000),
    "a zero cooldown": ({"guard": {"cooldown_s": 0}}, "guard", "cooldown_s", 0),
    "weights summing to 1 within rounding": (
        {"weights": {"liquidity": 0.7, "activity": 0.2, "age": 0.1}},
        "weights",
        "age",
        0.1,
    ),
}


@pytest.mark.parametrize(
    ("overrides", "section", "key", "value"), list(ACCEPTED.values()), ids=list(ACCEPTED)
)
def test_a_value_on_its_edge_loads(
    overrides: dict[str, Any], section: str, key: str, value: Any
) -> None:
    config = load_config(None, overrides)
    loaded = config.weights[key] if section == "weights" else getattr(getattr(config, section), key)
    assert loaded == value
    assert type(loaded) is type(value)


@pytest.mark.parametrize(
    ("yaml_value", "message"),
    [(".inf", "expected a finite number, got inf"), ("-.inf", "got -inf"), ("-0.25", "negative")],
)
def test_a_file_with_an_infinite_or_negative_float_is_refused(
    tmp_path: Path, yaml_value: str, message: str
) -> None:
    path = tmp_path / "lnopt.yaml"
    path.write_text(f"decisions:\n  fee_elasticity: {yaml_value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"decisions\.fee_elasticity: .*{message}"):
        load_config(path)


def test_a_section_left_empty_in_a_file_keeps_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "lnopt.yaml"
    path.write_text("guard:\ndecisions:\n  min_confidence: 0.5\n", encoding="utf-8")
    config = load_config(path)
    assert config.guard == load_config(None).guard
    assert config.decisions.min_confidence == 0.5


@pytest.mark.parametrize(
    "weights",
    [
        {"liquidity": 1.0},  # one heuristic alone
        {"liquidity": 1.0, "activity": 0.0},  # a weight of 0 switches a heuristic off
    ],
)
def test_weights_on_the_edges_of_0_and_1_load(weights: dict[str, float]) -> None:
    assert dict(load_config(None, {"weights": weights}).weights) == weights


def test_weights_that_are_not_a_mapping_are_refused_saying_what_is_expected() -> None:
    with pytest.raises(
        ConfigError, match=r"^weights: expected a mapping of heuristic name to weight$"
    ):
        load_config(None, {"weights": [0.5, 0.5]})
    with pytest.raises(ConfigError, match=r"\(a file that sets weights sets all of them\)$"):
        load_config(None, {"weights": {"liquidity": 0.5}})
