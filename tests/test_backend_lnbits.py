"""The LNbits backend against a real LNbits 1.6.2 server (FakeWallet given a node, SQLite,
127.0.0.1): reads, fee changes through lnopt's Optimizer in auto mode, rollback, refusals an
operator can act on, and a server killed in the middle of a batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lnopt.backends.lnbits import FORWARD_HEURISTICS, LnbitsBackend
from lnopt.errors import BackendRefused
from lnopt.model import ChannelPolicy, ChannelState
from lnopt.store import Store
from tests.factories import BLOCK_HEIGHT, OUR_NODE
from tests.lnbits_fixture import (
    LnbitsEnv,
    forget_die_on_set,
    node_fees,
    scid,
    seed_node,
    write_graph_file,
)
from tests.lnbits_server import node_state


@pytest.fixture
def node(lnbits: LnbitsEnv) -> LnbitsEnv:
    """A fresh node of six channels behind the session's LNbits server."""
    lnbits.server.ensure_running()
    forget_die_on_set(lnbits.folder)
    seed_node(lnbits.folder, channels=6)
    return lnbits


@pytest.fixture
def backend(node: LnbitsEnv, tmp_path: Path) -> Iterator[LnbitsBackend]:
    opened = LnbitsBackend(
        node.server.base_url,
        token=node.accounts.node_token,
        graph_file=write_graph_file(tmp_path / "graph.json", node.folder),
    )
    yield opened
    opened.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "lnopt.sqlite3")
    yield opened
    opened.close()


def backend_with(env: LnbitsEnv, token: str) -> LnbitsBackend:
    return LnbitsBackend(env.server.base_url, token=token)


# --- reading -----------------------------------------------------------------------------------


def test_node_info_and_channels_are_the_nodes_own(backend: LnbitsBackend, node: LnbitsEnv) -> None:
    info = backend.node_info()
    assert (info.node_id, info.alias, info.block_height) == (OUR_NODE, "lnbits-node", BLOCK_HEIGHT)
    assert info.fee_totals is not None and info.fee_totals.total_msat == 12_345

    channels = {channel.short_channel_id: channel for channel in backend.channels()}
    truth = {
        item["short_channel_id"]: item for item in node_state.read_state(node.folder)["channels"]
    }
    assert channels.keys() == truth.keys()
    for short_channel_id, item in truth.items():
        channel = channels[short_channel_id]
        assert channel.capacity_msat == item["total_msat"]
        assert channel.local_msat == node_state.spendable_msat(item)
        assert channel.remote_msat == item["total_msat"] - channel.local_msat
        assert (channel.our_policy.base_fee_msat, channel.our_policy.fee_ppm) == (
            item["fee_base_msat"],
            item["fee_proportional_millionths"],
        )
        assert channel.channel_id == item["channel_id"]
        assert channel.state is ChannelState.ACTIVE and channel.connected
        assert channel.peer_policy is None


def test_limitations_name_the_heuristics_without_data(backend: LnbitsBackend) -> None:
    limitations = {item.what: item for item in backend.limitations()}
    assert limitations["forwarding history"].heuristics == FORWARD_HEURISTICS
    assert "graph.json" in limitations["gossip"].why
    assert backend.forwards().forwards == () and backend.forwards().next_index is None


def test_without_a_graph_file_the_graph_is_our_own_channels(node: LnbitsEnv) -> None:
    backend = backend_with(node, node.accounts.node_token)
    graph = backend.gossip()
    assert graph.node_count == 7 and graph.channel_count == 6
    assert "our own channels only" in {i.what: i for i in backend.limitations()}["gossip"].why


def test_a_channel_without_fees_is_left_alone_and_said_so(
    backend: LnbitsBackend, node: LnbitsEnv
) -> None:
    # Given a node class that leaves the fees out of a channel (as LNbits' LND node does)
    with node_state.locked_state(node.folder) as state:
        state["channels"][0]["omit_fees"] = True
    # Then that channel is not offered for scoring, status names it, and a change is refused
    assert scid(1) not in {channel.short_channel_id for channel in backend.channels()}
    assert any(scid(1) in item.what for item in backend.limitations())
    with pytest.raises(BackendRefused, match="reports no fees for channel"):
        backend.set_policy(scid(1), ChannelPolicy(1000, 200))
    assert node_fees(node.folder)[scid(1)] == (1000, 400)
