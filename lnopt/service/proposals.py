"""Advise mode's queue at approval: which queued proposals still apply to the node.

A proposal was made against the channel's fees when it was queued. Approved later, it still
applies only if the channel is there and its base fee and fee rate are those it was made
against; it then becomes a change from the channel's current policy (HTLC limits and CLTV delta
as the node has them now) to the proposed fees, which the guard reviews again. Otherwise it has
expired: nothing changes, and the answer says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lnopt.executor import BatchResult, ChangeOutcome, same_fees
from lnopt.model import ChannelPolicy, ProposedChange
from lnopt.store import Proposal


@dataclass(frozen=True)
class Triage:
    """Approved proposals sorted: those that still apply, each with its change, and the
    expired ones, each with the outcome that says why."""

    fresh: tuple[tuple[Proposal, ProposedChange], ...]
    expired: tuple[tuple[Proposal, ChangeOutcome], ...]


def triage(proposals: Sequence[Proposal], current: Mapping[str, ChannelPolicy]) -> Triage:
    """Sort ``proposals`` against ``current``, our policy of each channel the node has now."""
    fresh: list[tuple[Proposal, ProposedChange]] = []
    expired: list[tuple[Proposal, ChangeOutcome]] = []
    for proposal in proposals:
        policy = current.get(proposal.short_channel_id)
        if policy is None or not same_fees(policy, proposal.old_policy):
            expired.append((proposal, _expired_outcome(proposal, policy)))
        else:
            fresh.append((proposal, _change_from(proposal, policy)))
    return Triage(tuple(fresh), tuple(expired))


def with_outcomes(result: BatchResult | None, extra: Sequence[ChangeOutcome]) -> BatchResult:
    """The batch ``result`` (None: nothing was applied) with ``extra`` outcomes after its own."""
    if result is None:
        return BatchResult(batch_id=None, dryrun=False, outcomes=tuple(extra))
    return BatchResult(
        batch_id=result.batch_id, dryrun=result.dryrun, outcomes=(*result.outcomes, *extra)
    )


def _change_from(proposal: Proposal, current: ChannelPolicy) -> ProposedChange:
    return ProposedChange(
        short_channel_id=proposal.short_channel_id,
        peer_id=proposal.peer_id,
        old_policy=current,
        new_policy=current.with_fees(
            base_fee_msat=proposal.new_policy.base_fee_msat, fee_ppm=proposal.new_policy.fee_ppm
        ),
        reasons=proposal.reasons,
    )


def _expired_outcome(proposal: Proposal, current: ChannelPolicy | None) -> ChangeOutcome:
    why = (
        "the channel is gone"
        if current is None
        else f"the channel's fees changed since it was proposed (now {current.fee_ppm} ppm)"
    )
    return ChangeOutcome(
        change_id=None,
        short_channel_id=proposal.short_channel_id,
        old_policy=proposal.old_policy,
        new_policy=proposal.new_policy,
        status=None,
        error=f"proposal {proposal.proposal_id} expired: {why}; nothing was changed",
    )
