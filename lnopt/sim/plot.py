"""The comparison as a picture: cumulative fee income per policy, and our channels' liquidity."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from lnopt.sim.compare import Comparison

HOUR_S = 3600.0


def plot(comparison: Comparison, path: str | Path, *, liquidity_of: str = "lnopt") -> Path:
    """Write a PNG: income over time (first seed) and the local ratio of each channel."""
    path = Path(path)
    seed = comparison.params.seeds[0]
    runs = [r for r in comparison.results if r.seed == seed]
    figure, (income_ax, ratio_ax) = plt.subplots(2, 1, figsize=(10, 8), constrained_layout=True)
    for run in runs:
        days = run.series_t_s / (24 * HOUR_S)
        income_ax.plot(days, run.series_income_msat / 1000, label=run.policy, linewidth=1.5)
    income_ax.set_title(f"cumulative fee income (seed {seed})")
    income_ax.set_xlabel("day")
    income_ax.set_ylabel("sat")
    income_ax.legend(loc="upper left", fontsize="small")
    shown = next((r for r in runs if r.policy == liquidity_of), runs[0] if runs else None)
    if shown is not None and shown.series_local_ratio.size:
        days = shown.series_t_s / (24 * HOUR_S)
        ratios = np.asarray(shown.series_local_ratio)
        for j in range(ratios.shape[1]):
            ratio_ax.plot(days, ratios[:, j], linewidth=0.8, alpha=0.7)
        ratio_ax.axhspan(0.0, 0.1, color="red", alpha=0.08)
        ratio_ax.axhspan(0.9, 1.0, color="orange", alpha=0.08)
        ratio_ax.set_title(f"local share of each of our channels under {shown.policy}")
    ratio_ax.set_xlabel("day")
    ratio_ax.set_ylabel("local / capacity")
    ratio_ax.set_ylim(0, 1)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
