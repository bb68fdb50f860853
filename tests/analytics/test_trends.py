"""Fingertips recent-trend markers: the PHEindicatormethods fixture, hand-computed values and
an independent weighted regression, each outcome, and properties.

The fixture ``tests/fixtures/benchmarking/pheim_xlsx_testdata_trend_markers__testdata_prop_
trends.csv`` is from the tests of PHEindicatormethods' trend markers in the dhsc-govuk fork
(dhsc-govuk/PHEindicatormethods, branch ``add_trend_markers``, 2025-09, GPL-3):
``assign_trend_markers(value_type = "proportion")`` gives χ² = 12.5688, β = −0.1062,
"Decreasing" for 2019–2023.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from missionboard.analytics.trends import (
    REASONS,
    TRENDS,
    proportion_trend,
    proportion_trends,
    value_trend,
    value_trends,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "benchmarking"


def fixture() -> tuple[list[float], list[float], list[int]]:
    path = FIXTURES / "pheim_xlsx_testdata_trend_markers__testdata_prop_trends.csv"
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    return ([float(r["Count"]) for r in rows], [float(r["denominator"]) for r in rows],
            [int(r["Year"]) for r in rows])


def plain_chi_square(c: list[float], d: list[float], t: list[float]) -> float:
    """The Fingertips χ² for proportions, written out."""
    big_d, big_c = sum(d), sum(c)
    sum_ct = sum(ci * ti for ci, ti in zip(c, t, strict=True))
    sum_dt = sum(di * ti for di, ti in zip(d, t, strict=True))
    sum_dt2 = sum(di * ti * ti for di, ti in zip(d, t, strict=True))
    return (big_d * (big_d * sum_ct - big_c * sum_dt) ** 2
            / (big_c * (big_d - big_c) * (big_d * sum_dt2 - sum_dt ** 2)))


def logit_slope(c: list[float], d: list[float], t: list[float]) -> float:
    logits = [math.log(ci / (di - ci)) for ci, di in zip(c, d, strict=True)]
    return statistics.linear_regression(t, logits).slope


# --------------------------------------------------------------------------------------------
# Proportions
# --------------------------------------------------------------------------------------------


def test_fixture_matches_pheindicatormethods() -> None:
    counts, denominators, years = fixture()
    marker = proportion_trend(counts, denominators, years=years)
    assert marker.chi_square is not None
    assert marker.beta is not None
    assert round(marker.chi_square, 4) == 12.5688
    assert round(marker.beta, 4) == -0.1062
    assert marker.code == "decreasing"
    assert marker.label == "Decreasing"
    assert marker.reason is None


def test_fixture_by_hand_and_with_polarity() -> None:
    counts, denominators, years = fixture()
    t = [float(y) for y in years]
    marker = proportion_trend(counts, denominators, years=years, improvement="up")
    assert marker.chi_square == pytest.approx(plain_chi_square(counts, denominators, t),
                                              rel=1e-9)
    assert marker.beta == pytest.approx(logit_slope(counts, denominators, t), rel=1e-9)
    assert marker.label == "Decreasing and getting worse"
    down = proportion_trend(counts, denominators, years=years, improvement="down")
    assert down.label == "Decreasing and getting better"


def test_rising_proportion() -> None:
    d = [5000.0] * 5
    c = [1000.0, 1050, 1100, 1150, 1200]
    marker = proportion_trend(c, d, improvement="up")
    assert plain_chi_square(c, d, [0, 1, 2, 3, 4]) > 9.5495
    assert marker.code == "increasing"
    assert marker.label == "Increasing and getting better"


def test_one_point_driving_the_trend_is_an_outlier() -> None:
    # Rising by a point a year, then a collapse: significant overall, but without the last
    # year the slope is positive.
    d = [10_000.0] * 5
    c = [4900.0, 5000, 5100, 5200, 3000]
    t = [0.0, 1, 2, 3, 4]
    assert plain_chi_square(c, d, t) > 9.5495
    assert logit_slope(c, d, t) < 0 < logit_slope(c[:4], d[:4], t[:4])
    marker = proportion_trend(c, d)
    assert marker.code == "no_significant_change_outlier"
    assert marker.label == "No significant change (outlier)"
    assert marker.beta == pytest.approx(logit_slope(c, d, t))


def test_small_samples_show_no_significant_change() -> None:
    c, d = [10.0, 11, 12, 13, 14], [100.0] * 5
    assert plain_chi_square(c, d, [0, 1, 2, 3, 4]) < 9.5495
    marker = proportion_trend(c, d, improvement="up")
    assert marker.code == "no_significant_change"
    assert marker.label == "No significant change"


def test_only_the_last_five_years_count() -> None:
    counts, denominators, years = fixture()
    longer = proportion_trend([900.0, 50.0, *counts], [1000.0, 1000.0, *denominators],
                              years=[2017, 2018, *years])
    assert longer == proportion_trend(counts, denominators, years=years)


@pytest.mark.parametrize(("counts", "denominators", "reason"), [
    ([10.0, 11, 12, 13], [100.0] * 4, 1),
    ([10.0, 11, float("nan"), 13, 14], [100.0] * 5, 2),
    ([0.0, 11, 12, 13, 14], [100.0] * 5, 3),
    ([10.0, 11, 12, 13, 100], [100.0] * 5, 3),
])
def test_proportions_that_cannot_be_calculated(counts: list[float], denominators: list[float],
                                               reason: int) -> None:
    marker = proportion_trend(counts, denominators)
    assert marker.code == "cannot_be_calculated"
    assert marker.label == "Cannot be calculated"
    assert marker.reason == REASONS[reason]
    assert marker.beta is None
    assert marker.chi_square is None


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="numerator"):
        proportion_trend([10.0, 120, 12, 13, 14], [100.0] * 5)
    with pytest.raises(ValueError, match="increase"):
        proportion_trend([10.0] * 5, [100.0] * 5, years=[2020, 2019, 2021, 2022, 2023])
    with pytest.raises(ValueError, match="confidence"):
        value_trend([1.0] * 5, lower=[0.0] * 5, upper=[2.0] * 5, confidence=95)


# --------------------------------------------------------------------------------------------
# Other statistics: weighted least squares on standard errors from the confidence limits
# --------------------------------------------------------------------------------------------

RATES = [52.1, 50.3, 47.9, 46.2, 43.8]
LOWER = [49.0, 47.5, 45.0, 43.1, 40.9]
UPPER = [55.3, 53.2, 50.9, 49.4, 46.8]


def test_weighted_regression_matches_statsmodels() -> None:
    z = 1.959963984540054  # Φ⁻¹(0.975)
    weights = [(2 * z / (u - lo)) ** 2 for lo, u in zip(LOWER, UPPER, strict=True)]
    years = [2019, 2020, 2021, 2022, 2023]
    design = sm.add_constant(np.array(years, dtype=float) - 2021)
    fit = sm.WLS(RATES, design, weights=weights).fit(cov_type="fixed scale")
    beta, se = fit.params[1], fit.bse[1]
    marker = value_trend(RATES, lower=LOWER, upper=UPPER, years=years, improvement="down")
    assert marker.beta == pytest.approx(beta, rel=1e-9)
    assert marker.chi_square == pytest.approx((beta / se) ** 2, rel=1e-9)
    assert marker.chi_square is not None
    assert marker.chi_square > 9.5495
    assert marker.label == "Decreasing and getting better"


def test_weighted_regression_by_hand() -> None:
    # σₜ = (U − L)/(2·1.96…); Var β = Σw / (Σw·Σwt² − (Σwt)²).
    z = 1.959963984540054
    w = [1 / ((u - lo) / (2 * z)) ** 2 for lo, u in zip(LOWER, UPPER, strict=True)]
    t = [0.0, 1, 2, 3, 4]
    sw = sum(w)
    swt = sum(wi * ti for wi, ti in zip(w, t, strict=True))
    swy = sum(wi * yi for wi, yi in zip(w, RATES, strict=True))
    swty = sum(wi * ti * yi for wi, ti, yi in zip(w, t, RATES, strict=True))
    swt2 = sum(wi * ti * ti for wi, ti in zip(w, t, strict=True))
    beta = (sw * swty - swt * swy) / (sw * swt2 - swt ** 2)
    variance = sw / (sw * swt2 - swt ** 2)
    marker = value_trend(RATES, lower=LOWER, upper=UPPER)
    assert marker.beta == pytest.approx(beta, rel=1e-12)
    assert marker.chi_square == pytest.approx(beta ** 2 / variance, rel=1e-12)
    wider = value_trend(RATES, lower=LOWER, upper=UPPER, confidence=0.998)
    # The same limits read as 99.8% limits: σ smaller by 1.96/3.09, χ² larger by its square.
    assert wider.chi_square == pytest.approx(
        marker.chi_square * (3.090232306167813 / z) ** 2, rel=1e-12)


def test_values_with_an_outlier_and_without_limits() -> None:
    values = [10.0, 10.5, 11.0, 11.5, 2.0]
    marker = value_trend(values, lower=[v - 0.2 for v in values],
                         upper=[v + 0.2 for v in values])
    assert marker.code == "no_significant_change_outlier"
    flat = value_trend(RATES, lower=[*LOWER[:4], UPPER[4]], upper=UPPER)
    assert flat.code == "cannot_be_calculated"
    assert flat.reason == REASONS[4]


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

PROPORTIONS = st.integers(1, 8).flatmap(lambda rows: st.tuples(
    st.lists(st.lists(st.integers(1, 99), min_size=5, max_size=7), min_size=rows,
             max_size=rows),
    st.sampled_from([100, 1_000, 20_000]),
))


def _square(rows: list[list[int]]) -> np.ndarray:  # type: ignore[type-arg]
    width = min(len(r) for r in rows)
    return np.array([r[-width:] for r in rows], dtype=float)


@given(data=PROPORTIONS, signs=st.lists(st.sampled_from([1, -1, 0]), min_size=8, max_size=8))
def test_each_row_of_the_array_form_is_the_single_series_marker(
        data: tuple[list[list[int]], int], signs: list[int]) -> None:
    percent, size = data
    counts = _square(percent) * size / 100
    denominators = np.full_like(counts, size)
    markers = proportion_trends(counts, denominators, improvement=signs[:len(counts)])
    names = {1: "up", -1: "down", 0: "none"}
    for i in range(len(counts)):
        single = proportion_trend(counts[i], denominators[i],
                                  improvement=names[signs[i]])  # type: ignore[arg-type]
        assert markers.marker(i) == single
        assert markers.labels()[i] == single.label


@given(data=PROPORTIONS, order=st.randoms())
def test_permuting_the_series_permutes_the_markers(data: tuple[list[list[int]], int],
                                                  order: object) -> None:
    percent, size = data
    counts = _square(percent) * size / 100
    permutation = list(range(len(counts)))
    order.shuffle(permutation)  # type: ignore[attr-defined]
    denominators = np.full_like(counts, size)
    markers = proportion_trends(counts, denominators)
    permuted = proportion_trends(counts[permutation], denominators[permutation])
    for position, i in enumerate(permutation):
        assert permuted.marker(position) == markers.marker(i)


@given(percent=st.lists(st.integers(1, 99), min_size=5, max_size=5),
       size=st.sampled_from([100, 1_000, 20_000]), origin=st.integers(-3000, 3000))
def test_markers_ignore_the_origin_and_mirror_in_time_and_in_complement(
        percent: list[int], size: int, origin: int) -> None:
    counts = [p * size / 100 for p in percent]
    denominators = [float(size)] * 5
    years = [origin + k for k in range(5)]
    marker = proportion_trend(counts, denominators, years=years)
    base = proportion_trend(counts, denominators)
    assert marker == base  # computed on centred years, so bit for bit
    assert marker.beta is not None
    assert marker.chi_square is not None
    mirrored = {"increasing": "decreasing", "decreasing": "increasing"}
    reversed_in_time = proportion_trend(counts[::-1], denominators)
    complement = proportion_trend([size - c for c in counts], denominators)
    for other in (reversed_in_time, complement):
        assert other.beta == pytest.approx(-marker.beta, rel=1e-9, abs=1e-12)
        assert other.chi_square == pytest.approx(marker.chi_square, rel=1e-9, abs=1e-12)
        if marker.code in mirrored and abs(marker.chi_square - 9.5495) > 1e-6:
            assert other.code in (mirrored[marker.code], "no_significant_change_outlier")


def test_codes_index_the_tables() -> None:
    counts, denominators, years = fixture()
    markers = proportion_trends([counts, [*counts[:4], float("nan")]],
                                [denominators, denominators], years=years)
    assert [TRENDS[c] for c in markers.code] == ["decreasing", "cannot_be_calculated"]
    assert [REASONS[r] for r in markers.reason] == [None, REASONS[2]]
    assert np.isnan(markers.beta[1])
    many = value_trends([RATES, RATES], lower=[LOWER, LOWER], upper=[UPPER, UPPER],
                        years=[[2019, 2020, 2021, 2022, 2023], [1, 2, 3, 4, 5]])
    assert many.beta[0] == pytest.approx(many.beta[1])
