"""The Optimizer service over an in-memory node and a real store: modes, the advise queue,
auto runs inside the guard, rollback targets, history, status, report, and refused input."""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lnopt.backends.cln import ClnBackend, ForwardPosition
from lnopt.backends.cln_shapes import forward_from_listforwards
from lnopt.config import Config, default_config
from lnopt.errors import BackendUnavailable, InvalidRequest
from lnopt.model import Channel, Forward, ForwardStatus, Mode
from lnopt.service import Optimizer, Scheduler, parse_mode
from lnopt.store import JournalStatus, ProposalStatus, RunRecord, Store
from tests.factories import both_directions, channel, node_id
from tests.memory_backend import Crash, MemoryBackend
from tests.plugin_harness import short_lightning_dir, wait_for
from tests.standin_node import LEGACY, Call, Close, StandinNode, build_node

T0 = 1_760_000_000.0
DAY_S = 86_400


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def competitors(channels: Sequence[Channel]) -> list[dict[str, object]]:
    """Three cheaper channels from other nodes toward each of our peers."""
    items: list[dict[str, object]] = []
    for ch in channels:
        n = int(ch.short_channel_id.split("x")[1])
        for k in range(3):
            items += both_directions(f"700000x{n * 10 + k}x0", node_id(100 + k), ch.peer_id)
    return items


MARKET_PPM = 100  # the fee of the competitors' channels toward each peer


def idle_and_balanced(fee_ppm: int = 400) -> list[Channel]:
    """Channels 1-3 hold 92% of their capacity, forward nothing and charge ``fee_ppm`` (the
    engine lowers their fees toward the market); channels 4-6 are balanced and charge the
    market price (kept)."""
    return [
        channel(n, local_ratio=0.92, fee_ppm=fee_ppm)
        if n <= 3
        else channel(n, local_ratio=0.5, fee_ppm=MARKET_PPM)
        for n in range(1, 7)
    ]


def node(channels: Sequence[Channel]) -> MemoryBackend:
    return MemoryBackend(channels, extra_gossip=competitors(channels))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "lnopt.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def optimizer(
    backend: MemoryBackend,
    store: Store,
    clock: Clock,
    mode: Mode = Mode.ADVISE,
    config: Config | None = None,
    interval_s: int = 3600,
) -> Optimizer:
    return Optimizer(
        backend,
        store,
        config or default_config(),
        mode=mode,
        interval_s=interval_s,
        clock=clock,
    )


def settled(
    n: int, *, out_channel: str, fee_msat: int, at_s: float, in_channel: str = "850000x9x0"
) -> Forward:
    return Forward(
        in_channel=in_channel,
        in_htlc_id=n,
        out_channel=out_channel,
        in_msat=1_000_000 + fee_msat,
        out_msat=1_000_000,
        fee_msat=fee_msat,
        status=ForwardStatus.SETTLED,
        received_s=at_s - 1,
        resolved_s=at_s,
    )


# --- shadow mode -----------------------------------------------------------------------------

OPERATIONS = ("run", "apply_dry", "apply_real", "approve", "rollback", "rollback_dry", "recover")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 3000)), min_size=1, max_size=5),
    operations=st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=6),
)
def test_shadow_mode_never_calls_set_policy_whatever_is_asked(
    shape: list[tuple[float, int]], operations: list[str]
) -> None:
    # Given a node with any channels and an optimizer in shadow mode
    channels = [
        channel(n, local_ratio=ratio, fee_ppm=fee) for n, (ratio, fee) in enumerate(shape, 1)
    ]
    backend = node(channels)
    before = dict(backend.policies)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "lnopt.sqlite3")
        try:
            service = optimizer(backend, store, Clock(), Mode.SHADOW)
            # When any sequence of runs, applies, approvals, rollbacks and recoveries is asked
            for operation in operations:
                try:
                    {
                        "run": service.run_once,
                        "apply_dry": lambda: service.apply("all"),
                        "apply_real": lambda: service.apply("all", dryrun=False),
                        "approve": lambda: service.approve("all"),
                        "rollback": lambda: service.rollback("last"),
                        "rollback_dry": lambda: service.rollback("last", dryrun=True),
                        "recover": service.recover,
                    }[operation]()
                except InvalidRequest:
                    pass
            runs = store.counts()["runs"]
        finally:
            store.close()

    # Then the node was never asked to change a fee
    assert backend.set_policy_calls == []
    assert backend.policies == before
    assert runs == operations.count("run")


def test_shadow_refuses_a_real_apply_and_says_how_to_switch(store: Store, clock: Clock) -> None:
    backend = node(idle_and_balanced())
    service = optimizer(backend, store, clock, Mode.SHADOW)

    with pytest.raises(InvalidRequest, match=r"shadow mode.*setconfig lnopt-mode advise"):
        service.apply("all", dryrun=False)
    dry = service.apply("all")

    assert dry.dryrun and dry.batch_id is None
    assert {o.short_channel_id for o in dry.outcomes} == {"850000x1x0", "850000x2x0", "850000x3x0"}
    assert backend.set_policy_calls == []


def test_a_shadow_run_logs_every_decision_with_its_verdict(store: Store, clock: Clock) -> None:
    backend = node(idle_and_balanced())
    service = optimizer(backend, store, clock, Mode.SHADOW)

    run = service.run_once()

    assert (run.mode, run.decisions, run.proposals, run.changes, run.error) == (
        Mode.SHADOW,
        6,
        0,
        0,
        None,
    )
    logged = {record.short_channel_id: record for record in store.decisions()}
    assert len(logged) == 6
    for scid in ("850000x1x0", "850000x2x0", "850000x3x0"):
        assert logged[scid].proposed_policy is not None
        assert logged[scid].verdict is not None
    assert logged["850000x4x0"].verdict is None
    assert store.proposals() == []


# --- advise mode -------------------------------------------------------------------------------


def test_an_advise_run_queues_proposals_that_are_approved_or_rejected(
    store: Store, clock: Clock
) -> None:
    # Given an advise run that queued a proposal for each idle channel
    backend = node(idle_and_balanced())
    service = optimizer(backend, store, clock)
    run = service.run_once()
    queued = service.proposals()
    assert run.proposals == len(queued) == 3
    assert backend.set_policy_calls == []

    # When one is rejected and the others are approved
    rejected = service.reject(queued[0].proposal_id)
    result = service.approve("all")

    # Then only the approved reach the node, with the policy proposed
    assert rejected.status is ProposalStatus.REJECTED
    assert [scid for scid, _ in backend.set_policy_calls] == [
        p.short_channel_id for p in queued[1:]
    ]
    for proposal in queued[1:]:
        assert backend.policies[proposal.short_channel_id].fee_ppm == proposal.new_policy.fee_ppm
    assert {o.status for o in result.outcomes} == {JournalStatus.DONE}
    assert service.proposals() == ()
    with pytest.raises(InvalidRequest, match="is rejected, not queued"):
        service.approve(str(queued[0].proposal_id))


def test_approving_a_stale_proposal_changes_nothing_and_expires_it(
    store: Store, clock: Clock
) -> None:
    backend = node(idle_and_balanced())
    service = optimizer(backend, store, clock)
    service.run_once()
    proposal = service.proposals()[0]
    scid = proposal.short_channel_id
    backend.policies[scid] = backend.policies[scid].with_fees(base_fee_msat=0, fee_ppm=123)

    result = service.approve(str(proposal.proposal_id))

    (outcome,) = result.outcomes
    assert outcome.status is None and outcome.error is not None
    assert "expired" in outcome.error and "123 ppm" in outcome.error
    assert backend.set_policy_calls == []
    assert store.proposal(proposal.proposal_id).status is ProposalStatus.EXPIRED  # type: ignore[union-attr]


# --- auto mode ---------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fee_ppm=st.integers(1, 3000),
    max_fee_ppm=st.integers(0, 3000),
    min_fee_ppm=st.integers(0, 300),
    max_step_ppm=st.integers(0, 400),
)
def test_an_auto_run_applies_only_within_the_guard(
    fee_ppm: int, max_fee_ppm: int, min_fee_ppm: int, max_step_ppm: int
) -> None:
    # Given guard limits of any size and idle channels the engine wants cheaper
    limits = {
        "min_fee_ppm": min(min_fee_ppm, max_fee_ppm),
        "max_fee_ppm": max_fee_ppm,
        "max_step_ppm": max_step_ppm,
    }
    config = default_config().with_guard(**limits)
    backend = node(idle_and_balanced(fee_ppm))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "lnopt.sqlite3")
        try:
            service = optimizer(backend, store, Clock(), Mode.AUTO, config)

            # When two scheduled runs happen back to back
            first = service.run_once()
            second = service.run_once()
            done = store.journal(statuses=(JournalStatus.DONE,))
        finally:
            store.close()

    # Then every fee set lies within the bounds and one step of the old fee, once per channel
    for _, policy in backend.set_policy_calls:
        assert limits["min_fee_ppm"] <= policy.fee_ppm <= limits["max_fee_ppm"]
        assert abs(policy.fee_ppm - fee_ppm) <= max_step_ppm
    assert first.changes == len(done) == len(backend.set_policy_calls)
    assert second.changes == 0  # the cooldown holds the second run back


# --- rollback targets --------------------------------------------------------------------------


@pytest.fixture
def applied(store: Store, clock: Clock) -> tuple[Optimizer, MemoryBackend, dict[str, int]]:
    """Three idle channels lowered from 400 ppm in batch b1; their old rates by channel."""
    backend = node(idle_and_balanced())
    service = optimizer(backend, store, clock)
    before = {scid: policy.fee_ppm for scid, policy in backend.policies.items()}
    result = service.apply("all", dryrun=False)
    assert result.batch_id == "b1" and len(result.done) == 3
    clock.now += 60
    return service, backend, before


def test_the_next_snapshot_knows_the_rate_each_change_set_and_since_when(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]], clock: Clock
) -> None:
    service, backend, before = applied
    prices = service.snapshot().prices
    changed = {scid for scid, ppm in before.items() if backend.policies[scid].fee_ppm != ppm}
    assert len(changed) == 3 and set(prices) == changed
    for scid, price in prices.items():
        assert (price.previous_ppm, price.current_ppm) == (
            before[scid],
            backend.policies[scid].fee_ppm,
        )
        assert price.since_s == clock.now - 60 and price.current_forwards_out == 0


@pytest.mark.parametrize(
    ("target", "restored"),
    [
        ("1", {"850000x1x0"}),
        ("b1", {"850000x1x0", "850000x2x0", "850000x3x0"}),
        ("850000x2x0", {"850000x2x0"}),
        ("last", {"850000x1x0", "850000x2x0", "850000x3x0"}),
    ],
)
def test_rollback_targets_restore_what_they_name(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]], target: str, restored: set[str]
) -> None:
    service, backend, before = applied

    result = service.rollback(target)

    assert {o.short_channel_id for o in result.outcomes} == restored
    assert all(o.status is JournalStatus.DONE for o in result.outcomes)
    for scid, fee_ppm in before.items():
        changed = scid in {"850000x1x0", "850000x2x0", "850000x3x0"} and scid not in restored
        assert (backend.policies[scid].fee_ppm != fee_ppm) is changed


def test_rollback_dry_run_changes_nothing(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]],
) -> None:
    service, backend, _ = applied
    calls = len(backend.set_policy_calls)

    result = service.rollback("last", dryrun=True)

    assert result.dryrun and len(result.outcomes) == 3
    assert len(backend.set_policy_calls) == calls


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("99", "no fee change with id 99"),
        ("b42", "no batch with id b42"),
        ("850000x5x0", "channel 850000x5x0 has no applied fee change"),
        ("yesterday", "target must be a change id (42; at most 9223372036854775807), a batch"),
        ("-1", 'a short channel id (812345x1020x1) or "last"; got "-1"'),
        ("99999999999999999999", "a change id (42; at most 9223372036854775807)"),
        ("\u0663", 'or "last"; got "\u0663"'),
    ],
)
def test_rollback_of_something_unknown_says_what_is_accepted(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]], target: str, message: str
) -> None:
    service, _, _ = applied

    with pytest.raises(InvalidRequest, match=re.escape(message)):
        service.rollback(target)


def test_rollback_with_nothing_applied_says_so(store: Store, clock: Clock) -> None:
    service = optimizer(node(idle_and_balanced()), store, clock)

    with pytest.raises(InvalidRequest, match="nothing to roll back"):
        service.rollback("last")


# --- recovery and backfill ---------------------------------------------------------------------


def test_a_crash_mid_apply_is_recovered_before_the_next_change(store: Store, clock: Clock) -> None:
    # Given an apply that "died" after the node took the first change
    backend = node(idle_and_balanced())
    backend.crash_on("set_policy", after_apply=True)
    with pytest.raises(Crash):
        optimizer(backend, store, clock).apply("all", dryrun=False)
    assert [e.status for e in store.open_journal_entries()] == [JournalStatus.PENDING]

    # When a new optimizer (a restarted plugin) is asked to apply
    backend.clear_faults()
    result = optimizer(backend, store, clock).apply("all", dryrun=False)

    # Then the open entry is settled first (done: the node has it), so the guard holds that
    # channel back (cooldown) and the other two are applied
    assert store.open_journal_entries() == []
    first = store.journal_entry(1)
    assert first is not None and first.status is JournalStatus.DONE
    assert backend.policies[first.short_channel_id].fee_ppm == first.new_policy.fee_ppm
    outcomes = {o.short_channel_id: o for o in result.outcomes}
    held = outcomes.pop(first.short_channel_id)
    assert held.status is None and "rejected by the guard" in (held.error or "")
    assert [o.status for o in outcomes.values()] == [JournalStatus.DONE] * 2


def test_backfill_counts_the_node_history_once_across_pages(store: Store, clock: Clock) -> None:
    forwards = [
        settled(n, out_channel="850000x1x0", fee_msat=10 + n, at_s=T0 - 3600 + n) for n in range(25)
    ]
    backend = MemoryBackend(idle_and_balanced(), forwards=forwards)
    service = optimizer(backend, store, clock)

    first = service.backfill(page_size=7)
    second = service.backfill(page_size=7)

    assert (first, second) == (25, 0)
    assert store.forward_counts()["settled"] == 25
    assert store.forward_cursor(backend.name) == 26


def cln_optimizer(node: StandinNode, store: Store, clock: Clock) -> Optimizer:
    return Optimizer(ClnBackend.from_socket(node.socket_path), store, default_config(), clock=clock)


def test_a_forward_that_settled_while_lnopt_was_stopped_is_counted_once(
    tmp_path: Path, clock: Clock
) -> None:
    # Given a node with four settled forwards and one offered, backfilled, with the offered
    # forward's live event recorded (it counts for nothing yet and leaves the cursor alone)
    state = build_node(4, forwards=4)
    assert [f["status"] for f in state.forwards] == ["settled"] * 4
    a, b = (c.short_channel_id or "" for c in state.channels[:2])
    offered = state.add_forward(a, b, 90_000, status="offered")
    db = tmp_path / "lnopt.sqlite3"
    with short_lightning_dir() as sockets, StandinNode(state, sockets / "rpc") as node:
        store = Store(db)
        assert cln_optimizer(node, store, clock).backfill() == 4
        cursor = store.forward_cursor("cln")
        assert store.record_forwards([forward_from_listforwards(offered)]) == 0
        assert store.forward_cursor("cln") == cursor
        store.close()

        # When, while lnopt is stopped, the offered forward settles and another fails before
        # it is offered, and lnopt starts again and backfills
        settled_now = node.resolve_forward(offered["created_index"], "settled")
        node.add_forward(b, a, 80_000, status="local_failed")
        node.clear_calls()
        store = Store(db)
        restarted = cln_optimizer(node, store, clock)
        counted = restarted.backfill()

        # Then both are counted once: the settled one found by its updated_index (the created
        # read starts past it), the other by its created_index; a last, empty read ends the
        # backfill; nothing counts twice after
        assert counted == 2
        assert [call.params for call in node.calls_to("listforwards")] == [
            {"index": "created", "start": 6, "limit": 1000},
            {"index": "updated", "start": 5, "limit": 999},
            {"index": "created", "start": 7, "limit": 1000},
            {"index": "updated", "start": 6, "limit": 1000},
        ]
        assert store.forward_counts() == {"settled": 5, "failed": 0, "local_failed": 1, "total": 6}
        assert restarted.backfill() == 0
        assert store.record_forwards([forward_from_listforwards(settled_now)]) == 0
        assert store.forward_counts()["total"] == 6
        store.close()


def test_a_backfill_cut_short_resumes_after_its_last_page_and_counts_each_once(
    tmp_path: Path, clock: Clock
) -> None:
    # Given a node with 25 forwards whose connection drops on the third page of a backfill
    state = build_node(6, forwards=25)
    assert len(state.forwards) == 25
    db = tmp_path / "lnopt.sqlite3"
    with short_lightning_dir() as sockets, StandinNode(state, sockets / "rpc") as node:
        pages = 0

        def drop_the_third_page(call: Call) -> Close | None:
            nonlocal pages
            pages += 1
            return Close.CLOSE if pages == 3 else None

        node.on_call("listforwards", drop_the_third_page)
        store = Store(db)
        with pytest.raises(BackendUnavailable, match="connection lost during listforwards"):
            cln_optimizer(node, store, clock).backfill(page_size=10)
        assert store.forward_counts()["settled"] == 20
        assert ForwardPosition.unpack(store.forward_cursor("cln")) == ForwardPosition(21, 1)
        store.close()

        # When lnopt starts again and backfills
        node.clear_calls()
        store = Store(db)
        resumed = cln_optimizer(node, store, clock).backfill(page_size=10)

        # Then it reads on from the first forward it had not recorded, and each counts once
        assert resumed == 5
        assert node.calls_to("listforwards")[0].params == {
            "index": "created",
            "start": 21,
            "limit": 10,
        }
        assert store.forward_counts() == {
            "settled": 25,
            "failed": 0,
            "local_failed": 0,
            "total": 25,
        }
        store.close()


def test_a_node_that_cannot_page_is_backfilled_whole_and_counted_once(
    store: Store, clock: Clock
) -> None:
    # Given a v23.08 node (no listforwards paging) with six forwards, backfilled once
    state = build_node(4, forwards=6)
    a, b = (c.short_channel_id or "" for c in state.channels[:2])
    with short_lightning_dir() as sockets:
        with StandinNode(state, sockets / "rpc", flavour=LEGACY) as node:
            service = cln_optimizer(node, store, clock)
            first = service.backfill(page_size=4)
            # When two more forwards happen and it backfills again
            node.add_forward(a, b, 50_000)
            node.add_forward(b, a, 60_000, status="failed")
            second = service.backfill(page_size=4)

    # Then each backfill read the whole history in one unpaged call (the node's version says
    # it cannot page), no cursor was kept, and every forward counts once
    assert (first, second) == (6, 2)
    assert [call.params for call in node.calls_to("listforwards")] == [{}, {}]
    assert store.forward_cursor("cln") is None
    assert store.forward_counts() == {"settled": 7, "failed": 1, "local_failed": 0, "total": 8}


# --- history, status, report -------------------------------------------------------------------


def test_history_lists_decisions_and_changes_newest_first(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]], clock: Clock
) -> None:
    service, _, _ = applied
    service.run_once()
    clock.now += 3600
    service.run_once()

    everything = service.history()
    one = service.history("850000x2x0", limit=1)
    recent = service.history(since_s=clock.now)

    assert len(everything.decisions) == 12 and len(everything.changes) == 3
    times = [record.created_s for record in everything.decisions]
    assert times == sorted(times, reverse=True)
    ids = [entry.change_id for entry in everything.changes]
    assert ids == sorted(ids, reverse=True)
    assert [r.short_channel_id for r in one.decisions] == ["850000x2x0"]
    assert [e.short_channel_id for e in one.changes] == ["850000x2x0"]
    assert len(recent.decisions) == 6 and recent.changes == ()


def test_status_counts_and_schedule(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]], store: Store, clock: Clock
) -> None:
    service, _, _ = applied
    assert service.next_run_s() == T0  # no run yet: due at start
    run = service.run_once()
    service.rollback("850000x1x0")
    store.record_forwards([settled(1, out_channel="850000x4x0", fee_msat=5, at_s=clock.now - 10)])

    status = service.status()

    assert status.mode is Mode.ADVISE and status.interval_s == 3600
    assert status.last_run == run
    assert status.next_run_s == run.started_s + 3600
    assert status.counts["decisions"] == 6
    assert (status.counts["changes"], status.counts["rollbacks"]) == (3, 1)
    assert (status.counts["forwards"], status.counts["settled"]) == (1, 1)
    assert status.store_path == store.path and status.store_size_bytes > 0
    assert status.graph.fingerprint is not None and status.graph.metrics_computed_at_s is not None
    assert status.guard == default_config().guard
    service.set_interval(0)
    assert service.status().next_run_s is None


def test_report_compares_fees_in_equal_windows_before_and_after_a_change(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]], store: Store, clock: Clock
) -> None:
    # Given a change at T0 on channel 1, forwards out through it before and after
    service, _, _ = applied
    scid = "850000x1x0"
    fees_before = [1_000, 2_000]  # in the 7 days before the change
    fees_after = [500]  # in the 7 days after it
    forwards = [
        settled(n, out_channel=scid, fee_msat=fee, at_s=T0 - (n + 1) * DAY_S)
        for n, fee in enumerate(fees_before)
    ] + [settled(10, out_channel=scid, fee_msat=fees_after[0], at_s=T0 + 2 * DAY_S)]
    forwards.append(settled(11, out_channel=scid, fee_msat=99_999, at_s=T0 - 9 * DAY_S))
    store.record_forwards(forwards)
    clock.now = T0 + 8 * DAY_S
    service.run_once()

    # When the report covers the last 10 days
    report = service.report(10)

    # Then the change is compared over 7-day windows, and today's decisions are listed
    comparison = next(c for c in report.changes if c.change.short_channel_id == scid)
    assert comparison.window_days == 7
    assert comparison.fees_before_msat == sum(fees_before)
    assert comparison.fees_after_msat == sum(fees_after)
    assert (comparison.forwards_before, comparison.forwards_after) == (2, 1)
    assert len(report.changes) == 3
    assert report.decisions == 6 and sum(report.actions.values()) == 6
    assert report.activity_window_days == 30
    assert report.activity[scid].forwards_out == 4
    assert report.until_s == clock.now and report.since_s == clock.now - 10 * DAY_S


def test_a_change_younger_than_a_day_has_no_comparison_yet(
    applied: tuple[Optimizer, MemoryBackend, dict[str, int]],
) -> None:
    service, _, _ = applied

    report = service.report(1)

    assert report.changes and all(c.window_days is None for c in report.changes)
    assert all(c.fees_before_msat is None for c in report.changes)


# --- refused input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.score("812345x9x9"), "unknown channel '812345x9x9'"),
        (lambda s: s.recommend("12x"), "BLOCKxTXxOUT"),
        (lambda s: s.apply("everything"), "BLOCKxTXxOUT"),
        (lambda s: s.history(limit=0), "limit: 0 is not allowed"),
        (lambda s: s.history(since_s=-5), "since: -5 is negative"),
        (lambda s: s.history("abc"), "BLOCKxTXxOUT"),
        (lambda s: s.report(0), "days: 0 is not allowed"),
        (lambda s: s.reject(999), "no proposal with id 999"),
        (lambda s: s.approve("x"), "proposal must be a proposal id (3; at most "),
        (lambda s: s.set_interval(-1), "interval: -1 is negative"),
    ],
)
def test_bad_input_is_refused_with_what_is_accepted(
    store: Store, clock: Clock, call: object, message: str
) -> None:
    service = optimizer(node(idle_and_balanced()), store, clock)

    with pytest.raises(InvalidRequest, match=re.escape(message)):
        call(service)  # type: ignore[operator]


def test_mode_names_parse_and_unknown_ones_are_refused() -> None:
    assert [parse_mode(text) for text in ("shadow", " Advise ", "AUTO")] == list(Mode)
    with pytest.raises(
        InvalidRequest, match='mode must be one of shadow, advise, auto; got "turbo"'
    ):
        parse_mode("turbo")


# --- the scheduler -----------------------------------------------------------------------------


def finished(store: Store) -> RunRecord | None:
    run = store.last_run()
    return run if run is not None and run.finished_s is not None else None


def test_the_scheduler_recovers_backfills_and_runs_when_due(tmp_path: Path) -> None:
    store = Store(tmp_path / "lnopt.sqlite3")
    backend = MemoryBackend(
        idle_and_balanced(),
        forwards=[settled(1, out_channel="850000x1x0", fee_msat=7, at_s=time.time() - 60)],
    )
    service = Optimizer(backend, store, default_config(), mode=Mode.SHADOW, interval_s=3600)
    scheduler = Scheduler(service)
    try:
        scheduler.start()
        run = wait_for(lambda: finished(store), what="the first scheduled run")
        time.sleep(0.3)
        runs = store.counts()["runs"]
    finally:
        scheduler.stop()
        store.close()

    assert run.mode is Mode.SHADOW and run.decisions == 6
    assert runs == 1  # not again before the interval
    assert backend.set_policy_calls == []


def test_a_failing_run_is_recorded_and_not_retried_in_a_loop(tmp_path: Path) -> None:
    store = Store(tmp_path / "lnopt.sqlite3")
    backend = node(idle_and_balanced())
    backend.unavailable = True
    service = Optimizer(backend, store, default_config(), interval_s=3600)
    scheduler = Scheduler(service)
    try:
        scheduler.start()
        run = wait_for(lambda: finished(store), what="the failed run recorded")
        time.sleep(0.3)
        runs = store.counts()["runs"]
    finally:
        scheduler.stop()
        store.close()

    assert run.error is not None and "cannot be reached" in run.error
    assert runs == 1


def test_a_shorter_interval_takes_effect_as_soon_as_the_scheduler_is_woken(tmp_path: Path) -> None:
    # Given a run 100 s ago and an interval of an hour: nothing is due
    store = Store(tmp_path / "lnopt.sqlite3")
    earlier = store.start_run(mode=Mode.SHADOW, started_s=time.time() - 100)
    store.finish_run(earlier, finished_s=time.time() - 99, decisions=0, proposals=0, changes=0)
    service = Optimizer(node(idle_and_balanced()), store, default_config(), interval_s=3600)
    scheduler = Scheduler(service)
    try:
        scheduler.start()
        time.sleep(0.3)
        idle_runs = store.counts()["runs"]

        # When the interval drops to 50 s
        service.set_interval(50)
        scheduler.wake()

        # Then the overdue run happens at once
        run = wait_for(
            lambda: (r := finished(store)) and r.run_id != earlier and r, what="the overdue run"
        )
    finally:
        scheduler.stop()
        store.close()

    assert idle_runs == 1
    assert run.decisions == 6


def test_an_interval_of_a_trillion_seconds_leaves_the_scheduler_running(tmp_path: Path) -> None:
    # Given a run 100 s ago and an interval of 10**12 s (past what a thread can wait for)
    store = Store(tmp_path / "lnopt.sqlite3")
    earlier = store.start_run(mode=Mode.SHADOW, started_s=time.time() - 100)
    store.finish_run(earlier, finished_s=time.time() - 99, decisions=0, proposals=0, changes=0)
    service = Optimizer(node(idle_and_balanced()), store, default_config(), interval_s=10**12)
    scheduler = Scheduler(service)
    try:
        scheduler.start()
        time.sleep(0.3)
        waiting = scheduler.state()

        # When the interval drops to a second
        service.set_interval(1)
        scheduler.wake()

        # Then the overdue run happens at once
        run = wait_for(
            lambda: (r := finished(store)) and r.run_id != earlier and r, what="the overdue run"
        )
    finally:
        scheduler.stop()
        store.close()

    assert waiting.alive and waiting.failures == 0 and waiting.last_error is None
    assert waiting.next_run_s is not None and waiting.next_run_s > time.time() + 10**11
    assert run.decisions == 6


def test_a_failing_schedule_is_logged_shown_and_the_thread_keeps_going(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a schedule that fails once (as a bug or a broken store would), with nothing due
    store = Store(tmp_path / "lnopt.sqlite3")
    earlier = store.start_run(mode=Mode.SHADOW, started_s=time.time() - 100)
    store.finish_run(earlier, finished_s=time.time() - 99, decisions=0, proposals=0, changes=0)
    service = Optimizer(node(idle_and_balanced()), store, default_config(), interval_s=3600)
    due = service.next_run_s
    failures = iter([OverflowError("timeout value is too large")])

    def next_run_s() -> float | None:  # fails in the scheduler's own thread, once
        if threading.current_thread().name == "lnopt-scheduler":
            failure = next(failures, None)
            if failure is not None:
                raise failure
        return due()

    monkeypatch.setattr(service, "next_run_s", next_run_s)
    scheduler = Scheduler(service)
    try:
        scheduler.start()
        failed = wait_for(lambda: (s := scheduler.state()).failures and s, what="the failure")
        before = time.time()
        shown = scheduler.state()

        # When the interval drops (as setconfig lnopt-interval 1 does, which wakes it)
        service.set_interval(1)
        scheduler.wake()

        # Then the thread, still alive, makes the run
        run = wait_for(lambda: (r := finished(store)) and r.run_id != earlier and r, what="the run")
    finally:
        scheduler.stop()
        store.close()

    assert failed.alive and failed.failures == 1
    assert failed.last_error == "schedule: OverflowError: timeout value is too large"
    assert failed.last_error_s is not None
    assert shown.next_run_s is not None and shown.next_run_s >= before  # never in the past
    assert run.decisions == 6
    (record,) = [r for r in caplog.records if "background_failed" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is OverflowError


def test_a_stopped_scheduler_shows_no_next_run(tmp_path: Path) -> None:
    store = Store(tmp_path / "lnopt.sqlite3")
    service = Optimizer(node(idle_and_balanced()), store, default_config(), interval_s=3600)
    scheduler = Scheduler(service)
    scheduler.start()
    scheduler.stop()
    try:
        state = scheduler.state()
    finally:
        store.close()

    assert not state.alive and state.next_run_s is None
