"""The stand-in's HTTPS server: LND's REST routes, macaroon checks, faults, and a request log.

Routes, the permission each needs (``rpcserver.go`` MainRPCServerPermissions) and the gRPC
method each maps to follow ``lnrpc/lightning.yaml``. Errors are the grpc-gateway's:
``{"code": <gRPC code>, "message": ..., "details": []}`` with the HTTP status
``runtime.HTTPStatusFromCode`` gives (Unknown → 500, InvalidArgument → 400, NotFound → 404).
A plain error from LND (a macaroon refused, ``permission denied``) is gRPC Unknown, hence 500.
Request bodies are read as protojson reads them: integers as numbers or decimal strings, an
unknown field refused.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import random
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.standin_lnd.macaroon_service import (
    DEFAULT_ROOT_KEY_ID,
    VALID_ACTIONS,
    VALID_ENTITIES,
    MacaroonCheckFailed,
    MacaroonService,
)
from tests.standin_lnd.node import INVALID_ARGUMENT, NOT_FOUND, UNKNOWN, LndError, NodeState

HTTP_STATUS = {0: 200, 2: 500, 3: 400, 5: 404, 7: 403, 12: 501, 16: 401}


class Fault(enum.Enum):
    TIMEOUT = "timeout"  # the node acts, then the answer stalls past the client's timeout
    ERROR_500 = "500"  # a proxy's 500 page; the node never saw the request
    GARBAGE = "garbage"  # the node acts, then answers 200 with a body that is not JSON
    DROP = "drop"  # the connection is closed before the node sees the request


@dataclass
class FaultPlan:
    """Inject a fault into ``rate`` of the requests whose path starts with one of ``paths``."""

    rate: float
    seed: int = 1
    paths: tuple[str, ...] = ("/v1/",)
    stall_s: float = 1.0
    kinds: tuple[Fault, ...] = tuple(Fault)
    counts: dict[Fault, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, path: str) -> Fault | None:
        if not path.startswith(self.paths):
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            fault = self._rng.choice(self.kinds)
            self.counts[fault] = self.counts.get(fault, 0) + 1
            return fault

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Request:
    """One request as received: the macaroon header as sent (hex), the body parsed."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    macaroon_hex: str | None
    fault: Fault | None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    full_method: str
    permission: tuple[str, str]
    handler: str


def _route(method: str, path: str, rpc: str, permission: str, handler: str) -> Route:
    entity, action = permission.split(":")
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
    return Route(method, pattern, f"/lnrpc.Lightning/{rpc}", (entity, action), handler)


ROUTES = (
    _route("GET", "/v1/getinfo", "GetInfo", "info:read", "getinfo"),
    _route("GET", "/v1/channels", "ListChannels", "offchain:read", "channels"),
    _route("GET", "/v1/fees", "FeeReport", "offchain:read", "fees"),
    _route("GET", "/v1/graph", "DescribeGraph", "info:read", "graph"),
    _route("GET", "/v1/graph/edge/{chan_id}", "GetChanInfo", "info:read", "edge"),
    _route("POST", "/v1/chanpolicy", "UpdateChannelPolicy", "offchain:write", "chanpolicy"),
    _route("POST", "/v1/switch", "ForwardingHistory", "offchain:read", "switch"),
    _route("POST", "/v1/macaroon", "BakeMacaroon", "macaroon:generate", "bake"),
    _route("GET", "/v1/macaroon/ids", "ListMacaroonIDs", "macaroon:read", "list_ids"),
    _route(
        "DELETE", "/v1/macaroon/{root_key_id}", "DeleteMacaroonID", "macaroon:write", "delete_id"
    ),
    _route(
        "POST",
        "/v1/macaroon/checkpermissions",
        "CheckMacaroonPermissions",
        "macaroon:read",
        "check_permissions",
    ),
)


def _integer(body: dict[str, Any], key: str, default: int = 0) -> int:
    """A protojson integer: a JSON number or a decimal string."""
    value = body.get(key, default)
    if isinstance(value, bool):
        raise LndError(INVALID_ARGUMENT, f"proto: invalid value for integer field {key}: {value}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise LndError(INVALID_ARGUMENT, f"proto: invalid value for integer field {key}: {value!r}")


def _object(body: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise LndError(INVALID_ARGUMENT, f"proto: syntax error: {where} is not an object")
    for key in body:
        if key not in allowed:
            raise LndError(INVALID_ARGUMENT, f'proto: unknown field "{key}"')
    return body


POLICY_FIELDS = {
    "global",
    "chan_point",
    "base_fee_msat",
    "fee_rate",
    "fee_rate_ppm",
    "time_lock_delta",
    "max_htlc_msat",
    "min_htlc_msat",
    "min_htlc_msat_specified",
    "inbound_fee",
    "create_missing_edge",
}
SWITCH_FIELDS = {
    "start_time",
    "end_time",
    "index_offset",
    "num_max_events",
    "peer_alias_lookup",
    "incoming_chan_ids",
    "outgoing_chan_ids",
}


class StandinLnd:
    """An LND REST stand-in serving a :class:`NodeState` over HTTPS on 127.0.0.1."""

    def __init__(
        self,
        node: NodeState,
        *,
        cert_file: Path,
        key_file: Path,
        macaroons: MacaroonService | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node = node
        self.macaroons = macaroons or MacaroonService()
        self.faults: FaultPlan | None = None
        self.garbled: dict[str, Any] = {}  # path → a well-framed answer of the wrong shape
        self.requests: list[Request] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(cert_file, key_file)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StandinLnd:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], OSError):  # ssl.SSLError is one
                    super().handle_error(request, client_address)

            def get_request(self) -> tuple[socket.socket, Any]:
                sock, address = super().get_request()
                return standin._ssl.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                ), address

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bake(self, *permissions: str, root_key_id: int = DEFAULT_ROOT_KEY_ID) -> bytes:
        """A macaroon as ``lncli bakemacaroon`` makes it (the binary file)."""
        ops = [tuple(p.split(":")) for p in permissions]
        return self.macaroons.bake([(e, a) for e, a in ops], root_key_id)

    def admin_macaroon(self) -> bytes:
        """What LND writes to ``admin.macaroon``: every entity's read and write, root key 0."""
        ops = [f"{e}:{a}" for e in VALID_ENTITIES if e != "uri" for a in ("read", "write")]
        return self.bake(*ops, "macaroon:generate", "signer:generate")

    def requests_to(self, method: str, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # --- dispatch --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        fault = self.faults.draw(parts.path) if self.faults is not None else None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        macaroon_hex = handler.headers.get("Grpc-Metadata-macaroon")
        with self._lock:
            self.requests.append(
                Request(method, parts.path, parse_qs(parts.query), body, macaroon_hex, fault)
            )
        if fault is Fault.DROP:
            _drop(handler)
            return
        if fault is Fault.ERROR_500:
            _send(handler, 500, b"Internal Server Error", "text/plain")
            return
        status, answer = self._answer(method, parts.path, parse_qs(parts.query), body, macaroon_hex)
        if fault is Fault.TIMEOUT:
            time.sleep(self.faults.stall_s if self.faults else 1.0)
            _drop(handler)
            return
        if fault is Fault.GARBAGE:
            _send(handler, 200, b"<html>upstream sent garbage", "application/json")
            return
        _send(handler, status, json.dumps(answer).encode(), "application/json")

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        macaroon_hex: str | None,
    ) -> tuple[int, Any]:
        route = next((r for r in ROUTES if r.method == method and r.pattern.match(path)), None)
        if route is None:
            return 404, {"code": NOT_FOUND, "message": "Not Found", "details": []}
        match = route.pattern.match(path)
        assert match is not None
        try:
            self._authorise(macaroon_hex, route)
            if isinstance(body, str):
                raise LndError(INVALID_ARGUMENT, "proto: syntax error: invalid JSON")
            answer = getattr(self, f"_{route.handler}")(query, body, **match.groupdict())
        except LndError as exc:
            return HTTP_STATUS[exc.code], {"code": exc.code, "message": exc.message, "details": []}
        return 200, self.garbled.get(path, answer)

    def _authorise(self, macaroon_hex: str | None, route: Route) -> None:
        if macaroon_hex is None:
            raise LndError(UNKNOWN, "expected 1 macaroon, got 0")
        try:
            data = binascii.unhexlify(macaroon_hex)
        except (binascii.Error, ValueError) as exc:
            raise LndError(UNKNOWN, f"encoding/hex: {exc}") from exc
        try:
            self.macaroons.check(data, [route.permission], route.full_method)
        except MacaroonCheckFailed as exc:
            raise LndError(UNKNOWN, str(exc)) from exc

    # --- handlers --------------------------------------------------------------------------

    def _getinfo(self, query: Any, body: Any) -> Any:
        return self.node.getinfo()

    def _channels(self, query: Any, body: Any) -> Any:
        return self.node.list_channels()

    def _fees(self, query: Any, body: Any) -> Any:
        return self.node.fee_report()

    def _graph(self, query: dict[str, list[str]], body: Any) -> Any:
        return self.node.describe_graph(query.get("include_unannounced", ["false"])[0] == "true")

    def _edge(self, query: Any, body: Any, chan_id: str) -> Any:
        if not chan_id.isdigit():
            raise LndError(INVALID_ARGUMENT, f"bad chan_id {chan_id!r}")
        return self.node.chan_info(int(chan_id))

    def _chanpolicy(self, query: Any, body: Any) -> Any:
        request = _object(body, POLICY_FIELDS, "body")
        with self.node.lock:
            self.node.policy_updates.append(request)
        point = request.get("chan_point")
        if request.get("global"):
            raise LndError(UNKNOWN, "the stand-in updates one channel point at a time")
        if not isinstance(point, dict):
            raise LndError(UNKNOWN, "unknown scope: <nil>")
        point = _object(
            point, {"funding_txid_bytes", "funding_txid_str", "output_index"}, "chan_point"
        )
        txid = point.get("funding_txid_str")
        if not isinstance(txid, str) or not re.fullmatch(r"[0-9a-f]{64}", txid):
            raise LndError(UNKNOWN, "encoding/hex: invalid funding_txid_str")
        fee_rate = request.get("fee_rate", 0)
        ppm = _integer(request, "fee_rate_ppm")
        if fee_rate and ppm:
            raise LndError(
                INVALID_ARGUMENT, "cannot set both FeeRate and FeeRatePpm at the same time"
            )
        if fee_rate:
            ppm = round(float(fee_rate) * 1_000_000)
        inbound = request.get("inbound_fee")
        inbound_pair = None
        if inbound is not None:
            inbound = _object(inbound, {"base_fee_msat", "fee_rate_ppm"}, "inbound_fee")
            inbound_pair = (_integer(inbound, "base_fee_msat"), _integer(inbound, "fee_rate_ppm"))
        failed = self.node.update_policy(
            f"{txid}:{_integer(point, 'output_index')}",
            base_fee_msat=_integer(request, "base_fee_msat"),
            fee_rate_ppm=ppm,
            time_lock_delta=_integer(request, "time_lock_delta"),
            max_htlc_msat=_integer(request, "max_htlc_msat"),
            min_htlc_msat=_integer(request, "min_htlc_msat")
            if request.get("min_htlc_msat_specified") is True
            else None,
            inbound=inbound_pair,
        )
        return {"failed_updates": failed}

    def _switch(self, query: Any, body: Any) -> Any:
        request = _object(body, SWITCH_FIELDS, "body")
        end = _integer(request, "end_time") or int(self._clock())
        return self.node.forwarding_history(
            _integer(request, "start_time"),
            end,
            _integer(request, "index_offset"),
            _integer(request, "num_max_events") or 100,
        )

    def _bake(self, query: Any, body: Any) -> Any:
        request = _object(
            body, {"permissions", "root_key_id", "allow_external_permissions"}, "body"
        )
        help_msg = (
            f"supported actions are {list(VALID_ACTIONS)}, supported entities are "
            f"{list(VALID_ENTITIES)}"
        )
        permissions = request.get("permissions") or []
        if not permissions:
            raise LndError(
                UNKNOWN,
                "permission list cannot be empty. specify at least one "
                f"action/entity pair. {help_msg}",
            )
        ops = []
        for item in permissions:
            entity, action = item.get("entity"), item.get("action")
            if entity not in VALID_ENTITIES:
                raise LndError(UNKNOWN, f"invalid permission entity. {help_msg}")
            if action not in VALID_ACTIONS:
                raise LndError(UNKNOWN, f"invalid permission action. {help_msg}")
            ops.append((entity, action))
        data = self.macaroons.bake(ops, _integer(request, "root_key_id"))
        return {"macaroon": data.hex()}

    def _list_ids(self, query: Any, body: Any) -> Any:
        return {"root_key_ids": [str(i) for i in self.macaroons.root_key_ids()]}

    def _delete_id(self, query: Any, body: Any, root_key_id: str) -> Any:
        if not root_key_id.isdigit():
            raise LndError(INVALID_ARGUMENT, f"bad root_key_id {root_key_id!r}")
        if int(root_key_id) == DEFAULT_ROOT_KEY_ID:
            raise LndError(UNKNOWN, "the specified ID cannot be deleted")
        return {"deleted": self.macaroons.delete(int(root_key_id))}

    def _check_permissions(self, query: Any, body: Any) -> Any:
        request = _object(
            body,
            {"macaroon", "permissions", "fullMethod", "check_default_perms_from_full_method"},
            "body",
        )
        try:
            data = base64.b64decode(request.get("macaroon", ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LndError(
                INVALID_ARGUMENT, "proto: invalid value for bytes field macaroon"
            ) from exc
        ops = [(p.get("entity"), p.get("action")) for p in request.get("permissions") or []]
        try:
            self.macaroons.check(data, ops, str(request.get("fullMethod", "")))
        except MacaroonCheckFailed as exc:
            raise LndError(INVALID_ARGUMENT, str(exc)) from exc
        return {"valid": True}


def _send(handler: BaseHTTPRequestHandler, status: int, payload: bytes, kind: str) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except OSError:
        handler.close_connection = True


def _drop(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
