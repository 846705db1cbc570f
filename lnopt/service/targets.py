"""What an operator's request names: a mode, a channel, a queued proposal, a rollback target.

Each reader returns what the text names, or raises :class:`~lnopt.errors.InvalidRequest` saying
what was wrong and what is accepted.
"""

from __future__ import annotations

import re
from typing import Any

from lnopt.errors import InvalidRequest
from lnopt.model import Mode
from lnopt.params import (
    INTEGER_MAX,
    SHORT_CHANNEL_ID,
    is_short_channel_id,
    read_choice,
    read_int,
    read_short_channel_id,
    read_text,
    refusal,
    shown,
)
from lnopt.store import JournalEntry, JournalStatus, Proposal, ProposalStatus, Store

ALL = "all"
LAST = "last"
_BATCH_ID = re.compile(r"b[0-9]{1,19}")
PROPOSAL = f"a proposal id (3; at most {INTEGER_MAX}) or {shown(ALL)}"
ROLLBACK_TARGET = (
    f"a change id (42; at most {INTEGER_MAX}), a batch id (b7), a short channel id "
    f"(812345x1020x1) or {shown(LAST)}"
)


def parse_mode(text: str, *, what: str = "mode") -> Mode:
    """The mode named ``text``; :class:`InvalidRequest` naming the accepted ones otherwise."""
    return Mode(read_choice(what, text, tuple(mode.value for mode in Mode)))


def require_short_channel_id(text: str, *, what: str = "channel") -> str:
    """``text`` if it is a short channel id ``BLOCKxTXxOUT``, else :class:`InvalidRequest`."""
    return read_short_channel_id(what, text)


def parse_proposal_id(value: Any) -> int:
    """A proposal id: a whole number >= 1 (or its text)."""
    try:
        return read_int("proposal", value, minimum=1)
    except InvalidRequest:
        raise refusal("proposal", PROPOSAL, value) from None


def parse_change_id(value: Any) -> int:
    """A fee change's id: a whole number >= 1 (or its text)."""
    try:
        return read_int("target", value, minimum=1)
    except InvalidRequest:
        raise refusal("target", ROLLBACK_TARGET, value) from None


def read_channel(value: Any) -> str | None:
    """The ``channel`` parameter of a read: a short channel id, or None for every channel."""
    return None if value is None else read_short_channel_id("channel", value)


def read_channel_or_all(value: Any) -> str:
    """The ``channel`` parameter of an apply: a short channel id or ``all``."""
    if value == ALL:
        return ALL
    try:
        return read_short_channel_id("channel", value)
    except InvalidRequest:
        raise refusal("channel", f"{SHORT_CHANNEL_ID} or {shown(ALL)}", value) from None


def read_proposal_target(value: Any) -> str:
    """The ``proposal`` parameter of an approval: a proposal id or ``all``."""
    return ALL if value == ALL else str(parse_proposal_id(value))


def read_rollback_target(value: Any) -> str:
    """The ``target`` parameter of a rollback, as text (see :func:`rollback_entries`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(parse_change_id(value))
    return read_text("target", value, ROLLBACK_TARGET)


def queued_proposal(store: Store, proposal_id: int) -> Proposal:
    """The proposal with ``proposal_id``, which must still be queued."""
    proposal = store.proposal(proposal_id)
    if proposal is None:
        raise InvalidRequest(
            f"no proposal with id {proposal_id}; lnopt-recommend and lnopt-status show the queue"
        )
    if proposal.status is not ProposalStatus.QUEUED:
        raise InvalidRequest(
            f"proposal {proposal_id} is {proposal.status.value}, not queued; only a "
            "queued proposal can be approved or rejected"
        )
    return proposal


def rollback_entries(store: Store, target: str) -> list[JournalEntry]:
    """The journal entries a rollback target names: a change id (``"42"``), a batch id
    (``"b7"``), a channel's latest done change (its short channel id) or the last batch."""
    if target == LAST:
        batch_id = store.last_batch_id()
        if batch_id is None:
            raise InvalidRequest("nothing to roll back: no fee change has been applied yet")
        return store.journal(batch_id=batch_id)
    if target.isascii() and target.isdigit():
        change_id = parse_change_id(target)
        entry = store.journal_entry(change_id)
        if entry is None:
            raise InvalidRequest(f"no fee change with id {change_id}; lnopt-history lists them")
        return [entry]
    if _BATCH_ID.fullmatch(target):
        entries = store.journal(batch_id=target)
        if not entries:
            raise InvalidRequest(f"no batch with id {target}; lnopt-history lists them")
        return entries
    if not is_short_channel_id(target):
        raise refusal("target", ROLLBACK_TARGET, target)
    done = store.journal(short_channel_id=target, statuses=(JournalStatus.DONE,), limit=1)
    if not done:
        raise InvalidRequest(
            f"channel {target} has no applied fee change to roll back; lnopt-history {target} "
            "shows its changes"
        )
    return done
