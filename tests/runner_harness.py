"""Run the standalone runner and its one-shot commands as real subprocesses (``python -m
lnopt``), against a stand-in Core Lightning node serving ``lightning-rpc``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lnopt.store import JournalEntry, Store
from tests.plugin_harness import REPO, wait_for
from tests.standin_node import NodeState, StandinNode, build_node

RPC_FILE = "lightning-rpc"
DB_FILE = "lnopt.sqlite3"


def idle_and_balanced_state() -> NodeState:
    """Six channels at 400 ppm: three with 92% of the capacity on our side and no forwards
    (idle outbound liquidity: the engine lowers their fees), three balanced."""
    state = build_node(6, seed=21)
    for i, channel in enumerate(state.channels):
        ratio = 0.92 if i < 3 else 0.5
        channel.to_us_msat = int(channel.total_msat * ratio) // 1000 * 1000
        channel.fee_ppm = 400
    return state


def environment(state_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "CREDENTIALS_DIRECTORY"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["STATE_DIRECTORY"] = str(state_dir)
    return env


def node_args(ldir: Path, *extra: str) -> list[str]:
    """The settings that point a command at the stand-in in ``ldir`` and its store there."""
    return ["--backend", "cln", "--rpc-file", str(ldir / RPC_FILE), *extra]


def lnopt(ldir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m lnopt ARGS`` in ``ldir`` with ``$STATE_DIRECTORY`` = ``ldir``."""
    return subprocess.run(
        [sys.executable, "-m", "lnopt", *args],
        cwd=ldir,
        env=environment(ldir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lnopt_json(ldir: Path, verb: str, *args: str) -> Any:
    """A one-shot command's JSON answer (it must succeed)."""
    done = lnopt(ldir, verb, *args, *node_args(ldir))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class RunnerProcess:
    """``python -m lnopt run ...`` as a background process, its log in a file."""

    def __init__(self, ldir: Path, args: Sequence[str]) -> None:
        self.ldir = ldir
        self._log_path = ldir / f"runner-{len(list(ldir.glob('runner-*.log')))}.log"
        self._log = self._log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lnopt", "run", *node_args(ldir), *args],
            cwd=ldir,
            env=environment(ldir),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    @property
    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout_s: float = 30.0) -> str:
        return wait_for(
            lambda: needle in self.log and self.log, timeout_s=timeout_s, what=repr(needle)
        )

    def signal(self, signum: int = signal.SIGTERM) -> None:
        os.kill(self.process.pid, signum)

    def wait(self, timeout_s: float = 60.0) -> int:
        code = self.process.wait(timeout=timeout_s)
        self._log.close()
        return code

    def kill_now(self) -> None:
        """SIGKILL and wait until the process is gone; safe from a node's hook."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def read_store(ldir: Path) -> Store:
    return Store(ldir / DB_FILE)


def open_entries(ldir: Path) -> list[JournalEntry]:
    store = read_store(ldir)
    try:
        return store.open_journal_entries()
    finally:
        store.close()


def fees(node: StandinNode) -> dict[str, tuple[int, int]]:
    return {c.short_channel_id or "": (c.fee_base_msat, c.fee_ppm) for c in node.state.channels}
