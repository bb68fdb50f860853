"""Surveillance over time: risk-adjusted CUSUMs, VLAD and sustained positive deviance.

Every function takes one series (1-D) or many (2-D, series × time) and works on all rows at
once: the only Python loop is over time, as the CUSUM is a recursion. Missing values (NaN)
are "no observation": they add nothing to a CUSUM or a VLAD.

**Risk-adjusted Bernoulli CUSUM** (Steiner, Cook, Farewell & Treasure 2000, Biostatistics
1:441). Patient t has predicted risk pₜ and outcome yₜ ∈ {0, 1}; against the alternative odds
ratio R_A the log-likelihood-ratio weight is

    Wₜ = yₜ·ln R_A − ln(1 − pₜ + R_A·pₜ),    Sₜ = max(0, Sₜ₋₁ + Wₜ),  S₀ = 0,

and the chart signals when Sₜ ≥ h. R_A > 1 (e.g. 2) watches for deterioration; its mirror
R_A < 1 (e.g. 0.5) for improvement — the same recursion, so an improvement CUSUM also rises
towards +h (Steiner's lower chart is its negative).

**Poisson CUSUM** for observed Oₜ against expected Eₜ per period (Spiegelhalter et al. 2012,
JRSS A 175:1): Wₜ = Oₜ·ln ρ₁ − (ρ₁ − 1)·Eₜ for the alternative rate ratio ρ₁ (2 for
deterioration, 0.5 for improvement), with the same recursion.

With ``restart=True`` a chart that signals starts again from zero at the next step.

**Thresholds.** Given, or found by simulation for a target in-control false-alarm rate α: the
probability that a unit performing exactly as expected signals at least once over its whole
series. In-control outcomes are drawn (yₜ ~ Bernoulli(pₜ), Oₜ ~ Poisson(Eₜ)) from one seeded
stream of uniforms shared by every series (common random numbers: a series' threshold does not
depend on the other series), and h is the smallest threshold that at most ⌊α·M⌋ of the M
simulated series reach — just above their (1 − α) quantile of maxₜ Sₜ. Cost O(S·M·T) time
and O(S·M) memory: chunk the series for a national scan.

**VLAD** (variable life-adjusted display; Lovegrove et al. 1997): Vₜ = Σₛ≤ₜ (pₛ − yₛ), the
expected minus observed events ("lives saved"); with counts Σ(Eₛ − Oₛ). It has no threshold:
pair it with a CUSUM.

**Sustained positive deviance** (Bradley et al. 2009, Implement Sci 4:25; spec §3): a unit is
flagged when it lies beyond the over-dispersion-adjusted 99.8% limit in the better direction
in the latest period *and* that is sustained: beyond it in at least ``periods`` consecutive
periods up to the latest (default 2), or its improvement CUSUM signals in the latest period.
The z-scores or limits come from the caller (e.g. the funnel plot's zᴰ), so any funnel method
can feed it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Z_998 = 3.090232306167813
"""Φ⁻¹(0.999): the two-sided 99.8% limit in z units ("3σ" in the funnel-plot literature)."""


@dataclass(frozen=True, kw_only=True)
class Cusum:
    """A CUSUM of one series (1-D arrays, 0-d ``threshold``) or many (series × time).

    ``weights`` are the Wₜ (0 where missing), ``statistic`` the Sₜ, ``threshold`` h per
    series, ``ratio`` the alternative (R_A or ρ₁: above 1 deterioration, below 1 improvement).
    Arrays are read-only.
    """

    weights: FloatArray
    statistic: FloatArray
    threshold: FloatArray
    ratio: float
    restart: bool

    def __post_init__(self) -> None:
        for value in (self.weights, self.statistic, self.threshold):
            value.flags.writeable = False

    @property
    def signals(self) -> BoolArray:
        """Per step: Sₜ ≥ h."""
        signals: BoolArray = self.statistic >= self.threshold[..., np.newaxis]
        return signals

    @property
    def signalling(self) -> BoolArray:
        """Per series: the chart is at or above h at the latest step."""
        return self.signals[..., -1]

    @property
    def first_signal(self) -> IntArray:
        """Per series: the index of the first signal, −1 if none."""
        signals = self.signals
        first: IntArray = np.where(signals.any(axis=-1), np.argmax(signals, axis=-1), -1)
        return first


def bernoulli_cusum(outcomes: npt.ArrayLike, risks: npt.ArrayLike, *, odds_ratio: float = 2.0,
                    threshold: float | npt.ArrayLike | None = None,
                    false_alarm_rate: float = 0.05, simulations: int = 10_000, seed: int = 0,
                    restart: bool = False) -> Cusum:
    """Steiner's risk-adjusted Bernoulli CUSUM of outcomes yₜ ∈ {0, 1} with risks pₜ ∈ (0, 1).

    ``threshold`` h (one, or one per series); if ``None``, simulated for ``false_alarm_rate``
    (:func:`bernoulli_threshold`).
    """
    y, p = _series(outcomes, "outcomes"), _series(risks, "risks")
    _check_bernoulli(y, p, odds_ratio)
    missing = np.isnan(y) | np.isnan(p)
    safe = np.where(missing, 0.5, p)
    w = np.where(missing, 0.0, y * math.log(odds_ratio) - np.log1p((odds_ratio - 1) * safe))
    if threshold is None:
        h = bernoulli_threshold(np.where(missing, np.nan, p), odds_ratio=odds_ratio,
                                false_alarm_rate=false_alarm_rate, simulations=simulations,
                                seed=seed).reshape(-1)
    else:
        h = _given_threshold(threshold, len(y))
    return _cusum(w, h, ratio=odds_ratio, restart=restart, shape=np.shape(outcomes))


def poisson_cusum(observed: npt.ArrayLike, expected: npt.ArrayLike, *, rate_ratio: float = 2.0,
                  threshold: float | npt.ArrayLike | None = None,
                  false_alarm_rate: float = 0.05, simulations: int = 10_000, seed: int = 0,
                  restart: bool = False) -> Cusum:
    """Poisson CUSUM of observed counts Oₜ against expected Eₜ (e.g. monthly O/E).

    ``threshold`` h (one, or one per series); if ``None``, simulated for ``false_alarm_rate``
    (:func:`poisson_threshold`).
    """
    o, e = _series(observed, "observed"), _series(expected, "expected")
    _check_poisson(o, e, rate_ratio)
    missing = np.isnan(o) | np.isnan(e)
    w = np.where(missing, 0.0, o * math.log(rate_ratio) - (rate_ratio - 1) * e)
    if threshold is None:
        h = poisson_threshold(np.where(missing, np.nan, e), rate_ratio=rate_ratio,
                              false_alarm_rate=false_alarm_rate, simulations=simulations,
                              seed=seed).reshape(-1)
    else:
        h = _given_threshold(threshold, len(o))
    return _cusum(w, h, ratio=rate_ratio, restart=restart, shape=np.shape(observed))


def bernoulli_threshold(risks: npt.ArrayLike, *, odds_ratio: float = 2.0,
                        false_alarm_rate: float = 0.05, simulations: int = 10_000,
                        seed: int = 0) -> FloatArray:
    """h for Bernoulli CUSUMs of these risk sequences (NaN: no patient), one per series."""
    p = _series(risks, "risks")
    _check_bernoulli(np.zeros_like(p), p, odds_ratio)
    missing = np.isnan(p)
    log_ratio = math.log(odds_ratio)
    base = np.where(missing, 0.0, -np.log1p((odds_ratio - 1) * np.where(missing, 0.5, p)))

    def step(uniforms: FloatArray, t: int) -> FloatArray:
        events = uniforms[np.newaxis, :] < p[:, t, np.newaxis]  # NaN risk: no event
        weights: FloatArray = np.where(events, log_ratio, 0.0) + base[:, t, np.newaxis]
        return weights

    h = _simulated_threshold(step, p.shape, false_alarm_rate=false_alarm_rate,
                             simulations=simulations, seed=seed)
    return h.reshape(np.shape(risks)[:-1])


def poisson_threshold(expected: npt.ArrayLike, *, rate_ratio: float = 2.0,
                      false_alarm_rate: float = 0.05, simulations: int = 10_000,
                      seed: int = 0) -> FloatArray:
    """h for Poisson CUSUMs with these expected counts (NaN: no period), one per series."""
    e = _series(expected, "expected")
    _check_poisson(np.zeros_like(e), e, rate_ratio)
    missing = np.isnan(e)
    safe = np.where(missing, 0.0, e)  # E = 0 draws O = 0 and weighs 0
    log_ratio = math.log(rate_ratio)

    def step(uniforms: FloatArray, t: int) -> FloatArray:
        counts = _poisson_quantiles(uniforms, safe[:, t])
        weights: FloatArray = counts * log_ratio - (rate_ratio - 1) * safe[:, t, np.newaxis]
        return weights

    h = _simulated_threshold(step, e.shape, false_alarm_rate=false_alarm_rate,
                             simulations=simulations, seed=seed)
    return h.reshape(np.shape(expected)[:-1])


def vlad(observed: npt.ArrayLike, expected: npt.ArrayLike) -> FloatArray:
    """Vₜ = Σₛ≤ₜ (expected − observed), along the last axis; missing steps add nothing."""
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if o.shape != e.shape or o.ndim not in (1, 2):
        raise ValueError("observed and expected must have the same 1-D or 2-D shape")
    difference = e - o
    total: FloatArray = np.cumsum(np.where(np.isnan(difference), 0.0, difference), axis=-1)
    return total


@dataclass(frozen=True, slots=True)
class DeviantUnit:
    """A flagged unit: ``excess`` beyond the limit in the latest period, ``least_excess`` the
    smallest over the run of ``periods`` consecutive periods beyond it up to the latest, and
    what confirmed it (the run, the improvement CUSUM, or both)."""

    unit: int
    excess: float
    least_excess: float
    periods: int
    by_run: bool
    by_cusum: bool


@dataclass(frozen=True, kw_only=True)
class PositiveDeviance:
    """Sustained positive deviance of many units (each array one entry per unit, read-only).

    ``excess``: the latest period's distance beyond the better-direction limit (negative
    inside it, NaN if missing), in z units or the indicator's units as given; ``run_length``:
    consecutive periods beyond it up to the latest; ``least_excess``: the smallest excess over
    that run (NaN for no run); ``cusum_signal``: the improvement CUSUM signals now.
    """

    flagged: BoolArray
    excess: FloatArray
    least_excess: FloatArray
    run_length: IntArray
    cusum_signal: BoolArray

    def __post_init__(self) -> None:
        for value in vars(self).values():
            value.flags.writeable = False

    def units(self, *, periods: int = 2) -> tuple[DeviantUnit, ...]:
        """The flagged units, in order (``periods``: the run the flags were confirmed by)."""
        return tuple(
            DeviantUnit(unit=i, excess=float(self.excess[i]),
                        least_excess=float(self.least_excess[i]),
                        periods=int(self.run_length[i]),
                        by_run=bool(self.run_length[i] >= periods),
                        by_cusum=bool(self.cusum_signal[i]))
            for i in np.flatnonzero(self.flagged).tolist()
        )


def sustained_positive_deviance(z_scores: npt.ArrayLike, *, improvement: Literal["up", "down"],
                                limit: float = Z_998, periods: int = 2,
                                cusum: Cusum | None = None) -> PositiveDeviance:
    """Flag units beyond ±``limit`` in the better direction now, and sustained (module doc).

    ``z_scores``: units × periods, over-dispersion-adjusted (zᴰ) on the scale where the limit
    is ``limit`` (default the 99.8% z); ``improvement`` says which sign is better; ``cusum``:
    the units' improvement CUSUMs (ratio below 1), one row per unit. Excess in z units.
    """
    z = _units(z_scores, "z_scores")
    sign = _better(improvement)
    return _deviance(sign * z - limit, periods=periods, cusum=cusum)


def sustained_positive_deviance_from_limits(
        values: npt.ArrayLike, *, lower: npt.ArrayLike, upper: npt.ArrayLike,
        improvement: Literal["up", "down"], periods: int = 2,
        cusum: Cusum | None = None) -> PositiveDeviance:
    """The same from values and their (adjusted 99.8%) limits, units × periods; excess in the
    indicator's units (value − upper when higher is better, lower − value otherwise)."""
    x = _units(values, "values")
    low, high = _units(lower, "lower"), _units(upper, "upper")
    if not x.shape == low.shape == high.shape:
        raise ValueError("values, lower and upper must have the same shape")
    excess = x - high if _better(improvement) > 0 else low - x
    return _deviance(excess, periods=periods, cusum=cusum)


# --------------------------------------------------------------------------------------------


def _series(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-D or 2-D input as a 2-D float array (one row per series)."""
    array = np.array(values, dtype=np.float64)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be one series (1-D) or series × time (2-D)")
    if np.isinf(array).any():
        raise ValueError(f"{name} must be finite numbers or NaN for missing")
    matrix: FloatArray = array.reshape(-1, array.shape[-1])
    return matrix


def _check_bernoulli(y: FloatArray, p: FloatArray, odds_ratio: float) -> None:
    if y.shape != p.shape:
        raise ValueError("outcomes and risks must have the same shape")
    _check_ratio(odds_ratio)
    if ((y != 0) & (y != 1) & ~np.isnan(y)).any():
        raise ValueError("outcomes must be 0 or 1 (NaN for missing)")
    if ((p <= 0) | (p >= 1)).any():
        raise ValueError("risks must lie strictly between 0 and 1 (NaN for missing)")


def _check_poisson(o: FloatArray, e: FloatArray, rate_ratio: float) -> None:
    if o.shape != e.shape:
        raise ValueError("observed and expected must have the same shape")
    _check_ratio(rate_ratio)
    if (o < 0).any() or (e < 0).any():
        raise ValueError("observed and expected counts cannot be negative")


def _check_ratio(ratio: float) -> None:
    if not (math.isfinite(ratio) and ratio > 0 and ratio != 1):
        raise ValueError("the alternative ratio must be positive and not 1")


def _given_threshold(threshold: float | npt.ArrayLike, series: int) -> FloatArray:
    h = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (series,)).copy()
    if not (np.isfinite(h).all() and (h > 0).all()):
        raise ValueError("thresholds must be positive numbers")
    return h


def _poisson_quantiles(uniforms: FloatArray, mean: FloatArray) -> FloatArray:
    """Poisson(mean) quantiles of the uniforms, series × M: the smallest k with F(k) ≥ u.

    A search upwards from k₀ = max(0, ⌊mean − 8√mean − 8⌋) adding one pmf term at a time, for
    at most 16√mean + 40 terms (uniforms outside that range, with probability below 10⁻¹⁴, get
    its ends); much faster than ``scipy.stats.poisson.ppf`` and each value depends only on its
    own uniform and mean.
    """
    start = np.floor(np.maximum(0.0, mean - 8 * np.sqrt(mean) - 8))
    steps = np.ceil(16 * np.sqrt(mean) + 40)
    pmf = np.asarray(stats.poisson.pmf(start, mean), dtype=np.float64)
    cdf = np.asarray(stats.poisson.cdf(start, mean), dtype=np.float64)
    counts = np.repeat(start[:, np.newaxis], len(uniforms), axis=1)
    for j in range(int(steps.max(initial=0.0))):
        below = (uniforms[np.newaxis, :] > cdf[:, np.newaxis]) & (j < steps)[:, np.newaxis]
        if not below.any():
            break
        counts += below
        pmf = pmf * mean / (start + j + 1)
        cdf = cdf + pmf
    return counts


def _simulated_threshold(step: Callable[[FloatArray, int], FloatArray],
                         shape: tuple[int, ...], *, false_alarm_rate: float,
                         simulations: int, seed: int) -> FloatArray:
    """h per series from M in-control simulations sharing one stream of uniforms.

    ``step(u, t)`` turns the M uniforms of time t into the weights Wₜ, series × M. One time
    step at a time keeps memory at O(S·M).
    """
    if not 0 < false_alarm_rate < 1:
        raise ValueError("the false-alarm rate must lie between 0 and 1")
    if simulations < 100:
        raise ValueError("simulate at least 100 series")
    series, length = shape
    uniforms = np.random.default_rng(seed).random((length, simulations))
    current = np.zeros((series, simulations))
    highest = np.zeros_like(current)
    for t in range(length):
        current = np.maximum(0.0, current + step(uniforms[t], t))
        np.maximum(highest, current, out=highest)
    allowed = math.floor(false_alarm_rate * simulations)
    ranked = -np.sort(-highest, axis=1)
    threshold: FloatArray = np.nextafter(ranked[:, allowed], np.inf)
    return threshold


def _cusum(w: FloatArray, h: FloatArray, *, ratio: float, restart: bool,
           shape: tuple[int, ...]) -> Cusum:
    """Sₜ = max(0, Sₜ₋₁ + Wₜ), restarting from 0 after a signal if asked."""
    statistic = np.empty_like(w)
    current = np.zeros(len(w))
    for t in range(w.shape[1]):
        current = np.maximum(0.0, current + w[:, t])
        statistic[:, t] = current
        if restart:
            current = np.where(current >= h, 0.0, current)
    return Cusum(weights=w.reshape(shape), statistic=statistic.reshape(shape),
                 threshold=h.reshape(shape[:-1]), ratio=float(ratio), restart=restart)


def _units(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array: one row per unit, one column per period")
    return array


def _better(improvement: str) -> int:
    if improvement not in ("up", "down"):
        raise ValueError(f"improvement must be up or down, not {improvement!r}")
    return 1 if improvement == "up" else -1


def _deviance(excess: FloatArray, *, periods: int, cusum: Cusum | None) -> PositiveDeviance:
    if periods < 1:
        raise ValueError("a run is at least one period")
    units, length = excess.shape
    beyond = excess > 0
    trailing = beyond[:, ::-1]
    run = np.where(trailing.all(axis=1), length, np.argmin(trailing, axis=1))
    in_run = np.arange(length) >= (length - run)[:, np.newaxis]
    least = np.min(np.where(in_run, excess, np.inf), axis=1)
    signal = _cusum_signal(cusum, units)
    flagged = beyond[:, -1] & ((run >= periods) | signal)
    return PositiveDeviance(flagged=flagged, excess=excess[:, -1].copy(),
                            least_excess=np.where(run > 0, least, np.nan),
                            run_length=run.astype(np.int64), cusum_signal=signal)


def _cusum_signal(cusum: Cusum | None, units: int) -> BoolArray:
    if cusum is None:
        return np.zeros(units, dtype=np.bool_)
    if cusum.ratio >= 1:
        raise ValueError("positive deviance needs the improvement CUSUM (ratio below 1)")
    signal = np.atleast_1d(cusum.signalling)
    if signal.shape != (units,):
        raise ValueError(f"the CUSUM has {signal.size} series for {units} units")
    return signal.copy()
