"""Power of two-arm trials: minimum detectable effect (MDE) and sample size.

A trial randomises ``n_total`` units — or ``clusters`` clusters of ``cluster_size`` units —
with a share p = r/(1 + r) to treatment for the allocation ratio r = treated : control.
A share ``attrition`` of units is lost before analysis, so m = cluster_size·(1 − attrition)
units per cluster (or n = n_total·(1 − attrition) units) are analysed.

**Continuous outcomes** (SD σ; a baseline covariate explains a share R² of the variance at
both levels). The variance of the estimated effect is

    V = σ²(1 − R²)·DEFF / (N·p(1 − p)),  DEFF = 1 + (m − 1)·ICC,

with N the units analysed (individual designs: m = 1, DEFF = 1). This is Bloom's (2005,
*Learning More from Social Experiments*, ch. 4) MDE variance with R²₁ = R²₂; the design effect
is Donner & Klar's (2000, *Design and Analysis of Cluster Randomization Trials*, ch. 5).
Power against an effect δ is that of the test on the noncentral statistic δ/√V:
``distribution="t"`` (default) uses the noncentral t with df = N − 2 (individual) or
J − 2 (J clusters), one fewer when R² > 0 — the exact power of the two-sample t test as
G*Power and statsmodels' ``TTestIndPower`` compute it, and the cluster-means test of Optimal
Design; ``"normal"`` uses the normal approximation (statsmodels' ``NormalIndPower``).

**Binary outcomes** (control rate p₀, treated rate p₁), normal approximation with the null
variance under the pooled rate p̄ = p·p₁ + (1 − p)·p₀, as R's ``power.prop.test``
(Fleiss, Levin & Paik 2003, eq. 4.14, without continuity correction):

    power = Φ((|p₁ − p₀| − z_{1−α/s}·√(p̄q̄·D)) / √((p₁q₁/N₁ + p₀q₀/N₀)·DEFF)),
    D = DEFF·(1/N₁ + 1/N₀),

plus the (tiny) opposite tail when two-sided; DEFF as above (Hayes & Moulton 2017,
*Cluster Randomised Trials*, ch. 7, use the same inflation).

Sample sizes are solved on a continuous scale, then each arm is rounded up (units, or
clusters), and the result reports the power achieved at the rounded sizes and the unrounded
solution (``exact_size``: analysed units, or clusters, in total).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from scipy import optimize, stats

Distribution = Literal["t", "normal"]


@dataclass(frozen=True, kw_only=True)
class PowerResult:
    """A design and its power: sizes per arm (enrolled, before attrition), the effect it
    detects (outcome units; a risk difference for binary outcomes), and the assumptions.

    ``clusters_*`` and ``cluster_size`` are ``None`` for individual designs;
    ``standardised_effect`` is effect/σ (continuous) and ``None`` for binary outcomes.
    """

    outcome: str
    effect: float
    standardised_effect: float | None
    control_rate: float | None
    treated_rate: float | None
    n_treated: int
    n_control: int
    n_total: int
    n_analysed: float
    clusters_treated: int | None
    clusters_control: int | None
    cluster_size: int | None
    design_effect: float
    power: float
    exact_size: float | None
    alpha: float
    sides: int
    icc: float
    r2: float
    attrition: float
    ratio: float


def _check(*, icc: float, r2: float, attrition: float, ratio: float, alpha: float,
           sides: int, power: float | None = None) -> None:
    for name, value, low, high in (("icc", icc, 0, 1), ("r2", r2, 0, 1),
                                   ("attrition", attrition, 0, 1), ("alpha", alpha, 0, 1)):
        if not (low <= value < high if name != "alpha" else low < value < high):
            raise ValueError(f"{name} must be in [{low}, {high}), not {value}")
    if power is not None and not alpha < power < 1:
        raise ValueError(f"power must be between alpha and 1, not {power}")
    if not ratio > 0:
        raise ValueError(f"ratio (treated : control) must be positive, not {ratio}")
    if sides not in (1, 2):
        raise ValueError("sides must be 1 or 2")


@dataclass(frozen=True)
class _Design:
    """Analysed units N, share treated p, DEFF and df (clusters J − 2 or units N − 2)."""

    analysed: float
    share: float
    deff: float
    df: float
    clusters: float | None
    cluster_size: float | None


def _design(*, n_total: float | None, clusters: float | None, cluster_size: float | None,
            icc: float, r2: float, attrition: float, ratio: float) -> _Design:
    share = ratio / (1 + ratio)
    covariate = 1 if r2 > 0 else 0
    if clusters is not None or cluster_size is not None:
        if clusters is None or cluster_size is None or n_total is not None:
            raise ValueError("a cluster design takes clusters and cluster_size (not n_total)")
        if cluster_size < 1 or clusters <= 2 + covariate:
            raise ValueError("a cluster design needs more than 2 clusters of at least 1 unit")
        kept = cluster_size * (1 - attrition)
        return _Design(analysed=clusters * kept, share=share, deff=1 + (kept - 1) * icc,
                       df=clusters - 2 - covariate, clusters=clusters,
                       cluster_size=cluster_size)
    if n_total is None:
        raise ValueError("give n_total, or clusters and cluster_size")
    if icc:
        raise ValueError("icc applies to cluster designs: give clusters and cluster_size")
    analysed = n_total * (1 - attrition)
    if analysed <= 2 + covariate:
        raise ValueError("too few units to analyse")
    return _Design(analysed=analysed, share=share, deff=1.0, df=analysed - 2 - covariate,
                   clusters=None, cluster_size=None)


def _power_at(noncentrality: float, *, df: float | None, alpha: float, sides: int) -> float:
    """P(reject) for a test statistic with this noncentrality (t on df, or normal)."""
    if df is None:
        z = float(stats.norm.isf(alpha / sides))
        upper = float(stats.norm.sf(z - noncentrality))
        return upper + (float(stats.norm.cdf(-z - noncentrality)) if sides == 2 else 0.0)
    t = float(stats.t.isf(alpha / sides, df))
    upper = float(stats.nct.sf(t, df, noncentrality))
    # The opposite tail P(T′ < −t) = P(T′(−δ) > t); scipy's noncentral t returns NaN or
    # noise out there for large δ, where it is below 1e-12: read that as 0.
    lower = float(stats.nct.sf(t, df, -noncentrality)) if sides == 2 else 0.0
    return upper + (lower if math.isfinite(lower) and lower < 0.5 else 0.0)


def _continuous_se(design: _Design, *, sd: float, r2: float) -> float:
    return sd * math.sqrt((1 - r2) * design.deff
                          / (design.analysed * design.share * (1 - design.share)))


def continuous_power(*, effect: float, n_total: float | None = None,
                     clusters: float | None = None, cluster_size: float | None = None,
                     sd: float = 1.0, icc: float = 0.0, r2: float = 0.0,
                     attrition: float = 0.0, ratio: float = 1.0, alpha: float = 0.05,
                     sides: int = 2, distribution: Distribution = "t") -> float:
    """The power to detect ``effect`` (outcome units) in this design (module docstring)."""
    _check(icc=icc, r2=r2, attrition=attrition, ratio=ratio, alpha=alpha, sides=sides)
    design = _design(n_total=n_total, clusters=clusters, cluster_size=cluster_size, icc=icc,
                     r2=r2, attrition=attrition, ratio=ratio)
    return _power_at(abs(effect) / _continuous_se(design, sd=sd, r2=r2),
                     df=design.df if distribution == "t" else None, alpha=alpha, sides=sides)


def _sizes(total: float, share: float) -> tuple[int, int]:
    """Arms of a total (units or clusters), each rounded up."""
    return math.ceil(total * share - 1e-9), math.ceil(total * (1 - share) - 1e-9)


def _result(*, outcome: str, effect: float, sd: float | None, rates: tuple[float, float] | None,
            design: _Design, power: float, alpha: float, sides: int, icc: float, r2: float,
            attrition: float, ratio: float) -> PowerResult:
    """The result of an MDE: the arms are the given sizes split by the ratio (rounded)."""
    clusters: tuple[int, int] | None = None
    size: int | None = None
    if design.clusters is not None and design.cluster_size is not None:
        clusters = (round(design.clusters * design.share),
                    round(design.clusters * (1 - design.share)))
        size = math.ceil(design.cluster_size)
        nt, nc = clusters[0] * size, clusters[1] * size
    else:
        enrolled = design.analysed / (1 - attrition)
        nt, nc = round(enrolled * design.share), round(enrolled * (1 - design.share))
    return PowerResult(
        outcome=outcome, effect=effect, standardised_effect=None if sd is None else effect / sd,
        control_rate=None if rates is None else rates[0],
        treated_rate=None if rates is None else rates[1], n_treated=nt, n_control=nc,
        n_total=nt + nc, n_analysed=(nt + nc) * (1 - attrition),
        clusters_treated=None if clusters is None else clusters[0],
        clusters_control=None if clusters is None else clusters[1], cluster_size=size,
        design_effect=design.deff, power=power, exact_size=None, alpha=alpha, sides=sides,
        icc=icc, r2=r2, attrition=attrition, ratio=ratio)


def continuous_mde(*, n_total: float | None = None, clusters: float | None = None,
                   cluster_size: float | None = None, sd: float = 1.0, icc: float = 0.0,
                   r2: float = 0.0, attrition: float = 0.0, ratio: float = 1.0,
                   alpha: float = 0.05, power: float = 0.8, sides: int = 2,
                   distribution: Distribution = "t") -> PowerResult:
    """The smallest effect (outcome units) detected with ``power`` in this design.

    MDE = M·√V with M the noncentrality giving the power (≈ z_{1−α/s} + z_{power} for the
    normal; the t version solves the noncentral t exactly).
    """
    _check(icc=icc, r2=r2, attrition=attrition, ratio=ratio, alpha=alpha, sides=sides,
           power=power)
    design = _design(n_total=n_total, clusters=clusters, cluster_size=cluster_size, icc=icc,
                     r2=r2, attrition=attrition, ratio=ratio)
    df = design.df if distribution == "t" else None
    multiplier = float(optimize.brentq(
        lambda nc: _power_at(nc, df=df, alpha=alpha, sides=sides) - power, 0.0, 30.0,
        xtol=1e-12))
    effect = multiplier * _continuous_se(design, sd=sd, r2=r2)
    return _result(outcome="continuous", effect=effect, sd=sd, rates=None, design=design,
                   power=power, alpha=alpha, sides=sides, icc=icc, r2=r2,
                   attrition=attrition, ratio=ratio)


def continuous_sample_size(*, effect: float, cluster_size: float | None = None,
                           sd: float = 1.0, icc: float = 0.0, r2: float = 0.0,
                           attrition: float = 0.0, ratio: float = 1.0, alpha: float = 0.05,
                           power: float = 0.8, sides: int = 2,
                           distribution: Distribution = "t") -> PowerResult:
    """Units (or, with ``cluster_size``, clusters) per arm to detect ``effect`` with
    ``power``; each arm rounded up, enrolment inflated by 1/(1 − attrition)."""
    _check(icc=icc, r2=r2, attrition=attrition, ratio=ratio, alpha=alpha, sides=sides,
           power=power)
    if effect == 0:
        raise ValueError("a zero effect needs an infinite sample")

    def shortfall(size: float) -> float:
        return continuous_power(
            effect=effect, sd=sd, icc=icc, r2=r2, attrition=attrition, ratio=ratio,
            alpha=alpha, sides=sides, distribution=distribution,
            **_size_arguments(size, cluster_size=cluster_size, attrition=attrition)) - power

    exact = _solve(shortfall, low=4.0)
    share = ratio / (1 + ratio)
    arms = _sizes(exact, share)
    sizes = _size_arguments(sum(arms), cluster_size=cluster_size, attrition=attrition)
    achieved = continuous_power(effect=effect, sd=sd, icc=icc, r2=r2, attrition=attrition,
                                ratio=arms[0] / arms[1], alpha=alpha, sides=sides,
                                distribution=distribution, **sizes)
    design = _design(**sizes, icc=icc, r2=r2, attrition=attrition, ratio=ratio)
    return _rounded(outcome="continuous", effect=effect, sd=sd, rates=None, arms=arms,
                    cluster_size=cluster_size, design=design, power=achieved, exact=exact,
                    alpha=alpha, sides=sides, icc=icc, r2=r2, attrition=attrition,
                    ratio=ratio)


def _size_arguments(size: float, *, cluster_size: float | None,
                    attrition: float) -> dict[str, float | None]:
    """The design arguments for ``size`` analysed units, or ``size`` clusters."""
    if cluster_size is not None:
        return {"n_total": None, "clusters": size, "cluster_size": cluster_size}
    return {"n_total": size / (1 - attrition), "clusters": None, "cluster_size": None}


def _solve(function: Callable[[float], float], *, low: float) -> float:
    high = low * 2
    while function(high) < 0:
        high *= 2
        if high > 1e12:
            raise ValueError("no sample size reaches the power: the design cannot detect the "
                             "effect (too large an ICC for the cluster size?)")
    return float(optimize.brentq(function, low, high, xtol=1e-9))


def _rounded(*, outcome: str, effect: float, sd: float | None,
             rates: tuple[float, float] | None, arms: tuple[int, int],
             cluster_size: float | None, design: _Design, power: float, exact: float,
             alpha: float, sides: int, icc: float, r2: float, attrition: float,
             ratio: float) -> PowerResult:
    if cluster_size is not None:
        size = math.ceil(cluster_size)
        nt, nc = arms[0] * size, arms[1] * size
        clusters: tuple[int | None, int | None] = arms
    else:
        nt, nc = (math.ceil(a / (1 - attrition) - 1e-9) for a in arms)
        clusters, size = (None, None), None
    return PowerResult(
        outcome=outcome, effect=effect, standardised_effect=None if sd is None else effect / sd,
        control_rate=None if rates is None else rates[0],
        treated_rate=None if rates is None else rates[1], n_treated=nt, n_control=nc,
        n_total=nt + nc,
        n_analysed=float(sum(arms)) * (1.0 if cluster_size is None
                                       else cluster_size * (1 - attrition)),
        clusters_treated=clusters[0], clusters_control=clusters[1], cluster_size=size,
        design_effect=design.deff, power=power, exact_size=exact, alpha=alpha, sides=sides,
        icc=icc, r2=r2, attrition=attrition, ratio=ratio)


# --------------------------------------------------------------------------------------------
# Binary outcomes
# --------------------------------------------------------------------------------------------


def _check_rate(name: str, rate: float) -> None:
    if not 0 < rate < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, not {rate}")


def binary_power(*, control_rate: float, treated_rate: float, n_total: float | None = None,
                 clusters: float | None = None, cluster_size: float | None = None,
                 icc: float = 0.0, attrition: float = 0.0, ratio: float = 1.0,
                 alpha: float = 0.05, sides: int = 2) -> float:
    """The power of the two-proportion z test in this design (module docstring)."""
    _check(icc=icc, r2=0.0, attrition=attrition, ratio=ratio, alpha=alpha, sides=sides)
    _check_rate("control_rate", control_rate)
    _check_rate("treated_rate", treated_rate)
    design = _design(n_total=n_total, clusters=clusters, cluster_size=cluster_size, icc=icc,
                     r2=0.0, attrition=attrition, ratio=ratio)
    n1, n0 = design.analysed * design.share, design.analysed * (1 - design.share)
    p1, p0 = treated_rate, control_rate
    pooled = design.share * p1 + (1 - design.share) * p0
    null_se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0) * design.deff)
    alt_se = math.sqrt((p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) * design.deff)
    z = float(stats.norm.isf(alpha / sides))
    difference = abs(p1 - p0)
    power = float(stats.norm.cdf((difference - z * null_se) / alt_se))
    if sides == 2:
        power += float(stats.norm.cdf((-difference - z * null_se) / alt_se))
    return power


def binary_mde(*, control_rate: float, n_total: float | None = None,
               clusters: float | None = None, cluster_size: float | None = None,
               icc: float = 0.0, attrition: float = 0.0, ratio: float = 1.0,
               alpha: float = 0.05, power: float = 0.8, sides: int = 2,
               direction: Literal["increase", "decrease"] = "increase") -> PowerResult:
    """The smallest change in the rate (a risk difference) detected with ``power``, upwards
    from ``control_rate`` (or downwards with ``direction="decrease"``)."""
    _check(icc=icc, r2=0.0, attrition=attrition, ratio=ratio, alpha=alpha, sides=sides,
           power=power)
    _check_rate("control_rate", control_rate)
    sign = 1.0 if direction == "increase" else -1.0
    room = (1 - control_rate) if sign > 0 else control_rate

    def shortfall(change: float) -> float:
        return binary_power(control_rate=control_rate, treated_rate=control_rate + sign * change,
                            n_total=n_total, clusters=clusters, cluster_size=cluster_size,
                            icc=icc, attrition=attrition, ratio=ratio, alpha=alpha,
                            sides=sides) - power

    if shortfall(room * (1 - 1e-9)) < 0:
        raise ValueError("even the largest possible change is not detected with this power")
    change = float(optimize.brentq(shortfall, 1e-12, room * (1 - 1e-9), xtol=1e-12))
    design = _design(n_total=n_total, clusters=clusters, cluster_size=cluster_size, icc=icc,
                     r2=0.0, attrition=attrition, ratio=ratio)
    return _result(outcome="binary", effect=sign * change, sd=None,
                   rates=(control_rate, control_rate + sign * change), design=design,
                   power=power, alpha=alpha, sides=sides, icc=icc, r2=0.0,
                   attrition=attrition, ratio=ratio)


def binary_sample_size(*, control_rate: float, treated_rate: float,
                       cluster_size: float | None = None, icc: float = 0.0,
                       attrition: float = 0.0, ratio: float = 1.0, alpha: float = 0.05,
                       power: float = 0.8, sides: int = 2) -> PowerResult:
    """Units (or, with ``cluster_size``, clusters) per arm to detect a change from
    ``control_rate`` to ``treated_rate`` with ``power``; arms rounded up."""
    _check(icc=icc, r2=0.0, attrition=attrition, ratio=ratio, alpha=alpha, sides=sides,
           power=power)
    if treated_rate == control_rate:
        raise ValueError("equal rates need an infinite sample")

    def shortfall(size: float) -> float:
        return binary_power(control_rate=control_rate, treated_rate=treated_rate, icc=icc,
                            attrition=attrition, ratio=ratio, alpha=alpha, sides=sides,
                            **_size_arguments(size, cluster_size=cluster_size,
                                              attrition=attrition)) - power

    exact = _solve(shortfall, low=3.5)
    share = ratio / (1 + ratio)
    arms = _sizes(exact, share)
    sizes = _size_arguments(sum(arms), cluster_size=cluster_size, attrition=attrition)
    achieved = binary_power(control_rate=control_rate, treated_rate=treated_rate, icc=icc,
                            attrition=attrition, ratio=arms[0] / arms[1], alpha=alpha,
                            sides=sides, **sizes)
    design = _design(**sizes, icc=icc, r2=0.0, attrition=attrition, ratio=ratio)
    return _rounded(outcome="binary", effect=treated_rate - control_rate, sd=None,
                    rates=(control_rate, treated_rate), arms=arms, cluster_size=cluster_size,
                    design=design, power=achieved, exact=exact, alpha=alpha, sides=sides,
                    icc=icc, r2=0.0, attrition=attrition, ratio=ratio)
