"""The Core Lightning backend: reads a node over its JSON-RPC socket, sets fees with ``setchannel``.

Works with Core Lightning v23.08 and newer (``listpeerchannels`` since v23.02). What differs
between versions is detected once, from ``getinfo``'s version, or, when the version string is not
a release number, from the node's "unknown parameter" error, and remembered:

- ``listforwards index=created|updated start= limit=`` pages the history from v23.11 (see
  :class:`ForwardPosition`); older nodes answer every forward at once, without indexes.
- ``listpeerchannels short_channel_id=`` reads one channel from v25.05; older nodes read all
  channels and the one asked for is picked out.
- ``updates.remote`` (v24.02) carries the peer's policy toward us; without it the peer's policy
  comes from gossip, with one ``listchannels destination=<our id>`` call for all channels.

Answers are read by :mod:`lnopt.backends.cln_shapes` (amounts as integers or as the legacy
``"1234msat"`` strings everywhere).
Errors never leak: pyln-client's ``RpcError`` becomes :class:`~lnopt.errors.BackendRefused`
(with the node's message and code), socket errors :class:`~lnopt.errors.BackendUnavailable`,
and an answer of the wrong shape :class:`~lnopt.errors.BackendError`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pyln.client import RpcError

from lnopt.backends.base import Backend, ForwardPage, NodeInfo
from lnopt.backends.cln_shapes import (
    CHANNEL_STATES,
    Fields,
    channel_from_peerchannel,
    channel_state,
    forward_from_listforwards,
    forwards_of,
    graph_of,
    needs_gossip_policy,
    oldest_first,
    our_policy,
    paged_forwards_of,
    release_of,
)
from lnopt.errors import BackendError, BackendRefused, BackendUnavailable, InvalidRequest
from lnopt.graph import NetworkGraph
from lnopt.model import Channel, ChannelPolicy, parse_short_channel_id

__all__ = [
    "CHANNEL_STATES",
    "INVALID_PARAMS",
    "Capability",
    "ClnBackend",
    "ForwardPosition",
    "RpcClient",
    "channel_from_peerchannel",
    "channel_state",
    "forward_from_listforwards",
    "release_of",
]

log = logging.getLogger(__name__)

INVALID_PARAMS = -32602


class Capability(enum.Enum):
    """A request parameter older nodes refuse; the value is the release that added it."""

    FORWARD_PAGING = (23, 11)  # listforwards index/start/limit
    PEERCHANNEL_SCID_FILTER = (25, 5)  # listpeerchannels short_channel_id


_POSITION_BITS = 64  # both indexes are u64 on Core Lightning
_POSITION_MASK = (1 << _POSITION_BITS) - 1


@dataclasses.dataclass(frozen=True, slots=True)
class ForwardPosition:
    """Where the next paged read of the node's forwards starts: a ``created_index`` and an
    ``updated_index``, packed into the one opaque, increasing integer of the Backend contract.

    ``listforwards`` pages by either index (v23.11). ``created_index`` numbers forwards as they
    are first recorded; ``updated_index`` takes the next value of one node-wide counter each
    time a forward's status changes, and is absent on a forward that never changed. Neither
    alone sees everything: a forward offered before the last read and settled since keeps its
    old ``created_index``, and one that failed before it was offered (``local_failed``) is
    created final and never gets an ``updated_index``, so ``index=updated start>=1`` never
    lists it. Reading both from where the last read stopped sees every forward that became
    final since.
    """

    created: int = 0  # listforwards index=created start=
    updated: int = 1  # listforwards index=updated start= (0 would list unchanged ones too)

    def pack(self) -> int:
        return self.created << _POSITION_BITS | self.updated

    @classmethod
    def unpack(cls, position: int | None) -> ForwardPosition:
        """The position ``pack`` made; None is the start of the history."""
        if position is None:
            return cls()
        if position < 0:
            raise InvalidRequest(f"a forward position is never negative, got {position}")
        return cls(created=position >> _POSITION_BITS, updated=position & _POSITION_MASK)


class RpcClient(Protocol):
    """What the backend needs of ``pyln.client.LightningRpc`` (or ``plugin.rpc``)."""

    def call(self, method: str, payload: Any = None) -> Any: ...


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
        info = Fields(self._call("getinfo"), "getinfo")
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
        items = Fields(self._call("listpeerchannels"), "listpeerchannels").array("channels")
        gossip_policies: Mapping[str, ChannelPolicy] | None = None
        if any(needs_gossip_policy(item) for item in items):
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
            items = Fields(self._call("listchannels"), "listchannels").array("channels")
            self._graph = graph_of(items)
            self._graph_read_s = now
            return self._graph

    def forwards(self, since_index: int | None = None, limit: int = 10_000) -> ForwardPage:
        """Forwards from ``since_index`` on (a packed :class:`ForwardPosition`), oldest first.

        Where the node pages, the forwards created since are read first, ``limit`` at a time
        (``index=created``); once they are all read, those whose status changed since
        (``index=updated``). A forward can be in both; the store counts it once.
        ``next_index`` packs where each read stopped. Older nodes answer every forward at once,
        with ``next_index`` None.
        """
        position = ForwardPosition.unpack(since_index)
        created = self._where_supported(
            Capability.FORWARD_PAGING,
            "listforwards",
            {"index": "created", "start": position.created, "limit": limit},
        )
        if created is None:
            return ForwardPage(forwards=forwards_of(self._call("listforwards")), next_index=None)
        new, last_created = paged_forwards_of(created, "created_index")
        if last_created is not None:
            position = dataclasses.replace(
                position, created=max(position.created, last_created + 1)
            )
        if len(new) >= limit:
            return ForwardPage(forwards=oldest_first(new), next_index=position.pack())
        changed_answer = self._call(
            "listforwards",
            {"index": "updated", "start": position.updated, "limit": limit - len(new)},
        )
        changed, last_updated = paged_forwards_of(changed_answer, "updated_index")
        if last_updated is not None:
            position = dataclasses.replace(
                position, updated=max(position.updated, last_updated + 1)
            )
        return ForwardPage(forwards=oldest_first((*new, *changed)), next_index=position.pack())

    def node_aliases(self) -> dict[str, str]:
        """Node id → alias of every node the gossip has an announcement of."""
        nodes = Fields(self._call("listnodes"), "listnodes").array("nodes")
        aliases: dict[str, str] = {}
        for raw in nodes:
            node = Fields(raw, "listnodes item")
            alias = node.opt_text("alias")
            if alias:
                aliases[node.text("nodeid")] = alias
        return aliases

    def get_policy(self, short_channel_id: str) -> ChannelPolicy:
        return our_policy(self._peer_channel(short_channel_id))

    # --- changing --------------------------------------------------------------------------

    def set_policy(self, short_channel_id: str, policy: ChannelPolicy) -> ChannelPolicy:
        """``setchannel id=<scid> feebase= feeppm=``; htlc limits and enforcedelay stay as set."""
        _require_scid(short_channel_id)
        answer = self._call(
            "setchannel",
            {"id": short_channel_id, "feebase": policy.base_fee_msat, "feeppm": policy.fee_ppm},
        )
        for raw in Fields(answer, "setchannel").array("channels"):
            item = Fields(raw, "setchannel item")
            if item.opt_text("short_channel_id") == short_channel_id:
                applied = our_policy(item)
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
        items = Fields(answer, "listchannels").array("channels")
        return {edge.short_channel_id: edge.policy for edge in graph_of(items).edges}

    def _peer_channel(self, short_channel_id: str) -> Fields:
        _require_scid(short_channel_id)
        answer = self._where_supported(
            Capability.PEERCHANNEL_SCID_FILTER,
            "listpeerchannels",
            {"short_channel_id": short_channel_id},
        )
        if answer is None:
            answer = self._call("listpeerchannels")
        items = Fields(answer, "listpeerchannels").array("channels")
        for raw in items:
            item = Fields(raw, "listpeerchannels item")
            if item.opt_text("short_channel_id") == short_channel_id:
                return Fields(raw, f"listpeerchannels item {short_channel_id}")
        raise BackendRefused(
            f"Core Lightning has no channel {short_channel_id}", code=INVALID_PARAMS
        )


def _require_scid(short_channel_id: str) -> None:
    """Refuse anything but one short channel id: setchannel would take 'all' or a peer id."""
    try:
        parse_short_channel_id(short_channel_id)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


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
