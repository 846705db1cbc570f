"""Baselines with other settings by name, the tuning search, and the tuned module it writes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lnopt.cli import main
from lnopt.errors import ConfigError
from lnopt.sim.baselines import charge_lnd, feeadjuster, tuned
from lnopt.sim.baselines.feeadjuster import AdjustmentMethod
from lnopt.sim.baselines.settings import spec_name
from lnopt.sim.policies import check_policies, make_policy, resolve_policy, settings_of
from lnopt.sim.policy import POLICIES, PolicyContext
from lnopt.sim.tuning import GRIDS, TuneParams, run_name, tune, tuned_module
from tests.factories import policy

CONTEXT = PolicyContext(policy(), 0, Path("."))


# --- settings by name ------------------------------------------------------------------------


def test_a_policy_name_can_carry_settings() -> None:
    made = make_policy("charge-lnd:min_fee_ppm=200,max_fee_ppm=600", CONTEXT)
    assert isinstance(made, charge_lnd.ChargeLndPolicy)
    assert made.name == "charge-lnd:min_fee_ppm=200,max_fee_ppm=600"
    assert made.settings == charge_lnd.ProportionalSettings(min_fee_ppm=200, max_fee_ppm=600)
    # the registered policy keeps its defaults
    assert settings_of("charge-lnd") == charge_lnd.ProportionalSettings()
    hard = settings_of("feeadjuster:adjustment_method=hard,fee_ppm=1_000")
    assert hard == feeadjuster.FeeAdjusterSettings(
        fee_ppm=1000, adjustment_method=AdjustmentMethod.HARD
    )
    assert settings_of("clboss:by_size=false") is not None
    assert settings_of("lnopt") is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope:fee_ppm=1", "unknown policy 'nope'; accepted: .*charge-lnd"),
        ("lnopt:fee_ppm=1", "'lnopt' has no settings; policies with settings: charge-lnd, "),
        ("static:ppm=1", "unknown setting 'ppm'; accepted: base_fee_msat, fee_ppm"),
        ("static:fee_ppm=cheap", "setting 'fee_ppm' is 'cheap', not an integer"),
        ("static:fee_ppm=-5", "setting 'fee_ppm' is '-5'; accepted: an integer from 0 up"),
        ("static:fee_ppm", "'fee_ppm' is not a setting; write NAME:key=value,key=value"),
        ("static:fee_ppm=1,fee_ppm=2", "setting 'fee_ppm' is given twice"),
        ("clboss:by_size=no", "setting 'by_size' is 'no'; accepted: true, false"),
        (
            "feeadjuster:adjustment_method=steep",
            "setting 'adjustment_method' is 'steep'; accepted: soft, default, hard",
        ),
    ],
)
def test_a_bad_setting_is_refused_by_name(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_policies([name])


# --- the tuned baselines ---------------------------------------------------------------------


def test_the_tuned_settings_are_points_of_the_grids() -> None:
    assert set(tuned.TUNED) == set(GRIDS)
    for tool, chosen in tuned.TUNED.items():
        grid = [settings_of(spec_name(tool, point)) for point in GRIDS[tool]]
        assert settings_of(spec_name(tool, chosen)) in grid
        # and NAME-tuned runs with them
        assert settings_of(f"{tool}-tuned") == settings_of(spec_name(tool, chosen))
        assert POLICIES[f"{tool}-tuned"](CONTEXT).name == f"{tool}-tuned"
    assert tuned.COMMAND.startswith("python -m lnopt sim tune --seeds 1-20 ")
    assert tuned.DATE


def test_a_default_grid_point_runs_under_the_tools_own_name() -> None:
    assert run_name("charge-lnd", {"min_fee_ppm": "100", "max_fee_ppm": "300"}) == "charge-lnd"
    assert run_name("static", {"fee_ppm": "200"}) == "static:fee_ppm=200"
    assert isinstance(resolve_policy(run_name("static", {"fee_ppm": "200"})), type)


# --- the search ------------------------------------------------------------------------------


def test_tuning_picks_the_grid_point_with_the_best_geometric_mean(tmp_path: Path) -> None:
    # Given a tiny world and two points per tool
    grids = {
        "static": ({"fee_ppm": "100"}, {"fee_ppm": "400"}),
        "charge-lnd": (
            {"min_fee_ppm": "100", "max_fee_ppm": "300"},
            {"min_fee_ppm": "400", "max_fee_ppm": "1200"},
        ),
    }
    params = TuneParams(
        policies=("static", "charge-lnd"),
        seeds=(1, 2),
        payments=300,
        days=1,
        nodes=300,
        grids=grids,
    )
    tunings = tune(params)
    # Then every point ran on both seeds, paired with the tool's defaults
    for tuning in tunings:
        assert [point.settings for point in tuning.points] == list(grids[tuning.policy])
        assert all(point.versus_default.rows == ((1, 0), (2, 0)) for point in tuning.points)
        # and the best is a grid point with the highest geometric mean
        assert tuning.best.settings in grids[tuning.policy]
        assert tuning.best.geometric_mean_msat == max(
            point.geometric_mean_msat for point in tuning.points
        )
    # the shipped example is charge-lnd's defaults: compared with itself, a ratio of 1
    example = next(t for t in tunings if t.policy == "charge-lnd").points[0]
    assert example.name == "charge-lnd"
    assert example.versus_default.log_ratios == (0.0, 0.0)
    # and the module written from the result holds the winners
    text = tuned_module(tunings, command="python -m lnopt sim tune --seeds 1-2", date="2026-01-01")
    tree = ast.parse(text)
    assigned = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assigned.update(
        {
            node.target.id: node.value
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value
        }
    )
    assert ast.literal_eval(assigned["TUNED"]) == {t.policy: dict(t.best.settings) for t in tunings}
    assert ast.literal_eval(assigned["DATE"]) == "2026-01-01"


def test_the_tune_command_refuses_a_tool_without_a_grid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "tune", "--policy", "clboss"]) == 2
    assert "policy 'clboss' has no tuning grid; tunable: charge-lnd, feeadjuster" in (
        capsys.readouterr().err
    )
    assert main(["sim", "tune", "--policy", "static", "--write", "t.py"]) == 2
    assert "--write writes every tool's setting" in capsys.readouterr().err
