"""lnopt's LNbits extension in a real LNbits 1.6.2 server (tests/lnbits_fixture.py): installed by
folder, enabled through LNbits' route, migrated, answering; LNbits' auth on every route; and a
full cycle (score, queue, approve, roll back) that changes and restores the fees of the
in-memory node through LNbits' own node code (``require_node`` → FakeWallet's node class)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lnbits_fixture import (
    EXTENSION_ID,
    LnbitsEnv,
    node_fees,
    seed_node,
    write_graph_file,
)
from tests.lnbits_server import node_state
from tests.secret_scan import assert_no_secret

API = "/lnopt/api/v1"
READS = ("status", "score", "recommend", "history", "report", "charts", "settings")
CHANGES: tuple[tuple[str, str, Any, int], ...] = (
    # method, route, body, the super user's answer (past auth: lnopt's own answer)
    ("POST", "run", {}, 200),
    ("POST", "apply", {"channel": "all", "dryrun": True}, 200),
    ("POST", "approve", {"proposal": 999_999}, 400),
    ("POST", "reject", {"proposal": 999_999}, 400),
    ("POST", "rollback", {"target": "999999", "dryrun": True}, 400),
    ("POST", "release", {"channel": "1x1x1"}, 400),
)
CREDENTIALS = ("none", "invoice key", "admin key", "admin account", "super user")


def headers(env: LnbitsEnv, credential: str) -> dict[str, str]:
    accounts = env.accounts
    return {
        "none": {},
        "invoice key": {"X-Api-Key": accounts.invoice_key},
        "admin key": {"X-Api-Key": accounts.admin_key},
        "admin account": {"Authorization": f"Bearer {accounts.admin_login}"},
        "super user": {"Authorization": f"Bearer {accounts.login_token}"},
    }[credential]


class Extension:
    """The extension's API as the super user calls it."""

    def __init__(self, env: LnbitsEnv) -> None:
        self.env = env
        self.client = httpx.Client(
            base_url=env.server.base_url, headers=headers(env, "super user"), timeout=60.0
        )
        self.answers: list[tuple[str, str]] = []

    def call(self, method: str, route: str, body: Any = None, **params: Any) -> httpx.Response:
        response = self.client.request(method, f"{API}/{route}", json=body, params=params)
        self.answers.append((f"{method} {route}", response.text))
        return response

    def ok(self, method: str, route: str, body: Any = None, **params: Any) -> Any:
        response = self.call(method, route, body, **params)
        assert response.status_code == 200, f"{method} {route}: {response.text}"
        return response.json()


@pytest.fixture
def extension(lnbits: LnbitsEnv) -> Iterator[Extension]:
    lnbits.server.ensure_running()
    ext = Extension(lnbits)
    ext.ok("GET", "status")  # the engine is open (it opens as the extension starts)
    try:
        yield ext
    finally:
        ext.call("PUT", "settings", {"mode": "shadow"})
        ext.client.close()


def test_the_extension_is_installed_enabled_migrated_and_answers(extension: Extension) -> None:
    env = extension.env
    listed = httpx.get(
        f"{env.server.base_url}/api/v1/extension",
        headers=headers(env, "super user"),
        timeout=30.0,
    )
    assert listed.status_code == 200, listed.text
    ours = [item for item in listed.json() if item.get("code", item.get("id")) == EXTENSION_ID]
    assert ours, f"LNbits does not list {EXTENSION_ID}: {listed.text[:300]}"
    # LNbits ran the extension's migration: its settings table in its own database
    with sqlite3.connect(env.folder / f"ext_{EXTENSION_ID}.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "settings" in tables
    status = extension.ok("GET", "status")
    assert status["backend"]["name"] == "lnbits"
    assert status["store"]["path"] == str(env.folder / "lnopt.sqlite3")
    scored = extension.ok("GET", "score")
    assert len(scored["channels"]) == len(node_state.read_state(env.folder)["channels"])
    assert all(len(channel["parts"]) == 8 for channel in scored["channels"])


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_reads_need_an_admin_account(extension: Extension, credential: str) -> None:
    env = extension.env
    expected = 200 if credential in ("admin account", "super user") else 401
    answers = []
    for route in (*READS, ""):
        path = f"{API}/{route}" if route else f"/{EXTENSION_ID}/"
        response = httpx.get(
            f"{env.server.base_url}{path}", headers=headers(env, credential), timeout=60.0
        )
        answers.append((path, response.text))
        assert response.status_code == expected, f"{credential} GET {path}: {response.text}"
        if expected == 401:
            assert response.json()["detail"] == "Missing user ID or access token."
    assert_no_secret(answers, env.accounts.secrets())


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_change_needs_the_super_user(extension: Extension, credential: str) -> None:
    env = extension.env
    settings = extension.ok("GET", "settings")
    answers = []
    for method, route, body, super_status in (*CHANGES, ("PUT", "settings", settings, 200)):
        response = httpx.request(
            method,
            f"{env.server.base_url}{API}/{route}",
            json=body,
            headers=headers(env, credential),
            timeout=60.0,
        )
        answers.append((f"{method} {route}", response.text))
        where = f"{credential} {method} {route}: {response.text}"
        if credential == "super user":
            assert response.status_code == super_status, where
        elif credential == "admin account":
            assert response.status_code == 403, where
            assert response.json()["detail"] == "User not authorized. No super user privileges."
        else:
            assert response.status_code == 401, where
            assert response.json()["detail"] == "Missing user ID or access token."
    assert_no_secret(answers, env.accounts.secrets())


def test_a_bad_setting_is_refused_by_name_and_nothing_changes(extension: Extension) -> None:
    before = extension.ok("GET", "settings")
    refusals = {
        "mode": {"mode": "fast"},
        "max-fee-ppm": {"max_fee_ppm": -5},
        "exclude-channel": {"exclude_channel": ["not-a-channel"]},
        "unknown setting 'colour'": {"colour": "red"},
    }
    for named, document in refusals.items():
        response = extension.call("PUT", "settings", document)
        assert response.status_code == 400, response.text
        assert named in response.json()["detail"], response.text
    # two limits each valid alone, refused together, and not half-applied
    response = extension.call("PUT", "settings", {"min_fee_ppm": 900, "max_fee_ppm": 800})
    assert response.status_code == 400, response.text
    assert "min_fee_ppm" in response.json()["detail"]
    assert extension.ok("GET", "settings") == before


def advise(extension: Extension, tmp_path: Path) -> dict[str, tuple[int, int]]:
    """Six channels, a graph of cheaper peers, advise mode; the node's fees before any run."""
    env = extension.env
    seed_node(env.folder, channels=6)
    graph = write_graph_file(tmp_path / "graph.json", env.folder)
    extension.ok(
        "PUT",
        "settings",
        {"mode": "advise", "graph_file": str(graph), "cooldown": 0, "max_changes_per_day": 100},
    )
    return node_fees(env.folder)


def test_score_approve_apply_and_roll_back_change_and_restore_the_nodes_fees(
    extension: Extension, tmp_path: Path
) -> None:
    env = extension.env
    before = advise(extension, tmp_path)
    sets_before = len(node_state.read_state(env.folder)["set_log"])

    run = extension.ok("POST", "run")
    assert run["mode"] == "advise" and run["proposals"] >= 1, run
    assert node_fees(env.folder) == before  # advise mode only queues
    queued = extension.ok("GET", "recommend")["queued"]
    assert len(queued) == run["proposals"]
    proposal = queued[0]
    scid = proposal["short_channel_id"]
    assert proposal["old"]["fee_ppm"] == before[scid][1]
    assert proposal["new"]["fee_ppm"] < proposal["old"]["fee_ppm"]  # lowered toward the market

    approved = extension.ok("POST", "approve", {"proposal": proposal["proposal_id"]})
    assert [change["short_channel_id"] for change in approved["changes"]] == [scid]
    assert approved["changes"][0]["status"] == "done"
    new = proposal["new"]
    assert node_fees(env.folder)[scid] == (new["fee_base_msat"], new["fee_ppm"])
    set_log = node_state.read_state(env.folder)["set_log"]
    assert set_log[sets_before:] == [[scid, [new["fee_base_msat"], new["fee_ppm"]]]]

    # apply now: the dry run shows what would change, and changes nothing
    applied_now = node_fees(env.folder)
    dry = extension.ok("POST", "apply", {"channel": "all", "dryrun": True})
    assert dry["dryrun"] is True and dry["changes"]
    assert all(change["status"] is None for change in dry["changes"])
    assert node_fees(env.folder) == applied_now
    assert len(node_state.read_state(env.folder)["set_log"]) == sets_before + 1

    history = extension.ok("GET", "history")["changes"]
    change = next(entry for entry in history if entry["batch_id"] == approved["batch_id"])
    assert change["status"] == "done" and change["short_channel_id"] == scid

    dry_back = extension.ok("POST", "rollback", {"target": str(change["change_id"])})
    assert dry_back["dryrun"] is True
    assert node_fees(env.folder)[scid] == (new["fee_base_msat"], new["fee_ppm"])
    back = extension.ok("POST", "rollback", {"target": str(change["change_id"]), "dryrun": False})
    assert back["changes"][0]["new"] == proposal["old"]
    assert node_fees(env.folder) == before
    history = extension.ok("GET", "history")["changes"]
    rolled = next(entry for entry in history if entry["change_id"] == change["change_id"])
    assert rolled["rolled_back_by"] is not None

    charts = extension.ok("GET", "charts", days=1)
    marks = [(mark["short_channel_id"], mark["rollback"]) for mark in charts["fee_changes"]]
    assert marks[-2:] == [(scid, False), (scid, True)]
    assert set(charts["local_balance"]) == set(before)
    assert_no_secret(extension.answers, env.accounts.secrets())


def test_a_batch_is_rolled_back_whole_and_a_rejected_proposal_is_dropped(
    extension: Extension, tmp_path: Path
) -> None:
    env = extension.env
    before = advise(extension, tmp_path)
    extension.ok("POST", "run")
    queued = extension.ok("GET", "recommend")["queued"]
    assert len(queued) >= 2
    rejected = extension.ok("POST", "reject", {"proposal": queued[0]["proposal_id"]})
    assert rejected["status"] == "rejected"
    left = extension.ok("GET", "recommend")["queued"]
    assert queued[0]["proposal_id"] not in {item["proposal_id"] for item in left}

    batch = extension.ok("POST", "approve", {"proposal": "all"})
    changed = {change["short_channel_id"] for change in batch["changes"]}
    assert changed == {item["short_channel_id"] for item in left}
    assert all(node_fees(env.folder)[scid] != before[scid] for scid in changed)
    extension.ok("POST", "rollback", {"target": batch["batch_id"], "dryrun": False})
    assert node_fees(env.folder) == before
