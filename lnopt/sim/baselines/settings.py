"""An operator's choices for a baseline tool, and variants of a tool with other choices.

A baseline whose behaviour rests on settings its operator picks (a fee level, a range, a
target) keeps them in a frozen dataclass, its class attribute ``settings``, with upstream's
defaults. A variant is a subclass with other settings under another name:

- ``NAME:key=value,key=value`` in any list of policies (``sim compare --policies``), for
  example ``charge-lnd:min_fee_ppm=200,max_fee_ppm=600``: see :func:`parse_spec` and
  :func:`variant_of_spec`;
- ``NAME-tuned``: the settings ``sim tune`` found best (:mod:`lnopt.sim.baselines.tuned`).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from lnopt.errors import ConfigError
from lnopt.sim.policy import POLICIES, Policy, register_policy

SettingValue = int | float | bool | enum.Enum


class ConfiguredPolicy(Policy):
    """A policy with operator settings (a frozen dataclass) in :attr:`settings`."""

    settings: ClassVar[Any]


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``NAME:key=value,...`` as the policy name and the settings as written."""
    name, colon, rest = spec.partition(":")
    texts: dict[str, str] = {}
    if colon:
        for item in rest.split(","):
            key, equals, value = (part.strip() for part in item.partition("="))
            if not (key and equals and value):
                raise ConfigError(
                    f"policy {spec!r}: {item!r} is not a setting; write NAME:key=value,key=value"
                )
            if key in texts:
                raise ConfigError(f"policy {spec!r}: setting {key!r} is given twice")
            texts[key] = value
    return name, texts


def spec_name(name: str, settings: Mapping[str, SettingValue | str]) -> str:
    """The spec that :func:`parse_spec` reads back as ``name`` with ``settings``."""
    if not settings:
        return name
    return name + ":" + ",".join(f"{key}={_text(value)}" for key, value in settings.items())


def convert_settings(
    policy: type[ConfiguredPolicy], texts: Mapping[str, str], *, spec: str
) -> dict[str, SettingValue]:
    """Each written setting as the type its field declares; an unknown key or bad value refused."""
    hints = typing.get_type_hints(type(policy.settings))
    accepted = [f.name for f in dataclasses.fields(policy.settings)]
    converted: dict[str, SettingValue] = {}
    for key, text in texts.items():
        if key not in accepted:
            raise ConfigError(
                f"policy {spec!r}: unknown setting {key!r}; accepted: {', '.join(accepted)}"
            )
        converted[key] = _convert(_value_type(hints[key]), text, key=key, spec=spec)
    return converted


def variant(
    base: type[ConfiguredPolicy], name: str, settings: Mapping[str, SettingValue]
) -> type[ConfiguredPolicy]:
    """A subclass of ``base`` named ``name`` whose settings are ``base``'s with ``settings``."""
    attributes = {
        "name": name,
        "settings": dataclasses.replace(base.settings, **settings),
        "__doc__": f"{base.__name__} running as {name!r}",
    }
    return cast(type[ConfiguredPolicy], type(f"{base.__name__}Variant", (base,), attributes))


def configured(name: str) -> type[ConfiguredPolicy] | None:
    """The registered policy ``name`` if it has settings, else None."""
    factory = POLICIES.get(name)
    if isinstance(factory, type) and issubclass(factory, ConfiguredPolicy):
        return factory
    return None


def register_tuned(name: str, texts: Mapping[str, str]) -> type[ConfiguredPolicy]:
    """Register ``NAME-tuned``: the registered policy ``name`` with these settings."""
    base = configured(name)
    if base is None:
        raise ValueError(f"policy {name!r} is not registered or has no settings")
    tuned = f"{name}-tuned"
    settings = convert_settings(base, texts, spec=spec_name(tuned, texts))
    return cast(type[ConfiguredPolicy], register_policy(tuned)(variant(base, tuned, settings)))


def _value_type(hint: Any) -> type:
    if isinstance(hint, types.UnionType):
        kinds = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(kinds) == 1:
            return cast(type, kinds[0])
    if isinstance(hint, type):
        return hint
    raise TypeError(f"a setting's type must be int, float, bool or an Enum, not {hint!r}")


def _convert(kind: type, text: str, *, key: str, spec: str) -> SettingValue:
    if issubclass(kind, enum.Enum):
        try:
            return kind(text)
        except ValueError:
            accepted = ", ".join(str(member.value) for member in kind)
            raise ConfigError(
                f"policy {spec!r}: setting {key!r} is {text!r}; accepted: {accepted}"
            ) from None
    if kind is bool:
        if text in ("true", "false"):
            return text == "true"
        raise ConfigError(f"policy {spec!r}: setting {key!r} is {text!r}; accepted: true, false")
    noun = "an integer" if kind is int else "a number"
    try:
        value = cast(type[int] | type[float], kind)(text.replace("_", ""))
    except ValueError:
        raise ConfigError(f"policy {spec!r}: setting {key!r} is {text!r}, not {noun}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"policy {spec!r}: setting {key!r} is {text!r}; accepted: {noun} from 0 up"
        )
    return value


def _text(value: SettingValue | str) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
