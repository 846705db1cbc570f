"""``lnopt run`` and the one-shot commands as real subprocesses against the stand-in Core
Lightning node: auto mode changes fees, a stop signal ends cleanly, a crash is recovered at the
next start, and each one-shot command answers what the plugin's method answers."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lnopt.service.node_lock import lock_path
from lnopt.store import JournalStatus
from tests.plugin_harness import PluginProcess, wait_for
from tests.runner_harness import (
    DB_FILE,
    RPC_FILE,
    RunnerProcess,
    environment,
    fees,
    idle_and_balanced_state,
    lnopt,
    lnopt_json,
    node_args,
    open_entries,
    read_store,
)
from tests.standin_node import Call, Close, Phase, StandinNode


@pytest.fixture
def node(ldir: Path) -> Iterator[StandinNode]:
    standin = StandinNode(idle_and_balanced_state(), ldir / RPC_FILE).start()
    yield standin
    standin.stop()


@pytest.fixture
def runners() -> Iterator[list[RunnerProcess]]:
    started: list[RunnerProcess] = []
    yield started
    for runner in started:
        runner.close()


def journal_by_channel(ldir: Path) -> dict[str, tuple[JournalStatus, tuple[int, int]]]:
    store = read_store(ldir)
    try:
        return {
            entry.short_channel_id: (
                entry.status,
                (entry.new_policy.base_fee_msat, entry.new_policy.fee_ppm),
            )
            for entry in store.journal()
        }
    finally:
        store.close()


def finished_runs(ldir: Path) -> int:
    store = read_store(ldir)
    try:
        last = store.last_run()
        return store.counts()["runs"] if last is not None and last.finished_s else 0
    finally:
        store.close()


# --- the long run --------------------------------------------------------------------------


def test_a_run_in_auto_mode_changes_fees_and_sigterm_ends_it_cleanly(
    ldir: Path, node: StandinNode, runners: list[RunnerProcess]
) -> None:
    before = fees(node)
    runner = RunnerProcess(ldir, ["--mode", "auto", "--interval", "3600"])
    runners.append(runner)

    runner.wait_for_log("event=decision")
    wait_for(lambda: finished_runs(ldir) == 1, what="the first run")
    runner.signal(signal.SIGTERM)
    code = runner.wait()

    assert code == 0, runner.log
    assert "event=stopped signal=SIGTERM exit=0" in runner.log
    assert "Traceback" not in runner.log
    changed = {scid for scid, fee in fees(node).items() if fee != before[scid]}
    assert changed, "auto mode changed no fee on the node"
    journal = journal_by_channel(ldir)
    assert set(journal) == changed
    for scid, (status, new) in journal.items():
        assert status is JournalStatus.DONE
        assert fees(node)[scid] == new
    assert {c.params["id"] for c in node.calls_to("setchannel")} == changed
    assert not (ldir / f"{DB_FILE}-wal").exists(), "the store was not closed"


def test_sigterm_mid_run_lets_the_run_finish_and_leaves_no_open_journal_entry(
    ldir: Path, node: StandinNode, runners: list[RunnerProcess]
) -> None:
    runner = RunnerProcess(ldir, ["--mode", "auto", "--interval", "3600"])
    runners.append(runner)
    signalled = threading.Event()

    def slow_setchannel(call: Call) -> None:
        if not signalled.is_set():
            signalled.set()
            runner.signal(signal.SIGTERM)  # the first change of the batch is being made
        threading.Event().wait(0.3)

    node.on_call("setchannel", slow_setchannel)
    code = runner.wait()

    assert signalled.is_set()
    assert code == 0, runner.log
    assert "event=stopping signal=SIGTERM" in runner.log
    assert "event=stopped signal=SIGTERM exit=0" in runner.log
    assert open_entries(ldir) == []
    journal = journal_by_channel(ldir)
    assert len(journal) == len(node.calls_to("setchannel")) >= 2  # the whole batch was made
    assert all(status is JournalStatus.DONE for status, _ in journal.values())
    store = read_store(ldir)
    try:
        last = store.last_run()
        assert last is not None and last.finished_s is not None and last.changes == len(journal)
        assert store.counts()["runs"] == 1
    finally:
        store.close()
    assert not (ldir / f"{DB_FILE}-wal").exists(), "the store was not closed"


def test_a_stop_between_runs_starts_no_new_run(
    ldir: Path, node: StandinNode, runners: list[RunnerProcess]
) -> None:
    runner = RunnerProcess(ldir, ["--interval", "3600"])
    runners.append(runner)
    wait_for(lambda: finished_runs(ldir) == 1, what="the first run")
    runner.wait_for_log("event=backfill")

    runner.signal(signal.SIGINT)

    assert runner.wait() == 0
    assert "event=stopped signal=SIGINT exit=0" in runner.log
    assert finished_runs(ldir) == 1
    assert node.calls_to("setchannel") == []  # shadow mode, the default


def test_each_scheduled_run_first_reads_the_forwards_made_since_the_last(
    ldir: Path, node: StandinNode, runners: list[RunnerProcess]
) -> None:
    runner = RunnerProcess(ldir, ["--interval", "2"])
    runners.append(runner)
    wait_for(lambda: finished_runs(ldir) >= 1, what="the first run")
    first, second = (c.short_channel_id or "" for c in node.state.channels[3:5])

    node.add_forward(first, second, 50_000_000)
    wait_for(lambda: finished_runs(ldir) >= 3, what="two more runs")
    runner.signal(signal.SIGTERM)

    assert runner.wait() == 0
    store = read_store(ldir)
    try:
        assert store.counts()["forwards"] == 1
    finally:
        store.close()


def test_a_change_a_crash_left_open_is_settled_when_the_runner_starts_again(
    ldir: Path, node: StandinNode, runners: list[RunnerProcess]
) -> None:
    before = fees(node)
    crashed = RunnerProcess(ldir, ["--mode", "auto", "--interval", "3600"])
    runners.append(crashed)
    killed: list[str] = []

    def kill_at_first_setchannel(call: Call) -> Close | None:
        if killed:
            return None
        killed.append(str(call.params["id"]))  # type: ignore[call-overload]
        crashed.kill_now()
        return Close.CLOSE

    node.on_call("setchannel", kill_at_first_setchannel, phase=Phase.BEFORE)
    crashed.process.wait(timeout=60)
    assert [entry.short_channel_id for entry in open_entries(ldir)] == killed

    restarted = RunnerProcess(ldir, ["--mode", "auto", "--interval", "0"])
    runners.append(restarted)
    restarted.wait_for_log("event=recovered")
    restarted.signal(signal.SIGTERM)

    assert restarted.wait() == 0
    assert open_entries(ldir) == []
    assert "outcome=old_policy_kept" in restarted.log
    assert fees(node)[killed[0]] == before[killed[0]]


# --- one-shot commands answer what the plugin answers ---------------------------------------


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON documents first differ (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if found := first_difference(x, y, f"{path}[{i}]"):
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


@pytest.fixture
def plugin(ldir: Path, node: StandinNode) -> Iterator[PluginProcess]:
    """An advise-mode plugin on the same node and store as the commands, once its first
    scheduled run has queued proposals."""
    process = PluginProcess(ldir).start()
    assert process.handshake({"lnopt-interval": 3600, "lnopt-mode": "advise"}) is None
    wait_for(
        lambda: (run := process.call("lnopt-status")["last_run"]) and run["finished_at"],
        what="the plugin's first run",
    )
    yield process
    process.close()


def test_one_shot_commands_answer_the_plugins_json_for_the_same_state(
    ldir: Path, node: StandinNode, plugin: PluginProcess
) -> None:
    settings = ("--mode", "advise", "--interval", "3600")

    def same(verb: str, params: dict[str, Any], *args: str) -> tuple[Any, Any]:
        return plugin.call(f"lnopt-{verb}", params), lnopt_json(ldir, verb, *args, *settings)

    ours, theirs = same("recommend", {})
    assert theirs == ours and ours["recommendations"] and len(ours["queued"]) >= 2
    ours, theirs = same("apply", {})
    assert theirs == ours and ours["dryrun"] is True and ours["changes"]
    assert node.calls_to("setchannel") == []
    channel = node.state.channels[0].short_channel_id or ""
    ours, theirs = same("score", {"channel": channel}, "--channel", channel)
    assert without(theirs, "taken_at", "graph") == without(ours, "taken_at", "graph")
    assert [c["short_channel_id"] for c in theirs["channels"]] == [channel]
    assert theirs["graph"]["fingerprint"] == ours["graph"]["fingerprint"]

    queued = plugin.call("lnopt-recommend")["queued"]
    approved = lnopt_json(ldir, "approve", str(queued[0]["proposal_id"]), *settings)
    rejected = lnopt_json(ldir, "reject", str(queued[1]["proposal_id"]), *settings)
    assert [c["status"] for c in approved["changes"]] == ["done"]
    assert rejected["status"] == "rejected"
    new = approved["changes"][0]["new"]
    assert fees(node)[queued[0]["short_channel_id"]] == (new["fee_base_msat"], new["fee_ppm"])

    for verb, params, args in (
        ("history", {}, ()),
        ("history", {"limit": 1, "channel": channel}, ("--limit", "1", "--channel", channel)),
        ("rollback", {"target": "last"}, ("last",)),
    ):
        ours, theirs = same(verb, params, *args)
        assert theirs == ours, (verb, first_difference(theirs, ours))
    ours, theirs = same("recommend", {})
    assert theirs["queued"] == ours["queued"] and len(ours["queued"]) == len(queued) - 2
    ours, theirs = same("report", {"days": 3}, "--days", "3")
    assert without(theirs, "until", "since") == without(ours, "until", "since")
    assert ours["changes"] and ours["decisions"]
    ours, theirs = same("status", {})
    scheduled = ("graph", "store", "next_run", "scheduler")  # a one-shot runs no scheduler
    assert without(theirs, *scheduled) == without(ours, *scheduled)
    assert theirs["scheduler"] is None and ours["scheduler"]["alive"] is True
    assert theirs["next_run"] == ours["last_run"]["started_at"] + 3600
    assert theirs["store"]["path"] == ours["store"]["path"] == str(ldir / DB_FILE)
    assert theirs["counts"]["changes"] == 1


def test_apply_and_rollback_change_the_node_only_with_no_dry_run(
    ldir: Path, node: StandinNode
) -> None:
    before = fees(node)
    auto = ("--mode", "auto")

    dry = lnopt_json(ldir, "apply", *auto)
    assert dry["dryrun"] is True and dry["changes"]
    assert all(change["status"] is None for change in dry["changes"])
    assert node.calls_to("setchannel") == [] and fees(node) == before

    real = lnopt_json(ldir, "apply", "--no-dry-run", *auto)
    assert real["dryrun"] is False and real["batch_id"] == "b1"
    assert [c["new"] for c in real["changes"]] == [c["new"] for c in dry["changes"]]
    after = fees(node)
    for change in real["changes"]:
        assert change["status"] == "done"
        assert after[change["short_channel_id"]] == tuple(change["new"].values())

    calls = len(node.calls_to("setchannel"))
    dry_back = lnopt_json(ldir, "rollback", "b1", *auto)
    assert dry_back["dryrun"] is True and len(node.calls_to("setchannel")) == calls
    assert fees(node) == after
    lnopt_json(ldir, "rollback", "b1", "--no-dry-run", *auto)
    assert fees(node) == before


def test_a_command_that_changes_the_node_waits_while_another_process_acts_on_it(
    ldir: Path, node: StandinNode
) -> None:
    # Given another process holding the node (as the runner does during a run)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_NODE, str(lock_path(ldir / DB_FILE))],
        env=environment(ldir),
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        # When an apply is started
        apply = ["apply", "--no-dry-run", "--mode", "auto", *node_args(ldir)]
        applying = subprocess.Popen(
            [sys.executable, "-m", "lnopt", *apply],
            cwd=ldir,
            env=environment(ldir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Then it changes nothing until the other process lets go
        with pytest.raises(subprocess.TimeoutExpired):
            applying.wait(timeout=15)
        assert node.calls_to("setchannel") == []
    finally:
        holder.communicate("release\n", timeout=30)
    out, err = applying.communicate(timeout=120)
    assert applying.returncode == 0, err
    assert {c["status"] for c in json.loads(out)["changes"]} == {"done"}
    assert node.calls_to("setchannel")


HOLD_THE_NODE = """
import sys
from pathlib import Path
from lnopt.service.node_lock import NodeLock
with NodeLock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_real_apply_in_shadow_mode_is_refused_with_what_to_do(
    ldir: Path, node: StandinNode
) -> None:
    done = lnopt(ldir, "apply", "--no-dry-run", *node_args(ldir))

    assert done.returncode == 2
    assert done.stderr.startswith("lnopt: lnopt is in shadow mode")
    assert "--mode" in done.stderr and "Traceback" not in done.stderr
    assert node.calls_to("setchannel") == []


def test_an_unreachable_node_is_a_one_line_error(ldir: Path) -> None:
    done = lnopt(ldir, "status", *node_args(ldir))
    assert done.returncode == 0  # status reads only the store

    done = lnopt(ldir, "recommend", *node_args(ldir))

    assert done.returncode == 2
    assert done.stderr.startswith("lnopt: ") and "Traceback" not in done.stderr
    assert done.stdout == ""


# --- alerts and metrics --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_runner_serves_metrics_when_asked(
    ldir: Path, node: StandinNode, runners: list[RunnerProcess]
) -> None:
    port = free_port()
    runner = RunnerProcess(ldir, ["--interval", "3600", "--metrics-port", str(port)])
    runners.append(runner)
    wait_for(lambda: finished_runs(ldir) == 1, what="the first run")

    def scraped() -> dict[str, list[Any]]:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        found = {f.name: f.samples for f in text_string_to_metric_families(text)}
        return found if found.get("lnopt_runs") else {}

    families = wait_for(scraped, what="a run counted on the metrics endpoint")
    runs = {
        s.labels["result"]: s.value for s in families["lnopt_runs"] if s.name.endswith("_total")
    }
    assert runs["ok"] == 1.0
    fee_rates = {s.labels["short_channel_id"]: s.value for s in families["lnopt_channel_fee_ppm"]}
    assert fee_rates == {scid: float(fee) for scid, (_, fee) in fees(node).items()}
    runner.signal(signal.SIGTERM)
    assert runner.wait() == 0, runner.log


def test_a_bad_metrics_port_is_a_one_line_error(ldir: Path) -> None:
    done = lnopt(ldir, "run", *node_args(ldir), "--metrics-port", "70000")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        'lnopt: metrics-port must be a whole number from 0 to 65535; got "70000"'
    )
