"""The report's two pictures as data, for pages that draw them (the LNbits extension): fee
income over time with lnopt's fee changes, and each channel's local balance over time, read
from the store alone (the node is not asked), as :mod:`lnopt.report_picture` draws them.

Fee income comes two ways: per day from the forwards the store holds (Core Lightning, LND), and
as the node's own running fee total at each run (LNbits' ``/info`` reports it; it has no
forwarding history). Amounts stay integer msat; a page works out shares and sats.
"""

from __future__ import annotations

from typing import Any

from lnopt.plot_style import DAY_S
from lnopt.store import JournalStatus, Store


def charts_json(store: Store, *, days: int, now_s: float) -> dict[str, Any]:
    """The last ``days`` days up to ``now_s``."""
    since_s = now_s - days * DAY_S
    changes = store.journal(
        since_s=since_s, statuses=(JournalStatus.DONE, JournalStatus.ROLLED_BACK)
    )
    return {
        "days": days,
        "since": since_s,
        "until": now_s,
        "income_per_day": [
            {"day": day.day_start_s, "fees_msat": day.fees_msat, "forwards": day.forwards}
            for day in store.daily_income(since_s=since_s, until_s=now_s)
        ],
        "node_fee_totals": [
            {"at": at, "fees_total_msat": total} for at, total in store.fee_totals(since_s=since_s)
        ],
        "fee_changes": [
            {
                "at": entry.created_s,
                "id": entry.change_id,
                "batch": entry.batch_id,
                "short_channel_id": entry.short_channel_id,
                "rollback": entry.rollback_of is not None,
                "fee_ppm": entry.new_policy.fee_ppm,
            }
            for entry in reversed(changes)
            if entry.created_s <= now_s
        ],
        "local_balance": {
            scid: [
                {
                    "at": seen.observed_s,
                    "local_msat": seen.local_msat,
                    "capacity_msat": seen.capacity_msat,
                }
                for seen in observed
                if seen.observed_s <= now_s
            ]
            for scid, observed in sorted(store.observations(since_s=since_s).items())
        },
    }
