"""Analysis of randomised trials run inside public services: effects, intervals and monitoring.

Treatment is coded 1 (treated) and 0 (control); every interval is two-sided at ``level``
(default 95%), estimate ± q·SE with q the t quantile on ``df`` degrees of freedom (or the
normal quantile where ``df`` is ``None``); p-values are two-sided.

**Estimators** (:func:`analyse`, ``method=``):

- ``"difference"`` — difference in means ȳ₁ − ȳ₀ (the OLS coefficient of y on 1 and T).
- ``"ancova"`` — the treatment coefficient of the OLS fit y = α + τT + Xβ + ε (covariate
  adjustment; Lin 2013 shows it cannot hurt precision asymptotically with robust SEs).
- ``"cuped"`` — CUPED (Deng, Xu, Kohavi & Walker 2013): θ = cov(y, x)/var(x) from the
  pre-period covariate x over both arms, ỹ = y − θ(x − x̄), then the difference in means of ỹ.
  θ is treated as known, as in the paper (asymptotically the same as ANCOVA with one slope).
- ``"risk_difference"`` — p̂₁ − p̂₀ of a 0/1 outcome, Wald SE √(p̂₁q̂₁/n₁ + p̂₀q̂₀/n₀), normal.
- ``"odds_ratio"`` — ad/(bc) from the 2×2 table (a, b treated successes and failures; c, d
  control), interval exp(log OR ± z·SE) with Woolf's SE √(1/a + 1/b + 1/c + 1/d) (Woolf 1955).
  When any cell is zero, 0.5 is added to all four (Haldane 1956; Anscombe 1956); otherwise
  no correction. ``effect``, ``ci_low`` and ``ci_high`` are odds ratios; ``se`` is the SE of
  the log odds ratio.

**Variances** (``se=``; the default is ``"welch"`` for the differences, ``"hc2"`` for
ANCOVA, ``"cr2"`` with clusters). With M = (X′X)⁻¹ and residuals e:

- ``"welch"`` — s₁²/n₁ + s₀²/n₀, Welch–Satterthwaite df (v₁ + v₀)²/(v₁²/(n₁−1) + v₀²/(n₀−1)),
  vₐ = sₐ²/nₐ. It equals HC2 for the difference in means.
- ``"pooled"`` — classical OLS, s²M with s² = e′e/(n − k), df n − k.
- ``"hc1"`` — M(Σ eᵢ²xᵢxᵢ′)M · n/(n − k); ``"hc2"`` — M(Σ eᵢ²/(1 − hᵢᵢ) xᵢxᵢ′)M with
  hᵢᵢ = xᵢ′Mxᵢ (MacKinnon & White 1985); both with df n − k (as R's estimatr).
- ``"cr1"`` — M(Σ_g X_g′e_g e_g′X_g)M · G/(G − 1) · (n − 1)/(n − k) (Stata's small-sample
  factor), t with G − 1 df (Cameron & Miller 2015).
- ``"cr2"`` — Bell & McCaffrey (2002): X_g′e_g replaced by X_g′A_g e_g with
  A_g = (I − H_gg)^(−1/2), H_gg = X_g M X_g′, and Bell–McCaffrey/Satterthwaite df for the
  treatment coefficient (Imbens & Kolesár 2016, with the working model Ω = I; Pustejovsky &
  Tipton 2018): with u_g = A_g X_g M c, the G×G matrix Γ_gh = δ_gh u_g′u_g − (X_g′u_g)′M(X_h′u_h)
  gives df = (tr Γ)²/tr Γ². Never formed as n_g×n_g blocks: X_g′ f(X_g M X_g′) = f(S_g M) X_g′
  with S_g = X_g′X_g, so each cluster costs a k×k eigendecomposition (batched) — O(nk² + Gk³)
  time and O(Gk²) memory, cheap for any number of clusters. A cluster with leverage 1 (one
  that alone identifies a coefficient) has no CR2 and is an error.

**Effect sizes**: Hedges' g (:func:`hedges_g`) and EEF months of progress (:func:`eef_months`).
**Several outcomes**: Holm and Benjamini–Hochberg adjusted p-values. **Subgroups**:
:func:`subgroup_interaction`. **Flow**: :func:`consort_flow`. **Interim looks**:
:func:`sequential_boundaries` (Lan–DeMets alpha spending).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["difference", "ancova", "cuped", "risk_difference", "odds_ratio"]
Variance = Literal["welch", "pooled", "hc1", "hc2", "cr1", "cr2", "wald", "woolf"]

METHODS: tuple[str, ...] = ("difference", "ancova", "cuped", "risk_difference", "odds_ratio")
VARIANCES: tuple[str, ...] = ("welch", "pooled", "hc1", "hc2", "cr1", "cr2")
MIN_CLUSTERS_PER_ARM = 2


class TrialInputError(ValueError):
    """Bad input to an analysis, naming the argument (``field``) and, where one row is at
    fault, its 0-based index (``row``)."""

    def __init__(self, message: str, *, field: str, row: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.row = row


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A treatment effect: estimate, SE, interval, two-sided p-value and the sample.

    ``df`` is ``None`` for normal-based intervals (risk difference, odds ratio);
    ``n_clusters`` is ``None`` without clusters. ``variance`` names the SE (module docstring).
    """

    method: str
    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_control: int
    n_clusters: int | None
    df: float | None
    variance: str
    level: float = 0.95

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``missionboard trial analyse --json``, in this key order."""
        return {"method": self.method, "effect": self.effect, "se": self.se,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value,
                "n_treated": self.n_treated, "n_control": self.n_control,
                "n_clusters": self.n_clusters, "df": self.df, "variance": self.variance,
                "level": self.level}


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _vector(values: npt.ArrayLike, field: str, n: int | None = None) -> FloatArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise TrialInputError(f"{field} must be one-dimensional", field=field)
    if n is not None and array.shape[0] != n:
        raise TrialInputError(f"{field} has {array.shape[0]} values for {n} units", field=field)
    try:
        out = array.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise TrialInputError(f"{field} must be numbers", field=field) from None
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.argmax(bad))
        raise TrialInputError(f"{field} is missing or not finite at row {row}",
                              field=field, row=row)
    return out


def _treatment(values: npt.ArrayLike, n: int) -> npt.NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != n:
        raise TrialInputError(f"treatment has {array.size} values for {n} units",
                              field="treatment")
    if array.dtype == np.bool_:
        treated = array
    else:
        try:
            numbers = array.astype(np.float64, copy=False)
        except (TypeError, ValueError):
            numbers = np.full(n, np.nan)
        bad = ~((numbers == 0) | (numbers == 1))
        if bad.any():
            row = int(np.argmax(bad))
            found = array[row].item()
            raise TrialInputError(f"treatment must be coded 0/1: found {found!r} at row {row}",
                                  field="treatment", row=row)
        treated = numbers == 1
    n_treated = int(np.count_nonzero(treated))
    if min(n_treated, n - n_treated) < 2:
        raise TrialInputError(f"each arm needs at least 2 units: {n_treated} treated, "
                              f"{n - n_treated} control", field="treatment")
    return treated


def cluster_codes(clusters: npt.ArrayLike, n: int) -> tuple[IntArray, int]:
    """Cluster labels as codes 0 … G−1 (no empty codes) and G.

    Integer labels spanning at most 4n values are coded by offset and a bincount, in linear
    time; other labels (strings, sparse integers) by ``np.unique`` (a sort).
    """
    labels = np.asarray(clusters)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise TrialInputError(f"clusters has {labels.size} values for {n} units",
                              field="clusters")
    if labels.dtype.kind in "iub" and n > 0:
        low, high = int(labels.min()), int(labels.max())
        if high - low <= 4 * n:
            offset = (labels - low).astype(np.int64)
            present = np.bincount(offset, minlength=high - low + 1) > 0
            mapping = np.cumsum(present) - 1
            return mapping[offset].astype(np.int64), int(present.sum())
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        row = int(np.argmax(~np.isfinite(labels)))
        raise TrialInputError(f"clusters is missing at row {row}", field="clusters", row=row)
    uniques, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(np.int64).ravel(), int(uniques.shape[0])


def _check_clusters(codes: IntArray, n_clusters: int, treated: npt.NDArray[np.bool_]) -> None:
    with_treated = int(np.count_nonzero(np.bincount(codes[treated], minlength=n_clusters)))
    with_control = int(np.count_nonzero(np.bincount(codes[~treated], minlength=n_clusters)))
    if min(with_treated, with_control) < MIN_CLUSTERS_PER_ARM:
        raise TrialInputError(
            f"too few clusters: each arm needs units in at least {MIN_CLUSTERS_PER_ARM} "
            f"clusters ({with_treated} with treated units, {with_control} with control units)",
            field="clusters")


def _covariates(values: npt.ArrayLike, n: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != n:
        raise TrialInputError(f"covariates must be {n} rows (one per unit)", field="covariates")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise TrialInputError(f"covariates are missing or not finite at row {row}",
                              field="covariates", row=row)
    return array


# --------------------------------------------------------------------------------------------
# Regression engine
# --------------------------------------------------------------------------------------------


def _inverse(xtx: FloatArray) -> FloatArray:
    scale = np.sqrt(np.diag(xtx))
    if (scale == 0).any() or np.linalg.cond(xtx / np.outer(scale, scale)) > 1e10:
        raise TrialInputError("the design is collinear: a covariate is constant or repeats "
                              "another (or the treatment)", field="covariates")
    return np.asarray(np.linalg.inv(xtx), dtype=np.float64)


def _sym_power(matrices: FloatArray, power: float) -> FloatArray:
    """Symmetric matrix power of a (…, k, k) stack of symmetric positive definite matrices."""
    values, vectors = np.linalg.eigh(matrices)
    if (values <= 1e-12 * np.abs(values).max(axis=-1, keepdims=True)).any():
        raise TrialInputError("a cluster alone identifies a coefficient (leverage 1): CR2 is "
                              "undefined; use cr1 or more clusters", field="clusters")
    scaled: FloatArray = vectors * values[..., None, :] ** power
    out: FloatArray = scaled @ np.swapaxes(vectors, -1, -2)
    return out


def _cluster_sums(codes: IntArray, n_clusters: int, values: FloatArray) -> FloatArray:
    """Per-cluster column sums of an (n, k) array: (G, k), one bincount per column."""
    return np.stack([np.bincount(codes, weights=values[:, j], minlength=n_clusters)
                     for j in range(values.shape[1])], axis=1)


def _cr2(x: FloatArray, resid: FloatArray, m: FloatArray, *, codes: IntArray,
         n_clusters: int, coef: int) -> tuple[float, float]:
    """CR2 variance of coefficient ``coef`` and its Bell–McCaffrey df (module docstring)."""
    k = x.shape[1]
    pairs = np.stack([x[:, i] * x[:, j] for i in range(k) for j in range(k)], axis=1)
    s = _cluster_sums(codes, n_clusters, pairs).reshape(n_clusters, k, k)
    scores = _cluster_sums(codes, n_clusters, x * resid[:, None])
    m_half, m_half_inv = _sym_power(m, 0.5), _sym_power(m, -0.5)
    c_g = np.eye(k) - m_half @ s @ m_half
    t_g = m_half_inv @ _sym_power(c_g, -0.5) @ m_half  # (I − S_g M)^(−1/2), per cluster
    adjusted = np.einsum("gij,gj->gi", t_g, scores)
    variance = float((m @ (adjusted.T @ adjusted) @ m)[coef, coef])
    mc = m[:, coef]
    p = np.einsum("gij,gjl,l->gi", t_g, s, mc)  # X_g′u_g
    c_inv = _sym_power(c_g, -1.0)
    q = np.einsum("i,gij,gjl,l->g", mc @ m_half_inv, c_inv, m_half @ s, mc)  # u_g′u_g
    pmp = np.einsum("gi,ij,gj->g", p, m, p)
    gram_trace = float(q.sum() - pmp.sum())
    mptp = m @ (p.T @ p)
    gram_square = float((q**2).sum() - 2 * (q * pmp).sum() + np.trace(mptp @ mptp))
    return variance, gram_trace**2 / gram_square


def _ols(x: FloatArray, y: FloatArray, *, variance: str, codes: IntArray | None,
         n_clusters: int | None, coef: int = 1) -> tuple[float, float, float]:
    """Coefficient ``coef`` of the OLS fit, its SE and df, for the named variance."""
    n, k = x.shape
    m = _inverse(x.T @ x)
    beta = m @ (x.T @ y)
    resid = y - x @ beta
    if variance == "pooled":
        var, df = float(resid @ resid) / (n - k) * m[coef, coef], float(n - k)
    elif variance in ("hc1", "hc2"):
        weights = resid**2
        if variance == "hc2":
            leverage = np.einsum("ij,jk,ik->i", x, m, x)
            weights = weights / (1.0 - np.minimum(leverage, 1.0 - 1e-12))
        else:
            weights = weights * (n / (n - k))
        var, df = float((m @ ((x * weights[:, None]).T @ x) @ m)[coef, coef]), float(n - k)
    elif variance in ("cr1", "cr2"):
        if codes is None or n_clusters is None:
            raise TrialInputError(f"se={variance!r} needs clusters", field="clusters")
        if variance == "cr1":
            scores = _cluster_sums(codes, n_clusters, x * resid[:, None])
            factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
            var = float((m @ (scores.T @ scores) @ m)[coef, coef]) * factor
            df = float(n_clusters - 1)
        else:
            var, df = _cr2(x, resid, m, codes=codes, n_clusters=n_clusters, coef=coef)
    else:
        raise TrialInputError(f"se={variance!r} does not apply to a regression",
                              field="se")
    return float(beta[coef]), math.sqrt(var), df


def _welch(y: FloatArray, treated: npt.NDArray[np.bool_]) -> tuple[float, float, float]:
    n1 = int(np.count_nonzero(treated))
    n0 = y.shape[0] - n1
    y1, y0 = y[treated], y[~treated]
    v1, v0 = float(np.var(y1, ddof=1)) / n1, float(np.var(y0, ddof=1)) / n0
    effect = float(y1.mean() - y0.mean())
    if v1 + v0 == 0:
        return effect, 0.0, float(n1 + n0 - 2)
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    return effect, math.sqrt(v1 + v0), df


def _estimate(method: str, variance: str, fit: tuple[float, float, float | None], *,
              level: float, treated: npt.NDArray[np.bool_],
              n_clusters: int | None) -> Estimate:
    effect, se, df = fit
    n1 = int(np.count_nonzero(treated))
    return _interval(method=method, variance=variance, effect=effect, se=se, df=df, level=level,
                     n_treated=n1, n_control=treated.shape[0] - n1, n_clusters=n_clusters)


def _interval(*, method: str, variance: str, effect: float, se: float, df: float | None,
              level: float, n_treated: int, n_control: int, n_clusters: int | None,
              log_scale: bool = False) -> Estimate:
    dist = stats.norm if df is None else stats.t(df)
    q = float(dist.ppf(0.5 + level / 2))
    p = float(2 * dist.sf(abs(effect) / se)) if se > 0 else float(effect == 0)
    low, high = effect - q * se, effect + q * se
    if log_scale:
        effect, low, high = math.exp(effect), math.exp(low), math.exp(high)
    return Estimate(method=method, effect=effect, se=se, ci_low=low, ci_high=high, p_value=p,
                    n_treated=n_treated, n_control=n_control, n_clusters=n_clusters, df=df,
                    variance=variance, level=level)


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


def analyse(outcome: npt.ArrayLike, treatment: npt.ArrayLike, *,
            method: Method | None = None, clusters: npt.ArrayLike | None = None,
            covariates: npt.ArrayLike | None = None, cuped_pre: npt.ArrayLike | None = None,
            se: Variance | None = None, level: float = 0.95) -> Estimate:
    """The treatment effect on ``outcome`` (module docstring for each method and variance).

    ``treatment`` is 0/1 (or boolean) per unit; ``clusters`` labels each unit's cluster (the
    unit of randomisation); ``covariates`` is an (n,) or (n, p) array for ANCOVA;
    ``cuped_pre`` the pre-period value of the outcome for CUPED. ``method`` defaults to
    ``"cuped"`` with ``cuped_pre``, ``"ancova"`` with ``covariates``, else ``"difference"``.
    Raises :class:`TrialInputError` (a ``ValueError``) for bad input: length mismatch,
    missing values, treatment not 0/1, an arm with fewer than 2 units, fewer than 2 clusters
    with units of each arm.
    """
    if not 0 < level < 1:
        raise TrialInputError(f"level must be between 0 and 1, not {level}", field="level")
    y = _vector(outcome, "outcome")
    n = y.shape[0]
    treated = _treatment(treatment, n)
    if method is None:
        method = "cuped" if cuped_pre is not None else "ancova" if covariates is not None \
            else "difference"
    if method not in METHODS:
        raise TrialInputError(f"unknown method {method!r}: one of {', '.join(METHODS)}",
                              field="method")
    if (covariates is not None) != (method == "ancova"):
        raise TrialInputError("covariates go with method='ancova' (and it needs them)",
                              field="covariates")
    if (cuped_pre is not None) != (method == "cuped"):
        raise TrialInputError("cuped_pre goes with method='cuped' (and it needs it)",
                              field="cuped_pre")
    codes: IntArray | None = None
    n_clusters: int | None = None
    if clusters is not None:
        codes, n_clusters = cluster_codes(clusters, n)
        _check_clusters(codes, n_clusters, treated)
    if method in ("risk_difference", "odds_ratio"):
        return _binary(y, treated, method=method, codes=codes, n_clusters=n_clusters, se=se,
                       level=level)
    return _continuous(y, treated, method=method, codes=codes, n_clusters=n_clusters,
                       covariates=covariates, cuped_pre=cuped_pre, se=se, level=level)


def _continuous(y: FloatArray, treated: npt.NDArray[np.bool_], *, method: str,
                codes: IntArray | None, n_clusters: int | None,
                covariates: npt.ArrayLike | None, cuped_pre: npt.ArrayLike | None,
                se: str | None, level: float) -> Estimate:
    n = y.shape[0]
    if se is None:
        se = "cr2" if codes is not None else "hc2" if method == "ancova" else "welch"
    if se not in VARIANCES:
        raise TrialInputError(f"unknown se {se!r}: one of {', '.join(VARIANCES)}", field="se")
    if se in ("cr1", "cr2") and codes is None:
        raise TrialInputError(f"se={se!r} needs clusters", field="clusters")
    if codes is not None and se not in ("cr1", "cr2"):
        raise TrialInputError(f"with clusters the SE must be cluster-robust (cr1 or cr2), "
                              f"not {se!r}", field="se")
    if method == "cuped":
        pre = _vector(cuped_pre, "cuped_pre", n)  # type: ignore[arg-type]
        centred = pre - pre.mean()
        spread = float(centred @ centred)
        if spread == 0:
            raise TrialInputError("cuped_pre is constant: CUPED needs a varying pre-period "
                                  "value", field="cuped_pre")
        theta = float(centred @ (y - y.mean())) / spread
        y = y - theta * centred
    if se == "welch":
        if method == "ancova":
            raise TrialInputError("se='welch' is for differences in means; use hc2 with "
                                  "covariates", field="se")
        return _estimate(method, se, _welch(y, treated), level=level, treated=treated,
                         n_clusters=n_clusters)
    columns = [np.ones(n), treated.astype(np.float64)]
    if method == "ancova":
        extra = _covariates(covariates, n)  # type: ignore[arg-type]
        columns.extend(extra.T)
    x = np.column_stack(columns)
    fit = _ols(x, y, variance=se, codes=codes, n_clusters=n_clusters)
    return _estimate(method, se, fit, level=level, treated=treated, n_clusters=n_clusters)


def _binary(y: FloatArray, treated: npt.NDArray[np.bool_], *, method: str,
            codes: IntArray | None, n_clusters: int | None, se: str | None,
            level: float) -> Estimate:
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        row = int(np.argmax(bad))
        raise TrialInputError(f"a binary outcome must be 0/1: found {y[row]!r} at row {row}",
                              field="outcome", row=row)
    n1 = int(np.count_nonzero(treated))
    n0 = treated.shape[0] - n1
    a = float(y[treated].sum())
    c = float(y[~treated].sum())
    if method == "odds_ratio":
        if codes is not None:
            raise TrialInputError("the odds ratio has no cluster-robust form here: use "
                                  "risk_difference with clusters", field="clusters")
        if se not in (None, "woolf"):
            raise TrialInputError("the odds ratio's SE is Woolf's", field="se")
        cells = np.array([a, n1 - a, c, n0 - c])
        if (cells == 0).any():
            cells = cells + 0.5
        log_or = math.log(cells[0] * cells[3] / (cells[1] * cells[2]))
        return _interval(method=method, variance="woolf", effect=log_or,
                         se=math.sqrt(float((1 / cells).sum())), df=None, level=level,
                         n_treated=n1, n_control=n0, n_clusters=None, log_scale=True)
    if codes is None:
        if se not in (None, "wald"):
            raise TrialInputError("the risk difference's SE is the Wald SE without clusters",
                                  field="se")
        p1, p0 = a / n1, c / n0
        error = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        return _estimate(method, "wald", (p1 - p0, error, None), level=level, treated=treated,
                         n_clusters=None)
    variance = se or "cr2"
    if variance not in ("cr1", "cr2"):
        raise TrialInputError("with clusters the SE must be cr1 or cr2", field="se")
    x = np.column_stack([np.ones(y.shape[0]), treated.astype(np.float64)])
    fit = _ols(x, y, variance=variance, codes=codes, n_clusters=n_clusters)
    return _estimate(method, variance, fit, level=level, treated=treated, n_clusters=n_clusters)


# --------------------------------------------------------------------------------------------
# Effect sizes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EffectSize:
    """Hedges' g with its SE and interval, Cohen's d, the correction J and EEF months."""

    g: float
    se: float
    ci_low: float
    ci_high: float
    d: float
    correction: float
    months: int
    level: float = 0.95


def hedges_g_from_summary(*, mean_treated: float, mean_control: float, sd_treated: float,
                          sd_control: float, n_treated: int, n_control: int,
                          level: float = 0.95) -> EffectSize:
    """Hedges' g from each arm's mean, SD and size (Hedges & Olkin 1985, ch. 5).

    d = (ȳ₁ − ȳ₀)/s_p with s_p² = ((n₁−1)s₁² + (n₀−1)s₀²)/(n₁ + n₀ − 2); g = J·d with
    J = 1 − 3/(4(n₁ + n₀) − 9); Var(d) = (n₁ + n₀)/(n₁n₀) + d²/(2(n₁ + n₀)); Var(g) = J²Var(d);
    interval g ± z·SE(g) (as Borenstein et al. 2009, *Introduction to Meta-Analysis*, ch. 4).
    """
    if min(n_treated, n_control) < 2:
        raise ValueError("each arm needs at least 2 units")
    total = n_treated + n_control
    pooled = math.sqrt(((n_treated - 1) * sd_treated**2 + (n_control - 1) * sd_control**2)
                       / (total - 2))
    if pooled == 0:
        raise ValueError("the pooled standard deviation is zero: no effect size")
    d = (mean_treated - mean_control) / pooled
    j = 1 - 3 / (4 * total - 9)
    var_d = total / (n_treated * n_control) + d**2 / (2 * total)
    g, se = j * d, j * math.sqrt(var_d)
    z = float(stats.norm.ppf(0.5 + level / 2))
    return EffectSize(g=g, se=se, ci_low=g - z * se, ci_high=g + z * se, d=d, correction=j,
                      months=eef_months(g), level=level)


def hedges_g(outcome: npt.ArrayLike, treatment: npt.ArrayLike, *,
             level: float = 0.95) -> EffectSize:
    """Hedges' g of an outcome between the arms (:func:`hedges_g_from_summary`)."""
    y = _vector(outcome, "outcome")
    treated = _treatment(treatment, y.shape[0])
    y1, y0 = y[treated], y[~treated]
    return hedges_g_from_summary(mean_treated=float(y1.mean()), mean_control=float(y0.mean()),
                                 sd_treated=float(y1.std(ddof=1)),
                                 sd_control=float(y0.std(ddof=1)), n_treated=y1.shape[0],
                                 n_control=y0.shape[0], level=level)


# Lower bounds (in hundredths of g) of 1 … 12 months: the EEF Teaching and Learning Toolkit's
# conversion of effect sizes into months of additional progress.
_EEF_LOWER = (2, 10, 19, 27, 36, 45, 53, 62, 70, 79, 88, 96)


def eef_months(g: float) -> int:
    """Months of additional progress for an effect size g, with g's sign (EEF Toolkit table).

    |g| is first rounded to two decimals, half away from zero on its decimal form (so 0.015
    → 0.02 → 1 month, 0.185 → 0.19 → 3), as the EEF rounds effect sizes before reading the
    table: 0.00–0.01 → 0, 0.02–0.09 → 1, 0.10–0.18 → 2, 0.19–0.26 → 3, 0.27–0.35 → 4,
    0.36–0.44 → 5, 0.45–0.52 → 6, 0.53–0.61 → 7, 0.62–0.69 → 8, 0.70–0.78 → 9,
    0.79–0.87 → 10, 0.88–0.95 → 11, ≥ 0.96 → 12.
    """
    if not math.isfinite(g):
        raise ValueError(f"g must be a finite number, not {g}")
    hundredths = int(Decimal(repr(abs(g))).quantize(Decimal("0.01"), ROUND_HALF_UP) * 100)
    months = sum(hundredths >= low for low in _EEF_LOWER)
    return -months if g < 0 else months


# --------------------------------------------------------------------------------------------
# Several outcomes
# --------------------------------------------------------------------------------------------


def _p_values(p_values: npt.ArrayLike) -> FloatArray:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or not ((p >= 0) & (p <= 1)).all():
        raise ValueError("p-values must be a list of numbers between 0 and 1")
    return p


def holm(p_values: npt.ArrayLike) -> FloatArray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order.

    Sorted p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ᵢ₎ = max_{j≤i} min(1, (m − j + 1)·p₍ⱼ₎). Controls the
    family-wise error rate.
    """
    p = _p_values(p_values)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (1995), in the input order.

    Sorted p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ᵢ₎ = min_{j≥i} min(1, m·p₍ⱼ₎/j). Controls the false discovery
    rate under independence or positive dependence.
    """
    p = _p_values(p_values)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    scaled = m * p[order] / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adjusted
    return out


# --------------------------------------------------------------------------------------------
# Subgroups
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SubgroupResult:
    """The treatment × subgroup interaction and the effect within each subgroup (0 and 1),
    all from the one model y = α + τT + γS + δ(T·S) [+ Xβ]: δ, τ and τ + δ."""

    interaction: Estimate
    effect_outside: Estimate
    effect_inside: Estimate


def subgroup_interaction(outcome: npt.ArrayLike, treatment: npt.ArrayLike,
                         subgroup: npt.ArrayLike, *, covariates: npt.ArrayLike | None = None,
                         clusters: npt.ArrayLike | None = None, se: Variance | None = None,
                         level: float = 0.95) -> SubgroupResult:
    """A pre-specified subgroup analysis: the OLS interaction of treatment with a 0/1
    subgroup indicator, with HC2 SEs (df n − k) or, with clusters, CR2 (default) or CR1.

    The interaction δ tests whether the effect differs between the subgroups; report it, not
    the two within-subgroup p-values (Brookes et al. 2004, *Health Technol Assess* 5(33)).
    """
    y = _vector(outcome, "outcome")
    n = y.shape[0]
    treated = _treatment(treatment, n)
    group = _vector(subgroup, "subgroup", n)
    if not ((group == 0) | (group == 1)).all():
        raise TrialInputError("subgroup must be coded 0/1", field="subgroup")
    inside = group == 1
    for mask, name in ((inside, "in the subgroup"), (~inside, "outside the subgroup")):
        if min(int((treated & mask).sum()), int((~treated & mask).sum())) < 2:
            raise TrialInputError(f"each arm needs at least 2 units {name}", field="subgroup")
    codes: IntArray | None = None
    n_clusters: int | None = None
    if clusters is not None:
        codes, n_clusters = cluster_codes(clusters, n)
        _check_clusters(codes, n_clusters, treated)
    variance = se or ("cr2" if codes is not None else "hc2")
    t = treated.astype(np.float64)
    columns = [np.ones(n), t, group, t * group]
    if covariates is not None:
        columns.extend(_covariates(covariates, n).T)
    x = np.column_stack(columns)
    # Re-express the model so that each wanted quantity is one coefficient: swapping the
    # subgroup's coding makes τ the effect inside.
    flipped = x.copy()
    flipped[:, 2], flipped[:, 3] = 1 - group, t * (1 - group)
    estimates = []
    for design, coef, mask, label in ((x, 3, None, "interaction"), (x, 1, ~inside, "outside"),
                                      (flipped, 1, inside, "inside")):
        fit = _ols(design, y, variance=variance, codes=codes, n_clusters=n_clusters,
                   coef=coef)
        arm = treated if mask is None else treated[mask]
        estimates.append(_estimate(f"subgroup_{label}", variance, fit, level=level,
                                   treated=arm, n_clusters=n_clusters))
    return SubgroupResult(interaction=estimates[0], effect_outside=estimates[1],
                          effect_inside=estimates[2])


# --------------------------------------------------------------------------------------------
# CONSORT flow
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ArmFlow:
    """One arm's CONSORT counts; attrition = 1 − analysed/allocated."""

    arm: str
    allocated: int
    followed_up: int
    lost_to_follow_up: int
    analysed: int
    attrition: float


@dataclass(frozen=True, kw_only=True)
class ConsortFlow:
    """The CONSORT flow (Schulz, Altman & Moher 2010) with overall and differential attrition.

    ``differential_attrition`` is the largest |attrition(arm) − attrition(control)|;
    ``differential_flag`` is true when it exceeds ``threshold``. The default threshold, 5
    percentage points, is the kind of differential the What Works Clearinghouse's
    *conservative* attrition boundary tolerates only at low overall attrition (WWC
    Procedures and Standards Handbook v5.0; Deke & Chiang 2017, *Eval Rev* 41(2)): a flag
    asks for the WWC/EEF table to be read, it does not replace it. EEF's padlock rating reads
    overall attrition in bands (≤10%, ≤20%, ≤30%, ≤40%, ≤50%), reported as
    ``overall_attrition``.
    """

    enrolled: int
    excluded: int
    arms: tuple[ArmFlow, ...]
    overall_attrition: float
    differential_attrition: float
    differential_flag: bool
    threshold: float


def consort_flow(*, enrolled: int, allocated: Mapping[str, int],
                 followed_up: Mapping[str, int], analysed: Mapping[str, int],
                 control: str = "control", threshold: float = 0.05) -> ConsortFlow:
    """CONSORT counts per arm (enrolled → allocated → followed up → analysed) and attrition.

    Raises ``ValueError`` when the counts do not nest (more followed up than allocated, …)
    or the arms differ between the mappings.
    """
    arms = list(allocated)
    if set(followed_up) != set(arms) or set(analysed) != set(arms):
        raise ValueError("allocated, followed_up and analysed must name the same arms")
    if control not in allocated:
        raise ValueError(f"no control arm {control!r} among {', '.join(arms)}")
    if sum(allocated.values()) > enrolled:
        raise ValueError(f"{sum(allocated.values())} allocated but only {enrolled} enrolled")
    rows = []
    for arm in arms:
        a, f, s = allocated[arm], followed_up[arm], analysed[arm]
        if not 0 <= s <= f <= a or a == 0:
            raise ValueError(f"arm {arm!r}: need 0 ≤ analysed ≤ followed up ≤ allocated, "
                             f"allocated > 0 (got {s}, {f}, {a})")
        rows.append(ArmFlow(arm=arm, allocated=a, followed_up=f, lost_to_follow_up=a - f,
                            analysed=s, attrition=1 - s / a))
    base = next(r.attrition for r in rows if r.arm == control)
    differential = max(abs(r.attrition - base) for r in rows)
    overall = 1 - sum(r.analysed for r in rows) / sum(r.allocated for r in rows)
    return ConsortFlow(enrolled=enrolled, excluded=enrolled - sum(allocated.values()),
                       arms=tuple(rows), overall_attrition=overall,
                       differential_attrition=differential,
                       differential_flag=differential > threshold + 1e-12, threshold=threshold)


# --------------------------------------------------------------------------------------------
# Group-sequential monitoring
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Look:
    """One interim look: information fraction t, the z boundary, its nominal two- or
    one-sided p, the alpha spent up to this look and at it."""

    information: float
    z: float
    nominal_p: float
    cumulative_alpha: float
    alpha_spent: float


def obrien_fleming_spending(t: float, alpha: float) -> float:
    """Lan–DeMets O'Brien–Fleming-type spending for one tail: 2 − 2Φ(Φ⁻¹(1 − α/2)/√t)."""
    if t <= 0:
        return 0.0
    return float(2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / math.sqrt(t)))


def pocock_spending(t: float, alpha: float) -> float:
    """Lan–DeMets Pocock-type spending: α·ln(1 + (e − 1)t)."""
    return alpha * math.log(1 + (math.e - 1) * t)


def sequential_boundaries(information: Sequence[float], *, alpha: float = 0.05,
                          sides: Literal[1, 2] = 2,
                          spending: Literal["obrien_fleming", "pocock"] = "obrien_fleming",
                          grid: int = 2001) -> tuple[Look, ...]:
    """Group-sequential efficacy boundaries by Lan–DeMets alpha spending (Lan & DeMets 1983).

    ``information`` is the increasing information fractions 0 < t₁ < … ≤ 1 of the looks.
    Each tail spends α/2 (two-sided, symmetric boundaries; crossing both tails is ignored, as
    in gsDesign) or α (one-sided) by the spending function f: the boundary c_k solves
    P(Z₁ < c₁, …, Z_{k−1} < c_{k−1}, Z_k ≥ c_k) = f(t_k) − f(t_{k−1}) for the Brownian
    motion Z_k = B(t_k)/√t_k. The probabilities are computed by recursive numerical
    integration of B's density on a ``grid``-point Simpson grid (Armitage, McPherson & Rowe
    1969; Jennison & Turnbull 2000, ch. 19). With five equal looks and α = 0.05 two-sided
    O'Brien–Fleming-type spending gives 4.877, 3.357, 2.680, 2.290, 2.031 (as gsDesign's
    ``sfLDOF`` and the Reboussin–DeMets–Kim–Lan program).
    """
    times = np.asarray(information, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not (np.diff(times) > 0).all() \
            or times[0] <= 0 or times[-1] > 1:
        raise ValueError("information fractions must increase within (0, 1]")
    if not 0 < alpha < 1 or sides not in (1, 2):
        raise ValueError("alpha must be in (0, 1) and sides 1 or 2")
    tail = alpha / sides
    spend = obrien_fleming_spending if spending == "obrien_fleming" else pocock_spending
    looks: list[Look] = []
    density: FloatArray | None = None  # of B(t_{k−1}) on the continuation region, per grid
    points: FloatArray | None = None
    weights: FloatArray | None = None
    previous_t, previous_spent = 0.0, 0.0
    for t in times.tolist():
        spent = spend(t, tail)
        target = spent - previous_spent
        if density is None or points is None or weights is None:
            boundary = float(stats.norm.isf(target)) if target > 0 else math.inf
        else:
            step = math.sqrt(t - previous_t)
            mass, pts = density * weights, points

            def exit_probability(c: float, mass: FloatArray = mass, pts: FloatArray = pts,
                                 step: float = step, t: float = t) -> float:
                return float(mass @ stats.norm.sf((c * math.sqrt(t) - pts) / step))

            boundary = (float(optimize.brentq(lambda c, goal=target: exit_probability(c) - goal,
                                              -10, 40, xtol=1e-10))
                        if target > 0 else math.inf)
        looks.append(Look(information=t, z=boundary,
                          nominal_p=float(sides * stats.norm.sf(boundary)),
                          cumulative_alpha=spent * sides, alpha_spent=target * sides))
        # The density of B(t) on (−∞, c√t) — or (−c√t, c√t) two-sided — for the next look.
        upper = boundary * math.sqrt(t) if math.isfinite(boundary) else 12 * math.sqrt(t)
        lower = -upper if sides == 2 else -12 * math.sqrt(t)
        new_points = np.linspace(lower, upper, grid)
        h = (upper - lower) / (grid - 1)
        new_weights = np.full(grid, 2.0)
        new_weights[1:-1:2] = 4.0
        new_weights[0] = new_weights[-1] = 1.0
        new_weights *= h / 3
        if density is None or points is None or weights is None:
            new_density = stats.norm.pdf(new_points, scale=math.sqrt(t))
        else:
            step = math.sqrt(t - previous_t)
            kernel = stats.norm.pdf((new_points[:, None] - points[None, :]) / step) / step
            new_density = kernel @ (density * weights)
        density, points, weights = new_density, new_points, new_weights
        previous_t, previous_spent = t, spent
    return tuple(looks)
