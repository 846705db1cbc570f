"""LNbits' node API answers (``/node/api/v1``, LNbits 1.6) read into lnopt's values.

``NodeChannel`` carries ``id`` (the id ``PUT /channels/{id}`` takes: Core Lightning's 32-byte
``channel_id``, LND's ``chan_id``), ``short_id`` (Core Lightning's ``BLOCKxTXxOUT``; LND's
``chan_id``, a 64-bit integer, which is read as the same three numbers), ``balance`` in msat,
``state`` and our two fees. LNbits gives neither the peer's policy, the HTLC limits, the time
lock delta, who opened the channel nor whether it is announced: lnopt's channel carries the
peer's policy as unknown and the defaults for the rest. LNbits' LND node leaves ``fee_ppm`` and
``fee_base_msat`` out of its channel list: such a channel is reported as unpriced.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from lnopt.backends.base import FeeTotals, NodeInfo
from lnopt.backends.cln_shapes import Fields
from lnopt.errors import BackendError
from lnopt.model import Channel, ChannelPolicy, ChannelState, Opener, parse_short_channel_id

CHANNEL_STATES = {
    "active": ChannelState.ACTIVE,
    "pending": ChannelState.PENDING,
    "closed": ChannelState.CLOSING,
    "inactive": ChannelState.INACTIVE,
}
_U64 = 2**64


@dataclass(frozen=True, slots=True)
class NodeChannels:
    """One read of ``/channels``: what lnopt can price, by short channel id, and what not."""

    channels: tuple[Channel, ...]
    lnbits_ids: dict[str, str]  # short channel id -> LNbits' channel id
    unpriced: tuple[str, ...]  # short channel ids whose fees LNbits does not report


def node_info_of(answer: Any) -> NodeInfo:
    info = Fields(answer, "LNbits /node/api/v1/info")
    fees = info.sub("fees")
    return NodeInfo(
        node_id=info.text("id"),
        alias=info.opt_text("alias") or "",
        block_height=info.integer("blockheight"),
        version=info.opt_text("backend_name") or "",
        fee_totals=FeeTotals(
            total_msat=fees.integer("total_msat"),
            daily_msat=fees.opt_integer("daily_msat"),
            weekly_msat=fees.opt_integer("weekly_msat"),
            monthly_msat=fees.opt_integer("monthly_msat"),
        ),
    )


def connected_peers_of(answer: Any) -> frozenset[str]:
    """Peer ids of ``/peers`` (LNbits' node classes list the connected peers)."""
    if not isinstance(answer, list):
        raise BackendError(f"LNbits /node/api/v1/peers: expected a list, got {_kind(answer)}")
    return frozenset(Fields(item, "LNbits /peers item").text("id") for item in answer)


def short_channel_id_of(short_id: str) -> str | None:
    """``BLOCKxTXxOUT`` from Core Lightning's form or LND's 64-bit ``chan_id``; None otherwise."""
    if short_id.isascii() and short_id.isdigit() and int(short_id) < _U64:
        number = int(short_id)
        return f"{number >> 40}x{(number >> 16) & 0xFFFFFF}x{number & 0xFFFF}"
    try:
        parse_short_channel_id(short_id)
    except ValueError:
        return None
    return short_id


def channels_of(answer: Any, connected_peers: Collection[str]) -> NodeChannels:
    """Our channels from ``/channels``; those without a short channel id (pending or closed,
    not yet or no longer on chain) are left out, as no fee can be set on them."""
    if not isinstance(answer, list):
        raise BackendError(f"LNbits /node/api/v1/channels: expected a list, got {_kind(answer)}")
    channels: list[Channel] = []
    ids: dict[str, str] = {}
    unpriced: list[str] = []
    for raw in answer:
        item = Fields(raw, "LNbits /channels item")
        short_id = item.opt_text("short_id")
        scid = short_channel_id_of(short_id) if short_id is not None else None
        lnbits_id = item.opt_text("id")
        if scid is None or lnbits_id is None:
            continue
        ids[scid] = lnbits_id
        policy = policy_of(item)
        if policy is None:
            unpriced.append(scid)
            continue
        channels.append(_channel(item, scid, lnbits_id, policy, connected_peers))
    return NodeChannels(tuple(channels), ids, tuple(unpriced))


def policy_of(item: Fields) -> ChannelPolicy | None:
    """Our fees as LNbits reports them; None where it leaves either out."""
    base_fee_msat = item.opt_integer("fee_base_msat")
    fee_ppm = item.opt_integer("fee_ppm")
    if base_fee_msat is None or fee_ppm is None:
        return None
    return ChannelPolicy(base_fee_msat=base_fee_msat, fee_ppm=fee_ppm)


def one_channel_of(answer: Any, where: str) -> Fields | None:
    """``GET /channels/{id}``: the NodeChannel, or None where LNbits answers ``null``."""
    return None if answer is None else Fields(answer, where)


def _channel(
    item: Fields,
    scid: str,
    lnbits_id: str,
    policy: ChannelPolicy,
    connected_peers: Collection[str],
) -> Channel:
    balance = item.sub("balance")
    total_msat = balance.integer("total_msat")
    local_msat = balance.integer("local_msat")
    if not 0 <= local_msat <= total_msat:
        raise BackendError(
            f"LNbits channel {scid}: local_msat {local_msat} is outside 0..total_msat {total_msat}"
        )
    state_text = item.text("state")
    state = CHANNEL_STATES.get(state_text)
    if state is None:
        raise BackendError(
            f"LNbits channel {scid}: unknown state {state_text!r}; "
            f"known: {', '.join(sorted(CHANNEL_STATES))}"
        )
    peer_id = item.text("peer_id")
    return Channel(
        short_channel_id=scid,
        peer_id=peer_id,
        capacity_msat=total_msat,
        local_msat=local_msat,
        remote_msat=total_msat - local_msat,
        our_policy=policy,
        peer_policy=None,
        state=state,
        connected=peer_id in connected_peers,
        private=False,
        opener=Opener.LOCAL,
        channel_id=lnbits_id,
    )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
