"""The pricing model inside the service: evidence read from a real store, the fee proposed
through the decision pipeline, and the state that survives a restart."""

from __future__ import annotations

from pathlib import Path

from lnopt.config import Config, default_config, parse_config, to_dict
from lnopt.decisions import channel_facts
from lnopt.model import Action, Forward, ForwardStatus, Mode
from lnopt.pricing import pricing_seed, propose_fee
from lnopt.service import Optimizer
from lnopt.store import Store
from tests.factories import both_directions, channel, node_id
from tests.memory_backend import MemoryBackend

T0 = 1_760_000_000.0
HOUR_S = 3_600
DAY_S = 86_400
MARKET_PPM = 300


def modelled() -> Config:
    document = to_dict(default_config())
    document["pricing"]["enabled"] = 1
    return parse_config(document)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def backend() -> MemoryBackend:
    channels = [channel(n, local_ratio=0.5, fee_ppm=100) for n in (1, 2)]
    gossip = []
    for ch in channels:
        n = int(ch.short_channel_id.split("x")[1])
        gossip += both_directions(f"700000x{n}x0", node_id(100 + n), ch.peer_id, fee_ppm=MARKET_PPM)
    return MemoryBackend(channels, extra_gossip=gossip)


def forward(
    n: int, *, out_channel: str, at_s: float, fee_ppm: int, parts: int = 1, sat: int = 20_000
) -> list[Forward]:
    """One payment of ``parts`` parts of ``sat`` each, leaving through ``out_channel``."""
    out_msat = sat * 1000
    fee_msat = out_msat * fee_ppm // 1_000_000
    return [
        Forward(
            in_channel="850000x9x0",
            in_htlc_id=n * 10 + part,
            out_channel=out_channel,
            in_msat=out_msat + fee_msat,
            out_msat=out_msat,
            fee_msat=fee_msat,
            status=ForwardStatus.SETTLED,
            received_s=at_s + part,
            resolved_s=at_s + part + 1,
        )
        for part in range(parts)
    ]


def history(path: Path, *, sat: int = 20_000) -> tuple[Store, Optimizer, MemoryBackend, Clock]:
    """Ten days of runs every 6 hours in shadow mode; channel 1 forwards a 3-part payment a
    day at 100 ppm (parts of ``sat``), channel 2 nothing."""
    store, node, clock = Store(path), backend(), Clock()
    service = Optimizer(
        node, store, modelled(), mode=Mode.SHADOW, interval_s=6 * HOUR_S, clock=clock
    )
    busy = node.channels()[0].short_channel_id
    for step in range(40):
        if step % 4 == 1:
            store.record_forwards(
                forward(step, out_channel=busy, at_s=clock.now, fee_ppm=100, parts=3, sat=sat)
            )
        service.run_once()
        clock.now += 6 * HOUR_S
    return store, service, node, clock


def test_the_store_gives_each_channel_its_spells_and_payments(tmp_path: Path) -> None:
    store, service, node, clock = history(tmp_path / "lnopt.sqlite3")
    busy, quiet = (ch.short_channel_id for ch in node.channels())
    evidence = service.snapshot().evidence
    (arm,) = evidence[busy].arms
    assert arm.fee_ppm == 100
    assert arm.served == 10  # ten payments of three parts each, not thirty forwards
    assert arm.volume_msat == 10 * 3 * 20_000_000
    assert arm.raw_days > 9
    assert evidence[quiet].served == 0
    # the latest run, not the clock: what seeds the draw
    assert evidence[busy].latest_run_id == evidence[quiet].latest_run_id == 40
    clock.now += HOUR_S
    assert service.snapshot().evidence[busy].latest_run_id == 40
    service.run_once()
    assert service.snapshot().evidence[busy].latest_run_id == 41
    store.close()


def test_the_model_proposes_through_the_pipeline_and_the_guard(tmp_path: Path) -> None:
    store, service, node, _ = history(tmp_path / "lnopt.sqlite3")
    recommendations = {r.decision.short_channel_id: r for r in service.recommend()}
    busy, quiet = (ch.short_channel_id for ch in node.channels())
    # the quiet channel starts from the market price
    assert recommendations[quiet].decision.action is Action.RAISE_FEES
    quiet_policy = recommendations[quiet].decision.proposed_policy
    assert quiet_policy is not None and quiet_policy.fee_ppm == MARKET_PPM
    assert "start from the market" in " ".join(recommendations[quiet].decision.reasons)
    guarded = recommendations[quiet].guarded
    assert guarded is not None and guarded.applicable and guarded.policy is not None
    assert guarded.policy.fee_ppm == MARKET_PPM  # within the guard's largest step
    # the busy one gets what the model says for its evidence, seeded by its evidence
    snapshot = service.snapshot()
    ch = snapshot.channel(busy)
    assert ch is not None
    facts = channel_facts(snapshot, ch)
    expected = propose_fee(
        facts.evidence,
        current_ppm=100,
        market_ppm=facts.alternative_median_ppm,
        local_ratio=facts.local_ratio,
        config=modelled().pricing,
        seed=pricing_seed(facts.evidence),
    )
    decision = recommendations[busy].decision
    assert decision.reasons == expected.reasons
    proposed = decision.proposed_policy.fee_ppm if decision.proposed_policy else 100
    assert proposed == expected.fee_ppm
    assert any(reason.startswith("Tried: 100 ppm for") for reason in decision.reasons)
    store.close()


def test_a_restart_keeps_the_evidence_and_the_decisions(tmp_path: Path) -> None:
    path = tmp_path / "lnopt.sqlite3"
    store, service, node, clock = history(path)
    before_evidence = service.snapshot().evidence
    before = [
        (r.decision.action, r.decision.proposed_policy, r.decision.reasons)
        for r in service.recommend()
    ]
    store.close()
    reopened = Store(path)
    restarted = Optimizer(
        node, reopened, modelled(), mode=Mode.SHADOW, interval_s=6 * HOUR_S, clock=clock
    )
    assert restarted.snapshot().evidence == before_evidence
    after = [
        (r.decision.action, r.decision.proposed_policy, r.decision.reasons)
        for r in restarted.recommend()
    ]
    assert after == before
    reopened.close()


def test_the_liquidity_rules_still_price_a_draining_channel(tmp_path: Path) -> None:
    # 6,000,000 sat a day out of a channel holding 2,500,000: it would be empty within a day
    store, service, node, _ = history(tmp_path / "lnopt.sqlite3", sat=2_000_000)
    busy = node.channels()[0].short_channel_id
    (decision,) = (r.decision for r in service.recommend() if r.decision.short_channel_id == busy)
    assert decision.action is Action.RAISE_FEES
    assert decision.reasons[0].startswith("The channel is draining")
    store.close()
