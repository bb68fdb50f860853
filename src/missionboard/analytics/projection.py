"""Monte Carlo projection of a metric's path: the counterfactual plus interventions' effects.

The **projected path** (Barber, *Instruction to Deliver*, 2007; Barber, Moffit and Kihn,
*Deliverology 101*, 2011: "plot the trajectory to the goal, and constantly ask whether the
strategy adds up") is, in draw *d* and period *t* (0 is the first period after the history),

    Y[d, t] = C[d, t] + Σᵢ E[d, i] · s[i, t]

- ``C`` is the **counterfactual**: what happens with no new action. Declared (``flat`` at a
  level, ``linear`` with a level and a slope per period) or fitted from history by
  :func:`fit_counterfactual` (flat, linear trend, or a seasonal model), with its own
  uncertainty (see :class:`Counterfactual`).
- ``E[d, i]`` is intervention *i*'s **full effect** in draw *d*, drawn from its distribution
  after the optimism adjustment (see :class:`InterventionEffect`).
- ``s[i, t]`` is its **time shape**: 0 before the start plus the lag, rising to 1 along the
  ramp (a step, linear or S-shaped), then held (permanent) or halving every half-life (decay),
  times the overlap factor (the share of the effect that adds to the others').

The whole draws × periods matrix is one matrix product of the draws × interventions effects and
the interventions × periods shapes, plus the counterfactual draws.

Outputs (:class:`Projection`), with d = +1 when higher is better and −1 when lower is better,
target *y\\** at period *T*:

- per-period quantiles (a fan chart; 10/25/50/75/90% by default; Hyndman and Fan (1996) type 7,
  numpy's ``linear``), the mean path and the standard deviation;
- **probability** of meeting the target, P(d·(Y[·, T] − y\\*) ≥ 0);
- **expected gap** d·(y\\* − mean Y[·, T]): positive is the mean shortfall, negative a surplus;
- **additional effect needed** for a probability *p* (80% by default): the smallest certain
  extra effect Δ (signed like the effects: positive raises the metric) such that at least
  ⌈p·N⌉ of the N draws meet the target: Δ = y\\* − Y₍N−k₎ for higher-is-better and
  Δ = y\\* − Y₍k−1₎ for lower-is-better (order statistics from 0, k = ⌈p·N⌉), or 0 when the
  probability is already at least *p*; Δ is rounded away from zero to a float32 value (the
  precision draws are stored in) and on until the boundary draw plus Δ rounds onto the
  target, so that adding it as a certain effect and re-running reaches *p* exactly;
- **waterfall**: each intervention's mean contribution at *T*, Ē[i]·s[i, T], where Ē[i] is the
  mean of its draws; they sum to the mean path minus the counterfactual's mean at *T*;
- **sensitivity**: for each intervention, the change in probability when its uncertainty is
  removed (its draws all set to Ē[i], the others untouched), p_i − p, and the ranking by
  |p_i − p|; the same for the counterfactual's uncertainty. Removing one intervention's
  uncertainty changes the total at *T* by (Ē[i] − E[d, i])·s[i, T] in each draw, so each
  p_i is a vector operation on the stored draws: no re-simulation.

**Optimism.** Appraisal estimates of effects are systematically too high: government nudge
units' interventions at scale averaged 1.4 percentage points against 8.7 in published academic
trials (DellaVigna and Linos, "RCTs to Scale", *Econometrica* 90(1), 2022, 81–116); HM
Treasury's Green Book supplementary guidance on optimism bias sets the corresponding uplifts for
costs and durations. The caller chooses the factor f > 0 (by the strength of the evidence: the
share of the estimate expected to survive at scale) and passes it as
``InterventionEffect.optimism``; the effect is multiplied by it, E' = f·E: its central value,
its interval and every draw (normal N(f·μ, (f·σ)²); lognormal median f·m with the same log σ;
triangular and uniform limits and mode times f). The relative uncertainty is kept, a
one-signed estimate stays one-signed, and the waterfall scales by f exactly.

**Correlation.** Effects are independent unless a correlation matrix R is given: a Gaussian
copula (Nelsen, *An Introduction to Copulas*, 2nd ed., 2006, §5.3). Each effect is a monotone
transform of one score per draw: a standard normal score Z for normal (μ + σZ) and lognormal
(m·exp(σZ)) effects, a uniform score U for uniform and triangular ones (the inverse CDF). The
interventions that R correlates all take standard normal scores, made correlated by the
Cholesky factor, Z ← L·Z with L·Lᵀ = R (Glasserman, *Monte Carlo Methods in Financial
Engineering*, 2003, §2.3.3), and their uniform and triangular effects use U = Φ(Z). R is the
correlation of the normal scores: exactly the correlation of the effects when both are normal;
for other marginals the rank correlation is (6/π)·arcsin(R/2).

**Seeding and common random numbers.** One integer seed. Intervention *i* draws its scores
from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(1, i)))`` and the counterfactual
from ``SeedSequence(seed, spawn_key=(0,))``: each has its own stream keyed by its position, so
adding an intervention at the end (or changing one) leaves every other intervention's draws and
the counterfactual's unchanged, draw by draw (with a correlation, up to the rounding of the
Cholesky product). The total at the target period is accumulated in float64 in a fixed order
(counterfactual, then interventions by position), so appending an intervention whose draws are
all ≥ 0 can never lower a higher-is-better probability, and appending the additional effect
needed as a certain effect reaches the stated probability exactly. Results are identical for the
same inputs and seed on the same machine and library versions, whatever the number of threads
(each thread works on whole rows or whole columns).

**Precision.** Each effect draw is computed in float32 (numpy's float32 normal and uniform
generators, then the transform; correlated scores in float64) and stored as float32: a relative
rounding of at most u = 2⁻²⁴ ≈ 6·10⁻⁸ per draw, far below the precision of any estimate and of
any Monte Carlo result. Everything else at the target period — the total per draw, probability,
gap, additional effect, waterfall and sensitivity — and the mean path are float64 arithmetic on
the stored draws; the counterfactual is simulated in float64. The fan chart (quantiles and
standard deviation per period) comes from a float32 matrix product (about 3× faster than float64
on the 2-core development machine), whose error against float64 arithmetic on the same draws is
at most (n + 2)·u·max_d (|C[d, t]| + Σᵢ |E[d, i]·s[i, t]|) for n interventions (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002, §3.1); a quantile moves by no
more than the largest error of any draw. For 500 interventions that is at most 3·10⁻⁵ of the
sum of the magnitudes: far inside the Monte Carlo error of a quantile.
"""

from __future__ import annotations

import math
import operator
import os
import statistics
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
Scores = npt.NDArray[np.float32] | npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Ramp = Literal["step", "linear", "s_curve"]
Persistence = Literal["permanent", "decay"]
CounterfactualKind = Literal["flat", "linear", "seasonal"]
NoiseKind = Literal["iid", "random_walk"]

#: Fan-chart quantile levels.
FAN_LEVELS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
#: Steepness k of the S-curve ramp (see :class:`InterventionEffect`).
S_CURVE_STEEPNESS = 10.0


# --------------------------------------------------------------------------------------------
# Effect distributions
# --------------------------------------------------------------------------------------------

def z_for_level(level: float) -> float:
    """The two-sided normal quantile z = Φ⁻¹((1 + level)/2): 1.2816 for 80%, 1.6449 for 90%."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"the interval level must be between 0 and 1, not {level}")
    return statistics.NormalDist().inv_cdf((1.0 + level) / 2.0)


def sigma_from_interval(*, low: float, high: float, level: float) -> float:
    """σ of a normal whose central *level* interval is [low, high]: σ = (high − low)/(2z).

    z = Φ⁻¹((1 + level)/2) (:func:`z_for_level`). An asymmetric interval gives the σ of its
    average half-width; use :class:`LogNormal` or :class:`Triangular` for skewed estimates.
    """
    if high < low:
        raise ValueError(f"the interval is reversed: low {low} > high {high}")
    return (high - low) / (2.0 * z_for_level(level))


@dataclass(frozen=True, kw_only=True)
class Normal:
    """Normal full effect N(mean, sd²). ``sd=0`` is a certain effect."""

    mean: float
    sd: float = 0.0

    def __post_init__(self) -> None:
        _floats(self, "mean", "sd")
        if self.sd < 0:
            raise ValueError("the standard deviation cannot be negative")

    @classmethod
    def from_interval(cls, *, central: float, low: float, high: float,
                      level: float = 0.8) -> Normal:
        """Central value with a low/high interval at ``level``: σ by :func:`sigma_from_interval`."""
        if not low <= central <= high:
            raise ValueError(f"the central value {central} is outside [{low}, {high}]")
        return cls(mean=central, sd=sigma_from_interval(low=low, high=high, level=level))

    @property
    def central(self) -> float:
        return self.mean

    def adjusted(self, factor: float) -> Normal:
        """The effect times ``factor``: N(f·μ, (f·σ)²)."""
        return replace(self, mean=self.mean * factor, sd=self.sd * factor)

    def fill(self, z: Scores) -> None:
        """Turn standard normal scores ``z`` into effect draws, in place."""
        z *= self.sd
        z += self.mean

    def draw(self, rng: np.random.Generator, out: npt.NDArray[np.float32]) -> None:
        """Fill ``out`` with independent draws from ``rng`` (float32 normal scores)."""
        rng.standard_normal(out=out, dtype=np.float32)
        self.fill(out)


@dataclass(frozen=True, kw_only=True)
class LogNormal:
    """Lognormal full effect: ``median``·exp(``log_sd``·Z), Z standard normal.

    A negative median describes a reduction whose magnitude is lognormal.
    Mean m·exp(σ²/2); standard deviation |m|·exp(σ²/2)·√(exp(σ²) − 1).
    """

    median: float
    log_sd: float

    def __post_init__(self) -> None:
        _floats(self, "median", "log_sd")
        if self.median == 0:
            raise ValueError("a lognormal effect needs a non-zero median")
        if self.log_sd < 0:
            raise ValueError("the log standard deviation cannot be negative")

    @classmethod
    def from_interval(cls, *, central: float, low: float, high: float,
                      level: float = 0.8) -> LogNormal:
        """Median ``central`` and a *level* interval: σ = (ln|b| − ln|a|)/(2z), |a| ≤ |b|.

        All three values must have the same sign (the interval is symmetric in logs).
        """
        values = (low, central, high)
        if not (all(v > 0 for v in values) or all(v < 0 for v in values)):
            raise ValueError("a lognormal's central value and interval must share one sign")
        small, large = sorted(abs(v) for v in (low, high))
        if not small <= abs(central) <= large:
            raise ValueError(f"the central value {central} is outside [{low}, {high}]")
        log_sd = (math.log(large) - math.log(small)) / (2.0 * z_for_level(level))
        return cls(median=central, log_sd=log_sd)

    @property
    def central(self) -> float:
        return self.median

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.log_sd**2 / 2.0)

    @property
    def sd(self) -> float:
        s2 = self.log_sd**2
        return abs(self.median) * math.exp(s2 / 2.0) * math.sqrt(math.expm1(s2))

    def adjusted(self, factor: float) -> LogNormal:
        """The effect times ``factor``: the median times f, the log σ unchanged."""
        return replace(self, median=self.median * factor)

    def fill(self, z: Scores) -> None:
        """Turn standard normal scores ``z`` into effect draws, in place."""
        z *= self.log_sd
        np.exp(z, out=z)
        z *= self.median

    def draw(self, rng: np.random.Generator, out: npt.NDArray[np.float32]) -> None:
        """Fill ``out`` with independent draws from ``rng`` (float32 normal scores)."""
        rng.standard_normal(out=out, dtype=np.float32)
        self.fill(out)


class _InverseCdf:
    """Draws for a distribution defined by its inverse CDF (``fill_uniform``)."""

    def fill_uniform(self, u: Scores) -> None:
        raise NotImplementedError

    def fill(self, z: Scores) -> None:
        """Turn standard normal scores ``z`` into effect draws, in place."""
        special.ndtr(z, out=z)
        self.fill_uniform(z)

    def draw(self, rng: np.random.Generator, out: npt.NDArray[np.float32]) -> None:
        """Fill ``out`` with independent draws from ``rng`` (float32 uniform scores)."""
        rng.random(out=out, dtype=np.float32)
        self.fill_uniform(out)


@dataclass(frozen=True, kw_only=True)
class Triangular(_InverseCdf):
    """Triangular full effect on [low, high] with the given mode.

    Inverse CDF with c = (mode − low)/(high − low): low + √(u·(high − low)(mode − low)) for
    u < c, else high − √((1 − u)(high − low)(high − mode)). Mean (low + mode + high)/3;
    variance (a² + b² + c² − ab − ac − bc)/18.
    """

    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        _floats(self, "low", "mode", "high")
        if not self.low <= self.mode <= self.high:
            raise ValueError("a triangular effect needs low ≤ mode ≤ high")

    @property
    def central(self) -> float:
        return self.mode

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    @property
    def sd(self) -> float:
        a, b, c = self.low, self.mode, self.high
        return math.sqrt(max(0.0, (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0))

    def adjusted(self, factor: float) -> Triangular:
        """The effect times ``factor``: low, mode and high times f."""
        return replace(self, low=self.low * factor, mode=self.mode * factor,
                       high=self.high * factor)

    def fill_uniform(self, u: Scores) -> None:
        """Turn uniform scores ``u`` on [0, 1] into effect draws by the inverse CDF, in place."""
        width = self.high - self.low
        if width == 0:
            u.fill(self.low)
            return
        number = u.dtype.type
        left = u < number((self.mode - self.low) / width)
        # √(u·w·(mode − low)) on the left of the mode, −√((1 − u)·w·(high − mode)) on the right.
        below, above = width * (self.mode - self.low), width * (self.high - self.mode)
        u *= np.where(left, number(below), number(-above))
        u += np.where(left, number(0.0), number(above))
        np.maximum(u, number(0.0), out=u)
        np.sqrt(u, out=u)
        u *= np.where(left, number(1.0), number(-1.0))
        u += np.where(left, number(self.low), number(self.high))


@dataclass(frozen=True, kw_only=True)
class Uniform(_InverseCdf):
    """Uniform full effect on [low, high]: low + (high − low)·Φ(Z). Variance (b − a)²/12."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _floats(self, "low", "high")
        if self.high < self.low:
            raise ValueError("a uniform effect needs low ≤ high")

    @property
    def central(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def mean(self) -> float:
        return self.central

    @property
    def sd(self) -> float:
        return (self.high - self.low) / math.sqrt(12.0)

    def adjusted(self, factor: float) -> Uniform:
        """The effect times ``factor``: low and high times f."""
        return replace(self, low=self.low * factor, high=self.high * factor)

    def fill_uniform(self, u: Scores) -> None:
        """Turn uniform scores ``u`` on [0, 1] into effect draws, in place."""
        u *= self.high - self.low
        u += self.low


Distribution = Normal | LogNormal | Triangular | Uniform


def distribution(
    kind: str, *, central: float | None = None, low: float | None = None,
    high: float | None = None, level: float | None = None,
) -> Distribution:
    """A distribution by name, as an estimate is stored: central value, interval and level.

    ``normal`` and ``lognormal`` take ``central``, ``low``, ``high`` and ``level`` (an interval
    at that level; ``low == high == central`` is a certain normal effect); ``triangular`` takes
    ``low``, ``central`` (the mode) and ``high``; ``uniform`` takes ``low`` and ``high``.
    """
    def need(**values: float | None) -> dict[str, float]:
        missing = [k for k, v in values.items() if v is None]
        if missing:
            raise ValueError(f"a {kind} effect needs {', '.join(missing)}")
        return {k: float(v) for k, v in values.items() if v is not None}

    if kind == "normal":
        return Normal.from_interval(**need(central=central, low=low, high=high, level=level))
    if kind == "lognormal":
        return LogNormal.from_interval(**need(central=central, low=low, high=high, level=level))
    if kind == "triangular":
        p = need(low=low, central=central, high=high)
        return Triangular(low=p["low"], mode=p["central"], high=p["high"])
    if kind == "uniform":
        return Uniform(**need(low=low, high=high))
    raise ValueError(f"unknown distribution {kind!r}: normal, lognormal, triangular or uniform")


# --------------------------------------------------------------------------------------------
# Interventions and their time shapes
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class InterventionEffect:
    """One intervention's effect on the metric over time.

    Time shape s(t), with τ = t − (start + lag) the periods since the effect begins and
    x = τ + 1 the periods it has run, N = ``ramp_periods``, H = ``half_life``:

    - before the effect begins (x ≤ 0): 0;
    - ``step``: 1 from the first period (x ≥ 1);
    - ``linear``: min(1, x/N) — 1/N in the first period, full in the N-th;
    - ``s_curve``: min(1, (σ(k(x/N − ½)) − σ(−k/2)) / (σ(k/2) − σ(−k/2))), the logistic
      σ(v) = 1/(1 + e⁻ᵛ) with k = :data:`S_CURVE_STEEPNESS`, rescaled so that it runs from 0 at
      x = 0 to 1 at x = N (half at x = N/2);
    - ``decay`` multiplies by 2^(−max(0, x − N)/H) once the full effect is reached (x = N;
      N = 1 for a step);
    - everything times ``overlap`` ∈ [0, 1], the share of the effect that adds to the others'
      (a shared-population discount or an interaction factor, chosen by the caller).

    ``start`` is a period index (0 = the first projected period; negative for an intervention
    already under way). ``optimism`` multiplies the effect, E' = f·E (see the module
    docstring).
    """

    effect: Distribution
    start: int = 0
    lag: int = 0
    ramp: Ramp = "step"
    ramp_periods: int = 1
    persistence: Persistence = "permanent"
    half_life: float | None = None
    overlap: float = 1.0
    optimism: float = 1.0

    def __post_init__(self) -> None:
        _floats(self, "overlap", "optimism")
        for name in ("start", "lag", "ramp_periods"):
            object.__setattr__(self, name, operator.index(getattr(self, name)))
        if self.half_life is not None:
            _floats(self, "half_life")
        if self.lag < 0:
            raise ValueError("the lag cannot be negative")
        if self.ramp not in ("step", "linear", "s_curve"):
            raise ValueError(f"unknown ramp {self.ramp!r}: step, linear or s_curve")
        if self.ramp_periods < 1:
            raise ValueError("a ramp lasts at least one period")
        if self.persistence not in ("permanent", "decay"):
            raise ValueError(f"unknown persistence {self.persistence!r}: permanent or decay")
        if self.persistence == "decay" and not (self.half_life and self.half_life > 0):
            raise ValueError("a decaying effect needs a positive half-life")
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError("the overlap factor must be between 0 and 1")
        if not (math.isfinite(self.optimism) and self.optimism > 0):
            raise ValueError("the optimism factor must be positive")

    @property
    def adjusted_effect(self) -> Distribution:
        """The effect distribution after the optimism adjustment."""
        return self.effect.adjusted(self.optimism) if self.optimism != 1.0 else self.effect

    def shape(self, periods: int) -> FloatArray:
        """s(t) for t = 0 … periods − 1 (see the class docstring)."""
        return np.asarray(shape_matrix([self], periods)[0], dtype=np.float64)


def _logistic(v: FloatArray | float) -> FloatArray:
    return np.asarray(special.expit(v), dtype=np.float64)


def shape_matrix(effects: Sequence[InterventionEffect], periods: int) -> FloatArray:
    """The interventions × periods matrix of time shapes s[i, t] (vectorised)."""
    n = len(effects)
    if n == 0:
        return np.zeros((0, periods))
    begins = np.array([e.start + e.lag for e in effects], dtype=np.float64)
    ramp_n = np.array([e.ramp_periods if e.ramp != "step" else 1 for e in effects],
                      dtype=np.float64)
    x = np.arange(periods, dtype=np.float64)[None, :] - begins[:, None] + 1.0
    xn = x / ramp_n[:, None]
    k = S_CURVE_STEEPNESS
    low, high = _logistic(-k / 2), _logistic(k / 2)
    s_curve = (_logistic(k * (np.clip(xn, 0.0, 1.0) - 0.5)) - low) / (high - low)
    kinds = np.array([e.ramp for e in effects])
    out = np.where((kinds == "step")[:, None], (x >= 1.0).astype(np.float64),
                   np.where((kinds == "linear")[:, None], np.clip(xn, 0.0, 1.0), s_curve))
    out[x <= 0.0] = 0.0
    out[xn >= 1.0] = 1.0
    half_lives = np.array([e.half_life if e.persistence == "decay" and e.half_life else np.inf
                           for e in effects])
    decaying = np.isfinite(half_lives)
    if decaying.any():
        after_full = np.maximum(0.0, x[decaying] - ramp_n[decaying, None])
        out[decaying] *= np.exp2(-after_full / half_lives[decaying, None])
    out *= np.array([e.overlap for e in effects])[:, None]
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Counterfactual
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Counterfactual:
    """The metric's path with no new action, with its uncertainty.

    C[t] = (a + δa) + (b + δb)·t + season[t mod m] + ε_t,

    where a = ``level`` (the expected value at period 0 without the season), b = ``slope`` per
    period, ``season`` m additive offsets (empty for none; ``season[t mod m]`` applies at period
    t), (δa, δb) a bivariate normal draw of the parameters' error (``level_sd``,
    ``slope_sd``, correlation ``level_slope_correlation``), and ε the period noise with
    standard deviation σ = ``noise_sd``:

    - ``iid``: ε_t independent N(0, σ²) — a value scattered about the trend, as in the
      regression the trend was fitted by;
    - ``random_walk``: ε_t = Σ_{j≤t} η_j with η_j independent N(0, σ²) — the value wanders,
      and its uncertainty grows with the horizon (σ²·(t + 1) at period t).

    Var C[t] = σa² + t²σb² + 2tρσaσb + (σ² for iid, or (t + 1)σ² for a random walk)
    (:meth:`variance`). A declared counterfactual is ``Counterfactual(level=…)`` (flat) or
    ``Counterfactual(level=…, slope=…)`` (linear), certain unless uncertainties are given.
    """

    level: float
    slope: float = 0.0
    season: tuple[float, ...] = ()
    level_sd: float = 0.0
    slope_sd: float = 0.0
    level_slope_correlation: float = 0.0
    noise_sd: float = 0.0
    noise: NoiseKind = "iid"

    def __post_init__(self) -> None:
        _floats(self, "level", "slope", "level_sd", "slope_sd", "level_slope_correlation",
                "noise_sd")
        season = tuple(float(v) for v in self.season)
        _check_finite(**{f"season[{j}]": v for j, v in enumerate(season)})
        object.__setattr__(self, "season", season)
        if min(self.level_sd, self.slope_sd, self.noise_sd) < 0:
            raise ValueError("standard deviations cannot be negative")
        if not -1.0 <= self.level_slope_correlation <= 1.0:
            raise ValueError("a correlation lies between -1 and 1")
        if self.noise not in ("iid", "random_walk"):
            raise ValueError(f"unknown noise {self.noise!r}: iid or random_walk")

    @property
    def is_certain(self) -> bool:
        return self.level_sd == 0 and self.slope_sd == 0 and self.noise_sd == 0

    def mean_path(self, periods: int) -> FloatArray:
        """E C[t] = a + b·t + season[t mod m] for t = 0 … periods − 1."""
        t = np.arange(periods, dtype=np.float64)
        path = self.level + self.slope * t
        if self.season:
            path += np.resize(np.asarray(self.season, dtype=np.float64), periods)
        return path

    def variance(self, periods: int) -> FloatArray:
        """Var C[t] in closed form (see the class docstring)."""
        t = np.arange(periods, dtype=np.float64)
        noise = self.noise_sd**2 * ((t + 1.0) if self.noise == "random_walk" else 1.0)
        return (self.level_sd**2 + t**2 * self.slope_sd**2
                + 2.0 * t * self.level_slope_correlation * self.level_sd * self.slope_sd
                + noise)


def fit_counterfactual(
    history: Sequence[float] | npt.ArrayLike, *, kind: CounterfactualKind = "linear",
    season_length: int = 12, noise: NoiseKind = "iid",
) -> Counterfactual:
    """Fit a counterfactual to equally spaced ``history`` (oldest first, no gaps).

    The projection's period 0 is the period right after the last value (x = 0; the history
    sits at x = −n … −1).

    ``kind="seasonal"`` first removes an additive season estimated by STL (Cleveland et al.,
    "STL: A Seasonal-Trend Decomposition Procedure Based on Loess", *Journal of Official
    Statistics* 6(1), 1990; statsmodels ``STL``, robust) and fits a linear trend to the
    seasonally adjusted values; the last ``season_length`` seasonal values, centred, are the
    season carried forward. ``flat`` and ``linear`` fit the values as they are.

    With ``noise="iid"`` (the default) the trend is an ordinary least-squares fit, the noise is
    independent with the residual standard error σ̂ = √(RSS/(n − p)) (p = 1 for flat, 2 for
    linear, plus m − 1 for the season), and the parameters' error has covariance
    σ̂²(XᵀX)⁻¹; so Var C[t] = σ̂²(1 + xₜᵀ(XᵀX)⁻¹xₜ), the regression prediction variance
    (Hyndman and Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., 2021, §7.6).
    This is the right choice when the values scatter about a trend.

    With ``noise="random_walk"`` the values are taken to wander: ``flat`` is the naive forecast
    (the last value) and ``linear`` the drift forecast (the last value plus the mean change
    b = (y_n − y_1)/(n − 1) per period), with σ̂ from the period-on-period changes Δy
    (naive: σ̂² = ΣΔy²/(n − 1); drift: σ̂² = Σ(Δy − b)²/(n − 2)) and, for the drift,
    δb ~ N(0, σ̂²/(n − 1)); so Var C[t] = σ̂²·h·(1 + h/(n − 1)) at horizon h = t + 1, the drift
    forecast's variance (ibid. §5.5; σ̂²·h for the naive forecast).
    """
    y = np.asarray(history, dtype=np.float64).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError("the history must be finite numbers without gaps")
    if kind not in ("flat", "linear", "seasonal"):
        raise ValueError(f"unknown counterfactual {kind!r}: flat, linear or seasonal")
    if noise not in ("iid", "random_walk"):
        raise ValueError(f"unknown noise {noise!r}: iid or random_walk")
    n = y.size
    season: tuple[float, ...] = ()
    extra_df = 0
    if kind == "seasonal":
        seasonal = _stl_seasonal(y, season_length)
        pattern = seasonal[n - season_length:]
        season = tuple(float(v) for v in pattern - pattern.mean())
        y = y - seasonal
        extra_df = season_length - 1
    trend = kind != "flat"
    if noise == "random_walk":
        return _fit_random_walk(y, drift=trend, season=season)
    return _fit_regression(y, trend=trend, season=season, extra_df=extra_df)


def _stl_seasonal(y: FloatArray, season_length: int) -> FloatArray:
    from statsmodels.tsa.seasonal import STL  # type: ignore[import-untyped]

    if season_length < 2:
        raise ValueError("a season lasts at least two periods")
    if y.size < 2 * season_length + 1:
        raise ValueError(f"a seasonal fit needs more than two seasons of history "
                         f"({2 * season_length + 1} values or more)")
    result = STL(y, period=season_length, robust=True).fit()
    return np.asarray(result.seasonal, dtype=np.float64)


def _fit_regression(y: FloatArray, *, trend: bool, season: tuple[float, ...],
                    extra_df: int) -> Counterfactual:
    n = y.size
    p = 2 if trend else 1
    if n - p - extra_df < 1:
        raise ValueError(f"too little history: {n} values for {p + extra_df} parameters")
    x = np.arange(-n, 0, dtype=np.float64)
    design = np.column_stack([np.ones(n), x]) if trend else np.ones((n, 1))
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coef
    sigma = math.sqrt(float(residuals @ residuals) / (n - p - extra_df))
    cov = sigma**2 * np.linalg.inv(design.T @ design)
    if not trend:
        return Counterfactual(level=float(coef[0]), season=season,
                              level_sd=math.sqrt(cov[0, 0]), noise_sd=sigma)
    level_sd, slope_sd = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    corr = float(cov[0, 1] / (level_sd * slope_sd)) if level_sd * slope_sd > 0 else 0.0
    return Counterfactual(level=float(coef[0]), slope=float(coef[1]), season=season,
                          level_sd=level_sd, slope_sd=slope_sd,
                          level_slope_correlation=float(np.clip(corr, -1.0, 1.0)),
                          noise_sd=sigma, noise="iid")


def _fit_random_walk(y: FloatArray, *, drift: bool, season: tuple[float, ...]) -> Counterfactual:
    n = y.size
    changes = np.diff(y)
    if not drift:
        if n < 2:
            raise ValueError("a random walk needs at least two values")
        sigma = math.sqrt(float(changes @ changes) / changes.size)
        return Counterfactual(level=float(y[-1]), season=season, noise_sd=sigma,
                              noise="random_walk")
    if n < 3:
        raise ValueError("a random walk with drift needs at least three values")
    b = float(changes.mean())
    dev = changes - b
    sigma = math.sqrt(float(dev @ dev) / (changes.size - 1))
    slope_sd = sigma / math.sqrt(changes.size)
    # Period 0 is one step on: level = y_n + b, so its error is the drift's (correlation 1).
    return Counterfactual(level=float(y[-1]) + b, slope=b, season=season, level_sd=slope_sd,
                          slope_sd=slope_sd, level_slope_correlation=1.0, noise_sd=sigma,
                          noise="random_walk")


# --------------------------------------------------------------------------------------------
# The projection
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Projection:
    """The result of :func:`project`; arrays are read-only.

    - ``quantiles[j, t]``: the ``quantile_levels[j]`` quantile at period t (the fan chart);
      ``mean``, ``sd`` and ``counterfactual_mean``: per period;
    - ``probability``: the share of draws meeting the target at ``target_period``;
    - ``expected_gap``: d·(target − mean at the target period), positive for a shortfall and
      negative for a surplus (d = +1 when higher is better, −1 when lower is better);
    - ``additional_effect_needed``: the certain extra effect, signed like the effects, that
      brings the probability to ``required_probability``; 0 when it is already reached;
    - ``contributions[i]``: intervention i's mean effect at the target period (the waterfall);
    - ``sensitivity[i]``: p_i − p, the change in probability when intervention i's uncertainty
      is removed; ``counterfactual_sensitivity`` the same for the counterfactual's;
      ``sensitivity_ranking``: the interventions' indexes by decreasing |p_i − p|.

    Per-intervention arrays follow the order of the effects given to :func:`project`.
    """

    periods: int
    draws: int
    quantile_levels: tuple[float, ...]
    quantiles: FloatArray
    mean: FloatArray
    sd: FloatArray
    counterfactual_mean: FloatArray
    target_value: float
    target_period: int
    higher_is_better: bool
    probability: float
    required_probability: float
    expected_gap: float
    additional_effect_needed: float
    contributions: FloatArray
    sensitivity: FloatArray
    counterfactual_sensitivity: float
    sensitivity_ranking: tuple[int, ...]

    def quantile(self, level: float) -> FloatArray:
        """The fan-chart path at one of ``quantile_levels``."""
        for j, q in enumerate(self.quantile_levels):
            if math.isclose(q, level):
                return np.asarray(self.quantiles[j], dtype=np.float64)
        raise KeyError(f"{level} is not one of the fan-chart levels {self.quantile_levels}")

    @property
    def mean_at_target(self) -> float:
        return float(self.mean[self.target_period])


def project(
    *, counterfactual: Counterfactual, effects: Sequence[InterventionEffect], periods: int,
    target_value: float, target_period: int, higher_is_better: bool, seed: int,
    draws: int = 10_000, correlation: npt.ArrayLike | None = None,
    required_probability: float = 0.8, quantile_levels: Sequence[float] = FAN_LEVELS,
    threads: int | None = None,
) -> Projection:
    """Monte Carlo projection of the metric's path (formulas in the module docstring).

    ``periods`` periods from 0; ``target_period`` is the deadline's index. ``correlation`` is
    an optional n × n correlation matrix of the effects' normal scores (positive definite).
    ``threads`` (default: the CPUs this process may use) splits the work; the results do not
    depend on it.
    """
    _check_arguments(periods=periods, target_period=target_period, draws=draws, seed=seed,
                     required_probability=required_probability, levels=quantile_levels)
    _check_finite(target_value=target_value)
    copula = _copula(correlation, len(effects))
    shapes = shape_matrix(effects, periods)
    workers = max(1, threads if threads is not None else _cpus())
    sign = 1.0 if higher_is_better else -1.0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        future = pool.submit(_simulate_counterfactual, counterfactual, seed=seed, draws=draws,
                             periods=periods)
        sim = _Draws.generate([e.adjusted_effect for e in effects], seed=seed, draws=draws,
                              copula=copula, pool=pool, workers=workers)
        baseline = future.result()
        quantiles, sd = _fan_chart(sim, shapes, baseline, levels=quantile_levels, pool=pool,
                                   workers=workers)
        at_target = shapes[:, target_period]
        total = _total_at(sim, at_target, baseline[target_period], pool=pool, workers=workers)
        margin = sign * (total - target_value)  # ≥ 0: the draw meets the target
        met = int(np.count_nonzero(margin >= 0))
        met_without = _met_without_uncertainty(sim, at_target, margin, sign=sign, met=met,
                                               pool=pool, workers=workers)
    baseline_at_target = baseline[target_period]
    baseline_margin = margin - sign * (baseline_at_target - baseline_at_target.mean())
    counterfactual_mean = np.asarray(baseline.mean(axis=1), dtype=np.float64)
    mean = counterfactual_mean + sim.means @ shapes
    probability = met / draws
    sensitivity = met_without / draws - probability
    return Projection(
        periods=periods, draws=draws, quantile_levels=tuple(float(q) for q in quantile_levels),
        quantiles=_frozen(quantiles), mean=_frozen(mean), sd=_frozen(sd),
        counterfactual_mean=_frozen(counterfactual_mean),
        target_value=float(target_value), target_period=target_period,
        higher_is_better=higher_is_better, probability=probability,
        required_probability=required_probability,
        expected_gap=float(sign * (target_value - mean[target_period])),
        additional_effect_needed=_additional_effect(
            total, target_value=target_value, higher_is_better=higher_is_better,
            required_probability=required_probability),
        contributions=_frozen(sim.means * at_target), sensitivity=_frozen(sensitivity),
        counterfactual_sensitivity=np.count_nonzero(baseline_margin >= 0) / draws
        - probability,
        sensitivity_ranking=tuple(int(i) for i in
                                  np.argsort(-np.abs(sensitivity), kind="stable")),
    )


#: The target-period total is accumulated over blocks of this many draws (cache-sized).
_BLOCK = 16_384


@dataclass(frozen=True)
class _Draws:
    """Interventions × draws effects (stored as float32) and each row's float64 mean."""

    effects: npt.NDArray[np.float32]
    means: FloatArray

    @classmethod
    def generate(cls, distributions: Sequence[Distribution], *, seed: int, draws: int,
                 copula: tuple[IntArray, FloatArray] | None, pool: ThreadPoolExecutor,
                 workers: int) -> _Draws:
        """Row i from its own stream, SeedSequence(seed, spawn_key=(1, i)) (module docstring)."""
        n = len(distributions)
        sim = cls(np.empty((n, draws), dtype=np.float32), np.empty(n))
        involved = copula[0] if copula is not None else np.empty(0, dtype=np.intp)
        in_copula = set(involved.tolist())
        scores = np.empty((involved.size, draws))

        def stream(i: int) -> np.random.Generator:
            return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, i)))

        def independent_rows(rows: range) -> None:
            for i in rows:
                if i not in in_copula:
                    distributions[i].draw(stream(i), sim.effects[i])
                    sim.means[i] = sim.effects[i].mean(dtype=np.float64)

        def copula_scores(rows: range) -> None:
            for j in rows:
                stream(int(involved[j])).standard_normal(out=scores[j])

        def copula_rows(rows: range) -> None:
            for j in rows:
                i = int(involved[j])
                distributions[i].fill(scores[j])
                sim.effects[i] = scores[j]
                sim.means[i] = sim.effects[i].mean(dtype=np.float64)

        if copula is not None:
            _run(pool, copula_scores, _chunks(involved.size, 2 * workers))
            scores = copula[1] @ scores
            _run(pool, copula_rows, _chunks(involved.size, 2 * workers))
        _run(pool, independent_rows, _chunks(n, 4 * workers))
        return sim


def _fan_chart(sim: _Draws, shapes: FloatArray, baseline: FloatArray, *,
               levels: Sequence[float], pool: ThreadPoolExecutor,
               workers: int) -> tuple[FloatArray, FloatArray]:
    """Quantiles and standard deviation per period, from one float32 matrix product."""
    periods = shapes.shape[1]
    paths = shapes.T.astype(np.float32) @ sim.effects  # periods by draws
    paths += baseline
    quantiles = np.empty((len(levels), periods))
    sd = np.empty(periods)

    def rows(block: range) -> None:
        part = paths[block.start:block.stop]
        sd[block.start:block.stop] = np.std(part, axis=1, dtype=np.float64)
        quantiles[:, block.start:block.stop] = _row_quantiles(part, levels)

    _run(pool, rows, _chunks(periods, 2 * workers))
    return quantiles, sd


def _total_at(sim: _Draws, at_target: FloatArray, baseline: FloatArray, *,
              pool: ThreadPoolExecutor, workers: int) -> FloatArray:
    """The target period's total per draw in float64: counterfactual, then each intervention."""
    total = np.array(baseline, dtype=np.float64)
    active = [i for i in range(at_target.size) if at_target[i] != 0.0]

    def columns(block: range) -> None:
        for start in range(block.start, block.stop, _BLOCK):
            stop = min(block.stop, start + _BLOCK)
            part = total[start:stop]
            scratch = np.empty_like(part)
            for i in active:
                np.multiply(sim.effects[i, start:stop], at_target[i], out=scratch,
                            dtype=np.float64)
                part += scratch

    _run(pool, columns, _chunks(total.size, workers))
    return total


def _met_without_uncertainty(sim: _Draws, at_target: FloatArray, margin: FloatArray, *,
                             sign: float, met: int, pool: ThreadPoolExecutor,
                             workers: int) -> FloatArray:
    """For each intervention, the draws meeting the target once its draws are set to its mean.

    Draw d's margin becomes margin_d − d·s_i(T)·(E[d, i] − Ē[i]); no re-simulation.
    """
    counts = np.full(at_target.size, met, dtype=np.float64)
    active = [i for i in range(at_target.size) if at_target[i] != 0.0]

    def rows(block: range) -> None:
        scratch = np.empty(margin.size)
        for k in block:
            i = active[k]
            weight = -sign * at_target[i]
            np.multiply(sim.effects[i], weight, out=scratch, dtype=np.float64)
            scratch += margin
            scratch -= weight * sim.means[i]
            counts[i] = np.count_nonzero(scratch >= 0)

    _run(pool, rows, _chunks(len(active), 4 * workers))
    return counts


def _simulate_counterfactual(counterfactual: Counterfactual, *, seed: int, draws: int,
                             periods: int) -> FloatArray:
    """periods × draws counterfactual values, from the counterfactual's own stream."""
    path = counterfactual.mean_path(periods)
    out = np.empty((periods, draws))
    if counterfactual.is_certain:
        out[:] = path[:, None]
        return out
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    if counterfactual.noise_sd > 0:
        rng.standard_normal(out=out)
        out *= counterfactual.noise_sd
        if counterfactual.noise == "random_walk":
            np.cumsum(out, axis=0, out=out)
    else:
        out.fill(0.0)
    if counterfactual.level_sd > 0 or counterfactual.slope_sd > 0:
        z = rng.standard_normal((2, draws))
        rho = counterfactual.level_slope_correlation
        level_error = counterfactual.level_sd * z[0]
        slope_error = counterfactual.slope_sd * (rho * z[0] + math.sqrt(1.0 - rho * rho) * z[1])
        for t in range(periods):
            out[t] += level_error
            out[t] += t * slope_error
    out += path[:, None]
    return out


def _additional_effect(total: FloatArray, *, target_value: float, higher_is_better: bool,
                       required_probability: float) -> float:
    """Δ such that ⌈p·N⌉ draws of total + Δ meet the target (see the module docstring).

    Δ is rounded away from zero to a float32 value (the precision draws are stored in), and on
    until the boundary draw plus Δ rounds onto the target, so that a certain effect of Δ,
    added and re-run, reaches the probability exactly.
    """
    n = total.size
    k = min(n, max(1, math.ceil(required_probability * n - 1e-9)))
    index = n - k if higher_is_better else k - 1
    boundary = float(np.partition(total, index)[index])
    gap = target_value - boundary
    if (gap <= 0) if higher_is_better else (gap >= 0):
        return 0.0
    toward = np.float32(np.inf if higher_is_better else -np.inf)
    needed = np.float32(gap)
    while (needed < gap) if higher_is_better else (needed > gap):
        needed = np.nextafter(needed, toward)
    while ((boundary + float(needed) < target_value) if higher_is_better
           else (boundary + float(needed) > target_value)):
        needed = np.nextafter(needed, toward)
    return float(needed)


def _row_quantiles(rows: npt.NDArray[np.float32], levels: Sequence[float]) -> FloatArray:
    """Type-7 quantiles of each row (partitioned in place): len(levels) × rows."""
    count = rows.shape[1]
    position = (count - 1) * np.asarray(levels, dtype=np.float64)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, count - 1)
    fraction = position - below
    _partition_at(rows, 0, count, sorted({int(k) for k in (*below, *above)}))
    lower = rows[:, below].astype(np.float64)
    upper = rows[:, above].astype(np.float64)
    return np.asarray((lower + fraction * (upper - lower)).T, dtype=np.float64)


def _partition_at(rows: npt.NDArray[np.float32], start: int, stop: int,
                  kth: list[int]) -> None:
    """Put the order statistics ``kth`` (all within [start, stop)) in place, row by row.

    One index at a time, halving the range: far cheaper than one multi-index partition.
    """
    if not kth:
        return
    middle = len(kth) // 2
    k = kth[middle]
    rows[:, start:stop].partition(k - start, axis=1)
    _partition_at(rows, start, k, kth[:middle])
    _partition_at(rows, k + 1, stop, kth[middle + 1:])


def _copula(correlation: npt.ArrayLike | None, n: int) -> tuple[IntArray, FloatArray] | None:
    """The interventions with a declared correlation and the Cholesky factor of theirs."""
    if correlation is None:
        return None
    matrix = np.asarray(correlation, dtype=np.float64)
    if matrix.shape != (n, n):
        raise ValueError(f"the correlation matrix must be {n} × {n}, not {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or np.any(np.abs(matrix) > 1.0):
        raise ValueError("correlations lie between -1 and 1")
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-12):
        raise ValueError("the correlation matrix must be symmetric")
    if not np.all(np.diag(matrix) == 1.0):
        raise ValueError("the correlation matrix must have ones on its diagonal")
    off_diagonal = matrix - np.eye(n)
    involved = np.flatnonzero(np.any(off_diagonal != 0.0, axis=1))
    if involved.size == 0:
        return None
    try:
        factor = np.linalg.cholesky(matrix[np.ix_(involved, involved)])
    except np.linalg.LinAlgError:
        raise ValueError("the correlation matrix must be positive definite") from None
    return involved.astype(np.intp), np.asarray(factor, dtype=np.float64)


def _check_arguments(*, periods: int, target_period: int, draws: int, seed: int,
                     required_probability: float, levels: Sequence[float]) -> None:
    if periods < 1:
        raise ValueError("project at least one period")
    if not 0 <= target_period < periods:
        raise ValueError(f"the target period {target_period} is outside 0 … {periods - 1}")
    if draws < 2:
        raise ValueError("use at least two draws")
    if seed < 0:
        raise ValueError("the seed must be a non-negative integer")
    if not 0.0 < required_probability < 1.0:
        raise ValueError("the required probability must be between 0 and 1")
    if not levels or any(not 0.0 <= q <= 1.0 for q in levels):
        raise ValueError("quantile levels lie between 0 and 1")


def _floats(instance: object, *names: str) -> None:
    """Store the named fields of a frozen dataclass as finite Python floats."""
    for name in names:
        value = float(getattr(instance, name))
        _check_finite(**{name: value})
        object.__setattr__(instance, name, value)


def _check_finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value}")


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _chunks(count: int, parts: int) -> list[range]:
    size = max(1, math.ceil(count / max(1, parts)))
    return [range(start, min(count, start + size)) for start in range(0, count, size)]


def _run(pool: ThreadPoolExecutor, work: Callable[[range], object],
         chunks: Iterable[range]) -> None:
    for _ in pool.map(work, chunks):
        pass


def _frozen(array: FloatArray) -> FloatArray:
    out = np.asarray(array, dtype=np.float64)
    out.flags.writeable = False
    return out
