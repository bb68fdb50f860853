"""Reproducible random allocation to trial arms, balance checks and sample-ratio checks.

:func:`randomise` allocates a list of units from an integer seed; the same units, options and
seed give the same allocation on any machine. Its only source of randomness is the raw 64-bit
output of the PCG64 generator seeded through NumPy's ``SeedSequence(seed,
spawn_key=(attempt,))`` — both fixed algorithms — turned into shuffles by sorting the raw
numbers and into draws by comparing them with the cumulative ratio, so NumPy's changing
sampling methods never change an allocation. Methods (``Allocation.method``):

- ``"simple"`` — each unit independently, with probabilities ratio/Σratio (CONSORT's
  simple randomisation: the arm sizes vary).
- ``"blocked"`` / ``"stratified"`` — permuted blocks (Schulz & Grimes 2002, *Lancet* 359,
  515–519), within each stratum for ``"stratified"``: units are taken in the order given
  (the enrolment order), in blocks of ``block_size`` (a multiple of Σratio; default 2·Σratio),
  each block holding exactly ``block_size``·rₐ/Σr units of arm a in random order. A
  stratum's last, incomplete block is the start of a full random block.
- ``"cluster"`` / ``"stratified_cluster"`` — the clusters (in order of first appearance) are
  allocated as one permuted block per stratum (or the ``block_size`` given), and every unit
  takes its cluster's arm. Strata must then be constant within each cluster.

With ``balance_threshold`` the allocation is re-randomised (Morgan & Rubin 2012, *Ann Stat*
40(2), 1263–1282) until the largest absolute standardised mean difference of ``covariates``
(every arm against the control arm, the first in ``arms``) is below the threshold; attempt a
uses spawn key a, so the accepted allocation is reproducible and ``attempts`` tells how many
were drawn. Inference after re-randomisation should respect it (a randomisation test over the
same rule, or adjusting for the covariates).

:func:`assign_arm` is the stateless alternative for units arriving one at a time: the arm
from SHA-256 of ``f"{trial_key}:{unit_id}"`` (UTF-8). :func:`sample_ratio_mismatch` checks the
arm counts against the planned ratio (Fabijan et al. 2019, KDD, "Diagnosing Sample Ratio
Mismatch in Online Controlled Experiments").
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

IntArray = npt.NDArray[np.int64]
SRM_THRESHOLD = 0.001


@dataclass(frozen=True, kw_only=True)
class BalanceRow:
    """One covariate, one arm against control: means and the standardised mean difference
    (mean_arm − mean_control)/√((s²_arm + s²_control)/2) (Austin 2009, *Stat Med* 28,
    3083–3107)."""

    covariate: str
    arm: str
    mean: float
    control_mean: float
    smd: float


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """An allocation: ``arms`` maps each unit to its arm, in the units' order.

    ``balance`` holds the :func:`balance_table` rows of the covariates given (empty without);
    ``max_abs_smd`` is the largest |SMD| among them that is defined (``None`` when none is).
    """

    arms: dict[str, str]
    seed: int
    method: str
    attempts: int
    balance: tuple[BalanceRow, ...]
    max_abs_smd: float | None
    arm_names: tuple[str, ...]
    ratio: tuple[int, ...]
    block_size: int | None
    balance_threshold: float | None

    def counts(self) -> dict[str, int]:
        """Units per arm, in the order of ``arm_names``."""
        counts = dict.fromkeys(self.arm_names, 0)
        for arm in self.arms.values():
            counts[arm] += 1
        return counts


def _check_arms(arms: Sequence[str], ratio: Sequence[int]) -> tuple[tuple[str, ...],
                                                                     tuple[int, ...]]:
    names, weights = tuple(arms), tuple(ratio)
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError("give at least two arms, each named once")
    if len(weights) != len(names):
        raise ValueError(f"{len(weights)} ratio parts for {len(names)} arms")
    if not all(isinstance(w, int | np.integer) and w > 0 for w in weights):
        raise ValueError("the ratio must be positive whole numbers, e.g. 1,1 or 2,1")
    return names, tuple(int(w) for w in weights)


class _Stream:
    """Raw PCG64 output: shuffles and uniform draws that do not depend on NumPy's samplers."""

    def __init__(self, seed: int, attempt: int) -> None:
        self._bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(attempt,)))

    def keys(self, n: int) -> npt.NDArray[np.uint64]:
        out: npt.NDArray[np.uint64] = self._bits.random_raw(n)
        return out



def _blocks(count: int, stream: _Stream, ratio: tuple[int, ...], block_size: int) -> IntArray:
    """Arm indices for ``count`` items in permuted blocks of ``block_size``."""
    per_block = np.repeat(np.arange(len(ratio)), [block_size * r // sum(ratio) for r in ratio])
    blocks = -(-count // block_size)
    keys = stream.keys(blocks * block_size).reshape(blocks, block_size)
    return per_block[np.argsort(keys, axis=1, kind="stable")].ravel()[:count].astype(np.int64)


def _groups(labels: Sequence[Hashable]) -> list[IntArray]:
    """Indices of each distinct label, in order of first appearance (and each in order)."""
    first: dict[Hashable, list[int]] = {}
    for index, label in enumerate(labels):
        first.setdefault(label, []).append(index)
    return [np.asarray(rows, dtype=np.int64) for rows in first.values()]


def _draw(n: int, *, stream: _Stream, ratio: tuple[int, ...], strata: Sequence[Hashable] | None,
          block_size: int | None, clusters: Sequence[Hashable] | None) -> IntArray:
    if clusters is not None:
        cluster_rows = _groups(clusters)
        first_rows = [int(rows[0]) for rows in cluster_rows]
        cluster_strata = [strata[i] for i in first_rows] if strata is not None else None
        per_cluster = _draw(len(cluster_rows), stream=stream, ratio=ratio,
                            strata=cluster_strata,
                            block_size=block_size or _whole(len(cluster_rows), ratio),
                            clusters=None)
        out = np.empty(n, dtype=np.int64)
        for arm, rows in zip(per_cluster.tolist(), cluster_rows, strict=True):
            out[rows] = arm
        return out
    if strata is None and block_size is None:
        cumulative = np.cumsum(ratio) / sum(ratio)
        uniform = (stream.keys(n) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        return np.searchsorted(cumulative, uniform, side="right").astype(np.int64)
    size = block_size or 2 * sum(ratio)
    out = np.empty(n, dtype=np.int64)
    for rows in _groups(strata if strata is not None else [0] * n):
        out[rows] = _blocks(rows.size, stream, ratio, size)
    return out


def _whole(count: int, ratio: tuple[int, ...]) -> int:
    """The smallest multiple of Σratio holding ``count`` items: one block for them all."""
    unit = sum(ratio)
    return max(unit, -(-count // unit) * unit)


Labels = Sequence[Hashable] | Mapping[str, Hashable]


def randomise(units: Sequence[str], *, seed: int, arms: Sequence[str] = ("control", "treatment"),
              ratio: Sequence[int] = (1, 1), strata: Labels | None = None,
              block_size: int | None = None, clusters: Labels | None = None,
              covariates: Mapping[str, npt.ArrayLike] | None = None,
              balance_threshold: float | None = None, max_attempts: int = 1000) -> Allocation:
    """Allocate ``units`` (unique ids, in enrolment order) to ``arms`` in ``ratio``.

    ``strata`` and ``clusters`` give one label per unit (a list in the units' order, or a
    mapping from unit id to label); ``covariates`` maps names to one number per unit (NaN for
    missing), for the balance table (and the re-randomisation rule when
    ``balance_threshold`` is given). Raises ``ValueError`` for bad input, and when no
    allocation within ``max_attempts`` meets the threshold.
    """
    ids = [str(u) for u in units]
    n = len(ids)
    if n == 0 or len(set(ids)) != n:
        raise ValueError("units must be a non-empty list of distinct ids")
    names, weights = _check_arms(arms, ratio)
    strata, clusters = _labels(strata, ids, "strata"), _labels(clusters, ids, "clusters")
    if block_size is not None and (block_size <= 0 or block_size % sum(weights)):
        raise ValueError(f"block_size must be a positive multiple of {sum(weights)} "
                         f"(the ratio's total)")
    if clusters is not None and strata is not None:
        seen: dict[Hashable, Hashable] = {}
        for cluster, stratum in zip(clusters, strata, strict=True):
            if seen.setdefault(cluster, stratum) != stratum:
                raise ValueError(f"cluster {cluster!r} lies in more than one stratum")
    table = _covariate_table(covariates, n)
    if balance_threshold is not None and (not table or not balance_threshold > 0):
        raise ValueError("re-randomisation needs covariates and a positive balance_threshold")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    method = ("stratified_cluster" if strata is not None else "cluster") if clusters is not None \
        else "stratified" if strata is not None else "blocked" if block_size else "simple"
    best: tuple[float, int] = (math.inf, 0)
    for attempt in range(1, (max_attempts if balance_threshold is not None else 1) + 1):
        codes = _draw(n, stream=_Stream(seed, attempt - 1), ratio=weights, strata=strata,
                      block_size=block_size, clusters=clusters)
        labels = [names[c] for c in codes.tolist()]
        rows = balance_table(table, labels, arm_names=names) if table else ()
        worst = max((abs(r.smd) for r in rows if not math.isnan(r.smd)), default=None)
        if balance_threshold is None or (worst is not None and worst < balance_threshold):
            return Allocation(arms=dict(zip(ids, labels, strict=True)), seed=seed,
                              method=method, attempts=attempt, balance=rows,
                              max_abs_smd=worst, arm_names=names, ratio=weights,
                              block_size=block_size, balance_threshold=balance_threshold)
        if worst is not None:
            best = min(best, (worst, attempt))
    raise ValueError(f"no allocation in {max_attempts} attempts has every |SMD| below "
                     f"{balance_threshold} (the best, attempt {best[1]}, reached {best[0]:.3f})"
                     ": raise the threshold or max_attempts")


def _labels(values: Labels | None, ids: list[str], name: str) -> list[Hashable] | None:
    if values is None:
        return None
    if isinstance(values, Mapping):
        missing = [u for u in ids if u not in values]
        if missing:
            raise ValueError(f"{name} has no label for unit {missing[0]!r}")
        return [values[u] for u in ids]
    if len(values) != len(ids):
        raise ValueError(f"{name} has {len(values)} labels for {len(ids)} units")
    return list(values)


def _covariate_table(covariates: Mapping[str, npt.ArrayLike] | None,
                     n: int) -> dict[str, npt.NDArray[np.float64]]:
    table: dict[str, npt.NDArray[np.float64]] = {}
    for name, values in (covariates or {}).items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"covariate {name!r} must be numbers") from None
        if array.shape != (n,):
            raise ValueError(f"covariate {name!r} has {array.size} values for {n} units")
        if np.isinf(array).any():
            row = int(np.argmax(np.isinf(array)))
            raise ValueError(f"covariate {name!r} is infinite at row {row}")
        table[name] = array
    return table


def balance_table(covariates: Mapping[str, npt.ArrayLike], arms: Sequence[str], *,
                  arm_names: Sequence[str] | None = None) -> tuple[BalanceRow, ...]:
    """Standardised mean differences of each covariate, each arm against the control arm.

    ``arms`` is each unit's arm; ``arm_names`` the arms in order, control first (default:
    the arms in order of first appearance). Missing values (NaN) are left out of each
    covariate's means and variances; an arm with no value gives NaN. A covariate constant in
    both arms has SMD 0.
    """
    labels = np.asarray(list(arms))
    names = list(arm_names) if arm_names is not None else list(dict.fromkeys(labels.tolist()))
    table = _covariate_table(covariates, labels.shape[0])
    control = labels == names[0]
    rows = []
    for name, values in table.items():
        observed = ~np.isnan(values)
        base = values[control & observed]
        for arm in names[1:]:
            group = values[(labels == arm) & observed]
            if min(group.size, base.size) == 0:
                rows.append(BalanceRow(covariate=name, arm=arm, mean=_mean(group),
                                       control_mean=_mean(base), smd=math.nan))
                continue
            spread = math.sqrt((_var(group) + _var(base)) / 2)
            difference = float(group.mean() - base.mean())
            smd = difference / spread if spread > 0 else (0.0 if difference == 0 else math.inf)
            rows.append(BalanceRow(covariate=name, arm=arm, mean=float(group.mean()),
                                   control_mean=float(base.mean()), smd=smd))
    return tuple(rows)


def _mean(values: npt.NDArray[np.float64]) -> float:
    return float(values.mean()) if values.size else math.nan


def _var(values: npt.NDArray[np.float64]) -> float:
    return float(values.var(ddof=1)) if values.size > 1 else 0.0


def assign_arm(unit_id: str, *, trial_key: str, arms: Sequence[str],
               ratio: Sequence[int]) -> str:
    """A unit's arm from a hash: stable, stateless, and in ``ratio`` in the long run.

    x = the first 8 bytes of SHA-256(f"{trial_key}:{unit_id}" in UTF-8) as a big-endian
    integer, uniform on [0, 2⁶⁴); the arm is the first a with x·Σr < (r₁ + … + r_a)·2⁶⁴.
    A new ``trial_key`` gives an independent allocation.
    """
    names, weights = _check_arms(arms, ratio)
    digest = hashlib.sha256(f"{trial_key}:{unit_id}".encode()).digest()
    x = int.from_bytes(digest[:8], "big")
    total, cumulative = sum(weights), 0
    for name, weight in zip(names, weights, strict=True):
        cumulative += weight
        if x * total < cumulative << 64:
            return name
    return names[-1]  # pragma: no cover - unreachable: the last bucket ends at 2⁶⁴


@dataclass(frozen=True, kw_only=True)
class SampleRatioMismatch:
    """Pearson's χ² goodness of fit of the arm counts to the planned ratio."""

    chi2: float
    df: int
    p_value: float
    mismatch: bool
    expected: tuple[float, ...]


def sample_ratio_mismatch(counts: Sequence[int] | Mapping[str, int],
                          ratio: Sequence[float] | Mapping[str, float], *,
                          threshold: float = SRM_THRESHOLD) -> SampleRatioMismatch:
    """Do the arm counts fit the planned ratio? χ² = Σ(O − E)²/E on k − 1 df, E = N·rₐ/Σr;
    ``mismatch`` when p < ``threshold`` (0.001, the usual SRM alarm: Kohavi, Tang & Xu 2020,
    *Trustworthy Online Controlled Experiments*, ch. 21). Mappings are matched by arm name.
    """
    if isinstance(counts, Mapping):
        if not isinstance(ratio, Mapping) or set(ratio) != set(counts):
            raise ValueError("counts and ratio must name the same arms")
        observed = np.array([counts[a] for a in counts], dtype=np.float64)
        weights = np.array([ratio[a] for a in counts], dtype=np.float64)
    else:
        if isinstance(ratio, Mapping):
            raise ValueError("give counts and ratio both as lists or both as mappings")
        observed = np.asarray(counts, dtype=np.float64)
        weights = np.asarray(ratio, dtype=np.float64)
    if observed.ndim != 1 or observed.shape != weights.shape or observed.size < 2:
        raise ValueError("give one count and one ratio part per arm, at least two arms")
    if (observed < 0).any() or observed.sum() == 0 or not (weights > 0).all():
        raise ValueError("counts must be non-negative (not all zero) and ratio parts positive")
    expected = observed.sum() * weights / weights.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    df = observed.size - 1
    p = float(stats.chi2.sf(chi2, df))
    return SampleRatioMismatch(chi2=chi2, df=df, p_value=p, mismatch=p < threshold,
                               expected=tuple(float(e) for e in expected))
