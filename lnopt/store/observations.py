"""What lnopt sees of the node at each run, for nodes whose backend gives no forwarding history.

Each run records one observation: when, the node's own fee totals where it reports them
(LNbits' ``/info``), and each channel's local balance and fees. Comparing the last two says
what happened in between: the fees the node collected, the channels whose balance moved (a
forward, a payment or a rebalance went through them) and by how much, and the channels whose
fees changed (by lnopt or by someone else).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lnopt.backends.base import FeeTotals
from lnopt.model import Channel
from lnopt.store.rows import rowid
from lnopt.store.schema import StoreBase


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


_CHANGES_SQL = """
SELECT
    SUM(a.local_msat != b.local_msat) AS balance_changes,
    SUM(ABS(a.local_msat - b.local_msat)) AS balance_moved_msat,
    SUM(a.base_fee_msat != b.base_fee_msat OR a.fee_ppm != b.fee_ppm) AS fee_changes
FROM channel_observations a
JOIN channel_observations b ON b.short_channel_id = a.short_channel_id
WHERE a.observation_id = ? AND b.observation_id = ?
"""


class ObservationTables(StoreBase):
    """The ``observations`` and ``channel_observations`` tables."""

    def record_observation(
        self,
        *,
        run_id: int | None,
        taken_s: float,
        channels: Sequence[Channel],
        fee_totals: FeeTotals | None,
    ) -> int:
        totals = fee_totals or FeeTotals(total_msat=-1)
        with self._transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO observations (run_id, taken_s, fees_total_msat, fees_daily_msat, "
                "fees_weekly_msat, fees_monthly_msat) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    taken_s,
                    None if fee_totals is None else totals.total_msat,
                    totals.daily_msat,
                    totals.weekly_msat,
                    totals.monthly_msat,
                ),
            )
            observation_id = rowid(cursor)
            tx.executemany(
                "INSERT INTO channel_observations (observation_id, short_channel_id, "
                "local_msat, base_fee_msat, fee_ppm) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        observation_id,
                        channel.short_channel_id,
                        channel.local_msat,
                        channel.our_policy.base_fee_msat,
                        channel.our_policy.fee_ppm,
                    )
                    for channel in channels
                ],
            )
        return observation_id

    def observation_summary(self) -> ObservationSummary | None:
        rows = self._query(
            "SELECT observation_id, taken_s, fees_total_msat FROM observations "
            "ORDER BY observation_id DESC LIMIT 2"
        )
        if not rows:
            return None
        count = int(self._query("SELECT COUNT(*) FROM observations")[0][0])
        last = rows[0]
        if len(rows) == 1:
            return ObservationSummary(
                count, last["taken_s"], None, last["fees_total_msat"], None, None, None, None
            )
        previous = rows[1]
        changes = self._query(_CHANGES_SQL, (last["observation_id"], previous["observation_id"]))[0]
        collected = None
        if last["fees_total_msat"] is not None and previous["fees_total_msat"] is not None:
            collected = last["fees_total_msat"] - previous["fees_total_msat"]
        return ObservationSummary(
            observations=count,
            last_s=last["taken_s"],
            previous_s=previous["taken_s"],
            fees_total_msat=last["fees_total_msat"],
            fees_collected_msat=collected,
            balance_changes=int(changes["balance_changes"] or 0),
            balance_moved_msat=int(changes["balance_moved_msat"] or 0),
            fee_changes=int(changes["fee_changes"] or 0),
        )

    def prune_observations(self, *, cutoff_s: float) -> int:
        """Delete observations older than ``cutoff_s``; returns the observations deleted."""
        with self._transaction() as tx:
            tx.execute(
                "DELETE FROM channel_observations WHERE observation_id IN "
                "(SELECT observation_id FROM observations WHERE taken_s < ?)",
                (cutoff_s,),
            )
            return tx.execute("DELETE FROM observations WHERE taken_s < ?", (cutoff_s,)).rowcount
