"""JSON for the RPC methods: typed reads of request parameters and renderings of results.

Parameters come from ``lightning-cli`` or a script as JSON values; each reader accepts the
value's natural JSON type (and, where ``lightning-cli -k`` could pass one, its text form) and
raises :class:`~lnopt.errors.InvalidRequest` naming the parameter and what is accepted.
Results are plain JSON an operator and a script can read: money as integer ``*_msat`` and
``*_ppm`` fields, times as unix seconds, enums by their value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from lnopt.errors import InvalidRequest
from lnopt.executor import BatchResult, ChangeOutcome
from lnopt.model import ChannelPolicy, ChannelScore, ConfidenceLevel, ExpectedImpact
from lnopt.reports import (
    BackendStatus,
    GraphFreshness,
    History,
    IncomeComparison,
    Recommendation,
    ScoreReport,
    ShadowReport,
    Status,
)
from lnopt.store import DecisionRecord, JournalEntry, Proposal, RunRecord

JsonObject = dict[str, Any]

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


# --- parameters ----------------------------------------------------------------------------


def read_bool(name: str, value: Any) -> bool:
    """``true``/``false`` (or their text forms)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidRequest(f"{name}: expected true or false, got {value!r}")


def read_int(name: str, value: Any, *, minimum: int = 0) -> int:
    """A whole number of at least ``minimum`` (or its text form)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None:
        raise InvalidRequest(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    if number < minimum:
        what = "negative" if number < 0 else "too small"
        raise InvalidRequest(f"{name}: {number} is {what}; give a whole number >= {minimum}")
    return number


def read_time(name: str, value: Any) -> float | None:
    """A unix time in seconds (integer or decimal), or None when absent."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            raise InvalidRequest(
                f"{name}: expected a unix time in seconds, got {value!r}"
            ) from None
    else:
        raise InvalidRequest(f"{name}: expected a unix time in seconds, got {value!r}")
    if not math.isfinite(seconds):
        raise InvalidRequest(f"{name}: expected a unix time in seconds, got {value!r}")
    if seconds < 0:
        raise InvalidRequest(f"{name}: {value} is negative; give a unix time in seconds")
    return seconds


def read_target(name: str, value: Any) -> str:
    """An identifier given as text or as a whole number (``42``, ``"b7"``, ``"all"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidRequest(f"{name}: {value} is negative; ids are whole numbers >= 0")
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidRequest(f"{name}: expected an id or a short channel id, got {value!r}")


def read_optional_channel(value: Any) -> str | None:
    """A short channel id, or None for every channel."""
    return None if value is None else read_target("channel", value)


# --- results -------------------------------------------------------------------------------


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


def status_json(status: Status, *, now_s: float) -> JsonObject:
    guard = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(status.guard).items()
    }
    return {
        "mode": status.mode.value,
        "interval_s": status.interval_s,
        "last_run": run_json(status.last_run),
        "next_run": status.next_run_s,
        "counts": dict(status.counts),
        "store": {"path": str(status.store_path), "size_bytes": status.store_size_bytes},
        "graph": graph_json(status.graph, now_s=now_s),
        "guard": guard,
        "backend": backend_status_json(status.backend),
        "observed": None if status.observations is None else asdict(status.observations),
    }


def backend_status_json(backend: BackendStatus | None) -> JsonObject | None:
    """Which heuristics run on low confidence and why, the breaker, the credential's reach."""
    if backend is None:
        return None
    health = backend.health
    return {
        "name": backend.name,
        "limitations": [
            {"what": item.what, "heuristics": list(item.heuristics), "why": item.why}
            for item in backend.limitations
        ],
        "low_confidence_heuristics": sorted(
            {name for item in backend.limitations for name in item.heuristics}
        ),
        "breaker": None
        if health is None
        else {
            "state": health.state.value,
            "consecutive_failures": health.consecutive_failures,
            "opened_at": health.opened_at_s,
            "last_error": health.last_error,
        },
        "privilege_warnings": list(backend.privilege_warnings),
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
