"""The baselines at the settings ``sim tune`` found best, registered as ``NAME-tuned``.

Each tool's main setting is its operator's choice; these are the points of its grid
(:data:`lnopt.sim.tuning.GRIDS`) with the highest geometric mean of income on the tuning seeds,
found by :data:`COMMAND` on :data:`DATE` (written by its ``--write``). Re-run it when the
simulator changes, and report the tuned tools on other seeds.
"""

from __future__ import annotations

from lnopt.sim.baselines.settings import register_tuned

COMMAND = (
    "python -m lnopt sim tune --seeds 1-20 --payments 1000 --days 7 --nodes 3000 --workers 2 "
    "--write lnopt/sim/baselines/tuned.py"
)
DATE = "2026-12-02"

TUNED: dict[str, dict[str, str]] = {
    "static": {"fee_ppm": "200"},
    "feeadjuster": {"fee_ppm": "200", "adjustment_method": "soft"},
    "charge-lnd": {"min_fee_ppm": "100", "max_fee_ppm": "300"},
    "lndg": {"start_fee_ppm": "100"},
    "lndmanage": {"target_sat_per_week": "100000"},
}

for _policy, _settings in TUNED.items():
    register_tuned(_policy, _settings)
