"""Configuration: shipped defaults, operator overrides, and refusal of bad values."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from lnopt.config import (
    HEURISTIC_NAMES,
    default_config,
    load_config,
    parse_config,
    to_dict,
)
from lnopt.errors import ConfigError

ISSUE_WEIGHTS = {
    "centrality": 0.20,
    "liquidity": 0.25,
    "activity": 0.20,
    "competitiveness": 0.15,
    "reliability": 0.10,
    "age": 0.05,
    "peer_quality": 0.03,
    "position": 0.02,
}


def write(tmp_path: Path, text: str, name: str = "lnopt.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults ------------------------------------------------------------------------------


def test_defaults_carry_the_weights_of_the_issue_in_order() -> None:
    # Given / When
    config = default_config()

    # Then
    assert dict(config.weights) == pytest.approx(ISSUE_WEIGHTS)
    assert list(config.weights) == list(ISSUE_WEIGHTS)
    assert set(config.weights) == set(HEURISTIC_NAMES)
    assert sum(config.weights.values()) == pytest.approx(1.0)


def test_defaults_hold_the_documented_thresholds() -> None:
    config = default_config()

    assert config.liquidity.target_local_ratio == 0.5
    assert config.liquidity.depleted_ratio < config.liquidity.target_local_ratio
    assert config.liquidity.saturated_ratio > config.liquidity.target_local_ratio
    assert config.guard.min_fee_ppm <= config.guard.max_fee_ppm
    assert config.guard.allow_channels is None
    assert config.guard.exclude_peers == ()


def test_config_is_frozen() -> None:
    config = default_config()

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.liquidity.target_local_ratio = 0.7  # type: ignore[misc]


def test_config_survives_a_round_trip_through_a_plain_document() -> None:
    config = load_config(None, {"guard": {"exclude_peers": ["02" + "ab" * 32]}})

    assert parse_config(to_dict(config)) == config


# --- operator overrides --------------------------------------------------------------------


def test_operator_file_overrides_one_value_and_keeps_the_rest(tmp_path: Path) -> None:
    # Given an operator file that changes only the liquidity target
    path = write(tmp_path, "liquidity:\n  target_local_ratio: 0.6\n")
    defaults = default_config()

    # When
    config = load_config(path)

    # Then only that value changed
    assert config.liquidity.target_local_ratio == 0.6
    assert config.liquidity.depleted_ratio == defaults.liquidity.depleted_ratio
    assert config.liquidity.saturated_ratio == defaults.liquidity.saturated_ratio
    assert config.weights == defaults.weights
    assert config.guard == defaults.guard


def test_operator_weights_replace_all_weights_in_their_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "weights:\n  liquidity: 0.5\n  activity: 0.3\n  centrality: 0.2\n",
    )

    config = load_config(path)

    assert list(config.weights) == ["liquidity", "activity", "centrality"]
    assert config.weights["liquidity"] == 0.5


def test_overrides_take_precedence_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "guard:\n  max_fee_ppm: 3000\n  min_fee_ppm: 5\n")

    config = load_config(path, {"guard": {"max_fee_ppm": 2000}})

    assert config.guard.max_fee_ppm == 2000
    assert config.guard.min_fee_ppm == 5


def test_an_empty_operator_file_means_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing to change\n")

    assert load_config(path) == default_config()


def test_integers_are_accepted_where_a_ratio_is_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "liquidity:\n  saturated_ratio: 1\n")

    config = load_config(path)

    assert config.liquidity.saturated_ratio == 1.0
    assert isinstance(config.liquidity.saturated_ratio, float)


def test_allow_channels_accepts_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "guard:\n  allow_channels: [812345x1020x1]\n")

    assert load_config(path).guard.allow_channels == ("812345x1020x1",)


def test_with_guard_validates_like_a_file() -> None:
    config = default_config()

    assert config.with_guard(max_fee_ppm=1200).guard.max_fee_ppm == 1200
    with pytest.raises(ConfigError, match=r"guard\.max_step_ppm must be a whole number from 0 "):
        config.with_guard(max_step_ppm=-1)


# --- refusals ------------------------------------------------------------------------------

BAD_DOCUMENTS = {
    "unknown top-level key": (
        "colour: red\n",
        r"unknown configuration key 'colour'; accepted: weights, graph, liquidity",
    ),
    "unknown key in a section": (
        "guard:\n  max_fee: 10\n",
        r"unknown configuration key guard\.max_fee; accepted: .*max_fee_ppm",
    ),
    "weights not summing to 1": (
        "weights:\n  liquidity: 0.5\n  activity: 0.4\n",
        r"weights: they sum to 0\.9000; they must sum to 1",
    ),
    "unknown heuristic in weights": (
        "weights:\n  luck: 1.0\n",
        r"weights\.luck: unknown heuristic; accepted: centrality, liquidity",
    ),
    "negative weight": (
        "weights:\n  liquidity: 1.5\n  activity: -0.5\n",
        r"weights\.liquidity: 1\.5 is outside \[0, 1\]",
    ),
    "weight of the wrong type": (
        "weights:\n  liquidity: much\n",
        r"weights\.liquidity: expected a number in \[0, 1\], got 'much'",
    ),
    "weights not a mapping": ("weights: [liquidity]\n", r"weights: expected a mapping"),
    "negative threshold": (
        "decisions:\n  close_idle_days: -3\n",
        r"decisions\.close_idle_days must be a whole number from 0 to 9223372036854775807; got -3$",
    ),
    "negative fee bound": (
        "guard:\n  max_step_ppm: -10\n",
        r"guard\.max_step_ppm must be a whole number from 0 to 4294967295; got -10$",
    ),
    "ratio above 1": (
        "liquidity:\n  target_local_ratio: 1.5\n",
        r"liquidity\.target_local_ratio: 1\.5 is outside \[0, 1\]",
    ),
    "score above 1": (
        "decisions:\n  close_below_score: 2\n",
        r"decisions\.close_below_score: 2\.0 is outside \[0, 1\]",
    ),
    "ratio that is not a number": (
        "liquidity:\n  depleted_ratio: .nan\n",
        r"liquidity\.depleted_ratio: expected a finite number",
    ),
    "minimum fee above maximum fee": (
        "guard:\n  min_fee_ppm: 6000\n  max_fee_ppm: 5000\n",
        r"guard\.min_fee_ppm \(6000\) is above guard\.max_fee_ppm \(5000\)",
    ),
    "depleted above saturated": (
        "liquidity:\n  depleted_ratio: 0.95\n",
        r"liquidity\.depleted_ratio \(0\.95\) is above liquidity\.saturated_ratio \(0\.9\)",
    ),
    "a raise judged sooner than it may be at the latest": (
        "decisions:\n  price_test_days: 9\n",
        r"decisions\.price_test_days \(9\) is above decisions\.price_test_max_days \(7\)",
    ),
    "text where a whole number is expected": (
        "guard:\n  max_fee_ppm: lots\n",
        r'guard\.max_fee_ppm must be a whole number from 0 to 4294967295; got "lots"$',
    ),
    "fraction where a whole number is expected": (
        "guard:\n  cooldown_s: 1.5\n",
        r"guard\.cooldown_s must be a whole number from 0 to \d+; got 1\.5$",
    ),
    "boolean where a whole number is expected": (
        "store:\n  retention_days: true\n",
        r"store\.retention_days must be a whole number from 0 to \d+; got true$",
    ),
    "text where a ratio is expected": (
        "liquidity:\n  target_local_ratio: half\n",
        r'liquidity\.target_local_ratio: expected a number, got "half"',
    ),
    "text where a list is expected": (
        "guard:\n  exclude_peers: 02abc\n",
        r'guard\.exclude_peers: expected a list, got "02abc"',
    ),
    "fee rate past the 32 bits of a channel_update": (
        "guard:\n  max_fee_ppm: 4294967296\n",
        r"guard\.max_fee_ppm must be a whole number from 0 to 4294967295; got 4294967296$",
    ),
    "base fee past the 32 bits of a channel_update": (
        "guard:\n  min_base_fee_msat: 18446744073709551616\n",
        r"guard\.min_base_fee_msat must be a whole number from 0 to 4294967295",
    ),
    "whole number past 64 bits": (
        "guard:\n  cooldown_s: 18446744073709551616\n",
        r"guard\.cooldown_s must be a whole number from 0 to 9223372036854775807",
    ),
    "whole number of more digits than Python converts": (
        f"guard:\n  cooldown_s: {'9' * 5000}\n",
        r"holds a value lnopt cannot read \(Exceeds the limit \(4300 digits\) for integer",
    ),
    "excluded channel that is not a short channel id": (
        "guard:\n  exclude_channels: [812345x1020x1, '٣x1x1']\n",
        r'guard\.exclude_channels must be a short channel id BLOCKxTXxOUT .*; got "٣x1x1"$',
    ),
    "excluded channel past BOLT 7's field sizes": (
        "guard:\n  exclude_channels: [16777216x1x1]\n",
        r'guard\.exclude_channels must be a short channel id .*; got "16777216x1x1"$',
    ),
    "excluded peer that is not a node id": (
        "guard:\n  exclude_peers: [03abc]\n",
        r'guard\.exclude_peers must be a node id \(66 hex characters.*; got "03abc"$',
    ),
    "allowed channel of the wrong type": (
        "guard:\n  allow_channels: [5]\n",
        r"guard\.allow_channels must be a short channel id .*; got 5$",
    ),
    "document nested 5,000 deep": ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"nested too deeply"),
    "section that is not a mapping": ("guard: 5\n", r"guard: expected a mapping of settings"),
    "document that is not a mapping": ("- guard\n- store\n", r"must hold a mapping of sections"),
    "invalid YAML": ("guard:\n  max_fee_ppm: [1, 2\n", r"is not valid YAML"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD_DOCUMENTS.values()), ids=list(BAD_DOCUMENTS))
def test_bad_configuration_is_refused_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    # Given an operator file with one bad value
    path = write(tmp_path, text)

    # When / Then loading it is refused with a message naming the key and what is accepted
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"

    with pytest.raises(ConfigError, match=r"cannot read configuration file .*absent\.yaml"):
        load_config(missing)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read configuration file"):
        load_config(tmp_path)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "lnopt.yaml"
    os.mkfifo(fifo)

    with pytest.raises(ConfigError, match=r"lnopt\.yaml\"?: it is not a regular file"):
        load_config(fifo)


def test_a_file_of_more_than_a_megabyte_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, "# padding\n" * 200_000)

    with pytest.raises(ConfigError, match=r"larger than 1000000 bytes"):
        load_config(path)


def test_a_mapping_nested_5000_deep_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "guard: " + "{k: " * 5000 + "1" + "}" * 5000 + "\n")

    with pytest.raises(ConfigError, match=r"nested too deeply"):
        load_config(path)


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"guard:\n  max_fee_ppm: \xff\xfe\x00\n")

    with pytest.raises(ConfigError, match=r"cannot read configuration file .*UTF-8"):
        load_config(path)


def test_overrides_are_validated_like_a_file() -> None:
    with pytest.raises(ConfigError, match=r"liquidity\.saturated_ratio: 7\.0 is outside"):
        load_config(None, {"liquidity": {"saturated_ratio": 7}})


def test_parse_config_refuses_an_unknown_section_directly() -> None:
    document = {**to_dict(default_config()), "extra": {}}

    with pytest.raises(ConfigError, match=r"unknown configuration key 'extra'"):
        parse_config(document)
