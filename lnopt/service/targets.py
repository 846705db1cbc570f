"""What an operator's request names: a mode, a channel, a queued proposal, a rollback target.

Each reader returns what the text names, or raises :class:`~lnopt.errors.InvalidRequest` saying
what was wrong and what is accepted.
"""

from __future__ import annotations

import re

from lnopt.errors import InvalidRequest
from lnopt.model import Mode, parse_short_channel_id
from lnopt.store import JournalEntry, JournalStatus, Proposal, ProposalStatus, Store

ALL = "all"
LAST = "last"
_WHOLE_NUMBER = re.compile(r"[0-9]+")
_BATCH_ID = re.compile(r"b[0-9]+")


def parse_mode(text: str) -> Mode:
    """The mode named ``text``; :class:`InvalidRequest` naming the accepted ones otherwise."""
    try:
        return Mode(text.strip().lower())
    except ValueError:
        accepted = ", ".join(mode.value for mode in Mode)
        raise InvalidRequest(f"unknown mode {text!r}; accepted: {accepted}") from None


def require_short_channel_id(text: str, *, what: str = "channel") -> str:
    """``text`` if it is a short channel id ``BLOCKxTXxOUT``, else :class:`InvalidRequest`."""
    try:
        parse_short_channel_id(text)
    except ValueError as exc:
        raise InvalidRequest(f"{what}: {exc}") from None
    return text


def parse_proposal_id(text: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(text.strip()):
        raise InvalidRequest(
            f"cannot read proposal id {text!r}: give a whole number (e.g. 3) or 'all'"
        )
    return int(text)


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
    text = target.strip()
    if text == LAST:
        batch_id = store.last_batch_id()
        if batch_id is None:
            raise InvalidRequest("nothing to roll back: no fee change has been applied yet")
        return store.journal(batch_id=batch_id)
    if _WHOLE_NUMBER.fullmatch(text):
        entry = store.journal_entry(int(text))
        if entry is None:
            raise InvalidRequest(f"no fee change with id {text}; lnopt-history lists them")
        return [entry]
    if _BATCH_ID.fullmatch(text):
        entries = store.journal(batch_id=text)
        if not entries:
            raise InvalidRequest(f"no batch with id {text}; lnopt-history lists them")
        return entries
    try:
        parse_short_channel_id(text)
    except ValueError:
        raise InvalidRequest(
            f"cannot roll back {target!r}: give a change id (42), a batch id (b7), "
            "a short channel id (812345x1020x1) or 'last'"
        ) from None
    done = store.journal(short_channel_id=text, statuses=(JournalStatus.DONE,), limit=1)
    if not done:
        raise InvalidRequest(
            f"channel {text} has no applied fee change to roll back; lnopt-history {text} "
            "shows its changes"
        )
    return done
