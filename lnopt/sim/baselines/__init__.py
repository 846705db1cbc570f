"""The fee tools operators use today, re-implemented from their published code.

Each module cites the repository and file it follows and registers one policy by name.
"""

from lnopt.sim.baselines import charge_lnd, clboss, feeadjuster, lndg, lndmanage, static

__all__ = ["charge_lnd", "clboss", "feeadjuster", "lndg", "lndmanage", "static"]
