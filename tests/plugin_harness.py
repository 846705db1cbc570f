"""Drive ``lnopt_plugin.py`` as a real subprocess, speaking the plugin protocol as lightningd does.

lightningd starts a plugin with ``LIGHTNINGD_PLUGIN=1`` in the node's network directory and
talks JSON-RPC 2.0 over the plugin's stdin/stdout, each message followed by a blank line
(``"\\n\\n"``). It asks ``getmanifest``, then ``init`` with the option values and the node's
configuration (``lightning-dir``, ``rpc-file``, ``startup``, ``network``, ``feature_set``), then
passes through method calls and sends notifications such as ``forward_event``. The plugin
answers, and sends ``log`` notifications of its own. The node's JSON-RPC socket is served by
the caller (``tests.standin_node``) at ``lightning-dir/rpc-file``.

Custom notifications are relayed as lightningd relays them (``lightningd/plugin.c``,
``plugin_notification_handle``): a notification whose method the plugin declared in its
manifest's ``notifications`` goes to every plugin started with :meth:`PluginProcess.relay_to`
whose manifest subscribes to that topic (or to ``*``), as
``{"method": topic, "params": {"origin": <the plugin's file name>, "payload": <the params the
plugin sent>}}``; one the plugin did not declare is dropped, as lightningd drops it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
PLUGIN_PATH = REPO / "lnopt_plugin.py"
RPC_FILE = "lightning-rpc"
LIGHTNINGD_VERSION = "v24.11"
FEATURE_SET = {
    "init": "08a0000a8a5961",
    "node": "88a0000a8a5961",
    "channel": "",
    "invoice": "02000002024100",
}


@contextmanager
def short_lightning_dir() -> Iterator[Path]:
    """A fresh lightning-dir with a short path (a unix socket path holds at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="lnopt-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def wait_for(
    predicate: Callable[[], Any], *, timeout_s: float = 20.0, what: str = "the condition"
) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value, or TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.05)


class PluginErrorReply(Exception):
    """The plugin answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        self.method = method
        self.error = dict(error)
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        super().__init__(f"{method}: [{self.code}] {self.message}")


class PluginExited(Exception):
    """The plugin process ended before it answered."""


class FifoLock:
    """A lock granted in the order it was asked for, as lightningd interleaves what it writes to
    a plugin. A plain lock lets a thread writing back-to-back (a flood) take it again before a
    waiting method call gets a turn."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._turns:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._turns.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._serving += 1
            self._turns.notify_all()


@dataclass
class _Pending:
    method: str
    done: threading.Event = field(default_factory=threading.Event)
    reply: Mapping[str, Any] | None = None


def forward_event(
    in_htlc_id: int,
    status: str,
    *,
    in_channel: str = "800000x1x0",
    out_channel: str = "800000x2x0",
    in_msat: int | str = 1_001_000,
    out_msat: int | str = 1_000_000,
    received_time: float = 1_760_000_000.0,
    created_index: int | None = None,
) -> dict[str, Any]:
    """One ``forward_event`` payload in Core Lightning's shape (``offered`` or a final status)."""
    event: dict[str, Any] = {
        "payment_hash": f"{in_htlc_id:064x}",
        "in_channel": in_channel,
        "in_htlc_id": in_htlc_id,
        "out_channel": out_channel,
        "out_htlc_id": in_htlc_id,
        "in_msat": in_msat,
        "out_msat": out_msat,
        "status": status,
        "style": "tlv",
        "received_time": received_time,
        "created_index": created_index if created_index is not None else in_htlc_id + 1,
        "updated_index": created_index if created_index is not None else in_htlc_id + 1,
    }
    if isinstance(in_msat, int) and isinstance(out_msat, int):
        event["fee_msat"] = in_msat - out_msat
    if status != "offered":
        event["resolved_time"] = received_time + 1.5
    if status in ("failed", "local_failed"):
        event["failcode"] = 4103
        event["failreason"] = "WIRE_TEMPORARY_CHANNEL_FAILURE"
    return event


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as lightningd frames it: compact JSON and a blank line."""
    return json.dumps(message).encode() + b"\n\n"


FINAL_WEIGHTS = {"settled": 0.7, "failed": 0.2, "local_failed": 0.1}


def forward_flood(
    channels: Sequence[str], forwards: int, *, seed: int = 5
) -> tuple[list[bytes], Counter[str], list[bytes]]:
    """Encoded ``forward_event`` notifications for ``forwards`` forwards between ``channels``
    (each offered, and later, in a shuffled group of 100, final), how many ended with each
    final status, and a replay of every hundredth final event."""
    rng = random.Random(seed)
    now = time.time()
    messages: list[bytes] = []
    finals: Counter[str] = Counter()
    replay: list[bytes] = []
    statuses, weights = zip(*FINAL_WEIGHTS.items(), strict=True)
    for start in range(0, forwards, 100):
        group = []
        for htlc in range(start, min(start + 100, forwards)):
            a, b = rng.sample(list(channels), 2)
            fields = {"in_channel": a, "out_channel": b, "received_time": now - rng.uniform(0, 8e4)}
            status = rng.choices(statuses, weights)[0]
            finals[status] += 1
            messages.append(_notification(forward_event(htlc, "offered", **fields)))
            group.append(_notification(forward_event(htlc, status, **fields)))
        rng.shuffle(group)
        messages += group
        replay += group[:1]
    return messages, finals, replay


def _notification(event: Mapping[str, Any]) -> bytes:
    return encode({"jsonrpc": "2.0", "method": "forward_event", "params": {"forward_event": event}})


class PluginProcess:
    """One run of the plugin: a subprocess with lightningd's side of the protocol."""

    def __init__(
        self,
        lightning_dir: Path,
        *,
        rpc_file: str = RPC_FILE,
        plugin_path: Path = PLUGIN_PATH,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command`` is what lightningd runs, as a ``plugin=`` line names it (e.g. an installed
        ``lnopt-plugin``), started as it is with the caller's environment; by default this
        checkout's ``plugin_path`` runs under the test's Python, the checkout on PYTHONPATH."""
        self.lightning_dir = Path(lightning_dir)
        self.rpc_file = rpc_file
        self.plugin_path = plugin_path
        self.logs: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.requests_from_plugin: list[dict[str, Any]] = []
        self._env = dict(env or {})
        self._command = None if command is None else list(command)
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._write_lock = FifoLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stderr_path = self.lightning_dir / f"plugin-stderr-{os.getpid()}-{id(self)}.log"
        self._stderr: IO[bytes] | None = None
        self._exited = threading.Event()
        self.manifest: dict[str, Any] | None = None
        self._subscribers: list[PluginProcess] = []
        self.dropped_notifications: list[dict[str, Any]] = []

    def relay_to(self, subscriber: PluginProcess) -> None:
        """Deliver this plugin's custom notifications to ``subscriber`` (see the module
        docstring); ``subscriber`` must have answered ``getmanifest``."""
        self._subscribers.append(subscriber)

    @property
    def shortname(self) -> str:
        """The name lightningd gives the plugin as a notification's ``origin``."""
        return self.plugin_path.name

    def _relay(self, message: dict[str, Any]) -> None:
        method = str(message.get("method"))
        declared = {topic.get("method") for topic in (self.manifest or {}).get("notifications", [])}
        if method not in declared:
            self.dropped_notifications.append(message)
            return
        relayed = {
            "jsonrpc": "2.0",
            "method": method,
            "params": {"origin": self.shortname, "payload": message.get("params")},
        }
        for subscriber in self._subscribers:
            topics = (subscriber.manifest or {}).get("subscriptions", [])
            if method in topics or "*" in topics:
                subscriber.notify(method, relayed["params"])

    # --- process ---------------------------------------------------------------------------

    def start(self) -> PluginProcess:
        env = {**os.environ, "LIGHTNINGD_PLUGIN": "1", "LIGHTNINGD_VERSION": LIGHTNINGD_VERSION}
        command = self._command
        if command is None:
            command = [sys.executable, str(self.plugin_path)]
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(self._env)
        self._stderr = self._stderr_path.open("wb")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=self.lightning_dir,
            env=env,
        )
        self._reader = threading.Thread(target=self._read_loop, name="harness-reader", daemon=True)
        self._reader.start()
        return self

    @property
    def pid(self) -> int:
        return self._require_process().pid

    @property
    def returncode(self) -> int | None:
        return self._require_process().poll()

    @property
    def stderr_text(self) -> str:
        return self._stderr_path.read_text(errors="replace") if self._stderr_path.exists() else ""

    def wait(self, timeout_s: float = 10.0) -> int:
        return self._require_process().wait(timeout=timeout_s)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it."""
        process = self._require_process()
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self._exited.wait(timeout=10)

    def kill_now(self) -> None:
        """SIGKILL and wait until the process is gone; safe from any thread (a node's hook)."""
        process = self._require_process()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def close(self, timeout_s: float = 10.0) -> int | None:
        """End the run as lightningd does on shutdown: close stdin, then wait (kill if stuck)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None and process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._exited.wait(timeout=10)
        if self._stderr is not None:
            self._stderr.close()
        return process.returncode

    # --- lightningd's side of the protocol -------------------------------------------------

    def getmanifest(self) -> dict[str, Any]:
        result = self.call("getmanifest", {"allow-deprecated-apis": False})
        assert isinstance(result, dict)
        self.manifest = result
        return result

    def init(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        startup: bool = True,
        network: str = "regtest",
    ) -> Any:
        """Send ``init`` with the options as lightningd passes them: the value given, else the
        manifest's default, else nothing; a ``multi`` option as a list."""
        configuration = {
            "lightning-dir": str(self.lightning_dir),
            "rpc-file": self.rpc_file,
            "startup": startup,
            "network": network,
            "feature_set": dict(FEATURE_SET),
        }
        given = dict(options or {})
        declared = {option["name"]: option for option in (self.manifest or {}).get("options", [])}
        undeclared = given.keys() - declared.keys()
        if undeclared:
            raise ValueError(f"lightningd refuses options the plugin did not declare: {undeclared}")
        passed: dict[str, Any] = {}
        for name, option in declared.items():
            if name in given:
                value = given[name]
            elif "default" in option:
                value = option["default"]
            else:
                continue
            if option.get("multi") and not isinstance(value, list):
                value = [value]
            passed[name] = value
        return self.call("init", {"options": passed, "configuration": configuration})

    def handshake(self, options: Mapping[str, Any] | None = None) -> Any:
        """``getmanifest`` then ``init``; returns init's result (``{"disable": ...}`` or None)."""
        self.getmanifest()
        return self.init(options)

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | list[Any] | None = None,
        *,
        timeout_s: float = 30.0,
    ) -> Any:
        """A request passed through to the plugin; its result, or :class:`PluginErrorReply`."""
        return self.call_json(method, json.dumps(params or {}), timeout_s=timeout_s)

    def call_json(self, method: str, params_json: str, *, timeout_s: float = 30.0) -> Any:
        """:meth:`call` with the parameters as JSON text, passed on as lightningd passes a
        caller's: numbers such as ``1e400`` or of 10,000 digits, which ``json.dumps`` cannot
        write, arrive as written."""
        request_id = f"cln:{method}#{next(self._ids)}"
        pending = _Pending(method)
        with self._lock:
            self._pending[request_id] = pending
        envelope = f'{{"jsonrpc": "2.0", "id": {json.dumps(request_id)}, "method": '
        self._write(f'{envelope}{json.dumps(method)}, "params": {params_json}}}\n\n'.encode())
        if not pending.done.wait(timeout_s):
            with self._lock:
                self._pending.pop(request_id, None)
            if self._exited.is_set():
                raise PluginExited(f"the plugin exited before answering {method}")
            raise TimeoutError(f"no answer to {method} within {timeout_s} s")
        reply = pending.reply
        if reply is None:
            raise PluginExited(
                f"the plugin exited (code {self.returncode}) before answering {method}; "
                f"stderr:\n{self.stderr_text[-2000:]}"
            )
        if "error" in reply:
            raise PluginErrorReply(method, reply["error"])
        return reply.get("result")

    def notify(self, method: str, params: Mapping[str, Any]) -> None:
        self._write(encode({"jsonrpc": "2.0", "method": method, "params": dict(params)}))

    def send_forward_event(self, event: Mapping[str, Any]) -> None:
        self.notify("forward_event", {"forward_event": dict(event)})

    def send_raw(self, chunks: Iterable[bytes]) -> None:
        """Write pre-encoded messages in one go (a flood of notifications)."""
        self._write(b"".join(chunks))

    def wait_for_log(self, needle: str, timeout_s: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for entry in list(self.logs):
                if needle in str(entry.get("message", "")):
                    return entry
            time.sleep(0.02)
        raise TimeoutError(f"no log line containing {needle!r}; got {self.logs[-20:]}")

    # --- plumbing --------------------------------------------------------------------------

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the plugin process has not been started")
        return self._process

    def _write(self, data: bytes) -> None:
        process = self._require_process()
        assert process.stdin is not None
        with self._write_lock:
            try:
                process.stdin.write(data)
                process.stdin.flush()
            except BrokenPipeError as exc:
                raise PluginExited("the plugin's stdin is closed") from exc

    def _read_loop(self) -> None:
        process = self._require_process()
        assert process.stdout is not None
        buffer = b""
        try:
            while True:
                chunk = process.stdout.read1(65536)
                if not chunk:
                    break
                buffer += chunk
                *messages, buffer = buffer.split(b"\n\n")
                for raw in messages:
                    if raw.strip():
                        self._handle(json.loads(raw))
        finally:
            self._exited.set()
            with self._lock:
                pending = list(self._pending.values())
                self._pending.clear()
            for waiting in pending:
                waiting.done.set()

    def _handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            with self._lock:
                pending = self._pending.pop(str(message.get("id")), None)
            if pending is not None:
                pending.reply = message
                pending.done.set()
            return
        if "id" in message:
            self.requests_from_plugin.append(message)
            self._write(
                encode(
                    {
                        "jsonrpc": "2.0",
                        "id": message["id"],
                        "error": {"code": -32601, "message": f"{method} is not served here"},
                    }
                )
            )
        elif method == "log":
            self.logs.append(message.get("params", {}))
        else:
            self.notifications.append(message)
            if method not in ("message", "progress"):
                self._relay(message)
