"""The simulator on an operator's own node (``lnopt sim node``), and its demand's calibration.

The "operator's node" is one whose truth is known: a generated world's node, run at its fees
for ten days, then served as Core Lightning serves a node (the stand-in node's
``listchannels``, ``listpeerchannels`` and ``listforwards``, real shapes and units). Read
back from those answers saved as ``lightning-cli`` saves them, the world is the one the node
came from, and the calibration finds again the demand that made the forwards; the plugin's
``lnopt-simulate`` saves them itself and runs ``sim node`` on them in the background.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from lnopt.errors import InvalidRequest
from lnopt.model import ForwardStatus
from lnopt.sim.calibration import calibrate, recorded_traffic
from lnopt.sim.engine import SimParams, Simulation
from lnopt.sim.network import generate_network
from lnopt.sim.own_node import infer_node_id, our_node, read_recorded_node
from lnopt.sim.policy import PolicyContext
from lnopt.sim.warmup import StartingFees
from lnopt.sim.world import World, WorldParams, build_world
from tests.plugin_harness import (
    REPO,
    PluginErrorReply,
    PluginProcess,
    short_lightning_dir,
    wait_for,
)
from tests.standin_node import NodeState, StandinNode, build_node
from tests.standin_node.from_simulation import channel_update, gossip_item, node_state

SEED = 5
DAYS = 10.0
PAYMENTS = 10_000  # 1,000 payments a day across the network: the truth the calibration must find
SIM_FILES = ("listchannels", "listpeerchannels", "listforwards")


@dataclass(frozen=True)
class RealNode:
    world: World
    state: NodeState
    settled: int  # forwards the node settled in its ten days


@pytest.fixture(scope="module")
def real_node() -> RealNode:
    """A generated world's node after ten days at its fees, as a Core Lightning node's state."""
    world = build_world(
        generate_network(seed=SEED, nodes=600),
        WorldParams(seed=SEED, payments=PAYMENTS, days=DAYS, peers=16, hubs=8),
    )
    context = PolicyContext(world.median, SEED, Path("/tmp"))
    simulation = Simulation(world, StartingFees(context), SimParams())
    simulation.run()
    settled = [f for f in simulation.node.forwards if f.status is ForwardStatus.SETTLED]
    # the node's answers with the gossip and balances it forwarded under, those it started
    # from: the competitors re-priced and the balances moved during the ten days, and a node
    # calibrated from a state far from the one it forwarded in is calibrated less well
    state = node_state(simulation)
    state.gossip = [gossip_item(edge) for edge in world.our.network.edges]
    start = {ch.short_channel_id: ch for ch in world.our.channels}
    for channel in state.channels:
        begun = start[channel.short_channel_id or ""]
        channel.to_us_msat = begun.local_msat
        assert begun.peer_policy is not None
        channel.remote = channel_update(begun.peer_policy, begun.capacity_msat)
    return RealNode(world, state, len(settled))


@pytest.fixture(scope="module")
def served(real_node: RealNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandinNode]:
    with (
        short_lightning_dir() as ldir,
        StandinNode(real_node.state, ldir / "lightning-rpc") as node,
    ):
        yield node


@pytest.fixture(scope="module")
def files(served: StandinNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The node's answers as ``lightning-cli METHOD > FILE`` saves them."""
    from pyln.client import LightningRpc

    rpc = LightningRpc(str(served.socket_path))
    folder = tmp_path_factory.mktemp("answers")
    saved = {}
    for method in SIM_FILES:
        saved[method] = folder / f"{method}.json"
        saved[method].write_text(json.dumps(rpc.call(method)))
    return saved


def test_the_node_read_from_its_answers_is_the_world_it_came_from(
    real_node: RealNode, files: dict[str, Path]
) -> None:
    truth = real_node.world.our
    for node_id in (None, truth.node_id):
        recorded = read_recorded_node(**files, node_id=node_id)
        assert recorded.node_id == truth.node_id  # told from the gossip when not given
        assert len(recorded.settled) == real_node.settled
        our = our_node(recorded)
        assert len(our.network.edges) == len(truth.network.edges)
        assert not any(truth.node_id in (e.source, e.destination) for e in our.network.edges)
        by_scid = {ch.short_channel_id: ch for ch in our.channels}
        for ch in truth.channels:
            found = by_scid[ch.short_channel_id]
            assert (found.peer_id, found.capacity_msat) == (ch.peer_id, ch.capacity_msat)
            assert found.local_msat == ch.local_msat
            assert found.our_policy.fee_ppm == ch.our_policy.fee_ppm
            assert found.peer_policy is not None and ch.peer_policy is not None
            assert found.peer_policy.fee_ppm == ch.peer_policy.fee_ppm


def test_calibration_finds_the_demand_that_made_the_forwards(files: dict[str, Path]) -> None:
    recorded = read_recorded_node(**files)
    traffic = recorded_traffic(recorded.forwards, days=30)
    assert traffic.days == pytest.approx(DAYS, rel=0.1)  # the span the forwards cover
    pilot = WorldParams(seed=SEED, payments=PAYMENTS)
    found = calibrate(our_node(recorded), traffic, world=pilot, sim=SimParams(), seeds=(SEED,))
    truth = PAYMENTS / DAYS
    assert truth / 1.5 < found.payments_per_day < truth * 1.5
    assert 25_000 / 1.6 < found.median_amount_sat < 25_000 * 1.6
    fit = found.fit
    # the check run, on a stream neither pilot used, forwards about what the node did
    assert fit.recorded.forwards_per_day / 1.5 < fit.simulated.forwards_per_day
    assert fit.simulated.forwards_per_day < fit.recorded.forwards_per_day * 1.5
    assert fit.channel_rank_correlation is not None and fit.channel_rank_correlation > 0.5


def test_a_calibrated_world_scales_its_days_to_the_payment_cap(files: dict[str, Path]) -> None:
    recorded = read_recorded_node(**files)
    traffic = recorded_traffic(recorded.forwards, days=30)
    found = calibrate(
        our_node(recorded),
        traffic,
        world=WorldParams(seed=SEED, payments=2000),
        sim=SimParams(),
        seeds=(SEED,),
    )
    full = found.world(WorldParams(seed=SEED), days=30, max_payments=10**9)
    assert full.days == 30 and full.payments == round(found.payments_per_day * 30)
    capped = found.world(WorldParams(seed=SEED), days=30, max_payments=3000)
    assert capped.payments == 3000 and capped.days == pytest.approx(3000 / found.payments_per_day)
    assert capped.demand.median_amount_sat == found.median_amount_sat


def _sim_node(files: dict[str, Path], *extra: str) -> subprocess.CompletedProcess[str]:
    paths = [arg for method in SIM_FILES for arg in (f"--{method}", str(files[method]))]
    return subprocess.run(
        [sys.executable, "-m", "lnopt", "sim", "node", *paths, *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_sim_node_compares_the_tools_on_the_node_and_says_how_well_it_fits(
    files: dict[str, Path], real_node: RealNode
) -> None:
    done = _sim_node(
        files,
        *("--seeds", "2", "--policies", "lnopt", "static", "--days", "7"),
        *("--max-payments", "3000", "--pilot-payments", "4000", "--json"),
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["params"]["node"] == real_node.world.our.node_id
    assert answer["params"]["payments"] <= 3000
    assert {(r["policy"], r["seed"]) for r in answer["runs"]} == {
        (p, s) for p in ("lnopt", "static") for s in (1, 2)
    }
    against = answer["lnopt_against"]["static"]["income"]
    assert against["low"] <= against["geometric_mean"] <= against["high"]
    assert against["wins"] + against["losses"] <= 2
    calibration = answer["calibration"]
    assert calibration["recorded"]["forwards"] == real_node.settled
    recorded, simulated = calibration["recorded"], calibration["simulated"]
    assert recorded["forwards_per_day"] / 2 < simulated["forwards_per_day"]
    assert simulated["forwards_per_day"] < recorded["forwards_per_day"] * 2
    # the static tool at the node's fees: its runs forward at about the recorded rate
    static = [r for r in answer["runs"] if r["policy"] == "static"]
    per_day = sum(r["forwards"] for r in static) / len(static) / answer["params"]["days"]
    assert recorded["forwards_per_day"] / 2.5 < per_day < recorded["forwards_per_day"] * 2.5


def test_sim_node_explains_the_fit_in_words(files: dict[str, Path]) -> None:
    done = _sim_node(
        files,
        *("--seeds", "1", "--policies", "static", "--days", "3"),
        *("--max-payments", "1000", "--pilot-payments", "4000"),
    )
    assert done.returncode == 0, done.stderr
    assert "Demand calibrated to" in done.stdout
    assert re_line("forwards a day", done.stdout)
    assert "Rank correlation of forwards out per channel" in done.stdout
    assert "static" in done.stdout


def re_line(label: str, text: str) -> bool:
    return any(line.startswith(label) and len(line.split()) >= 5 for line in text.splitlines())


def test_sim_node_refuses_bad_files_with_a_clear_error(
    files: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "listforwards.json"
    broken.write_text("{not json")
    done = _sim_node({**files, "listforwards": broken})
    assert done.returncode != 0
    assert "listforwards.json: not JSON" in done.stderr
    assert "Traceback" not in done.stderr
    missing = _sim_node({**files, "listpeerchannels": tmp_path / "absent.json"})
    assert missing.returncode != 0 and "absent.json: cannot be read" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_node_without_forwards_or_channels_cannot_be_calibrated(files: dict[str, Path]) -> None:
    recorded = read_recorded_node(**files)
    with pytest.raises(InvalidRequest, match="no settled forward"):
        recorded_traffic((), days=30)
    with pytest.raises(InvalidRequest, match="no open channel"):
        our_node(replace(recorded, channels=()))
    unknown = tuple(replace(c, short_channel_id="1x1x1") for c in recorded.channels)
    with pytest.raises(InvalidRequest, match="--node-id"):
        infer_node_id(recorded.graph, unknown)


def test_lnopt_simulate_runs_in_the_background_and_answers_when_done(
    real_node: RealNode, ldir: Path
) -> None:
    node = StandinNode(real_node.state, ldir / "lightning-rpc").start()
    plugin = PluginProcess(ldir).start()
    try:
        assert plugin.handshake({"lnopt-interval": 0}) is None
        with pytest.raises(PluginErrorReply) as refused:
            plugin.call("lnopt-simulate", {"seeds": 0})
        assert "seeds" in refused.value.error["message"]
        assert "1 to 20" in refused.value.error["message"]
        asked = {"seeds": 1, "days": 3, "max_payments": 1000}
        started = plugin.call("lnopt-simulate", asked)
        assert started["state"] == "running" and started["request"]["seeds"] == 1
        # the plugin answers its other methods while the simulation runs
        assert plugin.call("lnopt-status")["mode"] == "shadow"
        assert plugin.call("lnopt-simulate", asked)["state"] == "running"
        done = wait_for(
            lambda: (state := plugin.call("lnopt-simulate", asked))["state"] != "running" and state,
            timeout_s=300,
            what="the simulation to end",
        )
        assert done["state"] == "done", done
        answer = done["answer"]
        assert answer["params"]["node"] == real_node.state.node_id
        assert answer["calibration"]["recorded"]["forwards"] == real_node.settled
        assert set(answer["lnopt_against"]) == set(answer["params"]["policies"]) - {"lnopt"}
        folder = Path(done["folder"])
        saved = json.loads((folder / "listforwards.json").read_text())
        assert {f["status"] for f in saved["forwards"]} == {"settled"}
        # asked again, it reports the same answer rather than running again
        again = plugin.call("lnopt-simulate")
        assert again["state"] == "done" and again["answer"] == answer
        assert len(node.calls_to("listchannels")) == 1
    finally:
        plugin.close()
        node.stop()


def test_lnopt_simulate_reports_a_failed_run_with_its_reason(ldir: Path) -> None:
    quiet = build_node(4, seed=8)  # a node that has forwarded nothing yet
    node = StandinNode(quiet, ldir / "lightning-rpc").start()
    plugin = PluginProcess(ldir).start()
    try:
        assert plugin.handshake({"lnopt-interval": 0}) is None
        plugin.call("lnopt-simulate", {"seeds": 1})
        ended = wait_for(
            lambda: (state := plugin.call("lnopt-simulate"))["state"] != "running" and state,
            timeout_s=120,
            what="the simulation to end",
        )
        assert ended["state"] == "failed" and ended["exit_code"] != 0
        assert "no settled forward" in ended["error"]
        assert "Traceback" not in ended["error"]
    finally:
        plugin.close()
        node.stop()
