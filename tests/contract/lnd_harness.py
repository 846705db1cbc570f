"""The LND backend in the contract table, against the LND REST stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lnopt.backends.lnd_shapes import scid_of
from tests.contract.harness import TransportHarness
from tests.standin_lnd.fixtures import LndSetup, start_standin
from tests.standin_lnd.node import ForwardingEvent


class LndHarness(TransportHarness):
    channels_call = "/v1/channels"

    def __init__(self, setup: LndSetup) -> None:
        self.setup = setup
        self.node = setup.standin.node
        self.backend = setup.backend()

    def node_identity(self) -> tuple[str, str, int]:
        return self.node.pubkey, self.node.alias, self.node.block_height

    def node_channels(self) -> dict[str, dict[str, Any]]:
        found = {}
        for chan_id, channel in self.node.channels.items():
            ours = self.node.our_policy(chan_id)
            edge = self.node.edges[chan_id]
            theirs = edge.node2_policy if edge.node1 == self.node.pubkey else edge.node1_policy
            found[scid_of(chan_id)] = {
                "capacity_msat": channel.capacity_sat * 1000,
                "local_msat": channel.local_sat * 1000,
                "our_fees": (ours.fee_base_msat, ours.fee_rate_ppm),
                "peer_fees": None
                if theirs is None
                else (theirs.fee_base_msat, theirs.fee_rate_ppm),
                "state": "active" if channel.active else "inactive",
                "opener": "local" if channel.initiator else "remote",
                "peer_id": channel.peer,
            }
        return found

    def node_fees(self, short_channel_id: str) -> tuple[int, int, int, int]:
        chan_id = next(c for c in self.node.channels if scid_of(c) == short_channel_id)
        policy = self.node.our_policy(chan_id)
        return (
            policy.fee_base_msat,
            policy.fee_rate_ppm,
            policy.min_htlc_msat,
            policy.max_htlc_msat,
        )

    def add_settled_forwards(self, count: int) -> None:
        chan_ids = list(self.node.channels)
        with self.node.lock:
            for i in range(count):
                self.node.forwards.append(
                    ForwardingEvent(
                        1_700_000_000_000_000_000 + i * 1_000_000_000,
                        chan_ids[i % 2],
                        chan_ids[2 + i % 3],
                        10_010 + i,
                        10_000 + i,
                        i,
                        i,
                    )
                )

    def forward_count(self) -> int:
        return len(self.node.forwards)

    def take_node_away(self) -> None:
        self.setup.standin.stop()

    def garble(self, method: str) -> None:
        self.setup.standin.garbled[method] = {"channels": "none today"}


@pytest.fixture
def lnd_harness(tmp_path: Path) -> Iterator[TransportHarness]:
    setup = start_standin(tmp_path, channels=6, forwards=0)
    yield LndHarness(setup)
    setup.standin.stop()
