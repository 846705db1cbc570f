"""The guard: every proposed fee change is approved, clamped or rejected against the limits.

:func:`review` looks at the changes of a batch in order, each against the operator's
:class:`~lnopt.config.GuardLimits`, the channel's recent changes, and the changes it has already
let through earlier in the same batch (counted as made at ``now_s``):

- *scope*: a channel in ``exclude_channels``, a channel toward a peer in ``exclude_peers``, and,
  when ``allow_channels`` is a list, a channel not on it are never touched: rejected; so is a
  channel lnopt leaves alone (``left_alone``: its fee was changed outside lnopt, until the
  operator releases it), with the reason given;
- *clock*: a channel with a change recorded after ``now_s`` (a clock set back) is rejected until
  that time has passed;
- *cooldown*: a channel changed less than ``cooldown_s`` seconds ago is rejected;
- *changes per day*: a channel that already has ``max_changes_per_day`` changes less than
  24 hours before ``now_s`` is rejected, so no 24-hour period ever holds more than that;
- *step*: ``fee_ppm`` moves from the old rate by at most the allowed step,
  ``max_step_pct`` percent of the old rate (rounded down) but not less than ``step_floor_ppm``,
  and never more than ``max_step_ppm``; the floor lets a fee at or near 0 ppm move (a percentage
  of 0 is 0), the absolute limit always wins (0 freezes every rate): clamped;
- *bounds*: ``fee_ppm`` within [``min_fee_ppm``, ``max_fee_ppm``] and ``base_fee_msat`` within
  [``min_base_fee_msat``, ``max_base_fee_msat``]: clamped. An old rate so far outside the bounds
  that one allowed step cannot reach them is rejected: the bounds are never left.

A change whose clamped policy equals the old one is rejected as "no change left". A rejected
change lists every reason that applies, not only the first. The guard is pure and deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from lnopt.config import GuardLimits
from lnopt.model import ChannelPolicy, GuardedChange, ProposedChange, Verdict

logger = logging.getLogger(__name__)

DAY_S = 86_400
WITHIN_LIMITS = "within the fee bounds, the largest step, the changes per day and the cooldown"


def allowed_step_ppm(old_ppm: int, limits: GuardLimits) -> int:
    """The largest move of ``fee_ppm`` away from ``old_ppm`` in one change."""
    by_percent = abs(old_ppm) * limits.max_step_pct // 100
    return min(limits.max_step_ppm, max(limits.step_floor_ppm, by_percent))


def review(
    changes: Sequence[ProposedChange],
    *,
    limits: GuardLimits,
    recent_changes: Mapping[str, Sequence[float]],
    now_s: float,
    left_alone: Mapping[str, str] | None = None,
) -> tuple[GuardedChange, ...]:
    """The verdict on each change, in order; ``recent_changes`` maps a channel to the times (s)
    of its changes already applied, ``left_alone`` a channel lnopt leaves alone to why."""
    allowed_in_batch: dict[str, int] = {}
    verdicts = []
    for change in changes:
        scid = change.short_channel_id
        history = [*recent_changes.get(scid, ()), *[now_s] * allowed_in_batch.get(scid, 0)]
        guarded = review_one(
            change, limits=limits, history=history, now_s=now_s, left_alone=left_alone
        )
        if guarded.applicable:
            allowed_in_batch[scid] = allowed_in_batch.get(scid, 0) + 1
        logger.debug(
            "guard scid=%s verdict=%s fee_ppm=%d->%s",
            scid,
            guarded.verdict.value,
            change.old_policy.fee_ppm,
            "-" if guarded.policy is None else guarded.policy.fee_ppm,
        )
        verdicts.append(guarded)
    return tuple(verdicts)


def review_one(
    change: ProposedChange,
    *,
    limits: GuardLimits,
    history: Sequence[float],
    now_s: float,
    left_alone: Mapping[str, str] | None = None,
) -> GuardedChange:
    """The verdict on one change, given the times (s) of the channel's earlier changes."""
    refusals = [*_scope_refusals(change, limits), *_rate_refusals(history, limits, now_s)]
    alone = (left_alone or {}).get(change.short_channel_id)
    if alone is not None:
        refusals.insert(0, f"left alone: {alone}")
    policy, notes = _clamp(change, limits)
    if policy == change.old_policy:
        notes.append("no change left: what may be applied equals the current policy")
        policy = None
    if refusals or policy is None:
        return GuardedChange(change, Verdict.REJECTED, None, (*refusals, *notes))
    if notes:
        return GuardedChange(change, Verdict.CLAMPED, policy, tuple(notes))
    return GuardedChange(change, Verdict.APPROVED, policy, (WITHIN_LIMITS,))


def _scope_refusals(change: ProposedChange, limits: GuardLimits) -> list[str]:
    scid, peer = change.short_channel_id, change.peer_id
    refusals = []
    if scid in limits.exclude_channels:
        refusals.append(f"channel {scid} is in guard.exclude_channels: never touched")
    if peer in limits.exclude_peers:
        refusals.append(f"peer {peer} is in guard.exclude_peers: never touched")
    if limits.allow_channels is not None and scid not in limits.allow_channels:
        refusals.append(f"channel {scid} is not in guard.allow_channels")
    return refusals


def _rate_refusals(history: Sequence[float], limits: GuardLimits, now_s: float) -> list[str]:
    refusals = []
    if history:
        latest_s = max(history)
        if latest_s > now_s:
            return [
                f"a change is recorded {latest_s - now_s:.0f} s in the future: the clock may "
                "have been set back; not touched until that time has passed"
            ]
        since_s = now_s - latest_s
        if since_s < limits.cooldown_s:
            refusals.append(
                f"cooldown: last change {since_s:.0f} s ago, less than "
                f"guard.cooldown_s = {limits.cooldown_s}"
            )
    last_day = sum(1 for time_s in history if now_s - time_s < DAY_S)
    if last_day >= limits.max_changes_per_day:
        refusals.append(
            f"{last_day} change(s) in the last 24 h and "
            f"guard.max_changes_per_day = {limits.max_changes_per_day}"
        )
    return refusals


def _clamp(change: ProposedChange, limits: GuardLimits) -> tuple[ChannelPolicy | None, list[str]]:
    """The proposed policy brought within the step and the bounds, with a note per clamp;
    ``None`` (and why) when the bounds cannot be reached in one step."""
    old_ppm, wanted_ppm = change.old_policy.fee_ppm, change.new_policy.fee_ppm
    step = allowed_step_ppm(old_ppm, limits)
    low_ppm = max(limits.min_fee_ppm, old_ppm - step)
    high_ppm = min(limits.max_fee_ppm, old_ppm + step)
    bounds = f"[{limits.min_fee_ppm}, {limits.max_fee_ppm}] ppm"
    if low_ppm > high_ppm:
        return None, [
            f"fee_ppm {old_ppm} is outside {bounds} by more than one step of {step} ppm: "
            "set it by hand"
        ]
    notes = []
    fee_ppm = min(max(wanted_ppm, low_ppm), high_ppm)
    if fee_ppm != wanted_ppm:
        by_step = fee_ppm in (old_ppm - step, old_ppm + step)
        limit = f"the largest step of {step} ppm from {old_ppm}" if by_step else bounds
        notes.append(f"fee_ppm {wanted_ppm} clamped to {fee_ppm} by {limit}")
    wanted_base = change.new_policy.base_fee_msat
    base_fee_msat = min(max(wanted_base, limits.min_base_fee_msat), limits.max_base_fee_msat)
    if base_fee_msat != wanted_base:
        notes.append(
            f"base_fee_msat {wanted_base} clamped to {base_fee_msat} by "
            f"[{limits.min_base_fee_msat}, {limits.max_base_fee_msat}] msat"
        )
    return change.new_policy.with_fees(base_fee_msat=base_fee_msat, fee_ppm=fee_ppm), notes
