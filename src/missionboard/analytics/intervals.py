"""Confidence intervals for the indicators of frontline units, many units at once.

Every function takes arrays (one entry per unit; a missing value, NaN, gives NaN) and a
``levels`` tuple of two-sided confidence levels L, each with z = Φ⁻¹((1 + L)/2) and tail
probability q = (1 − L)/2. The result is an :class:`Interval`: the point estimate and, for
each level, the lower and upper limits (rows in the order of ``levels``).

Counts (an observed number of events O):

- **exact Poisson** (Garwood 1936; Armitage and Berry, *Statistical Methods in Medical
  Research*, 4th ed., 2002): O_L = ½·χ²_q(2O) (0 when O = 0), O_U = ½·χ²_{1−q}(2O + 2),
  written here as the inverse regularised incomplete gamma function, ½·χ²_q(2k) = P⁻¹(k, q);
- **Byar's approximation** (Breslow and Day, *Statistical Methods in Cancer Research* II,
  1987): O_L = O·(1 − 1/(9O) − z/(3√O))³, O_U = (O + 1)·(1 − 1/(9(O + 1)) + z/(3√(O + 1)))³;
  a negative O_L (tiny counts at high levels) is not a limit and is returned as NaN;
- **the Fingertips rule** (PHEindicatormethods' ``phe_rate``, ``calculate_ISRatio``): exact
  when O < 10, Byar's otherwise.

Indicators:

- **proportion** r/n, **Wilson score** interval (Wilson 1927; Newcombe and Altman 2000):
  [2r + z² ∓ z·√(z² + 4r(1 − r/n))] / [2(n + z²)] (exactly 0 at r = 0 and 1 at r = n),
  times a multiplier (100 for %);
- **crude rate** O/T per ``multiplier`` units of person-time T: (O_L/T, O_U/T)·multiplier with
  the Fingertips rule;
- **directly standardised rate** (Dobson et al., Stat Med 1991;10:457): with stratum counts
  O_k, populations n_k and standard-population weights w_k, DSR = Σ w_k·O_k/n_k / Σ w_k;
  Var(DSR) = Σ w_k²·O_k/n_k² / (Σ w_k)²; limits DSR + √(Var(DSR)/O)·(O_{L,U} − O) with
  O = Σ O_k and Byar's O_{L,U}; everything times the multiplier; NaN when O < 10;
- **indirectly standardised ratio** O/E (E = Σ_k n_k·r_k from reference stratum rates r_k,
  :func:`expected_counts`): (O_L/E, O_U/E) with the Fingertips rule, times a reference value
  (1 for a ratio, 100 for "ratio × 100", or the reference crude rate for an indirectly
  standardised rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
Levels = float | Sequence[float]
CountMethod = Literal["exact", "byar", "phe"]

#: The count below which the Fingertips rule uses exact limits rather than Byar's.
EXACT_BELOW = 10.0


@dataclass(frozen=True, kw_only=True)
class Interval:
    """Point estimates and their limits: ``lower[j]``, ``upper[j]`` at ``levels[j]``."""

    value: FloatArray
    levels: tuple[float, ...]
    lower: FloatArray
    upper: FloatArray

    def __post_init__(self) -> None:
        for array in (self.value, self.lower, self.upper):
            array.setflags(write=False)

    def at(self, level: float) -> tuple[FloatArray, FloatArray]:
        """The (lower, upper) limits at one of ``levels``."""
        j = level_index(self.levels, level)
        return self.lower[j], self.upper[j]


def level_index(levels: Sequence[float], level: float) -> int:
    for j, candidate in enumerate(levels):
        if np.isclose(candidate, level, rtol=0, atol=1e-12):
            return j
    raise KeyError(f"{level} is not one of the levels {tuple(levels)}")


def as_levels(levels: Levels) -> tuple[float, ...]:
    """Validated levels as a tuple of floats strictly between 0 and 1."""
    values = (float(levels),) if isinstance(levels, int | float) else tuple(map(float, levels))
    if not values:
        raise ValueError("give at least one confidence level")
    for level in values:
        if not 0.0 < level < 1.0:
            raise ValueError(f"a confidence level must be between 0 and 1, not {level}")
    if len(set(values)) != len(values):
        raise ValueError(f"the levels repeat: {values}")
    return values


def two_sided_z(levels: Levels) -> FloatArray:
    """z = Φ⁻¹((1 + L)/2) for each level L, as a column (levels × 1) for broadcasting."""
    return np.asarray(special.ndtri((1.0 + np.asarray(as_levels(levels))) / 2.0))[:, None]


def tails(levels: Levels) -> FloatArray:
    """The lower tail probability q = (1 − L)/2 of each level, as a column."""
    return ((1.0 - np.asarray(as_levels(levels))) / 2.0)[:, None]


def as_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """A one-dimensional float array; NaN marks a missing value, negative values are refused."""
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, one value per unit")
    if np.any(array < 0):
        raise ValueError(f"{name} cannot be negative")
    return array


def positive_array(values: npt.ArrayLike, name: str) -> FloatArray:
    array = as_array(values, name)
    if np.any(array == 0):
        raise ValueError(f"{name} must be greater than zero")
    return array


def poisson_exact_limits(count: FloatArray, levels: Levels) -> tuple[FloatArray, FloatArray]:
    """Exact Poisson limits on counts (continuous counts allowed): ½χ²_q(2O), ½χ²_{1−q}(2O+2)."""
    q = tails(levels)
    with np.errstate(invalid="ignore"):
        lower = np.where(count == 0, 0.0, special.gammaincinv(count, q))
    upper = special.gammaincinv(count + 1.0, 1.0 - q)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def byar_limits(count: FloatArray, levels: Levels) -> tuple[FloatArray, FloatArray]:
    """Byar's limits on counts; a negative lower limit is NaN."""
    z = two_sided_z(levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = count * (1.0 - 1.0 / (9.0 * count) - z / (3.0 * np.sqrt(count))) ** 3
        upper = (count + 1.0) * (1.0 - 1.0 / (9.0 * (count + 1.0))
                                 + z / (3.0 * np.sqrt(count + 1.0))) ** 3
    return np.where(lower < 0, np.nan, lower), upper


def count_limits(count: FloatArray, levels: Levels,
                 method: CountMethod = "phe") -> tuple[FloatArray, FloatArray]:
    """Limits on counts by ``method``: exact, Byar's, or the Fingertips rule (exact below 10)."""
    if method == "exact":
        return poisson_exact_limits(count, levels)
    if method == "byar":
        return byar_limits(count, levels)
    exact_lower, exact_upper = poisson_exact_limits(count, levels)
    byar_lower, byar_upper = byar_limits(count, levels)
    small = count < EXACT_BELOW
    return np.where(small, exact_lower, byar_lower), np.where(small, exact_upper, byar_upper)


def count_interval(count: npt.ArrayLike, *, levels: Levels = 0.95,
                   method: CountMethod = "phe") -> Interval:
    """Confidence limits for observed counts O (see the module docstring for the methods)."""
    observed = as_array(count, "count")
    lower, upper = count_limits(observed, levels, method)
    return Interval(value=observed, levels=as_levels(levels), lower=lower, upper=upper)


def wilson(numerator: npt.ArrayLike, denominator: npt.ArrayLike, *, levels: Levels = 0.95,
           multiplier: float = 1.0) -> Interval:
    """Proportions r/n with Wilson score limits, times ``multiplier`` (PHE ``phe_proportion``)."""
    r, n = as_array(numerator, "numerator"), positive_array(denominator, "denominator")
    if np.any(r > n):
        raise ValueError("a numerator cannot exceed its denominator in a proportion")
    z = two_sided_z(levels)
    half_width = z * np.sqrt(z**2 + 4.0 * r * (1.0 - r / n))
    scale = 1.0 / (2.0 * (n + z**2))
    lower = np.where(r == 0, 0.0, (2.0 * r + z**2 - half_width) * scale)
    upper = np.where(r == n, 1.0, (2.0 * r + z**2 + half_width) * scale)
    return Interval(value=r / n * multiplier, levels=as_levels(levels),
                    lower=lower * multiplier, upper=upper * multiplier)


def rate(count: npt.ArrayLike, denominator: npt.ArrayLike, *, levels: Levels = 0.95,
         multiplier: float = 100_000.0) -> Interval:
    """Crude rates O/T per ``multiplier``, exact limits below 10 events, Byar's from 10
    (PHE ``phe_rate``)."""
    observed = as_array(count, "count")
    per = multiplier / positive_array(denominator, "denominator")
    lower, upper = count_limits(observed, levels)
    return Interval(value=observed * per, levels=as_levels(levels), lower=lower * per,
                    upper=upper * per)


def expected_counts(population: npt.ArrayLike, reference_rates: npt.ArrayLike) -> FloatArray:
    """Expected counts E_i = Σ_k n_ik·r_k: populations (units × strata) at reference rates."""
    n = np.asarray(population, dtype=np.float64)
    rates = np.asarray(reference_rates, dtype=np.float64)
    if n.ndim != 2 or rates.shape != (n.shape[1],):
        raise ValueError("give populations as units × strata and one reference rate a stratum")
    return np.asarray(n @ rates, dtype=np.float64)


def standardised_ratio(observed: npt.ArrayLike, expected: npt.ArrayLike, *,
                       levels: Levels = 0.95, reference: float = 1.0) -> Interval:
    """Indirectly standardised ratios O/E times ``reference``, limits (O_L/E, O_U/E) by the
    Fingertips rule (PHE ``calculate_ISRatio``; ``calculate_ISRate`` with the reference
    crude rate as ``reference``)."""
    o = as_array(observed, "observed")
    per = reference / positive_array(expected, "expected")
    lower, upper = count_limits(o, levels)
    return Interval(value=o * per, levels=as_levels(levels), lower=lower * per,
                    upper=upper * per)


def directly_standardised_rate(observed: npt.ArrayLike, population: npt.ArrayLike,
                               standard: npt.ArrayLike, *, levels: Levels = 0.95,
                               multiplier: float = 100_000.0) -> Interval:
    """Directly standardised rates with Dobson's limits (PHE ``phe_dsr``/``calculate_dsr``).

    ``observed`` and ``population`` are units × strata; ``standard`` holds one standard
    population per stratum. A missing stratum count counts as 0 (as PHE does). Units with
    fewer than 10 events in total get NaN: a DSR on so few events is not published.
    """
    o = np.nan_to_num(np.asarray(observed, dtype=np.float64), nan=0.0)
    n = np.asarray(population, dtype=np.float64)
    w = np.asarray(standard, dtype=np.float64)
    if o.ndim != 2 or o.shape != n.shape or w.shape != (o.shape[1],):
        raise ValueError("give counts and populations as units × strata, one weight a stratum")
    if np.any(o < 0) or np.any(n <= 0) or np.any(w < 0):
        raise ValueError("counts and weights cannot be negative, populations must be positive")
    share = w / w.sum()
    value = (o * share / n).sum(axis=1)
    variance = (o * (share / n) ** 2).sum(axis=1)
    total = o.sum(axis=1)
    low_count, high_count = byar_limits(total, levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(variance / total)
    reliable = total >= EXACT_BELOW
    return Interval(value=np.where(reliable, value, np.nan) * multiplier,
                    levels=as_levels(levels),
                    lower=np.where(reliable, value + spread * (low_count - total),
                                   np.nan) * multiplier,
                    upper=np.where(reliable, value + spread * (high_count - total),
                                   np.nan) * multiplier)
