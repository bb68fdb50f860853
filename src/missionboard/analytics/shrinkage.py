"""Empirical-Bayes shrinkage: estimates for frontline units that allow for chance, and ranks.

A small unit's raw value is noisy; shrinking it towards the centre by as much as its noise
exceeds the real variation between units gives better estimates of its underlying value
(Goldstein and Spiegelhalter, JRSS A 1996;159:385; Marshall and Spiegelhalter, BMJ
1998;316:1701 on IVF league tables). Ranks are reported as intervals, never as points: usually
only the extremes can be told apart.

**Normal** (:func:`normal_shrinkage`; :func:`shrink_funnel` on a funnel's own scale). Unit i
has y_i with standard error s_i; between units the true values vary with variance τ² about μ
(μ given, or the precision-weighted mean Σ(y_i/(s_i² + τ²)) / Σ(1/(s_i² + τ²))). With
B_i = s_i²/(s_i² + τ²) the posterior is N(θ̂_i, V_i): θ̂_i = B_i·μ + (1 − B_i)·y_i,
V_i = (1 − B_i)·s_i², interval θ̂_i ± z_L·√V_i. τ² = 0 puts every unit at μ. μ and τ² are
plugged in (their own uncertainty is not carried). On a funnel the scale is the funnel's
(square root, arcsine or log) and τ² its DerSimonian–Laird estimate; estimates and limits are
transformed back, so they are the values on the indicator's scale.

**Poisson–gamma** (:func:`poisson_gamma`). Observed O_i, expected E_i; the unit's relative
risk λ_i ~ Gamma(α, β) (shape α, rate β), O_i | λ_i ~ Poisson(λ_i·E_i). The posterior is
Gamma(α + O_i, β + E_i): mean (α + O_i)/(β + E_i), a weighted average of O_i/E_i (weight
E_i/(β + E_i)) and the prior mean α/β, with equal-tailed intervals from the gamma quantiles
(which always hold the posterior median, and the mean when the shape α + O_i is 1 or more;
with a tiny shape, a unit with no events under a very vague prior, the skew posterior's mean
can lie beyond its upper quantile).
α and β are estimated by

- ``"moments"`` (Marshall, Appl Stat 1991;40:283): m = ΣO/ΣE, s² = ΣE_i(O_i/E_i − m)²/ΣE,
  v = s² − m/Ē (Ē = ΣE/I); α = m²/v, β = m/v;
- ``"marginal"``: maximum of the negative-binomial marginal likelihood
  Σ[ln Γ(α + O_i) − ln Γ(α) − ln O_i! + α ln(β/(β + E_i)) + O_i ln(E_i/(β + E_i))].

When the data show no variation beyond Poisson (v ≤ 0; or a likelihood that still grows as
α → ∞, that is, one within 10⁻⁶ of its maximum at α = 10⁸) the prior is a point mass at m:
α = β = ∞, every estimate m, every interval [m, m].

**Rank intervals** (:func:`rank_intervals`): ranks (1 = lowest) of each unit in each of many
posterior draws from a seeded generator; the interval at level L runs from the (1 − L)/2
quantile of its lowest possible rank to the (1 + L)/2 quantile of its highest (ties, as with a
point-mass prior, span every tied position).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from missionboard.analytics.funnel import FunnelResult
from missionboard.analytics.intervals import (
    FloatArray,
    Levels,
    as_array,
    as_levels,
    positive_array,
    tails,
    two_sided_z,
)

Estimator = Literal["moments", "marginal"]

#: Posterior draws for rank intervals, unless told otherwise.
RANK_DRAWS = 4_000
#: The largest shape α tried by the marginal likelihood: α = ∞ for practical purposes.
MAX_SHAPE = 1e8
#: The smallest shape α it tries (a flat likelihood must not send the fit to α ≈ 0).
MIN_SHAPE = 1e-6
#: A point-mass prior is chosen when it is within this much log-likelihood of the maximum.
POINT_MASS_TOLERANCE = 1e-6


@dataclass(frozen=True, kw_only=True)
class RankIntervals:
    """Ranks (1 = lowest) from posterior draws: ``lower[j]``, ``upper[j]`` at ``levels[j]``."""

    levels: tuple[float, ...]
    lower: npt.NDArray[np.int64]
    upper: npt.NDArray[np.int64]
    mean: FloatArray
    draws: int

    def __post_init__(self) -> None:
        for array in (self.lower, self.upper, self.mean):
            array.setflags(write=False)


@dataclass(frozen=True, kw_only=True)
class NormalShrinkage:
    """Normal empirical-Bayes estimates; ``weight`` is B_i, the share given to the centre.

    ``estimate``, ``lower`` and ``upper`` are on the indicator's scale; ``posterior_mean`` and
    ``posterior_sd`` on the scale the shrinkage was done on (the funnel's, for
    :func:`shrink_funnel`).
    """

    centre: float
    tau2: float
    weight: FloatArray
    posterior_mean: FloatArray
    posterior_sd: FloatArray
    estimate: FloatArray
    levels: tuple[float, ...]
    lower: FloatArray
    upper: FloatArray

    def __post_init__(self) -> None:
        for array in (self.weight, self.posterior_mean, self.posterior_sd, self.estimate,
                      self.lower, self.upper):
            array.setflags(write=False)

    def rank_intervals(self, *, seed: int, draws: int = RANK_DRAWS,
                       levels: Levels = 0.95) -> RankIntervals:
        """Rank intervals from ``draws`` normal posterior draws (ranks survive the back
        transform, which is increasing)."""
        rng = np.random.default_rng(seed)
        sample = rng.standard_normal((draws, self.posterior_mean.size))
        return rank_intervals(self.posterior_mean + sample * self.posterior_sd, levels=levels)


@dataclass(frozen=True, kw_only=True)
class PoissonGamma:
    """Poisson–gamma estimates of relative risks: posterior Gamma(``shape``, ``rate``)."""

    estimator: Estimator
    alpha: float
    beta: float
    prior_mean: float
    shape: FloatArray
    rate: FloatArray
    estimate: FloatArray
    levels: tuple[float, ...]
    lower: FloatArray
    upper: FloatArray

    def __post_init__(self) -> None:
        for array in (self.shape, self.rate, self.estimate, self.lower, self.upper):
            array.setflags(write=False)

    def rank_intervals(self, *, seed: int, draws: int = RANK_DRAWS,
                       levels: Levels = 0.95) -> RankIntervals:
        """Rank intervals from ``draws`` gamma posterior draws."""
        if math.isinf(self.alpha):
            sample = np.broadcast_to(self.estimate, (draws, self.estimate.size))
        else:
            rng = np.random.default_rng(seed)
            sample = rng.standard_gamma(self.shape, (draws, self.shape.size)) / self.rate
        return rank_intervals(sample, levels=levels)


def normal_shrinkage(y: npt.ArrayLike, se: npt.ArrayLike, *, tau2: float,
                     centre: float | None = None, levels: Levels = 0.95) -> NormalShrinkage:
    """Normal empirical-Bayes estimates θ̂_i = B_i·μ + (1 − B_i)·y_i (module docstring)."""
    values = np.atleast_1d(np.asarray(y, dtype=np.float64))
    s = positive_array(se, "se")
    if values.shape != s.shape:
        raise ValueError("give one standard error for each value")
    if not tau2 >= 0:
        raise ValueError(f"τ² must be zero or more, not {tau2}")
    mean, sd, mu, weight = _normal_posterior(values, s, tau2=tau2, centre=centre)
    levels_ = as_levels(levels)
    half = two_sided_z(levels_) * sd
    return NormalShrinkage(centre=mu, tau2=tau2, weight=weight, posterior_mean=mean,
                           posterior_sd=sd, estimate=mean, levels=levels_, lower=mean - half,
                           upper=mean + half)


def shrink_funnel(result: FunnelResult, *, levels: Levels = 0.95) -> NormalShrinkage:
    """Normal shrinkage on a funnel's scale towards its centre, with its τ² (module docstring).

    The funnel's τ² estimate is used whether or not the funnel applied it to its limits; on
    the log scale a unit with no events stays at 0.
    """
    mean, sd, _, weight = _normal_posterior(result.y, result.se, tau2=result.tau2,
                                            centre=result.centre_transformed)
    levels_ = as_levels(levels)
    half = two_sided_z(levels_) * sd
    return NormalShrinkage(centre=result.centre, tau2=result.tau2, weight=weight,
                           posterior_mean=mean, posterior_sd=sd,
                           estimate=result.back_transform(mean), levels=levels_,
                           lower=result.back_transform(mean - half),
                           upper=result.back_transform(mean + half))


def _normal_posterior(y: FloatArray, se: FloatArray, *, tau2: float,
                      centre: float | None) -> tuple[FloatArray, FloatArray, float, FloatArray]:
    variance = se**2
    if centre is None:
        precision = 1.0 / (variance + tau2)
        centre = math.fsum((y * precision).tolist()) / math.fsum(precision.tolist())
    weight = variance / (variance + tau2)
    mean = weight * centre + (1.0 - weight) * y
    return mean, np.sqrt((1.0 - weight) * variance), centre, weight


def poisson_gamma(observed: npt.ArrayLike, expected: npt.ArrayLike, *,
                  estimator: Estimator = "marginal", levels: Levels = 0.95) -> PoissonGamma:
    """Poisson–gamma estimates of each unit's relative risk O/E (module docstring)."""
    o, e = as_array(observed, "observed"), positive_array(expected, "expected")
    if o.shape != e.shape or o.size < 2:
        raise ValueError("give one observed and one expected count for each of two or more "
                         "units")
    if not (np.all(np.isfinite(o)) and np.all(np.isfinite(e))):
        raise ValueError("every unit needs an observed and an expected count")
    if estimator == "moments":
        alpha, beta = moment_prior(o, e)
    elif estimator == "marginal":
        alpha, beta = marginal_prior(o, e)
    else:
        raise ValueError(f"unknown estimator {estimator!r}")
    return _gamma_posterior(o, e, alpha=alpha, beta=beta, estimator=estimator,
                            levels=as_levels(levels))


def moment_prior(observed: FloatArray, expected: FloatArray) -> tuple[float, float]:
    """Marshall's method-of-moments (α, β); (∞, ∞) when v ≤ 0."""
    total_e = math.fsum(expected.tolist())
    m = math.fsum(observed.tolist()) / total_e
    s2 = math.fsum((expected * (observed / expected - m) ** 2).tolist()) / total_e
    v = s2 - m / (total_e / observed.size)
    if v <= 0 or m == 0:
        return math.inf, math.inf
    return m * m / v, m / v


def marginal_prior(observed: FloatArray, expected: FloatArray) -> tuple[float, float]:
    """(α, β) maximising the negative-binomial marginal likelihood; (∞, ∞) without a maximum."""
    m = math.fsum(observed.tolist()) / math.fsum(expected.tolist())
    if m == 0:
        return math.inf, math.inf
    start_alpha, _ = moment_prior(observed, expected)
    start = (math.log(m), math.log(min(start_alpha, 1e3)))

    def negative_log_likelihood(theta: FloatArray) -> float:
        mean, alpha = math.exp(theta[0]), math.exp(theta[1])
        beta = alpha / mean
        # ln(β/(β + E)) = −ln(1 + E/β), computed without forming a ratio that underflows.
        terms = (special.gammaln(alpha + observed) - special.gammaln(alpha)
                 - alpha * np.log1p(expected / beta)
                 + observed * (np.log(expected) - np.log(beta + expected)))
        return -math.fsum(terms.tolist())

    # The shape is bounded below as well as above: with no spread beyond Poisson the
    # likelihood is flat and the optimiser could otherwise wander to α ≈ 0.
    fit = optimize.minimize(negative_log_likelihood, np.asarray(start), method="L-BFGS-B",
                            bounds=[(None, None), (math.log(MIN_SHAPE), math.log(MAX_SHAPE))],
                            options={"ftol": 1e-15, "gtol": 1e-10})
    poisson = negative_log_likelihood(np.asarray([math.log(m), math.log(MAX_SHAPE)]))
    if poisson <= float(fit.fun) + POINT_MASS_TOLERANCE:
        return math.inf, math.inf
    mean, alpha = math.exp(fit.x[0]), math.exp(fit.x[1])
    return alpha, alpha / mean


def _gamma_posterior(o: FloatArray, e: FloatArray, *, alpha: float, beta: float,
                     estimator: Estimator, levels: tuple[float, ...]) -> PoissonGamma:
    if math.isinf(alpha):
        m = math.fsum(o.tolist()) / math.fsum(e.tolist())
        flat = np.full(o.shape, m)
        limits = np.broadcast_to(flat, (len(levels), o.size)).copy()
        return PoissonGamma(estimator=estimator, alpha=alpha, beta=beta, prior_mean=m,
                            shape=np.full(o.shape, math.inf), rate=np.full(o.shape, math.inf),
                            estimate=flat, levels=levels, lower=limits, upper=limits.copy())
    shape, rate = alpha + o, beta + e
    q = tails(levels)
    return PoissonGamma(estimator=estimator, alpha=alpha, beta=beta, prior_mean=alpha / beta,
                        shape=shape, rate=rate, estimate=shape / rate, levels=levels,
                        lower=special.gammaincinv(shape, q) / rate,
                        upper=special.gammaincinv(shape, 1.0 - q) / rate)


def rank_intervals(draws: npt.ArrayLike, *, levels: Levels = 0.95) -> RankIntervals:
    """Rank intervals from posterior draws (draws × units); rank 1 is the lowest value."""
    sample = np.asarray(draws, dtype=np.float64)
    if sample.ndim != 2 or sample.shape[0] < 1:
        raise ValueError("give posterior draws as draws × units")
    levels_ = as_levels(levels)
    lowest = stats.rankdata(sample, method="min", axis=1)
    highest = stats.rankdata(sample, method="max", axis=1)
    q = tails(levels_)[:, 0]
    lower = np.quantile(lowest, q, axis=0, method="inverted_cdf")
    upper = np.quantile(highest, 1.0 - q, axis=0, method="inverted_cdf")
    mean = stats.rankdata(sample, method="average", axis=1).mean(axis=0)
    return RankIntervals(levels=levels_, lower=np.asarray(lower, dtype=np.int64),
                         upper=np.asarray(upper, dtype=np.int64), mean=mean,
                         draws=sample.shape[0])
