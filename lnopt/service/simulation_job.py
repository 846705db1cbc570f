"""``lnopt-simulate``: ``lnopt sim node`` on the node's own answers, in the background.

A call saves the node's answers to ``listchannels``, ``listpeerchannels`` and ``listforwards``
(settled ones) in the job's folder, as ``lightning-cli METHOD > FILE`` would, and runs
``python -m lnopt sim node`` on them as a child process at a lower priority: the simulation
holds neither the plugin's threads nor the node's CPU, and it is the very command an operator
runs by hand on those files, with the plugin's configuration as it is at the call. The call
answers at once with the job's state, and so does every
later call: ``running`` (since when, its last progress line), ``done`` (the answer: the
paired verdicts with their intervals and how well the calibrated demand fits the recorded
forwards) or ``failed`` (what the command said). One job runs at a time; a call while one
runs reports on it, a call after it ended reports its answer, and ``restart=true`` starts a
new one once the last has ended (other parameters alone do not replace an answer). The answer
of the last job is kept in the folder, so a restarted plugin still reports it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnopt.config import Config, to_dict
from lnopt.errors import InvalidRequest
from lnopt.params import read_bool, read_int

ANSWERS = {
    "listchannels": None,
    "listpeerchannels": None,
    "listforwards": {"status": "settled"},
}
ANSWER_FILE = "answer.json"
CONFIG_FILE = "config.yaml"  # the plugin's configuration as it is (JSON is YAML)
LOG_FILE = "progress.log"
NICENESS = "10"
SEEDS_MAX = 20
DAYS_MAX = 90
PAYMENTS_MAX = 200_000


@dataclass(frozen=True)
class JobRequest:
    """What an ``lnopt-simulate`` call asks for; :meth:`read` checks the call's parameters."""

    seeds: int = 3
    days: int = 30
    max_payments: int = 20_000
    recorded_days: int = 30

    @classmethod
    def read(cls, seeds: Any, days: Any, max_payments: Any, recorded_days: Any) -> JobRequest:
        return cls(
            seeds=read_int("seeds", seeds, minimum=1, maximum=SEEDS_MAX),
            days=read_int("days", days, minimum=1, maximum=DAYS_MAX),
            max_payments=read_int("max_payments", max_payments, minimum=1000, maximum=PAYMENTS_MAX),
            recorded_days=read_int("recorded_days", recorded_days, minimum=1, maximum=3650),
        )

    def arguments(self, folder: Path) -> list[str]:
        files = [
            arg for method in ANSWERS for arg in (f"--{method}", str(folder / f"{method}.json"))
        ]
        return [
            *files,
            *("--seeds", str(self.seeds), "--days", str(self.days)),
            *("--max-payments", str(self.max_payments)),
            *("--recorded-days", str(self.recorded_days)),
            *("--output", str(folder / ANSWER_FILE)),
        ]


@dataclass(frozen=True)
class _Node:
    folder: Path
    call: Callable[[str, Mapping[str, Any] | None], Any]
    config: Callable[[], Config]


class SimulationJobs:
    """The node's simulations, run one at a time in ``folder`` (see the module docstring)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._node: _Node | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._started_s: float | None = None
        self._request: JobRequest | None = None

    def simulate(
        self,
        seeds: Any = JobRequest.seeds,
        days: Any = JobRequest.days,
        max_payments: Any = JobRequest.max_payments,
        recorded_days: Any = JobRequest.recorded_days,
        restart: Any = False,
    ) -> Any:
        """Compare lnopt with the other fee tools on this node, its demand calibrated to its
        forwards, in the background: starts a simulation (or reports the one under way, or the
        last one's answer); restart=true starts anew once the last has ended."""
        request = JobRequest.read(seeds, days, max_payments, recorded_days)
        again = read_bool("restart", restart)
        with self._lock:
            if self._running():
                return self._state()
            answered = (self._folder / ANSWER_FILE).exists()
            if again or (self._process is None and not answered):
                self._start(request)
            return self._state()

    def attach(
        self,
        folder: Path,
        call: Callable[[str, Mapping[str, Any] | None], Any],
        *,
        config: Callable[[], Config],
    ) -> None:
        """Run in ``folder``, read the node with ``call(method, params)``, and give lnopt the
        configuration ``config()`` returns."""
        self._node = _Node(folder, call, config)

    @property
    def _folder(self) -> Path:
        return self._attached().folder

    def _attached(self) -> _Node:
        if self._node is None:
            raise InvalidRequest("lnopt is not initialised (it was disabled at start-up)")
        return self._node

    def stop(self) -> None:
        """End a job under way (the plugin is stopping)."""
        with self._lock:
            if self._running() and self._process is not None:
                self._process.terminate()
                self._process.wait(timeout=10)

    def _running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self, request: JobRequest) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        (self._folder / ANSWER_FILE).unlink(missing_ok=True)
        node = self._attached()
        for method, params in ANSWERS.items():
            answer = node.call(method, dict(params) if params else None)
            (self._folder / f"{method}.json").write_text(json.dumps(answer))
        command = [sys.executable, "-m", "lnopt", "sim", "node", *request.arguments(self._folder)]
        config_path = self._folder / CONFIG_FILE
        config_path.write_text(json.dumps(to_dict(node.config())))
        command += ["--config", str(config_path)]
        nice = shutil.which("nice")
        if nice is not None:
            command = [nice, "-n", NICENESS, *command]
        with (self._folder / LOG_FILE).open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own command, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=_environment(),
            )
        self._started_s = self._clock()
        self._request = request

    def _state(self) -> dict[str, Any]:
        answer_path = self._folder / ANSWER_FILE
        state: dict[str, Any] = {"folder": str(self._folder)}
        if self._started_s is not None:
            state["started_at"] = int(self._started_s)
        if self._request is not None:
            state["request"] = dataclasses.asdict(self._request)
        if self._running():
            return state | {"state": "running", "progress": self._last_line()}
        if answer_path.exists():
            finished = int(answer_path.stat().st_mtime)
            return state | {
                "state": "done",
                "finished_at": finished,
                "answer": json.loads(answer_path.read_text()),
            }
        assert self._process is not None  # noqa: S101 - started before there is no answer
        return state | {
            "state": "failed",
            "exit_code": self._process.returncode,
            "error": self._last_line(),
        }

    def _last_line(self) -> str:
        try:
            lines = (self._folder / LOG_FILE).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


def _environment() -> dict[str, str]:
    """The plugin's environment, with the lnopt it runs from first on the path."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    return env
