"""The comparison as a picture: cumulative fee income per policy, and our channels' liquidity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lnopt.plot_style import DAY_S, local_share_axes, save, stacked_panels
from lnopt.sim.compare import Comparison


def plot(comparison: Comparison, path: str | Path, *, liquidity_of: str = "lnopt") -> Path:
    """Write a PNG: income over time (first seed) and the local ratio of each channel."""
    seed = comparison.params.seeds[0]
    runs = [r for r in comparison.results if r.seed == seed]
    figure, (income_ax, ratio_ax) = stacked_panels(2)
    for run in runs:
        days = run.series_t_s / DAY_S
        income_ax.plot(days, run.series_income_msat / 1000, label=run.policy, linewidth=1.5)
    income_ax.set_title(f"cumulative fee income (seed {seed})")
    income_ax.set_xlabel("day")
    income_ax.set_ylabel("sat")
    income_ax.legend(loc="upper left", fontsize="small")
    shown = next((r for r in runs if r.policy == liquidity_of), runs[0] if runs else None)
    title = "local share of each of our channels"
    if shown is not None and shown.series_local_ratio.size:
        days = shown.series_t_s / DAY_S
        ratios = np.asarray(shown.series_local_ratio)
        for j in range(ratios.shape[1]):
            ratio_ax.plot(days, ratios[:, j], linewidth=0.8, alpha=0.7)
        title += f" under {shown.policy}"
    local_share_axes(ratio_ax, title)
    return save(figure, path)
