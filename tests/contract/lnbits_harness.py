"""The LNbits backend in the contract table: the session's real LNbits server, a fresh node of
six channels behind it, reached through a loopback proxy that can vanish or garble answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lnopt.backends.http import HttpSettings
from lnopt.backends.lnbits import LnbitsBackend
from tests.contract.harness import Capability, Harness, TransportHarness
from tests.fault_proxy import FaultProxy
from tests.lnbits_fixture import LnbitsEnv, forget_die_on_set, seed_node
from tests.lnbits_server import node_state

QUICK = HttpSettings(timeout_s=5.0, retries=1, backoff_base_s=0.01, backoff_max_s=0.02)


class LnbitsHarness(TransportHarness):
    # LNbits' node API has no forwarding history, no peer policy, no opener and no HTLC limits
    capabilities: frozenset[Capability] = frozenset()
    channels_call = "/node/api/v1/channels"

    def __init__(self, env: LnbitsEnv, proxy: FaultProxy) -> None:
        self.env = env
        self.proxy = proxy
        self.backend = LnbitsBackend(proxy.base_url, token=env.accounts.node_token, settings=QUICK)

    def _items(self) -> list[dict[str, Any]]:
        return list(node_state.read_state(self.env.folder)["channels"])

    def node_identity(self) -> tuple[str, str, int]:
        state = node_state.read_state(self.env.folder)
        return state["id"], state["alias"], state["blockheight"]

    def node_channels(self) -> dict[str, dict[str, Any]]:
        return {
            item["short_channel_id"]: {
                "capacity_msat": item["total_msat"],
                "local_msat": node_state.spendable_msat(item),
                "our_fees": (item["fee_base_msat"], item["fee_proportional_millionths"]),
                "peer_fees": None,
                "state": item["state"],
                "opener": None,
                "peer_id": item["peer_id"],
            }
            for item in self._items()
        }

    def node_fees(self, short_channel_id: str) -> tuple[int, int, int, int]:
        item = next(i for i in self._items() if i["short_channel_id"] == short_channel_id)
        return (
            item["fee_base_msat"],
            item["fee_proportional_millionths"],
            item["minimum_htlc_out_msat"],
            item["maximum_htlc_out_msat"],
        )

    def add_settled_forwards(self, count: int) -> None:
        """The node routes ``count`` payments: it collects their fees, which LNbits' /info
        totals; the forwards themselves LNbits never shows."""
        with node_state.locked_state(self.env.folder) as state:
            state["fees_collected_msat"] += 1000 * count

    def forward_count(self) -> int:
        return 0  # none that LNbits can show

    def take_node_away(self) -> None:
        self.proxy.stop()

    def garble(self, method: str) -> None:
        self.proxy.garble(method)


@pytest.fixture
def lnbits_harness(lnbits: LnbitsEnv) -> Iterator[Harness]:
    lnbits.server.ensure_running()
    forget_die_on_set(lnbits.folder)
    seed_node(lnbits.folder, channels=6)
    proxy = FaultProxy(lnbits.server.base_url)
    harness = LnbitsHarness(lnbits, proxy)
    yield harness
    harness.backend.close()
    proxy.stop()
