"""Monte Carlo projection: closed forms, hand-computed shapes, reference values and properties.

Literal expected values come from ``reference/projection_reference.py`` beside this file
(scipy, statsmodels and the formulas written out with the standard library); tolerances on
Monte Carlo results are five standard errors for the number of draws used.
"""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from missionboard.analytics import counterfactual as counterfactual_module
from missionboard.analytics import effects as effects_module
from missionboard.analytics import projection as projection_module
from missionboard.analytics.counterfactual import Counterfactual, fit_counterfactual
from missionboard.analytics.effects import (
    Distribution,
    InterventionEffect,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
    distribution,
    shape_matrix,
    sigma_from_interval,
    z_for_level,
)
from missionboard.analytics.projection import Projection, project

FLAT_50 = Counterfactual(level=50.0)


def run(effects: list[InterventionEffect], *, counterfactual: Counterfactual = FLAT_50,
        periods: int = 12, target: float = 55.0, target_period: int | None = None,
        higher: bool = True, seed: int = 1, draws: int = 2_000,
        **options: object) -> Projection:
    return project(counterfactual=counterfactual, effects=effects, periods=periods,
                   target_value=target,
                   target_period=periods - 1 if target_period is None else target_period,
                   higher_is_better=higher, seed=seed, draws=draws,
                   **options)  # type: ignore[arg-type]


def five_se_of_mean(sd: float, draws: int) -> float:
    return 5 * sd / math.sqrt(draws) + 1e-9


def five_se_of_sd(sd: float, draws: int) -> float:
    # The standard error of a normal sample's standard deviation is σ/√(2(N − 1)).
    return 5 * sd / math.sqrt(2 * (draws - 1)) + 1e-9


# --------------------------------------------------------------------------------------------
# Intervals, distributions and the optimism adjustment
# --------------------------------------------------------------------------------------------

# From reference/projection_reference.py: scipy.stats.norm.ppf((1 + level) / 2).
Z_REFERENCE = {0.5: 0.6744897501960817, 0.8: 1.2815515655446004, 0.9: 1.6448536269514722,
               0.95: 1.959963984540054, 0.99: 2.5758293035489004}


@pytest.mark.parametrize("level", sorted(Z_REFERENCE))
def test_interval_level_to_z_matches_scipy(level: float) -> None:
    assert z_for_level(level) == pytest.approx(Z_REFERENCE[level], rel=1e-12)
    assert z_for_level(level) == pytest.approx(stats.norm.ppf((1 + level) / 2), rel=1e-12)
    assert sigma_from_interval(low=2.0, high=8.0, level=level) == pytest.approx(
        3.0 / Z_REFERENCE[level], rel=1e-12)


def test_interval_conversions() -> None:
    effect = Normal.from_interval(central=5.0, low=2.0, high=8.0, level=0.9)
    assert effect.mean == 5.0
    assert effect.sd == pytest.approx(3.0 / Z_REFERENCE[0.9])
    lognormal = LogNormal.from_interval(central=2.0, low=1.0, high=4.0, level=0.8)
    assert lognormal.log_sd == pytest.approx(math.log(2.0) / Z_REFERENCE[0.8])
    falling = LogNormal.from_interval(central=-2.0, low=-4.0, high=-1.0, level=0.8)
    assert falling.log_sd == pytest.approx(lognormal.log_sd)
    assert falling.mean == pytest.approx(-lognormal.mean)
    assert distribution("normal", central=5, low=2, high=8, level=0.9) == effect
    assert distribution("lognormal", central=2, low=1, high=4, level=0.8) == lognormal
    assert distribution("triangular", low=0, central=1, high=3) == Triangular(low=0, mode=1,
                                                                             high=3)
    assert distribution("uniform", low=-1, high=2) == Uniform(low=-1, high=2)
    assert distribution("normal", central=3, low=3, high=3, level=0.8) == Normal(mean=3)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: distribution("normal", central=1, low=0), "needs high, level"),
    (lambda: distribution("beta", low=0, high=1), "unknown distribution"),
    (lambda: Normal.from_interval(central=9, low=0, high=1), "outside"),
    (lambda: LogNormal.from_interval(central=1, low=-1, high=2), "one sign"),
    (lambda: Triangular(low=0, mode=3, high=2), "low ≤ mode ≤ high"),
    (lambda: Normal(mean=math.nan), "finite"),
    (lambda: sigma_from_interval(low=1, high=2, level=1.0), "between 0 and 1"),
    (lambda: InterventionEffect(effect=Normal(mean=1), persistence="decay"), "half-life"),
    (lambda: InterventionEffect(effect=Normal(mean=1), overlap=1.5), "overlap"),
    (lambda: InterventionEffect(effect=Normal(mean=1), lag=-1), "lag"),
    (lambda: InterventionEffect(effect=Normal(mean=1), optimism=0), "optimism"),
])
def test_invalid_estimates_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_optimism_multiplies_the_effect() -> None:
    assert Normal(mean=10, sd=2).adjusted(0.5) == Normal(mean=5, sd=1)
    assert LogNormal(median=4, log_sd=0.3).adjusted(0.25) == LogNormal(median=1, log_sd=0.3)
    assert Triangular(low=2, mode=4, high=10).adjusted(0.5) == Triangular(low=1, mode=2, high=5)
    assert Uniform(low=2, high=6).adjusted(0.5) == Uniform(low=1, high=3)
    for dist, _ in DISTRIBUTIONS:
        assert dist.adjusted(0.3).mean == pytest.approx(0.3 * dist.mean)
        assert dist.adjusted(0.3).sd == pytest.approx(0.3 * dist.sd)
    # DellaVigna and Linos: 8.7 points in academic trials, 1.4 at scale.
    effect = InterventionEffect(effect=Normal(mean=8.7, sd=3.0), optimism=1.4 / 8.7)
    assert effect.adjusted_effect.mean == pytest.approx(1.4)
    assert effect.adjusted_effect.sd == pytest.approx(3.0 * 1.4 / 8.7)
    # In the projection: every draw scales, so the waterfall scales exactly.
    full = run([replace(effect, optimism=1.0)], draws=20_000)
    result = run([effect], draws=20_000)
    assert result.mean_at_target == pytest.approx(51.4, abs=five_se_of_mean(0.5, 20_000))
    assert result.contributions[0] == pytest.approx(full.contributions[0] * 1.4 / 8.7,
                                                    rel=1e-6)


DISTRIBUTIONS: list[tuple[Distribution, object]] = [
    (Normal(mean=2.0, sd=1.5), stats.norm(loc=2.0, scale=1.5)),
    (LogNormal(median=2.0, log_sd=0.4), stats.lognorm(s=0.4, scale=2.0)),
    (Triangular(low=-1.0, mode=0.5, high=3.0), stats.triang(c=1.5 / 4, loc=-1.0, scale=4.0)),
    (Uniform(low=-1.0, high=2.0), stats.uniform(loc=-1.0, scale=3.0)),
]


@pytest.mark.parametrize("correlated", [False, True], ids=["independent", "copula"])
@pytest.mark.parametrize(("dist", "reference"), DISTRIBUTIONS,
                         ids=[type(d).__name__ for d, _ in DISTRIBUTIONS])
def test_each_distribution_is_drawn_right(dist: Distribution, reference: object,
                                          correlated: bool) -> None:
    """Mean, sd and quantiles of one effect against its formulas and scipy's distribution.

    With a correlation the effect goes through the copula path (normal scores, then Φ).
    """
    draws = 40_000
    effects = [InterventionEffect(effect=dist), InterventionEffect(effect=Normal(mean=0, sd=1))]
    correlation = np.array([[1.0, 0.5], [0.5, 1.0]]) if correlated else None
    result = run(effects[:1] if not correlated else effects, counterfactual=Counterfactual(
        level=0.0), periods=1, target=0.0, draws=draws, correlation=correlation)
    frozen = reference  # scipy frozen distribution
    sd = frozen.std()  # type: ignore[attr-defined]
    assert dist.mean == pytest.approx(frozen.mean(), rel=1e-12)  # type: ignore[attr-defined]
    assert dist.sd == pytest.approx(sd, rel=1e-12)
    effect_mean = result.contributions[0]
    assert effect_mean == pytest.approx(dist.mean, abs=five_se_of_mean(sd, draws))
    if not correlated:
        assert result.sd[0] == pytest.approx(sd, rel=0.03)
        for level in result.quantile_levels:
            q = frozen.ppf(level)  # type: ignore[attr-defined]
            density = frozen.pdf(q)  # type: ignore[attr-defined]
            se = math.sqrt(level * (1 - level) / draws) / density
            assert result.quantile(level)[0] == pytest.approx(q, abs=5 * se)


def test_draws_come_from_the_documented_streams() -> None:
    """Intervention i's scores are default_rng(SeedSequence(seed, spawn_key=(1, i)))'s."""
    draws, seed = 1_001, 42
    effects = [InterventionEffect(effect=Normal(mean=1.0, sd=2.0)),
               InterventionEffect(effect=Uniform(low=0.0, high=1.0), start=1)]
    result = run(effects, counterfactual=Counterfactual(level=0.0), periods=2, draws=draws,
                 seed=seed)

    def stream(i: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, i)))

    normal = stream(0).standard_normal(draws, dtype=np.float32) * np.float32(2.0) + 1
    uniform = stream(1).random(draws, dtype=np.float32)
    np.testing.assert_allclose(result.quantiles[:, 0],
                               np.quantile(normal.astype(float), result.quantile_levels),
                               rtol=1e-12)
    np.testing.assert_allclose(result.contributions,
                               [normal.mean(dtype=float), uniform.mean(dtype=float)],
                               rtol=1e-12)
    # Period 1 holds both: the fan chart is the float32 sum's quantiles.
    both = (normal + uniform).astype(float)
    np.testing.assert_allclose(result.quantiles[:, 1],
                               np.quantile(both, result.quantile_levels), rtol=1e-6)


# --------------------------------------------------------------------------------------------
# Time shapes, by hand (reference/projection_reference.py writes the formulas out)
# --------------------------------------------------------------------------------------------

UNIT = Normal(mean=1.0)


@pytest.mark.parametrize(("effect", "expected"), [
    (InterventionEffect(effect=UNIT, start=2, lag=3),
     [0, 0, 0, 0, 0, 1, 1, 1]),
    (InterventionEffect(effect=UNIT, lag=1, ramp="linear", ramp_periods=4),
     [0, 0.25, 0.5, 0.75, 1, 1, 1, 1]),
    (InterventionEffect(effect=UNIT, start=1, ramp="s_curve", ramp_periods=4),
     [0, 0.07010371654510814, 0.5, 0.9298962834548918, 1, 1, 1, 1]),
    (InterventionEffect(effect=UNIT, persistence="decay", half_life=2),
     [1, 0.7071067811865476, 0.5, 0.3535533905932738, 0.25, 0.1767766952966369, 0.125,
      0.08838834764831845]),
    (InterventionEffect(effect=UNIT, ramp="linear", ramp_periods=3, persistence="decay",
                        half_life=1, overlap=0.5),
     [1 / 6, 1 / 3, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]),
    (InterventionEffect(effect=UNIT, start=-2, ramp="linear", ramp_periods=4),
     [0.75, 1, 1, 1, 1, 1, 1, 1]),
    (InterventionEffect(effect=UNIT, start=9),
     [0, 0, 0, 0, 0, 0, 0, 0]),
], ids=["lag", "linear", "s_curve", "decay", "linear-decay-overlap", "under-way", "too-late"])
def test_time_shapes_by_hand(effect: InterventionEffect, expected: list[float]) -> None:
    np.testing.assert_allclose(effect.shape(8), expected, rtol=1e-12, atol=1e-15)


def test_shape_matrix_stacks_the_shapes() -> None:
    effects = [InterventionEffect(effect=UNIT, lag=2),
               InterventionEffect(effect=UNIT, ramp="s_curve", ramp_periods=6)]
    matrix = shape_matrix(effects, 10)
    assert matrix.shape == (2, 10)
    np.testing.assert_array_equal(matrix[1], effects[1].shape(10))
    assert shape_matrix([], 5).shape == (0, 5)


def test_the_shape_moves_the_mean_path() -> None:
    effect = InterventionEffect(effect=Normal(mean=4.0), lag=1, ramp="linear", ramp_periods=4)
    result = run([effect], periods=8, draws=10)
    np.testing.assert_allclose(result.mean, 50 + 4 * effect.shape(8), rtol=1e-6)
    np.testing.assert_allclose(result.quantile(0.5), result.mean, rtol=1e-6)


# --------------------------------------------------------------------------------------------
# Closed forms for normal effects without lags (step ramp, permanent)
# --------------------------------------------------------------------------------------------

# From reference/projection_reference.py: counterfactual 50; N(2, 1) from 0, N(−1, 0.5²)
# from 3, N(3.5, 2²) from 6.
CLOSED_FORM = {0: (52.0, 1.0), 3: (51.0, 1.118033988749895), 6: (54.5, 2.29128784747792),
               11: (54.5, 2.29128784747792)}
P_AT_LEAST_55 = 0.41362967328135564
P_AT_MOST_55 = 0.5863703267186443
CORRELATION = [[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]]
SD_CORRELATED = 2.247220505424423
P_AT_LEAST_55_CORRELATED = 0.41196347316419313
NORMAL_EFFECTS = [InterventionEffect(effect=Normal(mean=2.0, sd=1.0), start=0),
                  InterventionEffect(effect=Normal(mean=-1.0, sd=0.5), start=3),
                  InterventionEffect(effect=Normal(mean=3.5, sd=2.0), start=6)]


def test_mean_variance_and_probability_match_the_closed_form() -> None:
    draws = 100_000
    result = run(NORMAL_EFFECTS, draws=draws, seed=2024)
    for t, (mean, sd) in CLOSED_FORM.items():
        assert result.mean[t] == pytest.approx(mean, abs=five_se_of_mean(sd, draws))
        assert result.sd[t] == pytest.approx(sd, abs=five_se_of_sd(sd, draws))
        # The fan chart: normal quantiles, with a quantile's standard error.
        for level in result.quantile_levels:
            z = stats.norm.ppf(level)
            se = math.sqrt(level * (1 - level) / draws) / (stats.norm.pdf(z) / sd)
            assert result.quantile(level)[t] == pytest.approx(mean + z * sd, abs=5 * se)
    p = P_AT_LEAST_55
    assert result.probability == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / draws))
    assert result.expected_gap == pytest.approx(0.5, abs=five_se_of_mean(2.3, draws))
    np.testing.assert_allclose(result.counterfactual_mean, 50.0)

    lower = run(NORMAL_EFFECTS, draws=draws, seed=2024, higher=False)
    p = P_AT_MOST_55
    assert lower.probability == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / draws))
    assert lower.expected_gap == pytest.approx(-result.expected_gap)
    # Ties at exactly 55 have probability zero: the two polarities share every draw.
    assert lower.probability + result.probability == pytest.approx(1.0)


def test_correlated_effects_match_the_full_covariance() -> None:
    draws = 100_000
    result = run(NORMAL_EFFECTS, draws=draws, seed=7, correlation=CORRELATION)
    assert result.sd[11] == pytest.approx(SD_CORRELATED,
                                          abs=five_se_of_sd(SD_CORRELATED, draws))
    # Before the third starts only the first two covary: √(1 + 0.25 + 2·0.6·1·0.5).
    sd_3 = math.sqrt(1 + 0.25 + 2 * 0.6 * 0.5)
    assert result.sd[3] == pytest.approx(sd_3, abs=five_se_of_sd(sd_3, draws))
    assert result.mean[11] == pytest.approx(54.5, abs=five_se_of_mean(SD_CORRELATED, draws))
    p = P_AT_LEAST_55_CORRELATED
    assert result.probability == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / draws))


def test_correlation_is_checked() -> None:
    for bad, message in [([[1.0, 0.2], [0.2, 1.0]], "3 × 3"),
                         ([[1, 0.5, 0], [0.4, 1, 0], [0, 0, 1]], "symmetric"),
                         ([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]], "positive definite"),
                         ([[2, 0, 0], [0, 1, 0], [0, 0, 1]], "between -1 and 1")]:
        with pytest.raises(ValueError, match=message):
            run(NORMAL_EFFECTS, correlation=bad)
    # The identity is the independent case, draw for draw.
    assert run(NORMAL_EFFECTS, correlation=np.eye(3)).probability == run(
        NORMAL_EFFECTS).probability


# --------------------------------------------------------------------------------------------
# Counterfactuals
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("noise", ["iid", "random_walk"])
def test_counterfactual_uncertainty_matches_its_closed_form(noise: str) -> None:
    counterfactual = Counterfactual(level=10.0, slope=0.5, season=(1.0, -1.0, 0.0),
                                    level_sd=0.4, slope_sd=0.05, level_slope_correlation=0.7,
                                    noise_sd=0.8, noise=noise)  # type: ignore[arg-type]
    draws = 50_000
    result = run([], counterfactual=counterfactual, periods=24, draws=draws, target=20.0)
    expected_sd = np.sqrt(counterfactual.variance(24))
    expected_mean = counterfactual.mean_path(24)
    assert expected_mean[:4].tolist() == [11.0, 9.5, 11.0, 12.5]
    for t in range(24):
        assert result.counterfactual_mean[t] == pytest.approx(
            expected_mean[t], abs=five_se_of_mean(expected_sd[t], draws))
        assert result.sd[t] == pytest.approx(expected_sd[t],
                                             abs=five_se_of_sd(expected_sd[t], draws))
    np.testing.assert_array_equal(result.mean, result.counterfactual_mean)
    by_hand = 0.4**2 + 23**2 * 0.05**2 + 2 * 23 * 0.7 * 0.4 * 0.05 + 0.8**2 * (
        24 if noise == "random_walk" else 1)
    assert counterfactual.variance(24)[23] == pytest.approx(by_hand)


# From reference/projection_reference.py: statsmodels OLS on the same series.
OLS_PARAMS = (4.652436322883915, 0.2870364757816877)
OLS_BSE = (0.2754388936683476, 0.011707561631657828)
OLS_SE_OBS = {0: 0.8980165314341758, 5: 0.9154010599631472, 23: 1.0040897936866076}


def test_linear_fit_recovers_the_trend_and_its_prediction_variance() -> None:
    x = np.arange(-40, 0, dtype=float)
    history = 5 + 0.3 * x + np.random.default_rng(11).normal(0, 1.0, x.size)
    fitted = fit_counterfactual(history, kind="linear")
    assert fitted.noise == "iid"
    assert (fitted.level, fitted.slope) == pytest.approx(OLS_PARAMS, rel=1e-10)
    assert (fitted.level_sd, fitted.slope_sd) == pytest.approx(OLS_BSE, rel=1e-10)
    # The known slope, within five standard errors.
    assert fitted.slope == pytest.approx(0.3, abs=5 * fitted.slope_sd)
    variance = fitted.variance(24)
    for t, se_obs in OLS_SE_OBS.items():
        assert math.sqrt(variance[t]) == pytest.approx(se_obs, rel=1e-10)


def test_flat_fit_is_the_mean_with_its_standard_error() -> None:
    history = [3.0, 5.0, 4.0, 6.0, 2.0]
    fitted = fit_counterfactual(history, kind="flat")
    sample_sd = float(np.std(history, ddof=1))
    assert fitted.level == pytest.approx(4.0)
    assert fitted.slope == 0
    assert fitted.noise_sd == pytest.approx(sample_sd)
    assert fitted.level_sd == pytest.approx(sample_sd / math.sqrt(5))


def test_random_walk_fits_are_the_naive_and_drift_forecasts() -> None:
    history = [10.0, 12.0, 11.0, 14.0, 15.0]  # changes 2, −1, 3, 1
    naive = fit_counterfactual(history, kind="flat", noise="random_walk")
    assert (naive.level, naive.slope) == (15.0, 0.0)
    assert naive.noise_sd == pytest.approx(math.sqrt((4 + 1 + 9 + 1) / 4))
    np.testing.assert_allclose(naive.variance(3), naive.noise_sd**2 * np.array([1, 2, 3]))
    drift = fit_counterfactual(history, kind="linear", noise="random_walk")
    b = 5.0 / 4
    sigma2 = sum((c - b) ** 2 for c in (2, -1, 3, 1)) / 3
    assert (drift.level, drift.slope) == pytest.approx((15.0 + b, b))
    assert drift.noise_sd == pytest.approx(math.sqrt(sigma2))
    h = np.arange(1, 7)
    np.testing.assert_allclose(drift.variance(6), sigma2 * h * (1 + h / 4))


def test_seasonal_fit_reproduces_the_season() -> None:
    t = np.arange(96)
    season = 5 * np.sin(2 * np.pi * t / 12) + 2 * np.cos(2 * np.pi * t / 12)
    history = 100 + 0.2 * t + season + np.random.default_rng(3).normal(0, 0.3, t.size)
    fitted = fit_counterfactual(history, kind="seasonal", season_length=12)
    # Period 0 is t = 96: the season continues from there.
    true_season = (5 * np.sin(2 * np.pi * np.arange(96, 108) / 12)
                   + 2 * np.cos(2 * np.pi * np.arange(96, 108) / 12))
    np.testing.assert_allclose(fitted.season, true_season, atol=0.6)
    assert fitted.slope == pytest.approx(0.2, abs=0.01)
    future = np.arange(96, 120)
    truth = 100 + 0.2 * future + 5 * np.sin(2 * np.pi * future / 12) + 2 * np.cos(
        2 * np.pi * future / 12)
    np.testing.assert_allclose(fitted.mean_path(24), truth, atol=1.0)
    assert fitted.noise_sd < 0.6
    with pytest.raises(ValueError, match="more than two seasons"):
        fit_counterfactual(history[:20], kind="seasonal")


def test_fits_refuse_bad_history() -> None:
    with pytest.raises(ValueError, match="finite"):
        fit_counterfactual([1.0, math.nan, 2.0])
    with pytest.raises(ValueError, match="too little history"):
        fit_counterfactual([1.0, 2.0], kind="linear")


# --------------------------------------------------------------------------------------------
# Waterfall, gap, additional effect and sensitivity
# --------------------------------------------------------------------------------------------

def test_waterfall_gap_and_additional_effect_by_hand() -> None:
    # Certain effects: every draw is the same, so every output is exact.
    effects = [InterventionEffect(effect=Normal(mean=2.0)),
               InterventionEffect(effect=Normal(mean=1.0), start=20),  # after the deadline
               InterventionEffect(effect=Normal(mean=4.0), ramp="linear", ramp_periods=24)]
    result = run(effects, periods=12, target=56.0, draws=100)
    np.testing.assert_allclose(result.contributions, [2.0, 0.0, 4.0 * 12 / 24])
    assert result.mean_at_target == pytest.approx(54.0)
    assert result.expected_gap == pytest.approx(2.0)
    assert result.probability == 0.0
    assert result.additional_effect_needed == pytest.approx(2.0)
    np.testing.assert_array_equal(result.sensitivity, 0.0)
    assert result.counterfactual_sensitivity == 0.0
    met = run(effects, periods=12, target=53.0, draws=100)
    assert met.probability == 1.0
    assert met.additional_effect_needed == 0.0
    assert met.expected_gap == pytest.approx(-1.0)
    lower = run(effects, periods=12, target=53.0, draws=100, higher=False)
    assert lower.probability == 0.0
    assert lower.additional_effect_needed == pytest.approx(-1.0)
    assert lower.expected_gap == pytest.approx(1.0)


def test_additional_effect_is_the_shift_of_the_20th_percentile() -> None:
    draws = 50_000
    result = run(NORMAL_EFFECTS, draws=draws, seed=5, target=57.0)
    mean, sd = CLOSED_FORM[11]
    expected = 57.0 - (mean + stats.norm.ppf(0.2) * sd)
    se = math.sqrt(0.2 * 0.8 / draws) / (stats.norm.pdf(stats.norm.ppf(0.2)) / sd)
    assert result.additional_effect_needed == pytest.approx(expected, abs=5 * se)
    lower = run(NORMAL_EFFECTS, draws=draws, seed=5, target=52.0, higher=False)
    expected = 52.0 - (mean + stats.norm.ppf(0.8) * sd)
    assert lower.additional_effect_needed == pytest.approx(expected, abs=5 * se)
    assert lower.additional_effect_needed < 0


def test_sensitivity_ranks_the_uncertainty_that_matters() -> None:
    effects = [InterventionEffect(effect=Normal(mean=1.0, sd=0.1)),
               InterventionEffect(effect=Normal(mean=2.0, sd=3.0)),
               InterventionEffect(effect=Normal(mean=1.0)),
               InterventionEffect(effect=Normal(mean=1.0, sd=1.0), start=30)]
    result = run(effects, target=53.0, draws=20_000, seed=9,
                 counterfactual=Counterfactual(level=50.0, noise_sd=0.5))
    assert result.sensitivity_ranking[0] == 1
    # Removing the large uncertainty when the mean is above the target raises the probability.
    assert result.sensitivity[1] > 0.2
    assert result.sensitivity[2] == 0.0  # certain: nothing to remove
    assert result.sensitivity[3] == 0.0  # starts after the deadline
    assert abs(result.sensitivity[0]) < 0.02
    assert 0 < result.counterfactual_sensitivity < 0.05


def test_sensitivity_agrees_with_rerunning_without_the_uncertainty() -> None:
    effects = [InterventionEffect(effect=Triangular(low=0, mode=1, high=4), lag=2),
               InterventionEffect(effect=LogNormal(median=1.5, log_sd=0.6), ramp="s_curve",
                                  ramp_periods=5)]
    base = run(effects, target=54.0, draws=5_000, seed=3)
    for i, effect in enumerate(effects):
        certain = list(effects)
        certain[i] = replace(effect, effect=Normal(mean=base.contributions[i]
                                                   / effect.shape(12)[11]))
        rerun = run(certain, target=54.0, draws=5_000, seed=3)
        # The same draws for the others; the mean kept in float32 moves at most a draw or two.
        assert base.probability + base.sensitivity[i] == pytest.approx(rerun.probability,
                                                                       abs=2 / 5_000)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

def distributions() -> st.SearchStrategy[Distribution]:
    value = st.floats(-5, 5, allow_nan=False)
    spread = st.floats(0, 3, allow_nan=False)
    return st.one_of(
        st.builds(Normal, mean=value, sd=spread),
        st.builds(LogNormal, median=st.floats(0.1, 5) | st.floats(-5, -0.1),
                  log_sd=st.floats(0, 1.5)),
        st.builds(lambda a, b, c: Triangular(low=min(a, b, c), mode=sorted((a, b, c))[1],
                                             high=max(a, b, c)), value, value, value),
        st.builds(lambda a, b: Uniform(low=min(a, b), high=max(a, b)), value, value),
    )


def positive_distributions() -> st.SearchStrategy[Distribution]:
    """Distributions whose draws are all ≥ 0."""
    return st.one_of(
        st.builds(LogNormal, median=st.floats(0.01, 5), log_sd=st.floats(0, 1.5)),
        st.builds(lambda a, b: Uniform(low=min(a, b), high=max(a, b)),
                  st.floats(0, 3), st.floats(0, 3)),
        st.builds(lambda a, b, c: Triangular(low=min(a, b, c), mode=sorted((a, b, c))[1],
                                             high=max(a, b, c)),
                  st.floats(0, 3), st.floats(0, 3), st.floats(0, 3)),
        st.builds(Normal, mean=st.floats(0, 5)),
    )


def interventions(effects: st.SearchStrategy[Distribution] | None = None,
                  ) -> st.SearchStrategy[InterventionEffect]:
    return st.builds(
        InterventionEffect,
        effect=effects if effects is not None else distributions(),
        start=st.integers(-3, 10), lag=st.integers(0, 4),
        ramp=st.sampled_from(["step", "linear", "s_curve"]), ramp_periods=st.integers(1, 6),
        persistence=st.just("permanent"), overlap=st.floats(0, 1),
        optimism=st.floats(0.2, 1.5),
    ) | st.builds(
        InterventionEffect,
        effect=effects if effects is not None else distributions(),
        start=st.integers(0, 6), persistence=st.just("decay"), half_life=st.floats(0.5, 12),
    )


counterfactuals = st.builds(
    Counterfactual, level=st.floats(-10, 10), slope=st.floats(-1, 1),
    level_sd=st.floats(0, 1), slope_sd=st.floats(0, 0.2), noise_sd=st.floats(0, 2),
    noise=st.sampled_from(["iid", "random_walk"]))


scenarios = st.fixed_dictionaries({
    "counterfactual": counterfactuals,
    "effects": st.lists(interventions(), min_size=0, max_size=4),
    "periods": st.integers(1, 16),
    "target_value": st.floats(-20, 20),
    "higher_is_better": st.booleans(),
    "seed": st.integers(0, 2**32),
    "draws": st.integers(50, 400),
})


def project_scenario(scenario: dict[str, object], **changes: object) -> Projection:
    arguments = {**scenario, **changes}
    periods = arguments["periods"]
    return project(target_period=periods - 1, **arguments)  # type: ignore[arg-type, operator]


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios)
def test_same_seed_same_results(scenario: dict[str, object]) -> None:
    first = project_scenario(scenario)
    again = project_scenario(scenario, threads=1)
    wider = project_scenario(scenario, threads=3)
    for other in (again, wider):
        for name in ("quantiles", "mean", "sd", "counterfactual_mean", "contributions",
                     "sensitivity"):
            np.testing.assert_array_equal(getattr(first, name), getattr(other, name))
        for name in ("probability", "expected_gap", "additional_effect_needed",
                     "counterfactual_sensitivity", "sensitivity_ranking"):
            assert getattr(first, name) == getattr(other, name)


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios, extra=interventions(positive_distributions()))
def test_a_positive_effect_never_lowers_the_probability(scenario: dict[str, object],
                                                        extra: InterventionEffect) -> None:
    effects = list(scenario["effects"])  # type: ignore[call-overload]
    before = project_scenario(scenario, higher_is_better=True)
    after = project_scenario(scenario, higher_is_better=True, effects=[*effects, extra])
    assert after.probability >= before.probability
    # Common random numbers: the others' draws are untouched.
    np.testing.assert_array_equal(after.contributions[:-1], before.contributions)
    np.testing.assert_array_equal(after.counterfactual_mean, before.counterfactual_mean)
    # The mirror image: a reduction never lowers the probability of a lower-is-better target.
    lower_before = project_scenario(scenario, higher_is_better=False)
    lower_after = project_scenario(scenario, higher_is_better=False,
                                   effects=[*effects, replace(extra,
                                                              effect=_negated(extra.effect))])
    assert lower_after.probability >= lower_before.probability


def _negated(effect: Distribution) -> Distribution:
    if isinstance(effect, Normal):
        return Normal(mean=-effect.mean, sd=effect.sd)
    if isinstance(effect, LogNormal):
        return LogNormal(median=-effect.median, log_sd=effect.log_sd)
    if isinstance(effect, Uniform):
        return Uniform(low=-effect.high, high=-effect.low)
    return Triangular(low=-effect.high, mode=-effect.mode, high=-effect.low)


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios)
def test_waterfall_sums_to_the_mean_effect_and_quantiles_are_ordered(
        scenario: dict[str, object]) -> None:
    result = project_scenario(scenario)
    t = result.target_period
    scale = 1.0 + float(np.abs(result.contributions).sum()) + abs(result.mean[t])
    assert result.contributions.sum() == pytest.approx(
        result.mean[t] - result.counterfactual_mean[t], abs=1e-12 * scale)
    assert np.all(np.diff(result.quantiles, axis=0) >= 0)
    assert 0.0 <= result.probability <= 1.0
    assert len(result.sensitivity_ranking) == len(result.contributions)
    assert sorted(result.sensitivity_ranking) == list(range(len(result.contributions)))
    magnitudes = np.abs(result.sensitivity)[list(result.sensitivity_ranking)]
    assert np.all(np.diff(magnitudes) <= 0)
    # The fan chart and the float64 mean agree to float32 precision (mean inside the fan).
    assert np.all(result.sd >= 0)


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios, required=st.sampled_from([0.5, 0.8, 0.9]))
def test_additional_effect_needed_reaches_the_probability(scenario: dict[str, object],
                                                          required: float) -> None:
    result = project_scenario(scenario, required_probability=required)
    needed = result.additional_effect_needed
    if result.probability >= required:
        assert needed == 0.0
        return
    assert (needed > 0) == scenario["higher_is_better"]
    effects = list(scenario["effects"])  # type: ignore[call-overload]
    certain = InterventionEffect(effect=Normal(mean=needed))
    rerun = project_scenario(scenario, effects=[*effects, certain],
                             required_probability=required)
    assert rerun.probability >= required
    # And it is the least such shift: a slightly smaller one falls short.
    smaller = needed - math.copysign(1e-6 * (abs(needed) + abs(result.target_value) + 1.0),
                                     needed)
    short = project_scenario(scenario, required_probability=required,
                             effects=[*effects, InterventionEffect(effect=Normal(mean=smaller))])
    assert short.probability < required


# --------------------------------------------------------------------------------------------
# The result and the arguments
# --------------------------------------------------------------------------------------------

def test_results_are_frozen() -> None:
    result = run(NORMAL_EFFECTS, draws=100)
    with pytest.raises(FrozenInstanceError):
        result.probability = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.mean[0] = 0.0
    assert result.quantiles.shape == (5, 12)
    with pytest.raises(KeyError):
        result.quantile(0.3)


@pytest.mark.parametrize(("changes", "message"), [
    ({"periods": 0}, "at least one period"),
    ({"target_period": 12}, "outside 0 … 11"),
    ({"draws": 1}, "at least two draws"),
    ({"seed": -1}, "non-negative"),
    ({"required_probability": 1.0}, "between 0 and 1"),
    ({"quantile_levels": (0.5, 1.5)}, "between 0 and 1"),
    ({"target_value": math.inf}, "finite"),
])
def test_arguments_are_checked(changes: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "counterfactual": FLAT_50, "effects": NORMAL_EFFECTS, "periods": 12,
        "target_value": 55.0, "target_period": 11, "higher_is_better": True, "seed": 1,
        "draws": 100}
    with pytest.raises(ValueError, match=message):
        project(**{**arguments, **changes})  # type: ignore[arg-type]


# Delivery and the benchmark import these from missionboard.analytics.projection.
REEXPORTED = {
    effects_module: ["S_CURVE_STEEPNESS", "Distribution", "InterventionEffect", "LogNormal",
                     "Normal", "Persistence", "Ramp", "Triangular", "Uniform", "distribution",
                     "shape_matrix", "sigma_from_interval", "z_for_level"],
    counterfactual_module: ["Counterfactual", "CounterfactualKind", "NoiseKind",
                            "fit_counterfactual"],
}


def test_the_projection_module_re_exports_effects_and_counterfactuals() -> None:
    for module, names in REEXPORTED.items():
        for name in names:
            assert name in projection_module.__all__
            assert getattr(projection_module, name) is getattr(module, name)
