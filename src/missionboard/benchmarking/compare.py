"""Compare a metric's units with their peers: the funnel for a period, who is doing better
than expected and for how long, shrunken estimates, and one unit's SPC chart.

The defaults follow the specification's operational rule for positive deviance: a unit is
"doing better than expected" when it lies beyond the over-dispersion-adjusted 99.8% limit in
the better direction (Spiegelhalter's square-root-arcsine funnel with 10% Winsorisation and
additive random effects), and *sustained* when it has done so in at least
:data:`SUSTAINED_PERIODS` consecutive periods up to the one shown. Shrunken (empirical-Bayes)
estimates with 95% intervals are reported beside the raw values, never ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from missionboard.analytics import trends
from missionboard.analytics.funnel import FunnelLimits, FunnelResult, funnel
from missionboard.analytics.shrinkage import shrink_funnel
from missionboard.analytics.spc import XmRChart, xmr_chart
from missionboard.benchmarking import store
from missionboard.benchmarking.models import UnitMetric
from missionboard.metrics.models import Polarity

SUSTAINED_PERIODS = 2
METHOD: Literal["spiegelhalter"] = "spiegelhalter"


@dataclass(frozen=True)
class UnitRow:
    code: str
    numerator: float
    denominator: float
    value: float
    z: float
    significance: str
    better: int
    """+2 beyond the better 99.8% limit, +1 beyond the better 95%, 0, −1, −2 worse."""
    periods_beyond: int
    """Consecutive periods up to this one beyond the better 99.8% limit."""
    shrunken: float
    shrunken_lower: float
    shrunken_upper: float
    trend: str
    """The Fingertips recent-trend marker over the last five periods (proportions)."""


@dataclass(frozen=True)
class Comparison:
    unit_metric: UnitMetric
    period: str
    periods: tuple[str, ...]
    result: FunnelResult
    limits: FunnelLimits
    rows: tuple[UnitRow, ...]
    higher_is_better: bool

    @property
    def doing_better(self) -> list[UnitRow]:
        """Beyond the better 99.8% limit now, furthest beyond first."""
        return sorted((r for r in self.rows if r.better == 2), key=lambda r: -abs(r.z))

    @property
    def sustained(self) -> list[UnitRow]:
        return [r for r in self.doing_better if r.periods_beyond >= SUSTAINED_PERIODS]


_BETTER = {"high_99.8": 2, "high_95": 1, "not_significant": 0, "low_95": -1, "low_99.8": -2}


def _funnel(numerator: np.ndarray, denominator: np.ndarray, statistic: str) -> FunnelResult:
    return funnel(numerator, denominator, statistic=statistic,  # type: ignore[arg-type]
                  method=METHOD)


def compare(unit_metric: UnitMetric, *, data_dir: Path, period: str | None = None,
            peers: list[str] | None = None) -> Comparison:
    """The funnel of ``period`` (default: the latest) among ``peers`` (default: every unit)."""
    panel = store.panel(store.dataset_path(data_dir, unit_metric.metric.slug), units=peers)
    index = len(panel.periods) - 1 if period is None else panel.periods.index(period)
    sign = -1 if unit_metric.metric.polarity == Polarity.LOWER_IS_BETTER else 1
    statistic = unit_metric.statistic.value
    present = ~np.isnan(panel.denominator[index])
    result = _funnel(panel.numerator[index, present], panel.denominator[index, present],
                     statistic)
    streak = _streaks(panel, index, statistic, sign)
    trend = _trends(panel, index, statistic, sign)
    shrunk = shrink_funnel(result)
    lower, upper = np.atleast_2d(shrunk.lower)[0], np.atleast_2d(shrunk.upper)[0]
    codes = [u for u, p in zip(panel.units, present, strict=True) if p]
    rows = tuple(
        UnitRow(code=code, numerator=float(panel.numerator[index, j]),
                denominator=float(panel.denominator[index, j]),
                value=float(result.value[i]), z=float(result.z_adjusted[i]),
                significance=str(result.significance[i]),
                better=sign * _BETTER[str(result.significance[i])],
                periods_beyond=int(streak[j]), shrunken=float(shrunk.estimate[i]),
                shrunken_lower=float(lower[i]), shrunken_upper=float(upper[i]),
                trend=trend[j])
        for i, (j, code) in enumerate(zip(np.flatnonzero(present), codes, strict=True)))
    return Comparison(unit_metric=unit_metric, period=panel.periods[index],
                      periods=panel.periods, result=result, limits=result.limits(),
                      rows=rows, higher_is_better=sign > 0)


def _streaks(panel: store.Panel, index: int, statistic: str, sign: int) -> np.ndarray:
    """For each unit, the consecutive periods up to ``index`` beyond the better 99.8% limit."""
    streak = np.zeros(len(panel.units), dtype=np.int64)
    alive = np.ones(len(panel.units), dtype=bool)
    for k in range(index, -1, -1):
        present = ~np.isnan(panel.denominator[k])
        if present.sum() < 3 or not alive.any():
            break
        result = _funnel(panel.numerator[k, present], panel.denominator[k, present], statistic)
        beyond = np.zeros(len(panel.units), dtype=bool)
        beyond[present] = [sign * _BETTER[str(s)] == 2 for s in result.significance]
        alive &= beyond
        streak += alive
    return streak


def _trends(panel: store.Panel, index: int, statistic: str, sign: int) -> list[str]:
    """Each unit's recent trend over the five periods up to ``index``."""
    start = index + 1 - trends.POINTS
    if statistic != "proportion" or start < 0:
        return ["Cannot be calculated"] * len(panel.units)
    window = slice(start, index + 1)
    marked = trends.proportion_trends(panel.numerator[window].T, panel.denominator[window].T,
                                      improvement="up" if sign > 0 else "down")
    return marked.labels()


@dataclass(frozen=True)
class UnitHistory:
    periods: tuple[str, ...]
    values: tuple[float, ...]
    chart: XmRChart | None


def unit_history(unit_metric: UnitMetric, *, data_dir: Path, code: str,
                 target: float | None = None) -> UnitHistory:
    """One unit's values over time, with an XmR chart once it has enough points."""
    series = store.unit_series(store.dataset_path(data_dir, unit_metric.metric.slug), code)
    values = tuple(n / d for _, _, n, d in series if d > 0)
    improvement: Literal["up", "down"] = (
        "down" if unit_metric.metric.polarity == Polarity.LOWER_IS_BETTER else "up")
    chart = xmr_chart(values, improvement=improvement, target=target) if len(values) >= 3 \
        else None
    return UnitHistory(periods=tuple(p for p, _, _, _ in series), values=values, chart=chart)


def percentile(values: list[float], value: float) -> float:
    """Share of ``values`` at or below ``value`` (for the spine chart's position)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan
    return sum(v <= value for v in finite) / len(finite)
