"""The SQLite store: schema versions, forward counting, activity windows, retention, threads,
the shadow log, the advise queue and the fee journal."""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lnopt.errors import InvalidRequest, StoreError
from lnopt.model import (
    Action,
    ChannelPolicy,
    Decision,
    ExpectedImpact,
    Forward,
    ForwardStatus,
    GuardedChange,
    Mode,
    ProposedChange,
    Verdict,
)
from lnopt.store import (
    DAY_S,
    MIGRATIONS,
    JournalStatus,
    ProposalStatus,
    Store,
)
from tests.factories import policy

NOW = 1_760_000_000.0
A, B, C = "800000x1x0", "800000x2x0", "800000x3x0"


def fwd(
    htlc: int | None,
    status: ForwardStatus = ForwardStatus.SETTLED,
    *,
    in_channel: str = A,
    out_channel: str | None = B,
    in_msat: int = 1_001_000,
    out_msat: int | None = 1_000_000,
    fee_msat: int | None = 1_000,
    at_s: float = NOW - 60,
    created_index: int | None = None,
) -> Forward:
    resolved = None if status is ForwardStatus.OFFERED else at_s
    return Forward(
        in_channel=in_channel,
        in_htlc_id=htlc,
        out_channel=out_channel,
        in_msat=in_msat,
        out_msat=out_msat,
        fee_msat=fee_msat,
        status=status,
        received_s=at_s - 1,
        resolved_s=resolved,
        created_index=created_index if created_index is not None else htlc,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "lnopt.sqlite3")
    yield opened
    opened.close()


# --- schema -----------------------------------------------------------------------------------


def test_a_new_file_is_created_at_the_current_version_in_wal_mode(tmp_path: Path) -> None:
    # given a path with no file
    path = tmp_path / "sub" / "lnopt.sqlite3"
    # when the store opens it and writes
    store = Store(path)
    store.record_forwards([fwd(1)])
    # then it is at the current schema version, in WAL mode, with a write-ahead log beside it
    assert store.schema_version() == Store.SCHEMA_VERSION == len(MIGRATIONS)
    assert store.journal_mode() == "wal"
    assert path.with_name(path.name + "-wal").exists()
    assert store.size_bytes() > 0
    store.close()


def test_every_migration_says_what_it_does() -> None:
    assert all(migration.__doc__ and migration.__doc__.strip() for migration in MIGRATIONS)


def test_an_older_file_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    # given a file written at schema version 1, holding one forward
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_s REAL)")
    MIGRATIONS[0](conn)
    conn.execute("INSERT INTO schema_version VALUES (1, 0)")
    conn.execute(
        "INSERT INTO forwards (in_channel, forward_key, in_htlc_id, out_channel, in_msat, "
        "out_msat, fee_msat, status, received_s, resolved_s, event_s, created_index) "
        "VALUES (?, 'htlc:7', 7, ?, 2000, 1000, 1000, 'settled', ?, ?, ?, 7)",
        (A, B, NOW - 10, NOW - 5, NOW - 5),
    )
    conn.close()
    # when the store opens it
    store = Store(path)
    # then it is at the current version, the journal works, and the forward is still counted
    assert store.schema_version() == Store.SCHEMA_VERSION
    assert store.new_batch_id() == "b1"
    assert store.forward_counts()["settled"] == 1
    assert store.activity(now_s=NOW)[B].last_1d.fees_earned_msat == 1000
    # and, having no backfill cursor yet, its next backfill starts from the beginning
    assert store.forward_cursor("cln") is None
    store.close()


def test_a_file_from_a_newer_lnopt_is_refused(tmp_path: Path) -> None:
    # given a store file whose schema version is above what this lnopt knows
    path = tmp_path / "new.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (Store.SCHEMA_VERSION + 1,))
    conn.close()
    # when it is opened, then it is refused, naming both versions
    with pytest.raises(StoreError, match=rf"schema version {Store.SCHEMA_VERSION + 1}, newer"):
        Store(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_a_closed_store_refuses_work(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.forward_counts()


# --- counting forwards ------------------------------------------------------------------------


def test_an_offered_forward_is_not_counted_until_it_settles(store: Store) -> None:
    # given an offered forward
    assert store.record_forwards([fwd(1, ForwardStatus.OFFERED)]) == 0
    assert store.forward_counts()["total"] == 0
    # when its settlement arrives
    counted = store.record_forwards([fwd(1, ForwardStatus.SETTLED)])
    # then it is counted once, as settled
    assert counted == 1
    assert store.forward_counts() == {"settled": 1, "failed": 0, "local_failed": 0, "total": 1}


def test_replayed_events_and_overlapping_backfill_never_double_count(store: Store) -> None:
    # given events for forwards 1..5 recorded live, with one replayed
    live = [fwd(i) for i in range(1, 6)]
    assert store.record_forwards(live) == 5
    assert store.record_forwards([live[2]]) == 0
    # when a backfill page from listforwards covers 3..8
    backfill = [fwd(i) for i in range(3, 9)]
    counted = store.record_forwards(backfill)
    # then only the three new forwards count, and the activity agrees
    assert counted == 3
    assert store.forward_counts()["settled"] == 8
    activity = store.activity(now_s=NOW)
    assert activity[B].last_1d.forwards_out == 8
    assert activity[A].last_1d.forwards_in == 8
    assert activity[B].last_1d.fees_earned_msat == 8 * 1000


def test_a_backfill_page_moves_its_cursor_and_live_events_never_do(tmp_path: Path) -> None:
    # given a store with no cursor
    store = Store(tmp_path / "lnopt.sqlite3")
    assert store.forward_cursor("cln") is None
    # when a backfill page is recorded with where the next read starts (wider than 64 bits),
    # and then live events arrive, one of them a forward the page had
    position = 7 << 64 | 3
    assert store.record_backfill_page([fwd(1), fwd(2)], source="cln", next_index=position) == 2
    assert store.record_forwards([fwd(2), fwd(3)]) == 1
    # then the cursor is the page's, kept per backend and across a reopen, and each forward
    # counted once
    store.close()
    store = Store(tmp_path / "lnopt.sqlite3")
    assert store.forward_cursor("cln") == position
    assert store.forward_cursor("sim") is None
    assert store.forward_counts()["settled"] == 3
    store.record_backfill_page([], source="cln", next_index=position + 1)
    assert store.forward_cursor("cln") == position + 1
    store.close()


def test_a_backfill_page_that_cannot_be_stored_leaves_the_cursor_where_it_was(
    store: Store,
) -> None:
    # given a cursor after a first page
    store.record_backfill_page([fwd(1)], source="cln", next_index=10)
    # when the next page holds an amount SQLite cannot store
    too_big = fwd(3, in_msat=2**70)
    with pytest.raises(StoreError, match="write failed"):
        store.record_backfill_page([fwd(2), too_big], source="cln", next_index=20)
    # then neither its forwards nor its cursor were written: the page will be read again
    assert store.forward_cursor("cln") == 10
    assert store.forward_counts()["total"] == 1
    with pytest.raises(InvalidRequest, match="never negative"):
        store.record_backfill_page([], source="cln", next_index=-1)


def test_the_first_final_status_stands(store: Store) -> None:
    store.record_forwards([fwd(1, ForwardStatus.LOCAL_FAILED)])
    assert store.record_forwards([fwd(1, ForwardStatus.SETTLED)]) == 0
    assert store.forward_counts()["local_failed"] == 1
    assert store.forward_counts()["settled"] == 0


def test_forwards_without_htlc_id_are_keyed_by_created_index_then_received_time(
    store: Store,
) -> None:
    # given old-node forwards: two with created_index only, two with neither
    by_index = [fwd(None, created_index=i, at_s=NOW - 100) for i in (10, 11)]
    by_time = [fwd(None, at_s=NOW - t) for t in (30, 40)]
    for f in by_time:
        assert f.created_index is None and f.in_htlc_id is None
    # when each is recorded twice
    first = store.record_forwards(by_index + by_time)
    again = store.record_forwards(by_index + by_time)
    # then the four are distinct and none is counted twice
    assert (first, again) == (4, 0)


def test_the_same_htlc_id_on_two_channels_is_two_forwards(store: Store) -> None:
    assert store.record_forwards([fwd(1, in_channel=A), fwd(1, in_channel=C)]) == 2


# --- activity windows -------------------------------------------------------------------------


def test_window_boundaries_are_inclusive_of_their_start(store: Store) -> None:
    # given settled forwards A→B at the edge of each window, just past it, and in the future
    times = {
        1: NOW - DAY_S,
        2: NOW - DAY_S - 1,
        3: NOW - 7 * DAY_S,
        4: NOW - 7 * DAY_S - 1,
        5: NOW - 30 * DAY_S,
        6: NOW - 30 * DAY_S - 1,
        7: NOW + 10,
    }
    store.record_forwards([fwd(i, at_s=t) for i, t in times.items()])
    # when the activity is read at NOW
    out = store.activity(now_s=NOW)[B]
    # then each window holds exactly the forwards from its start to now
    assert out.last_1d.forwards_out == 1
    assert out.last_7d.forwards_out == 3
    assert out.last_30d.forwards_out == 5
    assert out.last_30d.volume_out_msat == 5 * 1_000_000
    assert out.last_forward_s == NOW - DAY_S


def test_a_channel_idle_for_more_than_30_days_keeps_its_last_forward_time(store: Store) -> None:
    store.record_forwards([fwd(1, at_s=NOW - 45 * DAY_S)])
    activity = store.activity(now_s=NOW)
    assert activity[A].last_30d.settled == 0
    assert activity[A].last_forward_s == NOW - 45 * DAY_S


def test_attribution_of_settled_failed_and_local_failed_forwards(store: Store) -> None:
    # given: a settled forward A→B, a failed A→C, a local failure A→B, and a local failure with
    # no outgoing channel
    store.record_forwards(
        [
            fwd(1, in_msat=5_005_000, out_msat=5_000_000, fee_msat=5_000),
            fwd(2, ForwardStatus.FAILED, out_channel=C),
            fwd(3, ForwardStatus.LOCAL_FAILED),
            fwd(4, ForwardStatus.LOCAL_FAILED, out_channel=None, out_msat=None, fee_msat=None),
        ]
    )
    # when the activity is read
    activity = store.activity(now_s=NOW)
    a, b, c = activity[A].last_7d, activity[B].last_7d, activity[C].last_7d
    # then volume in and fees out are on the right channels, failures on the outgoing channel
    assert (a.forwards_in, a.volume_in_msat, a.forwards_out, a.fees_earned_msat) == (
        1,
        5_005_000,
        0,
        0,
    )
    assert (b.forwards_out, b.volume_out_msat, b.fees_earned_msat) == (1, 5_000_000, 5_000)
    assert (b.failed, b.local_failed, c.failed, c.local_failed) == (0, 1, 1, 0)
    # and the failure with no outgoing channel is counted, but not held against the incoming one
    assert (a.failed, a.local_failed) == (0, 0)
    assert store.forward_counts() == {"settled": 1, "failed": 1, "local_failed": 2, "total": 4}


def test_a_missing_fee_is_derived_from_the_amounts(store: Store) -> None:
    store.record_forwards([fwd(1, in_msat=2_000_500, out_msat=2_000_000, fee_msat=None)])
    assert store.activity(now_s=NOW)[B].last_1d.fees_earned_msat == 500


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([A, B, C]),
            st.integers(min_value=0, max_value=15),
            st.sampled_from(list(ForwardStatus)),
        ),
        max_size=60,
    )
)
def test_each_forward_counts_once_whatever_the_order_of_events(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[tuple[str, int, ForwardStatus]],
) -> None:
    # given any stream of events, with replays and offered events, in any order
    store = Store(tmp_path_factory.mktemp("prop") / "s.sqlite3")
    # when they are recorded in small batches
    counted = sum(
        store.record_forwards([fwd(htlc, status, in_channel=ch) for ch, htlc, status in batch])
        for batch in (events[i : i + 7] for i in range(0, len(events), 7))
    )
    # then exactly the forwards with a final event are counted, once each
    finals = {(ch, htlc) for ch, htlc, status in events if status.is_final}
    assert counted == store.forward_counts()["total"] == len(finals)
    store.close()


# --- retention --------------------------------------------------------------------------------


def test_prune_deletes_old_activity_and_decisions_but_keeps_the_journal(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3", retention_days=10)
    # given old and recent forwards, runs, decisions and an old open journal entry
    store.record_forwards([fwd(1, at_s=NOW - 11 * DAY_S), fwd(2, at_s=NOW - 9 * DAY_S)])
    old_run = store.start_run(mode=Mode.SHADOW, started_s=NOW - 11 * DAY_S)
    store.record_decisions(old_run, [decision()], [None], created_s=NOW - 11 * DAY_S)
    new_run = store.start_run(mode=Mode.SHADOW, started_s=NOW - DAY_S)
    store.record_decisions(new_run, [decision()], [None], created_s=NOW - DAY_S)
    change_id = begin(store, created_s=NOW - 20 * DAY_S)
    # when pruned at NOW
    deleted = store.prune(now_s=NOW)
    # then the old forward, decision and run are gone; the rest stays
    assert deleted == 3
    assert store.forward_counts()["total"] == 1
    assert [d.run_id for d in store.decisions()] == [new_run]
    assert store.counts()["runs"] == 1
    entry = store.journal_entry(change_id)
    assert entry is not None and entry.status is JournalStatus.PENDING


def test_retention_must_be_at_least_a_day(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="retention_days"):
        Store(tmp_path / "s.sqlite3", retention_days=0)


# --- threads ----------------------------------------------------------------------------------


def test_writes_from_several_threads_are_all_kept(store: Store) -> None:
    # given four threads recording forwards and one journaling changes, all at once
    errors: list[Exception] = []

    def record(channel: str) -> None:
        try:
            for start in range(0, 400, 40):
                batch = [fwd(h, in_channel=channel) for h in range(start, start + 40)]
                store.record_forwards(batch + batch[:5])
                store.activity(now_s=NOW)
        except Exception as exc:
            errors.append(exc)

    def journal() -> None:
        try:
            for _ in range(50):
                store.journal_mark(begin(store), JournalStatus.FAILED, updated_s=NOW, error="test")
        except Exception as exc:
            errors.append(exc)

    channels = [f"800000x{i}x1" for i in range(4)]
    threads = [threading.Thread(target=record, args=(ch,)) for ch in channels]
    threads.append(threading.Thread(target=journal))
    # when they run to the end
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then nothing failed, nothing is lost and nothing is counted twice
    assert errors == []
    assert store.forward_counts()["settled"] == 4 * 400
    assert store.counts()["changes"] == 50


# --- runs, decisions, proposals ---------------------------------------------------------------


def decision(scid: str = A, fee_ppm: int = 150) -> Decision:
    return Decision(
        short_channel_id=scid,
        peer_id="03" + "11" * 32,
        action=Action.RAISE_FEES,
        confidence=0.7,
        reasons=("outbound liquidity scarce", "in demand"),
        current_policy=policy(fee_ppm=100),
        proposed_policy=policy(fee_ppm=fee_ppm),
        impact=ExpectedImpact(daily_fee_delta_msat=1234, basis="7-day volume"),
    )


def guarded(
    scid: str = A, fee_ppm: int = 150, verdict: Verdict = Verdict.APPROVED
) -> GuardedChange:
    change = ProposedChange.from_decision(decision(scid, fee_ppm))
    assert change is not None
    allowed = None if verdict is Verdict.REJECTED else policy(fee_ppm=fee_ppm)
    return GuardedChange(change, verdict, allowed, ("within limits",))


def test_runs_and_the_shadow_log_round_trip(store: Store) -> None:
    # given a run with two decisions, one with a clamped change
    run_id = store.start_run(mode=Mode.ADVISE, started_s=NOW)
    clamped = GuardedChange(guarded().change, Verdict.CLAMPED, policy(fee_ppm=140), ("step",))
    store.record_decisions(run_id, [decision(A), decision(B)], [clamped, None], created_s=NOW)
    store.finish_run(run_id, finished_s=NOW + 2, decisions=2, proposals=1, changes=0)
    # when they are read back
    run = store.last_run()
    records = store.decisions()
    # then every field survives, money as integers, newest first
    assert run is not None and (run.run_id, run.mode, run.finished_s) == (
        run_id,
        Mode.ADVISE,
        NOW + 2,
    )
    assert [r.short_channel_id for r in records] == [B, A]
    logged = records[1]
    assert logged.action is Action.RAISE_FEES and logged.verdict is Verdict.CLAMPED
    assert logged.reasons == ("outbound liquidity scarce", "in demand")
    assert logged.proposed_policy == policy(fee_ppm=150)
    assert logged.guarded_policy == policy(fee_ppm=140)
    assert logged.impact == ExpectedImpact(1234, "7-day volume")
    assert isinstance(logged.current_policy.base_fee_msat, int)
    assert records[0].verdict is None and records[0].verdict_reasons == ()
    assert [r.short_channel_id for r in store.decisions(short_channel_id=A)] == [A]


def test_decisions_and_verdicts_must_pair_up(store: Store) -> None:
    run_id = store.start_run(mode=Mode.SHADOW, started_s=NOW)
    with pytest.raises(InvalidRequest, match="2 decisions but 1 verdicts"):
        store.record_decisions(run_id, [decision(), decision()], [None], created_s=NOW)


def test_finishing_an_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="no run 99"):
        store.finish_run(99, finished_s=NOW, decisions=0, proposals=0, changes=0)


def test_a_new_proposal_replaces_the_queued_one_for_its_channel(store: Store) -> None:
    # given a queued proposal for A, and a rejected change for B
    (first,) = store.queue_proposals(
        [guarded(A, 150), guarded(B, verdict=Verdict.REJECTED)], created_s=NOW
    )
    # when a newer proposal for A is queued
    (second,) = store.queue_proposals([guarded(A, 170)], created_s=NOW + 60)
    # then only the newer one is queued; the first expired
    assert [p.proposal_id for p in store.proposals()] == [second.proposal_id]
    old = store.proposal(first.proposal_id)
    assert old is not None and old.status is ProposalStatus.EXPIRED
    assert second.new_policy == policy(fee_ppm=170)
    assert second.reasons[-1] == "within limits"


def test_only_a_queued_proposal_can_be_decided(store: Store) -> None:
    (proposal,) = store.queue_proposals([guarded()], created_s=NOW)
    store.set_proposal_status(proposal.proposal_id, ProposalStatus.APPROVED, updated_s=NOW)
    with pytest.raises(InvalidRequest, match="is approved, no longer queued"):
        store.set_proposal_status(proposal.proposal_id, ProposalStatus.REJECTED, updated_s=NOW)
    with pytest.raises(InvalidRequest, match="no proposal 42"):
        store.set_proposal_status(42, ProposalStatus.REJECTED, updated_s=NOW)
    assert store.proposals() == []
    assert len(store.proposals(status=None)) == 1


# --- fee journal ------------------------------------------------------------------------------


def begin(
    store: Store,
    scid: str = A,
    *,
    batch_id: str = "b1",
    created_s: float = NOW,
    old: ChannelPolicy | None = None,
    new: ChannelPolicy | None = None,
    rollback_of: int | None = None,
) -> int:
    return store.journal_begin(
        batch_id=batch_id,
        short_channel_id=scid,
        peer_id="03" + "22" * 32,
        old_policy=old or policy(fee_ppm=100),
        new_policy=new or policy(fee_ppm=150),
        reasons=("raise",),
        created_s=created_s,
        rollback_of=rollback_of,
    )


def test_a_journal_entry_is_on_disk_when_begin_returns(store: Store) -> None:
    # given an entry just begun
    change_id = begin(store)
    # when another connection (another process) reads the file
    other = Store(store.path)
    entry = other.journal_entry(change_id)
    other.close()
    # then it sees the entry, open
    assert entry is not None and entry.status is JournalStatus.PENDING
    assert entry.old_policy == policy(fee_ppm=100) and entry.new_policy == policy(fee_ppm=150)


def test_journal_lifecycle_pending_applied_done_rolled_back(store: Store) -> None:
    # given a change that goes pending → applied → done
    batch = store.new_batch_id()
    change_id = begin(store, batch_id=batch)
    assert [e.change_id for e in store.open_journal_entries()] == [change_id]
    store.journal_mark(change_id, JournalStatus.APPLIED, updated_s=NOW + 1)
    store.journal_mark(change_id, JournalStatus.DONE, updated_s=NOW + 2)
    assert store.open_journal_entries() == []
    # when a rollback of it is journaled and finished
    rollback_batch = store.new_batch_id()
    rollback_id = begin(
        store,
        batch_id=rollback_batch,
        created_s=NOW + 10,
        old=policy(fee_ppm=150),
        new=policy(fee_ppm=100),
        rollback_of=change_id,
    )
    store.journal_finish_rollback(rollback_id, updated_s=NOW + 11)
    # then the original is rolled back and linked, the rollback done
    original, rollback = store.journal_entry(change_id), store.journal_entry(rollback_id)
    assert original is not None and rollback is not None
    assert (original.status, original.rolled_back_by) == (JournalStatus.ROLLED_BACK, rollback_id)
    assert (rollback.status, rollback.rollback_of) == (JournalStatus.DONE, change_id)
    assert original.updated_s == NOW + 11
    # and batches, counts and change times say so
    assert (batch, rollback_batch) == ("b1", "b2")
    assert store.last_batch_id() == "b1"
    assert store.last_batch_id(exclude_rollbacks=False) == "b2"
    assert store.counts()["changes"] == 1 and store.counts()["rollbacks"] == 1
    assert store.change_times(since_s=NOW - 1) == {A: [NOW, NOW + 10]}


def test_a_journal_entry_cannot_go_backwards(store: Store) -> None:
    change_id = begin(store)
    store.journal_mark(change_id, JournalStatus.FAILED, updated_s=NOW, error="refused")
    with pytest.raises(StoreError, match="is failed; it cannot become done"):
        store.journal_mark(change_id, JournalStatus.DONE, updated_s=NOW)
    with pytest.raises(StoreError, match="no journal entry 99"):
        store.journal_mark(99, JournalStatus.DONE, updated_s=NOW)
    with pytest.raises(StoreError, match="cannot become rolled_back"):
        store.journal_link_rollback(change_id, change_id)


def test_failed_changes_do_not_count_as_recent_changes(store: Store) -> None:
    failed = begin(store, B)
    store.journal_mark(failed, JournalStatus.FAILED, updated_s=NOW, error="x")
    begin(store, A, created_s=NOW - 100)
    assert store.change_times(since_s=NOW - 50) == {}
    assert store.change_times(since_s=NOW - 200) == {A: [NOW - 100]}


def test_journal_filters_combine_and_list_newest_first(store: Store) -> None:
    ids = [
        begin(store, scid, batch_id=batch, created_s=NOW + i)
        for i, (scid, batch) in enumerate([(A, "b1"), (B, "b1"), (A, "b2"), (C, "b2")])
    ]
    store.journal_mark(ids[0], JournalStatus.DONE, updated_s=NOW)
    assert [e.change_id for e in store.journal()] == ids[::-1]
    assert [e.change_id for e in store.journal(short_channel_id=A)] == [ids[2], ids[0]]
    assert [e.change_id for e in store.journal(batch_id="b2")] == [ids[3], ids[2]]
    assert [e.change_id for e in store.journal(since_s=NOW + 2)] == [ids[3], ids[2]]
    done = store.journal(statuses=[JournalStatus.DONE])
    assert [e.change_id for e in done] == [ids[0]]
    assert len(store.journal(limit=1)) == 1
    assert store.journal(statuses=[]) == []


# --- price histories ----------------------------------------------------------------------------


def test_a_price_history_holds_the_earnings_at_the_last_two_rates(store: Store) -> None:
    day = 86_400.0
    # given B changed 100 → 150 ppm four days ago (done) and 150 → 300 one day ago (done),
    # and a later change that failed (not in force)
    for change_id, (old, new, at_s) in enumerate(
        [(100, 150, NOW - 4 * day), (150, 300, NOW - day), (300, 999, NOW - 60)], start=1
    ):
        begin(store, B, created_s=at_s, old=policy(fee_ppm=old), new=policy(fee_ppm=new))
        final = JournalStatus.FAILED if new == 999 else JournalStatus.DONE
        store.journal_mark(change_id, final, updated_s=at_s, error="x" if new == 999 else None)
    # and forwards out of B: two at 150 ppm, one at 300 ppm, one before any change, one failed
    store.record_forwards(
        [
            fwd(1, at_s=NOW - 3 * day, fee_msat=1_500),
            fwd(2, at_s=NOW - 2 * day, fee_msat=1_500),
            fwd(3, at_s=NOW - 3_600, fee_msat=3_000),
            fwd(4, at_s=NOW - 6 * day, fee_msat=100),
            fwd(5, ForwardStatus.FAILED, at_s=NOW - 3_600),
        ]
    )
    # when the price histories are read
    histories = store.price_histories(now_s=NOW)
    # then B's current rate is 300 ppm since a day ago, earning one forward; the previous,
    # 150 ppm, was in force three days and earned two
    assert set(histories) == {B}
    history = histories[B]
    assert (history.current_ppm, history.since_s) == (300, NOW - day)
    assert (history.current_forwards_out, history.current_fees_msat) == (1, 3_000)
    assert (history.previous_ppm, history.previous_days) == (150, 3.0)
    assert (history.previous_forwards_out, history.previous_fees_msat) == (2, 3_000)


def test_the_first_change_measures_the_rate_before_over_a_week(store: Store) -> None:
    day = 86_400.0
    begin(store, B, created_s=NOW - day, old=policy(fee_ppm=100), new=policy(fee_ppm=80))
    store.journal_mark(1, JournalStatus.DONE, updated_s=NOW - day)
    store.record_forwards([fwd(1, at_s=NOW - 5 * day), fwd(2, at_s=NOW - 9 * day)])
    history = store.price_histories(now_s=NOW)[B]
    assert (history.previous_ppm, history.current_ppm) == (100, 80)
    assert history.previous_days == 7.0
    assert history.previous_forwards_out == 1


# --- file modes --------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o002])
def test_the_store_and_its_wal_and_shm_are_owner_only_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    previous = os.umask(umask)
    try:
        store = Store(tmp_path / "lnopt.sqlite3")
        store.start_run(mode=Mode.SHADOW, started_s=1.0)  # a write: the -wal and -shm exist
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        store.close()
    finally:
        os.umask(previous)

    assert set(modes) >= {"lnopt.sqlite3", "lnopt.sqlite3-wal", "lnopt.sqlite3-shm"}
    assert set(modes.values()) == {0o600}


def test_a_store_left_readable_by_others_is_narrowed_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "lnopt.sqlite3"
    Store(path).close()
    path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="lnopt.store"):
        store = Store(path)
    # SQLite gives the -wal and -shm it creates the database file's mode: all three are narrowed
    parts = [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")]
    modes = [stat.S_IMODE(part.stat().st_mode) for part in parts]
    store.close()

    assert modes == [0o600] * 3
    lines = [r.getMessage() for r in caplog.records if "store_mode_narrowed" in r.getMessage()]
    assert lines == [f"event=store_mode_narrowed path={p} old_mode=644 new_mode=600" for p in parts]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d, "Is a directory"),
        (lambda d: d / "lnopt\x00.sqlite3", "embedded null byte"),
    ],
)
def test_a_path_the_store_cannot_open_is_a_store_error(
    tmp_path: Path, make: Any, needle: str
) -> None:
    with pytest.raises(StoreError, match=needle):
        Store(make(tmp_path))


def test_only_a_rollback_entry_can_finish_a_rollback(store: Store) -> None:
    change_id = begin(store)
    with pytest.raises(StoreError, match=f"journal entry {change_id} is not a rollback"):
        store.journal_finish_rollback(change_id, updated_s=NOW)
    with pytest.raises(StoreError, match="journal entry 99 is not a rollback"):
        store.journal_finish_rollback(99, updated_s=NOW)
    entry = store.journal_entry(change_id)
    assert entry is not None and entry.status is JournalStatus.PENDING


def test_a_finished_rollback_is_done_at_its_time_and_clears_an_earlier_error(
    store: Store,
) -> None:
    change_id = begin(store)
    store.journal_mark(change_id, JournalStatus.DONE, updated_s=NOW + 1)
    rollback_id = begin(store, batch_id="b2", created_s=NOW + 5, rollback_of=change_id)
    store.journal_mark(rollback_id, JournalStatus.PENDING, updated_s=NOW + 6, error="timeout")
    store.journal_finish_rollback(rollback_id, updated_s=NOW + 7)
    rollback = store.journal_entry(rollback_id)
    assert rollback is not None
    assert (rollback.status, rollback.updated_s, rollback.error) == (
        JournalStatus.DONE,
        NOW + 7,
        None,
    )


def test_a_rollback_link_to_an_unknown_entry_is_refused(store: Store) -> None:
    change_id = begin(store)
    store.journal_mark(change_id, JournalStatus.DONE, updated_s=NOW)
    with pytest.raises(StoreError, match="no journal entry 999"):
        store.journal_link_rollback(change_id, 999)
    entry = store.journal_entry(change_id)
    assert entry is not None and (entry.status, entry.rolled_back_by) == (JournalStatus.DONE, None)


def test_open_entries_are_the_pending_and_applied_ones_oldest_first(store: Store) -> None:
    first, done, second, third = (begin(store, created_s=NOW + i) for i in range(4))
    store.journal_mark(done, JournalStatus.DONE, updated_s=NOW)
    store.journal_mark(second, JournalStatus.APPLIED, updated_s=NOW)
    assert [e.change_id for e in store.open_journal_entries()] == [first, second, third]


def test_an_empty_journal_has_no_last_batch(store: Store) -> None:
    assert store.last_batch_id() is None
    assert store.last_batch_id(exclude_rollbacks=False) is None


def test_a_forward_counts_at_its_resolution_else_at_its_arrival(store: Store) -> None:
    day = 86_400
    # one settled forward received 8 days ago and resolved 6 days ago; one known only by its
    # arrival 6 days ago (a final event without resolved_time)
    resolved = dataclasses.replace(fwd(1), received_s=NOW - 8 * day, resolved_s=NOW - 6 * day)
    arrived = dataclasses.replace(fwd(2), received_s=NOW - 6 * day, resolved_s=None)
    store.record_forwards([resolved, arrived])
    week = store.activity(now_s=NOW)[B].last_7d
    assert week.forwards_out == 2
    # and neither falls in the last day
    assert store.activity(now_s=NOW)[B].last_1d.forwards_out == 0
