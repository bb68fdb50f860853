"""Fair selection of citizens' panels: LEXIMIN by column generation, and the legacy greedy draw.

Reference: Flanigan, Gölz, Gupta, Hennig, Procaccia, *Fair algorithms for selecting citizens'
assemblies*, Nature 596 (2021) 548–552, Methods section.

A *pool* maps each volunteer's id to their feature values; *quotas* give, per feature value, a
minimum and a maximum number of panel members; the panel has exactly ``k`` members and,
optionally, at most one member per household. A *feasible panel* meets all of these.

LEXIMIN chooses a distribution λ over feasible panels so that the selection probabilities
π_i = Σ_{P ∋ i} λ_P maximise the smallest π_i, then the next smallest, and so on. It works on
*types* — people with identical values of the quota features — since LEXIMIN gives everyone of
a type the same probability: a panel is an integer count c_t ≤ n_t per type t, and
p_t = Σ_P λ_P c_{P,t} / n_t. Each stage maximises the common floor z of the unfixed types
in the master programme

    max z  s.t.  Σ_P λ_P·c_{P,t}/n_t ≥ z for unfixed t,  ≥ v_t for fixed t,  Σ_P λ_P = 1,  λ ≥ 0,

over the panels found so far (one HiGHS model kept alive for the whole run, solved by the
primal simplex from the last basis: a new panel adds a column, fixing a type changes one
coefficient and one bound). With the rows' duals y_t ≥ 0 and ŷ (the convexity row's), a panel
improves the master when Σ_t (y_t/n_t)·c_t > ŷ. Pricing looks first for such panels by local
search from the panels of the current lottery (whose value is exactly ŷ): the best single
swaps of one member's type for another's that keep the quotas and households, then — for
tight quotas, where single swaps are rare — pairs of swaps whose second repairs the quota rows
the first breaks. Only when the search finds nothing does the integer programme
max_c Σ_t (y_t/n_t)·c_t over the quota constraints (HiGHS) decide; when it finds no panel
above ŷ either, the stage is optimal, and the unfixed types with positive dual weight are
fixed at z (complementary slackness: no optimal λ can raise them). The first stage alone
gives the maximin distribution (:func:`maximin`): the best achievable minimum probability.
With a household rule, everyone is their own type and each household gets a row Σ c ≤ 1.

The whole LEXIMIN usually takes a shorter way (:func:`_decomposition`). The same stages over
the *linear relaxation* — counts x_t ∈ [0, n_t] within the quotas, no panels at all — form a
compact programme solved in a fraction of a second, and its optimum p* is at least as good,
stage by stage, as any lottery's. If some lottery over integer panels has probabilities p*,
it is therefore the LEXIMIN, and one column-generation stage finds it: max z with rows
Σ_P λ_P·c_{P,t}/n_t ≥ z·p*_t, pricing only panels on p*'s face (quota rows tight at p* are
exact there). z = 1 proves it; otherwise the stages above run. On the benchmark's pools the
relaxation's optimum has always been such a lottery; the tests include a small pool where it
is not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import numpy.typing as npt

__all__ = [
    "InfeasibleQuotas",
    "Quota",
    "Relaxation",
    "Selection",
    "check",
    "legacy",
    "legacy_probabilities",
    "leximin",
    "maximin",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PRICING_TOLERANCE = 1e-7
_TARGET_MARGIN = 1e-5  # an integer programme stops at a panel this much better than needed
_DUAL_POSITIVE = 1e-7
_MAX_ITERATIONS = 100_000
_SWAP_STARTS = 5  # panels of the lottery searched from at each pricing round
_SWAP_STEPS = 3  # moves per search
_PAIR_FIRSTS = 30  # first swaps tried for a pair of swaps
# On the face of the relaxation's optimum most quotas are exact and every panel counts, so
# the one decomposition stage searches from more panels and fewer first swaps per pair.
_FACE_STARTS = 10
_FACE_PAIR_FIRSTS = 10
_FACE_TOLERANCE = 1e-6  # a quota row this close to a bound at the relaxation's optimum is on it


@dataclass(frozen=True)
class Quota:
    """At least ``min`` and at most ``max`` panel members have ``feature`` equal to ``value``."""

    feature: str
    value: str
    min: int
    max: int

    def describe(self) -> str:
        """The quota in words, e.g. ``gender=woman in [3, 5]``."""
        return f"{self.feature}={self.value} in [{self.min}, {self.max}]"


@dataclass(frozen=True)
class Relaxation:
    """The smallest change to one quota that makes the panel possible."""

    quota: Quota
    min: int
    max: int


class InfeasibleQuotas(ValueError):
    """No panel meets the quotas; ``quotas`` names the culprits, ``relaxations`` a way out."""

    def __init__(
        self,
        message: str,
        *,
        quotas: Sequence[Quota] = (),
        relaxations: Sequence[Relaxation] = (),
    ) -> None:
        super().__init__(message)
        self.quotas = tuple(quotas)
        self.relaxations = tuple(relaxations)


@dataclass(frozen=True)
class Selection:
    """A LEXIMIN distribution over feasible panels.

    ``probabilities`` gives each volunteer's selection probability (they sum to k);
    ``min_probability`` is the smallest among those who can be selected at all;
    ``unselectable`` lists the volunteers in no feasible panel (probability 0).
    The distribution is over panel *compositions*: ``types`` lists the volunteers of each type,
    ``compositions[j][t]`` how many of type t panel j takes, ``weights[j]`` its probability λ_j.
    ``panels`` shows one representative panel per composition (the first members of each
    type); :meth:`draw` picks a composition by λ and the members of each type uniformly.
    """

    probabilities: dict[str, float]
    min_probability: float
    unselectable: tuple[str, ...]
    types: tuple[tuple[str, ...], ...]
    compositions: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]
    panels: tuple[tuple[str, ...], ...] = field(repr=False)

    def draw(self, seed: int) -> tuple[str, ...]:
        """One panel drawn from λ, reproducibly from ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        j = int(rng.choice(len(self.weights), p=np.asarray(self.weights)))
        chosen: list[str] = []
        for members, count in zip(self.types, self.compositions[j], strict=True):
            if count:
                picks = rng.choice(len(members), size=count, replace=False)
                chosen.extend(members[int(i)] for i in np.sort(picks))
        return tuple(sorted(chosen))


# ---------------------------------------------------------------------------------------------
# The model: types, quota rows, households


@dataclass(frozen=True)
class _Model:
    ids: tuple[str, ...]
    type_of: IntArray  # person → type
    sizes: IntArray  # people per type
    rows: FloatArray  # quota × type: 1 when the type has the quota's value
    lower: FloatArray  # quota minimums
    upper: FloatArray  # quota maximums
    household_rows: FloatArray  # household × type (empty without a household rule)
    k: int


def _build(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    households: Sequence[Hashable] | None,
) -> _Model:
    ids = tuple(people)
    if len(set(ids)) != len(ids):
        raise ValueError("volunteer ids must be unique")
    if k < 0 or k > len(ids):
        raise InfeasibleQuotas(f"a panel of {k} cannot be drawn from {len(ids)} volunteers")
    features = sorted({q.feature for q in quotas})
    profiles = [tuple(people[i].get(f, "") for f in features) for i in ids]
    if households is None:
        keys: list[object] = list(profiles)
    else:
        if len(households) != len(ids):
            raise ValueError("households needs one entry per volunteer")
        keys = list(range(len(ids)))
    index: dict[object, int] = {}
    type_of = np.array([index.setdefault(key, len(index)) for key in keys], dtype=np.int64)
    n_types = len(index)
    sizes = np.bincount(type_of, minlength=n_types).astype(np.int64)
    representative = np.zeros(n_types, dtype=np.int64)
    representative[type_of[::-1]] = np.arange(len(ids))[::-1]
    column = {f: j for j, f in enumerate(features)}
    rows = np.array(
        [[profiles[r][column[q.feature]] == q.value for r in representative] for q in quotas],
        dtype=np.float64,
    ).reshape(len(quotas), n_types)
    if households is None:
        household_rows = np.zeros((0, n_types))
    else:
        labels: dict[Hashable, int] = {}
        house = np.array([labels.setdefault(h, len(labels)) for h in households])
        household_rows = np.zeros((len(labels), n_types))
        household_rows[house, type_of] = 1.0
        household_rows = household_rows[household_rows.sum(axis=1) > 1]
    return _Model(
        ids=ids,
        type_of=type_of,
        sizes=sizes,
        rows=rows,
        lower=np.array([q.min for q in quotas], dtype=np.float64),
        upper=np.array([q.max for q in quotas], dtype=np.float64),
        household_rows=household_rows,
        k=k,
    )


def _check_obvious(model: _Model, quotas: Sequence[Quota]) -> None:
    """Raise for quotas that fail on counting alone, before any integer programme."""
    bad: list[str] = []
    culprits: list[Quota] = []
    available = model.rows @ model.sizes
    for q, have in zip(quotas, available, strict=True):
        if q.min > q.max:
            bad.append(f"{q.describe()}: its minimum exceeds its maximum")
            culprits.append(q)
        elif q.min > have:
            bad.append(f"{q.describe()}: only {int(have)} volunteers have this value")
            culprits.append(q)
        elif q.min > model.k:
            bad.append(f"{q.describe()}: its minimum exceeds the panel size {model.k}")
            culprits.append(q)
    for feature in sorted({q.feature for q in quotas}):
        group = [q for q in quotas if q.feature == feature]
        total_min = sum(q.min for q in group)
        if total_min > model.k:
            bad.append(f"the minimums for {feature} add up to {total_min} > k = {model.k}")
            culprits.extend(group)
    if bad:
        raise InfeasibleQuotas("; ".join(bad), quotas=culprits)


def _highs() -> highspy.Highs:
    """A silent HiGHS instance (its constructor is untyped in highspy's stubs).

    The constructor prints HiGHS's banner on the process's standard output before any option
    can be set; it is sent to /dev/null so that callers printing JSON stay clean."""
    with _stdout_silenced():
        h: highspy.Highs = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    return h


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """File descriptor 1 points at /dev/null meanwhile (C libraries write there directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class _Pricer:
    """The integer programme over panel compositions, kept alive between objectives."""

    def __init__(self, model: _Model, seed: int) -> None:
        self.n = len(model.sizes)
        h = _highs()
        h.setOptionValue("random_seed", seed % 2_147_483_647)
        h.setOptionValue("mip_rel_gap", 1e-9)
        h.setOptionValue("threads", 1)
        h.addVars(self.n, np.zeros(self.n), model.sizes.astype(np.float64))
        h.changeColsIntegrality(
            self.n,
            np.arange(self.n, dtype=np.int32),
            np.full(self.n, highspy.HighsVarType.kInteger),
        )
        blocks = [
            (model.rows, model.lower, model.upper),
            (np.ones((1, self.n)), np.array([model.k]), np.array([model.k])),
            (
                model.household_rows,
                np.zeros(len(model.household_rows)),
                np.ones(len(model.household_rows)),
            ),
        ]
        for matrix, lo, hi in blocks:
            for row, a, b in zip(matrix, lo, hi, strict=True):
                nz = np.flatnonzero(row).astype(np.int32)
                h.addRow(float(a), float(b), len(nz), nz, row[nz])
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.h = h

    def improving(self, weights: FloatArray, threshold: float) -> IntArray | None:
        """A composition with ``weights · c > threshold``, or None when there is none.

        The search stops at the first such composition (the objective target) or as soon as
        its bound shows that none exists (the objective bound), without proving optimality."""
        self.h.setOptionValue("objective_target", threshold + _TARGET_MARGIN)
        self.h.setOptionValue("objective_bound", threshold)
        try:
            found = self.best(weights, exact=False)
        finally:
            self.h.setOptionValue("objective_target", -highspy.kHighsInf)
            self.h.setOptionValue("objective_bound", highspy.kHighsInf)
        if found is None or float(weights @ found) <= threshold:
            return None
        return found

    def best(self, weights: FloatArray, *, exact: bool = True) -> IntArray | None:
        """The composition maximising ``weights · c``, or None when there is none."""
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), weights)
        # Presolve pays when optimality must be proved, not when any good panel will do.
        self.h.setOptionValue("presolve", "on" if exact else "off")
        self.h.run()
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal and (
            exact or status != highspy.HighsModelStatus.kObjectiveTarget
        ):
            return None
        values = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return np.rint(values).astype(np.int64)


def _relaxation(model: _Model, quotas: Sequence[Quota]) -> list[Relaxation]:
    """The quota changes of least total size (slack on minimums and maximums) that admit a panel."""
    n, m = len(model.sizes), len(quotas)
    h = _highs()
    h.setOptionValue("threads", 1)
    # columns: counts per type, then slack below each minimum, then slack above each maximum
    width = n + 2 * m
    upper = np.concatenate([model.sizes.astype(np.float64), np.full(2 * m, float(model.k))])
    h.addVars(width, np.zeros(width), upper)
    h.changeColsIntegrality(
        width, np.arange(width, dtype=np.int32), np.full(width, highspy.HighsVarType.kInteger)
    )
    h.changeColsCost(
        width,
        np.arange(width, dtype=np.int32),
        np.concatenate([np.zeros(n), np.ones(2 * m)]),
    )
    inf = highspy.kHighsInf
    for q in range(m):
        nz = np.flatnonzero(model.rows[q])
        idx = np.concatenate([nz, [n + q, n + m + q]]).astype(np.int32)
        h.addRow(model.lower[q], inf, len(idx), idx, np.concatenate([model.rows[q, nz], [1, 0]]))
        h.addRow(-inf, model.upper[q], len(idx), idx, np.concatenate([model.rows[q, nz], [0, -1]]))
    everyone = np.arange(n, dtype=np.int32)
    h.addRow(model.k, model.k, n, everyone, np.ones(n))
    for row in model.household_rows:
        nz = np.flatnonzero(row).astype(np.int32)
        h.addRow(0.0, 1.0, len(nz), nz, row[nz])
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return []
    slack = np.rint(np.asarray(h.getSolution().col_value)[n:]).astype(int)
    return [
        Relaxation(quota=q, min=q.min - int(slack[i]), max=q.max + int(slack[m + i]))
        for i, q in enumerate(quotas)
        if slack[i] or slack[m + i]
    ]


def _infeasible(model: _Model, quotas: Sequence[Quota]) -> InfeasibleQuotas:
    relaxations = _relaxation(model, quotas)
    if not relaxations:
        return InfeasibleQuotas(
            "no panel meets the quotas"
            + (" and the household rule" if len(model.household_rows) else "")
        )
    changes = ", ".join(f"{r.quota.describe()} → [{r.min}, {r.max}]" for r in relaxations)
    return InfeasibleQuotas(
        f"no panel meets the quotas; the smallest relaxation is {changes}",
        quotas=[r.quota for r in relaxations],
        relaxations=relaxations,
    )


# ---------------------------------------------------------------------------------------------
# LEXIMIN


def _initial_panels(
    model: _Model, pricer: _Pricer, quotas: Sequence[Quota]
) -> tuple[list[IntArray], npt.NDArray[np.bool_]]:
    """Feasible compositions covering every type that can be selected at all.

    Each round asks for the panel taking as many not-yet-covered people as possible; a type
    that no such panel covers is then asked for on its own, and is unselectable when even
    that fails."""
    n = len(model.sizes)
    panels: dict[bytes, IntArray] = {}
    first = pricer.best(np.zeros(n))
    if first is None:
        raise _infeasible(model, quotas)
    panels[first.tobytes()] = first
    covered = first > 0
    while not covered.all():
        found = pricer.best((~covered).astype(np.float64) / model.sizes)
        if found is None or not (found[~covered] > 0).any():
            break
        panels[found.tobytes()] = found
        covered |= found > 0
    selectable = covered.copy()
    for t in np.flatnonzero(~covered):
        if selectable[t]:
            continue
        weights = np.zeros(n)
        weights[t] = 1.0
        found = pricer.best(weights)
        if found is not None and found[t] > 0:
            panels[found.tobytes()] = found
            selectable |= found > 0
    return list(panels.values()), selectable


class _Swaps:
    """Pricing by local search: the best single swaps (one member of a type out, one of
    another type in) that keep a panel within the quotas and the household rule.

    A panel in the current lottery has reduced cost zero, so any swap that raises its weight
    gives an improving panel; the integer programme is needed only when no swap does."""

    def __init__(self, model: _Model, quotas: Sequence[Quota], *, firsts: int = _PAIR_FIRSTS
                 ) -> None:
        self.sizes = model.sizes
        self.firsts = firsts
        self.rows = model.rows
        n_quotas, n_types = model.rows.shape
        features = sorted({q.feature for q in quotas})
        # value[t, f]: the quota row of type t's value of feature f (n_quotas: no quota row)
        value = np.full((n_types, len(features)), n_quotas, dtype=np.int64)
        for r, q in enumerate(quotas):
            f = features.index(q.feature)
            value[model.rows[r] > 0, f] = r
        self.value = value
        self.lower = np.r_[model.lower, -np.inf]
        self.upper = np.r_[model.upper, np.inf]
        house = np.full(n_types, -1, dtype=np.int64)
        for h, row in enumerate(model.household_rows):
            house[row > 0] = h
        self.house = house
        self.n_houses = len(model.household_rows)
        # Pairs of swaps pay only where most quotas are exact (minimum = maximum): there single
        # swaps are rare, while with slack they add weak panels that slow the master down.
        self.pairs = bool(len(model.lower)) and float(np.mean(model.lower == model.upper)) >= 0.5

    def _feasible(self, c: IntArray, counts: FloatArray, out: IntArray, into: IntArray
                  ) -> npt.NDArray[np.bool_]:
        """ok[i, j]: taking one of type out[i] out of ``c`` and one of type into[j] in keeps
        every quota row and household within bounds (rows a swap does not touch must be)."""
        v_out, v_in = self.value[out], self.value[into]
        removable = counts[v_out] - 1 >= self.lower[v_out] - 1e-9
        addable = counts[v_in] + 1 <= self.upper[v_in] + 1e-9
        ok: npt.NDArray[np.bool_] = np.all(
            (v_out[:, None, :] == v_in[None, :, :])
            | (removable[:, None, :] & addable[None, :, :]), axis=2)
        if self.n_houses:
            occupied = np.zeros(self.n_houses + 1)
            np.add.at(occupied, self.house, c)  # the whole panel, not only the candidates
            h_in, h_out = self.house[into], self.house[out]
            free = (h_in < 0) | (occupied[h_in] == 0)
            ok &= free[None, :] | ((h_in[None, :] == h_out[:, None]) & (h_in >= 0)[None, :])
        return ok

    def _household_free(self, c: IntArray, a: int, b: int) -> bool:
        """Whether b may join once a leaves: nobody else of b's household is on the panel."""
        if not self.n_houses or self.house[b] < 0:
            return True
        mates = (self.house == self.house[b]) & (c > 0)
        mates[a] = False
        return not mates.any()

    def _move(self, c: IntArray, counts: FloatArray, a: int, b: int) -> None:
        c[a] -= 1
        c[b] += 1
        counts[self.value[a]] -= 1
        counts[self.value[b]] += 1
        counts[-1] = 0.0

    def _pair(self, c: IntArray, counts: FloatArray, *, weights: FloatArray, out: IntArray,
              into: IntArray, gain: FloatArray) -> tuple[int, int, int, int] | None:
        """The best improving pair of swaps whose second repairs the quota rows the first
        breaks (tight quotas allow few single swaps), among the best first swaps."""
        flat = gain.ravel()
        if flat.size > self.firsts:
            top = np.argpartition(-flat, self.firsts)[:self.firsts]
            order = top[np.argsort(-flat[top])]
        else:
            order = np.argsort(-flat)
        best: tuple[float, tuple[int, int, int, int]] | None = None
        for index in order:
            i, j = divmod(int(index), gain.shape[1])
            a, b = int(out[i]), int(into[j])
            if a == b or not self._household_free(c, a, b):
                continue
            va, vb = self.value[a], self.value[b]
            differ = va != vb
            broken = differ & ((counts[va] - 1 < self.lower[va] - 1e-9)
                               | (counts[vb] + 1 > self.upper[vb] + 1e-9))
            c2, counts2 = c.copy(), counts.copy()
            self._move(c2, counts2, a, b)
            out2 = np.flatnonzero(c2 > 0)
            into2 = np.flatnonzero(c2 < self.sizes)
            if broken.any():
                out2 = out2[np.all(self.value[out2][:, broken] == vb[broken], axis=1)]
                into2 = into2[np.all(self.value[into2][:, broken] == va[broken], axis=1)]
            if not len(out2) or not len(into2):
                continue
            # only an incoming type worth more than the cheapest outgoing one less the first
            # swap's gain can make the pair improve
            into2 = into2[weights[into2] > weights[out2].min() - gain[i, j] + 1e-12]
            if not len(into2):
                continue
            total = gain[i, j] + weights[into2][None, :] - weights[out2][:, None]
            total = np.where(self._feasible(c2, counts2, out2, into2), total, -np.inf)
            k, m = np.unravel_index(int(np.argmax(total)), total.shape)
            value = float(total[k, m])
            if value > 1e-12 and (best is None or value > best[0]):
                best = (value, (a, b, int(out2[k]), int(into2[m])))
        return None if best is None else best[1]

    def improve(self, panel: IntArray, weights: FloatArray, steps: int, *, pairs: bool
                ) -> IntArray:
        """Up to ``steps`` steepest-ascent moves from ``panel`` (a copy is returned): single
        swaps, and with ``pairs`` a pair of swaps when no single swap improves."""
        c = panel.copy()
        counts = np.r_[self.rows @ c, 0.0]
        for _ in range(steps):
            out = np.flatnonzero(c > 0)
            into = np.flatnonzero(c < self.sizes)
            # a single swap improves only by bringing in a type worth more than one going out
            richer = into[weights[into] > weights[out].min() + 1e-12]
            if len(richer):
                gain = weights[richer][None, :] - weights[out][:, None]
                feasible = np.where(self._feasible(c, counts, out, richer), gain, -np.inf)
                i, j = np.unravel_index(int(np.argmax(feasible)), feasible.shape)
                if feasible[i, j] > 1e-12:
                    self._move(c, counts, int(out[i]), int(richer[j]))
                    continue
            gain = weights[into][None, :] - weights[out][:, None]
            pair = (self._pair(c, counts, weights=weights, out=out, into=into, gain=gain)
                    if pairs else None)
            if pair is None:
                break
            self._move(c, counts, pair[0], pair[1])
            self._move(c, counts, pair[2], pair[3])
        return c


class _MasterLP:
    """The primal of one LEXIMIN stage, kept alive in HiGHS across the whole run.

    Column 0 is z; every known panel P adds a column λ_P. Row t (one per active type) is
    Σ_P λ_P·c_{P,t}/n_t − z ≥ 0 while t is unfixed and ≥ its floor once fixed; the last row
    is Σ_P λ_P = 1. Adding panels and fixing types keep the current point feasible, so the
    primal simplex starts each solve from the previous basis."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.columns = 0
        h = _highs()
        h.setOptionValue("presolve", "off")
        # The primal simplex, unscaled and unperturbed: adding panels and fixing types keep
        # the point feasible, and on these degenerate programmes it pivots least this way.
        h.setOptionValue("simplex_strategy", 4)
        h.setOptionValue("simplex_scale_strategy", 0)
        h.setOptionValue("primal_simplex_bound_perturbation_multiplier", 0.0)
        inf = highspy.kHighsInf
        h.addVar(-inf, inf)
        h.changeColCost(0, 1.0)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        for _ in range(n):
            h.addRow(0.0, inf, 1, np.array([0], dtype=np.int32), np.array([-1.0]))
        h.addRow(1.0, 1.0, 0, np.array([], dtype=np.int32), np.array([]))
        self.h = h

    def add(self, shares: FloatArray) -> None:
        """Add one column per panel (``shares[P, t] = c_{P,t}/n_t``)."""
        for row in shares:
            nz = np.flatnonzero(row)
            index = np.r_[nz, self.n].astype(np.int32)
            self.h.addCol(0.0, 0.0, highspy.kHighsInf, len(index), index, np.r_[row[nz], 1.0])
            self.columns += 1

    def target(self, p: FloatArray) -> None:
        """Rows Σ_P λ_P·c_{P,t}/n_t ≥ z·p_t: z = 1 reaches ``p`` (the one-stage decomposition)."""
        for t, share in enumerate(p):
            self.h.changeCoeff(t, 0, -float(share))

    def fix(self, types: IntArray, floor: float) -> None:
        inf = highspy.kHighsInf
        for t in types:
            self.h.changeCoeff(int(t), 0, 0.0)
            self.h.changeRowBounds(int(t), floor, inf)

    def solve(self) -> tuple[FloatArray, float, float]:
        """The type rows' duals y ≥ 0, the convexity row's dual, and z."""
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(
                f"the LEXIMIN master failed: {self.h.modelStatusToString(self.h.getModelStatus())}"
            )
        solution = self.h.getSolution()
        duals = np.asarray(solution.row_dual, dtype=np.float64)
        return -duals[: self.n], float(duals[self.n]), float(solution.col_value[0])

    def distribution(self) -> FloatArray:
        """λ over the panels at the last solve."""
        x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)[1:]
        weights = np.clip(x, 0.0, None)
        weights[weights < 1e-12] = 0.0
        normalised: FloatArray = weights / weights.sum()
        return normalised


def _price(swaps: _Swaps, pricer: _Pricer, panels: Sequence[IntArray], *, lam: FloatArray,
           weights: FloatArray, threshold: float, known: set[bytes],
           starts: int = _SWAP_STARTS) -> list[IntArray]:
    """New panels worth more than ``threshold`` at ``weights`` (none: the stage is optimal).

    Single swaps from the heaviest panels of the lottery first; then pairs of swaps (only the
    best few of those, which are weaker and would crowd the master); then the integer
    programme. ``known`` gains the panels returned."""
    for pairs in (False, True) if swaps.pairs else (False,):
        fresh: dict[bytes, IntArray] = {}
        for j in np.argsort(-lam)[:starts]:
            if lam[j] <= 0:
                break
            better = swaps.improve(panels[j], weights, _SWAP_STEPS, pairs=pairs)
            key = better.tobytes()
            if float(weights @ better) > threshold and key not in known:
                fresh[key] = better
        if fresh:
            found = sorted(fresh.values(), key=lambda c: -float(weights @ c))
            if pairs:
                found = found[:starts]
            known.update(c.tobytes() for c in found)
            return found
    best = pricer.improving(weights, threshold)
    if best is None:
        return []
    if best.tobytes() in known:
        raise RuntimeError("LEXIMIN pricing repeated a known panel")
    known.add(best.tobytes())
    return [best]


def _relaxed_leximin(model: _Model) -> FloatArray | None:
    """The LEXIMIN of the linear relaxation: each type's probability, or None when some type
    gets nothing even there (then the staged method finds who can be selected at all).

    The relaxation drops integrality: one variable x_t ∈ [0, n_t] per type, within the quota
    rows, the household rows and Σ x = k. Its stages are those of the master programme with
    p_t = x_t/n_t in place of the panels' shares: a compact programme solved in a fraction of
    a second. Its optimum is unique and at least as good, stage by stage, as any lottery
    over integer panels."""
    n = len(model.sizes)
    sizes = model.sizes.astype(np.float64)
    h = _highs()
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    h.addVars(n, np.zeros(n), sizes)
    h.addVar(-inf, inf)  # z, column n
    h.changeColCost(n, 1.0)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    blocks = [
        (model.rows, model.lower, model.upper),
        (np.ones((1, n)), np.array([model.k]), np.array([model.k])),
        (model.household_rows, np.zeros(len(model.household_rows)),
         np.ones(len(model.household_rows))),
    ]
    for matrix, lo, hi in blocks:
        for row, a, b in zip(matrix, lo, hi, strict=True):
            nz = np.flatnonzero(row).astype(np.int32)
            h.addRow(float(a), float(b), len(nz), nz, row[nz])
    first = h.getNumRow()
    for t in range(n):
        h.addRow(0.0, inf, 2, np.array([t, n], dtype=np.int32), np.array([1.0 / sizes[t], -1.0]))
    fixed = np.zeros(n, dtype=bool)
    while not fixed.all():
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = h.getSolution()
        z = float(solution.col_value[n])
        if z <= _DUAL_POSITIVE:
            return None
        y = -np.asarray(solution.row_dual, dtype=np.float64)[first:first + n]
        newly = ~fixed & (y > _DUAL_POSITIVE)
        if not newly.any():
            newly = ~fixed & (y >= y[~fixed].max())
        for row in first + np.flatnonzero(newly):
            h.changeCoeff(int(row), n, 0.0)
            h.changeRowBounds(int(row), z, inf)
        fixed |= newly
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)[:n]
    p: FloatArray = np.clip(x / sizes, 0.0, 1.0)
    return p


def _face(model: _Model, counts: FloatArray) -> _Model:
    """The model with every quota row that ``counts`` meets at a bound made exact there.

    A lottery whose mean is ``counts`` can only use panels that meet those rows exactly
    (each panel is within the bound and their mean is on it), so pricing looks nowhere else."""
    value = model.rows @ counts
    lower, upper = model.lower.copy(), model.upper.copy()
    at_min = np.abs(value - lower) < _FACE_TOLERANCE
    at_max = np.abs(value - upper) < _FACE_TOLERANCE
    upper[at_min] = lower[at_min]
    lower[at_max] = upper[at_max]
    return replace(model, lower=lower, upper=upper)


def _cover(model: _Model, swaps: _Swaps, pricer: _Pricer, first: IntArray
           ) -> list[IntArray] | None:
    """Panels of ``model`` that together take someone of every type, or None when some type
    is in none. Each is found by local search for as many not-yet-covered types as possible
    from the last one; the integer programme only when the search adds nobody."""
    n = len(model.sizes)
    rng = np.random.default_rng(0)
    panels = [first]
    covered = first > 0
    while not covered.all():
        # a little noise so that ties between uncovered types break differently each round
        weights = (~covered).astype(np.float64) + rng.random(n) * 1e-3
        found: IntArray | None = swaps.improve(panels[-1], weights, model.k, pairs=swaps.pairs)
        if found is None or not (found[~covered] > 0).any():
            found = pricer.improving(weights, 0.5)
            if found is None:
                return None
        panels.append(found)
        covered |= found > 0
    return panels


def _decomposition(model: _Model, quotas: Sequence[Quota], seed: int
                   ) -> tuple[list[IntArray], FloatArray] | None:
    """LEXIMIN in one stage when the relaxation's optimum is a lottery over integer panels.

    The relaxation's LEXIMIN p* is at least as good as any lottery's; a lottery with
    probabilities p* is therefore the LEXIMIN. One column-generation stage looks for it:
    max z s.t. Σ_P λ_P·c_{P,t}/n_t ≥ z·p*_t, Σ_P λ_P = 1, with pricing restricted to panels on
    p*'s face. z = 1 gives the lottery (its probabilities cannot exceed p* anywhere, since
    both sum to k). When no panel improves before z = 1, p* is not such a lottery and this
    returns None, leaving the staged method to find the LEXIMIN."""
    p = None if model.k == 0 or not len(model.sizes) else _relaxed_leximin(model)
    if p is None:
        return None
    sizes = model.sizes.astype(np.float64)
    face = _face(model, p * sizes)
    pricer = _Pricer(face, seed)
    swaps = _Swaps(face, quotas, firsts=_FACE_PAIR_FIRSTS)
    first = pricer.best(np.zeros(len(sizes)))
    cover = None if first is None else _cover(face, swaps, pricer, first)
    if cover is None:
        return None
    known: dict[bytes, IntArray] = {c.tobytes(): c for c in cover}
    panels = list(known.values())
    lp = _MasterLP(len(sizes))
    lp.target(p)
    lp.add(np.array(panels, dtype=np.float64) / sizes)
    seen = set(known)
    for _ in range(_MAX_ITERATIONS):
        y, y_hat, z = lp.solve()
        if z >= 1.0 - _PRICING_TOLERANCE:
            return panels, lp.distribution()
        fresh = _price(swaps, pricer, panels, lam=lp.distribution(), weights=y / sizes,
                       threshold=y_hat + _PRICING_TOLERANCE, known=seen, starts=_FACE_STARTS)
        if not fresh:
            return None
        panels.extend(fresh)
        lp.add(np.array(fresh, dtype=np.float64) / sizes)
    return None


def check(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    *,
    households: Sequence[Hashable] | None = None,
) -> None:
    """Raise :class:`InfeasibleQuotas` (with the smallest relaxation) when no panel of ``k``
    from ``people`` meets the quotas and the household rule; one integer programme decides."""
    model = _build(people, quotas, k, households)
    _check_obvious(model, quotas)
    if _Pricer(model, 0).best(np.zeros(len(model.sizes))) is None:
        raise _infeasible(model, quotas)


def maximin(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    *,
    households: Sequence[Hashable] | None = None,
    seed: int = 0,
) -> Selection:
    """A distribution over feasible panels with the largest possible minimum selection
    probability: LEXIMIN's first stage. The minimum is LEXIMIN's; the other probabilities
    are whatever that stage's solution gives (not yet raised in turn). Used to report the best
    achievable minimum quickly, and in the benchmark against tools that stop there."""
    return _distribution(people, quotas, k, households=households, seed=seed, stages=1)


def leximin(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    *,
    households: Sequence[Hashable] | None = None,
    seed: int = 0,
) -> Selection:
    """The LEXIMIN distribution over feasible panels of ``k`` from ``people``.

    ``people`` maps each id to its feature values; ``households`` (one label per volunteer, in
    the order of ``people``) allows at most one member per household. ``seed`` drives only the
    solver's random choices; the probabilities do not depend on it.
    Raises :class:`InfeasibleQuotas` when no panel meets the quotas.
    """
    return _distribution(people, quotas, k, households=households, seed=seed, stages=None)


def _distribution(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    *,
    households: Sequence[Hashable] | None,
    seed: int,
    stages: int | None,
    quick: bool = True,
) -> Selection:
    """LEXIMIN's stages, all of them or the first ``stages``.

    For the whole LEXIMIN the relaxation's optimum is tried first (:func:`_decomposition`,
    unless ``quick`` is false); the stages run only when it is not a lottery over integer
    panels."""
    model = _build(people, quotas, k, households)
    _check_obvious(model, quotas)
    if stages is None and quick:
        lottery = _decomposition(model, quotas, seed)
        if lottery is not None:
            everyone = np.arange(len(model.sizes))
            return _selection(model, lottery[0], lottery[1], everyone,
                              np.ones(len(model.sizes), dtype=bool))
    pricer = _Pricer(model, seed)
    found, selectable = _initial_panels(model, pricer, quotas)
    swaps = _Swaps(model, quotas)
    active = np.flatnonzero(selectable)
    sizes = model.sizes[active].astype(np.float64)
    panels = list(found)
    known = {p.tobytes() for p in panels}
    lp = _MasterLP(len(active))
    lp.add(np.array([p[active] for p in panels], dtype=np.float64) / sizes)
    fixed = np.zeros(len(active), dtype=bool)
    weights_full = np.zeros(len(model.sizes))
    done = 0
    for _ in range(_MAX_ITERATIONS):
        if fixed.all() or (stages is not None and done >= stages):
            break
        y, y_hat, z = lp.solve()
        weights_full[:] = 0.0
        weights_full[active] = y / sizes
        fresh = _price(swaps, pricer, panels, lam=lp.distribution(), weights=weights_full,
                       threshold=y_hat + _PRICING_TOLERANCE, known=known)
        if fresh:
            panels.extend(fresh)
            lp.add(np.array([p[active] for p in fresh], dtype=np.float64) / sizes)
            continue
        newly = ~fixed & (y > _DUAL_POSITIVE)
        if not newly.any():
            newly = ~fixed & (y >= y[~fixed].max())
        fixed |= newly
        done += 1
        lp.fix(np.flatnonzero(newly), z)
    else:
        raise RuntimeError("LEXIMIN did not converge")
    return _selection(model, panels, lp.distribution(), active, selectable)


def _selection(model: _Model, panels: Sequence[IntArray], weights: FloatArray,
               active: IntArray, selectable: npt.NDArray[np.bool_]) -> Selection:
    """The :class:`Selection` of the lottery ``weights`` over ``panels``."""
    sizes = model.sizes[active].astype(np.float64)
    shares = np.array([p[active] for p in panels], dtype=np.float64) / sizes
    support = np.flatnonzero(weights)
    per_type = np.zeros(len(model.sizes))
    per_type[active] = weights @ shares
    members: list[list[str]] = [[] for _ in model.sizes]
    for person, t in zip(model.ids, model.type_of, strict=True):
        members[int(t)].append(person)
    compositions = tuple(tuple(int(c) for c in panels[int(j)]) for j in support)
    return Selection(
        probabilities={
            i: float(per_type[t]) for i, t in zip(model.ids, model.type_of, strict=True)
        },
        min_probability=float(per_type[active].min()) if len(active) else 0.0,
        unselectable=tuple(
            i for i, t in zip(model.ids, model.type_of, strict=True) if not selectable[t]
        ),
        types=tuple(tuple(m) for m in members),
        compositions=compositions,
        weights=tuple(float(weights[j]) for j in support),
        panels=tuple(
            tuple(sorted(p for m, c in zip(members, comp, strict=True) for p in m[:c]))
            for comp in compositions
        ),
    )


# ---------------------------------------------------------------------------------------------
# The legacy greedy method


def _legacy_attempt(
    model: _Model, households: npt.NDArray[np.int64] | None, rng: np.random.Generator
) -> list[int] | None:
    person_rows = model.rows[:, model.type_of]  # quota × person
    counts = np.zeros(len(model.lower))
    eligible = np.ones(len(model.ids), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < model.k:
        remaining = person_rows[:, eligible].sum(axis=1)
        short = model.lower - counts
        target = short if (short > 0).any() else model.upper - counts
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(remaining > 0, target / remaining, -np.inf)
        ratio[target <= 0] = -np.inf
        if np.isfinite(ratio).any():
            value = int(np.argmax(ratio))
            candidates = np.flatnonzero(eligible & (person_rows[value] > 0))
        else:
            if (short > 0).any():
                return None
            candidates = np.flatnonzero(eligible)
        if len(candidates) == 0:
            return None
        person = int(rng.choice(candidates))
        chosen.append(person)
        counts += person_rows[:, person]
        eligible[person] = False
        full = counts >= model.upper
        eligible &= ~(person_rows[full] > 0).any(axis=0)
        if households is not None:
            eligible &= households != households[person]
    if (counts < model.lower).any() or (counts > model.upper).any():
        return None
    return chosen


def legacy(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    *,
    households: Sequence[Hashable] | None = None,
    seed: int,
    attempts: int = 1_000,
) -> tuple[str, ...]:
    """One panel by the greedy method used before LEXIMIN.

    Repeatedly take the feature value whose unmet minimum is largest relative to the volunteers
    still available with it (once every minimum is met, the room left under each maximum), and
    pick one of those volunteers uniformly at random; volunteers whose values are full, or whose
    household is already on the panel, drop out. A dead end restarts the draw, up to
    ``attempts`` times. Its selection probabilities are not controlled (see
    :func:`legacy_probabilities`).
    """
    model = _build(people, quotas, k, None)
    _check_obvious(model, quotas)
    house = None
    if households is not None:
        labels: dict[Hashable, int] = {}
        house = np.array([labels.setdefault(h, len(labels)) for h in households], dtype=np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(attempts):
        chosen = _legacy_attempt(model, house, rng)
        if chosen is not None:
            return tuple(sorted(model.ids[i] for i in chosen))
    raise InfeasibleQuotas(f"the greedy method found no panel in {attempts} attempts")


def legacy_probabilities(
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    runs: int,
    seed: int,
    *,
    households: Sequence[Hashable] | None = None,
) -> dict[str, float]:
    """Each volunteer's selection frequency over ``runs`` legacy draws (seeds from ``seed``)."""
    seeds = np.random.SeedSequence(seed).generate_state(runs)
    hits = dict.fromkeys(people, 0)
    for s in seeds:
        for person in legacy(people, quotas, k, households=households, seed=int(s)):
            hits[person] += 1
    return {person: count / runs for person, count in hits.items()}
