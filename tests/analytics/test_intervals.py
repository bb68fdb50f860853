"""Confidence intervals against PHEindicatormethods' published test values and scipy.

Reference values: ``tests/fixtures/benchmarking/`` (PHEindicatormethods v2.1.0, GPL-3, its
tests; see the README there). Formulas checked independently use scipy.stats directly.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from missionboard.analytics.intervals import (
    Interval,
    count_interval,
    directly_standardised_rate,
    expected_counts,
    rate,
    standardised_ratio,
    two_sided_z,
    wilson,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "benchmarking"
LEVELS = (0.95, 0.998)


def read(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def number(text: str) -> float:
    return float(text) if text else math.nan


def column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([number(row[name]) for row in rows])


def assert_limits(interval: Interval, rows: list[dict[str, str]]) -> None:
    expected = {0.95: ("lower95_0cl", "upper95_0cl"), 0.998: ("lower99_8cl", "upper99_8cl")}
    np.testing.assert_allclose(interval.value, column(rows, "value"), rtol=1e-12)
    for level, (low, high) in expected.items():
        lower, upper = interval.at(level)
        np.testing.assert_allclose(lower, column(rows, low), rtol=1e-10)
        np.testing.assert_allclose(upper, column(rows, high), rtol=1e-10)


# --------------------------------------------------------------------------------------------
# PHEindicatormethods fixtures
# --------------------------------------------------------------------------------------------

def test_byar_and_wilson_reproduce_phe_testdata_b_w() -> None:
    # PHEindicatormethods v2.1.0 tests, testdata_Byars_Wilson (byars_*, wilson_*).
    rows = read("pheim_xlsx_testdata_Byars_Wilson__testdata_B_W.csv")
    for row in rows:
        level = {"95%": 0.95, "99.8%": 0.998}[row["confidence"]]
        x = np.array([number(row["x"])])
        if row["method"] == "Byars":
            interval = count_interval(x, levels=level, method="byar")
        else:
            interval = wilson(x, np.array([number(row["n"])]), levels=level)
        lower, upper = interval.at(level)
        np.testing.assert_allclose(lower, [number(row["lowercl"])], rtol=1e-10)
        np.testing.assert_allclose(upper, [number(row["uppercl"])], rtol=1e-10)
    assert rows[12]["lowercl"] == ""  # row 13: Byar's lower limit for x = 1 at 99.8% is NA


@pytest.mark.parametrize("multiplier", [1.0, 100.0])
def test_wilson_reproduces_phe_proportion(multiplier: float) -> None:
    # PHEindicatormethods v2.1.0 tests, testdata_Prop: phe_proportion(multiplier = 1, 100),
    # both confidence levels; missing numerators or denominators give NA.
    rows = [row for row in read("pheim_xlsx_testdata_Proportion__testdata_Prop.csv")
            if float(row["multiplier"]) == multiplier]
    interval = wilson(column(rows, "Numerator"), column(rows, "Denominator"), levels=LEVELS,
                      multiplier=multiplier)
    assert_limits(interval, rows)


@pytest.mark.parametrize("multiplier", [100.0, 100_000.0])
def test_rate_reproduces_phe_rate(multiplier: float) -> None:
    # PHEindicatormethods v2.1.0 tests, testdata_Rate: phe_rate(multiplier = 100, 100000),
    # exact limits below 10 events and Byar's from 10.
    rows = [row for row in read("pheim_xlsx_testdata_Rate__testdata_Rate.csv")
            if float(row["multiplier"]) == multiplier]
    interval = rate(column(rows, "Numerator"), column(rows, "Denominator"), levels=LEVELS,
                    multiplier=multiplier)
    assert_limits(interval, rows)
    exact = [row["Area"] for row in rows if row["method"] == "Exact"]
    assert exact == [row["Area"] for row in rows if 0 <= number(row["Numerator"]) < 10]


def test_standardised_ratio_uses_the_rate_rule_on_observed_counts() -> None:
    # calculate_ISRatio applies phe_rate's limits to O and divides by E: with E equal to the
    # rate fixture's denominators the ratio times 100 000 is the rate per 100 000.
    rows = [row for row in read("pheim_xlsx_testdata_Rate__testdata_Rate.csv")
            if float(row["multiplier"]) == 100_000.0]
    interval = standardised_ratio(column(rows, "Numerator"), column(rows, "Denominator"),
                                  levels=LEVELS, reference=100_000.0)
    assert_limits(interval, rows)


def test_dsr_of_one_stratum_is_the_byar_rate() -> None:
    # With one stratum Dobson's limits reduce to Byar's limits on O divided by n: the
    # PHEindicatormethods rate fixture's Byar rows.
    rows = [row for row in read("pheim_xlsx_testdata_Rate__testdata_Rate.csv")
            if float(row["multiplier"]) == 100.0 and row["method"] == "Byars"
            and row["Denominator"]]
    interval = directly_standardised_rate(column(rows, "Numerator")[:, None],
                                          column(rows, "Denominator")[:, None], [1.0],
                                          levels=LEVELS, multiplier=100.0)
    assert_limits(interval, rows)


# --------------------------------------------------------------------------------------------
# Independent formulas
# --------------------------------------------------------------------------------------------

def test_exact_poisson_limits_are_chi_square_quantiles() -> None:
    counts = np.array([0.0, 1.0, 4.0, 9.0, 37.0, 1000.0])
    interval = count_interval(counts, levels=LEVELS, method="exact")
    for level in LEVELS:
        q = (1 - level) / 2
        lower, upper = interval.at(level)
        expected_lower = [0.0 if c == 0 else stats.chi2.ppf(q, 2 * c) / 2 for c in counts]
        np.testing.assert_allclose(lower, expected_lower, rtol=1e-12)
        np.testing.assert_allclose(upper, stats.chi2.ppf(1 - q, 2 * counts + 2) / 2,
                                   rtol=1e-12)


def test_fingertips_rule_switches_from_exact_to_byar_at_ten() -> None:
    interval = count_interval(np.array([9.0, 10.0]), levels=0.95)
    z = stats.norm.ppf(0.975)
    assert interval.lower[0, 0] == pytest.approx(stats.chi2.ppf(0.025, 18) / 2, rel=1e-12)
    assert interval.lower[0, 1] == pytest.approx(10 * (1 - 1 / 90 - z / (3 * math.sqrt(10)))**3,
                                                 rel=1e-12)


def test_dobson_dsr_against_the_formula_written_out() -> None:
    observed = np.array([[3.0, 10.0, 25.0], [0.0, 4.0, 5.0], [12.0, np.nan, 40.0]])
    population = np.array([[1000.0, 2000.0, 1500.0], [800.0, 900.0, 700.0],
                           [5000.0, 4000.0, 3000.0]])
    standard = np.array([0.3, 0.5, 0.2]) * 100_000
    interval = directly_standardised_rate(observed, population, standard, levels=LEVELS)
    for i in range(3):
        o = [0.0 if math.isnan(v) else v for v in observed[i]]
        total = sum(o)
        if total < 10:
            assert math.isnan(interval.value[i])
            continue
        w = [s / sum(standard) for s in standard]
        dsr = sum(wk * ok / nk for wk, ok, nk in zip(w, o, population[i], strict=True))
        var = sum(wk**2 * ok / nk**2 for wk, ok, nk in zip(w, o, population[i], strict=True))
        for j, level in enumerate(LEVELS):
            z = stats.norm.ppf((1 + level) / 2)
            low = total * (1 - 1 / (9 * total) - z / (3 * math.sqrt(total)))**3
            high = (total + 1) * (1 - 1 / (9 * (total + 1)) + z / (3 * math.sqrt(total + 1)))**3
            spread = math.sqrt(var / total)
            assert interval.lower[j, i] == pytest.approx((dsr + spread * (low - total)) * 1e5)
            assert interval.upper[j, i] == pytest.approx((dsr + spread * (high - total)) * 1e5)
        assert interval.value[i] == pytest.approx(dsr * 1e5)


def test_expected_counts_sum_stratum_populations_times_reference_rates() -> None:
    expected = expected_counts([[100.0, 200.0], [50.0, 0.0]], [0.01, 0.03])
    np.testing.assert_allclose(expected, [100 * 0.01 + 200 * 0.03, 50 * 0.01])


def test_levels_are_validated() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        wilson([1], [2], levels=95)
    with pytest.raises(ValueError, match="repeat"):
        two_sided_z((0.95, 0.95))
    with pytest.raises(ValueError, match="exceed"):
        wilson([3], [2])
    with pytest.raises(ValueError, match="negative"):
        rate([-1], [2])
    with pytest.raises(KeyError):
        wilson([1], [2]).at(0.9)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

counts = st.lists(st.integers(0, 100_000), min_size=1, max_size=30)
levels = st.lists(st.floats(0.5, 0.9999), min_size=1, max_size=3, unique=True)


def assert_contains_and_nests(interval: Interval) -> None:
    order = np.argsort(interval.levels)
    lower, upper = interval.lower[order], interval.upper[order]
    finite = ~np.isnan(lower)
    assert np.all(lower[finite] <= np.broadcast_to(interval.value, lower.shape)[finite])
    assert np.all(upper >= interval.value)
    assert np.all(np.diff(upper, axis=0) >= 0)
    both = finite[1:] & finite[:-1]
    assert np.all(np.diff(lower, axis=0)[both] <= 0)


@settings(max_examples=60, deadline=None)
@given(counts=counts, levels=levels, method=st.sampled_from(["exact", "byar", "phe"]))
def test_count_intervals_contain_the_count_and_nest(counts: list[int], levels: list[float],
                                                    method: str) -> None:
    assert_contains_and_nests(count_interval(counts, levels=levels, method=method))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), levels=levels)
def test_wilson_intervals_contain_the_proportion_within_zero_and_one(
        data: st.DataObject, levels: list[float]) -> None:
    n = np.array(data.draw(st.lists(st.integers(1, 10**7), min_size=1, max_size=20)))
    r = np.array([data.draw(st.integers(0, int(size))) for size in n])
    interval = wilson(r, n, levels=levels)
    assert_contains_and_nests(interval)
    assert np.all(interval.lower >= -1e-15)
    assert np.all(interval.upper <= 1 + 1e-15)


@settings(max_examples=60, deadline=None)
@given(counts=counts, levels=levels,
       size=st.floats(1e-3, 1e7, allow_nan=False, allow_infinity=False))
def test_rate_and_ratio_intervals_contain_the_estimate(counts: list[int], levels: list[float],
                                                       size: float) -> None:
    assert_contains_and_nests(rate(counts, [size] * len(counts), levels=levels))
    assert_contains_and_nests(standardised_ratio(counts, [size] * len(counts), levels=levels))
