"""lnopt's LNbits pages in a real browser (Debian's chromium, headless, driven by Playwright:
tests/browser/lnopt_pages.py, run with the LNbits venv's Python). The screenshots are written
to ``$LNOPT_ARTEFACTS`` (default ``tests/artefacts/``, ignored by git); the page load times are
printed (``-s``), never asserted."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.lnbits_fixture import (
    LNBITS_PYTHON,
    REPO,
    LnbitsEnv,
    node_fees,
    seed_node,
    write_graph_file,
)
from tests.lnbits_server import node_state

DRIVER = REPO / "tests" / "browser" / "lnopt_pages.py"
CHROMIUM = Path("/usr/bin/chromium")
PAGES = ("channels", "proposals", "history", "rollback-dry-run", "charts", "settings")


def artefacts() -> Path:
    return Path(os.environ.get("LNOPT_ARTEFACTS", REPO / "tests" / "artefacts"))


def test_an_operator_approves_and_rolls_back_in_the_browser(
    lnbits: LnbitsEnv, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: make browser (apt-get install -y chromium)")
    lnbits.server.ensure_running()
    seed_node(lnbits.folder, channels=6)
    graph = write_graph_file(tmp_path / "graph.json", lnbits.folder)
    auth = {"Authorization": f"Bearer {lnbits.accounts.login_token}"}
    base = f"{lnbits.server.base_url}/lnopt/api/v1"
    settings = {
        "mode": "advise",
        "graph_file": str(graph),
        "cooldown": 0,
        "max_changes_per_day": 100,
    }
    assert httpx.put(f"{base}/settings", json=settings, headers=auth, timeout=60).status_code == 200
    run = httpx.post(f"{base}/run", headers=auth, timeout=60).json()
    assert run["proposals"] >= 1, run
    before = node_fees(lnbits.folder)
    sets_before = len(node_state.read_state(lnbits.folder)["set_log"])
    password = tmp_path / "password"
    password.write_text(lnbits.accounts.super_password)
    try:
        done = subprocess.run(
            [
                str(LNBITS_PYTHON),
                str(DRIVER),
                lnbits.server.base_url,
                lnbits.accounts.super_user,
                str(password),
                str(artefacts()),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        httpx.put(f"{base}/settings", json={"mode": "shadow"}, headers=auth, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print("lnopt page load times (s):", json.dumps(result["timings_s"]))
    print("lnopt screenshots:", json.dumps(result["screenshots"]))

    assert result["errors"] == [], result["failed_requests"]
    assert result["rows"] == len(before)
    assert result["parts"] == 8  # the eight parts of a channel's score, on expansion
    assert set(result["screenshots"]) == set(PAGES)
    for path in result["screenshots"].values():
        assert Path(path).stat().st_size > 10_000
    # the approval changed the node and the rollback restored it, through LNbits' node code
    changed = result["approved_channel"]
    sets = node_state.read_state(lnbits.folder)["set_log"][sets_before:]
    assert [scid for scid, _ in sets] == [changed, changed]
    assert sets[-1][1] == list(before[changed])
    assert node_fees(lnbits.folder) == before
    assert "max-fee-ppm" in result["settings_refusal"]
