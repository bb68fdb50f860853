"""Trial power against published numbers, statsmodels, the design-effect formula and simulation.

Published: Cohen (1988), *Statistical Power Analysis*, Table 2.4.1 — d = 0.5, two-sided
α = 0.05, power 0.80 needs n = 64 per group (G*Power reports actual power 0.8014596 there);
R's documentation examples for ``power.t.test`` (n = 20, δ = 1: power 0.8689528; power 0.90,
δ = 1: n = 22.02110) and ``power.prop.test`` (n = 50, p 0.50 vs 0.75: power 0.7401659;
power 0.90: n = 76.7).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.power import (  # type: ignore[import-untyped]
    NormalIndPower,
    TTestIndPower,
)

from missionboard.analytics.trial_power import (
    binary_mde,
    binary_power,
    binary_sample_size,
    continuous_mde,
    continuous_power,
    continuous_sample_size,
)


def test_cohen_table_and_gpower_actual_power() -> None:
    result = continuous_sample_size(effect=0.5)
    assert (result.n_treated, result.n_control) == (64, 64)
    assert round(result.power, 7) == 0.8014596
    assert result.standardised_effect == 0.5


def test_r_power_t_test_examples() -> None:
    assert continuous_power(effect=1, n_total=40) == pytest.approx(0.8689528, abs=5e-7)
    assert continuous_sample_size(effect=1, power=0.9).exact_size == pytest.approx(
        2 * 22.02110, abs=2e-4)


def test_r_power_prop_test_examples() -> None:
    # R ignores the opposite tail (strict = FALSE); it adds < 2e-6 here.
    assert binary_power(control_rate=0.5, treated_rate=0.75, n_total=100) == pytest.approx(
        0.7401659, abs=2e-6)
    result = binary_sample_size(control_rate=0.5, treated_rate=0.75, power=0.9)
    assert round(result.exact_size / 2, 1) == 76.7
    assert (result.n_treated, result.n_control) == (77, 77)


@pytest.mark.parametrize(("ratio", "sides"), [(1.0, 2), (2.0, 2), (0.5, 1)])
def test_individual_designs_match_statsmodels(ratio: float, sides: int) -> None:
    alternative = "two-sided" if sides == 2 else "larger"
    n_control = 90.0
    total = n_control * (1 + ratio)
    for distribution, engine in (("t", TTestIndPower()), ("normal", NormalIndPower())):
        expected = engine.solve_power(effect_size=None, nobs1=n_control * ratio, ratio=1 / ratio,
                                      alpha=0.05, power=0.8, alternative=alternative)
        mde = continuous_mde(n_total=total, ratio=ratio, sides=sides,
                             distribution=distribution)  # type: ignore[arg-type]
        assert mde.effect == pytest.approx(expected, rel=1e-5)  # statsmodels' solver tolerance
        power = engine.power(effect_size=0.4, nobs1=n_control * ratio, ratio=1 / ratio,
                             alpha=0.05, alternative=alternative)
        assert continuous_power(effect=0.4, n_total=total, ratio=ratio, sides=sides,
                                distribution=distribution) == pytest.approx(  # type: ignore[arg-type]
            power, rel=1e-6)


def test_cluster_design_is_the_individual_design_deflated_by_the_design_effect() -> None:
    # 30 clusters of 25, ICC 0.05, R² 0.4, 20% attrition: 20 analysed per cluster, DEFF 1.95,
    # effective sample 30·20·0.6⁻¹/1.95 for the normal approximation.
    mde = continuous_mde(clusters=30, cluster_size=25, icc=0.05, r2=0.4, attrition=0.2,
                         distribution="normal")
    assert mde.design_effect == pytest.approx(1 + 19 * 0.05)
    effective = 30 * 20 / (1.95 * 0.6)
    expected = NormalIndPower().solve_power(nobs1=effective / 2, alpha=0.05, power=0.8)
    assert mde.effect == pytest.approx(expected, rel=1e-5)
    assert (mde.clusters_treated, mde.clusters_control, mde.n_total) == (15, 15, 750)
    # With the t distribution on J − 3 = 27 df (R² from a covariate) it is larger.
    assert continuous_mde(clusters=30, cluster_size=25, icc=0.05, r2=0.4,
                          attrition=0.2).effect > mde.effect


def test_sample_size_with_attrition_and_ratio() -> None:
    result = continuous_sample_size(effect=0.3, attrition=0.2, ratio=2, distribution="normal")
    expected = NormalIndPower().solve_power(effect_size=0.3, alpha=0.05, power=0.8, ratio=0.5)
    # statsmodels' nobs1 is the first group, here treatment (control = nobs1·0.5)
    assert result.exact_size == pytest.approx(expected * 1.5, rel=1e-5)
    analysed = (math.ceil(expected), math.ceil(expected / 2))
    assert (result.n_treated, result.n_control) == tuple(math.ceil(a / 0.8) for a in analysed)
    assert result.power >= 0.8


def test_binary_mde_detects_its_own_effect_with_the_target_power() -> None:
    result = binary_mde(control_rate=0.2, n_total=800, direction="decrease")
    assert result.effect < 0
    assert binary_power(control_rate=0.2, treated_rate=0.2 + result.effect,
                        n_total=800) == pytest.approx(0.8, abs=1e-9)


def test_cluster_binary_sample_size_inflates_by_the_design_effect() -> None:
    individual = binary_sample_size(control_rate=0.3, treated_rate=0.2)
    clustered = binary_sample_size(control_rate=0.3, treated_rate=0.2, cluster_size=20,
                                   icc=0.02)
    deff = 1 + 19 * 0.02
    assert clustered.exact_size * 20 == pytest.approx(individual.exact_size * deff, rel=1e-6)
    assert clustered.clusters_treated == math.ceil(clustered.exact_size / 2)


@pytest.mark.parametrize("bad", [{"icc": 1.2}, {"attrition": 1.0}, {"ratio": 0},
                                 {"alpha": 0}, {"power": 0.01}, {"sides": 3}])
def test_bad_parameters_are_refused(bad: dict[str, float]) -> None:
    arguments: dict[str, float] = {"clusters": 20, "cluster_size": 10, **bad}
    with pytest.raises(ValueError, match="must"):
        continuous_mde(**arguments)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Simulation: the achieved power at the computed size is the target
# --------------------------------------------------------------------------------------------

TRIALS = 2000
TOLERANCE = 3 * math.sqrt(0.8 * 0.2 / TRIALS)  # three simulation standard errors


def test_individual_design_power_by_simulation() -> None:
    design = continuous_sample_size(effect=0.4, sd=2.0, power=0.8)
    rng = np.random.default_rng(20261128)
    control = rng.normal(0, 2, size=(TRIALS, design.n_control))
    treated = rng.normal(0.4, 2, size=(TRIALS, design.n_treated))
    difference = treated.mean(axis=1) - control.mean(axis=1)
    pooled = ((design.n_treated - 1) * treated.var(axis=1, ddof=1)
              + (design.n_control - 1) * control.var(axis=1, ddof=1)) / (design.n_total - 2)
    t = difference / np.sqrt(pooled * (1 / design.n_treated + 1 / design.n_control))
    from scipy import stats

    rejected = np.abs(t) > stats.t.isf(0.025, design.n_total - 2)
    assert rejected.mean() == pytest.approx(design.power, abs=TOLERANCE)


def test_cluster_design_power_by_simulation() -> None:
    design = continuous_sample_size(effect=0.3, cluster_size=15, icc=0.08, power=0.8)
    j1, j0, m = design.clusters_treated, design.clusters_control, 15
    assert j1 is not None
    assert j0 is not None
    rng = np.random.default_rng(7)
    sd_cluster, sd_unit = math.sqrt(0.08), math.sqrt(0.92)
    means = (rng.normal(0, sd_cluster, size=(TRIALS, j1 + j0))
             + rng.normal(0, sd_unit, size=(TRIALS, j1 + j0, m)).mean(axis=2))
    means[:, :j1] += 0.3
    from scipy import stats

    t = stats.ttest_ind(means[:, :j1], means[:, j1:], axis=1).statistic
    rejected = np.abs(t) > stats.t.isf(0.025, j1 + j0 - 2)
    assert rejected.mean() == pytest.approx(design.power, abs=TOLERANCE)
