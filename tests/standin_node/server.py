"""The stand-in's server: the ``lightning-rpc`` socket, the calls it received, hooks on them
and the replies it frames."""

from __future__ import annotations

import enum
import json
import os
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.standin_node.methods import NodeMethods
from tests.standin_node.params import RpcFailure
from tests.standin_node.state import MODERN, Flavour, NodeState


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


class StandinNode(NodeMethods):
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

    def resolve_forward(self, created_index: int, status: str, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            forward = self.state.resolve_forward(created_index, status, **kwargs)
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
                    reply = Reply(result=self._dispatch(call.method, call.params))
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

    def _log_call(self, call: Call) -> None:
        if self._calls_file is not None:
            with self._calls_file.open("a") as handle:
                handle.write(json.dumps({"method": call.method, "params": call.params}) + "\n")


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
