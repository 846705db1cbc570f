"""What the contract table needs of a backend under test: the backend and the node's own truth."""

from __future__ import annotations

import abc
import enum
from typing import Any

from lnopt.backends.base import Backend


class Capability(enum.Enum):
    """What a backend can give; where it cannot, the table expects it to say so instead."""

    FORWARDS = "forwarding history"
    PEER_POLICY = "peer policies"
    OPENER = "who opened each channel"
    HTLC_LIMITS = "HTLC limits read back"


class Harness(abc.ABC):
    """A backend under test and the node behind it, whose own state is the truth."""

    backend: Backend
    capabilities: frozenset[Capability] = frozenset(Capability)
    channels_call: str = "listpeerchannels"  # the node call channels() reads, as errors name it

    @abc.abstractmethod
    def node_identity(self) -> tuple[str, str, int]:
        """(node id, alias, block height) as the node holds them."""

    @abc.abstractmethod
    def node_channels(self) -> dict[str, dict[str, Any]]:
        """Per short channel id: capacity_msat, local_msat, our/peer fees, state, opener."""

    @abc.abstractmethod
    def node_fees(self, short_channel_id: str) -> tuple[int, int, int, int | None]:
        """(base fee msat, fee ppm, htlc min msat, htlc max msat or None where the node sets
        none) the node applies now."""

    @abc.abstractmethod
    def add_settled_forwards(self, count: int) -> None: ...

    @abc.abstractmethod
    def forward_count(self) -> int: ...


class TransportHarness(Harness):
    """A backend that reaches its node through a transport (a socket, HTTP), which can fail."""

    @abc.abstractmethod
    def take_node_away(self) -> None:
        """The node stops answering: its socket or port is gone."""

    @abc.abstractmethod
    def garble(self, method: str) -> None:
        """The node answers ``method`` with a well-framed answer of the wrong shape."""
