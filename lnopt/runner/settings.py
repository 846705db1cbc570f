"""The standalone runner's settings: a YAML file (``--settings FILE``) and the command line.

Every setting has one name, used as ``--NAME`` on the command line and as ``NAME:`` in the
file; the command line wins over the file (a list given on the command line replaces the
file's). The service's settings (mode, interval, db, config, the guard limits and exclusions)
are read and checked by the plugin's own reader, :func:`lnopt.plugin_options.read_settings`, so
a bad value gets the same message as the plugin's option of that name (without its ``lnopt-``
prefix). Relative paths in the file are taken from the file's folder; on the command line,
from the working directory. The defaults for the store and the vault live in the state
directory: ``$STATE_DIRECTORY`` (set by systemd's ``StateDirectory=``) or ``~/.lnopt``.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from lnopt.backends.factory import (
    BackendKind,
    ClnSettings,
    LnbitsSettings,
    LndSettings,
    NodeSettings,
    VaultSettings,
)
from lnopt.errors import ConfigError
from lnopt.operations import OperationsSettings
from lnopt.plugin_options import (
    DB_FILE,
    GUARD_OPTIONS,
    LIST_OPTIONS,
    read_operations,
    read_settings,
    with_operations,
)
from lnopt.security import default_vault_path
from lnopt.service import Settings

HOME_STATE_DIR = "~/.lnopt"


class ValueKind(enum.Enum):
    TEXT = "text"
    PATH = "path"
    LIST = "list"  # repeatable on the command line, a list in the file


@dataclass(frozen=True)
class SettingSpec:
    """One setting of the runner: its name, what it means and which backend it belongs to."""

    name: str
    help: str
    kind: ValueKind = ValueKind.TEXT
    backend: BackendKind | None = None  # None: every backend

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


SETTINGS = (
    SettingSpec("backend", "the node lnopt drives: cln, lnbits or lnd"),
    SettingSpec(
        "mode",
        "shadow (decide and log, never change fees; the default), advise (queue proposals "
        "for lnopt approve) or auto (apply within the guard's limits on the schedule)",
    ),
    SettingSpec("interval", "seconds between scheduled runs (default 3600; 0: no runs)"),
    SettingSpec(
        "db", f"lnopt's SQLite file (default: {DB_FILE} in the state directory)", ValueKind.PATH
    ),
    SettingSpec("config", "YAML file overriding lnopt's defaults", ValueKind.PATH),
    *(
        SettingSpec(spec.name, f"{spec.description}; overrides guard.{spec.key} of the config")
        for spec in GUARD_OPTIONS
    ),
    *(
        SettingSpec(
            listed.name,
            f"{listed.description} (repeat for more); replaces guard.{listed.key}",
            ValueKind.LIST,
        )
        for listed in LIST_OPTIONS
    ),
    SettingSpec("alert-webhook", "URL that receives each alert as a JSON POST (default: none)"),
    SettingSpec(
        "alert-max-per-hour", "most alerts delivered in any hour; overrides alerts.max_per_hour"
    ),
    SettingSpec("metrics-port", "port of the Prometheus metrics endpoint (default 0: none)"),
    SettingSpec("metrics-address", "address the metrics endpoint listens on (default 127.0.0.1)"),
    SettingSpec("rpc-file", "lightningd's lightning-rpc socket", ValueKind.PATH, BackendKind.CLN),
    SettingSpec(
        "lnbits-url", "LNbits' address, e.g. https://lnbits.example", backend=BackendKind.LNBITS
    ),
    SettingSpec(
        "lnbits-token-credential",
        "the vault record holding LNbits' node-scoped access token",
        backend=BackendKind.LNBITS,
    ),
    SettingSpec(
        "lnbits-graph",
        "a listchannels JSON file for the network graph",
        ValueKind.PATH,
        BackendKind.LNBITS,
    ),
    SettingSpec(
        "lnd-url", "LND's REST address, e.g. https://127.0.0.1:8080", backend=BackendKind.LND
    ),
    SettingSpec(
        "lnd-macaroon-credential",
        "the vault record holding lnopt's LND macaroon",
        backend=BackendKind.LND,
    ),
    SettingSpec(
        "lnd-tls-cert-credential",
        "the vault record holding LND's tls.cert",
        backend=BackendKind.LND,
    ),
    SettingSpec(
        "vault",
        "lnopt's encrypted credentials (default: credentials.vault in the state directory)",
        ValueKind.PATH,
    ),
    SettingSpec(
        "passphrase-file",
        "the file holding the vault's passphrase (else $CREDENTIALS_DIRECTORY/lnopt-passphrase, "
        "$LNOPT_PASSPHRASE_FILE, or a prompt on a terminal)",
        ValueKind.PATH,
    ),
)
SETTING_NAMES = tuple(spec.name for spec in SETTINGS)
_BY_NAME = {spec.name: spec for spec in SETTINGS}
_REQUIRED = {
    BackendKind.CLN: ("rpc-file",),
    BackendKind.LNBITS: ("lnbits-url", "lnbits-token-credential"),
    BackendKind.LND: ("lnd-url", "lnd-macaroon-credential", "lnd-tls-cert-credential"),
}
_HTTPS_ONLY = {"lnd-url"}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class RunnerSettings:
    """Everything the runner and the one-shot commands are told."""

    backend: BackendKind
    service: Settings
    operations: OperationsSettings
    node: NodeSettings
    vault: VaultSettings
    state_dir: Path


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$STATE_DIRECTORY`` (its first entry) or ``~/.lnopt``."""
    given = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(given) if given else Path(HOME_STATE_DIR).expanduser()


def read_settings_file(path: Path) -> dict[str, Any]:
    """The settings in the YAML file at ``path``, by name, paths resolved from its folder."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"settings file {path} is not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file {path} is not valid YAML: {_yaml_problem(exc)}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"settings file {path} must hold a mapping of setting names to values")
    settings: dict[str, Any] = {}
    for name, value in loaded.items():
        spec = _BY_NAME.get(str(name))
        if spec is None:
            raise ConfigError(
                f"settings file {path}: unknown key {name!r}; accepted: {', '.join(SETTING_NAMES)}"
            )
        if value is not None:  # an empty key is as good as absent: its default applies
            settings[spec.name] = _file_value(spec, value, path.parent)
    return settings


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What YAML refused, on one line, with where."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def _file_value(spec: SettingSpec, value: Any, folder: Path) -> Any:
    if spec.kind is ValueKind.LIST:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise ConfigError(f"{spec.name}: expected a list of text items, got {value!r}")
        return items
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{spec.name}: expected a single value, got {value!r}")
    if spec.kind is ValueKind.PATH:
        return str(folder / Path(str(value)).expanduser())
    return value


def resolve_settings(
    given: Mapping[str, Any],
    *,
    file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> RunnerSettings:
    """The runner's settings: the file's (if any) overridden by ``given`` (the command line's,
    by setting name). A :class:`~lnopt.errors.LnoptError` names the bad or missing setting."""
    values = read_settings_file(file) if file is not None else {}
    values |= given
    backend = _backend(values.get("backend"))
    for name in values:
        owner = _BY_NAME[name].backend
        if owner is not None and owner is not backend:
            raise ConfigError(
                f"{name}: a setting of the {owner.value} backend, but the backend is "
                f"{backend.value}; leave it out or set backend: {owner.value}"
            )
    for name in _REQUIRED[backend]:
        if not values.get(name):
            raise ConfigError(
                f"{name}: required by the {backend.value} backend ({_BY_NAME[name].help}); "
                f"give --{name} or {name}: in the settings file"
            )
    home = state_dir(environ)
    values.setdefault("db", str(home / DB_FILE))
    service = read_settings(_service_values(values), Path.cwd(), prefix="")
    operations = read_operations(values, prefix="")
    vault = VaultSettings(
        path=_path(values.get("vault")) or default_vault_path(environ),
        passphrase_file=_path(values.get("passphrase-file")),
    )
    return RunnerSettings(
        backend,
        with_operations(service, operations),
        operations,
        _node(backend, values),
        vault,
        home,
    )


def _backend(value: Any) -> BackendKind:
    accepted = ", ".join(kind.value for kind in BackendKind)
    if value is None:
        raise ConfigError(
            f"backend: not given; accepted: {accepted} (--backend or backend: in the settings file)"
        )
    try:
        return BackendKind(str(value).strip().lower())
    except ValueError:
        raise ConfigError(f"backend: unknown backend {value!r}; accepted: {accepted}") from None


def _service_values(values: Mapping[str, Any]) -> dict[str, Any]:
    service_names = {"mode", "interval", "db", "config"}
    service_names |= {spec.name for spec in GUARD_OPTIONS}
    service_names |= {listed.name for listed in LIST_OPTIONS}
    found = {name: value for name, value in values.items() if name in service_names}
    for name in ("db", "config"):
        if name in found:
            found[name] = str(_path(found[name]))
    return found


def _node(backend: BackendKind, values: Mapping[str, Any]) -> NodeSettings:
    for name in _HTTPS_ONLY & values.keys():
        _require_url(name, str(values[name]), schemes=("https://",))
    if backend is BackendKind.CLN:
        return ClnSettings(rpc_file=Path(str(values["rpc-file"])).expanduser())
    if backend is BackendKind.LNBITS:
        url = _require_url("lnbits-url", str(values["lnbits-url"]), schemes=("https://", "http://"))
        if url.lower().startswith("http://") and urlsplit(url).hostname not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"lnbits-url: {url!r} would send the access token in clear; give https://HOST "
                f"(http:// only to {', '.join(sorted(LOOPBACK_HOSTS))})"
            )
        return LnbitsSettings(
            url=url,
            token_credential=str(values["lnbits-token-credential"]),
            graph_file=_path(values.get("lnbits-graph")),
        )
    return LndSettings(
        url=str(values["lnd-url"]),
        macaroon_credential=str(values["lnd-macaroon-credential"]),
        tls_cert_credential=str(values["lnd-tls-cert-credential"]),
    )


def _require_url(name: str, url: str, *, schemes: tuple[str, ...]) -> str:
    host = url.split("://", 1)[-1]
    if not url.lower().startswith(schemes) or not host.strip("/"):
        raise ConfigError(
            f"{name}: {url!r} is not a URL lnopt accepts; give {' or '.join(schemes)}HOST[:PORT]"
        )
    return url.rstrip("/")


def _path(value: Any) -> Path | None:
    return None if value is None else Path(str(value)).expanduser()
