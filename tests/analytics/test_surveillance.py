"""CUSUMs, VLAD and sustained positive deviance: the published recurrences written out in plain
Python, simulated false-alarm rates, and properties.

Expected values are computed here from the formulas (Steiner et al. 2000, Biostatistics 1:441,
for the risk-adjusted Bernoulli CUSUM; Spiegelhalter et al. 2012, JRSS A 175:1, for the Poisson
CUSUM), never from the module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from missionboard.analytics.surveillance import (
    Z_998,
    Cusum,
    bernoulli_cusum,
    bernoulli_threshold,
    poisson_cusum,
    poisson_threshold,
    sustained_positive_deviance,
    sustained_positive_deviance_from_limits,
    vlad,
)

OUTCOMES = [0, 1, 0, 0, 1, 1, 0, 1, 1, 0]
RISKS = [0.10, 0.30, 0.20, 0.05, 0.40, 0.25, 0.15, 0.50, 0.35, 0.20]


def plain_bernoulli(outcomes: list[float], risks: list[float], odds_ratio: float,
                    threshold: float = math.inf,
                    restart: bool = False) -> tuple[list[float], list[float]]:
    """Wₜ = yₜ ln R_A − ln(1 − pₜ + R_A pₜ); Sₜ = max(0, Sₜ₋₁ + Wₜ)."""
    weights, statistic, s = [], [], 0.0
    for y, p in zip(outcomes, risks, strict=True):
        w = y * math.log(odds_ratio) - math.log(1 - p + odds_ratio * p)
        s = max(0.0, s + w)
        weights.append(w)
        statistic.append(s)
        if restart and s >= threshold:
            s = 0.0
    return weights, statistic


def plain_poisson(observed: list[float], expected: list[float], ratio: float) -> list[float]:
    """Wₜ = Oₜ ln ρ₁ − (ρ₁ − 1) Eₜ; Sₜ = max(0, Sₜ₋₁ + Wₜ)."""
    statistic, s = [], 0.0
    for o, e in zip(observed, expected, strict=True):
        s = max(0.0, s + o * math.log(ratio) - (ratio - 1) * e)
        statistic.append(s)
    return statistic


# --------------------------------------------------------------------------------------------
# The recurrences, by hand
# --------------------------------------------------------------------------------------------


def test_bernoulli_cusum_by_hand() -> None:
    # First steps: W₁ = −ln(1.1), S₁ = 0; W₂ = ln 2 − ln 1.3 ≈ 0.4308, S₂ ≈ 0.4308.
    cusum = bernoulli_cusum(OUTCOMES, RISKS, odds_ratio=2.0, threshold=1.0)
    weights, statistic = plain_bernoulli(OUTCOMES, RISKS, 2.0)
    assert weights[1] == pytest.approx(math.log(2) - math.log(1.3))
    assert cusum.weights == pytest.approx(weights, rel=1e-12)
    assert cusum.statistic == pytest.approx(statistic, rel=1e-12, abs=1e-15)
    assert float(cusum.threshold) == 1.0
    first = next(t for t, s in enumerate(statistic) if s >= 1.0)
    assert int(cusum.first_signal) == first
    assert list(cusum.signals) == [s >= 1.0 for s in statistic]


def test_improvement_cusum_is_the_mirror() -> None:
    good = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    cusum = bernoulli_cusum(good, RISKS, odds_ratio=0.5, threshold=0.5)
    _, statistic = plain_bernoulli(good, RISKS, 0.5)
    assert cusum.statistic == pytest.approx(statistic, rel=1e-12, abs=1e-15)
    assert statistic[-1] > 0.5
    assert bool(cusum.signalling)
    assert cusum.ratio == 0.5


def test_restart_after_a_signal() -> None:
    cusum = bernoulli_cusum(OUTCOMES, RISKS, threshold=0.6, restart=True)
    _, statistic = plain_bernoulli(OUTCOMES, RISKS, 2.0, threshold=0.6, restart=True)
    assert cusum.statistic == pytest.approx(statistic, rel=1e-12, abs=1e-15)
    assert sum(s >= 0.6 for s in statistic) >= 2  # it signalled, restarted and signalled again


def test_poisson_cusum_by_hand() -> None:
    observed, expected = [3.0, 5, 2, 8, 6, 9], [4.0, 4.5, 3, 4, 5, 4.2]
    # W₁ = 3 ln 2 − 4 < 0, so S₁ = 0; W₂ = 5 ln 2 − 4.5 ≈ −1.03, S₂ = 0; …
    cusum = poisson_cusum(observed, expected, rate_ratio=2.0, threshold=2.0)
    assert cusum.statistic == pytest.approx(plain_poisson(observed, expected, 2.0), abs=1e-12)
    assert cusum.statistic[3] == pytest.approx(8 * math.log(2) - 4)
    better = poisson_cusum(observed, expected, rate_ratio=0.5, threshold=2.0)
    assert better.statistic == pytest.approx(plain_poisson(observed, expected, 0.5), abs=1e-12)


def test_vlad_by_hand() -> None:
    assert vlad(OUTCOMES, RISKS) == pytest.approx(
        [sum(RISKS[: t + 1]) - sum(OUTCOMES[: t + 1]) for t in range(len(RISKS))])
    two = vlad([[1.0, float("nan"), 0.0], [0.0, 0.0, 1.0]], [[0.5, 0.5, 0.5], [0.2, 0.2, 0.2]])
    assert two == pytest.approx(np.array([[-0.5, -0.5, 0.0], [0.2, 0.4, -0.4]]))


def test_missing_steps_add_nothing() -> None:
    with_gap = [*OUTCOMES[:4], float("nan"), *OUTCOMES[4:]]
    risks = [*RISKS[:4], 0.3, *RISKS[4:]]
    gapped = bernoulli_cusum(with_gap, risks, threshold=1.0)
    plain = bernoulli_cusum(OUTCOMES, RISKS, threshold=1.0)
    assert np.delete(gapped.statistic, 4) == pytest.approx(plain.statistic)
    assert gapped.statistic[4] == gapped.statistic[3]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        bernoulli_cusum([0, 2], [0.1, 0.2], threshold=1.0)
    with pytest.raises(ValueError, match="strictly between"):
        bernoulli_cusum([0, 1], [0.0, 0.2], threshold=1.0)
    with pytest.raises(ValueError, match="not 1"):
        poisson_cusum([1.0], [1.0], rate_ratio=1.0, threshold=1.0)
    with pytest.raises(ValueError, match="positive"):
        poisson_cusum([1.0], [1.0], threshold=0.0)
    with pytest.raises(ValueError, match="false-alarm"):
        poisson_threshold([1.0, 2.0], false_alarm_rate=0.0)


# --------------------------------------------------------------------------------------------
# Simulated thresholds
# --------------------------------------------------------------------------------------------


def test_bernoulli_threshold_gives_the_target_false_alarm_rate() -> None:
    rng = np.random.default_rng(2024)
    risks = rng.uniform(0.02, 0.3, size=150)
    h = float(bernoulli_threshold(risks, false_alarm_rate=0.05, simulations=5_000, seed=7))
    # New in-control patients, from another stream: about 5% of charts should ever signal.
    outcomes = (rng.random((4_000, 150)) < risks).astype(float)
    charts = bernoulli_cusum(outcomes, np.broadcast_to(risks, outcomes.shape), threshold=h)
    rate = charts.signals.any(axis=1).mean()
    # Standard error ≈ 0.0035 from the check and about as much from h: allow about 7 of them.
    assert 0.025 < rate < 0.075


def test_poisson_threshold_gives_the_target_false_alarm_rate() -> None:
    rng = np.random.default_rng(11)
    expected = rng.uniform(3, 15, size=24)
    h = float(poisson_threshold(expected, rate_ratio=0.5, false_alarm_rate=0.1,
                                simulations=5_000, seed=3))
    observed = rng.poisson(expected, size=(4_000, 24)).astype(float)
    charts = poisson_cusum(observed, np.broadcast_to(expected, observed.shape),
                           rate_ratio=0.5, threshold=h)
    assert 0.07 < charts.signals.any(axis=1).mean() < 0.13


def test_thresholds_rise_as_the_false_alarm_rate_falls() -> None:
    expected = np.full(12, 5.0)
    loose = float(poisson_threshold(expected, false_alarm_rate=0.2, simulations=2_000))
    strict = float(poisson_threshold(expected, false_alarm_rate=0.01, simulations=2_000))
    assert 0 < loose < strict


def test_a_series_threshold_does_not_depend_on_the_others() -> None:
    expected = np.array([[2.0] * 10, [8.0] * 10, [30.0] * 10])
    together = poisson_threshold(expected, simulations=1_000, seed=5)
    alone = [float(poisson_threshold(row, simulations=1_000, seed=5)) for row in expected]
    assert list(together) == alone
    simulated = poisson_cusum(expected, expected, simulations=1_000, seed=5)
    assert list(simulated.threshold) == alone


# --------------------------------------------------------------------------------------------
# Sustained positive deviance
# --------------------------------------------------------------------------------------------

Z = np.array([
    [0.5, 1.0, 3.5, 4.0],  # beyond the limit for the last two periods: sustained
    [0.0, 1.0, 2.0, 3.2],  # beyond it only now
    [0.0, 1.0, 2.0, 3.6],  # beyond it only now, but its improvement CUSUM signals
    [4.0, 4.0, 4.0, 2.0],  # beyond it before, not now
    [0.0, -4.0, -4.0, -4.0],  # beyond the worse limit
    [3.2, 3.3, 3.4, 3.5],  # beyond it throughout
])


def improvement_cusum(signalling: list[bool]) -> Cusum:
    """An improvement CUSUM per unit whose latest value is at or above h exactly where asked."""
    # Poisson weights with O = 0 and ρ₁ = 0.5 are 0.5·E: the last step brings S to 5 or 1.
    statistic = np.array([[0.0, 0.0, 0.0, 10.0 if s else 2.0] for s in signalling])
    return poisson_cusum(np.zeros_like(statistic), statistic, rate_ratio=0.5, threshold=4.0)


def test_sustained_positive_deviance_by_hand() -> None:
    cusum = improvement_cusum([False, False, True, False, False, False])
    assert list(cusum.signalling) == [False, False, True, False, False, False]
    found = sustained_positive_deviance(Z, improvement="up", cusum=cusum)
    assert list(found.flagged) == [True, False, True, False, False, True]
    assert list(found.run_length) == [2, 1, 1, 0, 0, 4]
    units = found.units()
    assert [u.unit for u in units] == [0, 2, 5]
    assert units[0].excess == pytest.approx(4.0 - Z_998)
    assert units[0].least_excess == pytest.approx(3.5 - Z_998)
    assert (units[0].periods, units[0].by_run, units[0].by_cusum) == (2, True, False)
    assert (units[1].periods, units[1].by_run, units[1].by_cusum) == (1, False, True)
    assert units[2].periods == 4
    assert units[2].least_excess == pytest.approx(3.2 - Z_998)
    assert np.isnan(found.least_excess[3])
    assert found.excess[3] == pytest.approx(2.0 - Z_998)


def test_positive_deviance_options() -> None:
    assert list(sustained_positive_deviance(Z, improvement="up").flagged) == [
        True, False, False, False, False, True]
    assert list(sustained_positive_deviance(Z, improvement="up", periods=3).flagged) == [
        False, False, False, False, False, True]
    assert list(sustained_positive_deviance(Z, improvement="down").flagged) == [
        False, False, False, False, True, False]
    assert list(sustained_positive_deviance(Z, improvement="up", limit=1.96,
                                            periods=3).flagged) == [
        False, False, False, True, False, True]
    with pytest.raises(ValueError, match="improvement CUSUM"):
        sustained_positive_deviance(Z, improvement="up", cusum=poisson_cusum(
            np.ones((6, 4)), np.ones((6, 4)), threshold=1.0))
    with pytest.raises(ValueError, match="units"):
        sustained_positive_deviance(Z, improvement="up", cusum=improvement_cusum([True]))


def test_positive_deviance_from_limits() -> None:
    values = np.array([[0.80, 0.91, 0.92], [0.80, 0.85, 0.91], [0.95, 0.70, 0.60]])
    lower = np.full_like(values, 0.75)
    upper = np.full_like(values, 0.90)
    higher = sustained_positive_deviance_from_limits(values, lower=lower, upper=upper,
                                                     improvement="up")
    assert list(higher.flagged) == [True, False, False]
    assert higher.excess[0] == pytest.approx(0.02)
    lower_better = sustained_positive_deviance_from_limits(values, lower=lower, upper=upper,
                                                           improvement="down")
    assert list(lower_better.flagged) == [False, False, True]
    assert lower_better.excess[2] == pytest.approx(0.15)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

PATIENTS = st.integers(1, 25).flatmap(lambda n: st.lists(
    st.tuples(st.lists(st.integers(0, 1), min_size=n, max_size=n),
              st.lists(st.floats(0.01, 0.99), min_size=n, max_size=n)),
    min_size=1, max_size=5))


@given(rows=PATIENTS, odds_ratio=st.sampled_from([0.5, 2.0, 3.0]), h=st.floats(0.2, 3.0),
       restart=st.booleans())
def test_rows_follow_the_published_recurrence(rows: list[tuple[list[int], list[float]]],
                                              odds_ratio: float, h: float,
                                              restart: bool) -> None:
    outcomes = [list(map(float, y)) for y, _ in rows]
    risks = [p for _, p in rows]
    many = bernoulli_cusum(outcomes, risks, odds_ratio=odds_ratio, threshold=h,
                           restart=restart)
    for i, (y, p) in enumerate(zip(outcomes, risks, strict=True)):
        _, statistic = plain_bernoulli(y, p, odds_ratio, threshold=h, restart=restart)
        assert many.statistic[i] == pytest.approx(statistic, rel=1e-9, abs=1e-12)
        single = bernoulli_cusum(y, p, odds_ratio=odds_ratio, threshold=h, restart=restart)
        assert np.array_equal(single.statistic, many.statistic[i])
        assert int(single.first_signal) == many.first_signal[i]


@given(z=st.lists(st.lists(st.floats(-6, 6), min_size=4, max_size=4), min_size=1,
                  max_size=8),
       periods=st.integers(1, 4), data=st.data())
def test_deviance_matches_a_plain_reading_and_ignores_order(z: list[list[float]], periods: int,
                                                            data: st.DataObject) -> None:
    found = sustained_positive_deviance(z, improvement="up", periods=periods)
    for i, row in enumerate(z):
        run = 0
        for value in reversed(row):
            if value <= Z_998:
                break
            run += 1
        assert found.run_length[i] == run
        assert found.flagged[i] == (row[-1] > Z_998 and run >= periods)
    order = data.draw(st.permutations(range(len(z))))
    permuted = sustained_positive_deviance([z[i] for i in order], improvement="up",
                                           periods=periods)
    assert np.array_equal(permuted.flagged, found.flagged[order])
    assert np.array_equal(permuted.run_length, found.run_length[order])
    assert np.array_equal(permuted.excess, found.excess[order])
