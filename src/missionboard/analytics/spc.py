"""XmR (individuals) charts with the NHS "Making Data Count" rules, as NHSRplotthedots draws them.

Reference: NHS England "Making Data Count" (MDC) and its R implementation NHSRplotthedots
(nhs-r-community, CRAN 0.2.2, ``ptd_spc``), which mimics the MDC Excel tool.

Limits, for values x₁ … xₙ (the *baseline* is every point, or the first ``fix_after`` points
when the limits are fixed):

- centre x̄ = mean of the baseline; moving ranges mrₜ = |xₜ − xₜ₋₁| within the baseline;
  MR̄ = their mean;
- screening (``screen_outliers=True``, NHSRplotthedots' default): drop every moving range
  ≥ 3.267·MR̄ and recompute MR̄ from the rest (the MDC Excel tool does not screen:
  ``screen_outliers=False``). A constant baseline (MR̄ = 0) is left as it is;
- process limits x̄ ± 2.66·MR̄ (3σ, 2.66 = 3/1.128) and near limits x̄ ± (2/3)·2.66·MR̄ (2σ).
  The lower limit is not floored at zero.

Special-cause rules, each flagging the points that make it up, in order of precedence (a point
caught by several rules is labelled with the first):

1. ``outside_limits``: the point is above the upper or below the lower process limit (strictly);
2. ``trend``: it is one of ``trend_points`` (default 7) consecutive points each strictly higher
   (or each strictly lower) than the one before;
3. ``two_in_three``: it lies beyond a near limit (and inside the process limit), in a run of 3
   consecutive points all on the same side of the mean of which at least 2 lie beyond that
   near limit (only the points beyond the near limit are flagged);
4. ``shift``: it is one of ``shift_points`` (default 7) consecutive points all above (or all
   below) the mean; a point exactly on the mean breaks a run.

Each special-cause point is *high* or *low*: by its side of the mean, or for a trend by the
trend's direction. A point shared by a rising and a falling trend (the peak or the trough)
takes the direction of the later trend, as NHSRplotthedots does. (NHSRplotthedots reads a
trend point's direction from its neighbours, which labels the last point of a rising trend
"decreasing" when the next point drops and starts a new rising trend — a saw-tooth — or
repeats it; here a point takes the direction of the trend it belongs to.)

Classification of a point, with the improvement direction ``"up"`` (higher is better),
``"down"`` (lower is better) or ``"none"`` — the strings of :data:`VARIATIONS`, also used for the
*variation icon* of the last point:

============================  ==============================================================
``"common_cause"``            no rule applies (MDC grey icon)
``"improvement_high"``        special cause, high, improvement ``"up"`` (blue)
``"improvement_low"``         special cause, low, improvement ``"down"`` (blue)
``"concern_high"``            special cause, high, improvement ``"down"`` (orange)
``"concern_low"``             special cause, low, improvement ``"up"`` (orange)
``"neither_high"``            special cause, high, no improvement direction (purple)
``"neither_low"``             special cause, low, no improvement direction (purple)
============================  ==============================================================

*Assurance icon* (:data:`ASSURANCES`), from a target compared with the process limits:
improvement ``"up"`` — target below the lower limit ``"pass"`` (the process consistently
passes), above the upper limit ``"fail"``, otherwise ``"hit_and_miss"``; improvement ``"down"``
the other way round; ``None`` without a target or without an improvement direction.

Limits resting on fewer than 12 points are *trial* limits (MDC); ``fix_after`` (≥ 12, as
NHSRplotthedots requires) fixes them on the first ``fix_after`` points.

Two forms: :func:`xmr_chart` for one series (an :class:`XmRChart`, with the JSON shape the
``missionboard benchmark spc`` command prints, :meth:`XmRChart.to_dict`), and
:func:`xmr_charts` for many series at once (a 2-D array, series × periods, no Python loop over
series; an :class:`XmRCharts` of arrays holding integer codes into :data:`RULES`,
:data:`VARIATIONS` and :data:`ASSURANCES`). Row i of :func:`xmr_charts` equals
:func:`xmr_chart` of that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from missionboard.analytics._checks import check_finite

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]
Improvement = Literal["up", "down", "none"]

LIMIT = 2.66
NEAR_LIMIT = 2 * (LIMIT / 3)
SCREEN = 3.267
TRIAL_POINTS = 12

RULES: tuple[str | None, ...] = (None, "outside_limits", "trend", "two_in_three", "shift")
"""Rule codes of :attr:`XmRCharts.rule`: 0 none (common cause), then by precedence."""
VARIATIONS: tuple[str, ...] = ("common_cause", "improvement_high", "improvement_low",
                               "concern_high", "concern_low", "neither_high", "neither_low")
"""Variation codes of :attr:`XmRCharts.variation` and :attr:`XmRCharts.variation_icon`."""
ASSURANCES: tuple[str | None, ...] = (None, "pass", "fail", "hit_and_miss")
"""Assurance codes of :attr:`XmRCharts.assurance_icon` (0: no target or no direction)."""

_SIGNS = {"up": 1, "down": -1, "none": 0}


def improvement_signs(improvement: Improvement | npt.ArrayLike, series: int) -> CodeArray:
    """The improvement direction per series as +1 (up), −1 (down) or 0 (none).

    ``improvement`` is one of ``"up"``, ``"down"``, ``"none"`` for every series, or an array of
    +1/−1/0, one per series.
    """
    if isinstance(improvement, str):
        if improvement not in _SIGNS:
            raise ValueError(f"unknown improvement {improvement!r}: up, down or none")
        return np.full(series, _SIGNS[improvement], dtype=np.int8)
    signs = np.asarray(improvement)
    if signs.shape != (series,) or not np.isin(signs, (-1, 0, 1)).all():
        raise ValueError(f"improvement must be up, down, none or {series} values of +1, -1, 0")
    return signs.astype(np.int8)


@dataclass(frozen=True, slots=True)
class XmRPoint:
    """One point of a chart: its period index, value and the rule that flags it (if any)."""

    period: int
    value: float
    special_cause: bool
    rule: str | None
    variation: str


@dataclass(frozen=True, kw_only=True)
class XmRChart:
    """An XmR chart of one series (see the module docstring for every field's meaning).

    ``mr_bar`` is the average moving range the limits use (after screening);
    ``baseline_points`` the number of points the centre and limits rest on;
    ``screened_ranges`` how many moving ranges the screening dropped; ``trial_limits`` is true
    when the baseline has fewer than 12 points.
    """

    mean: float
    mr_bar: float
    upper: float
    lower: float
    near_upper: float
    near_lower: float
    points: tuple[XmRPoint, ...]
    variation_icon: str
    assurance_icon: str | None
    improvement: Improvement
    target: float | None
    baseline_points: int
    screened_ranges: int
    trial_limits: bool

    def to_dict(self, *, periods: Sequence[object] | None = None) -> dict[str, object]:
        """The JSON shape of ``missionboard benchmark spc --json``.

        ``{"mean", "upper", "lower", "points": [{"period", "value", "special_cause"}],
        "variation_icon", "assurance_icon"}``; ``period`` is the point's index, or its label
        from ``periods`` (one per point, e.g. the dates of the period column).
        """
        if periods is not None and len(periods) != len(self.points):
            raise ValueError(f"{len(periods)} period labels for {len(self.points)} points")
        return {
            "mean": self.mean,
            "upper": self.upper,
            "lower": self.lower,
            "points": [
                {"period": point.period if periods is None else periods[point.period],
                 "value": point.value, "special_cause": point.special_cause}
                for point in self.points
            ],
            "variation_icon": self.variation_icon,
            "assurance_icon": self.assurance_icon,
        }


@dataclass(frozen=True, kw_only=True)
class XmRCharts:
    """XmR charts of many series: one row per series, one column per period.

    Per series (shape ``(S,)``): ``mean``, ``mr_bar``, ``upper``, ``lower``, ``near_upper``,
    ``near_lower``, ``baseline_points``, ``screened_ranges``, ``improvement`` (+1/−1/0),
    ``target`` (NaN for none), ``variation_icon`` (code into :data:`VARIATIONS`, for the last
    non-missing point) and ``assurance_icon`` (code into :data:`ASSURANCES`).
    Per point (shape ``(S, T)``): ``values`` as given, ``rule`` (code into :data:`RULES`),
    ``side`` (+1 high, −1 low, 0 for common cause) and ``variation`` (code into
    :data:`VARIATIONS`). Arrays are read-only.
    """

    values: FloatArray
    mean: FloatArray
    mr_bar: FloatArray
    upper: FloatArray
    lower: FloatArray
    near_upper: FloatArray
    near_lower: FloatArray
    baseline_points: IntArray
    screened_ranges: IntArray
    improvement: CodeArray
    target: FloatArray
    rule: CodeArray
    side: CodeArray
    variation: CodeArray
    variation_icon: CodeArray
    assurance_icon: CodeArray

    def __post_init__(self) -> None:
        for value in vars(self).values():
            value.flags.writeable = False

    @property
    def special_cause(self) -> BoolArray:
        """Per point: flagged by any rule."""
        return self.rule > 0

    def chart(self, row: int) -> XmRChart:
        """Row ``row`` as an :class:`XmRChart` (missing values are left out of its points)."""
        target = float(self.target[row])
        sign = int(self.improvement[row])
        points = tuple(
            XmRPoint(period=t, value=float(self.values[row, t]),
                     special_cause=bool(self.rule[row, t] > 0),
                     rule=RULES[self.rule[row, t]], variation=VARIATIONS[self.variation[row, t]])
            for t in np.flatnonzero(np.isfinite(self.values[row])).tolist()
        )
        return XmRChart(
            mean=float(self.mean[row]), mr_bar=float(self.mr_bar[row]),
            upper=float(self.upper[row]), lower=float(self.lower[row]),
            near_upper=float(self.near_upper[row]), near_lower=float(self.near_lower[row]),
            points=points, variation_icon=VARIATIONS[self.variation_icon[row]],
            assurance_icon=ASSURANCES[self.assurance_icon[row]],
            improvement="up" if sign > 0 else "down" if sign < 0 else "none",
            target=None if np.isnan(target) else target,
            baseline_points=int(self.baseline_points[row]),
            screened_ranges=int(self.screened_ranges[row]),
            trial_limits=bool(self.baseline_points[row] < TRIAL_POINTS),
        )


def xmr_chart(values: Sequence[float] | npt.ArrayLike, *, improvement: Improvement = "up",
              target: float | None = None, screen_outliers: bool = True,
              trend_points: int = 7, shift_points: int = 7,
              fix_after: int | None = None) -> XmRChart:
    """An XmR chart of one series of finite values in time order (module docstring).

    ``improvement`` defaults to ``"up"``, as NHSRplotthedots' ``"increase"``.
    """
    series = np.asarray(values, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError("xmr_chart takes one series; use xmr_charts for a 2-D array")
    if not np.isfinite(series).all():
        raise ValueError("values must be finite numbers (leave missing periods out)")
    if target is not None:
        check_finite(target=target)
    return xmr_charts(series[np.newaxis, :], improvement=improvement,
                      target=None if target is None else [target],
                      screen_outliers=screen_outliers, trend_points=trend_points,
                      shift_points=shift_points, fix_after=fix_after).chart(0)


def xmr_charts(values: npt.ArrayLike, *, improvement: Improvement | npt.ArrayLike = "up",
               target: npt.ArrayLike | None = None, screen_outliers: bool = True,
               trend_points: int = 7, shift_points: int = 7,
               fix_after: int | None = None) -> XmRCharts:
    """XmR charts of many series at once: ``values`` is series × periods.

    ``improvement``: one direction for all or +1/−1/0 per series; ``target``: one per series
    (NaN for none) or ``None``. Missing values (NaN) take no part: they are left out of the
    mean, a moving range needs both its points, and no rule's run crosses them. Every series
    needs at least one moving range in its baseline. Cost O(S·T) time and memory.
    """
    x = _check_values(values)
    series = x.shape[0]
    _check_options(trend_points, shift_points, fix_after)
    signs = improvement_signs(improvement, series)
    targets = _targets(target, series)
    base = _baseline(x, fix_after)
    mean, mr_bar, screened = _centre_and_spread(x, base, screen_outliers=screen_outliers)
    upper, lower = mean + LIMIT * mr_bar, mean - LIMIT * mr_bar
    near_upper, near_lower = mean + NEAR_LIMIT * mr_bar, mean - NEAR_LIMIT * mr_bar
    rule, side = _rules(x, mean=mean, upper=upper, lower=lower, near_upper=near_upper,
                        near_lower=near_lower, trend_points=trend_points,
                        shift_points=shift_points)
    variation = _variation(rule, side, signs)
    last = x.shape[1] - 1 - np.argmax(np.isfinite(x)[:, ::-1], axis=1)
    return XmRCharts(
        values=x, mean=mean, mr_bar=mr_bar, upper=upper, lower=lower, near_upper=near_upper,
        near_lower=near_lower, baseline_points=base.sum(axis=1), screened_ranges=screened,
        improvement=signs, target=targets, rule=rule, side=side, variation=variation,
        variation_icon=variation[np.arange(series), last],
        assurance_icon=_assurance(targets, signs, upper=upper, lower=lower),
    )


def _check_values(values: npt.ArrayLike) -> FloatArray:
    x = np.array(values, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("values must be a 2-D array: one row per series, one column per period")
    if np.isinf(x).any():
        raise ValueError("values must be finite numbers or NaN for missing")
    return x


def _check_options(trend_points: int, shift_points: int, fix_after: int | None) -> None:
    if trend_points < 3 or shift_points < 2:
        raise ValueError("a trend needs at least 3 points and a shift at least 2")
    if fix_after is not None and fix_after < TRIAL_POINTS:
        raise ValueError(f"limits can be fixed after {TRIAL_POINTS} points or more")


def _targets(target: npt.ArrayLike | None, series: int) -> FloatArray:
    if target is None:
        return np.full(series, np.nan)
    targets = np.array(target, dtype=np.float64).reshape(-1)
    if targets.shape != (series,) or np.isinf(targets).any():
        raise ValueError(f"target must be {series} finite values (NaN for none)")
    return targets


def _baseline(x: FloatArray, fix_after: int | None) -> BoolArray:
    """The points the limits rest on: every value, or the first ``fix_after`` values."""
    valid = np.isfinite(x)
    if fix_after is None:
        return valid
    return valid & (np.cumsum(valid, axis=1) <= fix_after)


def _centre_and_spread(x: FloatArray, base: BoolArray, *,
                       screen_outliers: bool) -> tuple[FloatArray, FloatArray, IntArray]:
    """x̄, MR̄ (screened if asked: ranges ≥ 3.267·MR̄ dropped) and the count dropped."""
    mean = np.where(base, x, 0.0).sum(axis=1) / base.sum(axis=1)
    pair = base[:, 1:] & base[:, :-1]
    ranges = np.where(pair, np.abs(np.diff(np.where(base, x, 0.0), axis=1)), 0.0)
    count = pair.sum(axis=1)
    if (count == 0).any():
        raise ValueError(f"{int((count == 0).sum())} series have no moving range "
                         "(need two consecutive values)")
    mr_bar = ranges.sum(axis=1) / count
    if not screen_outliers:
        return mean, mr_bar, np.zeros(len(x), dtype=np.int64)
    kept = pair & ((ranges < SCREEN * mr_bar[:, np.newaxis]) | (mr_bar[:, np.newaxis] == 0))
    screened = mr_bar.copy()
    np.divide(np.where(kept, ranges, 0.0).sum(axis=1), kept.sum(axis=1), out=screened,
              where=kept.any(axis=1))
    return mean, screened, count - kept.sum(axis=1)


def _rules(x: FloatArray, *, mean: FloatArray, upper: FloatArray, lower: FloatArray,
           near_upper: FloatArray, near_lower: FloatArray, trend_points: int,
           shift_points: int) -> tuple[CodeArray, CodeArray]:
    """Per point: the rule code by precedence and the side (+1 high, −1 low, 0 none)."""
    col = np.newaxis
    above, below = x > mean[:, col], x < mean[:, col]
    position = above.astype(np.int8) - below.astype(np.int8)
    outside = (x > upper[:, col]) | (x < lower[:, col])
    near = ~outside & ((x > near_upper[:, col]) | (x < near_lower[:, col]))
    trend, trend_side = _trend(x, trend_points)
    same_side = _run_ends(above, 3) | _run_ends(below, 3)
    two_in_three = near & _covered(same_side & (_window_sum(near, 3) >= 2), 3)
    shift = (_covered(_run_ends(above, shift_points), shift_points)
             | _covered(_run_ends(below, shift_points), shift_points))
    rule = np.select([outside, trend, two_in_three, shift], [1, 2, 3, 4], 0).astype(np.int8)
    side = np.where(rule == 2, trend_side, np.where(rule > 0, position, 0)).astype(np.int8)
    return rule, side


def _trend(x: FloatArray, points: int) -> tuple[BoolArray, CodeArray]:
    """Points in a run of ``points`` each strictly above (below) the one before, and its way."""
    steps = np.diff(x, axis=1)
    rising = np.zeros(x.shape, dtype=np.bool_)
    falling = np.zeros(x.shape, dtype=np.bool_)
    rising[:, 1:], falling[:, 1:] = steps > 0, steps < 0
    in_rise = _covered(_run_ends(rising, points - 1), points)
    in_fall = _covered(_run_ends(falling, points - 1), points)
    # A point in both is a peak or trough: it takes the way of the trend that starts there.
    onward = np.zeros(x.shape, dtype=np.int8)
    onward[:, :-1] = np.sign(np.nan_to_num(steps)).astype(np.int8)
    way = np.where(in_rise & in_fall, onward, np.where(in_rise, 1, -1)).astype(np.int8)
    return in_rise | in_fall, way


def _window_sum(flags: BoolArray, n: int) -> IntArray:
    """Number of flags among points t − n + 1 … t (−1 where the window starts before 0)."""
    periods = flags.shape[1]
    counts = np.zeros((flags.shape[0], periods + 1), dtype=np.int64)
    np.cumsum(flags, axis=1, out=counts[:, 1:])
    sums = np.full(flags.shape, -1, dtype=np.int64)
    if n <= periods:
        sums[:, n - 1:] = counts[:, n:] - counts[:, :periods - n + 1]
    return sums


def _run_ends(flags: BoolArray, n: int) -> BoolArray:
    """True at t when points t − n + 1 … t are all flagged."""
    ends: BoolArray = _window_sum(flags, n) == n
    return ends


def _covered(ends: BoolArray, n: int) -> BoolArray:
    """True at t when a window of n points containing t (one ending at t … t + n − 1) is."""
    periods = ends.shape[1]
    counts = np.zeros((ends.shape[0], periods + 1), dtype=np.int64)
    np.cumsum(ends, axis=1, out=counts[:, 1:])
    stop = np.minimum(np.arange(periods) + n, periods)
    covered: BoolArray = counts[:, stop] - counts[:, :periods] > 0
    return covered


def _variation(rule: CodeArray, side: CodeArray, signs: CodeArray) -> CodeArray:
    """Codes into :data:`VARIATIONS` from each point's rule, side and the improvement sign."""
    high = side > 0
    sign = signs[:, np.newaxis]
    judged = np.where(sign * side > 0, np.where(high, 1, 2), np.where(high, 3, 4))
    code = np.where(rule == 0, 0, np.where(sign == 0, np.where(high, 5, 6), judged))
    return code.astype(np.int8)


def _assurance(targets: FloatArray, signs: CodeArray, *, upper: FloatArray,
               lower: FloatArray) -> CodeArray:
    """Codes into :data:`ASSURANCES`: the target against the process limits."""
    below, above = targets < lower, targets > upper
    passes = np.where(signs > 0, below, above)
    fails = np.where(signs > 0, above, below)
    code = np.select([np.isnan(targets) | (signs == 0), passes, fails], [0, 1, 2], 3)
    return code.astype(np.int8)
