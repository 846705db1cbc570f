"""The Core Lightning plugin's options: declared with their real types, read once at ``init``
into :class:`Settings`, and the dynamic ones applied when ``setconfig`` changes them.

``lnopt-mode``, ``lnopt-interval`` and the guard limits (:data:`GUARD_OPTIONS`, each overriding
one ``guard`` key of the YAML file) are dynamic; ``lnopt-config``, ``lnopt-db`` and the
repeatable exclusions (:data:`LIST_OPTIONS`, replacing the YAML's lists) are read at start-up.
A bad value is an :class:`~lnopt.errors.LnoptError` naming the option: at ``init`` it disables
the plugin with that message, on ``setconfig`` it refuses the new value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pyln.client import Plugin
from pyln.client.plugin import RpcException

from lnopt import rpc
from lnopt.config import Config, load_config
from lnopt.errors import InvalidRequest, LnoptError
from lnopt.model import Mode
from lnopt.service import Settings, parse_mode, require_short_channel_id

DB_FILE = "lnopt.sqlite3"


PREFIX = "lnopt-"  # the plugin's option names: lnopt-<name>


@dataclass(frozen=True)
class GuardOption:
    """A guard limit the operator can set as a plugin option (over the YAML file)."""

    name: str  # the option without its prefix: ``lnopt-<name>`` for the plugin
    key: str  # the GuardLimits field
    description: str

    @property
    def option(self) -> str:
        return PREFIX + self.name


GUARD_OPTIONS = (
    GuardOption("min-fee-ppm", "min_fee_ppm", "lowest fee rate lnopt may set (ppm)"),
    GuardOption("max-fee-ppm", "max_fee_ppm", "highest fee rate lnopt may set (ppm)"),
    GuardOption("min-base-fee-msat", "min_base_fee_msat", "lowest base fee lnopt may set (msat)"),
    GuardOption("max-base-fee-msat", "max_base_fee_msat", "highest base fee lnopt may set (msat)"),
    GuardOption("max-step-ppm", "max_step_ppm", "largest fee rate change in one step (ppm)"),
    GuardOption("max-step-pct", "max_step_pct", "largest fee rate change in one step (percent)"),
    GuardOption("max-changes-per-day", "max_changes_per_day", "most fee changes per channel a day"),
    GuardOption("cooldown", "cooldown_s", "least seconds between two changes of a channel"),
)


def _node_id(option: str, text: str) -> str:
    if len(text) != 66 or not all(c in "0123456789abcdef" for c in text.lower()):
        raise InvalidRequest(f"{option}: {text!r} is not a node id (66 hex characters)")
    return text.lower()


def _channel_id(option: str, text: str) -> str:
    return require_short_channel_id(text, what=option)


@dataclass(frozen=True)
class ListOption:
    """A guard list the operator can give as a repeated plugin option (replacing the YAML's)."""

    name: str  # the option without its prefix: ``lnopt-<name>`` for the plugin
    key: str  # the GuardLimits field
    description: str
    read: Callable[[str, str], str]  # (option, text) -> the checked item

    @property
    def option(self) -> str:
        return PREFIX + self.name


LIST_OPTIONS = (
    ListOption(
        "exclude-channel",
        "exclude_channels",
        "a short channel id lnopt never changes",
        _channel_id,
    ),
    ListOption(
        "exclude-peer",
        "exclude_peers",
        "a peer node id whose channels lnopt never changes",
        _node_id,
    ),
)


def read_settings(
    options: Mapping[str, Any], base_dir: str | Path, *, prefix: str = PREFIX
) -> Settings:
    """Settings from init's options (each named ``prefix`` + its name: ``lnopt-mode``; the
    standalone runner reads its own settings with no prefix); a relative ``db`` is taken in
    ``base_dir``. An :class:`LnoptError` names a bad value by its option name."""
    mode = parse_mode(str(options.get(f"{prefix}mode", Mode.SHADOW.value)))
    interval_s = rpc.read_int(f"{prefix}interval", options.get(f"{prefix}interval", 3600))
    guard: dict[str, Any] = {
        spec.key: rpc.read_int(prefix + spec.name, options[prefix + spec.name])
        for spec in GUARD_OPTIONS
        if options.get(prefix + spec.name) is not None
    }
    for listed in LIST_OPTIONS:
        name = prefix + listed.name
        if values := options.get(name):
            guard[listed.key] = [listed.read(name, str(value).strip()) for value in values]
    config_path = options.get(f"{prefix}config") or None
    config = load_config(config_path, {"guard": guard} if guard else None)
    db = Path(str(options.get(f"{prefix}db") or DB_FILE))
    return Settings(mode, interval_s, config, db if db.is_absolute() else Path(base_dir) / db)


def with_guard_option(config: Config, spec: GuardOption, value: Any) -> Config:
    """``config`` with the guard limit ``spec`` set to ``value`` (checked like at init)."""
    return config.with_guard(**{spec.key: rpc.read_int(spec.option, value)})


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
        "seconds between scheduled runs (0: no scheduled runs)",
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
    """An option's on_change: an lnopt error refuses the new value with its message."""

    def on_change(plugin: Plugin, name: str, value: Any) -> None:
        try:
            action(value)
        except LnoptError as exc:
            raise RpcException(f"{name}: {exc}", exc.rpc_code) from None

    return on_change
