"""Empirical distributions of the public Lightning graph, for generating a Lightning-like one.

Each table is a quantile function: pairs ``(u, value)`` with ``u`` increasing from 0 to 1;
sampling draws ``u`` uniformly and interpolates ``log(value)`` between the two nearest points
(linearly where a value is 0). The points were measured on the 2025-10-25 snapshot in
``/work/shared/data`` (see its README): capacity median 2.06M sat (p10 100k, p90 20M, p99 200M);
enabled directions' fee rate median 100 ppm (p25 1, p75 500, p90 about 2,000), 9.6% at 0 ppm;
base fee 41% zero, 45% exactly 1,000 msat, median 837 msat; CLTV delta median 80. Absurd
outliers of the snapshot (fee rates of 2^31 ppm that disable a direction) are capped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

QuantileTable = Sequence[tuple[float, float]]

CAPACITY_SAT: QuantileTable = (
    (0.0, 20_000),
    (0.05, 20_000),
    (0.08, 52_392),
    (0.10, 100_000),
    (0.15, 200_000),
    (0.20, 400_000),
    (0.25, 550_000),
    (0.30, 1_000_000),
    (0.35, 1_000_000),
    (0.40, 1_450_000),
    (0.45, 2_000_000),
    (0.50, 2_062_500),
    (0.55, 3_000_000),
    (0.60, 4_000_000),
    (0.65, 5_000_000),
    (0.70, 5_120_000),
    (0.75, 9_994_126),
    (0.80, 10_000_000),
    (0.85, 14_000_000),
    (0.90, 20_000_000),
    (0.95, 50_000_000),
    (0.98, 100_000_000),
    (0.99, 200_000_000),
    (0.995, 300_000_000),
    (0.999, 500_000_000),
    (1.0, 800_000_000),
)

FEE_PPM: QuantileTable = (
    (0.0, 0),
    (0.0957, 0),
    (0.0957, 1),
    (0.30, 1),
    (0.35, 10),
    (0.40, 15),
    (0.45, 50),
    (0.50, 100),
    (0.55, 146),
    (0.60, 210),
    (0.65, 350),
    (0.70, 499),
    (0.75, 500),
    (0.80, 850),
    (0.85, 1_000),
    (0.90, 1_996),
    (0.95, 3_000),
    (0.98, 5_000),
    (0.99, 15_000),
    (1.0, 50_000),
)

BASE_FEE_MSAT: QuantileTable = (
    (0.0, 0),
    (0.410, 0),
    (0.410, 1),
    (0.434, 8),
    (0.458, 100),
    (0.482, 500),
    (0.496, 546),
    (0.506, 999),
    (0.506, 1_000),
    (0.952, 1_000),
    (0.952, 1_001),
    (0.964, 2_000),
    (0.976, 7_500),
    (0.988, 200_000),
    (1.0, 1_000_000),
)

CLTV_DELTA: QuantileTable = (
    (0.0, 18),
    (0.05, 34),
    (0.10, 40),
    (0.25, 40),
    (0.45, 80),
    (0.55, 80),
    (0.75, 100),
    (0.90, 144),
    (0.99, 144),
    (1.0, 2_016),
)


def sample(table: QuantileTable, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` integer draws from a quantile table (see the module docstring)."""
    u = rng.random(size)
    return quantile(table, u)


def quantile(table: QuantileTable, u: np.ndarray) -> np.ndarray:
    """The table's values at probabilities ``u``, interpolated log-linearly, as integers."""
    points_u = np.array([p for p, _ in table], dtype=float)
    values = np.array([v for _, v in table], dtype=float)
    right = np.clip(np.searchsorted(points_u, u, side="right"), 1, len(points_u) - 1)
    left = right - 1
    u0, u1 = points_u[left], points_u[right]
    v0, v1 = values[left], values[right]
    width = np.where(u1 > u0, u1 - u0, 1.0)
    t = np.clip((u - u0) / width, 0.0, 1.0)
    positive = (v0 > 0) & (v1 > 0)
    log_mix = np.exp(
        np.log(np.where(positive, v0, 1.0)) * (1 - t) + np.log(np.where(positive, v1, 1.0)) * t
    )
    linear_mix = v0 * (1 - t) + v1 * t
    mixed: np.ndarray = np.rint(np.where(positive, log_mix, linear_mix)).astype(np.int64)
    return mixed
