"""lnopt_plugin.py as a real subprocess, driven over the plugin protocol as lightningd drives it,
against a stand-in node serving the JSON-RPC socket."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lnopt.backends.cln import ForwardPosition
from lnopt.config import HEURISTIC_NAMES, default_config
from lnopt.errors import BackendUnavailable
from lnopt.plugin_protocol import UNEXPECTED_ERROR_CODE, LnoptRequest
from lnopt.store import Store
from lnopt_plugin import answer
from tests.conftest import Launch
from tests.plugin_harness import (
    RPC_FILE,
    PluginErrorReply,
    PluginExited,
    PluginProcess,
    forward_event,
    short_lightning_dir,
    wait_for,
)
from tests.standin_node import LEGACY, Close, Flavour, NodeState, StandinNode, build_node

METHODS = {
    "lnopt-score",
    "lnopt-recommend",
    "lnopt-apply",
    "lnopt-approve",
    "lnopt-reject",
    "lnopt-rollback",
    "lnopt-history",
    "lnopt-status",
    "lnopt-simulate",
    "lnopt-report",
    "lnopt-alerts",
    "lnopt-release",
}
INVALID_PARAMS = -32602


def scenario_state() -> NodeState:
    """Six channels at 400 ppm: three with 92% of the capacity on our side and no forwards
    (idle outbound liquidity: the engine lowers their fees), three balanced."""
    state = build_node(6, seed=21)
    for i, channel in enumerate(state.channels):
        ratio = 0.92 if i < 3 else 0.5
        channel.to_us_msat = int(channel.total_msat * ratio) // 1000 * 1000
        channel.fee_ppm = 400
    return state


def start_node(ldir: Path, state: NodeState, flavour: Flavour | None = None) -> StandinNode:
    kwargs = {} if flavour is None else {"flavour": flavour}
    return StandinNode(state, ldir / RPC_FILE, **kwargs).start()


@pytest.fixture
def node(ldir: Path) -> Iterator[StandinNode]:
    standin = start_node(ldir, scenario_state())
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def advising() -> Iterator[tuple[StandinNode, PluginProcess]]:
    """One advise-mode plugin shared by the tests that only read or are refused."""
    with short_lightning_dir() as path:
        standin = start_node(path, scenario_state())
        plugin = PluginProcess(path).start()
        assert plugin.handshake({"lnopt-interval": 0, "lnopt-mode": "advise"}) is None
        yield standin, plugin
        plugin.close()
        standin.stop()


def fees(node: StandinNode) -> dict[str, tuple[int, int]]:
    return {c.short_channel_id or "": (c.fee_base_msat, c.fee_ppm) for c in node.state.channels}


def first_run(plugin: PluginProcess) -> dict[str, Any]:
    """The first scheduled run, once it has finished."""
    return wait_for(
        lambda: (run := plugin.call("lnopt-status")["last_run"]) and run["finished_at"] and run,
        what="the first scheduled run",
    )


def applicable_changes(plugin: PluginProcess) -> dict[str, dict[str, int]]:
    """The fee changes the plugin recommends and the guard lets through, by channel."""
    found = {
        rec["short_channel_id"]: rec["guard"]["policy"]
        for rec in plugin.call("lnopt-recommend")["recommendations"]
        if rec["guard"] is not None and rec["guard"]["verdict"] != "rejected"
    }
    assert found, "the scenario needs at least one fee change the guard allows"
    return found


# --- the manifest and init ---------------------------------------------------------------------


def test_manifest_declares_typed_options_every_method_and_the_forward_subscription(
    ldir: Path,
) -> None:
    # Given a freshly started plugin
    process = PluginProcess(ldir).start()
    try:
        # When lightningd asks for the manifest
        manifest = process.getmanifest()
    finally:
        process.close()

    # Then it declares typed options, the nine methods and the forward_event subscription
    options = {option["name"]: option for option in manifest["options"]}
    assert options["lnopt-mode"]["type"] == "string"
    assert options["lnopt-mode"]["default"] == "shadow"
    assert options["lnopt-mode"]["dynamic"] is True
    assert options["lnopt-interval"]["type"] == "int"
    assert options["lnopt-interval"]["default"] == 3600
    for name in ("lnopt-max-fee-ppm", "lnopt-max-step-ppm", "lnopt-cooldown"):
        assert options[name]["type"] == "int"
        assert options[name]["dynamic"] is True
        assert "default" not in options[name]  # unset: the YAML file or the defaults apply
    assert options["lnopt-exclude-channel"]["multi"] is True
    assert options["lnopt-exclude-peer"]["multi"] is True
    methods = {method["name"]: method for method in manifest["rpcmethods"]}
    assert set(methods) == METHODS
    assert methods["lnopt-apply"]["usage"].startswith("[channel] [dryrun]")
    assert methods["lnopt-rollback"]["usage"].startswith("target [dryrun]")
    assert methods["lnopt-simulate"]["usage"].startswith("[seeds] [days] [max_payments]")
    assert all(method["description"].strip() for method in methods.values())
    assert "forward_event" in manifest["subscriptions"]
    assert manifest["dynamic"] is True


def test_status_after_init_reports_mode_schedule_store_and_guard(
    node: StandinNode, launch: Launch, ldir: Path
) -> None:
    # Given the plugin started with default options (as lightningd passes them), run once
    plugin = launch({"lnopt-interval": 600})
    run = first_run(plugin)

    # When the operator asks for the status
    db = ldir / "lnopt.sqlite3"
    main_file_before = db.stat().st_size  # the main file only grows; its WAL comes and goes
    status = plugin.call("lnopt-status")

    # Then it shows the mode, the schedule, the store in the lightning-dir and the guard limits
    assert status["mode"] == "shadow"
    assert status["interval_s"] == 600
    assert status["last_run"] == run and run["error"] is None
    assert status["next_run"] == run["started_at"] + 600
    assert status["store"]["path"] == str(ldir / "lnopt.sqlite3")
    wal = ldir / "lnopt.sqlite3-wal"
    on_disk_after = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    assert main_file_before <= status["store"]["size_bytes"] <= on_disk_after + 1_000_000
    assert status["guard"]["max_fee_ppm"] == default_config().guard.max_fee_ppm
    assert set(status["counts"]) >= {
        "forwards",
        "settled",
        "failed",
        "local_failed",
        "decisions",
        "changes",
        "rollbacks",
    }
    assert {"fingerprint", "nodes", "channels", "metrics_age_s"} <= set(status["graph"])


# --- reading: score, recommend, history, report ------------------------------------------------


def test_score_gives_every_channel_the_eight_parts_and_graph_freshness(
    advising: tuple[StandinNode, PluginProcess],
) -> None:
    node, plugin = advising

    result = plugin.call("lnopt-score")

    assert {c["short_channel_id"] for c in result["channels"]} == set(fees(node))
    for channel in result["channels"]:
        assert 0 <= channel["score"] <= 1
        assert channel["confidence_level"] in ("high", "medium", "low")
        assert set(channel["parts"]) == set(HEURISTIC_NAMES)
        for part in channel["parts"].values():
            assert 0 <= part["score"] <= 1 and 0 <= part["confidence"] <= 1
            assert part["explanation"]
            assert isinstance(part["raw"], dict)
    graph = result["graph"]
    assert graph["metrics_computed_at"] is not None and graph["metrics_age_s"] >= 0
    assert graph["nodes"] > len(result["channels"])


def test_score_of_one_channel_answers_for_that_channel_only(
    advising: tuple[StandinNode, PluginProcess],
) -> None:
    node, plugin = advising
    wanted = node.state.channels[2].short_channel_id

    result = plugin.call("lnopt-score", [wanted])

    assert [c["short_channel_id"] for c in result["channels"]] == [wanted]


def test_recommend_gives_decisions_with_reasons_impact_and_guard_verdicts(
    node: StandinNode, launch: Launch
) -> None:
    plugin = launch({"lnopt-max-step-ppm": 20})

    result = plugin.call("lnopt-recommend")

    recommendations = result["recommendations"]
    assert {r["short_channel_id"] for r in recommendations} == set(fees(node))
    for rec in recommendations:
        assert rec["action"] in ("keep", "raise_fees", "lower_fees", "rebalance", "close")
        assert rec["reasons"] and all(isinstance(reason, str) for reason in rec["reasons"])
        assert isinstance(rec["impact"]["daily_fee_delta_msat"], int)
        assert rec["current"]["fee_ppm"] == 400
        changes_fee = rec["proposed"] is not None and rec["proposed"] != rec["current"]
        assert (rec["guard"] is not None) == changes_fee
    guarded = [r for r in recommendations if r["guard"] is not None]
    assert guarded, "the scenario lowers the fees of the idle channels"
    for rec in guarded:
        # the step limit given as an option holds every allowed policy within 20 ppm
        assert rec["guard"]["verdict"] in ("approved", "clamped", "rejected")
        if rec["guard"]["verdict"] != "rejected":
            assert abs(rec["guard"]["policy"]["fee_ppm"] - 400) <= 20
    assert result["queued"] == []


def test_report_after_a_shadow_run_lists_what_would_have_changed(
    node: StandinNode, launch: Launch
) -> None:
    # Given a shadow-mode plugin whose first scheduled run is due at start
    plugin = launch({"lnopt-interval": 3600})
    first_run(plugin)
    expected = applicable_changes(plugin)

    # When the operator asks for the report
    report = plugin.call("lnopt-report", {"days": 7})

    # Then it lists each channel lnopt would have changed, with its reasons and verdict
    would = {record["short_channel_id"]: record for record in report["would_change"]}
    assert set(expected) <= set(would)
    for scid, policy in expected.items():
        assert would[scid]["guarded"] == policy
        assert would[scid]["reasons"]
    assert report["decisions"] == len(node.state.channels)
    assert sum(report["actions"].values()) == report["decisions"]
    assert report["changes"] == []  # shadow mode made none


# --- shadow mode never changes the node --------------------------------------------------------


def test_shadow_mode_runs_and_dry_runs_without_a_single_setchannel(
    node: StandinNode, launch: Launch
) -> None:
    plugin = launch({"lnopt-interval": 3600})
    before = fees(node)

    first_run(plugin)
    dry = plugin.call("lnopt-apply")
    with pytest.raises(PluginErrorReply, match="shadow mode") as refused:
        plugin.call("lnopt-apply", {"channel": "all", "dryrun": False})

    assert dry["dryrun"] is True and dry["batch_id"] is None
    assert dry["changes"] and all(c["status"] is None for c in dry["changes"])
    assert "setconfig lnopt-mode" in refused.value.message
    assert node.calls_to("setchannel") == []
    assert fees(node) == before
    status = plugin.call("lnopt-status")
    assert status["counts"]["decisions"] == len(before)
    assert status["counts"]["changes"] == 0


# --- applying and rolling back -----------------------------------------------------------------


def test_dry_run_calls_no_setchannel_and_a_real_apply_sets_exactly_the_guarded_fees(
    node: StandinNode, launch: Launch
) -> None:
    plugin = launch({"lnopt-mode": "advise"})
    expected = applicable_changes(plugin)
    before = fees(node)

    dry = plugin.call("lnopt-apply", ["all", True])
    assert node.calls_to("setchannel") == []
    real = plugin.call("lnopt-apply", {"dryrun": False})

    assert {c["short_channel_id"] for c in dry["changes"]} == set(expected)
    assert real["dryrun"] is False and real["batch_id"] == "b1"
    for change in real["changes"]:
        scid = change["short_channel_id"]
        assert change["status"] == "done" and change["error"] is None
        assert isinstance(change["change_id"], int)
        assert change["old"] == {"fee_base_msat": before[scid][0], "fee_ppm": before[scid][1]}
        assert change["new"] == expected[scid]
    calls = {call.params["id"]: call.params for call in node.calls_to("setchannel")}
    assert set(calls) == set(expected)
    for scid, params in calls.items():
        assert (params["feebase"], params["feeppm"]) == (
            expected[scid]["fee_base_msat"],
            expected[scid]["fee_ppm"],
        )
        assert set(params) == {"id", "feebase", "feeppm"}  # nothing else is touched
    after = fees(node)
    for scid in before:
        wanted = expected.get(scid)
        assert after[scid] == (
            (wanted["fee_base_msat"], wanted["fee_ppm"]) if wanted else before[scid]
        )


def test_rollback_of_the_last_batch_restores_every_earlier_policy(
    node: StandinNode, launch: Launch
) -> None:
    plugin = launch({"lnopt-mode": "auto"})
    before = fees(node)
    applied = plugin.call("lnopt-apply", {"dryrun": False})
    assert fees(node) != before

    dry = plugin.call("lnopt-rollback", ["last"])
    assert dry["dryrun"] is True and fees(node) != before
    result = plugin.call("lnopt-rollback", {"target": "last", "dryrun": False})

    assert fees(node) == before
    assert result["batch_id"] == "b2"
    assert {c["short_channel_id"] for c in result["changes"]} == {
        c["short_channel_id"] for c in applied["changes"]
    }
    assert all(c["status"] == "done" for c in result["changes"])
    history = plugin.call("lnopt-history")["changes"]
    originals = [entry for entry in history if entry["rollback_of"] is None]
    assert {entry["status"] for entry in originals} == {"rolled_back"}
    assert plugin.call("lnopt-status")["counts"]["rollbacks"] == len(result["changes"])


@pytest.mark.parametrize("target_kind", ["change_id", "batch_id", "channel"])
def test_rollback_by_change_batch_or_channel_restores_that_channel(
    node: StandinNode, launch: Launch, target_kind: str
) -> None:
    plugin = launch({"lnopt-mode": "advise"})
    before = fees(node)
    applied = plugin.call("lnopt-apply", {"dryrun": False})["changes"]
    first = applied[0]
    target = {
        "change_id": first["change_id"],
        "batch_id": "b1",
        "channel": first["short_channel_id"],
    }[target_kind]

    result = plugin.call("lnopt-rollback", {"target": target, "dryrun": False})

    restored = {c["short_channel_id"] for c in result["changes"]}
    expected = (
        {c["short_channel_id"] for c in applied}
        if target_kind == "batch_id"
        else {first["short_channel_id"]}
    )
    assert restored == expected
    after = fees(node)
    for change in applied:
        scid = change["short_channel_id"]
        new = (change["new"]["fee_base_msat"], change["new"]["fee_ppm"])
        assert after[scid] == (before[scid] if scid in expected else new)


# --- advise mode's queue -----------------------------------------------------------------------


def test_advise_run_queues_proposals_that_are_approved_or_rejected(
    node: StandinNode, launch: Launch
) -> None:
    # Given an advise-mode plugin whose first run has queued proposals
    plugin = launch({"lnopt-mode": "advise", "lnopt-interval": 3600})
    first_run(plugin)
    queued = plugin.call("lnopt-recommend")["queued"]
    assert len(queued) >= 2, "the scenario queues a proposal per idle channel"
    assert node.calls_to("setchannel") == []
    dropped, kept = queued[0], queued[1:]

    # When the operator rejects one and approves the rest
    rejected = plugin.call("lnopt-reject", [dropped["proposal_id"]])
    approved = plugin.call("lnopt-approve", ["all"])

    # Then only the approved proposals reach the node, each with its proposed policy
    assert rejected["status"] == "rejected"
    assert {c["short_channel_id"] for c in approved["changes"]} == {
        p["short_channel_id"] for p in kept
    }
    assert all(c["status"] == "done" for c in approved["changes"])
    called = {call.params["id"]: call.params["feeppm"] for call in node.calls_to("setchannel")}
    assert called == {p["short_channel_id"]: p["new"]["fee_ppm"] for p in kept}
    assert plugin.call("lnopt-recommend")["queued"] == []
    with pytest.raises(PluginErrorReply, match="not queued"):
        plugin.call("lnopt-approve", [dropped["proposal_id"]])


# --- errors an operator can act on -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "needle"),
    [
        ("lnopt-score", ["812345x99x1"], "unknown channel '812345x99x1'"),
        ("lnopt-score", ["not-a-channel"], "BLOCKxTXxOUT"),
        ("lnopt-apply", {"channel": "12x"}, "BLOCKxTXxOUT"),
        ("lnopt-apply", {"dryrun": "maybe"}, 'dryrun must be true or false (or 1/0, "true"'),
        ("lnopt-rollback", ["x42"], "target must be a change id (42; at most "),
        ("lnopt-rollback", ["b99"], "no batch with id b99"),
        ("lnopt-rollback", [4242], "no fee change with id 4242"),
        ("lnopt-rollback", [-3], "target must be a change id (42; at most "),
        ("lnopt-rollback", ["last"], "nothing to roll back"),
        ("lnopt-history", {"limit": -1}, "limit must be a whole number from 1 to 10000; got -1"),
        ("lnopt-history", {"since": -10}, "since must be a unix time in seconds from 0 to "),
        ("lnopt-report", {"days": -3}, "days must be a whole number from 1 to 3650; got -3"),
        (
            "lnopt-report",
            {"days": "week"},
            'days must be a whole number from 1 to 3650; got "week"',
        ),
        ("lnopt-reject", [77], "no proposal with id 77"),
        ("lnopt-approve", ["seven"], "proposal must be a proposal id (3; at most "),
        (
            "lnopt-status",
            {"verbose": True},
            'unknown parameter "verbose"; lnopt-status accepts: no',
        ),
    ],
)
def test_bad_parameters_answer_a_json_rpc_error_that_says_what_is_accepted(
    advising: tuple[StandinNode, PluginProcess], method: str, params: Any, needle: str
) -> None:
    node, plugin = advising

    with pytest.raises(PluginErrorReply) as error:
        plugin.call(method, params)

    assert error.value.code == INVALID_PARAMS
    assert needle in error.value.message
    assert "Traceback" not in json.dumps(error.value.error)
    assert plugin.call("lnopt-status")["mode"] == "advise"  # still answering
    assert node.calls_to("setchannel") == []


def test_an_unreachable_node_is_an_error_not_a_crash(node: StandinNode, launch: Launch) -> None:
    plugin = launch()
    node.stop()

    with pytest.raises(PluginErrorReply, match="cannot be reached") as error:
        plugin.call("lnopt-score")

    assert "Traceback" not in json.dumps(error.value.error)
    assert plugin.call("lnopt-status")["mode"] == "shadow"


def test_dynamic_options_change_mode_and_guard_limits_at_run_time(
    node: StandinNode, launch: Launch
) -> None:
    plugin = launch()

    plugin.call("setconfig", {"config": "lnopt-mode", "val": "advise"})
    plugin.call("setconfig", {"config": "lnopt-max-fee-ppm", "val": "300"})  # as lightningd sends
    refusals = {
        ("lnopt-mode", "turbo"): 'lnopt-mode must be one of shadow, advise, auto; got "turbo"',
        ("lnopt-cooldown", "-1"): (
            f'lnopt-cooldown must be a whole number from 0 to {2**63 - 1}; got "-1"'
        ),
        ("lnopt-max-fee-ppm", "4294967296"): (
            'lnopt-max-fee-ppm must be a whole number from 0 to 4294967295; got "4294967296"'
        ),
        ("lnopt-min-fee-ppm", "9000"): (
            "lnopt-min-fee-ppm 9000 is refused: guard.min_fee_ppm (9000) is above "
            "guard.max_fee_ppm (300); the minimum must not exceed the maximum"
        ),
    }
    for (option, value), message in refusals.items():
        with pytest.raises(PluginErrorReply) as refused:
            plugin.call("setconfig", {"config": option, "val": value})
        assert (refused.value.code, refused.value.message) == (INVALID_PARAMS, message)

    status = plugin.call("lnopt-status")
    assert status["mode"] == "advise"
    assert status["guard"]["max_fee_ppm"] == 300
    assert status["guard"]["cooldown_s"] == default_config().guard.cooldown_s


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"lnopt-mode": "turbo"}, 'lnopt-mode must be one of shadow, advise, auto; got "turbo"'),
        ({"lnopt-interval": -5}, "lnopt-interval must be a whole number from 0 to 31536000"),
        (
            {"lnopt-max-fee-ppm": -1},
            "lnopt-max-fee-ppm must be a whole number from 0 to 4294967295",
        ),
        ({"lnopt-min-fee-ppm": 6000}, "min_fee_ppm (6000) is above guard.max_fee_ppm"),
        ({"lnopt-config": "/nonexistent/lnopt.yaml"}, "cannot read configuration file"),
        ({"lnopt-exclude-channel": ["12x"]}, "lnopt-exclude-channel"),
        ({"lnopt-exclude-peer": ["03abc"]}, "lnopt-exclude-peer must be a node id"),
    ],
)
def test_bad_option_values_disable_the_plugin_at_init_with_the_reason(
    node: StandinNode, ldir: Path, options: dict[str, Any], needle: str
) -> None:
    process = PluginProcess(ldir).start()
    try:
        result = process.handshake(options)
    finally:
        process.close()

    assert isinstance(result, dict) and needle in result["disable"]
    assert not (ldir / "lnopt.sqlite3").exists() or "lnopt-config" in options


def test_options_layer_over_the_yaml_file(node: StandinNode, launch: Launch, ldir: Path) -> None:
    config = ldir / "lnopt.yaml"
    config.write_text("guard:\n  max_fee_ppm: 900\n  max_step_ppm: 40\n")
    excluded = node.state.channels[0].short_channel_id

    plugin = launch(
        {"lnopt-config": str(config), "lnopt-max-step-ppm": 25, "lnopt-exclude-channel": excluded}
    )

    guard = plugin.call("lnopt-status")["guard"]
    assert guard["max_fee_ppm"] == 900  # from the file
    assert guard["max_step_ppm"] == 25  # the option wins
    assert guard["exclude_channels"] == [excluded]
    rec = {r["short_channel_id"]: r for r in plugin.call("lnopt-recommend")["recommendations"]}
    assert rec[excluded]["guard"]["verdict"] == "rejected"


# --- forwards ----------------------------------------------------------------------------------


def test_forward_events_are_counted_once_by_their_final_status(
    node: StandinNode, launch: Launch
) -> None:
    plugin = launch()
    a, b = (c.short_channel_id or "" for c in node.state.channels[:2])
    now = time.time()
    finals = ["settled", "settled", "failed", "local_failed", "settled"]
    for htlc, status in enumerate(finals):
        event = dict(in_channel=a, out_channel=b, received_time=now - 60)
        plugin.send_forward_event(forward_event(htlc, "offered", **event))
        plugin.send_forward_event(forward_event(htlc, status, **event))
    plugin.send_forward_event(forward_event(0, "settled", in_channel=a, out_channel=b))  # replay
    plugin.send_forward_event({"status": "settled", "in_channel": "nonsense"})  # malformed

    counts = wait_for(
        lambda: (c := plugin.call("lnopt-status")["counts"])["forwards"] == 5 and c,
        what="five forwards counted",
    )

    assert (counts["settled"], counts["failed"], counts["local_failed"]) == (3, 1, 1)
    activity = plugin.call("lnopt-score", [b])["channels"][0]["parts"]["activity"]
    assert activity["confidence"] > 0.1  # the settled forwards out through b are seen


def test_a_legacy_node_with_msat_strings_works_end_to_end(ldir: Path, launch: Launch) -> None:
    # Given a v23.08 node that answers amounts as "…msat" strings
    node = start_node(ldir, scenario_state(), LEGACY)
    try:
        plugin = launch({"lnopt-mode": "advise"})
        a, b = (c.short_channel_id or "" for c in node.state.channels[:2])

        # When it scores, receives a legacy forward_event and applies a change
        scores = plugin.call("lnopt-score")["channels"]
        plugin.send_forward_event(
            forward_event(
                1,
                "settled",
                in_channel=a,
                out_channel=b,
                in_msat="1001000msat",
                out_msat="1000000msat",
            )
        )
        applied = plugin.call("lnopt-apply", {"dryrun": False})["changes"]

        # Then every channel is scored, the forward counted, and setchannel used plain integers
        assert {s["short_channel_id"] for s in scores} == set(fees(node))
        wait_for(lambda: plugin.call("lnopt-status")["counts"]["settled"] == 1, what="a forward")
        assert applied and all(c["status"] == "done" for c in applied)
        for call in node.calls_to("setchannel"):
            assert isinstance(call.params["feeppm"], int)
    finally:
        node.stop()


def test_backfill_reads_the_forwards_the_node_made_while_the_plugin_was_away(
    node: StandinNode, launch: Launch
) -> None:
    a, b, c = (ch.short_channel_id or "" for ch in node.state.channels[3:6])
    now = time.time()
    node.add_forward(a, b, 100_000_000, received_time=now - 3600)
    node.add_forward(b, c, 50_000_000, received_time=now - 1800, status="failed")

    plugin = launch()
    counts = wait_for(
        lambda: (k := plugin.call("lnopt-status")["counts"])["forwards"] == 2 and k,
        what="the backfill",
    )
    plugin.send_forward_event(  # the same forward again, live: not counted twice
        {**node.state.forwards[0], "payment_hash": "00" * 32}
    )
    time.sleep(0.5)

    assert (counts["settled"], counts["failed"]) == (1, 1)
    assert plugin.call("lnopt-status")["counts"]["forwards"] == 2


def counted(plugin: PluginProcess, total: int) -> dict[str, int]:
    """The status counts once ``total`` forwards are counted."""
    counts: dict[str, int] = wait_for(
        lambda: (k := plugin.call("lnopt-status")["counts"])["forwards"] == total and k,
        what=f"{total} forwards counted",
    )
    return counts


def test_a_forward_that_settled_while_the_plugin_was_stopped_is_counted_once(
    node: StandinNode, launch: Launch
) -> None:
    # Given a plugin that backfilled one settled forward and one still offered, and got the
    # offered one's forward_event, then stopped
    a, b, c = (ch.short_channel_id or "" for ch in node.state.channels[3:6])
    now = time.time()
    node.add_forward(a, b, 100_000_000, received_time=now - 3600)
    offered = node.add_forward(b, c, 50_000_000, received_time=now - 60, status="offered")
    first = launch()
    counted(first, 1)
    first.send_forward_event({**offered, "payment_hash": "11" * 32})
    assert first.close() == 0

    # When, while it is stopped, the offered forward settles and another fails before it is
    # offered, and the plugin starts again
    node.resolve_forward(offered["created_index"], "settled", resolved_time=now - 30)
    node.add_forward(c, a, 20_000_000, received_time=now - 20, status="local_failed")
    node.clear_calls()
    restarted = launch()
    counts = counted(restarted, 3)
    restarted.send_forward_event({**offered, "payment_hash": "11" * 32})  # late, live: once
    time.sleep(0.5)

    # Then both count once; the backfill read on from where the first run stopped, the
    # settled forward by its updated_index
    assert (counts["settled"], counts["local_failed"]) == (2, 1)
    assert restarted.call("lnopt-status")["counts"]["forwards"] == 3
    assert [call.params for call in node.calls_to("listforwards")][:2] == [
        {"index": "created", "start": 3, "limit": 1000},
        {"index": "updated", "start": 2, "limit": 999},
    ]


def test_a_plugin_killed_mid_backfill_resumes_after_its_last_page(ldir: Path) -> None:
    # Given a node with 2100 forwards (three pages) that kills the plugin when it asks for
    # the second page
    state = build_node(6, seed=21, forwards=2100)
    assert len(state.forwards) == 2100
    node = start_node(ldir, state)
    plugin = PluginProcess(ldir).start()
    killed: list[int] = []

    def kill_on_the_second_page(call: Any) -> Close | None:
        if killed or call.params.get("start") != 1001:
            return None
        killed.append(plugin.pid)
        plugin.kill_now()
        return Close.CLOSE

    node.on_call("listforwards", kill_on_the_second_page)
    try:
        with contextlib.suppress(PluginExited):  # the kill may come before init's answer
            plugin.handshake({"lnopt-interval": 0})
        plugin.wait(20)
        plugin.close()
        assert killed == [plugin.pid]
        store = Store(ldir / "lnopt.sqlite3")
        try:
            assert store.forward_counts()["settled"] == 1000
            assert store.forward_cursor("cln") == ForwardPosition(created=1001).pack()
        finally:
            store.close()

        # When it is started again on the same store
        node.clear_calls()
        restarted = PluginProcess(ldir).start()
        try:
            assert restarted.handshake({"lnopt-interval": 0}) is None
            counts = counted(restarted, 2100)
            time.sleep(0.5)

            # Then it read on from the second page, and every forward counts once
            assert node.calls_to("listforwards")[0].params == {
                "index": "created",
                "start": 1001,
                "limit": 1000,
            }
            assert counts["settled"] == 2100
            assert restarted.call("lnopt-status")["counts"]["forwards"] == 2100
        finally:
            restarted.close()
    finally:
        node.stop()


def test_a_legacy_node_is_backfilled_whole_at_each_start_and_counted_once(
    ldir: Path, launch: Launch
) -> None:
    # Given a v23.08 node (no paging) with two forwards, seen by a first run of the plugin
    node = start_node(ldir, scenario_state(), LEGACY)
    try:
        a, b = (ch.short_channel_id or "" for ch in node.state.channels[:2])
        now = time.time()
        node.add_forward(a, b, 10_000_000, received_time=now - 600)
        node.add_forward(b, a, 20_000_000, received_time=now - 500, status="failed")
        first = launch()
        counted(first, 2)
        assert first.close() == 0

        # When one more forward happens while it is stopped and it starts again
        node.add_forward(a, b, 30_000_000, received_time=now - 400)
        restarted = launch()
        counts = counted(restarted, 3)
        time.sleep(0.5)

        # Then each start read the whole history in one call, and each forward counts once
        assert (counts["settled"], counts["failed"]) == (2, 1)
        assert [call.params for call in node.calls_to("listforwards")] == [{}, {}]
    finally:
        node.stop()


def test_shutdown_notification_ends_the_process_cleanly(node: StandinNode, ldir: Path) -> None:
    process = PluginProcess(ldir).start()
    assert process.handshake({"lnopt-interval": 0}) is None

    process.notify("shutdown", {"shutdown": {}})

    assert process.wait(10) == 0
    process.close()


# --- the glue, in process ----------------------------------------------------------------------


class _Sink:
    """What a pyln Request writes its answer through."""

    def __init__(self) -> None:
        self.written: list[dict[str, Any]] = []

    def _write_locked(self, message: dict[str, Any]) -> None:
        self.written.append(message)


def _fails(error: Exception) -> Callable[[], Any]:
    def work() -> Any:
        raise error

    return work


def test_an_unexpected_error_is_answered_in_one_line_and_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = _Sink()
    request = LnoptRequest(sink, "cln:lnopt-score#9", "lnopt-score", {})

    with caplog.at_level(logging.INFO, logger="lnopt.plugin_protocol"):
        answer(request, _fails(ZeroDivisionError("division by zero")))

    (reply,) = sink.written
    assert reply["id"] == "cln:lnopt-score#9"
    assert reply["error"]["code"] == UNEXPECTED_ERROR_CODE
    assert reply["error"]["message"] == (
        "lnopt-score failed unexpectedly (ZeroDivisionError: division by zero); "
        "the node's log has the details"
    )
    assert set(reply["error"]) == {"code", "message"}  # no traceback field
    (record,) = [r for r in caplog.records if "rpc_failed" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_an_lnopt_error_keeps_its_message_and_code() -> None:
    sink = _Sink()
    request = LnoptRequest(sink, "cln:lnopt-apply#3", "lnopt-apply", {})

    answer(request, _fails(BackendUnavailable("Core Lightning cannot be reached (getinfo)")))

    (reply,) = sink.written
    assert reply["error"]["code"] == BackendUnavailable.rpc_code
    assert reply["error"] == {
        "code": BackendUnavailable.rpc_code,
        "message": "Core Lightning cannot be reached (getinfo)",
    }
