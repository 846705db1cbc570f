"""The plugin, the runner and the simulator take the same decision on the same history.

Three programs drive lnopt's engine: the Core Lightning plugin (``lnopt-recommend``, here a real
subprocess speaking the plugin protocol), the standalone runner's one-shot command (``python -m
lnopt recommend``, a real subprocess) and the simulator's lnopt policy (an ``Optimizer`` over a
``SimBackend``). All three read one YAML file that turns the pricing model on, and decide on one
history:

- a generated world's node runs eight days under lnopt's policy in the simulator, started eight
  days before the wall clock so that the history ends about now (the plugin and the runner read
  the wall clock, and the model weighs evidence by its age and holds each fee ``hold_days``).
  lnopt's store then holds its runs' observations, the fee journal of the changes it made and
  every forward;
- the stand-in node serves the simulated node's final state as lightningd serves a node: its
  channels, balances and fees (``listpeerchannels``), the gossip the simulated node last read
  (``listchannels``, ``listnodes``) and every forward (``listforwards``);
- the plugin and the runner each get a copy of the store as their database; the simulator
  answers through the same methods over its own optimizer and store.

Per channel the three give the same action, confidence, reasons (the model's "Tried: ..."
included), proposed policy and guard verdict. The history is checked to put the model to work:
a fee it moves on the evidence, fees it keeps on the evidence, fees it holds, channels without
a payment priced from the market, and the liquidity rules beside it.

The three do not ask at the same second. lnopt runs every 6 hours and the history ends 3 hours
after its last run (:data:`DAYS`), as far as can be from every edge set by a run's time: a
fee's 1.5-day hold, the guard's 6-hour cooldown and one-day count, and the rounding of the days
a fee has been in force. Whatever else time moves (the forwards in the 1- and 7-day windows, the
evidence's weights) changes one way as time passes, and the simulator's answer is checked to be
the same :data:`EDGE_S` later, longer than the plugin and the runner took to answer.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lnopt.backends.cln import ClnBackend
from lnopt.config import load_config
from lnopt.graph import NetworkGraph
from lnopt.methods import Methods
from lnopt.model import Channel, ChannelPolicy, Forward, Mode
from lnopt.service import Optimizer, Scheduler, Service
from lnopt.sim.engine import DAY_S, Simulation
from lnopt.sim.lnopt_policy import INTERVAL_S, LnoptPolicy
from lnopt.sim.network import generate_network
from lnopt.sim.policy import PolicyContext
from lnopt.sim.world import WorldParams, build_world
from lnopt.store import Store
from tests.plugin_harness import RPC_FILE, PluginProcess, short_lightning_dir
from tests.runner_harness import lnopt_json
from tests.standin_node import StandinNode
from tests.standin_node.from_simulation import node_state

SEED = 62
NETWORK_NODES = 250
PAYMENTS = 8_000
PEERS = 10
DAYS = 8.125  # lnopt runs every 6 hours: its last run is 3 hours before the history ends
EDGE_S = 120.0  # the simulator's answer holds this long after the history ends
CONFIG_YAML = "pricing:\n  enabled: 1\n"
PLUGIN_DB = "plugin.sqlite3"
RUNNER_DB = "runner.sqlite3"


@dataclass(frozen=True)
class History:
    simulation: Simulation
    config_path: Path
    store_path: Path  # the simulated lnopt's store, closed
    end_s: float


@dataclass(frozen=True)
class Answers:
    simulator: dict[str, Any]
    plugin: dict[str, Any]
    runner: dict[str, Any]
    simulator_later: dict[str, Any]  # EDGE_S after the history ends
    answered_after_s: float  # when the last of the plugin and the runner had answered
    plugin_backfill: str  # the plugin's start-up backfill, as it logged it


# --- the history -------------------------------------------------------------------------------


def simulated_service(history: History) -> Service:
    """The simulated node's lnopt as its policy drives it, over its own store."""
    backend = history.simulation.backend
    store = Store(history.store_path)
    optimizer = Optimizer(
        backend,
        store,
        load_config(history.config_path),
        mode=Mode.AUTO,
        interval_s=int(INTERVAL_S),
        clock=backend.clock,
    )
    return Service(store, optimizer, Scheduler(optimizer))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("history")
    config_path = folder / "lnopt.yaml"
    config_path.write_text(CONFIG_YAML)
    world = build_world(
        generate_network(seed=SEED, nodes=NETWORK_NODES),
        WorldParams(seed=SEED, payments=PAYMENTS, days=DAYS, peers=PEERS, hubs=PEERS // 3),
    )
    context = PolicyContext(world.median, SEED, folder, load_config(config_path))
    # the history ends now: the plugin and the runner read the wall clock
    simulation = Simulation(world, LnoptPolicy(context), start_s=time.time() - DAYS * DAY_S)
    simulation.run()
    (store_path,) = folder.glob("*.sqlite")
    found = History(simulation, config_path, store_path, simulation.end_s)
    service = simulated_service(found)
    try:
        service.optimizer.backfill()  # the forwards since its last run, as the plugin reads them
    finally:
        service.close()
    return found


# --- the three answers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(history: History) -> Iterator[StandinNode]:
    with short_lightning_dir() as ldir:
        node = StandinNode(node_state(history.simulation), ldir / RPC_FILE).start()
        for name in (PLUGIN_DB, RUNNER_DB):
            shutil.copyfile(history.store_path, ldir / name)
        yield node
        node.stop()


def plugin_answer(ldir: Path, config_path: Path) -> tuple[dict[str, Any], str]:
    """``lnopt-recommend`` once the plugin's start-up backfill is done, and its log line."""
    plugin = PluginProcess(ldir).start()
    try:
        options = {"lnopt-interval": 0, "lnopt-db": PLUGIN_DB, "lnopt-config": str(config_path)}
        assert plugin.handshake(options) is None
        backfill = plugin.wait_for_log("event=backfill", timeout_s=30)
        return plugin.call("lnopt-recommend"), str(backfill["message"])
    finally:
        plugin.close()


@pytest.fixture(scope="module")
def answers(history: History, served: StandinNode) -> Answers:
    ldir = served.socket_path.parent
    simulation = history.simulation
    service = simulated_service(history)
    try:
        simulator = Methods(lambda: service).recommend()
        plugin, backfill = plugin_answer(ldir, history.config_path)
        runner = lnopt_json(
            ldir, "recommend", "--db", str(ldir / RUNNER_DB), "--config", str(history.config_path)
        )
        answered_after_s = time.time() - history.end_s
        simulation.now = history.end_s + EDGE_S  # the engine's clock, which its backend reads
        later = Methods(lambda: service).recommend()
    finally:
        simulation.now = history.end_s
        service.close()
    return Answers(simulator, plugin, runner, later, answered_after_s, backfill)


def htlc(forward: Forward) -> tuple[str, int | None, str]:
    """A forward as the store knows it (by incoming channel and HTLC id), and its status."""
    return forward.in_channel, forward.in_htlc_id, forward.status.value


def decisions(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per channel, the decision: the action, its confidence and reasons, the current and
    proposed policies and the guard's verdict."""
    kept = ("action", "confidence", "reasons", "current", "proposed", "guard")
    return {
        rec["short_channel_id"]: {key: rec[key] for key in kept}
        for rec in answer["recommendations"]
    }


# --- the tests ---------------------------------------------------------------------------------


def channel_view(channels: Sequence[Channel]) -> list[tuple[object, ...]]:
    """What lnopt reads of our channels: ids, peer, capacity, balance, both sides' fees."""
    return [
        (
            c.short_channel_id,
            c.peer_id,
            c.capacity_msat,
            c.local_msat,
            c.our_policy.base_fee_msat,
            c.our_policy.fee_ppm,
            None if c.peer_policy is None else c.peer_policy.fee_ppm,
        )
        for c in channels
    ]


def gossip_view(
    graph: NetworkGraph, ours: Mapping[tuple[str, str], ChannelPolicy] | None = None
) -> list[tuple[object, ...]]:
    """What lnopt reads of the gossip, in order; ``ours`` in place of the listed policies."""
    view = []
    for e in graph.edges:
        policy = (ours or {}).get((e.short_channel_id, e.source), e.policy)
        view.append(
            (
                e.short_channel_id,
                e.source,
                e.destination,
                e.capacity_msat,
                e.active,
                policy.base_fee_msat,
                policy.fee_ppm,
                policy.htlc_min_msat,
            )
        )
    return view


def test_the_stand_in_serves_the_simulated_node(history: History, served: StandinNode) -> None:
    backend = history.simulation.backend
    cln = ClnBackend.from_socket(served.socket_path)
    us = backend.node_info().node_id
    in_force = {(ch.short_channel_id, us): ch.our_policy for ch in backend.channels()}

    assert channel_view(cln.channels()) == channel_view(backend.channels())
    # lightningd lists our own directions with the fees in force; the simulated node's view of
    # them is that of its last gossip read (every 6 hours), which may precede its last changes
    assert gossip_view(cln.gossip()) == gossip_view(backend.gossip(), in_force)
    assert cln.gossip().node_order == backend.gossip().node_order
    assert cln.node_info().block_height == backend.node_info().block_height
    served_forwards = cln.forwards(limit=100_000).forwards  # by creation, then by update
    assert {htlc(f) for f in served_forwards} == {htlc(f) for f in history.simulation.node.forwards}


def test_the_history_puts_the_pricing_model_to_work(answers: Answers) -> None:
    decided = decisions(answers.simulator).values()
    by_evidence = [d for d in decided if d["reasons"][0].startswith("Tried: ")]
    moved = [d for d in by_evidence if d["action"] != "keep"]
    held = [d for d in decided if "held 1.5 days before it is judged" in d["reasons"][-1]]
    quiet = [d for d in decided if d["reasons"][0].startswith("No payment in 28 days")]
    draining = [d for d in decided if d["reasons"][0].startswith("The channel is draining")]

    assert len(by_evidence) >= 2, "the model priced too few channels on their evidence"
    assert moved, "the model moved no fee on its evidence"
    assert len(moved) < len(by_evidence), "the model kept no fee on its evidence"
    for decision in moved:
        assert decision["proposed"]["fee_ppm"] != decision["current"]["fee_ppm"]
        assert decision["guard"] is not None
    assert held and quiet and draining
    assert {d["action"] for d in decided} > {"keep"}


def test_the_plugin_the_runner_and_the_simulator_decide_the_same(answers: Answers) -> None:
    expected = decisions(answers.simulator)

    for who, answer in (("plugin", answers.plugin), ("runner", answers.runner)):
        found = decisions(answer)
        assert found.keys() == expected.keys(), who
        for scid, decision in expected.items():
            assert found[scid] == decision, (who, scid)
        assert answer["queued"] == answers.simulator["queued"] == []
        assert answer["hands_off"] == answers.simulator["hands_off"] == []


def test_the_plugin_found_every_forward_of_the_node_in_its_copy_of_the_store(
    answers: Answers,
) -> None:
    assert "source=cln counted=0" in answers.plugin_backfill


def test_no_decision_sits_at_an_edge_of_time(answers: Answers) -> None:
    assert answers.answered_after_s < EDGE_S
    assert decisions(answers.simulator_later) == decisions(answers.simulator)
