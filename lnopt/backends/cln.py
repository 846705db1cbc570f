"""The Core Lightning backend: reads a node over its JSON-RPC socket, sets fees with ``setchannel``.

Works with Core Lightning v23.08 and newer (``listpeerchannels`` since v23.02). What differs
between versions is detected once, from ``getinfo``'s version, or, when the version string is not
a release number, from the node's "unknown parameter" error, and remembered:

- ``listforwards index=created start= limit=`` pages the history from v23.11; older nodes
  answer every forward at once, without ``created_index``.
- ``listpeerchannels short_channel_id=`` reads one channel from v25.05; older nodes read all
  channels and the one asked for is picked out.
- ``updates.remote`` (v24.02) carries the peer's policy toward us; without it the peer's policy
  comes from gossip, with one ``listchannels destination=<our id>`` call for all channels.

Amounts are accepted as integers or as the legacy ``"1234msat"`` strings everywhere.
Errors never leak: pyln-client's ``RpcError`` becomes :class:`~lnopt.errors.BackendRefused`
(with the node's message and code), socket errors :class:`~lnopt.errors.BackendUnavailable`,
and an answer of the wrong shape :class:`~lnopt.errors.BackendError`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pyln.client import RpcError

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.errors import (
    BackendError,
    BackendRefused,
    BackendUnavailable,
    GraphError,
    InvalidRequest,
)
from lnopt.graph import NetworkGraph, parse_msat
from lnopt.model import (
    Channel,
    ChannelPolicy,
    ChannelState,
    Forward,
    ForwardStatus,
    Opener,
    parse_short_channel_id,
)

log = logging.getLogger(__name__)

INVALID_PARAMS = -32602


class Capability(enum.Enum):
    """A request parameter older nodes refuse; the value is the release that added it."""

    FORWARD_PAGING = (23, 11)  # listforwards index/start/limit
    PEERCHANNEL_SCID_FILTER = (25, 5)  # listpeerchannels short_channel_id


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


class RpcClient(Protocol):
    """What the backend needs of ``pyln.client.LightningRpc`` (or ``plugin.rpc``)."""

    def call(self, method: str, payload: Any = None) -> Any: ...


def channel_state(cln_state: str) -> ChannelState:
    """Our state for a Core Lightning channel state; states not listed are ``INACTIVE``."""
    return CHANNEL_STATES.get(cln_state, ChannelState.INACTIVE)


def release_of(version: str) -> tuple[int, int] | None:
    """``(major, minor)`` of a version like ``v24.08.1`` or ``v23.11rc2-modded``; None if none."""
    match = re.match(r"v?(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


class _Fields:
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
        return float(value)

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

    def sub(self, key: str) -> _Fields:
        return _Fields(self._get(key), f"{self._where}.{key}")

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def opt_integer(self, key: str) -> int | None:
        return self.integer(key) if self.has(key) else None

    def opt_number(self, key: str) -> float | None:
        return self.number(key) if self.has(key) else None

    def opt_msat(self, key: str) -> int | None:
        return self.msat(key) if self.has(key) else None


def _policy_from_update(update: _Fields) -> ChannelPolicy:
    """A policy from a ``listpeerchannels`` ``updates.local``/``updates.remote`` object."""
    return ChannelPolicy(
        base_fee_msat=update.msat("fee_base_msat"),
        fee_ppm=update.integer("fee_proportional_millionths"),
        htlc_min_msat=update.msat("htlc_minimum_msat"),
        htlc_max_msat=update.msat("htlc_maximum_msat"),
        cltv_delta=update.integer("cltv_expiry_delta"),
    )


def _our_policy(item: _Fields) -> ChannelPolicy:
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
    local = _update(item, "local")
    if local is None:
        return policy
    return dataclasses.replace(policy, cltv_delta=local.integer("cltv_expiry_delta"))


def _update(item: _Fields, side: str) -> _Fields | None:
    """``updates.local`` or ``updates.remote`` (v24.02+), None where the node does not say."""
    if not item.has("updates"):
        return None
    updates = item.sub("updates")
    return updates.sub(side) if updates.has(side) else None


def channel_from_peerchannel(
    raw: Any, *, gossip_peer_policies: Mapping[str, ChannelPolicy] | None = None
) -> Channel | None:
    """A :class:`Channel` from one ``listpeerchannels`` item; None for a channel without a scid."""
    item = _Fields(raw, "listpeerchannels item")
    scid = item.opt_text("short_channel_id")
    if scid is None:
        return None
    item = _Fields(raw, f"listpeerchannels item {scid}")
    capacity_msat = item.msat("total_msat")
    local_msat = item.msat("to_us_msat")
    remote = _update(item, "remote")
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
        our_policy=_our_policy(item),
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
    item = _Fields(raw, "listforwards item")
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


def _is_unknown_parameter(exc: BackendRefused) -> bool:
    return exc.code == INVALID_PARAMS and "unknown parameter" in str(exc)


class ClnBackend(Backend):
    """A Core Lightning node reached through ``rpc.call(method, params)``."""

    name = "cln"

    def __init__(
        self,
        rpc: RpcClient,
        *,
        graph_refresh_s: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rpc = rpc
        self._graph_refresh_s = graph_refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._graph: NetworkGraph | None = None
        self._graph_read_s = 0.0
        self._info: NodeInfo | None = None
        self._supported: dict[Capability, bool] = {}  # learnt from the version or a refusal

    @classmethod
    def from_socket(cls, rpc_path: str | Path, **kwargs: Any) -> ClnBackend:
        """A backend on the node's ``lightning-rpc`` unix socket."""
        from pyln.client import LightningRpc

        return cls(LightningRpc(str(rpc_path)), **kwargs)

    # --- reading ---------------------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        info = _Fields(self._call("getinfo"), "getinfo")
        node = NodeInfo(
            node_id=info.text("id"),
            alias=info.opt_text("alias") or "",
            block_height=info.integer("blockheight"),
            network=info.opt_text("network") or "bitcoin",
            version=info.opt_text("version") or "",
        )
        with self._lock:
            self._info = node
            release = release_of(node.version)
            if release is not None:
                for capability in Capability:
                    self._supported.setdefault(capability, release >= capability.value)
        return node

    def channels(self) -> Sequence[Channel]:
        items = _Fields(self._call("listpeerchannels"), "listpeerchannels").array("channels")
        gossip_policies: Mapping[str, ChannelPolicy] | None = None
        if any(_needs_gossip_policy(item) for item in items):
            gossip_policies = self._peer_policies_from_gossip()
        found = (
            channel_from_peerchannel(item, gossip_peer_policies=gossip_policies) for item in items
        )
        return tuple(channel for channel in found if channel is not None)

    def gossip(self) -> NetworkGraph:
        with self._lock:
            now = self._clock()
            if self._graph is not None and now - self._graph_read_s < self._graph_refresh_s:
                return self._graph
            items = _Fields(self._call("listchannels"), "listchannels").array("channels")
            self._graph = _graph_of(items)
            self._graph_read_s = now
            return self._graph

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        """Forwards from ``created_index`` ``since_index`` on (inclusive), oldest first.

        Paged by ``created_index`` where the node can (``next_index`` is one past the last
        forward read); on older nodes every forward at once, with ``next_index`` None.
        """
        start = since_index or 0
        paged = self._where_supported(
            Capability.FORWARD_PAGING,
            "listforwards",
            {"index": "created", "start": start, "limit": limit},
        )
        if paged is not None:
            forwards = _forwards_of(paged)
            last = max((f.created_index or 0 for f in forwards), default=start - 1)
            return ForwardPage(forwards=forwards, next_index=max(start, last + 1))
        forwards = _forwards_of(self._call("listforwards"))
        if since_index is not None:
            forwards = tuple(
                f for f in forwards if f.created_index is None or f.created_index >= since_index
            )
        return ForwardPage(forwards=forwards, next_index=None)

    def node_aliases(self) -> dict[str, str]:
        """Node id → alias of every node the gossip has an announcement of."""
        nodes = _Fields(self._call("listnodes"), "listnodes").array("nodes")
        aliases: dict[str, str] = {}
        for raw in nodes:
            node = _Fields(raw, "listnodes item")
            alias = node.opt_text("alias")
            if alias:
                aliases[node.text("nodeid")] = alias
        return aliases

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        return _our_policy(self._peer_channel(short_channel_id))

    # --- changing --------------------------------------------------------------------------

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        """``setchannel id=<scid> feebase= feeppm=``; htlc limits and enforcedelay stay as set."""
        _require_scid(short_channel_id)
        answer = self._call(
            "setchannel",
            {"id": short_channel_id, "feebase": policy.base_fee_msat, "feeppm": policy.fee_ppm},
        )
        for raw in _Fields(answer, "setchannel").array("channels"):
            item = _Fields(raw, "setchannel item")
            if item.opt_text("short_channel_id") == short_channel_id:
                applied = _our_policy(item)
                log.info(
                    "event=setchannel short_channel_id=%s fee_base_msat=%d fee_ppm=%d",
                    short_channel_id,
                    applied.base_fee_msat,
                    applied.fee_ppm,
                )
                return dataclasses.replace(applied, cltv_delta=policy.cltv_delta)
        raise BackendError(f"setchannel answered without the channel {short_channel_id}")

    # --- internals -------------------------------------------------------------------------

    def _call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        try:
            return self._rpc.call(method, dict(params or {}))
        except RpcError as exc:
            raise _from_rpc_error(method, exc) from exc
        except OSError as exc:
            raise BackendUnavailable(f"Core Lightning cannot be reached ({method}): {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise BackendError(
                f"Core Lightning sent a malformed answer to {method}: {exc}"
            ) from exc

    def _where_supported(
        self, capability: Capability, method: str, params: Mapping[str, Any]
    ) -> Any | None:
        """The answer to a call that needs ``capability``; None where the node lacks it.

        Known from the node's version where it is a release number; otherwise (or if the
        version misleads) the node's "unknown parameter" refusal is learnt and remembered.
        """
        if capability not in self._supported and self._info is None:
            self.node_info()
        if self._supported.get(capability) is False:
            return None
        try:
            answer = self._call(method, params)
        except BackendRefused as exc:
            if not _is_unknown_parameter(exc):
                raise
            log.info("event=capability_missing capability=%s", capability.name.lower())
            self._supported[capability] = False
            return None
        self._supported[capability] = True
        return answer

    def _our_node_id(self) -> str:
        info = self._info if self._info is not None else self.node_info()
        return info.node_id

    def _peer_policies_from_gossip(self) -> dict[str, ChannelPolicy]:
        """Each peer's policy toward us, by short channel id, from one ``listchannels`` call."""
        answer = self._call("listchannels", {"destination": self._our_node_id()})
        items = _Fields(answer, "listchannels").array("channels")
        return {edge.short_channel_id: edge.policy for edge in _graph_of(items).edges}

    def _peer_channel(self, short_channel_id: str) -> _Fields:
        _require_scid(short_channel_id)
        answer = self._where_supported(
            Capability.PEERCHANNEL_SCID_FILTER,
            "listpeerchannels",
            {"short_channel_id": short_channel_id},
        )
        if answer is None:
            answer = self._call("listpeerchannels")
        items = _Fields(answer, "listpeerchannels").array("channels")
        for raw in items:
            item = _Fields(raw, "listpeerchannels item")
            if item.opt_text("short_channel_id") == short_channel_id:
                return _Fields(raw, f"listpeerchannels item {short_channel_id}")
        raise BackendRefused(
            f"Core Lightning has no channel {short_channel_id}", code=INVALID_PARAMS
        )


def _require_scid(short_channel_id: str) -> None:
    """Refuse anything but one short channel id: setchannel would take 'all' or a peer id."""
    try:
        parse_short_channel_id(short_channel_id)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


def _needs_gossip_policy(raw: Any) -> bool:
    item = _Fields(raw, "listpeerchannels item")
    return item.has("short_channel_id") and _update(item, "remote") is None


def _graph_of(items: Iterable[Any]) -> NetworkGraph:
    checked = list(items)
    if not all(isinstance(item, Mapping) for item in checked):
        raise BackendError("Core Lightning sent a listchannels item that is not a JSON object")
    try:
        return NetworkGraph.from_listchannels(checked)
    except GraphError as exc:
        raise BackendError(f"Core Lightning sent malformed gossip: {exc}") from exc


def _forwards_of(answer: Any) -> tuple[Forward, ...]:
    items = _Fields(answer, "listforwards").array("forwards")
    forwards = [forward_from_listforwards(item) for item in items]
    forwards.sort(key=lambda f: (f.created_index or 0, f.received_s))
    return tuple(forwards)


def _from_rpc_error(method: str, exc: Any) -> BackendError:
    """A pyln ``RpcError`` as our error: the node's refusal, or a connection lost mid-call."""
    error = getattr(exc, "error", None)
    if isinstance(error, Mapping):
        code = error.get("code")
        message = error.get("message", "")
        return BackendRefused(
            f"Core Lightning refused {method}: {message} (code {code})",
            code=code if isinstance(code, int) else None,
        )
    return BackendUnavailable(f"Core Lightning connection lost during {method}: {error}")
