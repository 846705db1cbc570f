"""What a fee policy of the simulator is, and the registry each policy joins by name.

A policy drives our node only through the :class:`~lnopt.backends.sim.SimBackend`, the same
interface a real node offers: it reads channels, forwards (and, for LND tools, local HTLC
failures) and changes fees with ``set_policy``. The simulation calls :meth:`Policy.start`
once, :meth:`Policy.tick` every ``interval_s`` simulated seconds, and :meth:`Policy.on_forward`
after every settled forward (what a ``forward_event`` subscription sees).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from lnopt.backends.sim import SimBackend
from lnopt.config import Config
from lnopt.model import ChannelPolicy, Forward


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may know when it is set up."""

    median_policy: ChannelPolicy  # the network's median, a node's default fee
    seed: int
    workdir: Path  # for policies that keep files (lnopt's SQLite store)
    config: Config | None = None  # lnopt's configuration; None for the shipped defaults


class Policy(abc.ABC):
    """A fee policy (see the module docstring)."""

    name: ClassVar[str]
    interval_s: float | None = None

    def __init__(self, context: PolicyContext) -> None:
        self.context = context

    def start(self, backend: SimBackend, now_s: float) -> None:  # noqa: B027 - optional hook
        """Called once before the first payment."""

    def tick(self, backend: SimBackend, now_s: float) -> None:  # noqa: B027 - optional hook
        """Called every ``interval_s`` seconds."""

    def on_forward(self, backend: SimBackend, forward: Forward) -> None:  # noqa: B027
        """Called after every settled forward through our node."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the policy holds (files, connections)."""

    def explanations(self) -> list[str]:
        """Why the policy did what it did, in words, where it can say so."""
        return []


PolicyFactory = Callable[[PolicyContext], Policy]  # a Policy subclass
POLICIES: dict[str, PolicyFactory] = {}


def register_policy(name: str) -> Callable[[type[Policy]], type[Policy]]:
    """Register a policy class under ``name``; a duplicate name is a programming error."""

    def decorator(cls: type[Policy]) -> type[Policy]:
        if name in POLICIES:
            raise ValueError(f"policy {name!r} is registered twice")
        cls.name = name
        POLICIES[name] = cls
        return cls

    return decorator
