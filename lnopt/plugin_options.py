"""The Core Lightning plugin's options: declared with their real types, read once at ``init``
into :class:`Settings`, and the dynamic ones applied when ``setconfig`` changes them.

``lnopt-mode``, ``lnopt-interval`` and the guard limits (:data:`GUARD_OPTIONS`, each overriding
one ``guard`` key of the YAML file) are dynamic; ``lnopt-config``, ``lnopt-db`` and the
repeatable exclusions (:data:`LIST_OPTIONS`, replacing the YAML's lists) are read at start-up.
A bad value is an :class:`~lnopt.errors.LnoptError` naming the option and what it accepts (read
by :mod:`lnopt.params`; fee limits at most 2**32 - 1, the interval at most a year): at ``init``
it disables the plugin with that message, on ``setconfig`` it refuses the new value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pyln.client import Plugin
from pyln.client.plugin import RpcException

from lnopt.config import Config, load_config
from lnopt.errors import ConfigError, InvalidRequest, LnoptError
from lnopt.model import Mode
from lnopt.params import (
    largest_whole_number,
    read_int,
    read_node_id,
    read_path,
    read_short_channel_id,
)
from lnopt.service import parse_mode

DB_FILE = "lnopt.sqlite3"


INTERVAL_MAX_S = 31_536_000  # a year


@dataclass(frozen=True)
class GuardOption:
    """A guard limit the operator can set as a plugin option (over the YAML file)."""

    option: str
    key: str  # the GuardLimits field
    description: str

    @property
    def maximum(self) -> int:
        """Fee amounts are 32-bit fields of BOLT 7's channel_update."""
        return largest_whole_number(self.key)


GUARD_OPTIONS = (
    GuardOption("lnopt-min-fee-ppm", "min_fee_ppm", "lowest fee rate lnopt may set (ppm)"),
    GuardOption("lnopt-max-fee-ppm", "max_fee_ppm", "highest fee rate lnopt may set (ppm)"),
    GuardOption(
        "lnopt-min-base-fee-msat", "min_base_fee_msat", "lowest base fee lnopt may set (msat)"
    ),
    GuardOption(
        "lnopt-max-base-fee-msat", "max_base_fee_msat", "highest base fee lnopt may set (msat)"
    ),
    GuardOption("lnopt-max-step-ppm", "max_step_ppm", "largest fee rate change in one step (ppm)"),
    GuardOption(
        "lnopt-max-step-pct", "max_step_pct", "largest fee rate change in one step (percent)"
    ),
    GuardOption(
        "lnopt-max-changes-per-day", "max_changes_per_day", "most fee changes per channel a day"
    ),
    GuardOption("lnopt-cooldown", "cooldown_s", "least seconds between two changes of a channel"),
)


@dataclass(frozen=True)
class ListOption:
    """A guard list the operator can give as a repeated plugin option (replacing the YAML's)."""

    option: str
    key: str  # the GuardLimits field
    description: str
    read: Callable[[str, Any], str]  # (option, value) -> the checked item


LIST_OPTIONS = (
    ListOption(
        "lnopt-exclude-channel",
        "exclude_channels",
        "a short channel id lnopt never changes",
        read_short_channel_id,
    ),
    ListOption(
        "lnopt-exclude-peer",
        "exclude_peers",
        "a peer node id whose channels lnopt never changes",
        read_node_id,
    ),
)


@dataclass(frozen=True)
class Settings:
    """The plugin's options, read once at init."""

    mode: Mode
    interval_s: int
    config: Config
    db_path: Path


def read_settings(options: Mapping[str, Any], lightning_dir: str) -> Settings:
    """Settings from init's options; an :class:`LnoptError` names a bad value."""
    mode = parse_mode(options.get("lnopt-mode", Mode.SHADOW.value), what="lnopt-mode")
    interval_s = read_interval(options.get("lnopt-interval", 3600))
    guard: dict[str, Any] = {
        spec.key: read_guard_option(spec, options[spec.option])
        for spec in GUARD_OPTIONS
        if options.get(spec.option) is not None
    }
    for spec in LIST_OPTIONS:
        values = options.get(spec.option)
        if values:
            guard[spec.key] = [spec.read(spec.option, value) for value in values]
    config_path = read_path("lnopt-config", options.get("lnopt-config"))
    config = load_config(config_path, {"guard": guard} if guard else None)
    db = read_path("lnopt-db", options.get("lnopt-db")) or Path(DB_FILE)
    return Settings(mode, interval_s, config, db if db.is_absolute() else lightning_dir / db)


def read_interval(value: Any) -> int:
    """``lnopt-interval``: seconds between scheduled runs, 0 (off) to a year."""
    return read_int("lnopt-interval", value, maximum=INTERVAL_MAX_S)


def read_guard_option(spec: GuardOption, value: Any) -> int:
    return read_int(spec.option, value, maximum=spec.maximum)


def with_guard_option(config: Config, spec: GuardOption, value: Any) -> Config:
    """``config`` with the guard limit ``spec`` set to ``value`` (checked like at init)."""
    limit = read_guard_option(spec, value)
    try:
        return config.with_guard(**{spec.key: limit})
    except ConfigError as exc:
        raise InvalidRequest(f"{spec.option} {limit} is refused: {exc}") from None


class DynamicOptions(Protocol):
    """What a change of a dynamic option changes in the running plugin."""

    def set_mode(self, value: Any) -> None: ...

    def set_interval(self, value: Any) -> None: ...

    def set_guard(self, spec: GuardOption, value: Any) -> None: ...


def add_options(plugin: Plugin, target: DynamicOptions) -> None:
    """Declare every option on ``plugin``; the dynamic ones change ``target`` on setconfig."""
    plugin.add_option(
        "lnopt-mode",
        Mode.SHADOW.value,
        "shadow (decide and log, never change fees), advise (queue proposals for "
        "lnopt-approve) or auto (apply within the guard's limits on the schedule)",
        opt_type="string",
        dynamic=True,
        on_change=_on_change(target.set_mode),
    )
    plugin.add_option(
        "lnopt-interval",
        3600,
        f"seconds between scheduled runs (0: no scheduled runs; at most {INTERVAL_MAX_S})",
        opt_type="int",
        dynamic=True,
        on_change=_on_change(target.set_interval),
    )
    plugin.add_option(
        "lnopt-config", None, "YAML file overriding lnopt's defaults", opt_type="string"
    )
    plugin.add_option(
        "lnopt-db",
        None,
        f"lnopt's SQLite file (default: {DB_FILE} in the node's lightning-dir)",
        opt_type="string",
    )
    for spec in GUARD_OPTIONS:
        plugin.add_option(
            spec.option,
            None,
            f"{spec.description}; overrides guard.{spec.key} of the YAML file",
            opt_type="int",
            dynamic=True,
            on_change=_on_change(functools.partial(target.set_guard, spec)),
        )
    for listed in LIST_OPTIONS:
        plugin.add_option(
            listed.option,
            None,
            f"{listed.description} (repeat for more); replaces guard.{listed.key} of the YAML file",
            opt_type="string",
            multi=True,
        )


def _on_change(action: Callable[[Any], None]) -> Callable[[Plugin, str, Any], None]:
    """An option's on_change: an lnopt error refuses the new value with its message (which
    names the option)."""

    def on_change(plugin: Plugin, name: str, value: Any) -> None:
        try:
            action(value)
        except LnoptError as exc:
            raise RpcException(str(exc), exc.rpc_code) from None

    return on_change
