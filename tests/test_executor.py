"""The executor: journal → apply → verify → roll back, crash recovery, and the invariant that
every channel's policy is what the journal says."""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from lnopt.errors import BackendRefused, BackendUnavailable
from lnopt.executor import INTERRUPTED, Executor
from lnopt.model import Channel, ChannelPolicy, GuardedChange, ProposedChange, Verdict
from lnopt.store import JournalEntry, JournalStatus, Store
from tests.factories import channel
from tests.memory_backend import Crash, MemoryBackend

NOW = 1_760_000_000.0


def ppm(fee_ppm: int, base_fee_msat: int = 1000) -> ChannelPolicy:
    """The factories' default policy with other fees."""
    return channel().our_policy.with_fees(base_fee_msat=base_fee_msat, fee_ppm=fee_ppm)


def change(
    ch: Channel,
    fee_ppm: int,
    *,
    verdict: Verdict = Verdict.APPROVED,
    old: ChannelPolicy | None = None,
    base_fee_msat: int = 1000,
) -> GuardedChange:
    new = ppm(fee_ppm, base_fee_msat)
    proposed = ProposedChange(ch.short_channel_id, ch.peer_id, old or ch.our_policy, new, ("why",))
    allowed = None if verdict is Verdict.REJECTED else new
    return GuardedChange(proposed, verdict, allowed, ("guard says so",))


class Clock:
    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> float:
        return NOW + next(self._ticks)


@pytest.fixture
def channels() -> list[Channel]:
    return [channel(n, fee_ppm=100) for n in (1, 2, 3)]


@pytest.fixture
def node(channels: list[Channel]) -> MemoryBackend:
    return MemoryBackend(channels)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "lnopt.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def executor(node: MemoryBackend, store: Store) -> Executor:
    return Executor(node, store, clock=Clock())


def fee_ppm_of(node: MemoryBackend, ch: Channel) -> int:
    return node.true_policy(ch.short_channel_id).fee_ppm


def only_entry(store: Store) -> JournalEntry:
    (entry,) = store.journal()
    return entry


# --- apply ---------------------------------------------------------------------------------------


def test_a_change_is_journaled_applied_verified_and_logged(
    executor: Executor,
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ch = channels[0]
    # when a change to 150 ppm is applied for real
    with caplog.at_level(logging.INFO, logger="lnopt.executor"):
        result = executor.apply([change(ch, 150)], dryrun=False)
    # then the node has it, the journal says DONE with both policies, under batch b1
    (outcome,) = result.outcomes
    assert (result.batch_id, result.dryrun) == ("b1", False)
    assert (outcome.status, outcome.error) == (JournalStatus.DONE, None)
    assert fee_ppm_of(node, ch) == 150
    entry = only_entry(store)
    assert entry.change_id == outcome.change_id
    assert (entry.status, entry.old_policy, entry.new_policy) == (
        JournalStatus.DONE,
        ch.our_policy,
        ppm(150),
    )
    assert entry.reasons == ("why", "guard says so")
    assert node.set_policy_calls == [(ch.short_channel_id, ppm(150))]
    # and one key=value line says what was done
    lines = [r.getMessage() for r in caplog.records if "fee_change" in r.getMessage()]
    assert len(lines) == 1
    assert f"scid={ch.short_channel_id}" in lines[0]
    assert "old_fee_ppm=100 new_base_fee_msat=1000 new_fee_ppm=150 status=done" in lines[0]


def test_only_the_fees_change_other_policy_fields_stay(
    executor: Executor, node: MemoryBackend, store: Store
) -> None:
    ch = channel(1, fee_ppm=100)
    special = ch.our_policy.with_fees(base_fee_msat=0, fee_ppm=100)
    node.policies[ch.short_channel_id] = ChannelPolicy(0, 100, 5000, 123_000_000, 144)
    guarded = change(ch, 120, old=special, base_fee_msat=0)
    executor.apply([guarded], dryrun=False)
    assert node.true_policy(ch.short_channel_id) == ChannelPolicy(0, 120, 5000, 123_000_000, 144)
    assert only_entry(store).old_policy == ChannelPolicy(0, 100, 5000, 123_000_000, 144)


def test_a_refused_set_policy_leaves_the_old_policy_and_fails_the_entry(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    # given a node that refuses the next setchannel
    node.fail_set_policy(1, error=BackendRefused("Channel in state CHANNELD_SHUTTING_DOWN"))
    # when a change is applied
    (outcome,) = executor.apply([change(channels[0], 150)], dryrun=False).outcomes
    # then it failed with the node's reason, and the old policy is in force
    assert outcome.status is JournalStatus.FAILED
    assert outcome.error is not None and "CHANNELD_SHUTTING_DOWN" in outcome.error
    assert fee_ppm_of(node, channels[0]) == 100
    entry = only_entry(store)
    assert entry.status is JournalStatus.FAILED and entry.error == outcome.error


def test_a_set_policy_that_acted_before_failing_is_undone(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    # given a setchannel that takes effect but whose answer is lost
    node.fail_set_policy(1, error=BackendUnavailable("socket closed"), after_apply=True)
    # when a change is applied
    (outcome,) = executor.apply([change(channels[0], 150)], dryrun=False).outcomes
    # then the old policy was put back, and the entry says so
    assert outcome.status is JournalStatus.FAILED
    assert outcome.error is not None and "old policy restored" in outcome.error
    assert fee_ppm_of(node, channels[0]) == 100
    assert node.set_policy_calls[-1] == (channels[0].short_channel_id, channels[0].our_policy)


def test_a_verification_mismatch_restores_the_old_policy(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    # given a node that, after the validation read, reports a policy nobody set
    node.misreport(ch.short_channel_id, ppm(999), after=1)
    # when a change is applied
    (outcome,) = executor.apply([change(ch, 150)], dryrun=False).outcomes
    # then it failed on verification and the old policy is back in force
    assert outcome.status is JournalStatus.FAILED
    assert outcome.error is not None and "verification failed" in outcome.error
    assert "fee_ppm=999" in outcome.error
    assert fee_ppm_of(node, ch) == 100
    assert only_entry(store).status is JournalStatus.FAILED


@pytest.mark.parametrize("failed_reads", [1, 2])
def test_a_read_back_that_fails_after_the_change_took_effect_restores_the_old_policy(
    executor: Executor,
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    failed_reads: int,
) -> None:
    ch = channels[0]
    # given a node that applies the change, then cannot be read (the read-back, and with 2 also
    # the undo's own look), the validation read before it answering
    node.fail_get_policy(2, times=failed_reads)
    # when a change is applied
    (outcome,) = executor.apply([change(ch, 150)], dryrun=False).outcomes
    # then the undo did not take the old fee for granted: it set the old policy again
    assert fee_ppm_of(node, ch) == 100
    assert node.set_policy_calls[-1] == (ch.short_channel_id, ch.our_policy)
    assert outcome.status is JournalStatus.FAILED
    assert outcome.error is not None
    assert "cannot read the policy back" in outcome.error
    assert "old policy restored" in outcome.error
    assert only_entry(store).status is JournalStatus.FAILED


def test_a_read_back_failure_with_an_unreachable_restore_stays_open_at_the_new_policy(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    # given a node that applies the change, then can neither be read nor set
    node.fail_get_policy(2, times=2)
    node.fail_set_policy(2, error=BackendUnavailable("timeout"))
    # when a change is applied
    (outcome,) = executor.apply([change(ch, 150)], dryrun=False).outcomes
    # then the entry stays open (applied, outcome unknown), not failed as if the old fee held
    assert fee_ppm_of(node, ch) == 150
    assert outcome.status is JournalStatus.APPLIED
    assert outcome.error is not None and "left open for recover()" in outcome.error
    # and recovery, with the node back, finds the change in force
    assert executor.recover().finished == (outcome.change_id,)
    assert only_entry(store).status is JournalStatus.DONE


def test_when_the_restore_also_fails_the_entry_stays_open_for_recovery(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    # given a setchannel that acts then fails, and a node unreachable for the restore
    node.fail_set_policy(1, error=BackendUnavailable("timeout"), after_apply=True)
    node.fail_set_policy(2, error=BackendUnavailable("timeout"))
    # when the change is applied
    (outcome,) = executor.apply([change(ch, 150)], dryrun=False).outcomes
    # then the entry is left open with the reason, the node at the new policy
    assert outcome.status is JournalStatus.PENDING
    assert outcome.error is not None and "left open for recover()" in outcome.error
    assert fee_ppm_of(node, ch) == 150
    # and recovery settles it from the node: the change took effect
    recovered = executor.recover()
    assert recovered.finished == (outcome.change_id,)
    assert only_entry(store).status is JournalStatus.DONE


def test_no_change_is_made_to_a_channel_whose_earlier_change_is_still_open(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    # given a change whose restore acted but reported an error: its entry is left open
    node.fail_set_policy(1, after_apply=True)
    node.fail_set_policy(2, after_apply=True)
    first, second = executor.apply([change(ch, 0), change(ch, 1)], dryrun=False).outcomes
    assert first.status is JournalStatus.PENDING
    # then a second change to that channel is refused, naming the open entry
    assert second.status is None and second.change_id is None
    assert second.error == (
        f"change {first.change_id} on this channel is still open (its outcome is unknown); it "
        "is settled from the node's policy before the next apply"
    )
    assert fee_ppm_of(node, ch) == 100
    # and settling the open entry leaves the node at the policy the journal says
    assert executor.recover().undone == (first.change_id,)
    assert only_entry(store).status is JournalStatus.FAILED
    assert fee_ppm_of(node, ch) == 100


def test_a_dry_run_touches_nothing_and_journals_nothing(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    stale = change(channels[1], 150, old=ppm(42))
    # when a dry run sees a valid change, a rejected one and a stale one
    result = executor.apply(
        [change(channels[0], 150), change(channels[2], 300, verdict=Verdict.REJECTED), stale],
        dryrun=True,
    )
    # then nothing was set, nothing journaled, no batch was taken
    assert node.set_policy_calls == []
    assert store.journal() == [] and store.last_batch_id() is None
    assert (result.batch_id, result.dryrun) == (None, True)
    assert [o.status for o in result.outcomes] == [None, None, None]
    # and the dry run reports what a real apply would refuse, and why
    errors = [o.error for o in result.outcomes]
    assert errors[0] is None
    assert errors[1] is not None and errors[1].startswith("rejected by the guard")
    assert errors[2] is not None and errors[2].startswith("stale plan")
    assert store.new_batch_id() == "b1"


def test_invalid_changes_are_refused_before_the_journal(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    unknown = channel(9)
    result = executor.apply(
        [
            change(channels[0], -5),
            change(channels[1], 100),
            change(unknown, 150),
        ],
        dryrun=False,
    )
    errors = [o.error or "" for o in result.outcomes]
    assert "negative fee refused" in errors[0]
    assert errors[1] == "no change: the new fees equal the old ones"
    assert "cannot read the channel's policy" in errors[2] and "no channel" in errors[2]
    assert store.journal() == [] and node.set_policy_calls == []
    assert result.batch_id is None


def test_the_memory_node_refuses_what_lightningd_refuses(node: MemoryBackend) -> None:
    with pytest.raises(BackendRefused, match="Short channel id not found") as unknown:
        node.set_policy("1x1x1", ppm(10))
    assert unknown.value.code == -32602
    scid = next(iter(node.policies))
    with pytest.raises(BackendRefused, match="feeppm: should be an integer"):
        node.set_policy(scid, ppm(-1))
    with pytest.raises(BackendRefused, match="feebase"):
        node.set_policy(scid, ppm(10, base_fee_msat=-1))
    node.unavailable = True
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        node.get_policy(scid)


# --- rollback ------------------------------------------------------------------------------------


def test_a_batch_rollback_restores_every_channel_and_journals_it(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    # given a batch that changed three channels
    applied = executor.apply([change(ch, 200 + i) for i, ch in enumerate(channels)], dryrun=False)
    entries = store.journal(batch_id=applied.batch_id)
    # when that batch is rolled back
    result = executor.rollback(entries)
    # then every channel has its old policy again, in a new batch, newest change first
    assert [fee_ppm_of(node, ch) for ch in channels] == [100, 100, 100]
    assert result.batch_id == "b2" and store.last_batch_id() == "b1"
    assert all(o.status is JournalStatus.DONE for o in result.outcomes)
    assert [o.short_channel_id for o in result.outcomes] == [
        ch.short_channel_id for ch in reversed(channels)
    ]
    # and each original is ROLLED_BACK, linked both ways with its rollback entry
    for original in store.journal(batch_id="b1"):
        assert original.status is JournalStatus.ROLLED_BACK
        assert original.rolled_back_by is not None
        rollback = store.journal_entry(original.rolled_back_by)
        assert rollback is not None and rollback.rollback_of == original.change_id
        assert rollback.new_policy == original.old_policy
        assert rollback.old_policy == original.new_policy
    assert store.counts()["rollbacks"] == 3


def test_only_done_changes_can_be_rolled_back(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    node.fail_set_policy(1)
    executor.apply([change(channels[0], 150)], dryrun=False)
    failed = only_entry(store)
    (outcome,) = executor.rollback([failed]).outcomes
    assert outcome.status is None
    assert (
        outcome.error
        == f"change {failed.change_id} is failed; only a done change can be rolled back"
    )
    assert len(store.journal()) == 1


def test_rolling_back_twice_is_refused_the_second_time(
    executor: Executor, store: Store, channels: list[Channel]
) -> None:
    executor.apply([change(channels[0], 150)], dryrun=False)
    done = only_entry(store)
    executor.rollback([done])
    (again,) = executor.rollback([done]).outcomes  # the caller's copy still says DONE
    assert again.error is not None and "is rolled_back" in again.error


def test_a_rollback_over_a_later_change_is_refused_as_stale(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    executor.apply([change(ch, 150)], dryrun=False)
    first = only_entry(store)
    executor.apply([change(ch, 180, old=ppm(150))], dryrun=False)
    (outcome,) = executor.rollback([first]).outcomes
    assert outcome.error is not None and outcome.error.startswith("stale plan")
    assert fee_ppm_of(node, ch) == 180


def test_a_dry_run_rollback_changes_nothing(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    executor.apply([change(channels[0], 150)], dryrun=False)
    calls = len(node.set_policy_calls)
    result = executor.rollback(store.journal(), dryrun=True)
    assert result.batch_id is None and result.outcomes[0].error is None
    assert len(node.set_policy_calls) == calls and fee_ppm_of(node, channels[0]) == 150
    assert only_entry(store).status is JournalStatus.DONE


# --- recovery ------------------------------------------------------------------------------------


def open_entry(store: Store, ch: Channel, status: JournalStatus, new_ppm: int = 150) -> int:
    change_id = store.journal_begin(
        batch_id=store.new_batch_id(),
        short_channel_id=ch.short_channel_id,
        peer_id=ch.peer_id,
        old_policy=ch.our_policy,
        new_policy=ppm(new_ppm),
        reasons=("raise",),
        created_s=NOW,
    )
    if status is JournalStatus.APPLIED:
        store.journal_mark(change_id, status, updated_s=NOW)
    return change_id


@pytest.mark.parametrize(
    ("status", "node_ppm", "expected", "final_ppm"),
    [
        (JournalStatus.PENDING, 100, JournalStatus.FAILED, 100),  # node at old
        (JournalStatus.PENDING, 150, JournalStatus.DONE, 150),  # node at new
        (JournalStatus.APPLIED, 150, JournalStatus.DONE, 150),  # node at new
        (JournalStatus.APPLIED, 100, JournalStatus.FAILED, 100),  # node at old
        (JournalStatus.PENDING, 777, JournalStatus.FAILED, 100),  # neither → old restored
        (JournalStatus.APPLIED, 777, JournalStatus.FAILED, 100),  # neither → old restored
    ],
)
def test_recover_settles_each_open_state_from_the_node(
    executor: Executor,
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    status: JournalStatus,
    node_ppm: int,
    expected: JournalStatus,
    final_ppm: int,
) -> None:
    ch = channels[0]
    # given an entry a crash left open, and the node's actual policy
    change_id = open_entry(store, ch, status)
    node.policies[ch.short_channel_id] = ppm(node_ppm)
    # when the executor recovers
    result = executor.recover()
    # then the node's policy decided, and it is the old or the new one
    entry = store.journal_entry(change_id)
    assert entry is not None and entry.status is expected
    assert fee_ppm_of(node, ch) == final_ppm
    if expected is JournalStatus.DONE:
        assert result.finished == (change_id,) and result.undone == ()
    else:
        assert result.undone == (change_id,) and result.finished == ()
        assert entry.error is not None
        if node_ppm == 100:
            assert entry.error.startswith(INTERRUPTED)
        else:
            assert "neither" in entry.error and "old policy restored" in entry.error


def test_recover_leaves_entries_open_while_the_node_is_unreachable(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    change_id = open_entry(store, channels[0], JournalStatus.PENDING)
    node.unavailable = True
    assert executor.recover().unresolved == (change_id,)
    assert [e.change_id for e in store.open_journal_entries()] == [change_id]
    node.unavailable = False
    assert executor.recover().undone == (change_id,)


def test_recover_finishes_an_interrupted_rollback(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    executor.apply([change(ch, 150)], dryrun=False)
    original = only_entry(store)
    # given a crash after the rollback's setchannel took effect
    node.crash_on("set_policy", after_apply=True)
    with pytest.raises(Crash):
        executor.rollback([original])
    # when a new executor recovers
    result = Executor(node, store, clock=Clock()).recover()
    # then the rollback is done and the original marked rolled back
    (rollback_id,) = result.finished
    refreshed = store.journal_entry(original.change_id)
    assert refreshed is not None and refreshed.status is JournalStatus.ROLLED_BACK
    assert refreshed.rolled_back_by == rollback_id
    assert fee_ppm_of(node, ch) == 100


@pytest.mark.parametrize(
    ("method", "after_apply", "expected", "final_ppm"),
    [
        ("set_policy", False, JournalStatus.FAILED, 100),  # died before setchannel
        ("set_policy", True, JournalStatus.DONE, 150),  # died after setchannel acted
        ("get_policy", False, JournalStatus.DONE, 150),  # died while verifying
    ],
)
def test_a_crash_at_any_step_is_recovered_to_old_or_new(
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    method: str,
    after_apply: bool,
    expected: JournalStatus,
    final_ppm: int,
) -> None:
    ch = channels[0]
    executor = Executor(node, store, clock=Clock())
    # given a process that dies during a change (the validation read is the first get_policy)
    node.crash_on(method, nth=2 if method == "get_policy" else 1, after_apply=after_apply)
    with pytest.raises(Crash):
        executor.apply([change(ch, 150)], dryrun=False)
    assert len(store.open_journal_entries()) == 1
    # when it starts again and recovers
    Executor(node, store, clock=Clock()).recover()
    # then the journal says which policy is in force, and it is the one in force
    entry = only_entry(store)
    assert entry.status is expected
    assert fee_ppm_of(node, ch) == final_ppm


# --- the invariant, under random faults ----------------------------------------------------------

fault = st.one_of(
    st.tuples(
        st.just("fail_set"),
        st.integers(1, 3),
        st.booleans(),
        st.sampled_from(["refused", "unavailable"]),
    ),
    st.tuples(st.just("misreport"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(
        st.just("crash"),
        st.sampled_from(["set_policy", "get_policy"]),
        st.integers(1, 3),
        st.booleans(),
    ),
    st.tuples(st.just("unavailable")),
)
operation = st.one_of(
    st.tuples(
        st.just("apply"),
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 400)), min_size=1, max_size=3),
    ),
    st.tuples(st.just("rollback_last")),
    st.tuples(st.just("rollback_channel"), st.integers(0, 2)),
)


def inject(node: MemoryBackend, scids: list[str], spec: tuple[Any, ...]) -> None:
    kind = spec[0]
    if kind == "fail_set":
        _, nth, after_apply, error = spec
        exc = (
            BackendRefused("refused", code=-1) if error == "refused" else BackendUnavailable("gone")
        )
        node.fail_set_policy(nth, error=exc, after_apply=after_apply)
    elif kind == "misreport":
        _, index, after = spec
        node.misreport(scids[index], ppm(4242), after=after)
    elif kind == "crash":
        _, method, nth, after_apply = spec
        node.crash_on(method, nth, after_apply=after_apply)
    else:
        node.unavailable = True


def in_force_per_journal(
    store: Store, initial: dict[str, ChannelPolicy]
) -> dict[str, ChannelPolicy]:
    """Replay the closed journal: a change that was in force (DONE or later ROLLED_BACK) sets
    its channel's new policy; a FAILED one leaves it."""
    state = dict(initial)
    for entry in sorted(store.journal(), key=lambda e: e.change_id):
        if entry.status in (JournalStatus.DONE, JournalStatus.ROLLED_BACK):
            state[entry.short_channel_id] = entry.new_policy
    return state


def fees(p: ChannelPolicy) -> tuple[int, int]:
    return (p.base_fee_msat, p.fee_ppm)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(operation, st.lists(fault, max_size=2)), min_size=1, max_size=10))
@example(  # two changes to one channel, the first left open by a restore that acted yet failed
    steps=[(("apply", [(0, 0), (0, 1)]), [("fail_set", 1, True, "refused")] * 2)]
)
def test_every_channel_has_the_policy_the_journal_says_whatever_fails(
    steps: list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]],
) -> None:
    chans = [channel(n, fee_ppm=100) for n in (1, 2, 3)]
    scids = [ch.short_channel_id for ch in chans]
    initial = {ch.short_channel_id: ch.our_policy for ch in chans}
    node = MemoryBackend(chans)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lnopt.sqlite3"
        store = Store(path)
        executor = Executor(node, store, clock=Clock())
        for op, faults in steps:
            for spec in faults:
                inject(node, scids, spec)
            try:
                run(executor, store, node, scids, op)
            except Crash:
                event("crashed mid-change")
                store.close()
                store = Store(path)
                executor = Executor(node, store, clock=Clock())
            node.clear_faults()
            # while entries are open: the journal's policy, or an open entry's new one
            closed = in_force_per_journal(store, initial)
            open_new = {e.short_channel_id: e.new_policy for e in store.open_journal_entries()}
            if open_new:
                event("entries left open")
            for scid in scids:
                allowed = {fees(closed[scid])} | (
                    {fees(open_new[scid])} if scid in open_new else set()
                )
                assert fees(node.true_policy(scid)) in allowed
            # once recovered, the journal says exactly which policy every channel has
            executor.recover()
            assert store.open_journal_entries() == []
            for status in {e.status for e in store.journal()}:
                event(f"journal has {status.value}")
            closed = in_force_per_journal(store, initial)
            for scid in scids:
                assert fees(node.true_policy(scid)) == fees(closed[scid])
        store.close()


def run(
    executor: Executor, store: Store, node: MemoryBackend, scids: list[str], op: tuple[Any, ...]
) -> None:
    kind = op[0]
    if kind == "apply":
        changes = []
        for index, new_ppm in op[1]:
            ch = channel(index + 1)
            current = node.true_policy(ch.short_channel_id)
            proposed = ProposedChange(ch.short_channel_id, ch.peer_id, current, ppm(new_ppm), ())
            changes.append(GuardedChange(proposed, Verdict.APPROVED, ppm(new_ppm), ()))
        executor.apply(changes, dryrun=False)
    elif kind == "rollback_last":
        batch_id = store.last_batch_id()
        if batch_id is not None:
            executor.rollback(store.journal(batch_id=batch_id))
    else:
        scid = scids[op[1]]
        executor.rollback(
            store.journal(short_channel_id=scid, statuses=[JournalStatus.DONE], limit=1)
        )


# --- what is recorded when things fail ---------------------------------------------------------


def test_a_restore_that_fails_is_recorded_with_both_errors_and_logged(
    executor: Executor,
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ch = channels[0]
    # given a setchannel that acts then fails, and a restore the node refuses
    node.fail_set_policy(1, error=BackendUnavailable("answer lost"), after_apply=True)
    node.fail_set_policy(2, error=BackendRefused("peer busy", code=-1))
    with caplog.at_level(logging.INFO, logger="lnopt.executor"):
        (outcome,) = executor.apply([change(ch, 150)], dryrun=False).outcomes
    # then the journal keeps why, in the entry itself, for recover() and the operator
    entry = only_entry(store)
    assert entry.error == outcome.error
    assert entry.error is not None
    assert "set_policy failed: answer lost" in entry.error
    assert "restoring the old policy failed (peer busy)" in entry.error
    # and the change's log line carries the same error
    (line,) = [
        r.getMessage() for r in caplog.records if "fee_change action=apply" in r.getMessage()
    ]
    assert "status=pending" in line and "peer busy" in line


def test_recovery_logs_what_it_settled_and_what_it_could_not(
    executor: Executor,
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = channels[0], channels[1]
    # given two open entries: one whose change took effect, one on a channel the node hides
    for ch in (first, second):
        change_id = store.journal_begin(
            batch_id="b1",
            short_channel_id=ch.short_channel_id,
            peer_id=ch.peer_id,
            old_policy=ch.our_policy,
            new_policy=ppm(150),
            reasons=("why",),
            created_s=NOW,
        )
    node.set_policy(first.short_channel_id, ppm(150))
    node.fail_get_policy(2)
    # when recovery runs
    with caplog.at_level(logging.INFO, logger="lnopt.executor"):
        result = executor.recover()
    # then the first is finished and logged as done, the second left open and named
    assert result.finished == (change_id - 1,) and result.unresolved == (change_id,)
    messages = [r.getMessage() for r in caplog.records]
    (done,) = [m for m in messages if m.startswith("fee_change action=recover")]
    assert f"scid={first.short_channel_id}" in done and "status=done" in done
    (open_line,) = [m for m in messages if m.startswith("recover change_id=")]
    assert f"change_id={change_id} scid={second.short_channel_id} unresolved" in open_line
    assert "injected read timeout" in open_line


def test_an_open_change_on_one_channel_does_not_hold_up_another(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    one, other = channels[0], channels[1]
    # given a change on one channel left open (the restore acted but reported an error)
    node.fail_set_policy(1, after_apply=True)
    node.fail_set_policy(2, after_apply=True)
    (stuck,) = executor.apply([change(one, 0)], dryrun=False).outcomes
    assert stuck.status is JournalStatus.PENDING
    # when a change to another channel is applied
    (outcome,) = executor.apply([change(other, 150)], dryrun=False).outcomes
    # then it goes through
    assert (outcome.status, outcome.error) == (JournalStatus.DONE, None)
    assert fee_ppm_of(node, other) == 150


def test_apply_is_a_dry_run_unless_told_otherwise(
    executor: Executor,
    node: MemoryBackend,
    store: Store,
    channels: list[Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="lnopt.executor"):
        result = executor.apply([change(channels[0], 150)])
    assert result.dryrun and result.batch_id is None
    assert node.set_policy_calls == [] and store.journal() == []
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("fee_change action=dryrun change_id=None")


def test_a_refusal_is_logged_with_its_reason(
    executor: Executor, channels: list[Channel], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lnopt.executor"):
        executor.apply([change(channels[0], 150, verdict=Verdict.REJECTED)], dryrun=False)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("fee_change action=refuse change_id=None")
    assert f"scid={channels[0].short_channel_id}" in line
    assert "error='rejected by the guard: guard says so'" in line


def test_recovery_goes_on_past_an_entry_it_cannot_read(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ids = [
        store.journal_begin(
            batch_id="b1",
            short_channel_id=ch.short_channel_id,
            peer_id=ch.peer_id,
            old_policy=ch.our_policy,
            new_policy=ppm(150),
            reasons=("why",),
            created_s=NOW,
        )
        for ch in channels[:2]
    ]
    node.fail_get_policy(1)  # the first entry's channel cannot be read
    result = executor.recover()
    assert result.unresolved == (ids[0],)
    assert result.undone == (ids[1],)  # the node never took the second change


def test_recovery_that_cannot_restore_leaves_the_entry_unresolved(
    executor: Executor, node: MemoryBackend, store: Store, channels: list[Channel]
) -> None:
    ch = channels[0]
    change_id = store.journal_begin(
        batch_id="b1",
        short_channel_id=ch.short_channel_id,
        peer_id=ch.peer_id,
        old_policy=ch.our_policy,
        new_policy=ppm(150),
        reasons=("why",),
        created_s=NOW,
    )
    node.set_policy(ch.short_channel_id, ppm(777))  # neither policy, and the restore fails
    node.fail_set_policy(1, error=BackendUnavailable("timeout"))
    result = executor.recover()
    assert (result.undone, result.unresolved) == ((), (change_id,))
    entry = only_entry(store)
    assert entry.status is JournalStatus.PENDING
    assert entry.error is not None and "node had neither policy" in entry.error
