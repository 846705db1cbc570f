"""The fee tools operators use today, re-implemented from their published code.

Each module cites the repository, file and commit it follows, lists where it departs from it,
and registers one policy by name; :mod:`~lnopt.sim.baselines.tuned` registers each tool with
its free setting tuned (``NAME-tuned``); it finds them registered, as it is imported last.
"""

from lnopt.sim.baselines import charge_lnd, clboss, feeadjuster, lndg, lndmanage, static, tuned

__all__ = ["charge_lnd", "clboss", "feeadjuster", "lndg", "lndmanage", "static", "tuned"]
