"""A scenario file: every parameter of the simulated world, its traffic and its market, in YAML.

``lnopt sim compare --scenario FILE`` reads a file such as ``contrib/scenario.example.yaml``::

    world:
      peers: 20
    demand:
      median_amount_sat: 25000
    competitors:
      reprice_s: 14400
    liquidity:
      rule: relax
    warmup:
      days: 14
    sim:
      gossip:
        propagation_s: 600

Each top-level key is a section, each section one of the simulator's parameter dataclasses
(:data:`SECTIONS` says where it lives); a key left out keeps its default. The loader walks the
dataclasses generically (nested ones, tuples, integers, floats, booleans, strings): a key that
is not a field is refused by name with the accepted keys, a value of the wrong type is refused
with the field's name and type, and a file that is missing, empty or not YAML is refused too,
each as :class:`~lnopt.errors.InvalidRequest`. The seeds are not in the file: they come from
``--seeds`` and ``--streams``. :func:`key_table` renders every key with its default and its
meaning (the README's table is that output).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lnopt.errors import InvalidRequest
from lnopt.sim.engine import SimParams
from lnopt.sim.warmup import WarmupParams
from lnopt.sim.world import WorldParams


@dataclass(frozen=True)
class Scenario:
    """Everything a comparison's worlds are built and run with, but the seeds."""

    world: WorldParams = field(default_factory=lambda: WorldParams(seed=0, payments=60_000))
    warmup: WarmupParams = field(default_factory=WarmupParams)
    sim: SimParams = field(default_factory=SimParams)


# Each section of the file and where its dataclass sits in a Scenario (attribute by attribute).
SECTIONS: dict[str, tuple[str, ...]] = {
    "world": ("world",),
    "demand": ("world", "demand"),
    "senders": ("world", "senders"),
    "competitors": ("sim", "competitors"),
    "liquidity": ("sim", "liquidity"),
    "warmup": ("warmup",),
    "sim": ("sim",),
}
PER_RUN = {("world", "seed"), ("world", "stream_seed")}  # set by --seeds and --streams


def load_scenario(path: Path) -> Scenario:
    """The scenario in ``path`` (see the module docstring)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequest(f"scenario {path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRequest(f"scenario {path}: not valid YAML ({exc})") from exc
    accepted = ", ".join(SECTIONS)
    if document is None:
        raise InvalidRequest(
            f"scenario {path} is empty: give one or more of the sections {accepted}"
        )
    if not isinstance(document, Mapping):
        raise InvalidRequest(
            f"scenario {path}: expected sections ({accepted}), got {_kind(document)}"
        )
    scenario = Scenario()
    for section, values in document.items():
        if section not in SECTIONS:
            raise InvalidRequest(
                f"scenario {path}: unknown section {section!r}; accepted: {accepted}"
            )
        where = SECTIONS[section]
        current = _at(scenario, where)
        updated = _apply(current, values, f"scenario {path}: {section}", _excluded(where))
        scenario = _replace_at(scenario, where, updated)
    return scenario


def key_table() -> str:
    """Every key of a scenario file with its default and meaning, as a Markdown table."""
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    for key, default, meaning in _keys():
        lines.append(f"| `{key}` | `{default}` | {meaning} |")
    return "\n".join(lines)


# --- walking the dataclasses -----------------------------------------------------------------


def _keys() -> Iterator[tuple[str, str, str]]:
    scenario = Scenario()
    for section, where in SECTIONS.items():
        yield from _leaves(_at(scenario, where), section, _excluded(where))


def _leaves(obj: Any, prefix: str, excluded: set[str]) -> Iterator[tuple[str, str, str]]:
    for f in dataclasses.fields(obj):
        if f.name in excluded:
            continue
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, f"{prefix}.{f.name}", set())
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            names = ", ".join(str(getattr(item, "name", item)) for item in value)
            yield f"{prefix}.{f.name}", f"[{names}]", f.metadata.get("help", "")
            for item in dataclasses.fields(value[0]):
                yield f"{prefix}.{f.name}[].{item.name}", "per class", item.metadata.get("help", "")
        else:
            yield f"{prefix}.{f.name}", _yaml_value(value), f.metadata.get("help", "")


def _excluded(where: tuple[str, ...]) -> set[str]:
    """Fields of the section at ``where`` that another section or the command line sets."""
    claimed = set(SECTIONS.values()) | PER_RUN
    return {path[-1] for path in claimed if len(path) == len(where) + 1 and path[:-1] == where}


def _at(root: Any, where: tuple[str, ...]) -> Any:
    for name in where:
        root = getattr(root, name)
    return root


def _replace_at(root: Any, where: tuple[str, ...], value: Any) -> Any:
    if not where:
        return value
    inner = _replace_at(getattr(root, where[0]), where[1:], value)
    return dataclasses.replace(root, **{where[0]: inner})


def _apply(obj: Any, values: Any, where: str, excluded: set[str]) -> Any:
    """``obj`` with the fields ``values`` sets, each checked against its type."""
    fields = {f.name: f for f in dataclasses.fields(obj) if f.name not in excluded}
    if values is None:
        return obj
    if not isinstance(values, Mapping):
        raise InvalidRequest(f"{where}: expected keys ({', '.join(fields)}), got {_kind(values)}")
    hints = typing.get_type_hints(type(obj))
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise InvalidRequest(f"{where}: unknown key {key!r}; accepted: {', '.join(fields)}")
        changes[key] = _value(getattr(obj, key), hints[key], value, f"{where}.{key}")
    try:
        return dataclasses.replace(obj, **changes)
    except ValueError as exc:
        raise InvalidRequest(f"{where}: {exc}") from exc


def _value(current: Any, kind: Any, value: Any, where: str) -> Any:
    """``value`` checked as the type ``kind`` (``current`` is the default, for dataclasses)."""
    if dataclasses.is_dataclass(current):
        return _apply(current, value, where, set())
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _value(current, inner, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _wrong(where, f"a list of {_name(args[0])}", value)
        return tuple(_value(None, args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _build(kind, value, where)
    if kind is bool:
        if not isinstance(value, bool):
            raise _wrong(where, "true or false", value)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(where, "a whole number", value)
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(where, "a number", value)
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise _wrong(where, "a string", value)
        return value
    raise TypeError(f"{where}: a scenario cannot set a field of type {kind!r}")


def _build(kind: type, values: Any, where: str) -> Any:
    """A new ``kind`` (an item of a list, such as one sender class) from every one of its keys."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    if not isinstance(values, Mapping):
        raise InvalidRequest(f"{where}: expected keys ({', '.join(fields)}), got {_kind(values)}")
    unknown = [key for key in values if key not in fields]
    if unknown:
        raise InvalidRequest(f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(fields)}")
    missing = [name for name in fields if name not in values]
    if missing:
        raise InvalidRequest(f"{where}: missing {', '.join(missing)}; each item needs every key")
    hints = typing.get_type_hints(kind)
    built = {
        key: _value(None, hints[key], value, f"{where}.{key}") for key, value in values.items()
    }
    try:
        return kind(**built)
    except ValueError as exc:
        raise InvalidRequest(f"{where}: {exc}") from exc


def _wrong(where: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(f"{where} must be {expected}, got {_kind(value)} {value!r}")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _yaml_value(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return str(yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n..."))
