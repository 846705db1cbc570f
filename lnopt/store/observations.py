"""What each run saw of the node and of each channel, and fee income per day.

Every run records one observation: the node's own fee totals where its backend reports them
(LNbits' ``/info``), and each channel's balance, connection and fees. The alerts read them to
notice a channel draining fast or a peer offline for long; the report's picture draws each
channel's local share over time from them; and for a node whose backend gives no forwarding
history, comparing the last two says what happened in between (:meth:`observation_summary`):
the fees the node collected, the channels whose balance moved and by how much, and the channels
whose fees changed. They are pruned with the rest of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lnopt.backends.base import FeeTotals
from lnopt.model import Channel
from lnopt.store.forwards import DAY_S
from lnopt.store.schema import StoreBase

_INSERT_OBSERVATION_SQL = """
INSERT OR REPLACE INTO channel_observations (short_channel_id, observed_s, peer_id,
    capacity_msat, local_msat, connected, base_fee_msat, fee_ppm)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

_INSERT_NODE_OBSERVATION_SQL = """
INSERT OR REPLACE INTO node_observations (observed_s, run_id, fees_total_msat, fees_daily_msat,
    fees_weekly_msat, fees_monthly_msat)
VALUES (?, ?, ?, ?, ?, ?)
"""

_CHANGES_SQL = """
SELECT
    SUM(a.local_msat != b.local_msat) AS balance_changes,
    SUM(ABS(a.local_msat - b.local_msat)) AS balance_moved_msat,
    SUM(a.base_fee_msat != b.base_fee_msat OR a.fee_ppm != b.fee_ppm) AS fee_changes
FROM channel_observations a
JOIN channel_observations b ON b.short_channel_id = a.short_channel_id
WHERE a.observed_s = ? AND b.observed_s = ?
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


@dataclass(frozen=True, slots=True)
class ObservationSummary:
    """The last observation, and what changed since the one before (None: there is none)."""

    observations: int
    last_s: float
    previous_s: float | None
    fees_total_msat: int | None  # the node's fee total at the last observation
    fees_collected_msat: int | None  # collected between the two, where both have a total
    balance_changes: int | None  # channels whose local balance moved between the two
    balance_moved_msat: int | None  # the sum of those moves, each counted as a distance
    fee_changes: int | None  # channels whose base fee or fee rate differs between the two


class ObservationTables(StoreBase):
    """The ``node_observations`` and ``channel_observations`` tables, and fee income per day
    from ``forwards``."""

    def record_observation(
        self,
        *,
        run_id: int | None,
        observed_s: float,
        channels: Sequence[Channel],
        fee_totals: FeeTotals | None,
    ) -> None:
        """What one run saw: the node's fee totals, and each channel whose balance it reports."""
        totals: tuple[int | None, ...] = (None, None, None, None)
        if fee_totals is not None:
            totals = (
                fee_totals.total_msat,
                fee_totals.daily_msat,
                fee_totals.weekly_msat,
                fee_totals.monthly_msat,
            )
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
        with self._transaction() as tx:
            tx.execute(_INSERT_NODE_OBSERVATION_SQL, (observed_s, run_id, *totals))
            tx.executemany(_INSERT_OBSERVATION_SQL, rows)

    def observation_summary(self) -> ObservationSummary | None:
        """The last observation and what changed since the one before it."""
        rows = self._query(
            "SELECT observed_s, fees_total_msat FROM node_observations "
            "ORDER BY observed_s DESC LIMIT 2"
        )
        if not rows:
            return None
        count = int(self._query("SELECT COUNT(*) FROM node_observations")[0][0])
        last = rows[0]
        if len(rows) == 1:
            return ObservationSummary(
                count, last["observed_s"], None, last["fees_total_msat"], None, None, None, None
            )
        previous = rows[1]
        changes = self._query(_CHANGES_SQL, (last["observed_s"], previous["observed_s"]))[0]
        collected = None
        if last["fees_total_msat"] is not None and previous["fees_total_msat"] is not None:
            collected = last["fees_total_msat"] - previous["fees_total_msat"]
        return ObservationSummary(
            observations=count,
            last_s=last["observed_s"],
            previous_s=previous["observed_s"],
            fees_total_msat=last["fees_total_msat"],
            fees_collected_msat=collected,
            balance_changes=int(changes["balance_changes"] or 0),
            balance_moved_msat=int(changes["balance_moved_msat"] or 0),
            fee_changes=int(changes["fee_changes"] or 0),
        )

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

    def fee_totals(self, *, since_s: float) -> list[tuple[float, int]]:
        """(observed_s, the node's fee total msat) of each run since ``since_s`` whose backend
        reports the total, oldest first."""
        rows = self._query(
            "SELECT observed_s, fees_total_msat FROM node_observations WHERE observed_s >= ? "
            "AND fees_total_msat IS NOT NULL ORDER BY observed_s",
            (since_s,),
        )
        return [(float(row[0]), int(row[1])) for row in rows]

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
