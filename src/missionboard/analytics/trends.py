"""Fingertips recent-trend markers: is an indicator rising or falling over its last five years?

Reference: OHID Fingertips "Trend markers" method, implemented as ``assign_trend_markers`` in
the dhsc-govuk fork of PHEindicatormethods (branch ``add_trend_markers``, 2025-09).

The test uses the last five points, which must be annual and non-overlapping (years tₜ; any
origin, as both statistics are unchanged by shifting t — they are computed on centred years).

- **Proportions** cₜ/dₜ: β = ordinary least-squares slope of logit(pₜ) = ln(pₜ/(1 − pₜ)) on
  tₜ; with D = Σdₜ and C = Σcₜ,

      χ² = D·(D·Σcₜtₜ − C·Σdₜtₜ)² / [C·(D − C)·(D·Σdₜtₜ² − (Σdₜtₜ)²)].

- **Other statistics** (rates, ratios, means, life expectancy …) with confidence limits
  (Lₜ, Uₜ) at level ``confidence``: σₜ = (Uₜ − Lₜ)/(2·z), z = Φ⁻¹(1 − (1 − confidence)/2);
  wₜ = 1/σₜ²; weighted least-squares slope β = (Σw·Σwty − Σwt·Σwy)/(Σw·Σwt² − (Σwt)²),
  Var β = Σw/(Σw·Σwt² − (Σwt)²), χ² = β²/Var β. Values and limits must be on the same
  scale (the R function divides values, but not limits, by its ``multiplier``).

The trend is significant if χ² > 9.5495 (χ² on 1 d.f. at 99.8%). A significant trend is then
re-fitted without each point in turn: if any of the five slopes has a different sign from β
(a zero slope counts as different), one point drives it — "No significant change (outlier)".
Otherwise β < 0 is "Decreasing", else "Increasing", with "and getting better/worse" when the
improvement direction is given (``"up"``: higher is better; ``"down"``; ``"none"``).

"Cannot be calculated" with fewer than five points, a missing value among the last five, a
proportion of 0 or 1 (its logit is infinite; PHEindicatormethods fails there) or a confidence
interval without positive width.

:func:`proportion_trend` and :func:`value_trend` mark one series (a :class:`TrendMarker`);
:func:`proportion_trends` and :func:`value_trends` mark many at once from series × years
arrays (a :class:`TrendMarkers` of arrays, no Python loop over series), codes into
:data:`TRENDS` and :data:`REASONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from missionboard.analytics.spc import Improvement, improvement_signs

FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]
TrendCode = Literal["cannot_be_calculated", "no_significant_change",
                    "no_significant_change_outlier", "increasing", "decreasing"]

POINTS = 5
SIGNIFICANT_CHI_SQUARE = 9.5495
"""χ² on 1 degree of freedom at 99.8%, as Fingertips writes it (scipy: 9.54953…)."""

TRENDS: tuple[TrendCode, ...] = ("cannot_be_calculated", "no_significant_change",
                                 "no_significant_change_outlier", "increasing", "decreasing")
"""Codes of :attr:`TrendMarkers.code`."""
REASONS: tuple[str | None, ...] = (
    None,
    "fewer than five points",
    "a missing value among the last five points",
    "a proportion of 0 or 1 (its logit is infinite)",
    "a confidence interval without positive width",
)
"""Codes of :attr:`TrendMarkers.reason`: why a trend cannot be calculated (0: it can)."""

_LABELS = {"cannot_be_calculated": "Cannot be calculated",
           "no_significant_change": "No significant change",
           "no_significant_change_outlier": "No significant change (outlier)",
           "increasing": "Increasing", "decreasing": "Decreasing"}


def trend_label(code: TrendCode, improvement: int) -> str:
    """The Fingertips wording, e.g. "Decreasing and getting worse" (improvement +1 up, −1 down)."""
    label = _LABELS[code]
    if code not in ("increasing", "decreasing") or improvement == 0:
        return label
    better = (code == "increasing") == (improvement > 0)
    return f"{label} and getting {'better' if better else 'worse'}"


@dataclass(frozen=True, kw_only=True)
class TrendMarker:
    """The recent-trend marker of one series: ``label`` is the Fingertips wording."""

    code: TrendCode
    label: str
    beta: float | None
    chi_square: float | None
    reason: str | None
    improvement: Improvement


@dataclass(frozen=True, kw_only=True)
class TrendMarkers:
    """Recent-trend markers of many series, each array one entry per series (read-only).

    ``code`` indexes :data:`TRENDS`, ``reason`` :data:`REASONS`; ``beta`` and ``chi_square``
    are NaN where the trend cannot be calculated; ``improvement`` is +1/−1/0.
    """

    code: CodeArray
    beta: FloatArray
    chi_square: FloatArray
    reason: CodeArray
    improvement: CodeArray

    def __post_init__(self) -> None:
        for value in vars(self).values():
            value.flags.writeable = False

    def labels(self) -> list[str]:
        """The Fingertips wording for every series."""
        return [trend_label(TRENDS[code], sign)
                for code, sign in zip(self.code.tolist(), self.improvement.tolist(), strict=True)]

    def marker(self, row: int) -> TrendMarker:
        code, sign = TRENDS[self.code[row]], int(self.improvement[row])
        computed = code != "cannot_be_calculated"
        return TrendMarker(
            code=code, label=trend_label(code, sign),
            beta=float(self.beta[row]) if computed else None,
            chi_square=float(self.chi_square[row]) if computed else None,
            reason=REASONS[self.reason[row]],
            improvement="up" if sign > 0 else "down" if sign < 0 else "none",
        )


def proportion_trend(numerators: npt.ArrayLike, denominators: npt.ArrayLike, *,
                     years: npt.ArrayLike | None = None,
                     improvement: Improvement = "none") -> TrendMarker:
    """The recent trend of one proportion series (counts cₜ of dₜ), in year order."""
    return proportion_trends(_row(numerators), _row(denominators), years=years,
                             improvement=improvement).marker(0)


def value_trend(values: npt.ArrayLike, *, lower: npt.ArrayLike, upper: npt.ArrayLike,
                years: npt.ArrayLike | None = None, confidence: float = 0.95,
                improvement: Improvement = "none") -> TrendMarker:
    """The recent trend of one series of values with confidence limits, in year order."""
    return value_trends(_row(values), lower=_row(lower), upper=_row(upper), years=years,
                        confidence=confidence, improvement=improvement).marker(0)


def proportion_trends(numerators: npt.ArrayLike, denominators: npt.ArrayLike, *,
                      years: npt.ArrayLike | None = None,
                      improvement: Improvement | npt.ArrayLike = "none") -> TrendMarkers:
    """Recent trends of many proportion series: series × years arrays of cₜ and dₜ.

    ``years``: one row for all series (default 0, 1, 2, …) or one per series, increasing.
    Only the last five columns are used.
    """
    c, d = _matrix(numerators, "numerators"), _matrix(denominators, "denominators")
    if c.shape != d.shape:
        raise ValueError("numerators and denominators must have the same shape")
    if (c < 0).any() or (d <= 0).any() or (c > d).any():
        raise ValueError("need 0 ≤ numerator ≤ denominator and denominators above zero")
    t = _years(years, c.shape)
    c, d = c[:, -POINTS:], d[:, -POINTS:]
    p = c / d
    reason = _reasons(c.shape[1], missing=np.isnan(c).any(axis=1) | np.isnan(d).any(axis=1),
                      invalid=((p <= 0) | (p >= 1)).any(axis=1), invalid_reason=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(p / (1 - p))
        ones = np.ones_like(p)
        beta = _slope(logit, t, ones)
        loo_beta = _slope(logit[:, np.newaxis, :], t[:, np.newaxis, :], _leave_one_out(ones))
        big_d, big_c = d.sum(axis=1), c.sum(axis=1)
        dt = (d * t).sum(axis=1)
        chi = (big_d * (big_d * (c * t).sum(axis=1) - big_c * dt) ** 2
               / (big_c * (big_d - big_c) * (big_d * (d * t * t).sum(axis=1) - dt ** 2)))
    return _markers(beta, chi, loo_beta, reason, improvement_signs(improvement, len(c)))


def value_trends(values: npt.ArrayLike, *, lower: npt.ArrayLike, upper: npt.ArrayLike,
                 years: npt.ArrayLike | None = None, confidence: float = 0.95,
                 improvement: Improvement | npt.ArrayLike = "none") -> TrendMarkers:
    """Recent trends of many series of values with confidence limits (series × years).

    ``confidence`` is the level of the limits (0.95 for 95%). Only the last five columns are
    used; ``years`` as for :func:`proportion_trends`.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie between 0 and 1")
    y = _matrix(values, "values")
    low, high = _matrix(lower, "lower"), _matrix(upper, "upper")
    if not y.shape == low.shape == high.shape:
        raise ValueError("values, lower and upper must have the same shape")
    t = _years(years, y.shape)
    y, low, high = y[:, -POINTS:], low[:, -POINTS:], high[:, -POINTS:]
    sigma = (high - low) / (2 * stats.norm.ppf(1 - (1 - confidence) / 2))
    missing = np.isnan(y).any(axis=1) | np.isnan(sigma).any(axis=1)
    reason = _reasons(y.shape[1], missing=missing, invalid=(sigma <= 0).any(axis=1),
                      invalid_reason=4)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1 / sigma ** 2
        beta = _slope(y, t, w)
        loo_beta = _slope(y[:, np.newaxis, :], t[:, np.newaxis, :], _leave_one_out(w))
        sw, swt = w.sum(axis=1), (w * t).sum(axis=1)
        variance = sw / (sw * (w * t * t).sum(axis=1) - swt ** 2)
        chi = beta ** 2 / variance
    return _markers(beta, chi, loo_beta, reason, improvement_signs(improvement, len(y)))


def _row(values: npt.ArrayLike) -> FloatArray:
    row = np.asarray(values, dtype=np.float64)
    if row.ndim != 1:
        raise ValueError("one series is a 1-D sequence; use the plural functions for arrays")
    return row[np.newaxis, :]


def _matrix(values: npt.ArrayLike, name: str) -> FloatArray:
    matrix = np.array(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array: one row per series, one column per year")
    if np.isinf(matrix).any():
        raise ValueError(f"{name} must be finite numbers or NaN for missing")
    return matrix


def _years(years: npt.ArrayLike | None, shape: tuple[int, ...]) -> FloatArray:
    """The last five years per series, centred on their mean."""
    if years is None:
        t = np.broadcast_to(np.arange(shape[1], dtype=np.float64), shape)
    else:
        given = np.asarray(years, dtype=np.float64)
        if given.shape not in (shape, shape[1:]) or not np.isfinite(given).all():
            raise ValueError(f"years must be finite, one row of {shape[1]} or one per series")
        t = np.broadcast_to(given, shape)
    t = t[:, -POINTS:]
    if (np.diff(t, axis=1) <= 0).any():
        raise ValueError("years must increase along each series")
    centred: FloatArray = t - t.mean(axis=1, keepdims=True)
    return centred


def _reasons(points: int, *, missing: npt.ArrayLike, invalid: npt.ArrayLike,
             invalid_reason: int) -> CodeArray:
    missing, invalid = np.asarray(missing, dtype=np.bool_), np.asarray(invalid, dtype=np.bool_)
    if points < POINTS:
        return np.ones(len(missing), dtype=np.int8)
    return np.select([missing, invalid], [2, invalid_reason], 0).astype(np.int8)


def _leave_one_out(weights: FloatArray) -> FloatArray:
    """Weights (S, 5) → (S, 5, 5): row j drops point j."""
    keep = 1.0 - np.eye(weights.shape[1])
    loo: FloatArray = weights[:, np.newaxis, :] * keep
    return loo


def _slope(y: FloatArray, t: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted least-squares slope of y on t over the last axis."""
    sw, swt, swy = w.sum(axis=-1), (w * t).sum(axis=-1), (w * y).sum(axis=-1)
    slope: FloatArray = (sw * (w * t * y).sum(axis=-1) - swt * swy) / (
        sw * (w * t * t).sum(axis=-1) - swt ** 2)
    return slope


def _markers(beta: FloatArray, chi: FloatArray, loo_beta: FloatArray, reason: CodeArray,
             signs: CodeArray) -> TrendMarkers:
    ok = reason == 0
    significant = ok & (chi > SIGNIFICANT_CHI_SQUARE)
    flips = (np.sign(loo_beta) != np.sign(beta)[:, np.newaxis]).any(axis=1)
    code = np.select([~ok, ~significant, flips, beta < 0], [0, 1, 2, 4], 3).astype(np.int8)
    return TrendMarkers(code=code, beta=np.where(ok, beta, np.nan),
                        chi_square=np.where(ok, chi, np.nan), reason=reason,
                        improvement=signs)
