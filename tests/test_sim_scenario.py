"""Scenario files: every key with its default and meaning, refused by name when wrong; and
``sim compare --streams``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from lnopt.errors import InvalidRequest
from lnopt.sim.compare import CompareParams, network_for, world_for
from lnopt.sim.scenario import SECTIONS, Scenario, _at, _keys, key_table, load_scenario
from lnopt.sim.world import WorldParams, build_world
from tests.test_sim_demo import parser

ROOT = Path(__file__).resolve().parents[1]


def scenario_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_sets_nested_values_and_keeps_the_rest(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        "world:\n  peers: 12\n  days: 7\n"
        "demand:\n  median_amount_sat: 10000\n"
        "competitors:\n  out_of_peers: false\n"
        "liquidity:\n  rule: rebalance\n"
        "warmup:\n  days: 3.5\n"
        "sim:\n  gossip:\n    propagation_s: 60\n",
    )
    scenario = load_scenario(path)
    default = Scenario()
    assert scenario.world.peers == 12 and scenario.world.days == 7.0
    assert scenario.world.demand.median_amount_sat == 10_000
    assert scenario.world.demand.amount_sigma == default.world.demand.amount_sigma
    assert scenario.sim.competitors.out_of_peers is False
    assert scenario.sim.competitors.into_peers is True
    assert scenario.sim.liquidity.rule == "rebalance"
    assert scenario.warmup.days == 3.5
    assert scenario.sim.gossip.propagation_s == 60.0
    assert scenario.sim.gossip.min_interval_s == default.sim.gossip.min_interval_s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("senderz: {}\n", "unknown section 'senderz'; accepted: world, demand, "),
        ("competitors:\n  reprise_s: 10\n", "competitors: unknown key 'reprise_s'; accepted: "),
        ("sim:\n  gossip:\n    delay: 1\n", "sim.gossip: unknown key 'delay'; accepted: "),
        # a key another section owns is not accepted twice
        ("world:\n  demand: {}\n", "world: unknown key 'demand'"),
        ("sim:\n  liquidity: {}\n", "sim: unknown key 'liquidity'"),
        ("world:\n  seed: 4\n", "world: unknown key 'seed'"),
        ("senders:\n  penalty_halflife: 60\n", "senders: unknown key 'penalty_halflife'"),
        (
            "senders:\n  classes:\n    - {name: x, fee_ppm: 1}\n",
            "senders.classes\\[0\\]: unknown key 'fee_ppm'; accepted: name, share, max_fee_ppm",
        ),
        (
            "senders:\n  classes:\n    - {name: x, share: 1}\n",
            "senders.classes\\[0\\]: missing max_fee_ppm, ",
        ),
    ],
)
def test_an_unknown_key_is_refused_by_name_with_the_accepted_ones(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message) as refused:
        load_scenario(scenario_file(tmp_path, text))
    if "competitors" in message:
        assert "reprice_s" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("warmup:\n  days: two\n", "warmup.days must be a number, got a string 'two'"),
        ("world:\n  peers: 2.5\n", "world.peers must be a whole number, got float 2.5"),
        ("world:\n  peers: true\n", "world.peers must be a whole number, got a boolean True"),
        ("competitors:\n  into_peers: 1\n", "competitors.into_peers must be true or false"),
        ("liquidity:\n  rule: 7\n", "liquidity.rule must be a string, got int 7"),
        ("liquidity:\n  rule: swap\n", "liquidity rule 'swap': accepted relax, rebalance"),
        ("sim:\n  gossip: 5\n", "sim.gossip: expected keys \\(min_interval_s, "),
        ("- world\n", "expected sections \\(world, demand, "),
        ("world: [\n", "not valid YAML"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_field_and_the_type(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        load_scenario(scenario_file(tmp_path, text))


def test_a_scenario_sets_the_senders_wallet_software(tmp_path: Path) -> None:
    item = (
        "    - {name: cautious, share: 1, max_fee_ppm: 1000, exempt_fee_msat: 0,"
        " whole_amount_up_to_msat: 0, presplit_part_sat: 0, max_presplit_parts: 1,"
        " max_parts: 4, min_part_sat: 1000, fuzz_ppm: 0}\n"
    )
    scenario = load_scenario(scenario_file(tmp_path, "senders:\n  classes:\n" + item))
    (only,) = scenario.world.senders.classes
    assert (only.name, only.max_fee_ppm, only.max_parts) == ("cautious", 1000, 4)
    assert (
        scenario.world.senders.penalty_half_life_s == Scenario().world.senders.penalty_half_life_s
    )


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="is empty: give one or more of the sections world"):
        load_scenario(scenario_file(tmp_path, "# nothing here\n"))
    with pytest.raises(InvalidRequest, match="cannot read it"):
        load_scenario(tmp_path / "absent.yaml")


def test_the_command_refuses_a_bad_scenario_with_the_message(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "warmup:\n  dayz: 1\n")
    args = parser().parse_args(["sim", "compare", "--scenario", str(path)])
    with pytest.raises(InvalidRequest, match="warmup: unknown key 'dayz'; accepted: days"):
        args.handler(args)


def test_the_example_scenario_loads_and_sets_what_it_says() -> None:
    scenario = load_scenario(ROOT / "contrib" / "scenario.example.yaml")
    assert scenario.world.payments == 60_000
    assert scenario.sim.competitors.reprice_s == 14_400.0
    assert scenario.warmup.days == 14.0


def test_every_key_has_a_meaning_and_the_readme_table_is_the_generated_one() -> None:
    keys = list(_keys())
    assert all(meaning for _, _, meaning in keys), [k for k, _, m in keys if not m]
    sections = {key.split(".")[0] for key, _, _ in keys}
    assert sections == set(SECTIONS)
    # every section's dataclass is reachable, and the table names its fields
    for section, where in SECTIONS.items():
        for f in dataclasses.fields(_at(Scenario(), where)):
            if f.name not in {"seed", "stream_seed"} and f.name not in SECTIONS:
                assert any(k.startswith(f"{section}.{f.name}") for k, _, _ in keys)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Scenario file\n", 1)[1].split("\n## ", 1)[0]
    assert key_table() in section


def test_streams_give_k_paired_rows_per_world_with_both_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_file(tmp_path, "warmup:\n  days: 0.5\n")
    argv = ["sim", "compare", "--nodes", "300", "--days", "1", "--payments", "400"]
    argv += ["--seeds", "7-8", "--streams", "2", "--policies", "lnopt", "static"]
    args = parser().parse_args([*argv, "--scenario", str(path), "--json"])
    assert args.handler(args) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["params"]["streams"] == 2
    rows = {(r["policy"], r["seed"], r["stream"]): r["stream_seed"] for r in document["runs"]}
    expected = {(s, k): s + 1_000_000 * k for s in (7, 8) for k in (0, 1)}
    assert rows == {
        (p, s, k): seed for (s, k), seed in expected.items() for p in ("lnopt", "static")
    }
    against = document["lnopt_against"]["static"]["income"]
    assert against["rows"] == [[7, 0], [7, 1], [8, 0], [8, 1]]
    assert len(against["log_ratios"]) == 4


def test_the_streams_of_a_world_share_it_and_differ_in_their_payments() -> None:
    params = CompareParams(nodes=300, days=1, payments=400)
    network = network_for(params, 7)
    first, second = (world_for(params, 7, network, stream=k) for k in (0, 1))
    assert [c.peer_id for c in first.our.channels] == [c.peer_id for c in second.our.channels]
    assert (first.start_side0_msat == second.start_side0_msat).all()
    assert (first.stream_seed, second.stream_seed) == (7, 1_000_007)
    assert not np.array_equal(first.stream.senders, second.stream.senders)
    # stream 0 is the world seed's own stream
    own = build_world(network, WorldParams(seed=7, payments=400, days=1))
    assert np.array_equal(own.stream.amounts_msat, first.stream.amounts_msat)


def test_streams_must_be_one_or_more() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["sim", "compare", "--streams", "0"])
