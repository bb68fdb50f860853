"""Funnel plots against PHEindicatormethods' and FunnelPlotR's published values, formulas
written out with scipy, and properties.

Reference values: ``tests/fixtures/benchmarking/`` — PHEindicatormethods v2.1.0 (GPL-3) and
FunnelPlotR v0.6.0 (MIT), from their test suites; the README there gives each producing call.
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

from missionboard.analytics.funnel import (
    Method,
    Overdispersion,
    Statistic,
    funnel,
    label,
    phe_funnel_lines,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "benchmarking"
PHE_LABELS = {"High (0.001)": "high_99.8", "High (0.025)": "high_95",
              "Not significant": "not_significant", "Low (0.025)": "low_95",
              "Low (0.001)": "low_99.8"}
Z95, Z998 = stats.norm.ppf(0.975), stats.norm.ppf(0.999)


def read(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def six_groups() -> tuple[np.ndarray, np.ndarray]:
    rows = read("fpr_toy_sr_6groups.csv")
    return (np.array([float(r["num"]) for r in rows]),
            np.array([float(r["denom"]) for r in rows]))


def phe_inputs() -> tuple[np.ndarray, np.ndarray, list[str]]:
    rows = read("pheim_testdata_funnel_prop_inputs.csv")
    return (np.array([float(r["numerator"]) for r in rows]),
            np.array([float(r["denominator"]) for r in rows]),
            [r["significance"] for r in rows])


def winsorised(z: np.ndarray, trim: float) -> np.ndarray:
    return np.clip(z, np.quantile(z, trim), np.quantile(z, 1 - trim))


def dersimonian_laird(z: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    phi = float(np.mean(z**2))
    n = z.size
    return phi, max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))


# --------------------------------------------------------------------------------------------
# PHEindicatormethods: the Fingertips method
# --------------------------------------------------------------------------------------------

def test_phe_significance_reproduces_all_303_labels() -> None:
    # PHEindicatormethods v2.1.0 tests: assign_funnel_significance(statistic = "proportion")
    # on testdata_funnel_prop_inputs; average Σnum/Σden = 0.80642448.
    numerator, denominator, expected = phe_inputs()
    result = funnel(numerator, denominator, statistic="proportion", method="phe")
    assert len(expected) == 303
    assert result.significance.tolist() == [PHE_LABELS[s] for s in expected]
    assert round(result.centre, 8) == 0.80642448


def test_phe_line_table_reproduces_every_row() -> None:
    # PHEindicatormethods v2.1.0 tests: calculate_funnel_limits(statistic = "proportion",
    # multiplier = 100, type = "standard") on the same inputs; values to 6 decimal places.
    numerator, denominator, _ = phe_inputs()
    rows = read("pheim_testdata_funnel_prop_outputs.csv")
    lines = phe_funnel_lines(numerator, denominator, statistic="proportion", multiplier=100)
    assert lines.x.tolist() == [float(r["Population"]) for r in rows]
    columns = {(0, "lower"): "Lower2s0025limit", (0, "upper"): "Upper2s0025limit",
               (1, "lower"): "Lower3s0001limit", (1, "upper"): "Upper3s0001limit"}
    for (j, side), name in columns.items():
        ours = lines.lower[j] if side == "lower" else lines.upper[j]
        np.testing.assert_allclose(ours, [float(r[name]) for r in rows], rtol=0, atol=5e-7)
    assert lines.centre == pytest.approx(float(rows[0]["Baseline"]), abs=5e-7)


def test_phe_ratio_labels_compare_each_units_interval_with_its_expected_count() -> None:
    # assign_funnel_significance(statistic = "ratio"): High when the lower limit of O (exact
    # below 10, Byar's from 10) exceeds E; Low when the upper limit is below E.
    observed = np.array([0.0, 3.0, 9.0, 10.0, 30.0, 60.0, 45.0])
    expected = np.array([8.0, 0.5, 3.0, 19.0, 30.0, 35.0, 25.0])
    result = funnel(observed, expected, statistic="ratio", method="phe")
    labels = []
    for o, e in zip(observed, expected, strict=True):
        lows, highs = [], []
        for level in (0.998, 0.95):
            z, q = stats.norm.ppf((1 + level) / 2), (1 - level) / 2
            if o < 10:
                low = 0.0 if o == 0 else stats.chi2.ppf(q, 2 * o) / 2
                high = stats.chi2.ppf(1 - q, 2 * o + 2) / 2
            else:
                low = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o)))**3
                high = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1)))**3
            lows.append(high < e)
            highs.append(low > e)
        names = ["low_99.8", "low_95", "high_99.8", "high_95"]
        labels.append(next((n for n, hit in zip(names, lows + highs, strict=True) if hit),
                           "not_significant"))
    assert result.significance.tolist() == labels
    assert set(labels) == {"low_99.8", "low_95", "high_99.8", "high_95", "not_significant"}
    assert result.x.tolist() == observed.tolist()


def test_phe_rate_labels_use_events_per_person_time_against_the_average() -> None:
    events = np.array([5.0, 40.0, 12.0, 80.0])
    time = np.array([1000.0, 4000.0, 3000.0, 5000.0])
    result = funnel(events, time, statistic="rate", method="phe")
    average = events.sum() / time.sum()
    assert result.centre == pytest.approx(average)
    ratio = funnel(events, time * average, statistic="ratio", method="phe")
    assert result.significance.tolist() == ratio.significance.tolist()
    np.testing.assert_allclose(result.value, events / time)


def test_phe_ratio_lines_are_observed_over_exact_limits() -> None:
    # calculate_funnel_limits(statistic = "ratio"): x is the observed count, limits O/O_U(O)
    # and O/O_L(O) with exact Poisson limits; PHE's x-axis uses 101 − (j − 1) steps.
    observed, expected = six_groups()
    lines = phe_funnel_lines(observed, expected, statistic="ratio", multiplier=100)
    o = lines.x
    axis = [1.0]  # E from 95 to 220: the axis runs to 220·1.05 rounded up to 240
    for j in range(2, 101):
        axis.append(max(round((240 / axis[-1]) ** (1 / (101 - (j - 1))) * axis[-1]),
                        axis[-1] + 1))
    assert o.tolist() == axis
    np.testing.assert_allclose(lines.lower[0], 100 * o / (stats.chi2.ppf(0.975, 2 * o + 2) / 2))
    np.testing.assert_allclose(lines.upper[1], 100 * o / (stats.chi2.ppf(0.001, 2 * o) / 2))


def test_phe_rate_lines_run_over_events() -> None:
    # calculate_funnel_limits(statistic = "rate", rate_type = "crude", years_of_data = 1):
    # T from 1500 to 2500 (not twice apart) gives an axis from 1000 (1425 to its leading
    # digit) to 2700 (2625 to two digits), times λ̄ = 0.1 in events: 100 to 270.
    events = np.array([150.0, 210.0, 250.0])
    time = np.array([1500.0, 2100.0, 2500.0])
    lines = phe_funnel_lines(events, time, statistic="rate", multiplier=1000)
    assert lines.x[0] == 100
    assert lines.x[-1] == 270
    o = lines.x
    np.testing.assert_allclose(lines.lower[1], 100 * o / (stats.chi2.ppf(0.999, 2 * o + 2) / 2))
    np.testing.assert_allclose(lines.upper[0], 100 * o / (stats.chi2.ppf(0.025, 2 * o) / 2))
    assert lines.centre == pytest.approx(100)


# --------------------------------------------------------------------------------------------
# FunnelPlotR
# --------------------------------------------------------------------------------------------

def test_shmi_reproduces_funnelplotr_phi_and_tau2() -> None:
    # FunnelPlotR v0.6.0 tests: funnel_plot defaults (SR, SHMI, trim_by = 0.1) on six groups:
    # φ = 2.948033, τ² = 0.0194775. With six units no group is truncated.
    observed, expected = six_groups()
    result = funnel(observed, expected, statistic="ratio", method="shmi")
    assert round(result.phi, 6) == 2.948033
    assert round(result.tau2, 7) == 0.0194775
    assert result.kept.all()
    assert result.adjusted
    np.testing.assert_allclose(result.z, np.sqrt(expected) * np.log(observed / expected))


def test_shmi_rounds_expected_counts_to_two_decimals_which_the_fixture_does_not_need() -> None:
    # FunnelPlotR's SHMI_rounding = TRUE: the fixture's expected counts are whole numbers, so
    # rounding leaves φ and τ² unchanged; shifts below half a hundredth vanish.
    observed, expected = six_groups()
    exact = funnel(observed, expected, statistic="ratio", method="shmi")
    shifted = funnel(observed, expected + 0.004, statistic="ratio", method="shmi")
    assert (shifted.phi, shifted.tau2) == (exact.phi, exact.tau2)
    moved = funnel(observed, expected + 0.006, statistic="ratio", method="shmi")
    np.testing.assert_allclose(moved.x, expected + 0.01)
    assert moved.phi != exact.phi


def test_exact_ci_limits_reproduce_funnelplotr_poisson_limits() -> None:
    # FunnelPlotR v0.6.0 tests (test-poisson_limits): unadjusted limits at E = 15, 20, 30,
    # lower rounded to 7 decimals and upper to 6.
    rows = read("fpr_poisson_limits_expected.csv")
    at = np.array([float(r["expected"]) for r in rows])
    observed, expected = six_groups()
    results = [funnel(observed, expected, statistic="ratio", method="exact", convention="ci"),
               funnel(observed, expected, statistic="ratio", method="shmi",
                      overdispersion="none")]
    for result in results:
        lines = result.limits(at)
        for j, suffix in enumerate(("95", "998")):
            np.testing.assert_allclose(lines.lower[j], [float(r[f"ll{suffix}"]) for r in rows],
                                       rtol=0, atol=5e-8)
            np.testing.assert_allclose(lines.upper[j], [float(r[f"ul{suffix}"]) for r in rows],
                                       rtol=0, atol=5e-7)


def test_shmi_falls_back_to_unadjusted_exact_limits_without_overdispersion() -> None:
    # FunnelPlotR: when φ ≤ 1 the adjusted limits give way to the unadjusted (Poisson) ones.
    expected = np.array([20.0, 40.0, 60.0, 80.0, 100.0, 120.0])
    observed = expected * np.exp(np.array([0.3, -0.2, 0.1, -0.1, 0.05, 0.0]) / np.sqrt(expected))
    result = funnel(observed, expected, statistic="ratio", method="shmi")
    assert result.phi <= 1
    assert not result.adjusted
    np.testing.assert_array_equal(result.z_adjusted, result.z)
    q = np.array([[0.025], [0.001]])
    np.testing.assert_allclose(result.lower, stats.chi2.ppf(q, 2 * expected) / (2 * expected))
    np.testing.assert_allclose(result.upper,
                               stats.chi2.ppf(1 - q, 2 * expected + 2) / (2 * expected))


def test_adjusted_sr_limits_are_squared_back() -> None:
    # Spiegelhalter (2012) square-root scale, 10% Winsorisation, additive random effects:
    # limits (1 ± z√(1/(4E) + τ²))². FunnelPlotR's CQC method leaves out the square (its
    # issue #33); the un-squared limits lie strictly inside these.
    observed, expected = six_groups()
    result = funnel(observed, expected, statistic="ratio", method="spiegelhalter")
    s = 1 / (2 * np.sqrt(expected))
    z = (np.sqrt(observed / expected) - 1) / s
    phi, tau2 = dersimonian_laird(winsorised(z, 0.1), 1 / s**2)
    assert result.phi == pytest.approx(phi, rel=1e-12)
    assert result.tau2 == pytest.approx(tau2, rel=1e-12)
    assert result.adjusted
    critical = np.array([[Z95], [Z998]])
    half = critical * np.sqrt(s**2 + tau2)
    np.testing.assert_allclose(result.lower, (1 - half) ** 2, rtol=1e-12)
    np.testing.assert_allclose(result.upper, (1 + half) ** 2, rtol=1e-12)
    assert np.all(result.upper > 1 + half)
    assert np.all(result.lower < 1 - half)
    np.testing.assert_allclose(result.z_adjusted, (np.sqrt(observed / expected) - 1)
                               / np.sqrt(s**2 + tau2), rtol=1e-12)
    inside_unsquared = (observed / expected > 1 + half[0]) & (observed / expected
                                                              <= (1 + half[0]) ** 2)
    assert inside_unsquared.any()
    assert "high_95" not in result.significance[inside_unsquared].tolist()


def test_multiplicative_adjustment_scales_z_and_limits_by_root_phi() -> None:
    observed, expected = six_groups()
    result = funnel(observed, expected, statistic="ratio", method="spiegelhalter",
                    overdispersion="multiplicative", trim=0.0)
    s = 1 / (2 * np.sqrt(expected))
    z = (np.sqrt(observed / expected) - 1) / s
    phi = float(np.mean(z**2))
    assert result.phi == pytest.approx(phi, rel=1e-12)
    assert result.phi_df == 6
    assert result.phi_p_value == pytest.approx(stats.chi2.sf(6 * phi, 6), rel=1e-9)
    np.testing.assert_allclose(result.z_adjusted, z / math.sqrt(phi), rtol=1e-12)
    np.testing.assert_allclose(result.upper[1], (1 + Z998 * math.sqrt(phi) * s) ** 2)


def test_arcsine_limits_for_proportions_back_transform_with_sine_squared() -> None:
    numerator, denominator, _ = phe_inputs()
    result = funnel(numerator, denominator, statistic="proportion", method="spiegelhalter")
    p = numerator.sum() / denominator.sum()
    s = 1 / (2 * np.sqrt(denominator))
    z = (np.arcsin(np.sqrt(numerator / denominator)) - np.arcsin(math.sqrt(p))) / s
    phi, tau2 = dersimonian_laird(winsorised(z, 0.1), 1 / s**2)
    assert (result.phi, result.tau2) == pytest.approx((phi, tau2), rel=1e-9)
    assert result.phi_df == 302
    half = Z95 * np.sqrt(s**2 + tau2)
    np.testing.assert_allclose(result.lower[0], np.sin(np.arcsin(math.sqrt(p)) - half) ** 2)


# --------------------------------------------------------------------------------------------
# Exact limits: Spiegelhalter's prediction limits, written out from the appendix
# --------------------------------------------------------------------------------------------

def interpolated(cdf: list[float], p: float) -> float:
    r = next(k for k, value in enumerate(cdf) if value >= p)
    below = cdf[r - 1] if r > 0 else 0.0
    return max(0.0, r - (cdf[r] - p) / (cdf[r] - below))


def poisson_cdf(mean: float, up_to: int) -> list[float]:
    terms = [math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(up_to)]
    return list(np.cumsum(terms))


@pytest.mark.parametrize("mean", [0.7, 3.2, 15.0, 47.5])
def test_poisson_prediction_limits_follow_the_appendix(mean: float) -> None:
    observed, expected = six_groups()
    result = funnel(observed, expected, statistic="ratio", method="exact")
    assert result.convention == "prediction"
    lines = result.limits([mean])
    cdf = poisson_cdf(mean, 200)
    for j, level in enumerate(result.levels):
        q = (1 - level) / 2
        assert lines.lower[j, 0] == pytest.approx(interpolated(cdf, q) / mean, rel=1e-9)
        assert lines.upper[j, 0] == pytest.approx(interpolated(cdf, 1 - q) / mean, rel=1e-9)


@pytest.mark.parametrize("n", [5, 40, 333])
def test_binomial_prediction_limits_follow_the_appendix(n: int) -> None:
    result = funnel([30, 50], [100, 100], statistic="proportion", method="exact")
    cdf = list(np.cumsum([math.comb(n, k) * 0.4**k * 0.6 ** (n - k) for k in range(n + 1)]))
    lines = result.limits([n])
    assert lines.lower[0, 0] == pytest.approx(interpolated(cdf, 0.025) / n, rel=1e-9)
    assert lines.upper[1, 0] == pytest.approx(interpolated(cdf, 0.999) / n, rel=1e-9)


def test_binomial_ci_limits_are_clopper_pearson_at_the_expected_count() -> None:
    result = funnel([30, 50], [100, 100], statistic="proportion", method="exact",
                    convention="ci")
    lines = result.limits([60])
    assert lines.lower[0, 0] == pytest.approx(stats.beta.ppf(0.025, 24, 37), rel=1e-9)
    assert lines.upper[0, 0] == pytest.approx(stats.beta.ppf(0.975, 25, 36), rel=1e-9)


# --------------------------------------------------------------------------------------------
# Labels and options
# --------------------------------------------------------------------------------------------

def test_labels_name_the_highest_level_crossed() -> None:
    assert label("high", 0.998) == "high_99.8"
    assert label("low", 0.95) == "low_95"
    result = funnel([10, 30, 80, 120, 160], [100, 100, 100, 100, 100], statistic="ratio",
                    method="exact", levels=(0.9, 0.99))
    assert set(result.significance.tolist()) <= {"high_99", "high_90", "not_significant",
                                                 "low_90", "low_99"}
    assert result.significance.tolist()[0] == "low_99"


@pytest.mark.parametrize(("options", "message"), [
    ({"method": "phe", "overdispersion": "additive"}, "no over-dispersion"),
    ({"method": "exact", "overdispersion": "multiplicative"}, "no over-dispersion"),
    ({"method": "shmi", "statistic": "proportion"}, "ratios and rates"),
    ({"method": "spiegelhalter", "convention": "ci"}, "no exact-limit convention"),
    ({"trim": 0.5}, "trim"),
    ({"levels": (0.95, 1.0)}, "between 0 and 1"),
])
def test_options_are_validated(options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"statistic": "ratio", **options}
    with pytest.raises(ValueError, match=message):
        funnel([5, 10], [6, 8], **arguments)  # type: ignore[arg-type]


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="exceed"):
        funnel([5, 10], [6, 8], statistic="proportion")
    with pytest.raises(ValueError, match="missing"):
        funnel([5, math.nan], [6, 8], statistic="ratio")
    with pytest.raises(ValueError, match="greater than zero"):
        funnel([5, 1], [6, 0], statistic="ratio")


def test_results_are_read_only() -> None:
    result = funnel([5, 10], [6, 8], statistic="ratio")
    with pytest.raises(ValueError, match="read-only"):
        result.value[0] = 1.0


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

COMBINATIONS: list[tuple[Statistic, Method, Overdispersion | None]] = [
    ("proportion", "phe", None), ("ratio", "phe", None), ("rate", "phe", None),
    ("proportion", "exact", None), ("ratio", "exact", None), ("rate", "exact", None),
    ("ratio", "shmi", None), ("rate", "shmi", "multiplicative"), ("ratio", "shmi", "none"),
    ("proportion", "spiegelhalter", None), ("ratio", "spiegelhalter", "multiplicative"),
    ("rate", "spiegelhalter", None), ("proportion", "spiegelhalter", "none"),
]


@st.composite
def units(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    size = draw(st.integers(3, 40))
    denominators = draw(st.lists(st.integers(20, 5_000), min_size=size, max_size=size))
    shares = draw(st.lists(st.floats(0.05, 0.95), min_size=size, max_size=size))
    return (np.floor(np.array(denominators) * np.array(shares)) + 1,
            np.array(denominators, dtype=float))


@settings(max_examples=80, deadline=None)
@given(data=units(), combination=st.sampled_from(COMBINATIONS),
       convention=st.sampled_from(["prediction", "ci"]))
def test_limits_widen_as_denominators_shrink(data: tuple[np.ndarray, np.ndarray],
                                             combination: tuple[Statistic, Method,
                                                                Overdispersion | None],
                                             convention: str) -> None:
    statistic, method, overdispersion = combination
    exact = method == "exact"
    result = funnel(*data, statistic=statistic, method=method, overdispersion=overdispersion,
                    convention=convention if exact else None)  # type: ignore[arg-type]
    lines = result.limits(points=200)
    x = lines.x
    rising = np.maximum.accumulate(lines.lower, axis=1) - lines.lower
    falling = lines.upper - np.minimum.accumulate(lines.upper, axis=1)
    # Interpolated prediction limits have a sawtooth of less than one event (Spiegelhalter
    # 2005): a limit times its x (events) never turns back by one.
    slack = 1.0 if exact and convention == "prediction" else 1e-9
    assert np.all(rising * x <= slack)
    assert np.all(falling * x <= slack)
    assert np.all(lines.lower[:, -1] >= lines.lower[:, 0] - 1e-12)
    assert np.all(lines.upper[:, -1] <= lines.upper[:, 0] + 1e-12)
    assert np.all(lines.lower <= result.centre + 1e-12)
    assert np.all(lines.upper >= result.centre - 1e-12)


@settings(max_examples=40, deadline=None)
@given(count=st.integers(200, 400), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(["spiegelhalter", "shmi", "exact"]),
       trim=st.sampled_from([0.0, 0.05, 0.1, 0.2]))
def test_phi_is_one_on_exactly_null_z_scores(count: int, seed: int, method: Method,
                                             trim: float) -> None:
    # z-scores set to the normal quantiles Φ⁻¹((i − ½)/I) in a random order, on each method's
    # scale: untrimmed φ is their mean square (≥ 0.9935 for I ≥ 200, → 1); trimmed φ is the
    # mean square of the Winsorised or truncated quantiles.
    rng = np.random.default_rng(seed)
    quantiles = stats.norm.ppf((np.arange(1, count + 1) - 0.5) / count)
    z = rng.permutation(quantiles)
    expected = rng.uniform(20, 10_000, count)
    if method == "shmi":
        observed = expected * np.exp(z / np.sqrt(expected))
        expected = np.round(expected, 2)
        observed = expected * np.exp(z / np.sqrt(expected))
    else:
        observed = expected * (1 + z / (2 * np.sqrt(expected))) ** 2
    result = funnel(observed, expected, statistic="ratio", method=method, trim=trim)
    np.testing.assert_allclose(result.z, z, rtol=1e-9, atol=1e-9)
    if trim == 0:
        assert result.phi == pytest.approx(np.mean(quantiles**2), rel=1e-9)
        assert 0.9935 <= result.phi < 1
        assert result.tau2 == 0
    elif method == "shmi":
        groups = np.floor(stats.rankdata(z) / trim / (count + 1))
        kept = z[(groups > 0) & (groups < 1 / trim - 1)]
        assert result.phi == pytest.approx(np.mean(kept**2), rel=1e-9)
    else:
        assert result.phi == pytest.approx(np.mean(winsorised(z, trim) ** 2), rel=1e-9)
    assert not result.adjusted


@settings(max_examples=60, deadline=None)
@given(data=units(), combination=st.sampled_from(COMBINATIONS), seed=st.integers(0, 2**32 - 1))
def test_permuting_units_changes_nothing_per_unit(data: tuple[np.ndarray, np.ndarray],
                                                  combination: tuple[Statistic, Method,
                                                                     Overdispersion | None],
                                                  seed: int) -> None:
    statistic, method, overdispersion = combination
    order = np.random.default_rng(seed).permutation(data[0].size)
    first = funnel(*data, statistic=statistic, method=method, overdispersion=overdispersion)
    second = funnel(data[0][order], data[1][order], statistic=statistic, method=method,
                    overdispersion=overdispersion)
    for name in ("centre", "phi", "tau2", "phi_p_value", "adjusted"):
        assert getattr(first, name) == getattr(second, name) or (
            math.isnan(getattr(first, name)) and math.isnan(getattr(second, name)))
    for name in ("x", "value", "z", "z_adjusted", "kept", "significance"):
        np.testing.assert_array_equal(getattr(first, name)[order], getattr(second, name))
    np.testing.assert_array_equal(first.lower[:, order], second.lower)
    np.testing.assert_array_equal(first.upper[:, order], second.upper)


@settings(max_examples=60, deadline=None)
@given(data=units(), combination=st.sampled_from(COMBINATIONS))
def test_labels_agree_with_the_limits_at_each_unit(data: tuple[np.ndarray, np.ndarray],
                                                   combination: tuple[Statistic, Method,
                                                                      Overdispersion | None]
                                                   ) -> None:
    statistic, method, overdispersion = combination
    result = funnel(*data, statistic=statistic, method=method, overdispersion=overdispersion)
    high = np.char.startswith(result.significance, "high")
    low = np.char.startswith(result.significance, "low")
    tolerance = 1e-9 * np.maximum(result.value, result.centre)
    assert np.all(result.value[high] >= result.upper[0][high] - tolerance[high])
    assert np.all(result.value[low] <= result.lower[0][low] + tolerance[low])
    calm = ~(high | low)
    if method != "phe":
        assert np.all(result.value[calm] <= result.upper[0][calm] + tolerance[calm])
        assert np.all(result.value[calm] >= result.lower[0][calm] - tolerance[calm])
