"""XmR charts: the NHSRplotthedots fixture, one series per rule, icons, and properties.

The screening fixture is ``tests/fixtures/benchmarking/ptd_xmr_screening_example.csv``, from
the vignette of NHSRplotthedots (nhs-r-community/NHSRplotthedots v0.2.2, MIT): 18 daily values;
``ptd_spc(screen_outliers=TRUE)`` gives mean 1.94 and limits 4.60 / −0.72, the Making Data
Count Excel tool (``screen_outliers=FALSE``) 6.95 / −3.06.

The properties compare the vectorised engine with :func:`reference_chart` below, a plain-Python
reading of NHSRplotthedots' rules (``ptd_spc_standard`` and ``ptd_calculate_point_type``),
written point by point without the module.
"""

from __future__ import annotations

import csv
import itertools
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from missionboard.analytics.spc import (
    ASSURANCES,
    RULES,
    VARIATIONS,
    XmRChart,
    xmr_chart,
    xmr_charts,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "benchmarking"


def screening_example() -> list[float]:
    with (FIXTURES / "ptd_xmr_screening_example.csv").open(encoding="utf-8-sig") as f:
        return [float(row["value"]) for row in csv.DictReader(f)]


def flagged(chart: XmRChart) -> list[tuple[int, str | None]]:
    return [(p.period, p.rule) for p in chart.points if p.special_cause]


# --------------------------------------------------------------------------------------------
# The published fixture
# --------------------------------------------------------------------------------------------


def test_screening_example_matches_nhsrplotthedots() -> None:
    values = screening_example()
    screened = xmr_chart(values)
    assert round(screened.mean, 2) == 1.94
    assert (round(screened.upper, 2), round(screened.lower, 2)) == (4.60, -0.72)
    unscreened = xmr_chart(values, screen_outliers=False)
    assert round(unscreened.mean, 2) == 1.94
    assert (round(unscreened.upper, 2), round(unscreened.lower, 2)) == (6.95, -3.06)


def test_screening_example_by_hand() -> None:
    # 9 ones, 8 twos and a 10: mean 35/18. Moving ranges: fifteen of 1, then 8 and 9 around
    # the 10: MR̄ = 32/17 ≈ 1.88; 3.267·MR̄ ≈ 6.15 drops the 8 and the 9, leaving MR̄ = 1.
    values = screening_example()
    screened = xmr_chart(values)
    assert screened.mean == pytest.approx(35 / 18)
    assert screened.mr_bar == pytest.approx(1.0)
    assert screened.screened_ranges == 2
    assert screened.upper == pytest.approx(35 / 18 + 2.66)
    unscreened = xmr_chart(values, screen_outliers=False)
    assert unscreened.mr_bar == pytest.approx(32 / 17)
    assert unscreened.screened_ranges == 0
    assert unscreened.lower == pytest.approx(35 / 18 - 2.66 * 32 / 17)
    # The 10 is the only special cause either way; the last point is common cause.
    assert flagged(screened) == flagged(unscreened) == [(4, "outside_limits")]
    assert screened.variation_icon == "common_cause"
    assert screened.baseline_points == 18
    assert not screened.trial_limits


# --------------------------------------------------------------------------------------------
# One series per rule: each triggers exactly that rule, at exactly the points that make it up
# --------------------------------------------------------------------------------------------

# Alternating values keep every point near the mean, with no run on one side and no trend.
TREND = [5, 3, 5, 3, 5, 3, 5, 3.4, 3.6, 3.8, 4.0, 4.2, 4.4, 4.6, 3, 5, 3, 5, 3]
TWO_IN_THREE = [5, 6, 5, 6, 5, 6, 5, 6, 5, 8.5, 6, 8.5, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6]
SHIFT = [4, 6, 4, 6, 4, 6, 4, 5.3, 5.2, 5.3, 5.2, 5.3, 5.2, 5.3, 4, 6, 4, 6, 4]


def plain_limits(values: list[float]) -> tuple[float, float, float]:
    """Mean, near-limit and limit half-widths, written out (screening drops nothing here)."""
    ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    mr_bar = sum(ranges) / len(ranges)
    assert max(ranges) < 3.267 * mr_bar
    return sum(values) / len(values), 2 / 3 * 2.66 * mr_bar, 2.66 * mr_bar


def test_outside_limits_alone() -> None:
    chart = xmr_chart(screening_example())
    assert flagged(chart) == [(4, "outside_limits")]
    assert chart.points[4].variation == "improvement_high"


def test_trend_alone() -> None:
    mean, near, _ = plain_limits(TREND)
    assert all(abs(v - mean) < near for v in TREND)  # nothing near or beyond the limits
    chart = xmr_chart(TREND)
    assert flagged(chart) == [(t, "trend") for t in range(7, 14)]
    assert {chart.points[t].variation for t in range(7, 14)} == {"improvement_high"}


def test_trend_of_six_is_not_a_trend_by_default() -> None:
    six = [*TREND[:8], *TREND[9:]]  # drop one point of the rise: 6 rising points
    assert not any(p.special_cause for p in xmr_chart(six).points)
    assert flagged(xmr_chart(six, trend_points=6)) == [(t, "trend") for t in range(7, 13)]


def test_falling_trend_is_low() -> None:
    chart = xmr_chart([-v for v in TREND], improvement="down")
    assert flagged(chart) == [(t, "trend") for t in range(7, 14)]
    assert {chart.points[t].variation for t in range(7, 14)} == {"improvement_low"}


def test_two_in_three_alone() -> None:
    mean, near, limit = plain_limits(TWO_IN_THREE)
    assert near < 8.5 - mean < limit  # the two 8.5s lie between the near limit and the limit
    assert mean < 6  # and the 6 between them is on the same side of the mean
    chart = xmr_chart(TWO_IN_THREE)
    # Only the points beyond the near limit are flagged, not the 6 between them.
    assert flagged(chart) == [(9, "two_in_three"), (11, "two_in_three")]
    assert chart.points[9].variation == "improvement_high"


def test_two_beyond_the_near_limit_on_opposite_sides_is_not_two_in_three() -> None:
    values = [*TWO_IN_THREE]
    values[10] = 3.0  # the point between the two 8.5s drops below the mean
    assert not any(p.special_cause for p in xmr_chart(values).points)


def test_shift_alone() -> None:
    mean, near, _ = plain_limits(SHIFT)
    assert all(mean < v < mean + near for v in SHIFT[7:14])
    chart = xmr_chart(SHIFT)
    assert flagged(chart) == [(t, "shift") for t in range(7, 14)]
    assert flagged(xmr_chart(SHIFT, shift_points=8)) == []


def test_a_point_on_the_mean_breaks_a_shift() -> None:
    # Mean exactly 0: seven points above it but for one on it.
    values = [-1.0, 1.0, -1.0, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5, -1.0, -1.0, 1.0, -1.0, 0.0]
    values[-1] = -sum(values[:-1])
    chart = xmr_chart(values)
    assert chart.mean == 0.0
    assert flagged(chart) == []


def test_precedence_of_the_rules() -> None:
    # A shift of 7 whose last point is beyond the limit: that point is "outside_limits", the
    # rest "shift" (mean 69.5/19 ≈ 3.66, so the 4s are above it).
    values = [0, 4, 0, 4, 0, 4, 0, 4.5, 4, 4.5, 4, 4.5, 4, 20, 0, 4, 0, 4, 0]
    chart = xmr_chart(values)
    assert chart.points[13].value > chart.upper
    assert flagged(chart) == [*((t, "shift") for t in range(7, 13)), (13, "outside_limits")]
    # A rising trend that is also a shift above the mean (97.2/19 ≈ 5.12): "trend" wins; the
    # 6 before it, above the mean too, is part of the shift only.
    rising = [4, 6, 4, 6, 4, 4, 6, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8, 5.9, 4, 6, 4, 6, 4]
    assert flagged(xmr_chart(rising)) == [(6, "shift"), *((t, "trend") for t in range(7, 14))]
    # Two in three inside a shift: the two points beyond the near limit are "two_in_three".
    both = [5, 6, 5, 6, 5, 6, 5, 6, 5, 8.5, 6, 8.5, 6, 6, 6, 6, 5, 6, 5, 6, 5, 6]
    chart = xmr_chart(both)
    assert flagged(chart) == [(9, "two_in_three"), (10, "shift"), (11, "two_in_three"),
                              *((t, "shift") for t in range(12, 16))]


def test_peak_shared_by_two_trends_takes_the_later_one() -> None:
    # Up seven, down seven: the peak belongs to both; like NHSRplotthedots, to the fall.
    values = [-4, 4, -4, 4, -4, 4, -3, -2, -1, 0, 1, 2, 3, 2, 1, 0, -1, -2, -3, 4, -4, 4, -4]
    chart = xmr_chart(values, improvement="none")
    assert [p.rule for p in chart.points[6:19]] == ["trend"] * 13
    sides = [p.variation for p in chart.points[6:19]]
    assert sides == ["neither_high"] * 6 + ["neither_low"] * 7


def test_saw_tooth_trend_keeps_its_direction() -> None:
    # Two rising trends, the second starting below the end of the first. NHSRplotthedots
    # reads the first trend's last point as "decreasing" (from the next step down); here
    # it stays a rising point.
    values = [1.0, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6]
    chart = xmr_chart(values, screen_outliers=False)
    assert all(p.rule == "trend" for p in chart.points)
    assert {p.variation for p in chart.points} == {"improvement_high"}


# --------------------------------------------------------------------------------------------
# Icons
# --------------------------------------------------------------------------------------------

# 0 and 4 alternate about the mean (44/14): only the last point, beyond the limit, is special.
HIGH_LAST = [*([0.0, 4.0] * 6), 0.0, 20.0]
LOW_LAST = [-v for v in HIGH_LAST]


@pytest.mark.parametrize(("values", "improvement", "icon"), [
    (screening_example(), "up", "common_cause"),
    (HIGH_LAST, "up", "improvement_high"),
    (LOW_LAST, "down", "improvement_low"),
    (HIGH_LAST, "down", "concern_high"),
    (LOW_LAST, "up", "concern_low"),
    (HIGH_LAST, "none", "neither_high"),
    (LOW_LAST, "none", "neither_low"),
])
def test_variation_icon(values: list[float], improvement: str, icon: str) -> None:
    chart = xmr_chart(values, improvement=improvement)  # type: ignore[arg-type]
    assert chart.points[-1].special_cause == (icon != "common_cause")
    assert chart.variation_icon == icon


@pytest.mark.parametrize(("improvement", "target", "icon"), [
    ("up", -1.0, "pass"),  # every point expected above the target
    ("up", 5.0, "fail"),  # the target lies above the upper limit
    ("up", 2.0, "hit_and_miss"),
    ("down", 5.0, "pass"),
    ("down", -1.0, "fail"),
    ("down", 2.0, "hit_and_miss"),
    ("none", 5.0, None),
    ("up", None, None),
])
def test_assurance_icon(improvement: str, target: float | None, icon: str | None) -> None:
    chart = xmr_chart(screening_example(), improvement=improvement,  # type: ignore[arg-type]
                      target=target)
    assert -1.0 < chart.lower < 2.0 < chart.upper < 5.0
    assert chart.assurance_icon == icon


def test_target_on_a_limit_is_hit_and_miss() -> None:
    upper = xmr_chart(screening_example()).upper
    assert xmr_chart(screening_example(), target=upper).assurance_icon == "hit_and_miss"


# --------------------------------------------------------------------------------------------
# Fixed and trial limits; options; the JSON contract
# --------------------------------------------------------------------------------------------


def test_fixed_limits_rest_on_the_first_points() -> None:
    values = [*([5.0, 6.0] * 6), *([9.0, 10.0] * 6)]
    fixed = xmr_chart(values, fix_after=12)
    assert (fixed.mean, fixed.mr_bar, fixed.baseline_points) == (5.5, 1.0, 12)
    assert [p.rule for p in fixed.points[12:]] == ["outside_limits"] * 12
    free = xmr_chart(values)
    assert (free.mean, free.baseline_points) == (7.5, 24)
    assert xmr_chart(values[:11]).trial_limits
    assert not fixed.trial_limits


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="12 points"):
        xmr_chart([1.0, 2.0, 3.0], fix_after=6)
    with pytest.raises(ValueError, match="improvement"):
        xmr_chart([1.0, 2.0], improvement="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        xmr_chart([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="moving range"):
        xmr_chart([1.0])
    with pytest.raises(ValueError, match="2-D"):
        xmr_charts([1.0, 2.0])


def test_json_contract_of_the_spc_command() -> None:
    chart = xmr_chart(HIGH_LAST, target=3.0)
    data = chart.to_dict()
    assert list(data) == ["mean", "upper", "lower", "points", "variation_icon",
                          "assurance_icon"]
    points = data["points"]
    assert isinstance(points, list)
    assert points[0] == {"period": 0, "value": HIGH_LAST[0], "special_cause": False}
    assert points[-1]["special_cause"] is True
    assert data["variation_icon"] == "improvement_high"
    assert data["assurance_icon"] == "hit_and_miss"
    labels = [f"2024-{m:02d}" for m in range(1, len(HIGH_LAST) + 1)]
    labelled = json.loads(json.dumps(chart.to_dict(periods=labels)))
    assert [p["period"] for p in labelled["points"]] == labels
    assert xmr_chart([1.0, 2.0]).to_dict()["assurance_icon"] is None
    with pytest.raises(ValueError, match="labels"):
        chart.to_dict(periods=labels[1:])


def test_code_tables_decode_the_arrays() -> None:
    charts = xmr_charts([HIGH_LAST, LOW_LAST], improvement=[1, -1], target=[np.nan, 20.0])
    assert [VARIATIONS[c] for c in charts.variation_icon] == ["improvement_high",
                                                              "improvement_low"]
    assert [ASSURANCES[c] for c in charts.assurance_icon] == [None, "pass"]
    assert RULES[charts.rule[0, -1]] == "outside_limits"
    assert charts.special_cause[0, -1]
    with pytest.raises(ValueError, match="read-only"):
        charts.mean[0] = 0.0


# --------------------------------------------------------------------------------------------
# The reference reading of NHSRplotthedots, and properties
# --------------------------------------------------------------------------------------------


def reference_chart(values: list[float], *, screen: bool = True, trend: int = 7,
                    shift: int = 7) -> tuple[float, float, list[str | None], list[int]]:
    """Mean, MR̄, each point's rule and side, point by point as NHSRplotthedots states them."""
    n = len(values)
    mean = sum(values) / n
    ranges = [abs(values[t] - values[t - 1]) for t in range(1, n)]
    mr_bar = sum(ranges) / len(ranges)
    if screen and mr_bar > 0:
        kept = [r for r in ranges if r < 3.267 * mr_bar]
        mr_bar = sum(kept) / len(kept)
    upper, lower = mean + 2.66 * mr_bar, mean - 2.66 * mr_bar
    near_upper, near_lower = mean + 2 * (2.66 / 3) * mr_bar, mean - 2 * (2.66 / 3) * mr_bar
    side = [1 if v > mean else -1 if v < mean else 0 for v in values]
    outside = [v > upper or v < lower for v in values]
    near = [not outside[t] and (v > near_upper or v < near_lower) for t, v in enumerate(values)]
    way = reference_trend(values, trend)
    two_in_three = [False] * n
    for end in range(2, n):
        window = range(end - 2, end + 1)
        if abs(sum(side[t] for t in window)) == 3 and sum(near[t] for t in window) >= 2:
            for t in window:
                two_in_three[t] = two_in_three[t] or near[t]
    shifted = [False] * n
    for end in range(shift - 1, n):
        window = range(end - shift + 1, end + 1)
        if abs(sum(side[t] for t in window)) == shift:
            for t in window:
                shifted[t] = True
    rules: list[str | None] = [
        "outside_limits" if outside[t] else "trend" if way[t] else
        "two_in_three" if two_in_three[t] else "shift" if shifted[t] else None
        for t in range(n)]
    sides = [way[t] if rules[t] == "trend" else side[t] if rules[t] else 0 for t in range(n)]
    return mean, mr_bar, rules, sides


def reference_trend(values: list[float], trend: int) -> list[int]:
    """Per point +1 (−1) if in a run of ``trend`` strictly rising (falling) points, else 0;
    a point shared by two runs takes the later one."""
    way = [0] * len(values)
    for end in range(trend - 1, len(values)):
        window = range(end - trend + 1, end + 1)
        for direction in (1, -1):
            if all((values[t] - values[t - 1]) * direction > 0 for t in list(window)[1:]):
                for t in window:
                    way[t] = direction
    return way


def _segment() -> st.SearchStrategy[list[int]]:
    noise = st.lists(st.integers(-20, 20), min_size=1, max_size=8)
    run = st.lists(st.integers(-30, 30), min_size=3, max_size=9, unique=True)
    rising = run.map(sorted)
    falling = run.map(lambda v: sorted(v, reverse=True))
    level = st.tuples(st.integers(-15, 15), st.lists(st.integers(0, 3), min_size=4, max_size=10))
    return st.one_of(noise, rising, falling, level.map(lambda lv: [lv[0] + d for d in lv[1]]))


SERIES = st.lists(_segment(), min_size=1, max_size=6).map(
    lambda segments: [float(v) for segment in segments for v in segment]).filter(
    lambda values: len(values) >= 2)


def no_exact_ties(values: list[float]) -> bool:
    """No point exactly on a line, and no moving range exactly on the screening cut-off."""
    exact = [Fraction(v) for v in values]
    mean = sum(exact) / len(exact)
    ranges = [abs(b - a) for a, b in itertools.pairwise(exact)]
    mr_bar = sum(ranges) / len(ranges)
    if any(r == Fraction(3267, 1000) * mr_bar for r in ranges):
        return False
    kept = [r for r in ranges if r < Fraction(3267, 1000) * mr_bar] or ranges
    mr_bar = sum(kept) / len(kept)
    lines = {Fraction(0), Fraction(266, 100) * mr_bar, Fraction(2 * 266, 300) * mr_bar}
    return all(abs(v - mean) not in lines or (v == mean and mr_bar == 0) for v in exact)


@settings(max_examples=300)
@given(values=SERIES, trend=st.integers(3, 9), shift=st.integers(2, 9), screen=st.booleans())
def test_engine_matches_the_reference_reading(values: list[float], trend: int, shift: int,
                                              screen: bool) -> None:
    chart = xmr_chart(values, trend_points=trend, shift_points=shift, screen_outliers=screen,
                      improvement="none")
    mean, mr_bar, rules, sides = reference_chart(values, screen=screen, trend=trend,
                                                 shift=shift)
    assert chart.mean == mean
    assert chart.mr_bar == mr_bar
    assert [p.rule for p in chart.points] == rules
    expected = ["common_cause" if s == 0 else "neither_high" if s > 0 else "neither_low"
                for s in sides]
    assert [p.variation for p in chart.points] == expected


@given(values=SERIES, c=st.integers(-1000, 1000))
def test_adding_a_constant_moves_the_centre_only(values: list[float], c: int) -> None:
    assume(no_exact_ties(values))
    chart, moved = xmr_chart(values), xmr_chart([v + c for v in values])
    assert moved.mean == pytest.approx(chart.mean + c, abs=1e-9)
    assert moved.mr_bar == pytest.approx(chart.mr_bar, abs=1e-9)
    assert moved.upper - moved.mean == pytest.approx(chart.upper - chart.mean, abs=1e-9)
    assert [(p.rule, p.variation) for p in moved.points] == [
        (p.rule, p.variation) for p in chart.points]


@given(values=SERIES, power=st.integers(-20, 20))
def test_multiplying_by_a_power_of_two_scales_exactly(values: list[float], power: int) -> None:
    c = 2.0 ** power
    chart, scaled = xmr_chart(values), xmr_chart([v * c for v in values])
    assert (scaled.mean, scaled.upper, scaled.lower) == (chart.mean * c, chart.upper * c,
                                                         chart.lower * c)
    assert [p.variation for p in scaled.points] == [p.variation for p in chart.points]


@given(values=SERIES, c=st.floats(0.01, 100))
def test_multiplying_by_a_positive_constant_scales(values: list[float], c: float) -> None:
    assume(no_exact_ties(values))
    chart, scaled = xmr_chart(values), xmr_chart([v * c for v in values])
    for field in ("mean", "mr_bar", "upper", "lower", "near_upper", "near_lower"):
        assert getattr(scaled, field) == pytest.approx(getattr(chart, field) * c, abs=1e-9)
    assert [p.rule for p in scaled.points] == [p.rule for p in chart.points]


SWAP = {"improvement_high": "concern_high", "improvement_low": "concern_low",
        "concern_high": "improvement_high", "concern_low": "improvement_low",
        "common_cause": "common_cause"}


@given(values=SERIES, target=st.none() | st.floats(-40, 40))
def test_reversing_the_improvement_direction_swaps_improvement_and_concern(
        values: list[float], target: float | None) -> None:
    up = xmr_chart(values, improvement="up", target=target)
    down = xmr_chart(values, improvement="down", target=target)
    assert [SWAP[p.variation] for p in up.points] == [p.variation for p in down.points]
    assert SWAP[up.variation_icon] == down.variation_icon
    swap_assurance = {"pass": "fail", "fail": "pass", "hit_and_miss": "hit_and_miss", None: None}
    assert swap_assurance[up.assurance_icon] == down.assurance_icon


ROWS = st.integers(2, 30).flatmap(lambda length: st.lists(
    st.lists(st.integers(-20, 20).map(float), min_size=length, max_size=length),
    min_size=1, max_size=6))


@given(rows=ROWS, data=st.data())
def test_each_row_of_the_array_form_is_the_single_series_chart(
        rows: list[list[float]], data: st.DataObject) -> None:
    signs = data.draw(st.lists(st.sampled_from([1, -1, 0]), min_size=len(rows),
                               max_size=len(rows)))
    targets = data.draw(st.lists(st.floats(-30, 30) | st.just(float("nan")),
                                 min_size=len(rows), max_size=len(rows)))
    charts = xmr_charts(rows, improvement=signs, target=targets)
    names = {1: "up", -1: "down", 0: "none"}
    for i, row in enumerate(rows):
        single = xmr_chart(row, improvement=names[signs[i]],  # type: ignore[arg-type]
                           target=None if np.isnan(targets[i]) else targets[i])
        assert charts.chart(i) == single


@given(rows=ROWS, data=st.data())
def test_permuting_the_series_permutes_the_results(rows: list[list[float]],
                                                   data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(rows))))
    charts = xmr_charts(rows)
    permuted = xmr_charts([rows[i] for i in order])
    for position, i in enumerate(order):
        assert permuted.chart(position) == charts.chart(i)


@given(values=SERIES, missing=st.integers(1, 5))
def test_missing_values_before_a_series_starts_take_no_part(values: list[float],
                                                            missing: int) -> None:
    padded = xmr_charts([[float("nan")] * missing + values])
    chart = xmr_chart(values)
    assert (padded.mean[0], padded.upper[0]) == (chart.mean, chart.upper)
    assert VARIATIONS[padded.variation_icon[0]] == chart.variation_icon
    assert [RULES[r] for r in padded.rule[0, missing:]] == [p.rule for p in chart.points]
    assert [p.period - missing for p in padded.chart(0).points] == list(range(len(values)))
