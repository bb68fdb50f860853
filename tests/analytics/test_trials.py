"""Trial analysis against published numbers and independent references.

- NSW job-training experiment (``tests/fixtures/trials/nsw_dw.csv``, see its README): Dehejia
  & Wahba (1999, Table 3) report the experimental difference in 1978 earnings as $1,794 with
  standard error 633 (the classical OLS SE); the means are $6,349.14 and $4,554.80.
- Standard errors against statsmodels' OLS (``cov_type`` HC1, HC2, cluster) on seeded data;
  CR2 and its Bell–McCaffrey df against ``reference/trials_reference.py``'s dense n×n
  implementation, and the Welch df against scipy's ``ttest_ind(equal_var=False)``.
- Hedges' g: Borenstein et al. (2009), *Introduction to Meta-Analysis*, ch. 4 worked example
  (means 103 and 100, SDs 5.5 and 4.5, 50 per arm: d = 0.5970, g = 0.5924, SE(g) = 0.2028).
- Odds ratio: the Woolf interval written out, and statsmodels' ``Table2x2``.
- Holm and BH against statsmodels' ``multipletests``; Lan–DeMets boundaries against
  published values (Reboussin et al. 2000 program / gsDesign: 4.877, 3.357, 2.680, 2.290,
  2.031) and against multivariate-normal crossing probabilities.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import statsmodels.api as sm  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2  # type: ignore[import-untyped]
from statsmodels.stats.multitest import multipletests  # type: ignore[import-untyped]

from missionboard.analytics.trials import (
    TrialInputError,
    analyse,
    benjamini_hochberg,
    consort_flow,
    eef_months,
    hedges_g,
    hedges_g_from_summary,
    holm,
    sequential_boundaries,
    subgroup_interaction,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "trials" / "nsw_dw.csv"


def _reference() -> ModuleType:
    path = Path(__file__).parent / "reference" / "trials_reference.py"
    spec = importlib.util.spec_from_file_location("trials_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["trials_reference"] = module
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference()


def nsw() -> dict[str, np.ndarray]:
    with FIXTURE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {name: np.array([float(r[name]) for r in rows]) for name in rows[0]}


def clustered(seed: int, clusters: int = 12, *, by_cluster: bool = True) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unequal clusters; treatment by cluster (or by unit), one covariate, cluster effects."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, size=clusters)
    labels = np.repeat(np.arange(clusters), sizes)
    if by_cluster:
        treated = np.repeat(np.arange(clusters) % 2, sizes)
    else:
        treated = rng.permutation(np.arange(labels.size) % 2)
    covariate = rng.normal(size=labels.size)
    y = (0.5 * treated + covariate + np.repeat(rng.normal(size=clusters), sizes)
         + rng.normal(size=labels.size) * (1 + treated))
    return y, treated, labels, covariate


# --------------------------------------------------------------------------------------------
# NSW: the published experimental estimate
# --------------------------------------------------------------------------------------------


def test_nsw_difference_in_earnings_matches_dehejia_wahba() -> None:
    data = nsw()
    assert (data["treat"] == 1).sum() == 185
    assert (data["treat"] == 0).sum() == 260
    pooled = analyse(data["re78"], data["treat"], se="pooled")
    assert round(pooled.effect, 2) == 1794.34
    assert round(pooled.se) == 633
    assert (pooled.n_treated, pooled.n_control, pooled.df) == (185, 260, 443)
    welch = analyse(data["re78"], data["treat"])
    assert welch.effect == pytest.approx(pooled.effect, abs=1e-9)
    result = stats.ttest_ind(data["re78"][data["treat"] == 1], data["re78"][data["treat"] == 0],
                             equal_var=False)
    assert welch.effect / welch.se == pytest.approx(result.statistic, rel=1e-10)
    assert welch.p_value == pytest.approx(result.pvalue, rel=1e-8)
    assert welch.df == pytest.approx(result.df, rel=1e-10)


def test_nsw_ancova_matches_statsmodels_hc2() -> None:
    data = nsw()
    names = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
    covariates = np.column_stack([data[c] for c in names])
    ours = analyse(data["re78"], data["treat"], covariates=covariates)
    x = sm.add_constant(np.column_stack([data["treat"], covariates]))
    fit = sm.OLS(data["re78"], x).fit(cov_type="HC2")
    assert ours.method == "ancova"
    assert ours.variance == "hc2"
    assert ours.effect == pytest.approx(fit.params[1], rel=1e-9)
    assert ours.se == pytest.approx(fit.bse[1], rel=1e-9)
    assert ours.df == 445 - 10


# --------------------------------------------------------------------------------------------
# Standard errors against statsmodels and the dense CR2 reference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variance", ["hc1", "hc2", "pooled"])
def test_unclustered_variances_match_statsmodels(variance: str) -> None:
    y, treated, _, covariate = clustered(3, 30, by_cluster=False)
    ours = analyse(y, treated, covariates=covariate, se=variance)  # type: ignore[arg-type]
    fit = sm.OLS(y, sm.add_constant(np.column_stack([treated, covariate]))).fit(
        cov_type="nonrobust" if variance == "pooled" else variance.upper())
    assert ours.se == pytest.approx(fit.bse[1], rel=1e-9)


def test_cr1_matches_statsmodels_cluster() -> None:
    y, treated, labels, covariate = clustered(5, 14)
    for covariates in (None, covariate):
        columns = [treated] if covariates is None else [treated, covariates]
        fit = sm.OLS(y, sm.add_constant(np.column_stack(columns))).fit(
            cov_type="cluster", cov_kwds={"groups": labels, "use_correction": True,
                                          "df_correction": True})
        ours = analyse(y, treated, clusters=labels, covariates=covariates, se="cr1",
                       method="ancova" if covariates is not None else "difference")
        assert ours.se == pytest.approx(fit.bse[1], rel=1e-9)
        assert ours.df == 13
        assert ours.n_clusters == 14
        t = stats.t(13)
        assert ours.p_value == pytest.approx(2 * t.sf(abs(ours.effect / ours.se)), rel=1e-9)
        assert ours.ci_high - ours.effect == pytest.approx(t.ppf(0.975) * ours.se, rel=1e-12)


@pytest.mark.parametrize(("seed", "by_cluster"), [(1, True), (2, True), (7, False)])
def test_cr2_and_its_df_match_the_dense_bell_mccaffrey_reference(seed: int,
                                                                  by_cluster: bool) -> None:
    y, treated, labels, covariate = clustered(seed, 9, by_cluster=by_cluster)
    for covariates in (None, covariate):
        columns = [np.ones(y.size), treated] + ([] if covariates is None else [covariates])
        se, df = REFERENCE.cr2_dense(np.column_stack(columns).astype(float), y, labels)
        ours = analyse(y, treated, clusters=labels, covariates=covariates,
                       method="ancova" if covariates is not None else "difference")
        assert ours.variance == "cr2"
        assert ours.se == pytest.approx(se, rel=1e-9)
        assert ours.df == pytest.approx(df, rel=1e-9)


def test_cr2_reference_example_values() -> None:
    # Printed by tests/analytics/reference/trials_reference.py.
    x, y, labels = REFERENCE.example()
    ours = analyse(y, x[:, 1], clusters=labels, covariates=x[:, 2])
    assert ours.se == pytest.approx(1.0634838291448323, rel=1e-9)
    assert ours.df == pytest.approx(5.677244333053278, rel=1e-9)


def test_cr2_df_for_balanced_cluster_means_is_g_minus_2() -> None:
    # Equal clusters, treatment by cluster, no covariates: CR2 is the t test on cluster
    # means and its Bell–McCaffrey df is exactly G − 2 (Imbens & Kolesár 2016, section 4).
    rng = np.random.default_rng(11)
    labels = np.repeat(np.arange(10), 5)
    treated = np.repeat(np.arange(10) % 2, 5)
    y = rng.normal(size=50) + np.repeat(rng.normal(size=10), 5)
    ours = analyse(y, treated, clusters=labels)
    means = np.bincount(labels, weights=y) / 5
    arm = np.arange(10) % 2
    pooled = stats.ttest_ind(means[arm == 1], means[arm == 0])
    assert ours.df == pytest.approx(8, rel=1e-9)
    assert ours.effect / ours.se == pytest.approx(pooled.statistic, rel=1e-9)


def test_cuped_is_the_difference_in_means_of_the_adjusted_outcome() -> None:
    rng = np.random.default_rng(4)
    pre = rng.normal(10, 2, size=400)
    treated = np.arange(400) % 2
    y = 3 + 0.8 * pre + 0.3 * treated + rng.normal(size=400)
    theta = np.cov(y, pre)[0, 1] / np.var(pre, ddof=1)
    adjusted = y - theta * (pre - pre.mean())
    ours = analyse(y, treated, cuped_pre=pre)
    plain = analyse(adjusted, treated)
    assert ours.method == "cuped"
    assert ours.effect == pytest.approx(plain.effect, rel=1e-12)
    assert ours.se == pytest.approx(plain.se, rel=1e-12)
    # CUPED's variance reduction is 1 − ρ², ρ = corr(y, pre) (Deng et al. 2013, eq. 4)
    rho = np.corrcoef(y, pre)[0, 1]
    assert ours.se == pytest.approx(analyse(y, treated).se * math.sqrt(1 - rho**2), rel=0.03)


def test_risk_difference_and_odds_ratio() -> None:
    treated = np.repeat([1, 0], [200, 300])
    y = np.concatenate([np.repeat([1, 0], [60, 140]), np.repeat([1, 0], [60, 240])])
    rd = analyse(y, treated, method="risk_difference")
    assert rd.effect == pytest.approx(0.3 - 0.2)
    assert rd.se == pytest.approx(math.sqrt(0.3 * 0.7 / 200 + 0.2 * 0.8 / 300))
    assert rd.df is None
    assert rd.ci_low == pytest.approx(0.1 - 1.959963984540054 * rd.se)
    odds = analyse(y, treated, method="odds_ratio")
    table = Table2x2(np.array([[60, 140], [60, 240]]))
    assert odds.effect == pytest.approx(60 * 240 / (140 * 60))
    assert odds.se == pytest.approx(table.log_oddsratio_se)
    low, high = table.oddsratio_confint()
    assert (odds.ci_low, odds.ci_high) == pytest.approx((low, high))


def test_odds_ratio_adds_a_half_to_every_cell_when_one_is_empty() -> None:
    treated = np.repeat([1, 0], [10, 10])
    y = np.concatenate([np.repeat([1, 0], [4, 6]), np.zeros(10)])
    odds = analyse(y, treated, method="odds_ratio")
    assert odds.effect == pytest.approx((4.5 * 10.5) / (6.5 * 0.5))
    assert odds.se == pytest.approx(math.sqrt(1 / 4.5 + 1 / 6.5 + 1 / 0.5 + 1 / 10.5))


# --------------------------------------------------------------------------------------------
# Input errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"treatment": [0, 1, 2, 1, 0, 1]}, "coded 0/1: found 2 at row 2"),
    ({"outcome": [1.0, np.nan, 2, 3, 4, 5]}, "outcome is missing or not finite at row 1"),
    ({"treatment": [1, 1, 1, 1, 1, 1]}, "at least 2 units: 6 treated, 0 control"),
    ({"treatment": [0, 1, 0, 1]}, "4 values for 6 units"),
    ({"clusters": [1, 1, 1, 1, 1, 2]}, "too few clusters.*2 with treated units, 1 with control"),
    ({"clusters": [1, 2, 3, 4]}, "4 values for 6 units"),
])
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"outcome": [1.0, 2, 3, 4, 5, 6],
                                    "treatment": [0, 1, 0, 1, 0, 1], **kwargs}
    with pytest.raises(TrialInputError, match=message):
        analyse(arguments.pop("outcome"), arguments.pop("treatment"),  # type: ignore[arg-type]
                **arguments)  # type: ignore[arg-type]


def test_collinear_covariates_are_refused() -> None:
    with pytest.raises(ValueError, match="collinear"):
        analyse([1.0, 2, 3, 4, 5, 7], [0, 1, 0, 1, 0, 1], covariates=[0, 1, 0, 1, 0, 1])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

outcomes = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=12, max_size=40)


@settings(max_examples=40, deadline=None)
@given(outcomes, st.integers(0, 2**32 - 1), st.floats(-1e4, 1e4),
       st.sampled_from(["welch", "hc2", "cr1", "cr2"]))
def test_swapping_arms_flips_the_sign_and_shifting_changes_nothing(
        values: list[float], seed: int, shift: float, variance: str) -> None:
    y = np.asarray(values)
    n = y.size
    treated = np.random.default_rng(seed).permutation(np.arange(n) % 2)
    y = y + np.random.default_rng(seed).normal(size=n)  # no ties: the variance is positive
    labels = np.arange(n) // 2 if variance.startswith("cr") else None
    forward = analyse(y, treated, clusters=labels, se=variance)  # type: ignore[arg-type]
    backward = analyse(y, 1 - treated, clusters=labels, se=variance)  # type: ignore[arg-type]
    assert backward.effect == pytest.approx(-forward.effect, rel=1e-9, abs=1e-9)
    assert backward.se == pytest.approx(forward.se, rel=1e-7)
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-6, abs=1e-12)
    shifted = analyse(y + shift, treated, clusters=labels, se=variance)  # type: ignore[arg-type]
    assert shifted.effect == pytest.approx(forward.effect, rel=1e-6, abs=1e-6)
    assert shifted.se == pytest.approx(forward.se, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(outcomes, st.integers(0, 2**32 - 1))
def test_cr1_with_singleton_clusters_is_hc1(values: list[float], seed: int) -> None:
    y = np.asarray(values) + np.random.default_rng(seed).normal(size=len(values))
    treated = np.random.default_rng(seed).permutation(np.arange(y.size) % 2)
    cr1 = analyse(y, treated, clusters=np.arange(y.size) * 7 + 3, se="cr1")
    hc1 = analyse(y, treated, se="hc1")
    # CR1's factor G/(G−1)·(n−1)/(n−k) is n/(n−k) when G = n: HC1.
    assert cr1.se == pytest.approx(hc1.se, rel=1e-9)
    assert cr1.n_clusters == y.size


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_adjusted_p_values_are_monotone_and_at_least_raw(raw: list[float]) -> None:
    p = np.asarray(raw)
    order = np.argsort(p, kind="stable")
    for adjusted in (holm(p), benjamini_hochberg(p)):
        assert (adjusted >= p - 1e-15).all()
        assert (adjusted <= 1).all()
        assert (np.diff(adjusted[order]) >= -1e-15).all()
    assert (holm(p) >= benjamini_hochberg(p) - 1e-15).all()


def test_adjusted_p_values_match_statsmodels() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.5])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], rel=1e-12)
    assert benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1],
                                                  rel=1e-12)


# --------------------------------------------------------------------------------------------
# Effect sizes and EEF months
# --------------------------------------------------------------------------------------------


def test_hedges_g_matches_borenstein_worked_example() -> None:
    g = hedges_g_from_summary(mean_treated=103, mean_control=100, sd_treated=5.5,
                              sd_control=4.5, n_treated=50, n_control=50)
    assert round(g.d, 4) == 0.5970
    assert round(g.correction, 4) == 0.9923
    assert round(g.g, 4) == 0.5924
    assert round(g.se**2, 4) == 0.0411
    assert round(g.se, 4) == 0.2028
    assert g.months == 7


def test_hedges_g_from_data_uses_the_arm_summaries() -> None:
    data = nsw()
    g = hedges_g(data["re78"], data["treat"])
    y1, y0 = data["re78"][data["treat"] == 1], data["re78"][data["treat"] == 0]
    pooled = math.sqrt((184 * y1.var(ddof=1) + 259 * y0.var(ddof=1)) / 443)
    assert g.d == pytest.approx((y1.mean() - y0.mean()) / pooled)
    assert g.ci_low < g.g < g.ci_high


@pytest.mark.parametrize(("g", "months"), [
    (0.0, 0), (0.01, 0), (0.02, 1), (0.09, 1), (0.10, 2), (0.18, 2), (0.19, 3), (0.26, 3),
    (0.27, 4), (0.35, 4), (0.36, 5), (0.44, 5), (0.45, 6), (0.52, 6), (0.53, 7), (0.61, 7),
    (0.62, 8), (0.69, 8), (0.70, 9), (0.78, 9), (0.79, 10), (0.87, 10), (0.88, 11),
    (0.95, 11), (0.96, 12), (1.5, 12),
    # between rows: |g| is rounded to 2 decimals, half up, first
    (0.014, 0), (0.015, 1), (0.0949, 1), (0.095, 2), (0.185, 3), (0.2649, 3), (0.955, 12),
    # the sign is kept
    (-0.02, -1), (-0.185, -3), (-0.96, -12),
])
def test_eef_months_at_every_table_boundary(g: float, months: int) -> None:
    assert eef_months(g) == months


# --------------------------------------------------------------------------------------------
# Subgroups, CONSORT, sequential monitoring
# --------------------------------------------------------------------------------------------


def test_subgroup_interaction_matches_statsmodels() -> None:
    rng = np.random.default_rng(9)
    n = 300
    treated, group = rng.integers(0, 2, n), rng.integers(0, 2, n)
    y = 1 + 0.2 * treated + 0.5 * group + 0.4 * treated * group + rng.normal(size=n)
    result = subgroup_interaction(y, treated, group)
    x = sm.add_constant(np.column_stack([treated, group, treated * group]))
    fit = sm.OLS(y, x).fit(cov_type="HC2")
    assert result.interaction.effect == pytest.approx(fit.params[3], rel=1e-9)
    assert result.interaction.se == pytest.approx(fit.bse[3], rel=1e-9)
    assert result.effect_outside.effect == pytest.approx(fit.params[1], rel=1e-9)
    inside = (group == 1)
    assert result.effect_inside.effect == pytest.approx(
        y[inside & (treated == 1)].mean() - y[inside & (treated == 0)].mean(), rel=1e-9)
    assert result.effect_inside.n_treated == int((inside & (treated == 1)).sum())


def test_consort_flow_counts_and_differential_attrition() -> None:
    flow = consort_flow(enrolled=1000, allocated={"control": 480, "treatment": 480},
                        followed_up={"control": 450, "treatment": 400},
                        analysed={"control": 440, "treatment": 400})
    assert flow.excluded == 40
    control, treatment = flow.arms
    assert (control.lost_to_follow_up, treatment.lost_to_follow_up) == (30, 80)
    assert control.attrition == pytest.approx(40 / 480)
    assert treatment.attrition == pytest.approx(80 / 480)
    assert flow.overall_attrition == pytest.approx(120 / 960)
    assert flow.differential_attrition == pytest.approx(40 / 480)
    assert flow.differential_flag
    close = consort_flow(enrolled=960, allocated={"control": 480, "treatment": 480},
                         followed_up={"control": 450, "treatment": 440},
                         analysed={"control": 450, "treatment": 440})
    assert not close.differential_flag
    with pytest.raises(ValueError, match="analysed ≤ followed up"):
        consort_flow(enrolled=10, allocated={"control": 5, "treatment": 5},
                     followed_up={"control": 5, "treatment": 4},
                     analysed={"control": 5, "treatment": 5})


def test_obrien_fleming_boundaries_match_published_values() -> None:
    looks = sequential_boundaries([0.2, 0.4, 0.6, 0.8, 1.0])
    assert [round(look.z, 3) for look in looks] == [4.877, 3.357, 2.680, 2.290, 2.031]
    assert looks[-1].cumulative_alpha == pytest.approx(0.05)
    # An independent check: the probability of crossing by each look, from multivariate
    # normal integrals, is what the spending function allows.
    crossing = REFERENCE.sequential_crossing([look.z for look in looks],
                                             [0.2, 0.4, 0.6, 0.8, 1.0])
    assert crossing == pytest.approx([look.cumulative_alpha / 2 for look in looks],
                                     rel=2e-3, abs=2e-6)


def test_one_sided_pocock_type_boundaries_spend_alpha() -> None:
    looks = sequential_boundaries([0.5, 1.0], alpha=0.025, sides=1, spending="pocock")
    first = 0.025 * math.log(1 + (math.e - 1) * 0.5)
    assert looks[0].z == pytest.approx(stats.norm.isf(first), rel=1e-9)
    crossing = REFERENCE.sequential_crossing([looks[0].z, looks[1].z], [0.5, 1.0])
    # the reference continues on |Z| < c; one-sided, the lower tail is open: close enough
    # at these boundaries (P(Z₁ < −2.16) adds < 0.016 · small conditional crossing)
    assert crossing[1] == pytest.approx(0.025, rel=0.02)
