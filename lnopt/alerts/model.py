"""What an alert is: its kind, what it is about, and what was seen."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

DetailValue = int | float | str | None


class AlertKind(enum.Enum):
    """Every alert lnopt raises; the value names it in notifications, webhooks and the store."""

    CHANNEL_DRAINING = "channel_draining"  # local share fell fast
    PEER_OFFLINE = "peer_offline"  # a peer has been disconnected for long
    FAILED_FORWARDS = "failed_forwards"  # a spike of failed forwards out of a channel
    FEE_CHANGED_OUTSIDE = "fee_changed_outside"  # the node's fee is not what lnopt left
    BREAKER_OPEN = "breaker_open"  # a backend's circuit breaker is open
    STORE_FAILURE = "store_failure"  # the store could not be written
    RUN_FAILURE = "run_failure"  # a scheduled run failed


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing an operator should hear about.

    ``subject`` is what it is about (a short channel id, a peer id, a backend's name or
    ``"store"``): two alerts of the same kind and subject are the same alert for
    de-duplication.
    """

    kind: AlertKind
    subject: str
    message: str
    raised_s: float
    short_channel_id: str | None = None
    peer_id: str | None = None
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    @property
    def key(self) -> tuple[AlertKind, str]:
        return (self.kind, self.subject)

    def as_json(self) -> dict[str, object]:
        """The alert as notifications and webhooks carry it."""
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "message": self.message,
            "raised_at": self.raised_s,
            "short_channel_id": self.short_channel_id,
            "peer_id": self.peer_id,
            "details": dict(self.details),
        }
