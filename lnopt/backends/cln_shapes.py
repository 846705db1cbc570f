"""Core Lightning's answers as lnopt reads them: typed field reads and item parsers.

Amounts are accepted as integers or as the legacy ``"1234msat"`` strings everywhere. A missing
field or one of the wrong type is a :class:`~lnopt.errors.BackendError` that names it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lnopt.errors import BackendError, GraphError
from lnopt.graph import NetworkGraph, parse_msat
from lnopt.model import Channel, ChannelPolicy, ChannelState, Forward, ForwardStatus, Opener

CHANNEL_STATES: Mapping[str, ChannelState] = {
    "CHANNELD_NORMAL": ChannelState.ACTIVE,
    "CHANNELD_AWAITING_LOCKIN": ChannelState.PENDING,
    "DUALOPEND_OPEN_INIT": ChannelState.PENDING,
    "DUALOPEND_OPEN_COMMIT_READY": ChannelState.PENDING,
    "DUALOPEND_OPEN_COMMITTED": ChannelState.PENDING,
    "DUALOPEND_AWAITING_LOCKIN": ChannelState.PENDING,
    "CHANNELD_SHUTTING_DOWN": ChannelState.CLOSING,
    "CLOSINGD_SIGEXCHANGE": ChannelState.CLOSING,
    "CLOSINGD_COMPLETE": ChannelState.CLOSING,
    "AWAITING_UNILATERAL": ChannelState.CLOSING,
    "FUNDING_SPEND_SEEN": ChannelState.CLOSING,
    "ONCHAIN": ChannelState.CLOSING,
}


def channel_state(cln_state: str) -> ChannelState:
    """Our state for a Core Lightning channel state; states not listed are ``INACTIVE``."""
    return CHANNEL_STATES.get(cln_state, ChannelState.INACTIVE)


def release_of(version: str) -> tuple[int, int] | None:
    """``(major, minor)`` of a version like ``v24.08.1`` or ``v23.11rc2-modded``; None if none."""
    match = re.match(r"v?(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


class Fields:
    """Typed reads of one JSON object of an answer; a missing or wrong field is a BackendError."""

    def __init__(self, item: Any, where: str) -> None:
        if not isinstance(item, Mapping):
            raise BackendError(f"{where}: expected a JSON object, got {type(item).__name__}")
        self._item: Mapping[str, Any] = item
        self._where = where

    def has(self, key: str) -> bool:
        return self._item.get(key) is not None

    def _get(self, key: str) -> Any:
        value = self._item.get(key)
        if value is None:
            raise BackendError(f"{self._where} lacks the field {key!r}")
        return value

    def _fail(self, key: str, expected: str) -> BackendError:
        return BackendError(
            f"{self._where}: field {key!r} should be {expected}, got {self._item.get(key)!r}"
        )

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer")
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number")
        try:
            return float(value)
        except OverflowError as exc:  # an integer too large for a float
            raise self._fail(key, "a number") from exc

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def msat(self, key: str) -> int:
        try:
            return parse_msat(self._get(key), field_name=f"{self._where}: {key}")
        except GraphError as exc:
            raise BackendError(str(exc)) from exc

    def array(self, key: str) -> list[Any]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        return value

    def sub(self, key: str) -> Fields:
        return Fields(self._get(key), f"{self._where}.{key}")

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def opt_integer(self, key: str) -> int | None:
        return self.integer(key) if self.has(key) else None

    def opt_number(self, key: str) -> float | None:
        return self.number(key) if self.has(key) else None

    def opt_msat(self, key: str) -> int | None:
        return self.msat(key) if self.has(key) else None


def _policy_from_update(update: Fields) -> ChannelPolicy:
    """A policy from a ``listpeerchannels`` ``updates.local``/``updates.remote`` object."""
    return ChannelPolicy(
        base_fee_msat=update.msat("fee_base_msat"),
        fee_ppm=update.integer("fee_proportional_millionths"),
        htlc_min_msat=update.msat("htlc_minimum_msat"),
        htlc_max_msat=update.msat("htlc_maximum_msat"),
        cltv_delta=update.integer("cltv_expiry_delta"),
    )


def our_policy(item: Fields) -> ChannelPolicy:
    """Our policy from a ``listpeerchannels`` or ``setchannel`` item.

    The CLTV delta is known from ``updates.local`` (v24.02+); older nodes do not say, and
    :class:`ChannelPolicy`'s default stands in (it is never sent back to the node).
    """
    policy = ChannelPolicy(
        base_fee_msat=item.msat("fee_base_msat"),
        fee_ppm=item.integer("fee_proportional_millionths"),
        htlc_min_msat=item.opt_msat("minimum_htlc_out_msat") or 0,
        htlc_max_msat=item.opt_msat("maximum_htlc_out_msat"),
    )
    local = channel_update(item, "local")
    if local is None:
        return policy
    return dataclasses.replace(policy, cltv_delta=local.integer("cltv_expiry_delta"))


def channel_update(item: Fields, side: str) -> Fields | None:
    """``updates.local`` or ``updates.remote`` (v24.02+), None where the node does not say."""
    if not item.has("updates"):
        return None
    updates = item.sub("updates")
    return updates.sub(side) if updates.has(side) else None


def channel_from_peerchannel(
    raw: Any, *, gossip_peer_policies: Mapping[str, ChannelPolicy] | None = None
) -> Channel | None:
    """A :class:`Channel` from one ``listpeerchannels`` item; None for a channel without a scid."""
    item = Fields(raw, "listpeerchannels item")
    scid = item.opt_text("short_channel_id")
    if scid is None:
        return None
    item = Fields(raw, f"listpeerchannels item {scid}")
    capacity_msat = item.msat("total_msat")
    local_msat = item.msat("to_us_msat")
    remote = channel_update(item, "remote")
    peer_policy = None if remote is None else _policy_from_update(remote)
    if peer_policy is None and gossip_peer_policies is not None:
        peer_policy = gossip_peer_policies.get(scid)
    try:
        opener = Opener(item.text("opener"))
    except ValueError as exc:
        raise BackendError(f"listpeerchannels item {scid}: unknown opener {exc}") from exc
    return Channel(
        short_channel_id=scid,
        peer_id=item.text("peer_id"),
        capacity_msat=capacity_msat,
        local_msat=local_msat,
        remote_msat=max(0, capacity_msat - local_msat),
        our_policy=our_policy(item),
        peer_policy=peer_policy,
        state=channel_state(item.text("state")),
        connected=item.flag("peer_connected"),
        private=item.flag("private") if item.has("private") else False,
        opener=opener,
        state_changes=len(item.array("state_changes")) if item.has("state_changes") else 0,
        channel_id=item.opt_text("channel_id") or "",
    )


def forward_from_listforwards(raw: Any) -> Forward:
    """A :class:`Forward` from one ``listforwards`` item or ``forward_event`` payload."""
    item = Fields(raw, "listforwards item")
    try:
        status = ForwardStatus(item.text("status"))
    except ValueError as exc:
        raise BackendError(f"listforwards item: unknown status {exc}") from exc
    return Forward(
        in_channel=item.text("in_channel"),
        in_htlc_id=item.opt_integer("in_htlc_id"),
        out_channel=item.opt_text("out_channel"),
        in_msat=item.msat("in_msat"),
        out_msat=item.opt_msat("out_msat"),
        fee_msat=item.opt_msat("fee_msat"),
        status=status,
        received_s=item.number("received_time"),
        resolved_s=item.opt_number("resolved_time"),
        created_index=item.opt_integer("created_index"),
    )


def needs_gossip_policy(raw: Any) -> bool:
    """Whether a ``listpeerchannels`` item has a scid but not the peer's policy (before v24.02)."""
    item = Fields(raw, "listpeerchannels item")
    return item.has("short_channel_id") and channel_update(item, "remote") is None


def graph_of(items: Iterable[Any]) -> NetworkGraph:
    """The graph of ``listchannels`` items; malformed gossip is a BackendError."""
    checked = list(items)
    if not all(isinstance(item, Mapping) for item in checked):
        raise BackendError("Core Lightning sent a listchannels item that is not a JSON object")
    try:
        return NetworkGraph.from_listchannels(checked)
    except GraphError as exc:
        raise BackendError(f"Core Lightning sent malformed gossip: {exc}") from exc


def forwards_of(answer: Any) -> tuple[Forward, ...]:
    """The forwards of a ``listforwards`` answer, oldest first."""
    items = Fields(answer, "listforwards").array("forwards")
    return oldest_first(forward_from_listforwards(item) for item in items)


def oldest_first(forwards: Iterable[Forward]) -> tuple[Forward, ...]:
    """Forwards in the order the node created them (by ``received_time`` where it does not say)."""
    return tuple(sorted(forwards, key=lambda f: (f.created_index or 0, f.received_s)))


def paged_forwards_of(answer: Any, index_field: str) -> tuple[tuple[Forward, ...], int | None]:
    """The forwards of a paged ``listforwards`` answer and the highest ``index_field``
    (``created_index`` or ``updated_index``) among them; None for an empty page."""
    items = Fields(answer, "listforwards").array("forwards")
    forwards = tuple(forward_from_listforwards(item) for item in items)
    indexes = (Fields(item, "listforwards item").opt_integer(index_field) for item in items)
    return forwards, max((i for i in indexes if i is not None), default=None)
