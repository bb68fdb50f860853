"""The diffusion of an intervention among units: how many have adopted it at each time, and an
S-curve fitted to the share that has, to project when a target share would be reached.

- **Active adopters** at time t: the units with adopted ≤ t < stopped (a unit that stops on
  day s no longer counts from s on). As every unit stops on or after the day it adopted,

      n(t) = #{i : adoptedᵢ ≤ t} − #{i : stoppedᵢ ≤ t},

  computed for every t at once by binary search in the sorted dates (:func:`active_counts`).

- **The logistic curve** (Verhulst's; Griliches, "Hybrid corn: an exploration in the
  economics of technological change", Econometrica 25, 1957; Rogers, *Diffusion of
  Innovations*, 5th ed., 2003, ch. 5):

      s(t) = K / (1 + exp(−r·(t − t₀)))

  with K the ceiling (the share that would adopt in the end), r the rate of uptake and t₀ the
  midpoint, where s = K/2. :func:`fit_logistic` fits it by non-linear least squares
  (``scipy.optimize.curve_fit``, trust-region reflective, with 0 < K ≤ 1, 0 < r ≤ 5 per unit
  of t and t₀ within ten spans of the data). The curve reaches a share p < K at

      t = t₀ − ln(K/p − 1)/r,

  and never reaches p ≥ K (:meth:`LogisticFit.time_to_reach`).

The fit is refused, with the reason (:class:`NoFit`), when there are too few points, when the
share has taken fewer than three values, when the optimiser fails or cannot estimate the
parameters' covariance, and when the data do not yet pin down the ceiling (its standard error
above ``max_ceiling_se``): early in an uptake the curve could level off almost anywhere.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize

from missionboard.analytics._checks import finite_floats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_POINTS = 6
"""The fewest points :func:`fit_logistic` fits a curve to by default."""
MAX_CEILING_SE = 0.2
"""The largest standard error of the ceiling K accepted by default."""


def active_counts(adopted: npt.ArrayLike, stopped: npt.ArrayLike, at: npt.ArrayLike
                  ) -> IntArray:
    """The number of units adopting at each time in ``at``: adopted on or before it and not
    stopped on or before it. ``stopped`` is ``inf`` for a unit that has not stopped; every
    unit's stop must be on or after its adoption."""
    start = np.asarray(adopted, dtype=np.float64)
    stop = np.asarray(stopped, dtype=np.float64)
    times = np.asarray(at, dtype=np.float64)
    if start.shape != stop.shape or start.ndim != 1:
        raise ValueError("adopted and stopped must be 1-d arrays of the same length")
    if np.isnan(start).any() or np.isnan(stop).any() or np.isnan(times).any():
        raise ValueError("the times must be numbers (inf for a unit that has not stopped)")
    if (stop < start).any():
        raise ValueError("a unit cannot stop before it adopts")
    begun = np.searchsorted(np.sort(start), times, side="right")
    ended = np.searchsorted(np.sort(stop), times, side="right")
    return (begun - ended).astype(np.int64)


def logistic(t: npt.ArrayLike, ceiling: float, rate: float, midpoint: float) -> FloatArray:
    """s(t) = K / (1 + exp(−r·(t − t₀)))."""
    x = np.asarray(t, dtype=np.float64)
    return np.asarray(ceiling / (1.0 + np.exp(-rate * (x - midpoint))), dtype=np.float64)


@dataclass(frozen=True)
class LogisticFit:
    """A fitted S-curve: ceiling K, rate r and midpoint t₀ (in the units of t), with the
    ceiling's standard error, the number of points and the root-mean-square residual."""

    ceiling: float
    rate: float
    midpoint: float
    ceiling_se: float
    points: int
    rmse: float

    def __post_init__(self) -> None:
        finite_floats(self, "ceiling", "rate", "midpoint", "ceiling_se", "rmse")

    def share_at(self, t: npt.ArrayLike) -> FloatArray:
        return logistic(t, self.ceiling, self.rate, self.midpoint)

    def time_to_reach(self, share: float) -> float | None:
        """When the curve reaches ``share``: t₀ − ln(K/p − 1)/r; None if it never does
        (p ≥ K)."""
        if not 0 < share < self.ceiling:
            return None
        return self.midpoint - math.log(self.ceiling / share - 1.0) / self.rate


@dataclass(frozen=True)
class NoFit:
    """Why no curve was fitted, in words for the page."""

    reason: str


def fit_logistic(t: npt.ArrayLike, share: npt.ArrayLike, *, min_points: int = MIN_POINTS,
                 max_ceiling_se: float = MAX_CEILING_SE) -> LogisticFit | NoFit:
    """Fit s(t) = K / (1 + exp(−r·(t − t₀))) to the shares (0 to 1) at times t, or say why
    not."""
    x = np.asarray(t, dtype=np.float64)
    y = np.asarray(share, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("t and share must be 1-d arrays of the same length")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("t and share must be finite")
    if ((y < 0) | (y > 1)).any():
        raise ValueError("shares must lie between 0 and 1")
    refusal = _too_little(x, y, min_points=min_points)
    if refusal is not None:
        return NoFit(refusal)
    span = float(x.max() - x.min())
    ceiling0 = min(1.0, max(float(y.max()) * 1.2, 0.05))
    below = np.nonzero(y >= ceiling0 / 2)[0]
    midpoint0 = float(x[below[0]]) if len(below) else float(x.max())
    guess = (ceiling0, min(4.0 / span, 5.0), midpoint0)
    bounds = ([1e-9, 1e-9, float(x.min()) - 10 * span], [1.0, 5.0, float(x.max()) + 10 * span])
    with warnings.catch_warnings():
        warnings.simplefilter("error", optimize.OptimizeWarning)
        try:
            params, covariance = optimize.curve_fit(logistic, x, y, p0=guess, bounds=bounds,
                                                    method="trf", maxfev=10_000)
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            return NoFit("the S-curve could not be fitted to these data")
    ceiling, rate, midpoint = (float(p) for p in params)
    variance = float(np.asarray(covariance)[0, 0])
    finite = math.isfinite(variance) and all(math.isfinite(p) for p in params)
    ceiling_se = math.sqrt(max(variance, 0.0)) if finite else math.inf
    if ceiling_se > max_ceiling_se:
        return NoFit("it is too early to tell where uptake will level off" if finite
                     else "the S-curve could not be fitted to these data")
    rmse = float(np.sqrt(np.mean((logistic(x, ceiling, rate, midpoint) - y) ** 2)))
    return LogisticFit(ceiling=ceiling, rate=rate, midpoint=midpoint, ceiling_se=ceiling_se,
                       points=len(x), rmse=rmse)


def _too_little(x: FloatArray, y: FloatArray, *, min_points: int) -> str | None:
    """Why the points cannot carry a curve, if they cannot."""
    if len(x) < min_points:
        return f"there are {len(x)} points; a curve needs at least {min_points}"
    if len(np.unique(y)) < 3 or y.max() <= 0:
        return "uptake has changed too little to fit a curve to"
    if x.max() <= x.min():
        return "the points are all at the same time"
    return None
