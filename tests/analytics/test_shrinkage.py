"""Empirical-Bayes shrinkage: formulas written out with numpy and scipy, FunnelPlotR's τ², and
properties.

The six-group data and τ² = 0.0194775 are FunnelPlotR v0.6.0's (MIT; its tests), from
``tests/fixtures/benchmarking/`` (see the README there).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from missionboard.analytics.funnel import funnel
from missionboard.analytics.shrinkage import (
    normal_shrinkage,
    poisson_gamma,
    rank_intervals,
    shrink_funnel,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "benchmarking"
FUNNELPLOTR_TAU2 = 0.0194775


def six_groups() -> tuple[np.ndarray, np.ndarray]:
    with (FIXTURES / "fpr_toy_sr_6groups.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    return (np.array([float(r["num"]) for r in rows]),
            np.array([float(r["denom"]) for r in rows]))


# --------------------------------------------------------------------------------------------
# Normal
# --------------------------------------------------------------------------------------------

def test_shrinking_the_shmi_funnel_uses_its_tau2_on_the_log_scale() -> None:
    # FunnelPlotR's SHMI funnel of six groups has τ² = 0.0194775: on the log scale each unit
    # keeps (1 − B) of ln(O/E), B = (1/E)/(1/E + τ²).
    observed, expected = six_groups()
    result = shrink_funnel(funnel(observed, expected, statistic="ratio", method="shmi"),
                           levels=(0.95, 0.998))
    assert result.tau2 == pytest.approx(FUNNELPLOTR_TAU2, abs=5e-8)
    weight = (1 / expected) / (1 / expected + FUNNELPLOTR_TAU2)
    np.testing.assert_allclose(result.weight, weight, rtol=1e-5)
    np.testing.assert_allclose(result.estimate, np.exp((1 - weight) * np.log(observed / expected)),
                               rtol=1e-6)
    sd = np.sqrt((1 - weight) / expected)
    np.testing.assert_allclose(result.upper[1], result.estimate * np.exp(stats.norm.ppf(0.999)
                                                                         * sd), rtol=1e-5)
    assert result.centre == 1.0


def test_normal_shrinkage_against_the_formula() -> None:
    y = np.array([0.2, -0.5, 1.4, 0.1])
    se = np.array([0.3, 0.8, 0.5, 0.1])
    tau2 = 0.09
    precision = 1 / (se**2 + tau2)
    mu = np.sum(y * precision) / np.sum(precision)
    b = se**2 / (se**2 + tau2)
    result = normal_shrinkage(y, se, tau2=tau2)
    assert result.centre == pytest.approx(mu)
    np.testing.assert_allclose(result.estimate, b * mu + (1 - b) * y)
    np.testing.assert_allclose(result.upper[0] - result.estimate,
                               stats.norm.ppf(0.975) * np.sqrt((1 - b) * se**2))


def test_without_between_unit_variation_every_unit_is_the_centre() -> None:
    result = normal_shrinkage([1.0, 2.0, 4.0], [0.5, 0.5, 1.0], tau2=0.0, centre=2.5)
    np.testing.assert_array_equal(result.estimate, [2.5, 2.5, 2.5])
    np.testing.assert_array_equal(result.lower, result.upper)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.tuples(st.floats(-50, 50), st.floats(0.01, 20)), min_size=1,
                       max_size=30),
       tau2=st.floats(0, 100), centre=st.one_of(st.none(), st.floats(-50, 50)))
def test_shrunken_estimates_lie_between_the_unit_and_the_centre(
        values: list[tuple[float, float]], tau2: float, centre: float | None) -> None:
    y, se = np.array(values).T
    result = normal_shrinkage(y, se, tau2=tau2, centre=centre)
    low, high = np.minimum(y, result.centre), np.maximum(y, result.centre)
    slack = 1e-9 * (1 + np.abs(y) + abs(result.centre))
    assert np.all(result.estimate >= low - slack)
    assert np.all(result.estimate <= high + slack)
    assert np.all(result.lower <= result.estimate + slack)
    assert np.all(result.upper >= result.estimate - slack)


@settings(max_examples=60, deadline=None)
@given(data=st.lists(st.tuples(st.integers(1, 400), st.integers(5, 400)), min_size=3,
                     max_size=25),
       method=st.sampled_from(["spiegelhalter", "shmi"]))
def test_funnel_shrinkage_lies_between_the_unit_and_the_funnel_centre(
        data: list[tuple[int, int]], method: str) -> None:
    observed, expected = np.array(data, dtype=float).T
    result = shrink_funnel(funnel(observed, expected, statistic="ratio",
                                  method=method))  # type: ignore[arg-type]
    value = observed / expected
    slack = 1e-9 * (1 + value)
    assert np.all(result.estimate >= np.minimum(value, 1.0) - slack)
    assert np.all(result.estimate <= np.maximum(value, 1.0) + slack)


# --------------------------------------------------------------------------------------------
# Poisson–gamma
# --------------------------------------------------------------------------------------------

def test_moment_estimates_follow_marshall() -> None:
    observed, expected = six_groups()
    m = observed.sum() / expected.sum()
    s2 = np.sum(expected * (observed / expected - m) ** 2) / expected.sum()
    v = s2 - m / expected.mean()
    result = poisson_gamma(observed, expected, estimator="moments", levels=(0.9, 0.95))
    assert (result.alpha, result.beta) == pytest.approx((m * m / v, m / v), rel=1e-12)
    shape, rate = m * m / v + observed, m / v + expected
    np.testing.assert_allclose(result.estimate, shape / rate, rtol=1e-12)
    np.testing.assert_allclose(result.lower[1], stats.gamma.ppf(0.025, shape, scale=1 / rate),
                               rtol=1e-9)
    np.testing.assert_allclose(result.upper[0], stats.gamma.ppf(0.95, shape, scale=1 / rate),
                               rtol=1e-9)


def test_marginal_likelihood_is_at_least_scipys_negative_binomial_maximum() -> None:
    observed, expected = six_groups()
    result = poisson_gamma(observed, expected, estimator="marginal")

    def log_likelihood(alpha: float, beta: float) -> float:
        return float(stats.nbinom.logpmf(observed, alpha, beta / (beta + expected)).sum())

    fit = optimize.minimize(lambda t: -log_likelihood(*np.exp(t)), np.log([10.0, 10.0]),
                            method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000})
    assert log_likelihood(result.alpha, result.beta) >= -fit.fun - 1e-9
    assert result.alpha == pytest.approx(math.exp(fit.x[0]), rel=1e-3)


def test_no_extra_poisson_variation_gives_a_point_mass_prior() -> None:
    for estimator in ("moments", "marginal"):
        result = poisson_gamma([10, 11, 9, 10], [10, 10, 10, 10],
                               estimator=estimator)  # type: ignore[arg-type]
        assert math.isinf(result.alpha)
        np.testing.assert_allclose(result.estimate, 1.0)
        np.testing.assert_array_equal(result.lower, result.upper)
        ranks = result.rank_intervals(seed=1, draws=50)
        assert ranks.lower.tolist() == [[1, 1, 1, 1]]
        assert ranks.upper.tolist() == [[4, 4, 4, 4]]


@settings(max_examples=60, deadline=None)
@given(data=st.lists(st.tuples(st.integers(0, 300), st.floats(0.5, 300)), min_size=2,
                     max_size=25),
       estimator=st.sampled_from(["moments", "marginal"]))
def test_poisson_gamma_estimates_lie_between_the_unit_and_the_prior_mean(
        data: list[tuple[int, float]], estimator: str) -> None:
    observed, expected = np.array(data, dtype=float).T
    result = poisson_gamma(observed, expected, estimator=estimator)  # type: ignore[arg-type]
    value = observed / expected
    slack = 1e-9 * (1 + value + result.prior_mean)
    assert np.all(result.estimate >= np.minimum(value, result.prior_mean) - slack)
    assert np.all(result.estimate <= np.maximum(value, result.prior_mean) + slack)
    # Equal-tailed gamma intervals always hold the posterior median; the mean too once the
    # shape is 1 or more (below, the mean can pass the upper quantile: a very skew posterior).
    median = (result.estimate if math.isinf(result.alpha)
              else stats.gamma.median(result.shape, scale=1 / result.rate))
    assert np.all(result.lower <= median * (1 + 1e-9))
    assert np.all(result.upper >= median * (1 - 1e-9))
    clear = ~(result.shape < 1)
    assert np.all(result.lower[:, clear] <= result.estimate[clear] + slack[clear])
    assert np.all(result.upper[:, clear] >= result.estimate[clear] - slack[clear])


# --------------------------------------------------------------------------------------------
# Ranks
# --------------------------------------------------------------------------------------------

def test_rank_intervals_are_seeded_and_separate_only_the_extremes() -> None:
    observed = np.array([5.0, 95.0, 100.0, 105.0, 400.0])
    expected = np.full(5, 100.0)
    result = poisson_gamma(observed, expected)
    first = result.rank_intervals(seed=7, draws=2_000, levels=(0.9, 0.95))
    again = result.rank_intervals(seed=7, draws=2_000, levels=(0.9, 0.95))
    np.testing.assert_array_equal(first.lower, again.lower)
    np.testing.assert_array_equal(first.mean, again.mean)
    assert first.lower[1].tolist()[0] == first.upper[1].tolist()[0] == 1
    assert first.lower[1].tolist()[4] == first.upper[1].tolist()[4] == 5
    assert first.lower[1, 2] <= 3 <= first.upper[1, 2]
    assert first.upper[1, 2] - first.lower[1, 2] >= 1
    assert np.all(first.lower[1] <= first.lower[0])
    assert np.all(first.mean >= first.lower[1])
    assert np.all(first.mean <= first.upper[1])


def test_rank_intervals_of_given_draws() -> None:
    draws = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [1.0, 1.0, 3.0]])
    ranks = rank_intervals(draws, levels=0.5)
    np.testing.assert_allclose(ranks.mean, [(1 + 2 + 1.5) / 3, (2 + 1 + 1.5) / 3, 3])
    assert ranks.upper.tolist() == [[2, 2, 3]]
    assert ranks.lower.tolist() == [[1, 1, 3]]


def test_identical_units_give_the_point_mass_prior_without_warnings() -> None:
    """Found by hypothesis: three identical units once sent the marginal fit to α ≈ e⁻⁸⁵⁶
    (a log of zero). With no spread beyond Poisson the prior is a point mass at O/E."""
    result = poisson_gamma([31.0, 31.0, 31.0], [132.72, 132.72, 132.72])
    assert math.isinf(result.alpha)
    np.testing.assert_allclose(result.estimate, 31.0 / 132.72, rtol=1e-12)
