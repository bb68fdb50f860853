"""Independent reference computations for tests/analytics/test_trials.py.

    .venv/bin/python tests/analytics/reference/trials_reference.py

The module's CR2 works on k×k matrices per cluster; :func:`cr2_dense` here is the textbook
form on the full n×n hat matrix, written from Bell & McCaffrey (2002, *Survey Methodology*
28(2), 169–181) and Imbens & Kolesár (2016, *Rev Econ Stat* 98(4), 701–712, section 4):

    A_g = (I − H_gg)^(−1/2)  (symmetric inverse square root of the n_g×n_g block),
    V = M (Σ_g X_g′A_g e_g e_g′A_g X_g) M,
    G_g = (I − H)[:, g] A_g X_g M c  (n-vectors), df = (Σλ)²/Σλ² over the eigenvalues λ of
    G′G (the working model Ω = I).

:func:`sequential_crossing` checks group-sequential boundaries by multivariate normal
probabilities (scipy's Genz algorithm), another way than the module's recursive integration.
The test imports these functions by path; run as a script it prints the values of one seeded
example.
"""

# ruff: noqa: T201  (a reference script: printing its values is its job)

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]


def _inv_sqrt(matrix: FloatArray) -> FloatArray:
    values, vectors = np.linalg.eigh(matrix)
    out: FloatArray = (vectors / np.sqrt(values)) @ vectors.T
    return out


def cr2_dense(x: FloatArray, y: FloatArray, clusters: npt.NDArray[np.int64],
              coef: int = 1) -> tuple[float, float]:
    """CR2 standard error of coefficient ``coef`` and its Bell–McCaffrey df, densely."""
    n = x.shape[0]
    m = np.linalg.inv(x.T @ x)
    hat = x @ m @ x.T
    resid = y - hat @ y
    residual_maker = np.eye(n) - hat
    c = np.zeros(x.shape[1])
    c[coef] = 1.0
    meat = np.zeros((x.shape[1], x.shape[1]))
    columns = []
    for g in np.unique(clusters):
        rows = np.flatnonzero(clusters == g)
        a_g = _inv_sqrt(np.eye(rows.size) - hat[np.ix_(rows, rows)])
        score = x[rows].T @ a_g @ resid[rows]
        meat += np.outer(score, score)
        columns.append(residual_maker[:, rows] @ a_g @ x[rows] @ m @ c)
    variance = float((m @ meat @ m)[coef, coef])
    big_g = np.column_stack(columns)
    eigen = np.linalg.eigvalsh(big_g.T @ big_g)
    return float(np.sqrt(variance)), float(eigen.sum() ** 2 / (eigen**2).sum())


def sequential_crossing(boundaries: list[float], information: list[float],
                        *, seed: int = 1) -> list[float]:
    """P(first upper crossing by look k), cumulative, for Z_k with corr √(t_i/t_j), two-sided
    continuation |Z_i| < c_i before the crossing look."""
    t = np.asarray(information)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    out, total = [], 0.0
    for k in range(len(boundaries)):
        if k == 0:
            total += float(stats.norm.sf(boundaries[0]))
        else:
            lower = np.array([-b for b in boundaries[:k]] + [boundaries[k]])
            upper = np.array([*boundaries[:k], np.inf])
            dist = stats.multivariate_normal(mean=np.zeros(k + 1), cov=cov[:k + 1, :k + 1],
                                             seed=seed, abseps=1e-8, releps=1e-8,
                                             maxpts=2_000_000)
            total += float(dist.cdf(upper, lower_limit=lower))
        out.append(total)
    return out


def example() -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """Nine clusters of 2–7 units, treatment by cluster, one covariate (seed 20261128)."""
    rng = np.random.default_rng(20261128)
    sizes = rng.integers(2, 8, size=9)
    clusters = np.repeat(np.arange(9), sizes)
    treated = np.repeat(np.array([1, 0, 1, 0, 1, 0, 1, 0, 0]), sizes).astype(float)
    covariate = rng.normal(size=clusters.size)
    y = (0.4 * treated + 0.8 * covariate + np.repeat(rng.normal(size=9), sizes)
         + rng.normal(size=clusters.size))
    x = np.column_stack([np.ones(clusters.size), treated, covariate])
    return x, y, clusters


def main() -> None:
    x, y, clusters = example()
    se, df = cr2_dense(x, y, clusters)
    print(f"CR2 with a covariate: se {se!r}, df {df!r}")
    se, df = cr2_dense(x[:, :2], y, clusters)
    print(f"CR2 difference in means: se {se!r}, df {df!r}")
    bounds = [4.877, 3.357, 2.680, 2.290, 2.031]
    print("OBF five looks, crossing:", sequential_crossing(bounds, [0.2, 0.4, 0.6, 0.8, 1.0]))


if __name__ == "__main__":
    main()
