"""Configuration: the shipped defaults, overridden by an operator's YAML, validated once.

Every section is a frozen dataclass; :func:`load_config` merges the operator's file over
``defaults.yaml`` and refuses, with a :class:`~lnopt.errors.ConfigError` naming the key and what
is accepted, any unknown key, wrong type, negative number, ratio outside [0, 1], minimum above
maximum, or weights that do not sum to 1. Whole numbers and the guard's lists are read with the
plugin options' readers (:mod:`lnopt.params`): a fee amount (``*_ppm``, ``*_msat``) is at most
2**32 - 1, as BOLT 7's ``channel_update`` carries it, and every list item is checked.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from lnopt.errors import ConfigError, InvalidRequest
from lnopt.params import (
    clipped,
    largest_whole_number,
    read_int,
    read_node_id,
    read_short_channel_id,
    shown,
)

HEURISTIC_NAMES = (
    "centrality",
    "liquidity",
    "activity",
    "competitiveness",
    "reliability",
    "age",
    "peer_quality",
    "position",
)


@dataclass(frozen=True)
class GraphConfig:
    betweenness_samples: int = 1024
    seed: int = 7
    refresh_s: int = 3600

    @property
    def samples(self) -> int | None:
        return self.betweenness_samples or None


@dataclass(frozen=True)
class LiquidityConfig:
    target_local_ratio: float = 0.5
    depleted_ratio: float = 0.1
    saturated_ratio: float = 0.9


@dataclass(frozen=True)
class DecisionConfig:
    raise_below_local_ratio: float = 0.25
    raise_min_forwards_7d: int = 1
    lower_above_local_ratio: float = 0.25
    lower_max_forwards_7d: int = 0
    fee_step_pct: int = 15
    fee_step_min_ppm: int = 10
    rebalance_below_local_ratio: float = 0.1
    rebalance_min_score: float = 0.5
    close_below_score: float = 0.1
    close_idle_days: int = 30
    close_min_age_days: int = 30
    min_confidence: float = 0.3
    fee_elasticity: float = 0.5
    probe_min_forwards_1d: int = 1
    probe_min_forwards_7d: int = 2
    probe_step_pct: int = 200
    drain_horizon_days: int = 30
    price_untested_at_market: int = 1
    base_fee_to_market: int = 1
    base_fee_tolerance_msat: int = 1000
    price_test_days: int = 2
    price_test_forwards: int = 3
    price_test_max_days: int = 7
    probe_pause_days: int = 7


@dataclass(frozen=True)
class PricingConfig:
    """How the pricing model proposes a channel's fee (see :mod:`lnopt.pricing`)."""

    enabled: int = 0
    hold_days: float = 1.5
    window_days: int = 28
    half_life_days: float = 14.0
    payment_window_s: float = 10.0
    ceiling_ppm: int = 4000
    scarce_local_ratio: float = 0.3
    min_win_probability: float = 0.5
    max_move_factor: float = 4.0
    choke_spread: float = 16.0
    choke_prior_factor: float = 1.0
    quiet_payments: int = 1


@dataclass(frozen=True)
class GuardLimits:
    min_fee_ppm: int = 0
    max_fee_ppm: int = 5000
    min_base_fee_msat: int = 0
    max_base_fee_msat: int = 10000
    max_step_pct: int = 200
    max_step_ppm: int = 2000
    step_floor_ppm: int = 10
    max_changes_per_day: int = 2
    cooldown_s: int = 21600
    exclude_peers: tuple[str, ...] = ()
    exclude_channels: tuple[str, ...] = ()
    allow_channels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StoreConfig:
    retention_days: int = 90


@dataclass(frozen=True)
class AlertsConfig:
    """When lnopt raises an alert, and how often it may (see :mod:`lnopt.alerts`)."""

    drain_drop_ratio: float = 0.3
    drain_window_hours: int = 6
    offline_hours: int = 24
    failed_forwards: int = 10
    failed_window_minutes: int = 60
    dedup_minutes: int = 360
    max_per_hour: int = 10
    webhook_attempts: int = 3
    webhook_timeout_s: int = 5


@dataclass(frozen=True)
class Config:
    weights: Mapping[str, float] = field(default_factory=dict)
    graph: GraphConfig = field(default_factory=GraphConfig)
    liquidity: LiquidityConfig = field(default_factory=LiquidityConfig)
    decisions: DecisionConfig = field(default_factory=DecisionConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    guard: GuardLimits = field(default_factory=GuardLimits)
    store: StoreConfig = field(default_factory=StoreConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)

    def with_guard(self, **changes: Any) -> Config:
        """A copy with some guard limits replaced, validated like a file would be."""
        return parse_config(_merge(to_dict(self), {"guard": changes}))

    def with_alerts(self, **changes: Any) -> Config:
        """A copy with some alert settings replaced, validated like a file would be."""
        return parse_config(_merge(to_dict(self), {"alerts": changes}))


# Ratios, scores and confidences lie in [0, 1]; every number is non-negative; pairs are (min, max).
_UNIT_INTERVAL_SUFFIXES = ("_ratio", "_score", "_confidence", "_probability")
# Settings that must lie strictly above a bound (a factor of 1 or a half-life of 0 means nothing).
_ABOVE = (
    ("pricing", "half_life_days", 0),
    ("pricing", "window_days", 0),
    ("pricing", "choke_spread", 1),
    ("pricing", "max_move_factor", 1),
    ("pricing", "choke_prior_factor", 0),
)
# The guard's lists are read item by item as the plugin's options are.
_LIST_ITEMS = {
    "guard.exclude_channels": read_short_channel_id,
    "guard.allow_channels": read_short_channel_id,
    "guard.exclude_peers": read_node_id,
}
CONFIG_MAX_BYTES = 1_000_000
_ORDERED_PAIRS = (
    ("liquidity", "depleted_ratio", "saturated_ratio"),
    ("decisions", "raise_below_local_ratio", "lower_above_local_ratio"),
    ("decisions", "price_test_days", "price_test_max_days"),
    ("guard", "min_fee_ppm", "max_fee_ppm"),
    ("guard", "min_base_fee_msat", "max_base_fee_msat"),
)


def default_config() -> Config:
    return load_config(None)


def load_config(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> Config:
    """The defaults, overridden by the YAML file at ``path`` and then by ``overrides``."""
    document = _read_defaults()
    if path is not None:
        document = _merge(document, _read_yaml(Path(path)))
    if overrides:
        document = _merge(document, overrides)
    return parse_config(document)


def parse_config(document: Mapping[str, Any]) -> Config:
    """Validate a complete configuration document into a :class:`Config`."""
    sections: dict[str, Any] = {}
    for key, value in document.items():
        if key == "weights":
            sections[key] = _parse_weights(value)
            continue
        section_type = _SECTIONS.get(key)
        if section_type is None:
            raise ConfigError(
                f"unknown configuration key {key!r}; accepted: {_accepted(_SECTION_KEYS)}"
            )
        sections[key] = _parse_section(key, section_type, value)
    config = Config(**sections)
    _check_order(config)
    return config


def to_dict(config: Config) -> dict[str, Any]:
    """The configuration as a plain document (lists for tuples), e.g. for JSON output."""
    document: dict[str, Any] = {"weights": dict(config.weights)}
    for name in _SECTIONS:
        section = dataclasses.asdict(getattr(config, name))
        document[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
    return document


_SECTIONS: dict[str, type] = {
    "graph": GraphConfig,
    "liquidity": LiquidityConfig,
    "decisions": DecisionConfig,
    "pricing": PricingConfig,
    "guard": GuardLimits,
    "store": StoreConfig,
    "alerts": AlertsConfig,
}
_SECTION_KEYS = ("weights", *_SECTIONS)


def _accepted(names: typing.Iterable[str]) -> str:
    return ", ".join(names)


def _read_defaults() -> dict[str, Any]:
    text = resources.files("lnopt").joinpath("defaults.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)  # noqa: S101 - the shipped file is a mapping
    return loaded


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "does not exist"
        raise ConfigError(f"cannot read configuration file {shown(str(path))}: it {what}")
    try:
        if path.stat().st_size > CONFIG_MAX_BYTES:
            raise ConfigError(
                f"configuration file {path} is larger than {CONFIG_MAX_BYTES} bytes; "
                "it holds a few dozen settings"
            )
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read configuration file {path}: it is not UTF-8 text ({exc.reason})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(
            f"configuration file {path} is nested too deeply to read; "
            "its settings lie two levels deep (section, then key)"
        ) from None
    except ValueError as exc:  # e.g. a number of more digits than Python converts, a bad date
        raise ConfigError(
            f"configuration file {path} holds a value lnopt cannot read "
            f"({clipped(str(exc).split(':')[0], 120)})"
        ) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of sections")
    return loaded


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping) and key != "weights":
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _parse_weights(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ConfigError("weights: expected a mapping of heuristic name to weight")
    weights: dict[str, float] = {}
    for name, weight in value.items():
        if name not in HEURISTIC_NAMES:
            raise ConfigError(
                f"weights.{name}: unknown heuristic; accepted: {_accepted(HEURISTIC_NAMES)}"
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ConfigError(f"weights.{name}: expected a number in [0, 1], got {weight!r}")
        if not 0 <= weight <= 1:
            raise ConfigError(f"weights.{name}: {weight} is outside [0, 1]")
        weights[name] = float(weight)
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(
            f"weights: they sum to {total:.4f}; they must sum to 1 "
            "(a file that sets weights sets all of them)"
        )
    return weights


def _parse_section(section: str, section_type: type, value: Any) -> Any:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{section}: expected a mapping of settings")
    fields = {f.name: f for f in dataclasses.fields(section_type)}
    hints = typing.get_type_hints(section_type)
    parsed: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in fields:
            raise ConfigError(
                f"unknown configuration key {section}.{key}; accepted: {_accepted(fields)}"
            )
        parsed[key] = _parse_value(f"{section}.{key}", hints[key], raw)
    return section_type(**parsed)


def _parse_value(key: str, hint: Any, raw: Any) -> Any:
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        if raw is None:
            return None
        (hint,) = (arg for arg in args if arg is not type(None))
    try:
        if typing.get_origin(hint) is tuple:
            if not isinstance(raw, list | tuple):
                raise ConfigError(f"{key}: expected a list, got {shown(raw)}")
            return tuple(_LIST_ITEMS[key](key, item) for item in raw)
        if hint is int:
            return read_int(key, raw, maximum=largest_whole_number(key), text=False)
    except InvalidRequest as exc:
        raise ConfigError(str(exc)) from None
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{key}: expected a number, got {shown(raw)}")
        raw = float(raw)
        if not math.isfinite(raw):
            raise ConfigError(f"{key}: expected a finite number, got {raw}")
    if raw < 0:
        raise ConfigError(f"{key}: {raw} is negative; it must be >= 0")
    if key.endswith(_UNIT_INTERVAL_SUFFIXES) and raw > 1:
        raise ConfigError(f"{key}: {raw} is outside [0, 1], where it must lie")
    return raw


def _check_order(config: Config) -> None:
    for section, key, bound in _ABOVE:
        value = getattr(getattr(config, section), key)
        if value <= bound:
            raise ConfigError(f"{section}.{key}: {value:g} must be above {bound}")
    for section, low, high in _ORDERED_PAIRS:
        values = getattr(config, section)
        if getattr(values, low) > getattr(values, high):
            raise ConfigError(
                f"{section}.{low} ({getattr(values, low)}) is above {section}.{high} "
                f"({getattr(values, high)}); the minimum must not exceed the maximum"
            )
