"""What each run saw of each channel (balance, connection, fees), and fee income per day.

Every run records one observation per channel; the alerts read them to notice a channel
draining fast or a peer offline for long, and the report's picture draws each channel's local
share over time from them. They are pruned with the rest of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lnopt.model import Channel
from lnopt.store.forwards import DAY_S
from lnopt.store.schema import StoreBase

_INSERT_OBSERVATION_SQL = """
INSERT OR REPLACE INTO channel_observations (short_channel_id, observed_s, peer_id,
    capacity_msat, local_msat, connected, base_fee_msat, fee_ppm)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

_DISCONNECTED_SINCE_SQL = """
SELECT o.short_channel_id, MIN(o.observed_s) FROM channel_observations o
WHERE o.connected = 0 AND o.observed_s > COALESCE((SELECT MAX(c.observed_s)
    FROM channel_observations c WHERE c.short_channel_id = o.short_channel_id
    AND c.connected = 1), -1)
GROUP BY o.short_channel_id
"""

_DAILY_FEES_SQL = """
SELECT CAST((event_s - :since) / 86400 AS INTEGER) AS day, SUM(COALESCE(fee_msat, 0)) AS fees,
    COUNT(*) AS forwards
FROM forwards WHERE status = 'settled' AND event_s >= :since AND event_s < :until
GROUP BY day ORDER BY day
"""


@dataclass(frozen=True, slots=True)
class ChannelObservation:
    """One channel as one run saw it."""

    short_channel_id: str
    observed_s: float
    peer_id: str
    capacity_msat: int
    local_msat: int
    connected: bool
    base_fee_msat: int
    fee_ppm: int

    @property
    def local_ratio(self) -> float:
        if self.capacity_msat <= 0:
            return 0.0
        return min(1.0, max(0.0, self.local_msat / self.capacity_msat))


@dataclass(frozen=True, slots=True)
class DailyIncome:
    """Fees earned by settled forwards over one day (``day_start_s`` to a day later)."""

    day_start_s: float
    fees_msat: int
    forwards: int


class ObservationTables(StoreBase):
    """The ``channel_observations`` table, and fee income per day from ``forwards``."""

    def record_observations(self, channels: Sequence[Channel], *, observed_s: float) -> None:
        """One observation per channel whose balance the node reports."""
        rows = [
            (
                ch.short_channel_id,
                observed_s,
                ch.peer_id,
                ch.capacity_msat,
                ch.local_msat,
                int(ch.connected),
                ch.our_policy.base_fee_msat,
                ch.our_policy.fee_ppm,
            )
            for ch in channels
            if ch.balance_known
        ]
        if not rows:
            return
        with self._transaction() as tx:
            tx.executemany(_INSERT_OBSERVATION_SQL, rows)

    def observations(
        self, *, since_s: float, short_channel_id: str | None = None
    ) -> dict[str, list[ChannelObservation]]:
        """Per channel, oldest first: what the runs since ``since_s`` saw."""
        rows = self._query(
            "SELECT * FROM channel_observations WHERE observed_s >= :since "
            "AND (:scid IS NULL OR short_channel_id = :scid) ORDER BY observed_s",
            {"since": since_s, "scid": short_channel_id},
        )
        found: dict[str, list[ChannelObservation]] = {}
        for row in rows:
            values = dict(zip(row.keys(), tuple(row), strict=True))
            values["connected"] = bool(values["connected"])
            found.setdefault(row["short_channel_id"], []).append(ChannelObservation(**values))
        return found

    def disconnected_since(self) -> dict[str, float]:
        """Per channel whose latest observations saw its peer disconnected: when the first of
        them was made (the start of the current disconnected stretch, as far as runs saw)."""
        rows = self._query(_DISCONNECTED_SINCE_SQL)
        return {str(row[0]): float(row[1]) for row in rows}

    def daily_income(self, *, since_s: float, until_s: float) -> list[DailyIncome]:
        """Fees of settled forwards per day from ``since_s``; days without any are left out."""
        rows = self._query(_DAILY_FEES_SQL, {"since": since_s, "until": until_s})
        return [
            DailyIncome(since_s + int(row["day"]) * DAY_S, int(row["fees"]), int(row["forwards"]))
            for row in rows
        ]

    def failed_forwards_out(self, *, since_s: float) -> dict[str, int]:
        """Per outgoing channel: forwards that failed (downstream or here) since ``since_s``."""
        rows = self._query(
            "SELECT out_channel, COUNT(*) FROM forwards WHERE out_channel IS NOT NULL "
            "AND status IN ('failed', 'local_failed') AND event_s >= ? GROUP BY out_channel",
            (since_s,),
        )
        return {str(row[0]): int(row[1]) for row in rows}
