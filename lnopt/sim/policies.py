"""Every fee policy the simulator compares, by name.

Importing this module imports each policy module (the baselines and lnopt's own), so that each
registers itself with :func:`~lnopt.sim.policy.register_policy`; the policy modules import
:mod:`lnopt.sim.policy` only, never this registry.

A name is a registered policy (``charge-lnd``, ``feeadjuster-tuned``) or a registered policy
with other settings, ``NAME:key=value,key=value`` (see :mod:`lnopt.sim.baselines.settings`).
"""

from __future__ import annotations

from collections.abc import Iterable

from lnopt.errors import ConfigError
from lnopt.sim import baselines, lnopt_policy
from lnopt.sim.baselines.settings import (
    ConfiguredPolicy,
    configured,
    convert_settings,
    parse_spec,
    variant,
)
from lnopt.sim.policy import POLICIES, Policy, PolicyContext, PolicyFactory

__all__ = [
    "baselines",
    "check_policies",
    "lnopt_policy",
    "load_policies",
    "make_policy",
    "resolve_policy",
    "settings_of",
]


def load_policies() -> dict[str, PolicyFactory]:
    """The registry: every policy, by name."""
    return POLICIES


def resolve_policy(name: str) -> PolicyFactory:
    """The factory of a name; a :class:`~lnopt.errors.ConfigError` says what is wrong with it."""
    found = POLICIES.get(name)
    if found is not None:
        return found
    base, texts = parse_spec(name)
    factory = POLICIES.get(base)
    if factory is None:
        raise ConfigError(f"unknown policy {base!r}; accepted: {', '.join(sorted(POLICIES))}")
    cls = configured(base)
    if cls is None:
        with_settings = sorted(n for n in POLICIES if configured(n) is not None)
        raise ConfigError(
            f"policy {name!r}: {base!r} has no settings; policies with settings: "
            f"{', '.join(with_settings)}"
        )
    return variant(cls, name, convert_settings(cls, texts, spec=name))


def settings_of(name: str) -> object | None:
    """The settings a policy name runs with; None for a policy without settings."""
    factory = resolve_policy(name)
    if isinstance(factory, type) and issubclass(factory, ConfiguredPolicy):
        settings: object = factory.settings
        return settings
    return None


def check_policies(names: Iterable[str]) -> None:
    """Refuse, with a :class:`~lnopt.errors.ConfigError`, a name no policy answers to."""
    for name in names:
        resolve_policy(name)


def make_policy(name: str, context: PolicyContext) -> Policy:
    return resolve_policy(name)(context)
