"""The in-memory node of the executor and service tests, as a contract harness."""

from __future__ import annotations

from typing import Any

from lnopt.model import Forward, ForwardStatus, Opener
from tests.contract.harness import TransportHarness
from tests.factories import BLOCK_HEIGHT, OUR_NODE, channel, policy
from tests.memory_backend import MemoryBackend

ALIAS = "memory"


class MemoryHarness(TransportHarness):
    """Six channels (two of them opened by the peer) on a :class:`MemoryBackend`."""

    def __init__(self) -> None:
        self.channels = [
            channel(
                n,
                local_ratio=n / 10,
                our_policy=policy(1000, 100 + n, htlc_min_msat=1000, htlc_max_msat=4_000_000_000),
                opener=Opener.REMOTE if n > 4 else Opener.LOCAL,
            )
            for n in range(1, 7)
        ]
        self.node = MemoryBackend(self.channels, node_id=OUR_NODE, alias=ALIAS)
        self.backend = self.node
        self.forwards_added = 0

    def node_identity(self) -> tuple[str, str, int]:
        return OUR_NODE, ALIAS, BLOCK_HEIGHT

    def node_channels(self) -> dict[str, dict[str, Any]]:
        return {
            ch.short_channel_id: {
                "capacity_msat": ch.capacity_msat,
                "local_msat": ch.local_msat,
                "our_fees": self._fees(ch.short_channel_id),
                "peer_fees": None
                if ch.peer_policy is None
                else (ch.peer_policy.base_fee_msat, ch.peer_policy.fee_ppm),
                "state": ch.state.value,
                "opener": ch.opener.value,
                "peer_id": ch.peer_id,
            }
            for ch in self.channels
        }

    def node_fees(self, short_channel_id: str) -> tuple[int, int, int, int]:
        fees = self.node.true_policy(short_channel_id)
        assert fees.htlc_max_msat is not None
        return fees.base_fee_msat, fees.fee_ppm, fees.htlc_min_msat, fees.htlc_max_msat

    def add_settled_forwards(self, count: int) -> None:
        scids = [ch.short_channel_id for ch in self.channels]
        for i in range(count):
            self.node.add_forward(
                Forward(
                    in_channel=scids[i % 2],
                    in_htlc_id=i,
                    out_channel=scids[2 + i % 3],
                    in_msat=10_000 + i + 1,
                    out_msat=10_000 + i,
                    fee_msat=1,
                    status=ForwardStatus.SETTLED,
                    received_s=float(i),
                    resolved_s=float(i) + 0.5,
                )
            )
        self.forwards_added += count

    def forward_count(self) -> int:
        return self.forwards_added

    def take_node_away(self) -> None:
        self.node.unavailable = True

    def garble(self, method: str) -> None:
        self.node.garble(method)

    def _fees(self, short_channel_id: str) -> tuple[int, int]:
        fees = self.node.true_policy(short_channel_id)
        return fees.base_fee_msat, fees.fee_ppm
