"""The demo and ``sim compare`` run end to end (short versions)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lnopt.errors import ConfigError
from lnopt.sim.commands import add_commands, run_demo
from lnopt.sim.compare import CompareParams, world_for
from lnopt.sim.engine import Simulation
from lnopt.sim.hindsight import GRID, REFINE, FixedFeesPolicy, hindsight
from lnopt.sim.policy import PolicyContext
from lnopt.sim.stats import FLOOR_MSAT
from lnopt.sim.world import with_stream


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="lnopt")
    add_commands(main.add_subparsers(dest="command", required=True))
    return main


def test_demo_prints_the_table_the_reasons_and_writes_the_picture(tmp_path: Path) -> None:
    lines: list[str] = []
    picture = tmp_path / "demo.png"
    comparison = run_demo(
        seeds=(2, 3),
        nodes=400,
        days=3,
        payments=2000,
        workers=1,
        plot_path=picture,
        out=lines.append,
    )
    text = "\n".join(lines)
    assert "income ratio [95% interval]" in text
    for policy in ("lnopt", "static", "feeadjuster", "charge-lnd", "lndg", "clboss", "lndmanage"):
        assert f"\n{policy.rjust(11)}  " in text
    assert "lnopt against its strongest rival" in text
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {r.policy for r in comparison.results} == set(comparison.params.policies)


def test_sim_compare_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(
        [
            "sim",
            "compare",
            "--nodes",
            "300",
            "--days",
            "2",
            "--seeds",
            "5-6",
            "--payments",
            "1500",
            "--policies",
            "lnopt",
            "static",
            "--json",
            "--plot",
            str(tmp_path / "c.png"),
        ]
    )
    assert args.handler(args) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document["policies"]) == {"lnopt", "static"}
    income = document["policies"]["static"]["figures"]["income_sat"]
    assert len(income["values"]) == 2
    assert document["params"]["seeds"] == [5, 6]
    runs = {(run["policy"], run["seed"]): run for run in document["runs"]}
    assert set(runs) == {(p, s) for p in ("lnopt", "static") for s in (5, 6)}
    against = document["lnopt_against"]["static"]["income"]
    assert against["rows"] == [[5, 0], [6, 0]]
    recomputed = [
        math.log(
            (runs["lnopt", s]["net_income_msat"] + FLOOR_MSAT)
            / (runs["static", s]["net_income_msat"] + FLOOR_MSAT)
        )
        for s in (5, 6)
    ]
    assert against["log_ratios"] == pytest.approx(recomputed)
    assert against["geometric_mean"] == pytest.approx(math.exp(sum(recomputed) / 2))
    assert all(run["capped_income_msat"] <= run["income_msat"] for run in runs.values())
    assert (tmp_path / "c.png").exists()


def test_sim_compare_refuses_an_unknown_policy() -> None:
    args = parser().parse_args(["sim", "compare", "--policies", "static", "magic"])
    with pytest.raises(ConfigError, match="unknown policy 'magic'"):
        args.handler(args)


def test_hindsight_is_at_least_every_constant_fee_it_tried(tmp_path: Path) -> None:
    # Given a small world
    params = CompareParams(nodes=300, seeds=(4,), days=2, payments=1500, policies=("static",))
    world = world_for(params, 4)
    context = PolicyContext(world.median, 4, tmp_path)
    # When the hindsight search runs, and separately one of its grid points
    found = hindsight(world, context)
    uniform = Simulation(world, FixedFeesPolicy(context, dict.fromkeys(world.topo.our_scids, 100)))
    # Then the reference is at least what that constant fee earned
    assert found.runs == len(GRID) + len(REFINE) + 1
    assert set(found.fees_ppm) == set(world.topo.our_scids)
    assert found.income_msat >= uniform.run().income_msat


def test_hindsight_keeps_the_starting_fee_of_a_channel_that_never_earned(tmp_path: Path) -> None:
    # Given a small world where some channel earns nothing whatever its fee
    params = CompareParams(nodes=300, seeds=(4,), days=2, payments=1500, policies=("static",))
    world = world_for(params, 4)
    context = PolicyContext(world.median, 4, tmp_path)
    # When the hindsight search runs
    found = hindsight(world, context)
    # Then those channels keep the fee they started with, and the others got a searched fee
    starting = {ch.short_channel_id: ch.our_policy.fee_ppm for ch in world.our.channels}
    assert found.idle, "the small world should leave some channel idle"
    assert found.idle < set(starting)
    assert all(found.fees_ppm[scid] == starting[scid] for scid in found.idle)
    cheap = Simulation(world, FixedFeesPolicy(context, dict.fromkeys(starting, 0))).run()
    assert all(cheap.income_by_channel[scid] == 0 for scid in found.idle)


def test_hindsight_scores_the_fees_it_found_on_another_stream(tmp_path: Path) -> None:
    # Given one world and a second payment stream on it
    params = CompareParams(nodes=300, seeds=(4,), days=2, payments=1500, policies=("static",))
    world = world_for(params, 4)
    other = with_stream(world, 1004)
    assert not np.array_equal(other.stream.amounts_msat, world.stream.amounts_msat)
    context = PolicyContext(world.median, 4, tmp_path)
    # When the search runs on the first stream and is scored on the second
    found = hindsight(world, context, score_on=(other, None))
    # Then the out-of-sample figure is what those very fees earn on the second stream
    replay = Simulation(other, FixedFeesPolicy(context, dict(found.fees_ppm))).run()
    assert found.out_of_sample_income_msat == replay.income_msat
    in_sample = Simulation(world, FixedFeesPolicy(context, dict(found.fees_ppm))).run()
    assert in_sample.income_msat <= found.income_msat
