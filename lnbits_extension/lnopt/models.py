"""What the extension's routes take (pydantic 1.x compatible, as LNbits pins it)."""

from typing import Any

from pydantic import BaseModel


class ApplyRequest(BaseModel):
    """Apply the recommended fee changes of one channel (its short channel id) or all."""

    channel: Any = "all"
    dryrun: Any = True


class ProposalRequest(BaseModel):
    """A proposal queued in advise mode: its id, or all (approve only)."""

    proposal: Any


class RollbackRequest(BaseModel):
    """A change id (42), a batch (b7), a channel's latest change (its short channel id), or
    last."""

    target: Any
    dryrun: Any = True


class ReleaseRequest(BaseModel):
    """A channel lnopt left alone after its fee was changed outside lnopt."""

    channel: Any
