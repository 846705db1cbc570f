"""SIGKILL the plugin process at each step of an apply, restart it on the same lightning-dir and
store, and check that every channel ends with its old or its new policy and the journal says
which.

The stand-in node kills the plugin from inside its own handling of a call: when ``setchannel``
arrives (the journal entry is written, the node not yet changed), after the node applied it
(before the answer), and when the verifying ``listpeerchannels`` arrives (applied, not verified).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnopt.store import JournalEntry, JournalStatus, Store
from tests.plugin_harness import (
    RPC_FILE,
    PluginExited,
    PluginProcess,
    wait_for,
)
from tests.standin_node import Call, Close, NodeState, Phase, StandinNode, build_node

OPTIONS = {"lnopt-mode": "advise", "lnopt-interval": 0}
OPEN = {JournalStatus.PENDING.value, JournalStatus.APPLIED.value}


def idle_channels_state() -> NodeState:
    """Four channels at 400 ppm with 92% of the capacity on our side: each gets a lower fee."""
    state = build_node(4, seed=5)
    for channel in state.channels:
        channel.to_us_msat = int(channel.total_msat * 0.92) // 1000 * 1000
        channel.fee_ppm = 400
    return state


@dataclass
class KillPoint:
    """Kill the plugin on the ``nth`` call of ``method`` in ``phase`` (counting only calls
    after the first ``setchannel`` when ``after_setchannel``)."""

    method: str
    phase: Phase
    interrupted: str  # what recovery must find the interrupted change to be
    nth: int = 1
    after_setchannel: bool = False


KILL_POINTS = {
    "journaled, setchannel not yet applied": KillPoint("setchannel", Phase.BEFORE, "failed"),
    "setchannel applied, not answered": KillPoint("setchannel", Phase.AFTER, "done"),
    "applied, verification read arriving": KillPoint(
        "listpeerchannels", Phase.BEFORE, "done", after_setchannel=True
    ),
    "second change journaled, first done": KillPoint("setchannel", Phase.BEFORE, "failed", 2),
    "second change applied, first done": KillPoint("setchannel", Phase.AFTER, "done", 2),
}


def arm(node: StandinNode, plugin: PluginProcess, point: KillPoint) -> Callable[[], str | None]:
    """Hook the node to SIGKILL the plugin at ``point``; returns the channel whose change was
    interrupted (None while the hook has not fired)."""
    calls = 0
    interrupted: str | None = None

    def hook(call: Call) -> Close | None:
        nonlocal calls, interrupted
        setchannels = node.calls_to("setchannel")
        if interrupted is not None or (point.after_setchannel and not setchannels):
            return None
        calls += 1
        if calls != point.nth:
            return None
        interrupted = str(setchannels[-1].params["id"])
        plugin.kill_now()
        return Close.CLOSE

    node.on_call(point.method, hook, phase=point.phase)
    return lambda: interrupted


def open_entries(ldir: Path) -> list[JournalEntry]:
    store = Store(ldir / "lnopt.sqlite3")
    try:
        return store.open_journal_entries()
    finally:
        store.close()


def policies(node: StandinNode) -> dict[str, tuple[int, int]]:
    return {c.short_channel_id or "": (c.fee_base_msat, c.fee_ppm) for c in node.state.channels}


def as_fees(policy: dict[str, int]) -> tuple[int, int]:
    return (policy["fee_base_msat"], policy["fee_ppm"])


@pytest.mark.parametrize("where", list(KILL_POINTS))
def test_a_kill_at_any_step_leaves_each_channel_at_its_old_or_new_policy_as_journaled(
    ldir: Path, where: str
) -> None:
    # Given a node and an advise-mode plugin about to lower four channels' fees
    node = StandinNode(idle_channels_state(), ldir / RPC_FILE).start()
    try:
        before = policies(node)
        plugin = PluginProcess(ldir).start()
        assert plugin.handshake(OPTIONS) is None
        point = KILL_POINTS[where]
        interrupted = arm(node, plugin, point)

        # When the plugin is killed in the middle of the apply
        with pytest.raises(PluginExited):
            plugin.call("lnopt-apply", {"dryrun": False})
        plugin.close()
        killed_during = interrupted()
        assert killed_during is not None
        at_crash = policies(node)
        assert [e.short_channel_id for e in open_entries(ldir)] == [killed_during]

        # And restarted on the same lightning-dir and store
        restarted = PluginProcess(ldir).start()
        try:
            assert restarted.handshake(OPTIONS) is None
            changes = wait_for(
                lambda: (
                    (found := restarted.call("lnopt-history")["changes"])
                    and not {c["status"] for c in found} & OPEN
                    and found
                ),
                what="recovery of the open journal entries",
            )
        finally:
            restarted.close()
    finally:
        node.stop()

    # Then recovery changed nothing on the node, and the journal says what the node has
    after = policies(node)
    assert after == at_crash
    journaled = {change["short_channel_id"]: change for change in changes}
    assert len(journaled) == len(changes)  # one change per channel
    for scid, fees in after.items():
        change = journaled.get(scid)
        if change is None:
            assert fees == before[scid]
            continue
        assert as_fees(change["old"]) == before[scid]
        assert fees in (as_fees(change["old"]), as_fees(change["new"]))
        assert change["status"] == ("done" if fees == as_fees(change["new"]) else "failed")
        if change["status"] == "failed":
            assert change["error"]
    assert journaled[killed_during]["status"] == point.interrupted
    earlier = [c for c in changes if c["change_id"] < journaled[killed_during]["change_id"]]
    assert len(earlier) == point.nth - 1 and all(c["status"] == "done" for c in earlier)
    assert open_entries(ldir) == []


def test_after_recovery_the_next_apply_finishes_the_interrupted_work(ldir: Path) -> None:
    # Given a plugin killed when its first setchannel arrived, then restarted
    node = StandinNode(idle_channels_state(), ldir / RPC_FILE).start()
    try:
        plugin = PluginProcess(ldir).start()
        assert plugin.handshake(OPTIONS) is None
        arm(node, plugin, KILL_POINTS["journaled, setchannel not yet applied"])
        with pytest.raises(PluginExited):
            plugin.call("lnopt-apply", {"dryrun": False})
        plugin.close()
        restarted = PluginProcess(ldir).start()
        try:
            assert restarted.handshake(OPTIONS) is None

            # When the operator applies again
            result = restarted.call("lnopt-apply", {"dryrun": False})
            history = restarted.call("lnopt-history")["changes"]
        finally:
            restarted.close()
        after = policies(node)
    finally:
        node.stop()

    # Then every channel now has the fee of its latest done change
    assert result["changes"] and all(c["status"] == "done" for c in result["changes"])
    done = {}
    for change in reversed(history):  # oldest first, so the newest done change wins
        if change["status"] == "done":
            done[change["short_channel_id"]] = as_fees(change["new"])
    assert done and all(after[scid] == fees for scid, fees in done.items())
    assert {c["status"] for c in history} <= {"done", "failed"}
