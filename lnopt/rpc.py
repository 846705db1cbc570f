"""JSON for the RPC methods: renderings of results (parameters are read by :mod:`lnopt.params`).

Results are plain JSON an operator and a script can read: money as integer ``*_msat`` and
``*_ppm`` fields, times as unix seconds, enums by their value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from lnopt.executor import BatchResult, ChangeOutcome
from lnopt.model import ChannelPolicy, ChannelScore, ConfidenceLevel, ExpectedImpact
from lnopt.reports import (
    GraphFreshness,
    History,
    IncomeComparison,
    Recommendation,
    ScoreReport,
    ShadowReport,
    Status,
)
from lnopt.service.scheduler import SchedulerState
from lnopt.store import DecisionRecord, JournalEntry, Proposal, RunRecord

JsonObject = dict[str, Any]


def policy_json(policy: ChannelPolicy | None) -> JsonObject | None:
    if policy is None:
        return None
    return {"fee_base_msat": policy.base_fee_msat, "fee_ppm": policy.fee_ppm}


def _impact_json(impact: ExpectedImpact) -> JsonObject:
    return {"daily_fee_delta_msat": impact.daily_fee_delta_msat, "basis": impact.basis}


def _confidence(value: float) -> JsonObject:
    return {"confidence": round(value, 4), "confidence_level": ConfidenceLevel.of(value).value}


def graph_json(graph: GraphFreshness, *, now_s: float) -> JsonObject:
    computed = graph.metrics_computed_at_s
    return {
        "fingerprint": graph.fingerprint,
        "nodes": graph.nodes,
        "channels": graph.channels,
        "read_at": graph.read_at_s,
        "metrics_computed_at": computed,
        "metrics_age_s": None if computed is None else max(0, int(now_s - computed)),
        "metrics_compute_s": graph.metrics_compute_s,
        "betweenness_samples": graph.betweenness_samples,
    }


def score_json(score: ChannelScore) -> JsonObject:
    return {
        "short_channel_id": score.short_channel_id,
        "peer_id": score.peer_id,
        "score": round(score.score, 4),
        **_confidence(score.confidence),
        "parts": {
            part.name: {
                "score": round(part.score, 4),
                "confidence": round(part.confidence, 4),
                "explanation": part.explanation,
                "raw": dict(part.raw),
            }
            for part in score.parts
        },
    }


def score_report_json(report: ScoreReport, *, now_s: float) -> JsonObject:
    return {
        "taken_at": report.taken_at_s,
        "channels": [score_json(score) for score in report.scores],
        "graph": graph_json(report.graph, now_s=now_s),
    }


def recommendation_json(recommendation: Recommendation) -> JsonObject:
    decision, guarded = recommendation.decision, recommendation.guarded
    return {
        "short_channel_id": decision.short_channel_id,
        "peer_id": decision.peer_id,
        "action": decision.action.value,
        "score": round(recommendation.score.score, 4),
        **_confidence(decision.confidence),
        "reasons": list(decision.reasons),
        "current": policy_json(decision.current_policy),
        "proposed": policy_json(decision.proposed_policy),
        "impact": _impact_json(decision.impact),
        "guard": None
        if guarded is None
        else {
            "verdict": guarded.verdict.value,
            "policy": policy_json(guarded.policy),
            "reasons": list(guarded.reasons),
        },
    }


def outcome_json(outcome: ChangeOutcome) -> JsonObject:
    return {
        "change_id": outcome.change_id,
        "short_channel_id": outcome.short_channel_id,
        "old": policy_json(outcome.old_policy),
        "new": policy_json(outcome.new_policy),
        "status": None if outcome.status is None else outcome.status.value,
        "error": outcome.error,
    }


def batch_json(result: BatchResult) -> JsonObject:
    return {
        "batch_id": result.batch_id,
        "dryrun": result.dryrun,
        "changes": [outcome_json(outcome) for outcome in result.outcomes],
    }


def proposal_json(proposal: Proposal) -> JsonObject:
    return {
        "proposal_id": proposal.proposal_id,
        "short_channel_id": proposal.short_channel_id,
        "peer_id": proposal.peer_id,
        "old": policy_json(proposal.old_policy),
        "new": policy_json(proposal.new_policy),
        "reasons": list(proposal.reasons),
        "status": proposal.status.value,
        "created_at": proposal.created_s,
        "updated_at": proposal.updated_s,
    }


def decision_record_json(record: DecisionRecord) -> JsonObject:
    return {
        "decision_id": record.decision_id,
        "run_id": record.run_id,
        "created_at": record.created_s,
        "short_channel_id": record.short_channel_id,
        "peer_id": record.peer_id,
        "action": record.action.value,
        **_confidence(record.confidence),
        "reasons": list(record.reasons),
        "current": policy_json(record.current_policy),
        "proposed": policy_json(record.proposed_policy),
        "impact": _impact_json(record.impact),
        "verdict": None if record.verdict is None else record.verdict.value,
        "verdict_reasons": list(record.verdict_reasons),
        "guarded": policy_json(record.guarded_policy),
    }


def journal_entry_json(entry: JournalEntry) -> JsonObject:
    return {
        "change_id": entry.change_id,
        "batch_id": entry.batch_id,
        "short_channel_id": entry.short_channel_id,
        "peer_id": entry.peer_id,
        "old": policy_json(entry.old_policy),
        "new": policy_json(entry.new_policy),
        "status": entry.status.value,
        "reasons": list(entry.reasons),
        "created_at": entry.created_s,
        "updated_at": entry.updated_s,
        "error": entry.error,
        "rollback_of": entry.rollback_of,
        "rolled_back_by": entry.rolled_back_by,
    }


def history_json(history: History) -> JsonObject:
    return {
        "decisions": [decision_record_json(record) for record in history.decisions],
        "changes": [journal_entry_json(entry) for entry in history.changes],
    }


def run_json(run: RunRecord | None) -> JsonObject | None:
    if run is None:
        return None
    return {
        "run_id": run.run_id,
        "mode": run.mode.value,
        "started_at": run.started_s,
        "finished_at": run.finished_s,
        "decisions": run.decisions,
        "proposals": run.proposals,
        "changes": run.changes,
        "error": run.error,
    }


def scheduler_json(state: SchedulerState) -> JsonObject:
    return {
        "alive": state.alive,
        "next_run": state.next_run_s,
        "last_error": state.last_error,
        "last_error_at": state.last_error_s,
        "failures": state.failures,
    }


def status_json(
    status: Status, *, now_s: float, scheduler: SchedulerState | None = None
) -> JsonObject:
    """The status; with the ``scheduler``'s state, ``next_run`` is when it will really run."""
    guard = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(status.guard).items()
    }
    return {
        "mode": status.mode.value,
        "interval_s": status.interval_s,
        "last_run": run_json(status.last_run),
        "next_run": status.next_run_s if scheduler is None else scheduler.next_run_s,
        "scheduler": None if scheduler is None else scheduler_json(scheduler),
        "counts": dict(status.counts),
        "store": {"path": str(status.store_path), "size_bytes": status.store_size_bytes},
        "graph": graph_json(status.graph, now_s=now_s),
        "guard": guard,
    }


def _income_json(comparison: IncomeComparison) -> JsonObject:
    return {
        **journal_entry_json(comparison.change),
        "window_days": comparison.window_days,
        "fees_before_msat": comparison.fees_before_msat,
        "fees_after_msat": comparison.fees_after_msat,
        "forwards_before": comparison.forwards_before,
        "forwards_after": comparison.forwards_after,
    }


def report_json(report: ShadowReport) -> JsonObject:
    return {
        "days": report.days,
        "since": report.since_s,
        "until": report.until_s,
        "decisions": report.decisions,
        "decisions_truncated": report.decisions_truncated,
        "actions": dict(report.actions),
        "would_change": [decision_record_json(record) for record in report.would_change],
        "activity": {
            "window_days": report.activity_window_days,
            "channels": {scid: asdict(window) for scid, window in sorted(report.activity.items())},
        },
        "changes": [_income_json(comparison) for comparison in report.changes],
    }


def recommendations_json(
    recommendations: Sequence[Recommendation], queued: Sequence[Proposal]
) -> JsonObject:
    return {
        "recommendations": [recommendation_json(r) for r in recommendations],
        "queued": [proposal_json(proposal) for proposal in queued],
    }
