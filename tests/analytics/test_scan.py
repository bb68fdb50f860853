"""The national scan agrees, unit by unit, with the one-indicator funnel and trend markers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from missionboard.analytics import scan, trends
from missionboard.analytics.funnel import funnel

BAND = {"high_99.8": 2, "high_95": 1, "not_significant": 0, "low_95": -1, "low_99.8": -2}


def _data(seed: int, periods: int = 6, indicators: int = 3, units: int = 60
          ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, (periods, indicators, units)).astype(float)
    effect = rng.normal(0, rng.uniform(0, 0.6), (1, indicators, units))
    drift = rng.normal(0, 0.15) * np.arange(periods)[:, None, None]
    p = 1 / (1 + np.exp(-(0.5 + effect + drift)))
    return rng.binomial(n.astype(int), p).astype(float), n


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_each_indicator_matches_the_single_funnel(seed: int) -> None:
    r, n = _data(seed)
    result = scan.scan(r, n, higher_is_better=[True, False, True], confirm=2)
    for i in range(r.shape[1]):
        one = funnel(r[-1, i], n[-1, i], statistic="proportion", method="spiegelhalter")
        assert result.latest.centre[i] == pytest.approx(one.centre, rel=1e-12)
        assert result.latest.phi[i] == pytest.approx(one.phi, rel=1e-9)
        assert result.latest.tau2[i] == pytest.approx(one.tau2, rel=1e-9, abs=1e-15)
        np.testing.assert_allclose(result.latest.z[i], one.z_adjusted, rtol=1e-9)
        assert result.latest.band[i].tolist() == [BAND[s] for s in one.significance]
        marked = trends.proportion_trends(r[-5:, i].T, n[-5:, i].T)
        assert result.trend[i].tolist() == marked.code.tolist()


def test_sustained_means_beyond_the_better_limit_in_every_confirming_period() -> None:
    r, n = _data(7, units=200)
    r[:, 0, :3] = n[:, 0, :3]  # three units at 100% throughout
    r[-1, 0, 3] = n[-1, 0, 3]  # one unit at 100% only in the latest period
    result = scan.scan(r, n, higher_is_better=[True, True, False], confirm=2)
    better = [scan.period_funnel(r[k], n[k]).band[0] for k in (-2, -1)]
    expected = (better[0] == 2) & (better[1] == 2)
    assert result.sustained[0].tolist() == expected.tolist()
    assert result.sustained[0, :3].all()
    # Lower is better on indicator 2: its sustained units are those far below the centre.
    low = [scan.period_funnel(r[k], n[k]).band[2] for k in (-2, -1)]
    assert result.sustained[2].tolist() == ((low[0] == -2) & (low[1] == -2)).tolist()


def test_relabelling_units_changes_nothing_per_unit() -> None:
    r, n = _data(11)
    order = np.random.default_rng(3).permutation(r.shape[2])
    first = scan.scan(r, n, higher_is_better=[True] * 3)
    second = scan.scan(r[:, :, order], n[:, :, order], higher_is_better=[True] * 3)
    np.testing.assert_allclose(second.latest.z, first.latest.z[:, order], rtol=1e-12)
    assert (second.trend == first.trend[:, order]).all()
    assert (second.sustained == first.sustained[:, order]).all()


def test_missing_values_are_left_out() -> None:
    r, n = _data(5)
    r[-1, 1, :5] = np.nan
    n[-1, 1, :5] = np.nan
    result = scan.scan(r, n, higher_is_better=[True] * 3)
    one = funnel(r[-1, 1, 5:], n[-1, 1, 5:], statistic="proportion", method="spiegelhalter")
    assert result.latest.phi[1] == pytest.approx(one.phi, rel=1e-9)
    assert (result.latest.band[1, :5] == 0).all()
    assert (result.trend[1, :5] == trends.TRENDS.index("cannot_be_calculated")).all()


def test_bad_shapes_are_refused() -> None:
    r, n = _data(1)
    with pytest.raises(ValueError, match="periods × indicators × units"):
        scan.scan(r[0], n[0], higher_is_better=[True] * 3)
    with pytest.raises(ValueError, match="each indicator"):
        scan.scan(r, n, higher_is_better=[True])
