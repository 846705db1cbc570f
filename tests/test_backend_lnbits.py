"""The LNbits backend against a real LNbits 1.6.2 server (FakeWallet given a node, SQLite,
127.0.0.1): reads, fee changes through lnopt's Optimizer in auto mode, rollback, refusals an
operator can act on, and a server killed in the middle of a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from lnopt.backends.http import HttpSettings
from lnopt.backends.lnbits import FORWARD_HEURISTICS, LnbitsBackend
from lnopt.config import default_config
from lnopt.errors import BackendRefused, BackendUnavailable
from lnopt.model import ChannelPolicy, ChannelState, Mode
from lnopt.rpc import status_json
from lnopt.service import Optimizer
from lnopt.store import JournalStatus, Store
from tests.factories import BLOCK_HEIGHT, OUR_NODE
from tests.lnbits_fixture import (
    LnbitsEnv,
    die_on_set,
    forget_die_on_set,
    node_fees,
    scid,
    seed_node,
    set_node_ui,
    write_graph_file,
)
from tests.lnbits_server import node_state
from tests.secret_scan import assert_no_secret


@pytest.fixture
def node(lnbits: LnbitsEnv) -> LnbitsEnv:
    """A fresh node of six channels behind the session's LNbits server."""
    lnbits.server.ensure_running()
    forget_die_on_set(lnbits.folder)
    seed_node(lnbits.folder, channels=6)
    return lnbits


@pytest.fixture
def backend(node: LnbitsEnv, tmp_path: Path) -> Iterator[LnbitsBackend]:
    opened = LnbitsBackend(
        node.server.base_url,
        token=node.accounts.node_token,
        graph_file=write_graph_file(tmp_path / "graph.json", node.folder),
    )
    yield opened
    opened.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "lnopt.sqlite3")
    yield opened
    opened.close()


def backend_with(env: LnbitsEnv, token: str) -> LnbitsBackend:
    return LnbitsBackend(env.server.base_url, token=token)


# --- reading -----------------------------------------------------------------------------------


def test_node_info_and_channels_are_the_nodes_own(backend: LnbitsBackend, node: LnbitsEnv) -> None:
    info = backend.node_info()
    assert (info.node_id, info.alias, info.block_height) == (OUR_NODE, "lnbits-node", BLOCK_HEIGHT)
    assert info.fee_totals is not None and info.fee_totals.total_msat == 12_345

    channels = {channel.short_channel_id: channel for channel in backend.channels()}
    truth = {
        item["short_channel_id"]: item for item in node_state.read_state(node.folder)["channels"]
    }
    assert channels.keys() == truth.keys()
    for short_channel_id, item in truth.items():
        channel = channels[short_channel_id]
        assert channel.capacity_msat == item["total_msat"]
        assert channel.local_msat == node_state.spendable_msat(item)
        assert channel.remote_msat == item["total_msat"] - channel.local_msat
        assert (channel.our_policy.base_fee_msat, channel.our_policy.fee_ppm) == (
            item["fee_base_msat"],
            item["fee_proportional_millionths"],
        )
        assert channel.channel_id == item["channel_id"]
        assert channel.state is ChannelState.ACTIVE and channel.connected
        assert channel.peer_policy is None


def test_limitations_name_the_heuristics_without_data(backend: LnbitsBackend) -> None:
    limitations = {item.what: item for item in backend.limitations()}
    assert limitations["forwarding history"].heuristics == FORWARD_HEURISTICS
    assert "graph.json" in limitations["gossip"].why
    assert backend.forwards().forwards == () and backend.forwards().next_index is None


def test_without_a_graph_file_the_graph_is_our_own_channels(node: LnbitsEnv) -> None:
    backend = backend_with(node, node.accounts.node_token)
    graph = backend.gossip()
    assert graph.node_count == 7 and graph.channel_count == 6
    assert "our own channels only" in {i.what: i for i in backend.limitations()}["gossip"].why


def test_a_channel_without_fees_is_left_alone_and_said_so(
    backend: LnbitsBackend, node: LnbitsEnv
) -> None:
    # Given a node class that leaves the fees out of a channel (as LNbits' LND node does)
    with node_state.locked_state(node.folder) as state:
        state["channels"][0]["omit_fees"] = True
    # Then that channel is not offered for scoring, status names it, and a change is refused
    assert scid(1) not in {channel.short_channel_id for channel in backend.channels()}
    assert any(scid(1) in item.what for item in backend.limitations())
    with pytest.raises(BackendRefused, match="reports no fees for channel"):
        backend.set_policy(scid(1), ChannelPolicy(1000, 200))
    assert node_fees(node.folder)[scid(1)] == (1000, 400)


# --- a full run through the Optimizer ----------------------------------------------------------

# quick retries, and a breaker that lets a call through again a second after it opened
FAST = HttpSettings(
    timeout_s=5.0,
    retries=2,
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    rate_per_s=1000,
    burst=1000,
    breaker_reset_s=1.0,
)


def optimizer(backend: LnbitsBackend, store: Store) -> Optimizer:
    return Optimizer(backend, store, default_config(), mode=Mode.AUTO)


def test_an_auto_run_changes_fees_that_the_next_read_shows_and_rollback_restores(
    backend: LnbitsBackend, node: LnbitsEnv, store: Store
) -> None:
    before = node_fees(node.folder)
    service = optimizer(backend, store)

    run = service.run_once()

    done = store.journal(statuses=(JournalStatus.DONE,))
    assert run.changes == len(done) >= 1 and run.error is None
    after = node_fees(node.folder)
    read = {
        c.short_channel_id: (c.our_policy.base_fee_msat, c.our_policy.fee_ppm)
        for c in backend.channels()
    }
    assert read == after
    changed = {entry.short_channel_id for entry in done}
    assert {s for s in before if before[s] != after[s]} == changed
    for entry in done:
        assert after[entry.short_channel_id] == (
            entry.new_policy.base_fee_msat,
            entry.new_policy.fee_ppm,
        )
        assert entry.new_policy.fee_ppm < before[entry.short_channel_id][1]  # idle: lowered

    result = service.rollback("last")

    assert len(result.done) == len(done)
    assert node_fees(node.folder) == before


def test_status_shows_limitations_breaker_and_what_was_observed_between_runs(
    backend: LnbitsBackend, node: LnbitsEnv, store: Store
) -> None:
    service = optimizer(backend, store)
    first = service.run_once()
    with node_state.locked_state(node.folder) as state:  # a forward earned fees and moved sats
        state["fees_collected_msat"] += 5_000
        state["channels"][2]["to_us_msat"] -= 1_000_000

    service.run_once()
    status = status_json(service.status(), now_s=0)

    assert status["backend"]["name"] == "lnbits"
    assert set(FORWARD_HEURISTICS) <= set(status["backend"]["low_confidence_heuristics"])
    assert status["backend"]["breaker"]["state"] == "closed"
    assert status["backend"]["privilege_warnings"] == []
    observed = status["observed"]
    assert observed["observations"] == 2
    assert observed["fees_collected_msat"] == 5_000
    assert observed["balance_changes"] == 1 and observed["balance_moved_msat"] == 1_000_000
    assert observed["fee_changes"] == first.changes >= 1  # made by the first run


# --- tokens and settings -----------------------------------------------------------------------


def test_a_wrong_token_is_refused_naming_what_to_do(node: LnbitsEnv) -> None:
    backend = backend_with(node, "not-a-token")
    with pytest.raises(
        BackendRefused, match=r"401.*wrong, expired or revoked.*ACL token"
    ) as caught:
        backend.node_info()
    assert caught.value.code == 401


def test_a_wallet_invoice_key_is_refused_as_a_token(node: LnbitsEnv) -> None:
    with pytest.raises(BackendRefused, match="401"):
        backend_with(node, node.accounts.invoice_key).channels()


def test_a_read_only_token_reads_but_a_fee_change_names_the_missing_right(node: LnbitsEnv) -> None:
    backend = backend_with(node, node.accounts.read_token)
    assert len(backend.channels()) == 6
    with pytest.raises(
        BackendRefused, match=r"403.*lacks the write right on Node \(/node/api/v1\)"
    ):
        backend.set_policy(scid(1), ChannelPolicy(1000, 222))
    assert node_fees(node.folder)[scid(1)] == (1000, 400)


def test_an_admin_users_token_is_told_only_the_super_user_changes_fees(node: LnbitsEnv) -> None:
    backend = backend_with(node, node.accounts.admin_node_token)
    assert len(backend.channels()) == 6
    with pytest.raises(BackendRefused, match="LNbits lets only the super user change channel fees"):
        backend.set_policy(scid(1), ChannelPolicy(1000, 222))
    assert node_fees(node.folder)[scid(1)] == (1000, 400)


def test_a_login_token_works_but_is_warned_about(
    node: LnbitsEnv, caplog: pytest.LogCaptureFixture
) -> None:
    backend = backend_with(node, node.accounts.login_token)
    with caplog.at_level(logging.WARNING):
        warnings = backend.privilege_warnings()
    assert any("login token of operator" in warning for warning in warnings)
    assert any("GET /admin/api/v1/monitor answered" in warning for warning in warnings)
    assert any("GET /api/v1/auth/acl answered" in warning for warning in warnings)
    assert "login token" in caplog.text
    assert backend_with(node, node.accounts.node_token).privilege_warnings() == ()


def test_node_ui_off_names_the_setting(node: LnbitsEnv) -> None:
    set_node_ui(node.server.base_url, node.accounts, False)
    try:
        backend = LnbitsBackend(node.server.base_url, token=node.accounts.node_token, settings=FAST)
        with pytest.raises(
            BackendRefused, match=r"503.*node UI is off.*lnbits_node_ui.*LNBITS_NODE_UI"
        ):
            backend.channels()
    finally:
        set_node_ui(node.server.base_url, node.accounts, True)


def test_a_server_that_is_not_there_is_unavailable(node: LnbitsEnv) -> None:
    backend = LnbitsBackend("http://127.0.0.1:9", token=node.accounts.node_token, settings=FAST)
    with pytest.raises(BackendUnavailable, match=r"cannot be reached at http://127\.0\.0\.1:9"):
        backend.node_info()


def test_a_channel_that_vanished_between_read_and_write_is_refused(
    backend: LnbitsBackend, node: LnbitsEnv
) -> None:
    backend.channels()
    with node_state.locked_state(node.folder) as state:
        del state["channels"][0]
    with pytest.raises(BackendRefused, match=f"no channel {scid(1)}.*any more"):
        backend.set_policy(scid(1), ChannelPolicy(1000, 222))
    with pytest.raises(BackendRefused, match=f"no channel {scid(1)}"):
        backend.get_policy(scid(1))


# --- the server killed in the middle of a batch ------------------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_server_killed_mid_batch_leaves_nothing_half_applied_and_the_next_run_recovers(
    node: LnbitsEnv, store: Store, tmp_path: Path, when: str
) -> None:
    backend = LnbitsBackend(
        node.server.base_url,
        token=node.accounts.node_token,
        settings=FAST,
        graph_file=write_graph_file(tmp_path / "graph.json", node.folder),
    )
    before = node_fees(node.folder)
    die_on_set(node.folder, at=2, when=when)  # the second fee change of the batch kills LNbits
    service = optimizer(backend, store)

    service.run_once()

    assert node.server.wait_exit() == 137
    entries = {entry.short_channel_id: entry for entry in store.journal()}
    fees = node_fees(node.folder)
    for short_channel_id, entry in entries.items():  # each channel: its old or its new fees
        old = (entry.old_policy.base_fee_msat, entry.old_policy.fee_ppm)
        new = (entry.new_policy.base_fee_msat, entry.new_policy.fee_ppm)
        assert fees[short_channel_id] in (old, new)
        if entry.status is JournalStatus.DONE:
            assert fees[short_channel_id] == new
        if entry.status is JournalStatus.FAILED:
            assert fees[short_channel_id] == old
    open_entries = store.open_journal_entries()
    assert len(open_entries) == 1 and "left open for recover()" in (open_entries[0].error or "")
    assert {s for s in before if s not in entries} == {
        s for s in before if fees[s] == before[s]
    } - set(entries)

    forget_die_on_set(node.folder)
    node.server.start()
    service.run_once()

    assert store.open_journal_entries() == []
    killed = store.journal_entry(open_entries[0].change_id)
    assert killed is not None
    fees = node_fees(node.folder)
    expected = JournalStatus.DONE if when == "after" else JournalStatus.FAILED
    assert killed.status is expected
    policy = killed.new_policy if when == "after" else killed.old_policy
    # the recovered channel now has what the journal says, or a newer change journaled done
    latest = store.journal(short_channel_id=killed.short_channel_id, limit=1)[0]
    final = latest.new_policy if latest.status is JournalStatus.DONE else policy
    assert fees[killed.short_channel_id] == (final.base_fee_msat, final.fee_ppm)


# --- secrets -------------------------------------------------------------------------------------


def test_no_token_or_password_appears_in_logs_status_or_errors(
    node: LnbitsEnv, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[tuple[str, str]] = []
    graph_file = write_graph_file(tmp_path / "graph.json", node.folder)
    with caplog.at_level(logging.DEBUG):
        for token in (node.accounts.node_token, node.accounts.login_token):
            backend = LnbitsBackend(
                node.server.base_url, token=token, settings=FAST, graph_file=graph_file
            )
            service = optimizer(backend, store)
            texts.append(("run", repr(service.run_once())))
            texts.append(("status", repr(status_json(service.status(), now_s=0))))
            texts.append(("rollback", repr(service.rollback("last"))))
        for token in (node.accounts.node_token + "x", node.accounts.read_token):
            try:
                backend_with(node, token).set_policy(scid(1), ChannelPolicy(1000, 1))
            except BackendRefused as exc:
                texts.append(("error", str(exc)))
    texts.append(("log", caplog.text))
    texts.append(("journal", repr(store.journal())))
    texts.append(("lnbits log", node.server.log_path.read_text(errors="replace")))
    assert len([place for place, _ in texts if place == "error"]) == 2
    assert "event=lnbits_set_fees" in caplog.text
    assert_no_secret(texts, node.accounts.secrets())
