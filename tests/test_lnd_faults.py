"""A long run of fee changes through the executor while the LND stand-in fails 30% of calls.

Faults (timeouts after the node acted, 500s, garbage bodies after the node acted, dropped
connections before it saw the request) hit every route the executor uses. Between rounds the
node goes away entirely for a while, so the circuit breaker must open, and then close again.
Afterwards, with the faults off, ``recover()`` settles what was left open and the journal is
compared with the node: no change may be lost (the node's fees differ from what the journal's
last word on the channel says). A change delivered twice is a retry of the same body after its
answer was lost (a timeout or garbage after the node acted); UpdateChannelPolicy sets absolute
values, so the second delivery changes nothing, and the run counts them as "doubled".
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from lnopt.backends.http import BreakerState, HttpSettings
from lnopt.backends.lnd_shapes import scid_of
from lnopt.executor import Executor
from lnopt.model import ChannelPolicy, GuardedChange, ProposedChange, Verdict
from lnopt.store import JournalStatus, Store
from tests.standin_lnd.fixtures import start_standin
from tests.standin_lnd.node import Policy
from tests.standin_lnd.server import FaultPlan

ROUNDS = 240
OUTAGE = range(120, 130)  # rounds during which every call fails
SETTINGS = HttpSettings(
    timeout_s=0.2,
    retries=3,
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    rate_per_s=1_000,
    burst=1_000,
    breaker_failures=5,
    breaker_reset_s=0.3,
)


def as_channel_policy(policy: Policy) -> ChannelPolicy:
    return ChannelPolicy(
        policy.fee_base_msat,
        policy.fee_rate_ppm,
        policy.min_htlc_msat,
        policy.max_htlc_msat,
        policy.time_lock_delta,
    )


@pytest.mark.timeout(600)
def test_thirty_percent_faults_lose_nothing_and_the_breaker_opens_and_closes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    setup = start_standin(tmp_path, channels=100, forwards=0)
    node = setup.standin.node
    faults = FaultPlan(rate=0.3, seed=11, stall_s=0.3)
    setup.standin.faults = faults
    backend = setup.backend(settings=SETTINGS)
    store = Store(tmp_path / "lnopt.sqlite")
    executor = Executor(backend, store)
    rng = random.Random(5)
    chan_ids = list(node.channels)
    breaker_states: Counter[BreakerState] = Counter()
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="lnopt.backends.http"):
        for round_no in range(ROUNDS):
            faults.rate = 1.0 if round_no in OUTAGE else 0.3
            chan_id = rng.choice(chan_ids)
            with node.lock:
                old = as_channel_policy(node.our_policy(chan_id))
            new = old.with_fees(
                base_fee_msat=rng.randrange(0, 2_000), fee_ppm=rng.randrange(1, 3_000)
            )
            change = ProposedChange(
                scid_of(chan_id), node.channels[chan_id].peer, old, new, ("fault run",)
            )
            executor.apply([GuardedChange(change, Verdict.APPROVED, new, ())], dryrun=False)
            breaker_states[backend.health().state] += 1
            if round_no % 25 == 24:
                executor.recover()
        faults.rate = 0.0
        time.sleep(faults.stall_s + SETTINGS.breaker_reset_s)
        for _ in range(5):
            if not executor.recover().unresolved:
                break
            time.sleep(SETTINGS.breaker_reset_s)
    elapsed_s = time.monotonic() - started

    entries = sorted(store.journal(), key=lambda e: e.change_id)
    assert store.open_journal_entries() == []
    last_word: dict[str, ChannelPolicy] = {}
    for entry in entries:
        if entry.status is JournalStatus.DONE:
            last_word[entry.short_channel_id] = entry.new_policy
        elif entry.status is JournalStatus.FAILED:
            last_word[entry.short_channel_id] = entry.old_policy
    lost = []
    with node.lock:
        for scid, expected in last_word.items():
            chan_id = next(c for c in chan_ids if scid_of(c) == scid)
            actual = node.our_policy(chan_id)
            if (actual.fee_base_msat, actual.fee_rate_ppm) != (
                expected.base_fee_msat,
                expected.fee_ppm,
            ):
                lost.append(scid)
        processed = list(node.policy_updates)
    repeats = sum(1 for a, b in itertools.pairwise(processed) if a == b)
    done = sum(1 for e in entries if e.status is JournalStatus.DONE)
    failed = sum(1 for e in entries if e.status is JournalStatus.FAILED)
    opened = caplog.text.count("circuit breaker opened service=LND")
    closed = caplog.text.count("circuit breaker closed service=LND")
    print(  # the figures the README and the closing note quote
        f"\nfault run: rounds={ROUNDS} seconds={elapsed_s:.1f} calls={backend.calls} "
        f"faults={faults.total} "
        + " ".join(
            f"{kind.value}={n}"
            for kind, n in sorted(faults.counts.items(), key=lambda kv: kv[0].value)
        )
        + f" changes={len(entries)} done={done} failed={failed} lost={len(lost)} "
        f"doubled={repeats} (identical bodies delivered again by a retry) "
        f"breaker_opened={opened} "
        f"breaker_closed={closed}"
    )
    assert lost == []
    assert done > 0 and failed > 0
    assert faults.total > backend.calls // 5
    assert opened >= 1 and closed >= 1
    assert backend.health().state is BreakerState.CLOSED
    # every processed update carried the fields it found, so none changed anything but fees
    assert all(u["min_htlc_msat_specified"] is True and "inbound_fee" in u for u in processed)
