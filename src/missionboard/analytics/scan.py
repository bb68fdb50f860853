"""A national scan: every unit on every indicator at once, for the latest period.

Input: numerators and denominators of proportions as periods × indicators × units arrays
(NaN where a unit has no value), oldest period first. For each period the funnel is the
square-root-arcsine method of Spiegelhalter et al. (2012), as :func:`funnel.funnel` with
``method="spiegelhalter"``, vectorised over indicators:

- centre p̄ = Σr/Σn over the units with data; yᵢ = asin√(rᵢ/nᵢ), θ₀ = asin√p̄, sᵢ = 1/(2√nᵢ),
  zᵢ = (yᵢ − θ₀)/sᵢ;
- over-dispersion from the z-scores Winsorised at their ``trim`` and 1 − ``trim`` quantiles
  (type 7): φ = Σz²/I, τ² = max{0, (Iφ − (I − 1)) / (Σw − Σw²/Σw)} with wᵢ = 1/sᵢ²
  (DerSimonian–Laird);
- the adjusted z-score zᵢᴰ = (yᵢ − θ₀)/√(sᵢ² + τ²) where φ > 1 (else unadjusted), banded
  at the two-sided 95% and 99.8% points: +2 above the upper 99.8% limit, +1 above the 95%
  one, … −2 below the lower 99.8%.

A unit is a **sustained positive deviant** on an indicator when it lies beyond the 99.8% limit
in the better direction in each of the last ``confirm`` periods. Its **recent trend** is the
Fingertips marker over the last five periods (:mod:`missionboard.analytics.trends`): the χ²
statistic is screened for all series at once, and only the series that pass it (or cannot be
calculated) are marked in full, with the leave-one-out check — every other series has no
significant change by definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from missionboard.analytics import trends

FloatArray = npt.NDArray[np.float64]
BandArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

Z95 = float(stats.norm.ppf(0.975))
Z998 = float(stats.norm.ppf(0.999))


@dataclass(frozen=True, kw_only=True)
class PeriodFunnel:
    """One period's funnel for every indicator: (indicators,) and (indicators, units)."""

    centre: FloatArray
    phi: FloatArray
    tau2: FloatArray
    value: FloatArray
    z: FloatArray
    band: BandArray


@dataclass(frozen=True, kw_only=True)
class Scan:
    """The latest period's funnel, sustained positive deviance and recent trends."""

    latest: PeriodFunnel
    sustained: BoolArray
    trend: BandArray
    """Codes into :data:`trends.TRENDS`, indicators × units."""
    better: BandArray
    """The latest band signed so that positive is better (indicators × units)."""


def period_funnel(numerator: npt.ArrayLike, denominator: npt.ArrayLike, *,
                  trim: float = 0.1) -> PeriodFunnel:
    """The funnel of one period for many indicators: indicators × units arrays."""
    r = np.asarray(numerator, dtype=np.float64)
    n = np.asarray(denominator, dtype=np.float64)
    gaps = bool(np.isnan(r).any() or np.isnan(n).any())
    total = np.nansum if gaps else np.sum
    with np.errstate(divide="ignore", invalid="ignore"):
        sum_n = total(n, axis=1)
        centre = total(r, axis=1) / sum_n
        value = r / n
        diff = np.arcsin(np.sqrt(value))
        diff -= np.arcsin(np.sqrt(centre))[:, np.newaxis]  # y − θ₀
        z = 2 * np.sqrt(n)
        z *= diff
        kept = np.isfinite(z).sum(axis=1) if gaps else np.full(len(z), z.shape[1])
        low, high = (np.nanquantile if gaps else np.quantile)(z, [trim, 1.0 - trim], axis=1)
        robust = np.clip(z, low[:, np.newaxis], high[:, np.newaxis], out=z)
        if gaps:
            robust[np.isnan(robust)] = 0.0
        phi = np.einsum("ij,ij->i", robust, robust) / kept
        # wᵢ = 1/sᵢ² = 4nᵢ
        sw = 4 * sum_n
        sw2 = 16 * (np.nansum(n * n, axis=1) if gaps else np.einsum("ij,ij->i", n, n))
        tau2 = np.maximum(0.0, (kept * phi - (kept - 1)) / (sw - sw2 / sw))
        used = np.where(phi > 1, tau2, 0.0)
        spread = 0.25 / n
        spread += used[:, np.newaxis]
        adjusted = diff / np.sqrt(spread, out=spread)
    band = np.zeros(adjusted.shape, dtype=np.int8)
    band[adjusted > Z95] = 1
    band[adjusted > Z998] = 2
    band[adjusted < -Z95] = -1
    band[adjusted < -Z998] = -2
    return PeriodFunnel(centre=centre, phi=phi, tau2=tau2, value=value, z=adjusted, band=band)


def scan(numerators: npt.ArrayLike, denominators: npt.ArrayLike, *,
         higher_is_better: npt.ArrayLike, trim: float = 0.1, confirm: int = 2) -> Scan:
    """Scan periods × indicators × units arrays; ``higher_is_better`` has one flag per
    indicator."""
    r = np.asarray(numerators, dtype=np.float64)
    n = np.asarray(denominators, dtype=np.float64)
    if r.ndim != 3 or r.shape != n.shape:
        raise ValueError("numerators and denominators must be periods × indicators × units")
    if not 1 <= confirm <= r.shape[0]:
        raise ValueError("confirm must be between 1 and the number of periods")
    sign = np.where(np.asarray(higher_is_better, dtype=np.bool_), 1, -1).astype(np.int8)
    if sign.shape != (r.shape[1],):
        raise ValueError("give higher_is_better for each indicator")
    funnels = [period_funnel(r[k], n[k], trim=trim) for k in range(r.shape[0] - confirm,
                                                                      r.shape[0])]
    better = (funnels[-1].band * sign[:, np.newaxis]).astype(np.int8)
    sustained = np.logical_and.reduce([f.band * sign[:, np.newaxis] == 2 for f in funnels])
    return Scan(latest=funnels[-1], sustained=sustained,
                trend=recent_trends(r, n), better=better)


def recent_trends(numerators: FloatArray, denominators: FloatArray) -> BandArray:
    """Fingertips trend codes (indicators × units) over the last five periods."""
    periods, indicators, units = numerators.shape
    code = np.full((indicators, units), trends.TRENDS.index("cannot_be_calculated"),
                   dtype=np.int8)
    if periods < trends.POINTS:
        return code
    c = numerators[-trends.POINTS:].reshape(trends.POINTS, -1)
    d = denominators[-trends.POINTS:].reshape(trends.POINTS, -1)
    t = np.arange(trends.POINTS, dtype=np.float64) - (trends.POINTS - 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        big_d, big_c = d.sum(axis=0), c.sum(axis=0)
        dt, ct, dtt = t @ d, t @ c, (t * t) @ d
        chi = big_d * (big_d * ct - big_c * dt) ** 2 / (
            big_c * (big_d - big_c) * (big_d * dtt - dt * dt))
    unsure = ~(chi <= trends.SIGNIFICANT_CHI_SQUARE)  # NaN too
    unsure |= ((c <= 0) | (c >= d)).any(axis=0)  # a proportion of 0 or 1
    flat = code.reshape(-1)
    flat[~unsure] = trends.TRENDS.index("no_significant_change")
    rows = np.flatnonzero(unsure)
    if rows.size:
        flat[rows] = trends.proportion_trends(c[:, rows].T, d[:, rows].T).code
    return code
