"""Interventions' effects on a metric: how large (a distribution) and when (a time shape).

An intervention's **full effect** E is drawn from a distribution — :class:`Normal`,
:class:`LogNormal`, :class:`Triangular` or :class:`Uniform`, built from an estimate's central
value and interval by :func:`distribution` — and reaches the metric along its **time shape**
s(t) (a lag, a step, linear or S-shaped ramp, permanent or decaying, times an overlap factor;
see :class:`InterventionEffect` and :func:`shape_matrix`). The projection
(:mod:`missionboard.analytics.projection`) adds E·s(t) to the counterfactual in each draw.

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
"""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from missionboard.analytics._checks import finite_floats

FloatArray = npt.NDArray[np.float64]
Scores = npt.NDArray[np.float32] | npt.NDArray[np.float64]
Ramp = Literal["step", "linear", "s_curve"]
Persistence = Literal["permanent", "decay"]

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
        finite_floats(self, "mean", "sd")
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
        finite_floats(self, "median", "log_sd")
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
        finite_floats(self, "low", "mode", "high")
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
        finite_floats(self, "low", "high")
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
        finite_floats(self, "overlap", "optimism")
        for name in ("start", "lag", "ramp_periods"):
            object.__setattr__(self, name, operator.index(getattr(self, name)))
        if self.half_life is not None:
            finite_floats(self, "half_life")
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
