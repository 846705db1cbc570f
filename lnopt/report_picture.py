"""The shadow report as a picture: fee income per day with lnopt's fee changes marked, and
each channel's local share over time, drawn from the store alone (the node is not asked)."""

from __future__ import annotations

from pathlib import Path

from lnopt.plot_style import DAY_S, local_share_axes, save, stacked_panels
from lnopt.store import JournalStatus, Store

MAX_CHANNELS_NAMED = 12  # a legend past this many channels says nothing


def write_report_png(store: Store, path: str | Path, *, days: int, now_s: float) -> Path:
    """Write the picture of the last ``days`` days to ``path`` (a PNG)."""
    since_s = now_s - days * DAY_S
    figure, (income_ax, share_ax) = stacked_panels(2)

    income = store.daily_income(since_s=since_s, until_s=now_s)
    income_ax.bar(
        [(day.day_start_s - since_s) / DAY_S for day in income],
        [day.fees_msat / 1000 for day in income],
        width=0.9,
        align="edge",
        color="tab:blue",
        label="fees earned",
    )
    changes = [
        entry
        for entry in store.journal(
            since_s=since_s, statuses=(JournalStatus.DONE, JournalStatus.ROLLED_BACK)
        )
        if entry.created_s <= now_s
    ]
    for kind, color in (("fee change", "tab:green"), ("rollback", "tab:red")):
        times = [
            (e.created_s - since_s) / DAY_S
            for e in changes
            if (e.rollback_of is not None) == (kind == "rollback")
        ]
        for n, day in enumerate(times):
            income_ax.axvline(
                day, color=color, linewidth=1, alpha=0.8, label=f"lnopt {kind}" if n == 0 else None
            )
    income_ax.set_title(f"fee income per day, last {days} days, and lnopt's fee changes")
    income_ax.set_xlabel("day")
    income_ax.set_ylabel("sat")
    income_ax.set_xlim(0, days)
    income_ax.legend(loc="upper left", fontsize="small")

    observed = store.observations(since_s=since_s)
    for scid in sorted(observed):
        seen = [o for o in observed[scid] if o.observed_s <= now_s]
        share_ax.plot(
            [(o.observed_s - since_s) / DAY_S for o in seen],
            [o.local_ratio for o in seen],
            linewidth=0.9,
            alpha=0.8,
            label=scid,
        )
    share_ax.set_xlim(0, days)
    local_share_axes(share_ax, "local share of each channel, as each run saw it")
    if 0 < len(observed) <= MAX_CHANNELS_NAMED:
        share_ax.legend(loc="upper right", fontsize="x-small", ncols=2)
    return save(figure, path)
