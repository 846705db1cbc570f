"""A long run of the Optimizer in auto mode against the real LNbits server, through a proxy that
injects timeouts, 500s, garbage bodies and dropped connections into 30% of the calls (and, for
two runs in the middle, into every call: an outage): no change is lost or applied twice, the
circuit breaker opens and closes, and the loop keeps running.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lnopt.backends.http import HttpSettings
from lnopt.backends.lnbits import LnbitsBackend
from lnopt.config import default_config
from lnopt.errors import LnoptError
from lnopt.model import Mode
from lnopt.service import Optimizer
from lnopt.store import JournalEntry, JournalStatus, Store
from tests.fault_proxy import FaultProxy
from tests.lnbits_fixture import (
    LnbitsEnv,
    forget_die_on_set,
    node_fees,
    seed_node,
    write_graph_file,
)
from tests.lnbits_server import node_state

RUNS = 40
OUTAGE_RUNS = (20, 21)  # every call fails: the breaker must open, and close once it is over
FAULT_RATE = 0.3
DAY_S = 86_400.0
SETTINGS = HttpSettings(
    timeout_s=0.5,
    retries=3,
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    rate_per_s=1000,
    burst=1000,
    breaker_failures=5,
    breaker_reset_s=0.3,
)


class Clock:
    """The runs' clock: two days pass between runs, so the guard's limits never hold one back."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def proxy(lnbits: LnbitsEnv) -> Iterator[FaultProxy]:
    lnbits.server.ensure_running()
    forget_die_on_set(lnbits.folder)
    seed_node(lnbits.folder, channels=6)
    opened = FaultProxy(lnbits.server.base_url, fault_rate=FAULT_RATE, hold_s=0.7, seed=9)
    yield opened
    opened.stop()


def expected_fees(
    entries: list[JournalEntry], touched: dict[str, tuple[float, tuple[int, int]]], scid: str
) -> tuple[int, int] | None:
    """What the journal and the outside changes say the channel's fees are now."""
    done = [e for e in entries if e.short_channel_id == scid and e.status is JournalStatus.DONE]
    last_done = max(done, key=lambda e: e.change_id) if done else None
    outside = touched.get(scid)
    if last_done is not None and (outside is None or last_done.created_s > outside[0]):
        return last_done.new_policy.base_fee_msat, last_done.new_policy.fee_ppm
    return None if outside is None else outside[1]


def unexplained_transitions(
    set_log: list[tuple[str, tuple[int, int]]], entries: list[JournalEntry], scid: str
) -> int:
    """Fee changes the node applied to the channel beyond what its journal entries account
    for (a new policy applied once each, an old one restored once each); retries of the same
    body land the same fees and count once."""
    values: list[tuple[int, int]] = []
    for channel, fees in set_log:
        if channel == scid and (not values or values[-1] != fees):
            values.append(fees)
    mine = [e for e in entries if e.short_channel_id == scid]
    explained = sum(1 + (e.status is JournalStatus.FAILED) for e in mine)
    allowed = {(e.new_policy.base_fee_msat, e.new_policy.fee_ppm) for e in mine}
    allowed |= {(e.old_policy.base_fee_msat, e.old_policy.fee_ppm) for e in mine}
    strangers = sum(1 for value in values if value not in allowed)
    return max(0, len(values) - explained) + strangers


def test_a_long_run_through_faults_loses_nothing_and_doubles_nothing(
    lnbits: LnbitsEnv,
    proxy: FaultProxy,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    graph_file = write_graph_file(tmp_path / "graph.json", lnbits.folder)
    backend = LnbitsBackend(
        proxy.base_url, token=lnbits.accounts.node_token, settings=SETTINGS, graph_file=graph_file
    )
    store = Store(tmp_path / "lnopt.sqlite3")
    service = Optimizer(backend, store, default_config(), mode=Mode.AUTO, clock=clock)
    outside = random.Random(4)
    touched: dict[str, tuple[float, tuple[int, int]]] = {}
    left_alone: set[str] = set()
    completed = failed = 0
    breaker_states: set[str] = set()
    outage_calls = outage_faults = 0

    with caplog.at_level(logging.INFO):
        for run in range(RUNS):
            if run in OUTAGE_RUNS:
                proxy.fault_rate = 1.0
                calls, faulted = proxy.calls, sum(proxy.faults.values())
            clock.now += 2 * DAY_S
            with node_state.locked_state(lnbits.folder) as state:  # someone else raises fees
                for item in state["channels"]:
                    if outside.random() < 0.3:
                        item["fee_base_msat"], item["fee_proportional_millionths"] = 1000, 400
                        touched[item["short_channel_id"]] = (clock.now, (1000, 400))
            try:
                service.run_once()
                completed += 1
            except LnoptError:
                failed += 1  # a runner logs it and carries on; so does this loop
            left_alone.update(store.hands_off())
            for scid in store.hands_off():  # the operator hands each back, so lnopt acts again
                try:
                    service.release(scid)
                except LnoptError:
                    pass  # a fault: it stays left alone until the next round
            breaker_states.add(backend.health().state.value)
            if run in OUTAGE_RUNS:
                proxy.fault_rate = FAULT_RATE
                outage_calls += proxy.calls - calls
                outage_faults += sum(proxy.faults.values()) - faulted
            time.sleep(0.05)

        proxy.fault_rate = 0.0
        time.sleep(SETTINGS.breaker_reset_s)
        clock.now += 2 * DAY_S
        last = service.run_once()  # faults over: a clean run settles what was left open

    entries = list(store.journal(limit=100_000))
    state = node_state.read_state(lnbits.folder)
    set_log = [(channel, (fees[0], fees[1])) for channel, fees in state["set_log"]]
    final = node_fees(lnbits.folder)
    changes = sum(1 for e in entries if e.status is JournalStatus.DONE)
    lost = sum(
        1 for scid in final if expected_fees(entries, touched, scid) not in (None, final[scid])
    )
    doubled = sum(unexplained_transitions(set_log, entries, scid) for scid in final)
    opened = caplog.text.count("circuit breaker opened")
    closed = caplog.text.count("circuit breaker closed")
    faults = sum(proxy.faults.values())
    rate = (faults - outage_faults) / (proxy.calls - outage_calls)
    print(  # the figures of the run, for the record (pytest -s)
        f"\nruns={RUNS} completed={completed} failed={failed} calls={proxy.calls} "
        f"client_calls={backend.calls} faults={faults} {dict(proxy.faults)} changes={changes} "
        f"lost={lost} doubled={doubled} breaker_opened={opened} breaker_closed={closed} "
        f"outage_calls={outage_calls} fault_rate_outside_outage={rate:.2f}"
    )

    assert store.open_journal_entries() == []
    assert lost == 0 and doubled == 0
    assert changes >= RUNS // 2
    assert left_alone and left_alone <= set(touched)  # only what someone else changed
    assert opened >= 1 and closed >= 1 and "open" in breaker_states
    assert completed + failed == RUNS and completed >= RUNS // 3
    assert last.error is None and backend.health().state.value == "closed"
    assert 0.2 < rate < 0.4
    assert set(proxy.faults) == {"timeout", "error_500", "garbage", "drop_before", "drop_after"}
    store.close()
