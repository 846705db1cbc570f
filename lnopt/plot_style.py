"""The look shared by lnopt's pictures (the simulator's comparison and the node's report):
matplotlib without a display, stacked panels, liquidity bands, one resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

DPI = 110
DAY_S = 86_400.0
DEPLETED_RATIO = 0.1
SATURATED_RATIO = 0.9


def stacked_panels(rows: int = 2) -> tuple[Any, Any]:
    """A figure of ``rows`` panels one above the other, and its axes."""
    figure, axes = plt.subplots(rows, 1, figsize=(10, 4 * rows), constrained_layout=True)
    return figure, axes


def local_share_axes(axes: Any, title: str) -> None:
    """Label an axes of local shares: [0, 1], the depleted and saturated bands shaded."""
    axes.axhspan(0.0, DEPLETED_RATIO, color="red", alpha=0.08)
    axes.axhspan(SATURATED_RATIO, 1.0, color="orange", alpha=0.08)
    axes.set_title(title)
    axes.set_xlabel("day")
    axes.set_ylabel("local / capacity")
    axes.set_ylim(0, 1)


def save(figure: Any, path: str | Path) -> Path:
    """Write ``figure`` as a PNG at ``path`` and free it."""
    path = Path(path)
    try:
        figure.savefig(path, dpi=DPI, format="png")
    finally:
        plt.close(figure)
    return path
