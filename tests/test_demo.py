"""The main job on its embedded default, end to end, in a short version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lnopt.cli import main
from lnopt.config import HEURISTIC_NAMES

SHORT = ["--nodes", "400", "--days", "3", "--payments", "1500", "--seeds", "2", "--workers", "1"]


def test_demo_prints_scores_decisions_and_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "demo.png"

    assert main(["demo", *SHORT, "--plot", str(picture)]) == 0

    out = capsys.readouterr().out
    assert "as lnopt sees them" in out
    for part in ("centrality", "liquidity", "activity", "competitiveness", "position"):
        assert part in out
    assert "lnopt against its strongest rival" in out
    assert "income ratio [95% interval]" in out
    for policy in ("static", "feeadjuster", "charge-lnd", "lndg", "clboss", "lndmanage"):
        assert policy in out
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_demo_json_gives_every_channel_with_parts_and_a_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", *SHORT, "--json", "--plot", str(tmp_path / "demo.png")]) == 0

    document = json.loads(capsys.readouterr().out)
    channels = document["channels"]
    assert 15 <= len(channels) <= 25
    for channel in channels:
        assert set(channel["parts"]) == set(HEURISTIC_NAMES)
        assert channel["action"] in {"keep", "raise_fees", "lower_fees", "rebalance", "close"}
        assert channel["reasons"]
        assert 0.0 <= channel["score"] <= 1.0
    assert document["comparison"]
