"""The backend interface: how lnopt reads a node and changes its fees.

Every backend (Core Lightning, LNbits, LND, the simulator) implements :class:`Backend`. A backend
answers in domain values or raises an :mod:`lnopt.errors` error; its library's own errors never
leak past it. Contract:

- :meth:`Backend.node_info` and :meth:`Backend.channels` read the node as it is now.
- :meth:`Backend.gossip` returns the public graph (which includes our public channels).
- :meth:`Backend.forwards` returns forwarding history, oldest first, from ``since_index`` on
  (an opaque, increasing position only the backend reads: the ``next_index`` of an earlier
  page, e.g. a ``created_index`` and an ``updated_index`` packed together on Core Lightning);
  ``None`` reads from the start. A page may repeat forwards an earlier page had (the store
  counts each once); a backend that cannot page answers everything with ``next_index`` None.
- :meth:`Backend.set_policy` changes only the base fee and the fee rate of one channel, leaving
  every other field as it is, and returns the policy the node reports afterwards. An unknown
  channel raises :class:`~lnopt.errors.BackendRefused`; a negative fee is refused the same way.
- :meth:`Backend.get_policy` reads our current policy of one channel back.
- :meth:`Backend.limitations` says what the backend cannot give (forwarding history, gossip, a
  field of a channel) and which heuristics run on low confidence because of it, for ``status``.
- :meth:`Backend.health` is the circuit breaker of a backend reached over HTTP (None otherwise).
- :meth:`Backend.privilege_warnings` says where the backend's credential can do more than lnopt
  needs (empty when it cannot tell or it cannot).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelPolicy, Forward

if TYPE_CHECKING:
    from lnopt.backends.http import BreakerStatus


@dataclass(frozen=True, slots=True)
class FeeTotals:
    """Routing fees the node reports it has collected (LNbits' ``/info`` ``fees``)."""

    total_msat: int
    daily_msat: int | None = None
    weekly_msat: int | None = None
    monthly_msat: int | None = None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    node_id: str
    alias: str
    block_height: int
    network: str = "bitcoin"
    version: str = ""
    fee_totals: FeeTotals | None = None  # where the node reports them


@dataclass(frozen=True, slots=True)
class Limitation:
    """Something a backend cannot give, and the heuristics that run on low confidence for it."""

    what: str  # e.g. "forwarding history"
    heuristics: tuple[str, ...]  # heuristic names (lnopt.heuristics) that lack the data
    why: str  # in words an operator understands


@dataclass(frozen=True, slots=True)
class ForwardPage:
    forwards: tuple[Forward, ...]
    next_index: int | None  # where the next read starts; None when the backend cannot page


class Backend(abc.ABC):
    """A node lnopt can read and, through the executor only, change."""

    name: str = "backend"

    @abc.abstractmethod
    def node_info(self) -> NodeInfo: ...

    @abc.abstractmethod
    def channels(self) -> Sequence[Channel]: ...

    @abc.abstractmethod
    def gossip(self) -> NetworkGraph: ...

    @abc.abstractmethod
    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage: ...

    @abc.abstractmethod
    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy: ...

    @abc.abstractmethod
    def get_policy(self, short_channel_id: str) -> ChannelPolicy: ...

    def limitations(self) -> tuple[Limitation, ...]:
        """What this backend cannot give; the default backend gives everything."""
        return ()

    def health(self) -> BreakerStatus | None:
        """The circuit breaker of the backend's HTTP client; None where there is none."""
        return None

    def privilege_warnings(self) -> tuple[str, ...]:
        """Where the credential grants more than lnopt needs; never the credential itself."""
        return ()
