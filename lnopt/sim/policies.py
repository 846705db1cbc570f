"""Every fee policy the simulator compares, by name.

Importing this module imports each policy module (the baselines and lnopt's own), so that each
registers itself with :func:`~lnopt.sim.policy.register_policy`; the policy modules import
:mod:`lnopt.sim.policy` only, never this registry.
"""

from __future__ import annotations

from collections.abc import Iterable

from lnopt.errors import ConfigError
from lnopt.sim import baselines, lnopt_policy
from lnopt.sim.policy import POLICIES, Policy, PolicyContext, PolicyFactory

__all__ = ["baselines", "check_policies", "lnopt_policy", "load_policies", "make_policy"]


def load_policies() -> dict[str, PolicyFactory]:
    """The registry: every policy, by name."""
    return POLICIES


def check_policies(names: Iterable[str]) -> None:
    """Refuse, with a :class:`~lnopt.errors.ConfigError`, a name no policy is registered under."""
    for name in names:
        if name not in POLICIES:
            raise ConfigError(f"unknown policy {name!r}; accepted: {', '.join(sorted(POLICIES))}")


def make_policy(name: str, context: PolicyContext) -> Policy:
    check_policies([name])
    return POLICIES[name](context)
