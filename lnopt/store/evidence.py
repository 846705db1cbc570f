"""Price evidence: each channel's fee spells and the payments that asked to leave through it.

Read from what the store keeps anyway (see :mod:`lnopt.pricing.evidence`): the fee each run
observed (``channel_observations``), the changes the fee journal made (entries in force: DONE,
or ROLLED_BACK by a later entry) and the settled and locally failed forwards out of each
channel; and the latest run's id, which seeds the model's draw (each run draws anew, and every
program reading the store draws the same). Nothing else is kept, so the model's state
survives a restart with the store.
"""

from __future__ import annotations

from lnopt.model import ForwardStatus
from lnopt.pricing.evidence import (
    ChannelEvidence,
    channel_evidence,
    group_payments,
    spells_from,
)
from lnopt.store.forwards import DAY_S
from lnopt.store.records import JournalStatus
from lnopt.store.schema import StoreBase

_RATE_EVENTS_SQL = """
SELECT short_channel_id AS scid, observed_s AS at_s, 0 AS ord, 0 AS seq, fee_ppm
FROM channel_observations WHERE observed_s >= :since AND observed_s <= :now
UNION ALL
SELECT short_channel_id, created_s, 1, change_id, json_extract(new_policy, '$.fee_ppm')
FROM journal WHERE status IN (:done, :rolled_back) AND created_s >= :since AND created_s <= :now
"""

_LATEST_RUN_SQL = "SELECT COALESCE(MAX(run_id), 0) FROM runs WHERE started_s <= :now"

_PARTS_SQL = """
SELECT out_channel, received_s, out_msat, fee_msat, status FROM forwards
WHERE out_channel IS NOT NULL AND status IN (:settled, :local_failed)
    AND received_s >= :since AND received_s <= :now
"""


class EvidenceTables(StoreBase):
    """Reads ``channel_observations``, ``journal`` and ``forwards`` together."""

    def price_evidence(
        self,
        *,
        now_s: float,
        window_days: float,
        half_life_days: float,
        payment_window_s: float,
    ) -> dict[str, ChannelEvidence]:
        """Per channel seen in the window: its arms (see :mod:`lnopt.pricing.evidence`)."""
        params = {
            "since": now_s - window_days * DAY_S,
            "now": now_s,
            "done": JournalStatus.DONE.value,
            "rolled_back": JournalStatus.ROLLED_BACK.value,
            "settled": ForwardStatus.SETTLED.value,
            "local_failed": ForwardStatus.LOCAL_FAILED.value,
        }
        events: dict[str, list[tuple[float, int, int, int]]] = {}
        for row in self._query(_RATE_EVENTS_SQL, params):
            events.setdefault(row[0], []).append(
                (float(row[1]), int(row[2]), int(row[3]), int(row[4]))
            )
        parts: dict[str, list[tuple[float, int, int, bool]]] = {}
        for row in self._query(_PARTS_SQL, params):
            parts.setdefault(row[0], []).append(
                (
                    float(row[1]),
                    int(row[2] or 0),
                    int(row[3] or 0),
                    row[4] == ForwardStatus.SETTLED.value,
                )
            )
        latest_run_id = int(next(iter(self._query(_LATEST_RUN_SQL, {"now": now_s})))[0])
        found = {}
        for scid, rate_events in events.items():
            channel_parts = parts.get(scid, ())
            first_seen_s = min((part[0] for part in channel_parts), default=None)
            evidence = channel_evidence(
                scid,
                spells_from(rate_events, now_s=now_s, first_seen_s=first_seen_s),
                group_payments(channel_parts, payment_window_s=payment_window_s),
                now_s=now_s,
                half_life_days=half_life_days,
                latest_run_id=latest_run_id,
            )
            if evidence is not None:
                found[scid] = evidence
        return found
