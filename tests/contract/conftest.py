"""The backends the contract table runs against, one pytest fixture each.

A backend joins the table by defining a fixture that yields a :class:`Harness` for it and adding
the fixture's name to ``HARNESS_FIXTURES``; one that reaches its node through a transport yields
a :class:`TransportHarness` and is named in ``TRANSPORT_FIXTURES`` too, for the rows about a
node that is gone or answers garbage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lnopt.backends.cln import ClnBackend
from tests.contract.harness import Harness, TransportHarness
from tests.contract.lnbits_harness import lnbits_harness  # noqa: F401 - a fixture of the table
from tests.contract.lnd_harness import lnd_harness  # noqa: F401 - a fixture of the table
from tests.contract.memory import MemoryHarness
from tests.contract.sim import SimHarness
from tests.standin_node import LEGACY, MODERN, Flavour, Reply, StandinNode, build_node

TRANSPORT_FIXTURES = [
    "cln_modern_harness",
    "cln_legacy_harness",
    "lnd_harness",
    "lnbits_harness",
    "memory_harness",
]
HARNESS_FIXTURES = [*TRANSPORT_FIXTURES, "sim_harness"]


class ClnHarness(TransportHarness):
    def __init__(self, node: StandinNode) -> None:
        self.node = node
        self.backend = ClnBackend.from_socket(node.socket_path)

    def node_identity(self) -> tuple[str, str, int]:
        return self.node.state.node_id, self.node.state.alias, self.node.state.blockheight

    def node_channels(self) -> dict[str, dict[str, Any]]:
        return {
            c.short_channel_id: {
                "capacity_msat": c.total_msat,
                "local_msat": c.to_us_msat,
                "our_fees": (c.fee_base_msat, c.fee_ppm),
                "peer_fees": None
                if c.remote is None
                else (c.remote["fee_base_msat"], c.remote["fee_proportional_millionths"]),
                "state": c.state,
                "opener": c.opener,
                "peer_id": c.peer_id,
            }
            for c in self.node.state.channels
            if c.short_channel_id is not None
        }

    def node_fees(self, short_channel_id: str) -> tuple[int, int, int, int]:
        c = self.node.state.channel(short_channel_id)
        return c.fee_base_msat, c.fee_ppm, c.htlc_min_msat, c.htlc_max_msat

    def add_settled_forwards(self, count: int) -> None:
        scids = [c.short_channel_id for c in self.node.state.channels if c.short_channel_id]
        for i in range(count):
            self.node.add_forward(scids[i % 2], scids[2 + i % 3], 10_000 + i, received_time=i)

    def forward_count(self) -> int:
        return len(self.node.state.forwards)

    def take_node_away(self) -> None:
        self.node.stop()

    def garble(self, method: str) -> None:
        self.node.on_call(method, lambda call: Reply(result={"channels": "none today"}))


def _cln_harness(socket_dir: Path, flavour: Flavour) -> Iterator[Harness]:
    with StandinNode(build_node(6), socket_dir / "lightning-rpc", flavour=flavour) as node:
        yield ClnHarness(node)


@pytest.fixture
def cln_modern_harness(socket_dir: Path) -> Iterator[Harness]:
    yield from _cln_harness(socket_dir, MODERN)


@pytest.fixture
def cln_legacy_harness(socket_dir: Path) -> Iterator[Harness]:
    yield from _cln_harness(socket_dir, LEGACY)


@pytest.fixture
def memory_harness() -> Harness:
    return MemoryHarness()


@pytest.fixture
def sim_harness(tmp_path: Path) -> Harness:
    return SimHarness(tmp_path)


@pytest.fixture(params=HARNESS_FIXTURES)
def harness(request: pytest.FixtureRequest) -> Harness:
    found: Any = request.getfixturevalue(request.param)
    assert isinstance(found, Harness)
    return found


@pytest.fixture(params=TRANSPORT_FIXTURES)
def transport_harness(request: pytest.FixtureRequest) -> TransportHarness:
    found: Any = request.getfixturevalue(request.param)
    assert isinstance(found, TransportHarness)
    return found
