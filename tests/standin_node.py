"""A test stand-in for lightningd's JSON-RPC: a fake Core Lightning node on a unix socket.

It speaks the real ``lightning-rpc`` protocol as pyln-client's ``LightningRpc`` does: JSON-RPC 2.0
requests written back to back on a stream socket, each answer a JSON object followed by
``"\\n\\n"``; several requests may share a connection (pyln's ``notifications`` opt-in first).
Parameters come as a JSON array (positional) or object (named), as lightningd takes them, and
are refused as lightningd's ``param()`` refuses them (code -32602, its wording).

It answers ``getinfo``, ``listpeerchannels [id] [short_channel_id]``, ``listchannels
[short_channel_id] [source] [destination]``, ``listnodes [id]``, ``listforwards [status]
[in_channel] [out_channel] [index] [start] [limit]`` and ``setchannel id [feebase] [feeppm]
[htlcmin] [htlcmax] [enforcedelay] [ignorefeelimits]``, following
``/work/shared/reference/core-lightning.md`` and Core Lightning's v24+ ``doc/schemas`` to the
letter: every field it sends has the name, type and presence rules given there (its error
messages are lightningd's own). It leaves out fields lnopt never reads (``feerate``,
``funding``, ``channel_type``, HTLC details).

A :class:`Flavour` says which release it imitates: :data:`MODERN` (v25.09: integer amounts,
``updates``, paged ``listforwards``, ``listpeerchannels short_channel_id``) or :data:`LEGACY`
(v23.08: none of those, and every ``*_msat`` a ``"…msat"`` string as before v23.05, the worst
case a plugin meets).

Tests read :attr:`StandinNode.calls` (each call with its parameters as sent), change the state
(:class:`NodeState`, e.g. :meth:`StandinNode.add_forward`) and hook calls with
:meth:`StandinNode.on_call`, before or after the node acts: to kill a process, answer an error
or garbage, or drop the connection. It runs in a thread of the test or as its own process::

    python -m tests.standin_node --socket PATH --state FILE [--channels N] [--legacy] [--calls FILE]

(the state file is read if present, else built; it is rewritten after every change, and every
call is appended to the calls file as a JSON line).

What it does not do: route payments or move money by itself (a test adds forwards, which move
balances), send notifications (``forward_event`` goes over a plugin's stdin, not this socket),
enforce ``enforcedelay``, honour ``filter`` or ``check``, filter by ``channel_id``, or answer any
other method (-32601, "Unknown command").
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import gzip
import hashlib
import json
import os
import random
import signal
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

U32_MAX = 2**32 - 1
INVALID_PARAMS = -32602
SETTABLE = (
    "CHANNELD_NORMAL",
    "CHANNELD_AWAITING_SPLICE",
    "CHANNELD_AWAITING_LOCKIN",
    "DUALOPEND_AWAITING_LOCKIN",
)
PENDING = ("CHANNELD_AWAITING_LOCKIN", "DUALOPEND_AWAITING_LOCKIN", "DUALOPEND_OPEN_INIT")
ACTIVE = (
    "CHANNELD_NORMAL",
    "CHANNELD_AWAITING_SPLICE",
    "CHANNELD_SHUTTING_DOWN",
    "CLOSINGD_SIGEXCHANGE",
)
STATUSES = ("offered", "settled", "local_failed", "failed")
FAILREASONS = {
    4103: "WIRE_TEMPORARY_CHANNEL_FAILURE",
    16399: "WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS",
}
UNKNOWN_PARAMETER = (
    "unknown parameter: {}, this may be caused by a failure to autodetect key=value-style "
    "parameters. Please try using the -k flag and explicit key=value pairs of parameters."
)


@dataclass(frozen=True)
class Flavour:
    """Which Core Lightning release the stand-in imitates."""

    version: str
    msat_strings: bool  # every *_msat a "1234msat" string (before v23.05)
    forward_paging: bool  # listforwards index/start/limit and created_index (v23.11)
    peerchannel_scid_filter: bool  # listpeerchannels short_channel_id (v25.05)
    peer_updates: bool  # listpeerchannels updates{local,remote} (v24.02)


MODERN = Flavour("v25.09", False, True, True, True)
LEGACY = Flavour("v23.08", True, False, False, False)


class RpcFailure(Exception):
    """An error answer, as lightningd's ``command_fail`` sends it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def bad_param(name: str, what: str) -> RpcFailure:
    """lightningd's ``command_fail_badparam`` wording (outside developer mode)."""
    return RpcFailure(INVALID_PARAMS, f"{name}: {what}: invalid token (see logs for details)")


@dataclass
class PeerChannel:
    """One of the node's channels; ``remote`` is the peer's last channel_update toward us."""

    short_channel_id: str | None
    peer_id: str
    channel_id: str
    state: str = "CHANNELD_NORMAL"
    opener: str = "local"
    private: bool = False
    peer_connected: bool = True
    total_msat: int = 5_000_000_000
    to_us_msat: int = 2_500_000_000
    fee_base_msat: int = 1000
    fee_ppm: int = 100
    htlc_min_msat: int = 1000
    htlc_max_msat: int = 4_950_000_000
    cltv_delta: int = 34
    remote: dict[str, int] | None = None
    state_changes: list[dict[str, str]] = field(default_factory=list)
    next_htlc_id: int = 0

    def update(self) -> dict[str, int]:
        """Our side's channel_update fields, as ``updates.local`` shows them."""
        return {
            "htlc_minimum_msat": self.htlc_min_msat,
            "htlc_maximum_msat": self.htlc_max_msat,
            "cltv_expiry_delta": self.cltv_delta,
            "fee_base_msat": self.fee_base_msat,
            "fee_proportional_millionths": self.fee_ppm,
        }


@dataclass
class NodeState:
    """Everything the stand-in knows: our node, our channels, gossip, nodes and forwards."""

    node_id: str
    alias: str = "standin"
    blockheight: int = 870_000
    network: str = "bitcoin"
    channels: list[PeerChannel] = field(default_factory=list)
    gossip: list[dict[str, Any]] = field(default_factory=list)  # other channels, modern shape
    nodes: list[dict[str, Any]] = field(default_factory=list)
    forwards: list[dict[str, Any]] = field(default_factory=list)
    updated_index: int = 0

    def channel(self, short_channel_id: str) -> PeerChannel:
        for channel in self.channels:
            if channel.short_channel_id == short_channel_id:
                return channel
        raise KeyError(short_channel_id)

    def add_forward(
        self,
        in_channel: str,
        out_channel: str,
        out_msat: int,
        *,
        status: str = "settled",
        received_time: float = 1_760_000_000.0,
    ) -> dict[str, Any]:
        """Record a forward, its fee by the out channel's policy; a settled one moves balances."""
        source, sink = self.channel(in_channel), self.channel(out_channel)
        fee_msat = sink.fee_base_msat + out_msat * sink.fee_ppm // 1_000_000
        forward: dict[str, Any] = {"created_index": len(self.forwards) + 1}
        forward.update(in_channel=in_channel, in_htlc_id=source.next_htlc_id)
        forward.update(out_channel=out_channel, in_msat=out_msat + fee_msat, status=status)
        forward.update(style="tlv", received_time=received_time)
        source.next_htlc_id += 1
        if status != "local_failed":
            forward.update(out_htlc_id=sink.next_htlc_id, out_msat=out_msat, fee_msat=fee_msat)
            sink.next_htlc_id += 1
        if status != "offered":
            self.updated_index += 1
            forward["updated_index"] = self.updated_index
        if status in ("settled", "failed"):
            forward["resolved_time"] = received_time + 1.5
        if status in ("failed", "local_failed"):
            code = 4103 if status == "local_failed" else 16399
            forward.update(failcode=code, failreason=FAILREASONS[code])
        if status == "settled":
            source.to_us_msat += out_msat + fee_msat
            sink.to_us_msat -= out_msat
        self.forwards.append(forward)
        return forward

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeState:
        fields = dict(data)
        channels = [PeerChannel(**item) for item in fields.pop("channels")]
        return cls(channels=channels, **fields)


@dataclass(frozen=True)
class Call:
    """One call as the node received it: ``params`` exactly as sent (object or array)."""

    method: str
    params: dict[str, Any] | list[Any]


@dataclass(frozen=True)
class Reply:
    """A hook's answer in place of the node's: a result, an error (code, message) or raw bytes."""

    result: Any = None
    error: tuple[int, str] | None = None
    raw: bytes | None = None


class Close(enum.Enum):
    """A hook's answer: drop the connection without replying."""

    CLOSE = "close"


class Phase(enum.Enum):
    BEFORE = "before"  # before the node acts on the call
    AFTER = "after"  # after it acted, before the answer is sent


Hook = Callable[[Call], "Reply | Close | None"]

PARAMS: dict[str, tuple[str, ...]] = {
    "getinfo": (),
    "listpeerchannels": ("id", "short_channel_id"),
    "listchannels": ("short_channel_id", "source", "destination"),
    "listnodes": ("id",),
    "listforwards": ("status", "in_channel", "out_channel", "index", "start", "limit"),
    "setchannel": (
        "id",
        "feebase",
        "feeppm",
        "htlcmin",
        "htlcmax",
        "enforcedelay",
        "ignorefeelimits",
    ),
    "notifications": ("enable",),
}


class StandinNode:
    """Serves a :class:`NodeState` on ``socket_path`` from a background thread."""

    def __init__(
        self,
        state: NodeState,
        socket_path: str | Path,
        *,
        flavour: Flavour = MODERN,
        state_file: Path | None = None,
        calls_file: Path | None = None,
    ) -> None:
        self.state = state
        self.flavour = flavour
        self.socket_path = Path(socket_path)
        self._state_file = state_file
        self._calls_file = calls_file
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._hooks: dict[tuple[str, Phase], list[Hook]] = {}
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    def start(self) -> StandinNode:
        serve = self._serve_connection

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                serve(self.request)

        self.socket_path.unlink(missing_ok=True)
        self._server = socketserver.ThreadingUnixStreamServer(str(self.socket_path), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop answering and remove the socket: the node is gone."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    def __enter__(self) -> StandinNode:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def on_call(self, method: str, hook: Hook, *, phase: Phase = Phase.BEFORE) -> None:
        """Run ``hook(call)`` on each call of ``method``; a Reply or Close it returns is sent."""
        with self._lock:
            self._hooks.setdefault((method, phase), []).append(hook)

    def add_forward(
        self, in_channel: str, out_channel: str, out_msat: int, **kwargs: Any
    ) -> dict[str, Any]:
        with self._lock:
            forward = self.state.add_forward(in_channel, out_channel, out_msat, **kwargs)
            self.persist()
            return forward

    def persist(self) -> None:
        """Write the state file (if any) atomically."""
        if self._state_file is not None:
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state.to_json()))
            os.replace(tmp, self._state_file)

    # --- protocol ----------------------------------------------------------------------------

    def _serve_connection(self, sock: Any) -> None:
        decoder = json.JSONDecoder()
        text = ""
        while chunk := sock.recv(65536):
            text += chunk.decode("utf-8")
            while text.strip():
                try:
                    request, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
                except json.JSONDecodeError:
                    break  # incomplete: wait for the rest
                text = text[end:]
                answer = self._answer(request)
                if answer is Close.CLOSE:
                    return
                sock.sendall(answer)

    def _answer(self, request: Any) -> bytes | Close:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            error = {"code": -32600, "message": "Expected a JSON-RPC request object"}
            return _frame({"jsonrpc": "2.0", "id": None, "error": error})
        call = Call(request["method"], request.get("params", {}))
        with self._lock:
            if call.method != "notifications":
                self._calls.append(call)
                self._log_call(call)
            reply = self._run_hooks(call, Phase.BEFORE)
            if reply is None:
                try:
                    reply = Reply(result=self._dispatch(call))
                except RpcFailure as failure:
                    reply = Reply(error=(failure.code, str(failure)))
                reply = self._run_hooks(call, Phase.AFTER) or reply
        if reply is Close.CLOSE:
            return reply
        if reply.raw is not None:
            return reply.raw + b"\n\n"
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        if reply.error is not None:
            body["error"] = {"code": reply.error[0], "message": reply.error[1]}
        else:
            body["result"] = render_answer(reply.result, self.flavour.msat_strings)
        return _frame(body)

    def _run_hooks(self, call: Call, phase: Phase) -> Reply | Close | None:
        for hook in self._hooks.get((call.method, phase), []):
            outcome = hook(call)
            if outcome is not None:
                return outcome
        return None

    def _dispatch(self, call: Call) -> dict[str, Any]:
        if call.method not in PARAMS:
            raise RpcFailure(-32601, f"Unknown command '{call.method}'")
        names = PARAMS[call.method]
        if call.method == "listforwards" and not self.flavour.forward_paging:
            names = names[:3]
        if call.method == "listpeerchannels" and not self.flavour.peerchannel_scid_filter:
            names = names[:1]
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, f"_rpc_{call.method}")
        return handler(_named(names, call.params))

    def _log_call(self, call: Call) -> None:
        if self._calls_file is not None:
            with self._calls_file.open("a") as handle:
                handle.write(json.dumps({"method": call.method, "params": call.params}) + "\n")

    # --- methods -----------------------------------------------------------------------------

    def _rpc_notifications(self, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _rpc_getinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        states = [c.state for c in self.state.channels]
        pending = sum(s in PENDING for s in states)
        active = sum(s in ACTIVE for s in states)
        fees = sum(f.get("fee_msat", 0) for f in self.state.forwards if f["status"] == "settled")
        info: dict[str, Any] = {"id": self.state.node_id, "alias": self.state.alias}
        info.update(color="3399ff", num_peers=len({c.peer_id for c in self.state.channels}))
        info.update(num_pending_channels=pending, num_active_channels=active)
        info.update(num_inactive_channels=len(states) - pending - active, address=[])
        info.update(binding=[], version=self.flavour.version, blockheight=self.state.blockheight)
        info.update(network=self.state.network, fees_collected_msat=fees)
        info["lightning-dir"] = str(self.socket_path.parent)
        return info

    def _rpc_listpeerchannels(self, params: dict[str, Any]) -> dict[str, Any]:
        if "id" in params and "short_channel_id" in params:
            raise RpcFailure(INVALID_PARAMS, "Cannot specify both id and short_channel_id")
        chosen = [
            c
            for c in self.state.channels
            if params.get("id", c.peer_id) == c.peer_id
            and params.get("short_channel_id", c.short_channel_id) == c.short_channel_id
        ]
        counters = self._payment_counters()
        return {"channels": [self.peerchannel_item(c, counters) for c in chosen]}

    def _rpc_listchannels(self, params: dict[str, Any]) -> dict[str, Any]:
        if len(params) > 1:
            message = "Can only specify one of `short_channel_id`, `source` or `destination`"
            raise RpcFailure(INVALID_PARAMS, message)
        key, value = next(iter(params.items()), (None, None))
        return {"channels": [item for item in self._gossip() if key is None or item[key] == value]}

    def _rpc_listnodes(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("id")
        return {"nodes": [n for n in self.state.nodes if wanted in (None, n["nodeid"])]}

    def _rpc_listforwards(self, params: dict[str, Any]) -> dict[str, Any]:
        index = params.get("index")
        if index is None and ("start" in params or "limit" in params):
            raise RpcFailure(INVALID_PARAMS, "Can only specify start or limit with index")
        if index not in (None, "created", "updated"):
            raise bad_param("index", "should be one of created or updated")
        if params.get("status", "settled") not in STATUSES:
            raise bad_param("status", "Unrecognized status")
        filters = [k for k in ("status", "in_channel", "out_channel") if k in params]
        chosen = [f for f in self.state.forwards if all(f.get(k) == params[k] for k in filters)]
        if index is not None:
            key = f"{index}_index"
            start, limit = _u64(params, "start", 0), _u64(params, "limit", U32_MAX)
            chosen = sorted((f for f in chosen if f.get(key, 0) >= start), key=lambda f: f[key])
            chosen = chosen[:limit]
        if not self.flavour.forward_paging:
            chosen = [{k: v for k, v in f.items() if not k.endswith("_index")} for f in chosen]
        return {"forwards": chosen}

    def _rpc_setchannel(self, params: dict[str, Any]) -> dict[str, Any]:
        if "id" not in params:
            raise RpcFailure(INVALID_PARAMS, "missing required parameter: id")
        channels = self._channels_for(params["id"])
        feebase, feeppm = _msat(params, "feebase"), _u32(params, "feeppm")
        if feebase is not None and feebase > U32_MAX:
            raise bad_param("feebase", "exceeds u32 max")
        htlcmin, htlcmax = _msat(params, "htlcmin"), _msat(params, "htlcmax")
        _u32(params, "enforcedelay")
        if htlcmin is not None and htlcmax is not None and htlcmax < htlcmin:
            raise RpcFailure(-1, "htlcmax cannot be less than htlcmin")
        answer = []
        for c in channels:
            c.fee_base_msat = c.fee_base_msat if feebase is None else feebase
            c.fee_ppm = c.fee_ppm if feeppm is None else feeppm
            c.htlc_min_msat = c.htlc_min_msat if htlcmin is None else htlcmin
            c.htlc_max_msat = c.htlc_max_msat if htlcmax is None else min(htlcmax, c.total_msat)
            item: dict[str, Any] = {"peer_id": c.peer_id, "channel_id": c.channel_id}
            if c.short_channel_id is not None:
                item["short_channel_id"] = c.short_channel_id
            item.update(fee_base_msat=c.fee_base_msat, fee_proportional_millionths=c.fee_ppm)
            item.update(minimum_htlc_out_msat=c.htlc_min_msat)
            item.update(maximum_htlc_out_msat=c.htlc_max_msat)
            item["ignore_fee_limits"] = bool(params.get("ignorefeelimits", False))
            answer.append(item)
        self.persist()
        return {"channels": answer}

    # --- shapes ------------------------------------------------------------------------------

    def _channels_for(self, target: Any) -> list[PeerChannel]:
        """lightningd's ``param_channel_or_all``: 'all', a peer id, a channel id or a scid."""
        channels = self.state.channels
        if target == "all":
            return [c for c in channels if c.state in SETTABLE]
        if isinstance(target, str) and len(target) == 66 and _is_hex(target):
            of_peer = [c for c in channels if c.peer_id == target]
            settable = [c for c in of_peer if c.state in SETTABLE]
            if of_peer and not settable:
                raise RpcFailure(-1, "Could not find any active channels of peer with that id")
            if settable:
                return settable
        if isinstance(target, str) and len(target) == 64 and _is_hex(target):
            found, missing = [c for c in channels if c.channel_id == target], "Channel id"
        elif isinstance(target, str) and _is_scid(target):
            found = [c for c in channels if c.short_channel_id == target]
            missing = "Short channel id"
        else:
            raise bad_param("id", "should be a channel ID or short channel ID")
        if not found:
            raise bad_param("id", f"{missing} not found")
        if found[0].state not in SETTABLE:
            raise bad_param("id", f"Channel in state {found[0].state}")
        return found

    def peerchannel_item(
        self, c: PeerChannel, counters: dict[tuple[str, str | None], dict[str, int]] | None = None
    ) -> dict[str, Any]:
        """One ``listpeerchannels`` item with the fields the reference lists (and schema needs)."""
        counters = self._payment_counters() if counters is None else counters
        reserve_msat = c.total_msat // 100_000 * 1000
        item: dict[str, Any] = {"peer_id": c.peer_id, "peer_connected": c.peer_connected}
        item.update(state=c.state, ignore_fee_limits=False, channel_id=c.channel_id)
        item.update(direction=0 if self.state.node_id < c.peer_id else 1)
        item.update(funding_txid=_digest("funding", c.channel_id), funding_outnum=0)
        item.update(private=c.private, opener=c.opener, features=["option_static_remotekey"])
        item.update(to_us_msat=c.to_us_msat, total_msat=c.total_msat)
        item.update(fee_base_msat=c.fee_base_msat, fee_proportional_millionths=c.fee_ppm)
        item.update(our_reserve_msat=reserve_msat, their_reserve_msat=reserve_msat)
        item.update(spendable_msat=max(0, c.to_us_msat - reserve_msat))
        item.update(receivable_msat=max(0, c.total_msat - c.to_us_msat - reserve_msat))
        item.update(minimum_htlc_out_msat=c.htlc_min_msat, maximum_htlc_out_msat=c.htlc_max_msat)
        item.update(state_changes=c.state_changes, htlcs=[])
        for side in ("in", "out"):
            item.update(counters.get((side, c.short_channel_id)) or _counters(side))
        if c.short_channel_id is not None:
            item["short_channel_id"] = c.short_channel_id
            item["alias"] = {"local": f"{16_000_000 + int(c.channel_id[:5], 16)}x1x0"}
        if self.flavour.peer_updates:
            item.update(reestablished=c.peer_connected, last_stable_connection=1_760_000_000)
            item["updates"] = {"local": c.update()}
            if c.remote is not None:
                item["updates"]["remote"] = dict(c.remote)
        return item

    def _payment_counters(self) -> dict[tuple[str, str | None], dict[str, int]]:
        """``in_payments_offered`` etc. of every channel, from one pass over the forwards."""
        counters: dict[tuple[str, str | None], dict[str, int]] = {}
        for f in self.state.forwards:
            for side in ("in", "out"):
                count = counters.setdefault((side, f.get(f"{side}_channel")), _counters(side))
                count[f"{side}_payments_offered"] += 1
                count[f"{side}_offered_msat"] += f.get(f"{side}_msat", 0)
                if f["status"] == "settled":
                    count[f"{side}_payments_fulfilled"] += 1
                    count[f"{side}_fulfilled_msat"] += f.get(f"{side}_msat", 0)
        return counters

    def _gossip(self) -> Iterator[dict[str, Any]]:
        """Gossip of other channels, then both directions of our public, normal channels."""
        yield from self.state.gossip
        us = self.state.node_id
        for c in self.state.channels:
            if c.private or c.short_channel_id is None or c.state != "CHANNELD_NORMAL":
                continue
            yield _direction(c.short_channel_id, us, c.peer_id, c.total_msat, c.update())
            if c.remote is not None:
                yield _direction(c.short_channel_id, c.peer_id, us, c.total_msat, c.remote)


def _counters(side: str) -> dict[str, int]:
    names = ("payments_offered", "offered_msat", "payments_fulfilled", "fulfilled_msat")
    return {f"{side}_{name}": 0 for name in names}


def _frame(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode() + b"\n\n"


def render_answer(value: Any, msat_strings: bool, key: str = "") -> Any:
    """The answer as sent: with ``msat_strings`` every integer ``*_msat`` becomes ``"…msat"``."""
    if isinstance(value, dict):
        return {k: render_answer(v, msat_strings, k) for k, v in value.items()}
    if isinstance(value, list):
        return [render_answer(v, msat_strings, key) for v in value]
    if msat_strings and key.endswith("_msat") and type(value) is int:
        return f"{value}msat"
    return value


def _named(names: tuple[str, ...], params: Any) -> dict[str, Any]:
    """lightningd's ``param()``: positional or named parameters, nulls left out."""
    if isinstance(params, list):
        if len(params) > len(names):
            message = f"too many parameters: got {len(params)}, expected {len(names)}"
            raise RpcFailure(INVALID_PARAMS, message)
        return {n: v for n, v in zip(names, params, strict=False) if v is not None}
    if not isinstance(params, dict):
        raise RpcFailure(INVALID_PARAMS, "Expected array or object for params")
    for name in params:
        if name not in names:
            raise RpcFailure(INVALID_PARAMS, UNKNOWN_PARAMETER.format(name))
    return {n: v for n, v in params.items() if v is not None}


def _msat(params: dict[str, Any], name: str) -> int | None:
    """An amount as lightningd's ``param_msat`` reads it: 1234, "1234", "1234msat", "2sat"."""
    value = params.get(name)
    if value is None:
        return None
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, str):
        for suffix, scale in (("msat", 1), ("sat", 1000), ("", 1)):
            digits = value.removesuffix(suffix) if suffix else value
            if (digits != value or not suffix) and digits.isdigit():
                return int(digits) * scale
    raise bad_param(name, "should be a millisatoshi amount")


def _u32(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or not 0 <= value <= U32_MAX:
        raise bad_param(name, "should be an integer")
    return value


def _u64(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if type(value) is not int or value < 0:
        raise bad_param(name, "should be an unsigned 64 bit integer")
    return value


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)


def _is_scid(text: str) -> bool:
    parts = text.split("x")
    return len(parts) == 3 and all(part.isdigit() for part in parts)


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _direction(
    scid: str, source: str, destination: str, capacity_msat: int, update: dict[str, int]
) -> dict[str, Any]:
    """One ``listchannels`` item (modern shape) from a channel_update's fields."""
    item: dict[str, Any] = {"source": source, "destination": destination}
    flag = 0 if source < destination else 1
    item.update(short_channel_id=scid, direction=flag, public=True, amount_msat=capacity_msat)
    item.update(message_flags=1, channel_flags=flag, active=True, last_update=1_760_000_000)
    item.update(base_fee_millisatoshi=update["fee_base_msat"])
    item.update(fee_per_millionth=update["fee_proportional_millionths"])
    item.update(delay=update["cltv_expiry_delta"], htlc_minimum_msat=update["htlc_minimum_msat"])
    item.update(htlc_maximum_msat=update["htlc_maximum_msat"], features="")
    return item


# --- a realistic node ------------------------------------------------------------------------


def build_node(
    n_channels: int = 10, *, seed: int = 7, snapshot: Path | None = None, forwards: int = 0
) -> NodeState:
    """Our node with ``n_channels`` open channels to peers that are part of a gossip graph.

    The graph is generated (fees and capacities drawn from the 2025 snapshot's distributions,
    see ``/work/shared/data/README.md``) or, with ``snapshot``, a slice of a real
    ``listchannels`` file: every direction touching a peer, the peers picked among its nodes
    with 2 to 200 channels. ``forwards`` settled forwards are then added between our channels.
    """
    rng = random.Random(seed)
    state = NodeState(node_id="02" + _digest("us", seed)[:64])
    peers = _real_slice(state, rng, snapshot, n_channels) if snapshot else None
    if peers is None:
        peers = _generated_graph(state, rng, n_channels, seed)
    state.nodes.append(_node_item(state.node_id, state.alias))
    for i, peer in enumerate(peers):
        capacity = _capacity_msat(rng)
        scid = f"{state.blockheight - rng.randint(1_000, 60_000)}x{3000 + i}x{i % 2}"
        locked_in = {"timestamp": "2025-01-02T03:04:05.678Z", "cause": "user"}
        locked_in.update(old_state="CHANNELD_AWAITING_LOCKIN", new_state="CHANNELD_NORMAL")
        locked_in["message"] = "Lockin complete"
        channel = PeerChannel(scid, peer, _digest("channel", scid), state_changes=[locked_in])
        channel.opener = rng.choice(("local", "remote"))
        channel.total_msat, channel.to_us_msat = capacity, rng.randint(0, capacity // 1000) * 1000
        channel.fee_ppm = rng.choice((50, 100, 200, 500))
        channel.htlc_max_msat = capacity * 99 // 100
        channel.remote = _random_update(rng, capacity)
        state.channels.append(channel)
    senders = [c for c in state.channels if c.to_us_msat >= 10_000_000]
    for _ in range(forwards if senders and n_channels > 1 else 0):
        sink = rng.choice(senders)
        source = rng.choice([c for c in state.channels if c is not sink])
        amount_msat = rng.randint(1, sink.to_us_msat // 20_000) * 1000
        state.add_forward(source.short_channel_id or "", sink.short_channel_id or "", amount_msat)
    return state


def _node_item(node_id: str, alias: str) -> dict[str, Any]:
    item: dict[str, Any] = {"nodeid": node_id, "alias": alias, "color": "3399ff"}
    item.update(last_timestamp=1_760_000_000, features="88a0880a8a59a1", addresses=[])
    return item


def _random_update(rng: random.Random, capacity_msat: int) -> dict[str, int]:
    """Channel_update fields drawn from the 2025 snapshot's fee distributions."""
    return {
        "fee_base_msat": rng.choice((0, 0, 0, 1000, 1000, 1000, 837)),
        "fee_proportional_millionths": rng.choice((0, 1, 10, 50, 100, 100, 200, 500, 2000)),
        "cltv_expiry_delta": rng.choice((34, 40, 80, 80, 144)),
        "htlc_minimum_msat": 1000,
        "htlc_maximum_msat": capacity_msat * 99 // 100,
    }


def _capacity_msat(rng: random.Random) -> int:
    """A capacity around the snapshot's median of 2M sat, within 100k sat and 200M sat."""
    return int(min(2e8, max(1e5, rng.lognormvariate(14.5, 1.4)))) * 1000


def _generated_graph(state: NodeState, rng: random.Random, n_channels: int, seed: int) -> list[str]:
    others = [("03" if n % 2 else "02") + _digest(seed, n)[:64] for n in range(3 * n_channels + 30)]
    state.nodes.extend(_node_item(node, f"node-{n}") for n, node in enumerate(others))
    for n in range(len(others) * 3):
        a, b = rng.sample(others, 2)
        scid = f"{rng.randint(600_000, state.blockheight - 6)}x{n}x0"
        capacity = _capacity_msat(rng)
        for source, sink in ((a, b), (b, a)):
            update = _random_update(rng, capacity)
            state.gossip.append(_direction(scid, source, sink, capacity, update))
    return others[:n_channels]


def _real_slice(state: NodeState, rng: random.Random, snapshot: Path, n: int) -> list[str]:
    with gzip.open(snapshot, "rt", encoding="utf-8") as handle:
        document = json.load(handle)
    items = document["channels"] if isinstance(document, dict) else document
    degree: dict[str, int] = {}
    for item in items:
        degree[item["source"]] = degree.get(item["source"], 0) + 1
    peers = rng.sample(sorted(node for node, d in degree.items() if 2 <= d <= 200), n)
    chosen = set(peers)
    state.gossip = [i for i in items if i["source"] in chosen or i["destination"] in chosen]
    state.nodes.extend(_node_item(peer, f"peer-{k}") for k, peer in enumerate(peers))
    return peers


def main(argv: list[str] | None = None) -> None:
    """Serve a stand-in node as its own process until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.standin_node")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--calls", type=Path)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--forwards", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--legacy", action="store_true")
    args = parser.parse_args(argv)
    if args.state.exists():
        state = NodeState.from_json(json.loads(args.state.read_text()))
    else:
        state = build_node(args.channels, seed=args.seed, forwards=args.forwards)
    flavour = LEGACY if args.legacy else MODERN
    node = StandinNode(
        state, args.socket, flavour=flavour, state_file=args.state, calls_file=args.calls
    )
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    with node:
        node.persist()
        print(f"ready {args.socket}", flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
