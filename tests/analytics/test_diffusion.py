"""The diffusion curve and the logistic fit: the counts against a unit-by-unit count, the fit
recovering known parameters from exact logistic data (checked beside an independent
log-linear fit with the ceiling known), the time to reach a share against bisection, the
refusals, and properties (the count never falls when nobody stops, never exceeds the units,
and stopping only lowers it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from missionboard.analytics.diffusion import (
    LogisticFit,
    NoFit,
    active_counts,
    fit_logistic,
    logistic,
)


def _brute(adopted: list[float], stopped: list[float], t: float) -> int:
    return sum(a <= t < s for a, s in zip(adopted, stopped, strict=True))


def test_active_counts_match_a_unit_by_unit_count() -> None:
    adopted = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]
    stopped = [math.inf, 2.0, 4.0, math.inf, 8.0, math.inf]
    at = [0, 1, 2, 3, 4, 5, 8, 9, 100]
    assert list(active_counts(adopted, stopped, at)) == [
        _brute(adopted, stopped, t) for t in at]
    # A unit that stops on the day it adopted never counts; one stopping on day s stops
    # counting on day s.
    assert list(active_counts([4.0], [4.0], [3, 4, 5])) == [0, 0, 0]
    assert list(active_counts([1.0], [3.0], [2, 3])) == [1, 0]


def test_active_counts_refuse_a_stop_before_the_adoption() -> None:
    with pytest.raises(ValueError, match="cannot stop before"):
        active_counts([5.0], [4.0], [1.0])


@pytest.mark.parametrize(("ceiling", "rate", "midpoint"),
                         [(0.8, 0.35, 12.0), (1.0, 0.2, 20.0), (0.45, 0.6, 6.0),
                          (0.95, 0.15, 30.0)])
def test_the_fit_recovers_known_parameters_from_exact_data(
        ceiling: float, rate: float, midpoint: float) -> None:
    t = np.arange(0.0, 40.0)
    y = logistic(t, ceiling, rate, midpoint)
    fit = fit_logistic(t, y)
    assert isinstance(fit, LogisticFit)
    assert fit.ceiling == pytest.approx(ceiling, rel=1e-6)
    assert fit.rate == pytest.approx(rate, rel=1e-6)
    assert fit.midpoint == pytest.approx(midpoint, rel=1e-6, abs=1e-6)
    assert fit.rmse < 1e-8
    assert fit.points == 40
    # Independently: with the ceiling known, logit(y/K) = r·t − r·t₀ is a straight line.
    slope, intercept = np.polyfit(t, np.log(y / (ceiling - y)), 1)
    assert fit.rate == pytest.approx(slope, rel=1e-6)
    assert fit.midpoint == pytest.approx(-intercept / slope, rel=1e-6, abs=1e-6)


def test_the_fit_is_close_on_noisy_data() -> None:
    rng = np.random.default_rng(20261128)
    t = np.arange(0.0, 30.0)
    y = np.clip(logistic(t, 0.8, 0.35, 12.0) + rng.normal(0, 0.01, len(t)), 0, 1)
    fit = fit_logistic(t, y)
    assert isinstance(fit, LogisticFit)
    assert fit.ceiling == pytest.approx(0.8, abs=0.02)
    assert fit.midpoint == pytest.approx(12.0, abs=0.5)
    assert fit.ceiling_se < 0.02


@given(ceiling=st.floats(0.2, 1.0), rate=st.floats(0.05, 2.0), midpoint=st.floats(-20, 40),
       fraction=st.floats(0.01, 0.99))
def test_time_to_reach_inverts_the_curve(ceiling: float, rate: float, midpoint: float,
                                         fraction: float) -> None:
    fit = LogisticFit(ceiling=ceiling, rate=rate, midpoint=midpoint, ceiling_se=0.0,
                      points=10, rmse=0.0)
    share = fraction * ceiling
    when = fit.time_to_reach(share)
    assert when is not None
    assert float(fit.share_at(when)) == pytest.approx(share, rel=1e-9)
    # Bisection, independently: the curve rises through the share exactly once.
    low, high = midpoint - 1000 / rate, midpoint + 1000 / rate
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if logistic(middle, ceiling, rate, midpoint) < share else (
            low, middle)
    assert when == pytest.approx(low, abs=1e-6)
    assert fit.time_to_reach(ceiling) is None
    assert fit.time_to_reach(min(1.0, ceiling * 1.01)) is None


def test_the_fit_says_why_it_refuses() -> None:
    t = np.arange(0.0, 4.0)
    few = fit_logistic(t, logistic(t, 0.8, 0.3, 2))
    assert few == NoFit("there are 4 points; a curve needs at least 6")
    flat = fit_logistic(np.arange(10.0), np.full(10, 0.3))
    assert isinstance(flat, NoFit)
    assert "too little" in flat.reason
    # The very start of an uptake: the ceiling could be almost anything.
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 8.0)
    early = np.clip(logistic(t, 0.8, 0.3, 20) + rng.normal(0, 0.002, 8), 0, 1)
    refused = fit_logistic(t, early)
    assert isinstance(refused, NoFit)
    assert "too early" in refused.reason


def test_the_fit_checks_its_input() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        fit_logistic(np.arange(6.0), np.array([0, 0.1, 0.2, 0.3, 0.4, 1.5]))
    with pytest.raises(ValueError, match="same length"):
        fit_logistic(np.arange(6.0), np.arange(5.0))


units = st.lists(st.tuples(st.integers(0, 60), st.one_of(st.none(), st.integers(0, 30))),
                 min_size=0, max_size=40)


@given(units)
def test_without_stops_the_count_never_falls_nor_exceeds_the_units(
        rows: list[tuple[int, int | None]]) -> None:
    adopted = [float(a) for a, _ in rows]
    at = np.arange(-1.0, 62.0)
    counts = active_counts(adopted, [math.inf] * len(rows), at)
    assert (np.diff(counts) >= 0).all()
    assert (counts <= len(rows)).all()
    assert counts[-1] == len(rows)
    if rows:
        assert ((counts / len(rows)) <= 1).all()


@given(units)
def test_stopping_only_lowers_the_count(rows: list[tuple[int, int | None]]) -> None:
    adopted = [float(a) for a, _ in rows]
    stopped = [math.inf if gap is None else float(a + gap) for a, gap in rows]
    at = np.arange(-1.0, 92.0)
    with_stops = active_counts(adopted, stopped, at)
    ever = active_counts(adopted, [math.inf] * len(rows), at)
    assert (with_stops <= ever).all()
    assert (with_stops >= 0).all()
    assert list(with_stops) == [_brute(adopted, stopped, float(t)) for t in at]
