"""Price histories: what each channel earned at its current fee rate and at the one before.

The rates and when they took effect come from the fee journal: every entry in force (DONE, or
ROLLED_BACK by a later entry of its own) is a change of the channel's fee at its ``created_s``.
The latest such entry starts the current rate; the previous rate is measured from the entry
before it (or at most ``PREVIOUS_WINDOW_DAYS`` back) to the latest one. Earnings are settled
forwards out of the channel and their fees, from the forwards table.
"""

from __future__ import annotations

from lnopt.model import ForwardStatus, PriceHistory
from lnopt.store.forwards import DAY_S
from lnopt.store.records import JournalStatus
from lnopt.store.schema import StoreBase

PREVIOUS_WINDOW_DAYS = 7

_LAST_TWO_CHANGES_SQL = """
SELECT short_channel_id, json_extract(old_policy, '$.fee_ppm') AS old_ppm,
    json_extract(new_policy, '$.fee_ppm') AS new_ppm, created_s, n
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY short_channel_id ORDER BY change_id DESC) AS n
    FROM journal WHERE status IN (?, ?)
)
WHERE n <= 2 ORDER BY short_channel_id, n
"""

_EARNED_SQL = """
SELECT COUNT(*), COALESCE(SUM(fee_msat), 0) FROM forwards
WHERE out_channel = ? AND status = ? AND event_s >= ? AND event_s < ?
"""


class PriceTables(StoreBase):
    """Reads the ``journal`` and ``forwards`` tables together."""

    def price_histories(self, *, now_s: float) -> dict[str, PriceHistory]:
        """Per channel lnopt has changed: its current and previous rate and their earnings."""
        rows = self._query(
            _LAST_TWO_CHANGES_SQL, (JournalStatus.DONE.value, JournalStatus.ROLLED_BACK.value)
        )
        latest = {row["short_channel_id"]: row for row in rows if row["n"] == 1}
        before = {row["short_channel_id"]: row["created_s"] for row in rows if row["n"] == 2}
        histories = {}
        for scid, row in latest.items():
            since_s = float(row["created_s"])
            window_start_s = since_s - PREVIOUS_WINDOW_DAYS * DAY_S
            previous_start_s = max(window_start_s, float(before.get(scid, window_start_s)))
            now_forwards, now_fees = self._earned(scid, since_s, now_s)
            then_forwards, then_fees = self._earned(scid, previous_start_s, since_s)
            histories[scid] = PriceHistory(
                current_ppm=int(row["new_ppm"]),
                since_s=since_s,
                current_forwards_out=now_forwards,
                current_fees_msat=now_fees,
                previous_ppm=int(row["old_ppm"]),
                previous_days=(since_s - previous_start_s) / DAY_S,
                previous_forwards_out=then_forwards,
                previous_fees_msat=then_fees,
            )
        return histories

    def _earned(self, scid: str, start_s: float, end_s: float) -> tuple[int, int]:
        count, fees = self._query(_EARNED_SQL, (scid, ForwardStatus.SETTLED.value, start_s, end_s))[
            0
        ]
        return int(count), int(fees)
