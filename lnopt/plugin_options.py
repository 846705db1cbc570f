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

import dataclasses
import functools
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from pyln.client import Plugin
from pyln.client.plugin import RpcException

from lnopt.config import Config, load_config
from lnopt.errors import ConfigError, InvalidRequest, LnoptError
from lnopt.model import Mode
from lnopt.operations import METRICS_ADDRESS, OperationsSettings
from lnopt.params import (
    largest_whole_number,
    read_int,
    read_node_id,
    read_path,
    read_short_channel_id,
    refusal,
    shown,
)
from lnopt.service import Settings, parse_mode

DB_FILE = "lnopt.sqlite3"


INTERVAL_MAX_S = 31_536_000  # a year
PREFIX = "lnopt-"  # the plugin's option names: lnopt-<name>


@dataclass(frozen=True)
class GuardOption:
    """A guard limit the operator can set as a plugin option (over the YAML file)."""

    name: str  # the option without its prefix: ``lnopt-<name>`` for the plugin
    key: str  # the GuardLimits field
    description: str

    @property
    def maximum(self) -> int:
        """Fee amounts are 32-bit fields of BOLT 7's channel_update."""
        return largest_whole_number(self.key)

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


@dataclass(frozen=True)
class ListOption:
    """A guard list the operator can give as a repeated plugin option (replacing the YAML's)."""

    name: str  # the option without its prefix: ``lnopt-<name>`` for the plugin
    key: str  # the GuardLimits field
    description: str
    read: Callable[[str, Any], str]  # (option, value) -> the checked item

    @property
    def option(self) -> str:
        return PREFIX + self.name


LIST_OPTIONS = (
    ListOption(
        "exclude-channel",
        "exclude_channels",
        "a short channel id lnopt never changes",
        read_short_channel_id,
    ),
    ListOption(
        "exclude-peer",
        "exclude_peers",
        "a peer node id whose channels lnopt never changes",
        read_node_id,
    ),
)


def read_settings(
    options: Mapping[str, Any], base_dir: str | Path, *, prefix: str = PREFIX
) -> Settings:
    """Settings from init's options (each named ``prefix`` + its name: ``lnopt-mode``; the
    standalone runner reads its own settings with no prefix); a relative ``db`` is taken in
    ``base_dir``. An :class:`LnoptError` names a bad value by its option name."""
    mode = parse_mode(options.get(f"{prefix}mode", Mode.SHADOW.value), what=f"{prefix}mode")
    interval_s = read_interval(options.get(f"{prefix}interval", 3600), name=f"{prefix}interval")
    guard: dict[str, Any] = {
        spec.key: read_int(prefix + spec.name, options[prefix + spec.name], maximum=spec.maximum)
        for spec in GUARD_OPTIONS
        if options.get(prefix + spec.name) is not None
    }
    for listed in LIST_OPTIONS:
        name = prefix + listed.name
        if values := options.get(name):
            guard[listed.key] = [listed.read(name, value) for value in values]
    config_path = read_path(f"{prefix}config", options.get(f"{prefix}config"))
    config = load_config(config_path, {"guard": guard} if guard else None)
    db = read_path(f"{prefix}db", options.get(f"{prefix}db")) or Path(DB_FILE)
    return Settings(mode, interval_s, config, db if db.is_absolute() else Path(base_dir) / db)


def read_interval(value: Any, *, name: str = PREFIX + "interval") -> int:
    """``lnopt-interval``: seconds between scheduled runs, 0 (off) to a year."""
    return read_int(name, value, maximum=INTERVAL_MAX_S)


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


# --- alerts and metrics ------------------------------------------------------------------------


PORT_MAX = 65_535
URL_MAX_CHARS = 2048
ALERTS_PER_HOUR_MAX = 10_000


def _webhook_url(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    accepted = "an http:// or https:// URL with a host"
    if isinstance(value, str) and len(value) <= URL_MAX_CHARS:
        parts = urlsplit(value.strip())
        if parts.scheme in ("http", "https") and parts.hostname:
            return value.strip()
    # The URL may carry a token: name its size, never its text.
    size = len(value) if isinstance(value, str) else None
    raise InvalidRequest(
        f"{name} must be {accepted}; got "
        + (f"text of {size} characters" if size is not None else shown(value))
    )


def _metrics_address(name: str, value: Any) -> str:
    text = METRICS_ADDRESS if value is None else value
    if isinstance(text, str):
        try:
            return str(ipaddress.ip_address(text.strip()))
        except ValueError:
            pass
    raise refusal(name, f"an IP address (e.g. {METRICS_ADDRESS} or ::1)", value)


def _alert_cap(name: str, value: Any) -> int:
    return read_int(name, value, maximum=ALERTS_PER_HOUR_MAX)


def read_operations(options: Mapping[str, Any], *, prefix: str = PREFIX) -> OperationsSettings:
    """Alert and metrics settings from init's options (or the runner's, with no prefix); an
    :class:`LnoptError` names a bad one."""
    cap = options.get(f"{prefix}alert-max-per-hour")
    return OperationsSettings(
        webhook_url=_webhook_url(f"{prefix}alert-webhook", options.get(f"{prefix}alert-webhook")),
        max_alerts_per_hour=None if cap is None else _alert_cap(f"{prefix}alert-max-per-hour", cap),
        metrics_port=read_int(
            f"{prefix}metrics-port", options.get(f"{prefix}metrics-port", 0), maximum=PORT_MAX
        ),
        metrics_address=_metrics_address(
            f"{prefix}metrics-address", options.get(f"{prefix}metrics-address")
        ),
    )


def with_operations(settings: Settings, operations: OperationsSettings) -> Settings:
    """``settings`` with the hourly alert cap an option gave (over the YAML file's)."""
    if operations.max_alerts_per_hour is None:
        return settings
    config = settings.config.with_alerts(max_per_hour=operations.max_alerts_per_hour)
    return dataclasses.replace(settings, config=config)


def with_alert_cap(config: Config, value: Any) -> Config:
    """``config`` with at most ``value`` alerts an hour (checked like at init)."""
    return config.with_alerts(max_per_hour=_alert_cap(PREFIX + "alert-max-per-hour", value))


class AlertOptions(Protocol):
    def set_alert_cap(self, value: Any) -> None: ...


def add_operations_options(plugin: Plugin, target: AlertOptions) -> None:
    """Declare the alert and metrics options; the hourly cap changes ``target`` on setconfig."""
    plugin.add_option(
        "lnopt-alert-webhook",
        None,
        "URL that receives each alert as a JSON POST (default: none)",
        opt_type="string",
    )
    plugin.add_option(
        "lnopt-alert-max-per-hour",
        None,
        "most alerts delivered in any hour; overrides alerts.max_per_hour of the YAML file",
        opt_type="int",
        dynamic=True,
        on_change=_on_change(target.set_alert_cap),
    )
    plugin.add_option(
        "lnopt-metrics-port",
        0,
        "port of the Prometheus metrics endpoint (0: no metrics)",
        opt_type="int",
    )
    plugin.add_option(
        "lnopt-metrics-address",
        METRICS_ADDRESS,
        "address the metrics endpoint listens on",
        opt_type="string",
    )
