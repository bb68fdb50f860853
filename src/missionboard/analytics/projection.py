"""Monte Carlo projection of a metric's path: the counterfactual plus interventions' effects.

The **projected path** (Barber, *Instruction to Deliver*, 2007; Barber, Moffit and Kihn,
*Deliverology 101*, 2011: "plot the trajectory to the goal, and constantly ask whether the
strategy adds up") is, in draw *d* and period *t* (0 is the first period after the history),

    Y[d, t] = C[d, t] + Σᵢ E[d, i] · s[i, t]

- ``C`` is the **counterfactual**: what happens with no new action. Declared (``flat`` at a
  level, ``linear`` with a level and a slope per period) or fitted from history by
  :func:`fit_counterfactual` (flat, linear trend, or a seasonal model), with its own
  uncertainty (see :class:`Counterfactual`).
- ``E[d, i]`` is intervention *i*'s **full effect** in draw *d*, drawn from its distribution
  after the optimism adjustment (see :class:`InterventionEffect`).
- ``s[i, t]`` is its **time shape**: 0 before the start plus the lag, rising to 1 along the
  ramp (a step, linear or S-shaped), then held (permanent) or halving every half-life (decay),
  times the overlap factor (the share of the effect that adds to the others').

The whole draws × periods matrix is one matrix product of the draws × interventions effects and
the interventions × periods shapes, plus the counterfactual draws.

Outputs (:class:`Projection`), with d = +1 when higher is better and −1 when lower is better,
target *y\\** at period *T*:

- per-period quantiles (a fan chart; 10/25/50/75/90% by default; Hyndman and Fan (1996) type 7,
  numpy's ``linear``), the mean path and the standard deviation;
- **probability** of meeting the target, P(d·(Y[·, T] − y\\*) ≥ 0);
- **expected gap** d·(y\\* − mean Y[·, T]): positive is the mean shortfall, negative a surplus;
- **additional effect needed** for a probability *p* (80% by default): the smallest certain
  extra effect Δ (signed like the effects: positive raises the metric) such that at least
  ⌈p·N⌉ of the N draws meet the target: Δ = y\\* − Y₍N−k₎ for higher-is-better and
  Δ = y\\* − Y₍k−1₎ for lower-is-better (order statistics from 0, k = ⌈p·N⌉), or 0 when the
  probability is already at least *p*; Δ is rounded away from zero to a float32 value (the
  precision draws are stored in) and on until the boundary draw plus Δ rounds onto the
  target, so that adding it as a certain effect and re-running reaches *p* exactly;
- **waterfall**: each intervention's mean contribution at *T*, Ē[i]·s[i, T], where Ē[i] is the
  mean of its draws; they sum to the mean path minus the counterfactual's mean at *T*;
- **sensitivity**: for each intervention, the change in probability when its uncertainty is
  removed (its draws all set to Ē[i], the others untouched), p_i − p, and the ranking by
  |p_i − p|; the same for the counterfactual's uncertainty. Removing one intervention's
  uncertainty changes the total at *T* by (Ē[i] − E[d, i])·s[i, T] in each draw, so each
  p_i is a vector operation on the stored draws: no re-simulation.

**Optimism.** The effects are taken after the caller's optimism adjustment, E' = f·E (see
:mod:`missionboard.analytics.effects`).

**Correlation.** Effects are independent unless a correlation matrix R is given: a Gaussian
copula (Nelsen, *An Introduction to Copulas*, 2nd ed., 2006, §5.3). Each effect is a monotone
transform of one score per draw: a standard normal score Z for normal (μ + σZ) and lognormal
(m·exp(σZ)) effects, a uniform score U for uniform and triangular ones (the inverse CDF). The
interventions that R correlates all take standard normal scores, made correlated by the
Cholesky factor, Z ← L·Z with L·Lᵀ = R (Glasserman, *Monte Carlo Methods in Financial
Engineering*, 2003, §2.3.3), and their uniform and triangular effects use U = Φ(Z). R is the
correlation of the normal scores: exactly the correlation of the effects when both are normal;
for other marginals the rank correlation is (6/π)·arcsin(R/2).

**Seeding and common random numbers.** One integer seed. Intervention *i* draws its scores
from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(1, i)))`` and the counterfactual
from ``SeedSequence(seed, spawn_key=(0,))``: each has its own stream keyed by its position, so
adding an intervention at the end (or changing one) leaves every other intervention's draws and
the counterfactual's unchanged, draw by draw (with a correlation, up to the rounding of the
Cholesky product). The total at the target period is accumulated in float64 in a fixed order
(counterfactual, then interventions by position), so appending an intervention whose draws are
all ≥ 0 can never lower a higher-is-better probability, and appending the additional effect
needed as a certain effect reaches the stated probability exactly. Results are identical for the
same inputs and seed on the same machine and library versions, whatever the number of threads
(each thread works on whole rows or whole columns).

**Precision.** Each effect draw is computed in float32 (numpy's float32 normal and uniform
generators, then the transform; correlated scores in float64) and stored as float32: a relative
rounding of at most u = 2⁻²⁴ ≈ 6·10⁻⁸ per draw, far below the precision of any estimate and of
any Monte Carlo result. Everything else at the target period — the total per draw, probability,
gap, additional effect, waterfall and sensitivity — and the mean path are float64 arithmetic on
the stored draws; the counterfactual is simulated in float64. The fan chart (quantiles and
standard deviation per period) comes from a float32 matrix product (about 3× faster than float64
on the 2-core development machine), whose error against float64 arithmetic on the same draws is
at most (n + 2)·u·max_d (|C[d, t]| + Σᵢ |E[d, i]·s[i, t]|) for n interventions (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002, §3.1); a quantile moves by no
more than the largest error of any draw. For 500 interventions that is at most 3·10⁻⁵ of the
sum of the magnitudes: far inside the Monte Carlo error of a quantile.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from missionboard.analytics._checks import check_finite
from missionboard.analytics.counterfactual import (
    Counterfactual,
    CounterfactualKind,
    NoiseKind,
    fit_counterfactual,
    simulate_counterfactual,
)
from missionboard.analytics.effects import (
    S_CURVE_STEEPNESS,
    Distribution,
    FloatArray,
    InterventionEffect,
    LogNormal,
    Normal,
    Persistence,
    Ramp,
    Triangular,
    Uniform,
    distribution,
    shape_matrix,
    sigma_from_interval,
    z_for_level,
)

# The effects and counterfactual names are re-exported: callers import them from here.
__all__ = [
    "FAN_LEVELS",
    "S_CURVE_STEEPNESS",
    "Counterfactual",
    "CounterfactualKind",
    "Distribution",
    "InterventionEffect",
    "LogNormal",
    "NoiseKind",
    "Normal",
    "Persistence",
    "Projection",
    "Ramp",
    "Triangular",
    "Uniform",
    "distribution",
    "fit_counterfactual",
    "project",
    "shape_matrix",
    "sigma_from_interval",
    "z_for_level",
]

IntArray = npt.NDArray[np.intp]

#: Fan-chart quantile levels.
FAN_LEVELS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Projection:
    """The result of :func:`project`; arrays are read-only.

    - ``quantiles[j, t]``: the ``quantile_levels[j]`` quantile at period t (the fan chart);
      ``mean``, ``sd`` and ``counterfactual_mean``: per period;
    - ``probability``: the share of draws meeting the target at ``target_period``;
    - ``expected_gap``: d·(target − mean at the target period), positive for a shortfall and
      negative for a surplus (d = +1 when higher is better, −1 when lower is better);
    - ``additional_effect_needed``: the certain extra effect, signed like the effects, that
      brings the probability to ``required_probability``; 0 when it is already reached;
    - ``contributions[i]``: intervention i's mean effect at the target period (the waterfall);
    - ``sensitivity[i]``: p_i − p, the change in probability when intervention i's uncertainty
      is removed; ``counterfactual_sensitivity`` the same for the counterfactual's;
      ``sensitivity_ranking``: the interventions' indexes by decreasing |p_i − p|.

    Per-intervention arrays follow the order of the effects given to :func:`project`.
    """

    periods: int
    draws: int
    quantile_levels: tuple[float, ...]
    quantiles: FloatArray
    mean: FloatArray
    sd: FloatArray
    counterfactual_mean: FloatArray
    target_value: float
    target_period: int
    higher_is_better: bool
    probability: float
    required_probability: float
    expected_gap: float
    additional_effect_needed: float
    contributions: FloatArray
    sensitivity: FloatArray
    counterfactual_sensitivity: float
    sensitivity_ranking: tuple[int, ...]

    def quantile(self, level: float) -> FloatArray:
        """The fan-chart path at one of ``quantile_levels``."""
        for j, q in enumerate(self.quantile_levels):
            if math.isclose(q, level):
                return np.asarray(self.quantiles[j], dtype=np.float64)
        raise KeyError(f"{level} is not one of the fan-chart levels {self.quantile_levels}")

    @property
    def mean_at_target(self) -> float:
        return float(self.mean[self.target_period])


def project(
    *, counterfactual: Counterfactual, effects: Sequence[InterventionEffect], periods: int,
    target_value: float, target_period: int, higher_is_better: bool, seed: int,
    draws: int = 10_000, correlation: npt.ArrayLike | None = None,
    required_probability: float = 0.8, quantile_levels: Sequence[float] = FAN_LEVELS,
    threads: int | None = None,
) -> Projection:
    """Monte Carlo projection of the metric's path (formulas in the module docstring).

    ``periods`` periods from 0; ``target_period`` is the deadline's index. ``correlation`` is
    an optional n × n correlation matrix of the effects' normal scores (positive definite).
    ``threads`` (default: the CPUs this process may use) splits the work; the results do not
    depend on it.
    """
    _check_arguments(periods=periods, target_period=target_period, draws=draws, seed=seed,
                     required_probability=required_probability, levels=quantile_levels)
    check_finite(target_value=target_value)
    copula = _copula(correlation, len(effects))
    shapes = shape_matrix(effects, periods)
    workers = max(1, threads if threads is not None else _cpus())
    sign = 1.0 if higher_is_better else -1.0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        future = pool.submit(simulate_counterfactual, counterfactual, draws=draws,
                             periods=periods,
                             seed=np.random.SeedSequence(seed, spawn_key=(0,)))
        sim = _Draws.generate([e.adjusted_effect for e in effects], seed=seed, draws=draws,
                              copula=copula, pool=pool, workers=workers)
        baseline = future.result()
        quantiles, sd = _fan_chart(sim, shapes, baseline, levels=quantile_levels, pool=pool,
                                   workers=workers)
        at_target = shapes[:, target_period]
        total = _total_at(sim, at_target, baseline[target_period], pool=pool, workers=workers)
        margin = sign * (total - target_value)  # ≥ 0: the draw meets the target
        met = int(np.count_nonzero(margin >= 0))
        met_without = _met_without_uncertainty(sim, at_target, margin, sign=sign, met=met,
                                               pool=pool, workers=workers)
    baseline_at_target = baseline[target_period]
    baseline_margin = margin - sign * (baseline_at_target - baseline_at_target.mean())
    counterfactual_mean = np.asarray(baseline.mean(axis=1), dtype=np.float64)
    mean = counterfactual_mean + sim.means @ shapes
    probability = met / draws
    sensitivity = met_without / draws - probability
    return Projection(
        periods=periods, draws=draws, quantile_levels=tuple(float(q) for q in quantile_levels),
        quantiles=_frozen(quantiles), mean=_frozen(mean), sd=_frozen(sd),
        counterfactual_mean=_frozen(counterfactual_mean),
        target_value=float(target_value), target_period=target_period,
        higher_is_better=higher_is_better, probability=probability,
        required_probability=required_probability,
        expected_gap=float(sign * (target_value - mean[target_period])),
        additional_effect_needed=_additional_effect(
            total, target_value=target_value, higher_is_better=higher_is_better,
            required_probability=required_probability),
        contributions=_frozen(sim.means * at_target), sensitivity=_frozen(sensitivity),
        counterfactual_sensitivity=np.count_nonzero(baseline_margin >= 0) / draws
        - probability,
        sensitivity_ranking=tuple(int(i) for i in
                                  np.argsort(-np.abs(sensitivity), kind="stable")),
    )


#: The target-period total is accumulated over blocks of this many draws (cache-sized).
_BLOCK = 16_384


@dataclass(frozen=True)
class _Draws:
    """Interventions × draws effects (stored as float32) and each row's float64 mean."""

    effects: npt.NDArray[np.float32]
    means: FloatArray

    @classmethod
    def generate(cls, distributions: Sequence[Distribution], *, seed: int, draws: int,
                 copula: tuple[IntArray, FloatArray] | None, pool: ThreadPoolExecutor,
                 workers: int) -> _Draws:
        """Row i from its own stream, SeedSequence(seed, spawn_key=(1, i)) (module docstring)."""
        n = len(distributions)
        sim = cls(np.empty((n, draws), dtype=np.float32), np.empty(n))
        involved = copula[0] if copula is not None else np.empty(0, dtype=np.intp)
        in_copula = set(involved.tolist())
        scores = np.empty((involved.size, draws))

        def stream(i: int) -> np.random.Generator:
            return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, i)))

        def independent_rows(rows: range) -> None:
            for i in rows:
                if i not in in_copula:
                    distributions[i].draw(stream(i), sim.effects[i])
                    sim.means[i] = sim.effects[i].mean(dtype=np.float64)

        def copula_scores(rows: range) -> None:
            for j in rows:
                stream(int(involved[j])).standard_normal(out=scores[j])

        def copula_rows(rows: range) -> None:
            for j in rows:
                i = int(involved[j])
                distributions[i].fill(scores[j])
                sim.effects[i] = scores[j]
                sim.means[i] = sim.effects[i].mean(dtype=np.float64)

        if copula is not None:
            _run(pool, copula_scores, _chunks(involved.size, 2 * workers))
            scores = copula[1] @ scores
            _run(pool, copula_rows, _chunks(involved.size, 2 * workers))
        _run(pool, independent_rows, _chunks(n, 4 * workers))
        return sim


def _fan_chart(sim: _Draws, shapes: FloatArray, baseline: FloatArray, *,
               levels: Sequence[float], pool: ThreadPoolExecutor,
               workers: int) -> tuple[FloatArray, FloatArray]:
    """Quantiles and standard deviation per period, from one float32 matrix product."""
    periods = shapes.shape[1]
    paths = shapes.T.astype(np.float32) @ sim.effects  # periods by draws
    paths += baseline
    quantiles = np.empty((len(levels), periods))
    sd = np.empty(periods)

    def rows(block: range) -> None:
        part = paths[block.start:block.stop]
        sd[block.start:block.stop] = np.std(part, axis=1, dtype=np.float64)
        quantiles[:, block.start:block.stop] = _row_quantiles(part, levels)

    _run(pool, rows, _chunks(periods, 2 * workers))
    return quantiles, sd


def _total_at(sim: _Draws, at_target: FloatArray, baseline: FloatArray, *,
              pool: ThreadPoolExecutor, workers: int) -> FloatArray:
    """The target period's total per draw in float64: counterfactual, then each intervention."""
    total = np.array(baseline, dtype=np.float64)
    active = [i for i in range(at_target.size) if at_target[i] != 0.0]

    def columns(block: range) -> None:
        for start in range(block.start, block.stop, _BLOCK):
            stop = min(block.stop, start + _BLOCK)
            part = total[start:stop]
            scratch = np.empty_like(part)
            for i in active:
                np.multiply(sim.effects[i, start:stop], at_target[i], out=scratch,
                            dtype=np.float64)
                part += scratch

    _run(pool, columns, _chunks(total.size, workers))
    return total


def _met_without_uncertainty(sim: _Draws, at_target: FloatArray, margin: FloatArray, *,
                             sign: float, met: int, pool: ThreadPoolExecutor,
                             workers: int) -> FloatArray:
    """For each intervention, the draws meeting the target once its draws are set to its mean.

    Draw d's margin becomes margin_d − d·s_i(T)·(E[d, i] − Ē[i]); no re-simulation.
    """
    counts = np.full(at_target.size, met, dtype=np.float64)
    active = [i for i in range(at_target.size) if at_target[i] != 0.0]

    def rows(block: range) -> None:
        scratch = np.empty(margin.size)
        for k in block:
            i = active[k]
            weight = -sign * at_target[i]
            np.multiply(sim.effects[i], weight, out=scratch, dtype=np.float64)
            scratch += margin
            scratch -= weight * sim.means[i]
            counts[i] = np.count_nonzero(scratch >= 0)

    _run(pool, rows, _chunks(len(active), 4 * workers))
    return counts


def _additional_effect(total: FloatArray, *, target_value: float, higher_is_better: bool,
                       required_probability: float) -> float:
    """Δ such that ⌈p·N⌉ draws of total + Δ meet the target (see the module docstring).

    Δ is rounded away from zero to a float32 value (the precision draws are stored in), and on
    until the boundary draw plus Δ rounds onto the target, so that a certain effect of Δ,
    added and re-run, reaches the probability exactly.
    """
    n = total.size
    k = min(n, max(1, math.ceil(required_probability * n - 1e-9)))
    index = n - k if higher_is_better else k - 1
    boundary = float(np.partition(total, index)[index])
    gap = target_value - boundary
    if (gap <= 0) if higher_is_better else (gap >= 0):
        return 0.0
    toward = np.float32(np.inf if higher_is_better else -np.inf)
    needed = np.float32(gap)
    while (needed < gap) if higher_is_better else (needed > gap):
        needed = np.nextafter(needed, toward)
    while ((boundary + float(needed) < target_value) if higher_is_better
           else (boundary + float(needed) > target_value)):
        needed = np.nextafter(needed, toward)
    return float(needed)


def _row_quantiles(rows: npt.NDArray[np.float32], levels: Sequence[float]) -> FloatArray:
    """Type-7 quantiles of each row (partitioned in place): len(levels) × rows."""
    count = rows.shape[1]
    position = (count - 1) * np.asarray(levels, dtype=np.float64)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, count - 1)
    fraction = position - below
    _partition_at(rows, 0, count, sorted({int(k) for k in (*below, *above)}))
    lower = rows[:, below].astype(np.float64)
    upper = rows[:, above].astype(np.float64)
    return np.asarray((lower + fraction * (upper - lower)).T, dtype=np.float64)


def _partition_at(rows: npt.NDArray[np.float32], start: int, stop: int,
                  kth: list[int]) -> None:
    """Put the order statistics ``kth`` (all within [start, stop)) in place, row by row.

    One index at a time, halving the range: far cheaper than one multi-index partition.
    """
    if not kth:
        return
    middle = len(kth) // 2
    k = kth[middle]
    rows[:, start:stop].partition(k - start, axis=1)
    _partition_at(rows, start, k, kth[:middle])
    _partition_at(rows, k + 1, stop, kth[middle + 1:])


def _copula(correlation: npt.ArrayLike | None, n: int) -> tuple[IntArray, FloatArray] | None:
    """The interventions with a declared correlation and the Cholesky factor of theirs."""
    if correlation is None:
        return None
    matrix = np.asarray(correlation, dtype=np.float64)
    if matrix.shape != (n, n):
        raise ValueError(f"the correlation matrix must be {n} × {n}, not {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or np.any(np.abs(matrix) > 1.0):
        raise ValueError("correlations lie between -1 and 1")
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-12):
        raise ValueError("the correlation matrix must be symmetric")
    if not np.all(np.diag(matrix) == 1.0):
        raise ValueError("the correlation matrix must have ones on its diagonal")
    off_diagonal = matrix - np.eye(n)
    involved = np.flatnonzero(np.any(off_diagonal != 0.0, axis=1))
    if involved.size == 0:
        return None
    try:
        factor = np.linalg.cholesky(matrix[np.ix_(involved, involved)])
    except np.linalg.LinAlgError:
        raise ValueError("the correlation matrix must be positive definite") from None
    return involved.astype(np.intp), np.asarray(factor, dtype=np.float64)


def _check_arguments(*, periods: int, target_period: int, draws: int, seed: int,
                     required_probability: float, levels: Sequence[float]) -> None:
    if periods < 1:
        raise ValueError("project at least one period")
    if not 0 <= target_period < periods:
        raise ValueError(f"the target period {target_period} is outside 0 … {periods - 1}")
    if draws < 2:
        raise ValueError("use at least two draws")
    if seed < 0:
        raise ValueError("the seed must be a non-negative integer")
    if not 0.0 < required_probability < 1.0:
        raise ValueError("the required probability must be between 0 and 1")
    if not levels or any(not 0.0 <= q <= 1.0 for q in levels):
        raise ValueError("quantile levels lie between 0 and 1")


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _chunks(count: int, parts: int) -> list[range]:
    size = max(1, math.ceil(count / max(1, parts)))
    return [range(start, min(count, start + size)) for start in range(0, count, size)]


def _run(pool: ThreadPoolExecutor, work: Callable[[range], object],
         chunks: Iterable[range]) -> None:
    for _ in pool.map(work, chunks):
        pass


def _frozen(array: FloatArray) -> FloatArray:
    out = np.asarray(array, dtype=np.float64)
    out.flags.writeable = False
    return out
