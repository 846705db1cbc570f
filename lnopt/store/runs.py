"""Runs, the shadow log of their decisions, and the advise queue of proposed changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from lnopt.errors import InvalidRequest
from lnopt.model import Action, Decision, ExpectedImpact, GuardedChange, Mode, Verdict
from lnopt.store.records import DecisionRecord, Proposal, ProposalStatus, RunRecord
from lnopt.store.rows import decoded, named, record_of, rowid
from lnopt.store.schema import StoreBase

_INSERT_DECISION_SQL = """
INSERT INTO decisions (run_id, created_s, short_channel_id, peer_id, action, confidence, reasons,
    current_policy, proposed_policy, daily_fee_delta_msat, impact_basis, verdict,
    verdict_reasons, guarded_policy)
VALUES (:run_id, :created_s, :short_channel_id, :peer_id, :action, :confidence, :reasons,
    :current_policy, :proposed_policy, :daily_fee_delta_msat, :impact_basis, :verdict,
    :verdict_reasons, :guarded_policy)
"""

_EXPIRE_PROPOSALS_SQL = """
UPDATE proposals SET status = :expired, updated_s = :updated_s
WHERE short_channel_id = :short_channel_id AND status = :status
"""

_INSERT_PROPOSAL_SQL = """
INSERT INTO proposals (short_channel_id, peer_id, old_policy, new_policy, reasons, created_s,
    updated_s, status)
VALUES (:short_channel_id, :peer_id, :old_policy, :new_policy, :reasons, :created_s,
    :updated_s, :status)
"""


class RunTables(StoreBase):
    """The ``runs``, ``decisions`` and ``proposals`` tables."""

    def start_run(self, *, mode: Mode, started_s: float) -> int:
        with self._transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO runs (mode, started_s) VALUES (?, ?)", (mode.value, started_s)
            )
            return rowid(cursor)

    def finish_run(
        self,
        run_id: int,
        *,
        finished_s: float,
        decisions: int,
        proposals: int,
        changes: int,
        error: str | None = None,
    ) -> None:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE runs SET finished_s = ?, decisions = ?, proposals = ?, changes = ?, "
                "error = ? WHERE run_id = ?",
                (finished_s, decisions, proposals, changes, error, run_id),
            )
            if cursor.rowcount == 0:
                raise InvalidRequest(f"no run {run_id} in the store")

    def last_run(self) -> RunRecord | None:
        rows = self._query("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1")
        return _run(rows[0]) if rows else None

    def record_decisions(
        self,
        run_id: int,
        decisions: Sequence[Decision],
        verdicts: Sequence[GuardedChange | None],
        *,
        created_s: float,
    ) -> None:
        """The shadow log: each decision with the guard's verdict on its change, if any."""
        if len(decisions) != len(verdicts):
            raise InvalidRequest(
                f"{len(decisions)} decisions but {len(verdicts)} verdicts; one verdict "
                "(or None) is expected per decision"
            )
        rows = [
            _decision_row(run_id, d, v, created_s) for d, v in zip(decisions, verdicts, strict=True)
        ]
        with self._transaction() as tx:
            tx.executemany(_INSERT_DECISION_SQL, rows)

    def decisions(
        self,
        *,
        short_channel_id: str | None = None,
        since_s: float | None = None,
        limit: int = 100,
    ) -> list[DecisionRecord]:
        """Logged decisions, newest first."""
        rows = self._query(
            "SELECT * FROM decisions WHERE (:scid IS NULL OR short_channel_id = :scid) "
            "AND (:since IS NULL OR created_s >= :since) ORDER BY decision_id DESC LIMIT :limit",
            {"scid": short_channel_id, "since": since_s, "limit": limit},
        )
        return [_decision(row) for row in rows]

    # --- advise queue -----------------------------------------------------------------------

    def queue_proposals(
        self, changes: Sequence[GuardedChange], *, created_s: float
    ) -> list[Proposal]:
        """Queue each applicable change; a still-queued proposal for its channel expires."""
        ids: list[int] = []
        with self._transaction() as tx:
            for guarded in changes:
                if not guarded.applicable or guarded.policy is None:
                    continue
                change = guarded.change
                params = named(
                    short_channel_id=change.short_channel_id,
                    peer_id=change.peer_id,
                    old_policy=change.old_policy,
                    new_policy=guarded.policy,
                    reasons=(*change.reasons, *guarded.reasons),
                    created_s=created_s,
                    updated_s=created_s,
                    status=ProposalStatus.QUEUED,
                    expired=ProposalStatus.EXPIRED,
                )
                tx.execute(_EXPIRE_PROPOSALS_SQL, params)
                ids.append(rowid(tx.execute(_INSERT_PROPOSAL_SQL, params)))
        return [p for p in (self.proposal(i) for i in ids) if p is not None]

    def proposals(self, *, status: ProposalStatus | None = ProposalStatus.QUEUED) -> list[Proposal]:
        """Proposals with ``status`` (all when None), oldest first."""
        rows = self._query(
            "SELECT * FROM proposals WHERE (:status IS NULL OR status = :status) "
            "ORDER BY proposal_id",
            {"status": None if status is None else status.value},
        )
        return [_proposal(row) for row in rows]

    def proposal(self, proposal_id: int) -> Proposal | None:
        rows = self._query("SELECT * FROM proposals WHERE proposal_id = ?", (proposal_id,))
        return _proposal(rows[0]) if rows else None

    def set_proposal_status(
        self, proposal_id: int, status: ProposalStatus, *, updated_s: float
    ) -> None:
        """Decide a queued proposal; a proposal already decided is refused (InvalidRequest)."""
        with self._transaction() as tx:
            row = tx.execute(
                "SELECT status FROM proposals WHERE proposal_id = ?", (proposal_id,)
            ).fetchone()
            if row is None:
                raise InvalidRequest(f"no proposal {proposal_id}")
            if row[0] != ProposalStatus.QUEUED.value:
                raise InvalidRequest(f"proposal {proposal_id} is {row[0]}, no longer queued")
            tx.execute(
                "UPDATE proposals SET status = ?, updated_s = ? WHERE proposal_id = ?",
                (status.value, updated_s, proposal_id),
            )


def _run(row: sqlite3.Row) -> RunRecord:
    return record_of(RunRecord, row, mode=Mode)


def _decision_row(
    run_id: int, decision: Decision, guarded: GuardedChange | None, created_s: float
) -> dict[str, Any]:
    return named(
        run_id=run_id,
        created_s=created_s,
        short_channel_id=decision.short_channel_id,
        peer_id=decision.peer_id,
        action=decision.action,
        confidence=decision.confidence,
        reasons=decision.reasons,
        current_policy=decision.current_policy,
        proposed_policy=decision.proposed_policy,
        daily_fee_delta_msat=decision.impact.daily_fee_delta_msat,
        impact_basis=decision.impact.basis,
        verdict=None if guarded is None else guarded.verdict,
        verdict_reasons=() if guarded is None else guarded.reasons,
        guarded_policy=None if guarded is None else guarded.policy,
    )


def _decision(row: sqlite3.Row) -> DecisionRecord:
    values = decoded(row)
    impact = ExpectedImpact(values.pop("daily_fee_delta_msat"), values.pop("impact_basis"))
    verdict = None if values["verdict"] is None else Verdict(values["verdict"])
    return DecisionRecord(
        **values | {"action": Action(values["action"]), "verdict": verdict, "impact": impact}
    )


def _proposal(row: sqlite3.Row) -> Proposal:
    return record_of(Proposal, row, status=ProposalStatus)
