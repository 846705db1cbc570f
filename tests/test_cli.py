"""The command line: scoring a public node from a gossip file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from lnopt.cli import main
from tests.factories import both_directions, node_id

HUB = node_id(1)


@pytest.fixture
def gossip_file(tmp_path: Path) -> Path:
    """A small network: a hub with five peers, which also know each other in a ring."""
    items = []
    for n in range(2, 7):
        items += both_directions(f"700000x{n}x0", HUB, node_id(n), fee_ppm=50 * n)
        items += both_directions(f"700001x{n}x0", node_id(n), node_id(n % 5 + 2), fee_ppm=100)
    path = tmp_path / "listchannels.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"channels": items}, handle)
    return path


def test_score_prints_a_table_with_every_channel_of_the_node(
    gossip_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--graph", str(gossip_file), "--node", HUB]) == 0

    out = capsys.readouterr().out
    for n in range(2, 7):
        assert f"700000x{n}x0" in out
    assert "liquidity" in out and "balance" in out.lower()


def test_score_json_has_eight_parts_and_a_decision_per_channel(
    gossip_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--graph", str(gossip_file), "--node", HUB, "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    channels = document["channels"]
    assert [c["short_channel_id"] for c in channels] == [f"700000x{n}x0" for n in range(2, 7)]
    for channel in channels:
        assert len(channel["parts"]) == 8
        assert channel["action"] == "keep"  # balances unknown: no fee change from gossip alone
        assert channel["parts"]["liquidity"]["confidence"] < 0.5
        assert channel["current"]["fee_ppm"] == 50 * int(channel["short_channel_id"].split("x")[1])


def test_score_of_a_node_not_in_the_graph_is_a_clear_error(
    gossip_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--graph", str(gossip_file), "--node", node_id(99)]) == 2

    assert "has no channel in the graph" in capsys.readouterr().err


def test_score_of_a_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "--graph", str(tmp_path / "nope.json"), "--node", HUB]) == 2

    assert "cannot read graph file" in capsys.readouterr().err
