"""LND's REST answers as lnopt reads them, and LND's refusals in words an operator can act on.

LND's REST gateway writes protojson: 64-bit integers as decimal strings (``"capacity":
"2000000"``), 32-bit ones as numbers, every field present (a missing policy is ``null``).
Amounts in ``/v1/channels`` are in sat; policies and forwards are in msat.
A field missing or of the wrong type is a :class:`~lnopt.errors.BackendError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lnopt.backends.cln_shapes import Fields
from lnopt.backends.http import HttpProblem, server_detail
from lnopt.errors import BackendError, InvalidRequest
from lnopt.model import ChannelPolicy, Forward, ForwardStatus, parse_short_channel_id
from lnopt.security.macaroons import Permission

REQUIRED_PERMISSIONS = frozenset(
    {Permission("info", "read"), Permission("offchain", "read"), Permission("offchain", "write")}
)
BAKE_COMMAND = "lncli bakemacaroon --save_to lnopt.macaroon info:read offchain:read offchain:write"

# (method, path pattern) → the permission LND's RPC permission table asks for that route.
ROUTE_PERMISSIONS: tuple[tuple[str, re.Pattern[str], Permission], ...] = tuple(
    (method, re.compile(pattern), Permission.parse(permission))
    for method, pattern, permission in (
        ("GET", r"/v1/getinfo", "info:read"),
        ("GET", r"/v1/graph(/edge/\d+)?", "info:read"),
        ("GET", r"/v1/channels", "offchain:read"),
        ("GET", r"/v1/fees", "offchain:read"),
        ("POST", r"/v1/switch", "offchain:read"),
        ("POST", r"/v1/chanpolicy", "offchain:write"),
        ("POST", r"/v1/macaroon", "macaroon:generate"),
        ("GET", r"/v1/macaroon/ids", "macaroon:read"),
        ("DELETE", r"/v1/macaroon/\d+", "macaroon:write"),
        ("POST", r"/v1/macaroon/checkpermissions", "macaroon:read"),
    )
)


def permission_for(method: str, path: str) -> Permission | None:
    for route_method, pattern, permission in ROUTE_PERMISSIONS:
        if route_method == method and pattern.fullmatch(path):
            return permission
    return None


# --- identifiers -----------------------------------------------------------------------------


def scid_of(chan_id: int) -> str:
    """LND's uint64 channel id as ``BLOCKxTXxOUT`` (3 bytes block, 3 bytes tx, 2 bytes out)."""
    return f"{chan_id >> 40}x{chan_id >> 16 & 0xFFFFFF}x{chan_id & 0xFFFF}"


def chan_id_of(short_channel_id: str) -> int:
    try:
        block, tx, out = parse_short_channel_id(short_channel_id)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if block >= 1 << 24 or tx >= 1 << 24 or out >= 1 << 16:
        raise InvalidRequest(f"short channel id {short_channel_id} does not fit LND's channel id")
    return block << 40 | tx << 16 | out


# --- typed reads -----------------------------------------------------------------------------


class LndFields(Fields):
    """:class:`Fields` that also read protojson's 64-bit integers (decimal strings)."""

    def int64(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self._fail(key, "a 64-bit integer (a decimal string)")

    def lnd_sub(self, key: str) -> LndFields:
        return LndFields(self._get(key), f"{self._where}.{key}")

    def lnd_array(self, key: str) -> list[LndFields]:
        return [LndFields(item, f"{self._where}.{key}[]") for item in self.array(key)]

    def opt_sub(self, key: str) -> LndFields | None:
        return self.lnd_sub(key) if self.has(key) else None


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """One direction's policy exactly as LND holds it, inbound fee included."""

    policy: ChannelPolicy
    max_htlc_msat: int  # 0 where LND has none
    disabled: bool
    inbound_base_msat: int
    inbound_rate_ppm: int
    last_update: int  # unix seconds of the channel_update


def routing_policy(raw: LndFields) -> RoutingPolicy:
    max_htlc_msat = raw.int64("max_htlc_msat")
    return RoutingPolicy(
        policy=ChannelPolicy(
            base_fee_msat=raw.int64("fee_base_msat"),
            fee_ppm=raw.int64("fee_rate_milli_msat"),
            htlc_min_msat=raw.int64("min_htlc"),
            htlc_max_msat=max_htlc_msat or None,
            cltv_delta=raw.integer("time_lock_delta"),
        ),
        max_htlc_msat=max_htlc_msat,
        disabled=raw.flag("disabled"),
        inbound_base_msat=raw.opt_integer("inbound_fee_base_msat") or 0,
        inbound_rate_ppm=raw.opt_integer("inbound_fee_rate_milli_msat") or 0,
        last_update=raw.opt_integer("last_update") or 0,
    )


@dataclass(frozen=True, slots=True)
class LndEdge:
    """One ``ChannelEdge`` of ``/v1/graph`` or ``/v1/graph/edge/{chan_id}``."""

    chan_id: int
    chan_point: str
    node1: str
    node2: str
    capacity_msat: int
    node1_policy: RoutingPolicy | None
    node2_policy: RoutingPolicy | None

    @property
    def short_channel_id(self) -> str:
        return scid_of(self.chan_id)

    def policy_of(self, node_id: str) -> RoutingPolicy | None:
        """The policy ``node_id`` sets for forwarding out of this channel."""
        if node_id == self.node1:
            return self.node1_policy
        if node_id == self.node2:
            return self.node2_policy
        return None

    def other_end(self, node_id: str) -> str:
        return self.node2 if node_id == self.node1 else self.node1


def edge_of(raw: Any, where: str) -> LndEdge:
    item = LndFields(raw, where)
    policies = []
    for key in ("node1_policy", "node2_policy"):
        sub = item.opt_sub(key)
        policies.append(None if sub is None else routing_policy(sub))
    return LndEdge(
        chan_id=item.int64("channel_id"),
        chan_point=item.text("chan_point"),
        node1=item.text("node1_pub"),
        node2=item.text("node2_pub"),
        capacity_msat=item.int64("capacity") * 1000,
        node1_policy=policies[0],
        node2_policy=policies[1],
    )


def split_chan_point(chan_point: str) -> dict[str, Any]:
    """``txid:index`` as UpdateChannelPolicy's ``chan_point`` object."""
    txid, sep, index = chan_point.partition(":")
    if not sep or not re.fullmatch(r"[0-9a-f]{64}", txid) or not index.isdigit():
        raise BackendError(f"LND gave a channel point that is not txid:index: {chan_point!r}")
    return {"funding_txid_str": txid, "output_index": int(index)}


def forward_of(raw: LndFields, position: int) -> Forward:
    """A settled :class:`Forward` from one ForwardingEvent at ``position`` in LND's log."""
    stamp_s = raw.int64("timestamp_ns") / 1e9
    htlc = raw.int64("incoming_htlc_id") if raw.has("incoming_htlc_id") else None
    return Forward(
        in_channel=scid_of(raw.int64("chan_id_in")),
        in_htlc_id=htlc,
        out_channel=scid_of(raw.int64("chan_id_out")),
        in_msat=raw.int64("amt_in_msat"),
        out_msat=raw.int64("amt_out_msat"),
        fee_msat=raw.int64("fee_msat"),
        status=ForwardStatus.SETTLED,
        received_s=stamp_s,
        resolved_s=stamp_s,
        created_index=position,
    )


# --- refusals --------------------------------------------------------------------------------


def _lnd_message(body: Any) -> str:
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return server_detail(body)


# LND answers a macaroon it refuses with HTTP 500 (gRPC code 2): asking again cannot help.
_MACAROON_REFUSALS = (
    "permission denied",
    "macaroon has expired",
    "doesn't exist",
    "signature mismatch",
    "verification failed",
    "expected 1 macaroon",
)


def is_macaroon_refusal(problem: HttpProblem) -> bool:
    """True for LND's refusal of the macaroon itself, which no retry can change."""
    message = _lnd_message(problem.body)
    return any(words in message for words in _MACAROON_REFUSALS)


def describe_refusal(problem: HttpProblem) -> str:
    """LND's error body ``{"code", "message"}`` as a sentence that says what to do."""
    message = _lnd_message(problem.body)
    where = f"{problem.method} {problem.path}"
    edge = re.fullmatch(r"/v1/graph/edge/(\d+)", problem.path)
    if edge and (problem.status == 404 or "edge not found" in message):
        return f"LND has no channel {scid_of(int(edge[1]))} ({where}: {message})"
    if message == "permission denied":
        needed = permission_for(problem.method, problem.path)
        what = f"the permission {needed}" if needed else "a permission this call needs"
        return (
            f"LND refused {where}: the macaroon lacks {what} (permission denied). "
            f"Bake one that has it: {BAKE_COMMAND}, or `lnopt credentials bake-lnd`"
        )
    if "macaroon has expired" in message:
        return (
            f"LND refused {where}: the macaroon has expired ({message}). lnopt sends copies "
            "valid for a few minutes: check that this machine's clock agrees with the node's"
        )
    root_key = re.search(r"root key with id (\d+) doesn't exist", message)
    if root_key:
        return (
            f"LND refused {where}: the macaroon was revoked (its root key id {root_key[1]} "
            "was deleted on the node). Bake a new one with `lnopt credentials bake-lnd`"
        )
    if "signature mismatch" in message or "verification failed" in message:
        return (
            f"LND refused {where}: the macaroon was not made by this node, or its root key "
            f"changed ({message}). Use a macaroon baked by this node"
        )
    if message.startswith("expected 1 macaroon"):
        return f"LND refused {where}: no macaroon was sent ({message})"
    return f"LND refused {where}: HTTP {problem.status}: {message}"
