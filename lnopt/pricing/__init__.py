"""Pricing: the fee each channel should charge, learned from what the channel showed.

:mod:`~lnopt.pricing.evidence` turns what the store saw (fee spells, payments served and
failed by us) into per-rate evidence; :mod:`~lnopt.pricing.demand` fits a demand curve to it
(an exact Bayesian posterior on a grid); :mod:`~lnopt.pricing.propose` picks the fee by
Thompson sampling, holds it long enough to judge it, moves only on evidence and keeps within a
floor (the liquidity's replacement cost) and a ceiling (below the payers' fee budget cliff).
Pure, like the rest of the engine: the same history gives the same fee in the plugin, the
runner and the simulator.
"""

from lnopt.pricing.propose import PriceProposal, bounds_ppm, pricing_seed, propose_fee

__all__ = ["PriceProposal", "bounds_ppm", "pricing_seed", "propose_fee"]
