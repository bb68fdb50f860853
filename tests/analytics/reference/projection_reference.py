"""Reference values for tests/analytics/test_projection.py, computed without the module.

    .venv/bin/python tests/analytics/reference/projection_reference.py

Prints the literals the tests compare against: normal quantiles from scipy, the time shapes
from their formulas written out with the standard library, the closed form of a projection
with normal effects, and the regression prediction variance from statsmodels' OLS.
"""

# ruff: noqa: T201  (a reference script: printing its values is its job)

from __future__ import annotations

import math

import numpy as np
import statsmodels.api as sm  # type: ignore[import-untyped]
from scipy import stats


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def s_curve(x: float, n: int, k: float = 10.0) -> float:
    if x <= 0:
        return 0.0
    if x >= n:
        return 1.0
    low, high = sigmoid(-k / 2), sigmoid(k / 2)
    return (sigmoid(k * (x / n - 0.5)) - low) / (high - low)


def main() -> None:
    print("# z = norm.ppf((1 + level) / 2)")
    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        print(f"Z[{level}] = {float(stats.norm.ppf((1 + level) / 2))!r}")

    print("\n# shapes over 8 periods")
    print("step, start 2, lag 3:", [1.0 if t - 5 + 1 >= 1 else 0.0 for t in range(8)])
    print("linear over 4, start 0, lag 1:",
          [min(1.0, max(0.0, (t - 1 + 1) / 4)) for t in range(8)])
    print("s_curve over 4, start 1:", [s_curve(t - 1 + 1, 4) for t in range(8)])
    print("step decaying, half-life 2, start 0:",
          [2.0 ** (-max(0.0, t + 1 - 1) / 2) for t in range(8)])
    print("linear over 3 decaying, half-life 1, start 0, overlap 0.5:",
          [0.5 * min(1.0, (t + 1) / 3) * 2.0 ** (-max(0.0, t + 1 - 3) / 1) for t in range(8)])

    print("\n# closed form: counterfactual 50 flat, certain; three normal effects, steps")
    means, sds, starts = [2.0, -1.0, 3.5], [1.0, 0.5, 2.0], [0, 3, 6]
    for t in (0, 3, 6, 11):
        on = [t >= s for s in starts]
        mean = 50 + sum(m for m, o in zip(means, on, strict=True) if o)
        sd = math.sqrt(sum(s * s for s, o in zip(sds, on, strict=True) if o))
        print(f"t={t}: mean {mean!r}, sd {sd!r}")
    mean, sd = 50 + sum(means), math.sqrt(sum(s * s for s in sds))
    print(f"P(Y[11] >= 55) = {float(stats.norm.sf(55, loc=mean, scale=sd))!r}")
    print(f"P(Y[11] <= 55) = {float(stats.norm.cdf(55, loc=mean, scale=sd))!r}")
    corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    cov = corr * np.outer(sds, sds)
    sd = math.sqrt(cov.sum())
    print(f"with correlation: sd at t=11 {sd!r}, "
          f"P(Y[11] >= 55) = {float(stats.norm.sf(55, loc=mean, scale=sd))!r}")

    print("\n# OLS trend on y = 5 + 0.3x + e (x = -40 … -1), e from default_rng(11): the")
    print("# prediction standard error (se_obs) at x = 0, 5, 23 from statsmodels")
    x = np.arange(-40, 0, dtype=float)
    y = 5 + 0.3 * x + np.random.default_rng(11).normal(0, 1.0, x.size)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    future = sm.add_constant(np.array([0.0, 5.0, 23.0]), has_constant="add")
    prediction = fit.get_prediction(future)
    print(f"params {fit.params.tolist()!r}, bse {fit.bse.tolist()!r}")
    print(f"se_obs {prediction.se_obs.tolist()!r}")


if __name__ == "__main__":
    main()
