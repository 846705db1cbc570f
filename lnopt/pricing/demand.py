"""A channel's demand curve, learned from its arms: how many payments come at each fee rate.

Payments toward a peer come at a rate that falls as our fee rises past what the other routes to
that peer charge. The model is a logistic demand curve: at fee rate ``p`` payments arrive at
``a * g(p)`` per day, with ``g(p) = 1 / (1 + (p / m) ** s)``: ``m`` is the *choke price* (where
half the demand is lost), ``s`` how sharply it is lost. Income per day at ``p`` is that rate
times the mean payment amount times ``p``.

The posterior is exact on a grid: ``m`` on log-spaced rates (a factor √2 apart), ``s`` in
:data:`STEEPNESS`, and for each pair the scale ``a`` is integrated in closed form (a Gamma prior
is conjugate to the Poisson counts of the arms). The prior of ``m`` is log-normal around the
market price toward the peer (the capacity-weighted median of the other channels there) times
``choke_prior_factor``, with a spread of ``choke_spread`` (a factor): payers who choose us
would pay about that elsewhere. The prior of ``a`` is a Gamma of shape 1 with the channel's own
payment rate as its mean (one pseudo-payment: it sets the scale and hardly weighs). Counts and
exposures are the weighted ones of :mod:`lnopt.pricing.evidence`.

Which of two rates earns more does not depend on ``a``; so the probability that one beats the
other is the posterior weight of the ``(m, s)`` cells where it does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lnopt.pricing.evidence import ChannelEvidence

STEEPNESS = (1.0, 2.0, 4.0, 8.0)
CHOKE_GRID_PPM = tuple(2.0 ** (k / 2) for k in range(0, 29))  # 1 to 16,384 ppm
PRIOR_SHAPE = 1.0
MIN_RATE_PER_DAY = 0.01
MIN_DAYS = 1.0  # the prior's payment rate is read over at least a day


@dataclass(frozen=True)
class DemandPosterior:
    """The posterior over ``(m, s)`` cells, with each cell's Gamma posterior of ``a``."""

    weights: np.ndarray  # (cells,), summing to 1
    choke_ppm: np.ndarray  # (cells,)
    steepness: np.ndarray  # (cells,)
    shape: float  # the Gamma posterior's shape (same in every cell)
    rates: np.ndarray  # (cells,) the Gamma posterior's rate, per day
    mean_amount_msat: int

    def _share(self, fee_ppm: float | np.ndarray) -> np.ndarray:
        """g(p) per cell (rows) and rate (columns)."""
        fee = np.atleast_1d(np.asarray(fee_ppm, dtype=float))
        ratio = fee[None, :] / self.choke_ppm[:, None]
        shares: np.ndarray = 1.0 / (1.0 + ratio ** self.steepness[:, None])
        return shares

    def expected_income_msat_per_day(self, fee_ppm: Sequence[int]) -> np.ndarray:
        """The posterior mean income per day at each rate, in msat (as floats, for ranking)."""
        fees = np.asarray(fee_ppm, dtype=float)
        scale = self.shape / self.rates
        payments_per_day = (self.weights * scale) @ self._share(fees)
        income: np.ndarray = payments_per_day * fees * self.mean_amount_msat / 1_000_000
        return income

    def expected_payments_per_day(self, fee_ppm: int) -> float:
        scale = self.shape / self.rates
        return float((self.weights * scale) @ self._share(fee_ppm)[:, 0])

    def win_probability(self, fee_ppm: int, against_ppm: int) -> float:
        """The posterior probability that ``fee_ppm`` earns more per day than ``against_ppm``."""
        shares = self._share(np.array([fee_ppm, against_ppm], dtype=float))
        wins = shares[:, 0] * fee_ppm > shares[:, 1] * against_ppm
        return float(self.weights[wins].sum())

    def sample_best(self, fee_ppm: Sequence[int], rng: np.random.Generator) -> int:
        """Thompson sampling: the rate that earns most under one draw of the posterior."""
        cell = int(rng.choice(len(self.weights), p=self.weights))
        fees = np.asarray(fee_ppm, dtype=float)
        shares = self._share(fees)[cell]
        return int(fee_ppm[int(np.argmax(shares * fees))])


def fit_demand(
    evidence: ChannelEvidence,
    *,
    market_ppm: int | None,
    choke_spread: float,
    choke_prior_factor: float = 1.0,
) -> DemandPosterior:
    """The posterior of the channel's demand curve given its arms."""
    choke, steep = np.meshgrid(np.array(CHOKE_GRID_PPM), np.array(STEEPNESS), indexing="ij")
    choke, steep = choke.ravel(), steep.ravel()
    centre = choke_prior_factor * (market_ppm if market_ppm else max(1, evidence.current_ppm))
    sigma = math.log(choke_spread)
    log_prior = -0.5 * ((np.log(choke) - math.log(centre)) / sigma) ** 2

    fees = np.array([arm.fee_ppm for arm in evidence.arms], dtype=float)
    days = np.array([arm.days for arm in evidence.arms])
    counts = np.array([arm.payments for arm in evidence.arms])
    total_days, total = float(days.sum()), float(counts.sum())
    prior_rate = PRIOR_SHAPE / max(MIN_RATE_PER_DAY, total / max(total_days, MIN_DAYS))

    shares = 1.0 / (1.0 + (fees[None, :] / choke[:, None]) ** steep[:, None])
    exposure = shares @ days
    shape = PRIOR_SHAPE + total
    rates = prior_rate + exposure
    log_like = np.log(np.maximum(shares, 1e-300)) @ counts - shape * np.log(rates)
    log_post = log_prior + log_like
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    return DemandPosterior(
        weights=weights,
        choke_ppm=choke,
        steepness=steep,
        shape=shape,
        rates=rates,
        mean_amount_msat=evidence.mean_amount_msat or 1,
    )
