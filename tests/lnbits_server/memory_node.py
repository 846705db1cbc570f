"""An in-memory Lightning node for LNbits' FakeWallet, which has none of its own.

It follows LNbits' ``CoreLightningNode`` (lnbits/nodes/cln.py, LNbits 1.6.2) to the letter where
lnopt looks: ``NodeChannel.id`` is Core Lightning's 32-byte ``channel_id``, ``short_id`` its
short channel id, the balance is ``spendable_msat`` / ``receivable_msat`` / ``total_msat``, the
state is mapped as ``CoreLightningNode._parse_state`` maps it, ``get_info`` reports only the
total of fees collected, and ``set_channel_fee`` behaves as ``setchannel id feebase feeppm``:
the id may be a channel id, a short channel id or a peer id, a fee left out stays as it is,
only the two fees change, and Core Lightning's refusals come back as ``CoreLightningNode``'s
``catch_rpc_errors`` turns them into HTTP errors (-32602 → 400, anything else → 500).

LNbits builds a new node object per request, so the state lives outside it, in the file of
:mod:`node_state` in the data folder, which also survives a restart of the server as a real node
would. ``die_on_set`` in that file ({"at": n, "when": "before" | "after"}) makes the server
process exit at the n-th fee change, before or after the node applied it; ``set_log`` lists
every fee change the node applied, in order. A channel marked
``omit_fees`` is listed without its fees, as LNbits' ``LndRestNode.get_channels`` lists every
channel (its ``get_channel`` gives them).
"""

from __future__ import annotations

import os
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from lnbits.db import Filters, Page
from lnbits.nodes.base import (
    ChannelBalance,
    ChannelPoint,
    ChannelState,
    ChannelStats,
    Node,
    NodeChannel,
    NodeFees,
    NodeInfoResponse,
    NodeInvoice,
    NodeInvoiceFilters,
    NodePayment,
    NodePaymentsFilters,
    NodePeerInfo,
)
from node_state import locked_state, read_state, receivable_msat, spendable_msat

_PENDING = ("AWAITING_UNILATERAL", "CHANNELD_SHUTTING_DOWN", "CHANNELD_AWAITING_LOCKIN", "OPENINGD")
_CLOSED = ("CHANNELD_CLOSING", "CLOSINGD_COMPLETE", "CLOSINGD_SIGEXCHANGE", "ONCHAIN")
_SETTABLE = ("CHANNELD_NORMAL", "CHANNELD_AWAITING_LOCKIN", "DUALOPEND_AWAITING_LOCKIN")
_U32 = 2**32


def _folder() -> Path:
    return Path(os.environ["LNBITS_DATA_FOLDER"])


def _parse_state(state: str) -> ChannelState:
    if state == "CHANNELD_NORMAL":
        return ChannelState.ACTIVE
    if state in _PENDING:
        return ChannelState.PENDING
    if state in _CLOSED:
        return ChannelState.CLOSED
    return ChannelState.INACTIVE


def _refused(message: str, *, code: int) -> HTTPException:
    """A Core Lightning RpcError as CoreLightningNode's catch_rpc_errors answers it."""
    status = HTTPStatus.BAD_REQUEST if code == -32602 else HTTPStatus.INTERNAL_SERVER_ERROR
    return HTTPException(status_code=status, detail=message)


def _node_channel(item: dict[str, Any], *, listing: bool) -> NodeChannel:
    without_fees = listing and bool(item.get("omit_fees"))
    return NodeChannel(
        id=item["channel_id"],
        short_id=item.get("short_channel_id"),
        point=ChannelPoint(funding_txid=item["funding_txid"], output_index=item["funding_outnum"]),
        peer_id=item["peer_id"],
        balance=ChannelBalance(
            local_msat=spendable_msat(item),
            remote_msat=receivable_msat(item),
            total_msat=item["total_msat"],
        ),
        fee_ppm=None if without_fees else item["fee_proportional_millionths"],
        fee_base_msat=None if without_fees else item["fee_base_msat"],
        name=item.get("alias"),
        color=None,
        state=_parse_state(item["state"]),
    )


def _fee(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value < _U32:
        raise _refused(f"{name}: should be an unsigned 32 bit integer: invalid token", code=-32602)


class MemoryNode(Node):
    """The node of the test server; see the module docstring."""

    async def _get_id(self) -> str:
        return str(read_state(_folder())["id"])

    async def get_peer_ids(self) -> list[str]:
        channels = read_state(_folder())["channels"]
        return sorted({ch["peer_id"] for ch in channels if ch["peer_connected"]})

    async def _get_peer_info(self, peer_id: str) -> NodePeerInfo:
        for item in read_state(_folder())["channels"]:
            if item["peer_id"] == peer_id:
                return NodePeerInfo(id=peer_id, alias=item.get("alias"))
        return NodePeerInfo(id=peer_id)

    async def connect_peer(self, uri: str) -> None:
        raise _refused("the test node does not connect peers", code=-1)

    async def disconnect_peer(self, peer_id: str) -> None:
        raise _refused("the test node does not disconnect peers", code=-1)

    async def open_channel(
        self,
        peer_id: str,
        local_amount: int,
        push_amount: int | None = None,
        fee_rate: int | None = None,
    ) -> ChannelPoint:
        raise _refused("the test node does not open channels", code=-1)

    async def close_channel(
        self,
        short_id: str | None = None,
        point: ChannelPoint | None = None,
        force: bool = False,
    ) -> None:
        raise _refused("the test node does not close channels", code=-1)

    async def get_channel(self, channel_id: str) -> NodeChannel | None:
        for item in read_state(_folder())["channels"]:
            if item["channel_id"] == channel_id:
                return _node_channel(item, listing=False)
        return None

    async def get_channels(self) -> list[NodeChannel]:
        return [_node_channel(item, listing=True) for item in read_state(_folder())["channels"]]

    async def set_channel_fee(self, channel_id: str, base_msat: int, ppm: int) -> None:
        _fee("feebase", base_msat)
        _fee("feeppm", ppm)
        with locked_state(_folder()) as state:
            found = [
                item
                for item in state["channels"]
                if channel_id in (item["channel_id"], item["short_channel_id"], item["peer_id"])
            ]
            if not found:
                raise _refused(
                    "Could not find any active channels of peer with that id", code=-32602
                )
            for item in found:
                if item["state"] not in _SETTABLE:
                    raise _refused(f"Channel is in state {item['state']}", code=-1)
            state["sets"] = int(state.get("sets", 0)) + 1
            die = state.get("die_on_set")
            dying = bool(die) and state["sets"] >= int(die["at"])
            if dying and die["when"] == "before":
                os._exit(137)
            for item in found:
                if base_msat is not None:
                    item["fee_base_msat"] = base_msat
                if ppm is not None:
                    item["fee_proportional_millionths"] = ppm
                fees = [item["fee_base_msat"], item["fee_proportional_millionths"]]
                state.setdefault("set_log", []).append([item["short_channel_id"], fees])
        if dying:
            os._exit(137)

    async def get_info(self) -> NodeInfoResponse:
        state = read_state(_folder())
        channels = [_node_channel(item, listing=True) for item in state["channels"]]
        active = [channel for channel in channels if channel.state == ChannelState.ACTIVE]
        return NodeInfoResponse(
            id=state["id"],
            backend_name="CLN",
            alias=state["alias"],
            color=state["color"],
            onchain_balance_sat=state["onchain_msat"] // 1000,
            onchain_confirmed_sat=state["onchain_msat"] // 1000,
            channel_stats=ChannelStats.from_list(channels),
            num_peers=len({ch["peer_id"] for ch in state["channels"] if ch["peer_connected"]}),
            blockheight=state["blockheight"],
            balance_msat=sum(channel.balance.local_msat for channel in active),
            fees=NodeFees(total_msat=state["fees_collected_msat"]),
            addresses=[],
        )

    async def get_payments(self, filters: Filters[NodePaymentsFilters]) -> Page[NodePayment]:
        return Page(data=[], total=0)

    async def get_invoices(self, filters: Filters[NodeInvoiceFilters]) -> Page[NodeInvoice]:
        return Page(data=[], total=0)
