"""The counterfactual: the metric's path with no new action, and its uncertainty.

Declared (``Counterfactual(level=…)`` flat, or with a ``slope`` linear) or fitted from history
by :func:`fit_counterfactual` (flat, linear trend, or a seasonal model; regression or random-walk
noise). :func:`simulate_counterfactual` draws its paths for the projection
(:mod:`missionboard.analytics.projection`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from missionboard.analytics._checks import check_finite, finite_floats

FloatArray = npt.NDArray[np.float64]
CounterfactualKind = Literal["flat", "linear", "seasonal"]
NoiseKind = Literal["iid", "random_walk"]


@dataclass(frozen=True, kw_only=True)
class Counterfactual:
    """The metric's path with no new action, with its uncertainty.

    C[t] = (a + δa) + (b + δb)·t + season[t mod m] + ε_t,

    where a = ``level`` (the expected value at period 0 without the season), b = ``slope`` per
    period, ``season`` m additive offsets (empty for none; ``season[t mod m]`` applies at period
    t), (δa, δb) a bivariate normal draw of the parameters' error (``level_sd``,
    ``slope_sd``, correlation ``level_slope_correlation``), and ε the period noise with
    standard deviation σ = ``noise_sd``:

    - ``iid``: ε_t independent N(0, σ²) — a value scattered about the trend, as in the
      regression the trend was fitted by;
    - ``random_walk``: ε_t = Σ_{j≤t} η_j with η_j independent N(0, σ²) — the value wanders,
      and its uncertainty grows with the horizon (σ²·(t + 1) at period t).

    Var C[t] = σa² + t²σb² + 2tρσaσb + (σ² for iid, or (t + 1)σ² for a random walk)
    (:meth:`variance`). A declared counterfactual is ``Counterfactual(level=…)`` (flat) or
    ``Counterfactual(level=…, slope=…)`` (linear), certain unless uncertainties are given.
    """

    level: float
    slope: float = 0.0
    season: tuple[float, ...] = ()
    level_sd: float = 0.0
    slope_sd: float = 0.0
    level_slope_correlation: float = 0.0
    noise_sd: float = 0.0
    noise: NoiseKind = "iid"

    def __post_init__(self) -> None:
        finite_floats(self, "level", "slope", "level_sd", "slope_sd",
                      "level_slope_correlation", "noise_sd")
        season = tuple(float(v) for v in self.season)
        check_finite(**{f"season[{j}]": v for j, v in enumerate(season)})
        object.__setattr__(self, "season", season)
        if min(self.level_sd, self.slope_sd, self.noise_sd) < 0:
            raise ValueError("standard deviations cannot be negative")
        if not -1.0 <= self.level_slope_correlation <= 1.0:
            raise ValueError("a correlation lies between -1 and 1")
        if self.noise not in ("iid", "random_walk"):
            raise ValueError(f"unknown noise {self.noise!r}: iid or random_walk")

    @property
    def is_certain(self) -> bool:
        return self.level_sd == 0 and self.slope_sd == 0 and self.noise_sd == 0

    def mean_path(self, periods: int) -> FloatArray:
        """E C[t] = a + b·t + season[t mod m] for t = 0 … periods − 1."""
        t = np.arange(periods, dtype=np.float64)
        path = self.level + self.slope * t
        if self.season:
            path += np.resize(np.asarray(self.season, dtype=np.float64), periods)
        return path

    def variance(self, periods: int) -> FloatArray:
        """Var C[t] in closed form (see the class docstring)."""
        t = np.arange(periods, dtype=np.float64)
        noise = self.noise_sd**2 * ((t + 1.0) if self.noise == "random_walk" else 1.0)
        return (self.level_sd**2 + t**2 * self.slope_sd**2
                + 2.0 * t * self.level_slope_correlation * self.level_sd * self.slope_sd
                + noise)


def fit_counterfactual(
    history: Sequence[float] | npt.ArrayLike, *, kind: CounterfactualKind = "linear",
    season_length: int = 12, noise: NoiseKind = "iid",
) -> Counterfactual:
    """Fit a counterfactual to equally spaced ``history`` (oldest first, no gaps).

    The projection's period 0 is the period right after the last value (x = 0; the history
    sits at x = −n … −1).

    ``kind="seasonal"`` first removes an additive season estimated by STL (Cleveland et al.,
    "STL: A Seasonal-Trend Decomposition Procedure Based on Loess", *Journal of Official
    Statistics* 6(1), 1990; statsmodels ``STL``, robust) and fits a linear trend to the
    seasonally adjusted values; the last ``season_length`` seasonal values, centred, are the
    season carried forward. ``flat`` and ``linear`` fit the values as they are.

    With ``noise="iid"`` (the default) the trend is an ordinary least-squares fit, the noise is
    independent with the residual standard error σ̂ = √(RSS/(n − p)) (p = 1 for flat, 2 for
    linear, plus m − 1 for the season), and the parameters' error has covariance
    σ̂²(XᵀX)⁻¹; so Var C[t] = σ̂²(1 + xₜᵀ(XᵀX)⁻¹xₜ), the regression prediction variance
    (Hyndman and Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., 2021, §7.6).
    This is the right choice when the values scatter about a trend.

    With ``noise="random_walk"`` the values are taken to wander: ``flat`` is the naive forecast
    (the last value) and ``linear`` the drift forecast (the last value plus the mean change
    b = (y_n − y_1)/(n − 1) per period), with σ̂ from the period-on-period changes Δy
    (naive: σ̂² = ΣΔy²/(n − 1); drift: σ̂² = Σ(Δy − b)²/(n − 2)) and, for the drift,
    δb ~ N(0, σ̂²/(n − 1)); so Var C[t] = σ̂²·h·(1 + h/(n − 1)) at horizon h = t + 1, the drift
    forecast's variance (ibid. §5.5; σ̂²·h for the naive forecast).
    """
    y = np.asarray(history, dtype=np.float64).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError("the history must be finite numbers without gaps")
    if kind not in ("flat", "linear", "seasonal"):
        raise ValueError(f"unknown counterfactual {kind!r}: flat, linear or seasonal")
    if noise not in ("iid", "random_walk"):
        raise ValueError(f"unknown noise {noise!r}: iid or random_walk")
    n = y.size
    season: tuple[float, ...] = ()
    extra_df = 0
    if kind == "seasonal":
        seasonal = _stl_seasonal(y, season_length)
        pattern = seasonal[n - season_length:]
        season = tuple(float(v) for v in pattern - pattern.mean())
        y = y - seasonal
        extra_df = season_length - 1
    trend = kind != "flat"
    if noise == "random_walk":
        return _fit_random_walk(y, drift=trend, season=season)
    return _fit_regression(y, trend=trend, season=season, extra_df=extra_df)


def _stl_seasonal(y: FloatArray, season_length: int) -> FloatArray:
    from statsmodels.tsa.seasonal import STL  # type: ignore[import-untyped]

    if season_length < 2:
        raise ValueError("a season lasts at least two periods")
    if y.size < 2 * season_length + 1:
        raise ValueError(f"a seasonal fit needs more than two seasons of history "
                         f"({2 * season_length + 1} values or more)")
    result = STL(y, period=season_length, robust=True).fit()
    return np.asarray(result.seasonal, dtype=np.float64)


def _fit_regression(y: FloatArray, *, trend: bool, season: tuple[float, ...],
                    extra_df: int) -> Counterfactual:
    n = y.size
    p = 2 if trend else 1
    if n - p - extra_df < 1:
        raise ValueError(f"too little history: {n} values for {p + extra_df} parameters")
    x = np.arange(-n, 0, dtype=np.float64)
    design = np.column_stack([np.ones(n), x]) if trend else np.ones((n, 1))
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coef
    sigma = math.sqrt(float(residuals @ residuals) / (n - p - extra_df))
    cov = sigma**2 * np.linalg.inv(design.T @ design)
    if not trend:
        return Counterfactual(level=float(coef[0]), season=season,
                              level_sd=math.sqrt(cov[0, 0]), noise_sd=sigma)
    level_sd, slope_sd = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    corr = float(cov[0, 1] / (level_sd * slope_sd)) if level_sd * slope_sd > 0 else 0.0
    return Counterfactual(level=float(coef[0]), slope=float(coef[1]), season=season,
                          level_sd=level_sd, slope_sd=slope_sd,
                          level_slope_correlation=float(np.clip(corr, -1.0, 1.0)),
                          noise_sd=sigma, noise="iid")


def _fit_random_walk(y: FloatArray, *, drift: bool, season: tuple[float, ...]) -> Counterfactual:
    n = y.size
    changes = np.diff(y)
    if not drift:
        if n < 2:
            raise ValueError("a random walk needs at least two values")
        sigma = math.sqrt(float(changes @ changes) / changes.size)
        return Counterfactual(level=float(y[-1]), season=season, noise_sd=sigma,
                              noise="random_walk")
    if n < 3:
        raise ValueError("a random walk with drift needs at least three values")
    b = float(changes.mean())
    dev = changes - b
    sigma = math.sqrt(float(dev @ dev) / (changes.size - 1))
    slope_sd = sigma / math.sqrt(changes.size)
    # Period 0 is one step on: level = y_n + b, so its error is the drift's (correlation 1).
    return Counterfactual(level=float(y[-1]) + b, slope=b, season=season, level_sd=slope_sd,
                          slope_sd=slope_sd, level_slope_correlation=1.0, noise_sd=sigma,
                          noise="random_walk")


def simulate_counterfactual(counterfactual: Counterfactual, *, seed: np.random.SeedSequence,
                            draws: int, periods: int) -> FloatArray:
    """periods × draws counterfactual values, drawn from the stream ``seed`` (in float64)."""
    path = counterfactual.mean_path(periods)
    out = np.empty((periods, draws))
    if counterfactual.is_certain:
        out[:] = path[:, None]
        return out
    rng = np.random.default_rng(seed)
    if counterfactual.noise_sd > 0:
        rng.standard_normal(out=out)
        out *= counterfactual.noise_sd
        if counterfactual.noise == "random_walk":
            np.cumsum(out, axis=0, out=out)
    else:
        out.fill(0.0)
    if counterfactual.level_sd > 0 or counterfactual.slope_sd > 0:
        z = rng.standard_normal((2, draws))
        rho = counterfactual.level_slope_correlation
        level_error = counterfactual.level_sd * z[0]
        slope_error = counterfactual.slope_sd * (rho * z[0] + math.sqrt(1.0 - rho * rho) * z[1])
        for t in range(periods):
            out[t] += level_error
            out[t] += t * slope_error
    out += path[:, None]
    return out
