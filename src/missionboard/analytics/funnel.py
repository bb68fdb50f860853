"""Funnel plots: which frontline units lie beyond chance, allowing for over-dispersion.

**Units.** Unit i gives a numerator and a denominator, by ``statistic``:

- ``proportion``: r_i events among n_i, value p_i = r_i/n_i, centre p̄ = Σr/Σn, x-axis n_i;
- ``ratio`` (indirectly standardised, e.g. an SMR): observed O_i and expected E_i, value
  O_i/E_i, centre 1 (the reference), x-axis E_i;
- ``rate``: O_i events in person-time T_i, value O_i/T_i, centre λ̄ = ΣO/ΣT, x-axis T_i. A
  rate is handled as the ratio O_i/E_i with E_i = λ̄·T_i and scaled back by λ̄, so all that is
  said of ratios holds for rates.

Each level L (95% and 99.8% by default; any may be given) has z_L = Φ⁻¹((1 + L)/2) and tail
q = (1 − L)/2.

**Variance-stabilised z-scores** (Spiegelhalter et al., JRSS A 2012;175:1): y_i on a scale
where its standard error s_i depends only on the unit's size, target θ₀ on that scale,
z_i = (y_i − θ₀)/s_i:

- square root (ratios, rates): y = √(O/E), θ₀ = 1, s = 1/(2√E);
- arcsine (proportions): y = asin√(r/n), θ₀ = asin√p̄, s = 1/(2√n);
- log (SHMI): y = ln(O/E), θ₀ = 0, s = 1/√E, so z = √E·ln(O/E).

**Robustifying** with a trim fraction t (10% by default), so that the outliers being looked
for do not inflate the estimate of spread:

- Winsorisation: z below its t-quantile (type 7, as R and numpy) is raised to it, z above its
  (1 − t)-quantile lowered to it; all I units are kept (I′ = I);
- SHMI truncation (NHS Digital): rank z (ties averaged), group g_i = ⌊rank_i·k/(I + 1)⌋ with
  k = 1/t, keep the units with 0 < g_i < k − 1 (I′ of them; groups 0 and 9 for t = 10%).

**Over-dispersion** from the I′ robustified z-scores:

- multiplicative: φ = Σz²/I′; I′φ is tested against χ² on I′ − 1 degrees of freedom when
  the centre is estimated from the data (proportions, rates) and on I′ when it is fixed
  (ratios); adjusted z_i = z_i/√φ; limits θ₀ ± z_L·√φ·s;
- additive random effects (DerSimonian and Laird 1986), over the kept units with
  w_i = 1/s_i²: τ² = max{0, (I′φ − (I′ − 1)) / (Σw − Σw²/Σw)}; adjusted
  z_i = (y_i − θ₀)/√(s_i² + τ²); limits θ₀ ± z_L·√(s² + τ²).

An adjustment is applied only when φ > 1 (FunnelPlotR's rule: under-dispersion never narrows
the limits); ``FunnelResult.adjusted`` says whether it was. Robustifying lowers φ under the
null hypothesis too: null z-scores give φ ≈ 0.68 after 10% Winsorisation (0.8·E[z² | |z| <
1.2816] + 0.2·1.2816²) and ≈ 0.44 after 10% SHMI truncation; like the reference
implementations, no correction is made. φ, its test and τ² are reported by every method,
on the method's scale (the square-root or arcsine scale, Winsorised, for ``phe`` and
``exact``, which never adjust).

**Back to the indicator's scale**, by the inverse transform, so that the limits are exactly
the values at which an adjusted z-score crosses ±z_L: square root, λ·(max(0, ·))² (the
adjusted limits are squared back: FunnelPlotR's ``sr_method = "CQC"`` omits the square,
its issue #33); arcsine, sin²(·) with the angle held in [0, π/2]; log, λ·exp(·); λ is 1 for
ratios and λ̄ for rates.

**Methods** (``method``):

- ``phe`` — the Fingertips method (PHEindicatormethods 2.1.0, ``assign_funnel_significance``
  and ``calculate_funnel_limits``), never adjusted.
  Proportions: the limits are the proportions whose Wilson interval at level L just reaches
  p̄. PHE solves Wilson's quadratic for them; because the Wilson interval is the inversion of
  the score test, the solution is p̄ ± z_L·√(p̄(1 − p̄)/n). Low if p_i is below the lower
  limit, High if above the upper (strictly).
  Ratios and rates: the x-axis is the observed count O. Unit i is High at L when its own
  interval's lower count limit exceeds the expected count, O_L(O_i) > E_i (for rates
  O_L(O_i)/T_i > λ̄), Low when O_U(O_i) < E_i, with the Fingertips count rule (exact χ²
  limits below 10 events, Byar's from 10; :mod:`missionboard.analytics.intervals`). Per unit
  the limits are λ·O_i/O_U(O_i) and λ·O_i/O_L(O_i) by the same rule (∞ when O_L = 0; at
  O = 0 a low unit lies on the lower limit, 0). The lines for drawing use exact limits at
  every O, as PHE's ``calculate_funnel_limits`` does (it bisects the Poisson distribution
  function to about 10⁻⁷; here χ² quantiles): for O ≥ 10 PHE's lines and labels use
  different count limits, Byar's and exact, which differ by up to 1.5% (the 99.8% lower
  limit at O = 10) and by under 0.1% from O = 50.
- ``exact`` — unadjusted exact limits at the expected value: Poisson(E) for ratios and
  rates, Binomial(n, p̄) for proportions. Two conventions (``convention``):
  ``"prediction"`` (the default; Spiegelhalter, Stat Med 2005;24:1185, appendix; recommended
  by Seaton and Manktelow, BMC Med Res Methodol 2012;12:98): with F the distribution
  function, r_p the smallest r with F(r) ≥ p, α = (F(r_p) − p)/(F(r_p) − F(r_p − 1)), the
  limit is (r_p − α)/size for p = q and 1 − q, held in [0, ∞) (proportions [0, 1]);
  ``"ci"`` (CI inversion, FunnelPlotR's unadjusted limits and PHE's): the exact interval of a
  count equal to the expected value, divided by it: Poisson ½χ²_q(2E)/E and
  ½χ²_{1−q}(2E + 2)/E; Binomial the Clopper–Pearson limits of np̄ successes in n.
  CI-inversion limits are monotone in the size. Prediction limits carry the interpolation's
  sawtooth: r_p − α rises continuously with the size but not in proportion to it, so a line
  can turn back by a fraction of one event (less than 1/size on the ratio scale, 1/n on the
  proportion scale). Binomial prediction limits need whole-number n (NaN otherwise).
  High if the value is above the upper limit, Low if below the lower.
- ``shmi`` — NHS Digital's SHMI as FunnelPlotR reproduces it (ratios, rates): log scale, SHMI
  truncation, additive random effects by default; expected counts of ratios rounded to 2
  decimal places first (FunnelPlotR's ``SHMI_rounding = TRUE``). Unadjusted (φ ≤ 1 or
  ``overdispersion="none"``, the Dr Foster banding) it uses exact limits, CI convention.
- ``spiegelhalter`` — Spiegelhalter (2005; 2012): square-root (ratios, rates) or arcsine
  (proportions) scale, Winsorisation, additive random effects by default.

Adjusted or normal-scale methods flag a unit High at L when z_adjusted > z_L and Low when
z_adjusted < −z_L. The label is the highest level crossed: ``"high_99.8"``, ``"high_95"``,
``"not_significant"``, ``"low_95"``, ``"low_99.8"`` (``"high_{100·L}"`` for other levels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from missionboard.analytics.intervals import (
    FloatArray,
    Levels,
    as_array,
    as_levels,
    count_limits,
    poisson_exact_limits,
    positive_array,
    tails,
    two_sided_z,
)

Statistic = Literal["proportion", "rate", "ratio"]
Method = Literal["phe", "exact", "shmi", "spiegelhalter"]
Overdispersion = Literal["none", "multiplicative", "additive"]
Convention = Literal["prediction", "ci"]
Scale = Literal["log", "sqrt", "arcsine"]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

DEFAULT_LEVELS: tuple[float, ...] = (0.95, 0.998)
NOT_SIGNIFICANT = "not_significant"
#: Decimal places to which ``shmi`` rounds expected counts (NHS Digital, FunnelPlotR).
SHMI_EXPECTED_DECIMALS = 2

_DEFAULT_OVERDISPERSION: dict[Method, Overdispersion] = {
    "phe": "none", "exact": "none", "shmi": "additive", "spiegelhalter": "additive",
}


def label(direction: Literal["high", "low"], level: float) -> str:
    """The significance label for crossing a level: ``label("high", 0.998) == "high_99.8"``."""
    return f"{direction}_{level * 100:g}"


@dataclass(frozen=True, kw_only=True)
class FunnelLimits:
    """Control limits over a range of the x-axis: ``lower[j]``, ``upper[j]`` at ``levels[j]``."""

    x: FloatArray
    levels: tuple[float, ...]
    lower: FloatArray
    upper: FloatArray
    centre: float

    def __post_init__(self) -> None:
        for array in (self.x, self.lower, self.upper):
            array.setflags(write=False)


# --------------------------------------------------------------------------------------------
# Scales and limit rules
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Units:
    """The data on a common footing: ``size`` is n (proportions) or E (ratios, rates)."""

    statistic: Statistic
    numerator: FloatArray
    denominator: FloatArray
    centre: float
    size_per_x: float

    @property
    def size(self) -> FloatArray:
        return self.denominator * self.size_per_x

    @property
    def value(self) -> FloatArray:
        return self.numerator / self.denominator

    @property
    def estimated_centre(self) -> bool:
        return self.statistic != "ratio"


@dataclass(frozen=True)
class _Scale:
    name: Scale
    centre: float

    @property
    def target(self) -> float:
        """θ₀ on this scale."""
        if self.name == "arcsine":
            return math.asin(math.sqrt(self.centre))
        return 0.0 if self.name == "log" else 1.0

    def forward(self, numerator: FloatArray, size: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore"):
            if self.name == "log":
                return np.log(numerator / size)
            if self.name == "sqrt":
                return np.sqrt(numerator / size)
            return np.arcsin(np.sqrt(numerator / size))

    def se(self, size: FloatArray) -> FloatArray:
        return 1.0 / np.sqrt(size) if self.name == "log" else 0.5 / np.sqrt(size)

    def back(self, t: FloatArray) -> FloatArray:
        if self.name == "log":
            return self.centre * np.exp(t)
        if self.name == "sqrt":
            return self.centre * np.maximum(t, 0.0) ** 2
        return np.sin(np.clip(t, 0.0, math.pi / 2)) ** 2


LimitRule = Callable[[FloatArray, tuple[float, ...]], tuple[FloatArray, FloatArray]]


def _normal_rule(units: _Units, scale: _Scale, *, phi: float, tau2: float) -> LimitRule:
    def rule(x: FloatArray, levels: tuple[float, ...]) -> tuple[FloatArray, FloatArray]:
        half = two_sided_z(levels) * np.sqrt(phi * scale.se(x * units.size_per_x) ** 2 + tau2)
        return scale.back(scale.target - half), scale.back(scale.target + half)
    return rule


def _exact_rule(units: _Units, convention: Convention) -> LimitRule:
    def rule(x: FloatArray, levels: tuple[float, ...]) -> tuple[FloatArray, FloatArray]:
        size = x * units.size_per_x
        if units.statistic == "proportion":
            return _binomial_limits(size, units.centre, levels, convention)
        lower, upper = _poisson_limits(size, levels, convention)
        return units.centre * lower, units.centre * upper
    return rule


def _phe_rule(units: _Units, *, drawing: bool) -> LimitRule:
    def rule(x: FloatArray, levels: tuple[float, ...]) -> tuple[FloatArray, FloatArray]:
        if units.statistic == "proportion":
            lower, upper = _score_limits(x, units.centre, levels)
            return np.maximum(lower, 0.0), np.minimum(upper, 1.0)
        count_low, count_high = count_limits(x, levels, "exact" if drawing else "phe")
        with np.errstate(divide="ignore", invalid="ignore"):
            upper = np.where(count_low > 0, x / count_low, np.inf)
            return units.centre * x / count_high, units.centre * upper
    return rule


def _score_limits(n: FloatArray, p: float,
                  levels: tuple[float, ...]) -> tuple[FloatArray, FloatArray]:
    """p ± z√(p(1 − p)/n): where a Wilson interval at level L just reaches p."""
    half = two_sided_z(levels) * np.sqrt(p * (1.0 - p) / n)
    return p - half, p + half


def _poisson_limits(mean: FloatArray, levels: tuple[float, ...],
                    convention: Convention) -> tuple[FloatArray, FloatArray]:
    """Exact limits on the ratio scale (divided by the expected count ``mean``)."""
    if convention == "ci":
        lower, upper = poisson_exact_limits(mean, levels)
        return lower / mean, upper / mean
    q = tails(levels)
    return (_interpolated_quantile(q, stats.poisson, mean) / mean,
            _interpolated_quantile(1.0 - q, stats.poisson, mean) / mean)


def _binomial_limits(n: FloatArray, p: float, levels: tuple[float, ...],
                     convention: Convention) -> tuple[FloatArray, FloatArray]:
    q = tails(levels)
    if convention == "prediction":
        return (np.minimum(_interpolated_quantile(q, stats.binom, n, p) / n, 1.0),
                np.minimum(_interpolated_quantile(1.0 - q, stats.binom, n, p) / n, 1.0))
    successes = n * p
    with np.errstate(invalid="ignore"):
        lower = np.where(successes == 0, 0.0,
                         special.betaincinv(successes, n - successes + 1.0, q))
        upper = np.where(successes == n, 1.0,
                         special.betaincinv(successes + 1.0, n - successes, 1.0 - q))
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def _interpolated_quantile(p: FloatArray, distribution: stats.rv_discrete,
                           *parameters: FloatArray | float) -> FloatArray:
    """Spiegelhalter's interpolated quantile r_p − α, held at 0 or above."""
    r = distribution.ppf(p, *parameters)
    at_r, below_r = distribution.cdf(r, *parameters), distribution.cdf(r - 1.0, *parameters)
    alpha = (at_r - p) / (at_r - below_r)
    return np.asarray(np.maximum(r - alpha, 0.0), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Robustifying and over-dispersion
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Dispersion:
    phi: float
    df: int
    p_value: float
    tau2: float
    kept: BoolArray


def winsorise(z: FloatArray, trim: float) -> FloatArray:
    """z held between its ``trim`` and 1 − ``trim`` quantiles (type 7)."""
    low, high = np.quantile(z, [trim, 1.0 - trim])
    return np.clip(z, low, high)


def truncation_kept(z: FloatArray, trim: float) -> BoolArray:
    """SHMI truncation: True for the units kept (groups 0 < g < 1/trim − 1 of the ranks)."""
    if trim == 0:
        return np.ones(z.shape, dtype=np.bool_)
    groups_count = 1.0 / trim
    groups = np.floor(stats.rankdata(z) * groups_count / (z.size + 1))
    return np.asarray((groups > 0) & (groups < groups_count - 1), dtype=np.bool_)


def dispersion(z: FloatArray, se: FloatArray, *,
               estimated_centre: bool) -> tuple[float, int, float, float]:
    """(φ, degrees of freedom, χ² p-value, τ²) from robustified z-scores and their s."""
    kept = z.size
    if kept < 2:
        return math.nan, 0, math.nan, math.nan
    if not np.all(np.isfinite(z)):
        raise ValueError("every unit kept for the over-dispersion estimate needs a finite "
                         "z-score: on the log scale each needs at least one event")
    phi = math.fsum((z * z).tolist()) / kept
    df = kept - 1 if estimated_centre else kept
    p_value = float(special.chdtrc(df, kept * phi))
    weights = 1.0 / se**2
    total = math.fsum(weights.tolist())
    spread = total - math.fsum((weights * weights).tolist()) / total
    excess = kept * phi - (kept - 1)
    tau2 = max(0.0, excess / spread) if spread > 0 else 0.0
    return phi, df, p_value, tau2


def _robust_dispersion(z: FloatArray, se: FloatArray, *, truncate: bool, trim: float,
                       estimated_centre: bool) -> _Dispersion:
    if truncate:
        kept = truncation_kept(z, trim)
        robust = z[kept]
    else:
        kept = np.ones(z.shape, dtype=np.bool_)
        robust = winsorise(z, trim)
    phi, df, p_value, tau2 = dispersion(robust, se[kept], estimated_centre=estimated_centre)
    return _Dispersion(phi=phi, df=df, p_value=p_value, tau2=tau2, kept=kept)


# --------------------------------------------------------------------------------------------
# The funnel
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class FunnelResult:
    """A funnel: per-unit arrays follow the order of the inputs; read-only.

    - ``centre``: p̄, 1 or λ̄; ``x``: each unit's position on the x-axis (n, E or T; for
      ``phe`` ratios and rates the observed count O); ``value``: r/n, O/E or O/T;
    - ``z``: unadjusted z-score on ``scale``; ``z_adjusted``: after the over-dispersion
      adjustment when ``adjusted`` (else equal to ``z``);
    - ``phi``, ``phi_df``, ``phi_p_value``: φ and its χ² test; ``tau2``: τ²; ``kept``: the
      units used to estimate them (after SHMI truncation); NaN with fewer than two;
    - ``lower[j]``, ``upper[j]``: the limits at ``levels[j]`` at each unit's x;
    - ``significance``: the label (see the module docstring);
    - ``y``, ``se``, ``centre_transformed``: y_i, s_i and θ₀ on ``scale`` (for shrinkage);
      :meth:`back_transform` maps that scale back to values.
    """

    statistic: Statistic
    method: Method
    overdispersion: Overdispersion
    adjusted: bool
    convention: Convention | None
    levels: tuple[float, ...]
    trim: float
    centre: float
    phi: float
    phi_df: int
    phi_p_value: float
    tau2: float
    kept: BoolArray
    x: FloatArray
    value: FloatArray
    z: FloatArray
    z_adjusted: FloatArray
    lower: FloatArray
    upper: FloatArray
    significance: StrArray
    scale: Scale
    centre_transformed: float
    y: FloatArray
    se: FloatArray
    _drawing_rule: LimitRule = field(repr=False, compare=False)
    _scale: _Scale = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        for array in (self.kept, self.x, self.value, self.z, self.z_adjusted, self.lower,
                      self.upper, self.significance, self.y, self.se):
            array.setflags(write=False)

    def limits(self, x: npt.ArrayLike | None = None, *, points: int = 100) -> FunnelLimits:
        """The limit lines at x-axis positions ``x`` (by default ``points`` positions spaced
        geometrically across the units' range; whole numbers for proportions and for
        ``phe`` ratios and rates, whose x-axis is a count)."""
        grid = self._grid(points) if x is None else positive_array(x, "x")
        lower, upper = self._drawing_rule(grid, self.levels)
        return FunnelLimits(x=grid, levels=self.levels, lower=lower, upper=upper,
                            centre=self.centre)

    def back_transform(self, t: npt.ArrayLike) -> FloatArray:
        """Values on the indicator's scale from values on ``scale``."""
        return self._scale.back(np.asarray(t, dtype=np.float64))

    def _grid(self, points: int) -> FloatArray:
        if points < 2:
            raise ValueError("draw the limits at two points or more")
        positive = self.x[self.x > 0]
        low = float(positive.min()) if positive.size else 1.0
        grid = np.geomspace(0.9 * low, 1.1 * float(self.x.max(initial=low)), points)
        if self.statistic == "proportion" or self.method == "phe":
            grid = np.unique(np.maximum(np.rint(grid), 1.0))
        return grid


def funnel(numerator: npt.ArrayLike, denominator: npt.ArrayLike, *, statistic: Statistic,
           method: Method = "spiegelhalter", overdispersion: Overdispersion | None = None,
           convention: Convention | None = None, trim: float = 0.1,
           levels: Levels = DEFAULT_LEVELS) -> FunnelResult:
    """Compare units on a funnel plot (see the module docstring for every convention).

    ``numerator``/``denominator``: r and n for proportions, observed O and expected E for
    ratios, O and person-time T for rates. ``overdispersion`` defaults to the method's own
    (``"none"`` for ``phe`` and ``exact``, which accept nothing else; ``"additive"`` for
    ``shmi`` and ``spiegelhalter``). ``convention`` ("prediction" or "ci") applies to the
    exact limits of ``exact`` (default "prediction") and of unadjusted ``shmi`` (default
    "ci"). ``trim`` is the fraction robustified at each end, 0 ≤ trim < 0.5.
    """
    chosen = _check_options(statistic=statistic, method=method, overdispersion=overdispersion,
                            trim=trim)
    resolved = _resolve_convention(method, convention)
    levels_ = tuple(sorted(as_levels(levels)))
    units = _units(numerator, denominator, statistic=statistic, method=method)
    scale = _Scale(_scale_name(statistic, method), units.centre)
    x = units.numerator if method == "phe" and statistic != "proportion" else units.denominator
    y, se = scale.forward(units.numerator, units.size), scale.se(units.size)
    z = _z(y - scale.target, se**2)
    found = _robust_dispersion(z, se, truncate=method == "shmi", trim=trim,
                               estimated_centre=units.estimated_centre)
    adjusted = chosen != "none" and found.phi > 1
    phi = found.phi if adjusted and chosen == "multiplicative" else 1.0
    tau2 = found.tau2 if adjusted and chosen == "additive" else 0.0
    z_adjusted = _z(y - scale.target, phi * se**2 + tau2)
    unit_rule, drawing_rule = _rules(units, scale, method=method, adjusted=adjusted,
                                     convention=resolved, phi=phi, tau2=tau2)
    lower, upper = unit_rule(x, levels_)
    high, low = _crossings(units, method=method, adjusted=adjusted, exact=resolved is not None,
                           z=z_adjusted, lower=lower, upper=upper, levels=levels_)
    return FunnelResult(
        statistic=statistic, method=method, overdispersion=chosen, adjusted=adjusted,
        convention=resolved, levels=levels_, trim=trim, centre=units.centre, phi=found.phi,
        phi_df=found.df, phi_p_value=found.p_value, tau2=found.tau2, kept=found.kept,
        x=x, value=units.value, z=z, z_adjusted=z_adjusted, lower=lower, upper=upper,
        significance=_labels(high, low, levels_), scale=scale.name,
        centre_transformed=scale.target, y=y, se=se, _drawing_rule=drawing_rule,
        _scale=scale,
    )


def _z(difference: FloatArray, variance: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        return np.asarray(difference / np.sqrt(variance), dtype=np.float64)


def _check_options(*, statistic: Statistic, method: Method,
                   overdispersion: Overdispersion | None, trim: float) -> Overdispersion:
    """Validate the options; return the over-dispersion model, the method's by default."""
    if statistic not in ("proportion", "rate", "ratio"):
        raise ValueError(f"unknown statistic {statistic!r}")
    if method not in _DEFAULT_OVERDISPERSION:
        raise ValueError(f"unknown method {method!r}")
    if overdispersion is None:
        overdispersion = _DEFAULT_OVERDISPERSION[method]
    if overdispersion not in ("none", "multiplicative", "additive"):
        raise ValueError(f"unknown over-dispersion model {overdispersion!r}")
    if method in ("phe", "exact") and overdispersion != "none":
        raise ValueError(f"the {method} method has no over-dispersion adjustment")
    if method == "shmi" and statistic == "proportion":
        raise ValueError("the SHMI method is for ratios and rates, not proportions")
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"the trim fraction must be at least 0 and below 0.5, not {trim}")
    return overdispersion


def _resolve_convention(method: Method, convention: Convention | None) -> Convention | None:
    if convention is not None and method not in ("exact", "shmi"):
        raise ValueError(f"the {method} method has no exact-limit convention to choose")
    if convention not in (None, "prediction", "ci"):
        raise ValueError(f"unknown convention {convention!r}")
    if method == "exact":
        return convention or "prediction"
    if method == "shmi":
        return convention or "ci"
    return None


def _scale_name(statistic: Statistic, method: Method) -> Scale:
    if method == "shmi":
        return "log"
    return "arcsine" if statistic == "proportion" else "sqrt"


def _units(numerator: npt.ArrayLike, denominator: npt.ArrayLike, *, statistic: Statistic,
           method: Method) -> _Units:
    top = as_array(numerator, "numerator")
    bottom = positive_array(denominator, "denominator")
    if top.shape != bottom.shape or top.size == 0:
        raise ValueError("give one numerator and one denominator for each unit")
    if not (np.all(np.isfinite(top)) and np.all(np.isfinite(bottom))):
        raise ValueError("every unit needs a numerator and a denominator (no missing values)")
    if statistic == "proportion":
        if np.any(top > bottom):
            raise ValueError("a numerator cannot exceed its denominator in a proportion")
        return _Units(statistic, top, bottom, _total(top) / _total(bottom), 1.0)
    if statistic == "rate":
        centre = _total(top) / _total(bottom)
        if centre == 0:
            raise ValueError("a rate funnel needs at least one event")
        return _Units(statistic, top, bottom, centre, centre)
    if method == "shmi":
        bottom = np.round(bottom, SHMI_EXPECTED_DECIMALS)
        if np.any(bottom == 0):
            raise ValueError("an expected count rounds to 0 at 2 decimal places")
    return _Units(statistic, top, bottom, 1.0, 1.0)


def _total(values: FloatArray) -> float:
    return math.fsum(values.tolist())


def _rules(units: _Units, scale: _Scale, *, method: Method, adjusted: bool,
           convention: Convention | None, phi: float,
           tau2: float) -> tuple[LimitRule, LimitRule]:
    if method == "phe":
        return _phe_rule(units, drawing=False), _phe_rule(units, drawing=True)
    if convention is not None and not adjusted:
        rule = _exact_rule(units, convention)
    else:
        rule = _normal_rule(units, scale, phi=phi, tau2=tau2)
    return rule, rule


def _crossings(units: _Units, *, method: Method, adjusted: bool, exact: bool, z: FloatArray,
               lower: FloatArray, upper: FloatArray,
               levels: tuple[float, ...]) -> tuple[BoolArray, BoolArray]:
    """(high, low): levels × units, whether each unit is beyond each level's limit."""
    if method == "phe":
        return _phe_crossings(units, levels)
    if exact and not adjusted:
        value = units.value
        return value > upper, value < lower
    critical = two_sided_z(levels)
    return z > critical, z < -critical


def _phe_crossings(units: _Units, levels: tuple[float, ...]) -> tuple[BoolArray, BoolArray]:
    if units.statistic == "proportion":
        lower, upper = _score_limits(units.denominator, units.centre, levels)
        return units.value > upper, units.value < lower
    count_low, count_high = count_limits(units.numerator, levels)
    count_low = np.where(units.numerator == 0, 0.0, count_low)
    return (count_low / units.denominator > units.centre,
            count_high / units.denominator < units.centre)


def _labels(high: BoolArray, low: BoolArray, levels: tuple[float, ...]) -> StrArray:
    order = range(len(levels) - 1, -1, -1)
    conditions = [low[j] for j in order] + [high[j] for j in order]
    choices = [label("low", levels[j]) for j in order] + [label("high", levels[j]) for j in order]
    return np.asarray(np.select(conditions, choices, default=NOT_SIGNIFICANT), dtype=np.str_)


# --------------------------------------------------------------------------------------------
# Fingertips line table
# --------------------------------------------------------------------------------------------

#: Rows in the Fingertips line table.
PHE_LINE_POINTS = 100


def phe_funnel_lines(numerator: npt.ArrayLike, denominator: npt.ArrayLike, *,
                     statistic: Statistic, multiplier: float,
                     levels: Levels = DEFAULT_LEVELS) -> FunnelLimits:
    """The Fingertips line table (PHEindicatormethods ``calculate_funnel_limits``, crude rates).

    The x-axis runs over 100 points from max(1, a) to b, each the larger of
    round((b/x_{j−1})^{1/(101 − j)}·x_{j−1}) and x_{j−1} + 1 (101 − (j − 1) for ratios, as
    PHE does), where a = 0 if the largest denominator exceeds twice the smallest, else the
    smallest times 0.95 rounded down to its leading digit, and b is the largest times 1.05
    rounded up to its two leading digits. x is the population for proportions and the
    observed count for ratios and rates (whose a and b are then times λ̄, rounded down and
    up). Limits, times ``multiplier``: proportions p̄ ± z√(p̄(1 − p̄)/x) held in [0, 1]
    (PHE holds them in [0, 100] whatever the multiplier); ratios x/O_U(x) and x/O_L(x);
    rates λ̄·x/O_U(x) and λ̄·x/O_L(x), with exact Poisson count limits. ``centre`` is
    p̄, 1 or λ̄ times the multiplier.
    """
    units = _units(numerator, denominator, statistic=statistic, method="phe")
    low, high = units.denominator.min(), units.denominator.max()
    axis_min = 0.0 if high > 2 * low else _floor_to_leading_digit(low * 0.95)
    axis_max = _ceil_to_two_digits(high * 1.05)
    if statistic == "rate":
        axis_min, axis_max = math.floor(axis_min * units.centre), math.ceil(
            axis_max * units.centre)
    x = _phe_axis(max(1.0, axis_min), axis_max, shift=1 if statistic == "ratio" else 0)
    levels_ = tuple(sorted(as_levels(levels)))
    lower, upper = _phe_rule(units, drawing=True)(x, levels_)
    return FunnelLimits(x=x, levels=levels_, lower=lower * multiplier, upper=upper * multiplier,
                        centre=units.centre * multiplier)


def _phe_axis(first: float, last: float, *, shift: int) -> FloatArray:
    x = [first]
    for j in range(2, PHE_LINE_POINTS + 1):
        step = (last / x[-1]) ** (1.0 / (PHE_LINE_POINTS + 1 - j + shift)) * x[-1]
        x.append(max(float(np.rint(step)), x[-1] + 1.0))
    return np.asarray(x, dtype=np.float64)


def _floor_to_leading_digit(value: float) -> float:
    whole = math.floor(value)
    if whole == 0:
        return 0.0
    unit = 10.0 ** (len(str(whole)) - 1)
    return math.floor(value / unit) * unit


def _ceil_to_two_digits(value: float) -> float:
    whole = math.ceil(value)
    unit = 10.0 ** (len(str(whole)) - 2)
    return math.ceil(value / unit) * unit
