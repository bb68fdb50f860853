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
through the dual

    min ŷ − Σ_{fixed t} v_t·y_t  s.t.  Σ_t y_t·c_{P,t}/n_t ≤ ŷ for every known panel P,
    Σ_{unfixed t} y_t = 1,  y ≥ 0,

priced by the integer programme max_c Σ_t (y_t/n_t)·c_t over the quota constraints (HiGHS).
When pricing finds no panel above ŷ, the unfixed types with positive dual weight are fixed at
z (complementary slackness: no optimal λ can raise them). The dual is one HiGHS model kept
alive for the whole run: a new panel adds a row, fixing types changes costs and one row, and
each solve starts from the last basis. λ is read from the panel rows' multipliers at the end.
With a household rule, everyone is their own type and each household gets a row Σ c ≤ 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

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
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PRICING_TOLERANCE = 1e-7
_DUAL_POSITIVE = 1e-7
_MAX_ITERATIONS = 100_000


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

    def best(self, weights: FloatArray) -> IntArray | None:
        """The composition maximising ``weights · c``, or None when there is none."""
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), weights)
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
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


class _DualLP:
    """The restricted dual of one LEXIMIN stage, kept alive in HiGHS across the whole run.

    Columns are y_t for the active types and ŷ; row 0 is Σ_{unfixed t} y_t = 1 and every
    known panel P adds the row Σ_t y_t·c_{P,t}/n_t − ŷ ≤ 0. Fixing types changes their cost
    to −v_t and drops them from row 0, so each solve starts from the previous basis."""

    def __init__(self, n: int) -> None:
        self.n = n
        h = _highs()
        h.setOptionValue("presolve", "off")
        inf = highspy.kHighsInf
        h.addVars(n + 1, np.r_[np.zeros(n), -inf], np.full(n + 1, inf))
        h.changeColsCost(n + 1, np.arange(n + 1, dtype=np.int32), np.r_[np.zeros(n), 1.0])
        h.addRow(1.0, 1.0, n, np.arange(n, dtype=np.int32), np.ones(n))
        self.h = h

    def add(self, shares: FloatArray) -> None:
        """Add one row per panel (``shares[P, t] = c_{P,t}/n_t``): its nonzeros, then −ŷ."""
        inf = highspy.kHighsInf
        for row in shares:
            nz = np.flatnonzero(row)
            index = np.r_[nz, self.n].astype(np.int32)
            self.h.addRow(-inf, 0.0, len(index), index, np.r_[row[nz], -1.0])

    def fix(self, types: IntArray, floor: float) -> None:
        self.h.changeColsCost(len(types), types.astype(np.int32), np.full(len(types), -floor))
        for t in types:
            self.h.changeCoeff(0, int(t), 0.0)

    def solve(self) -> tuple[FloatArray, float]:
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(
                f"the restricted dual failed: {self.h.modelStatusToString(self.h.getModelStatus())}"
            )
        x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return x[: self.n], float(x[self.n])

    def distribution(self) -> FloatArray:
        """λ over the panels: the multipliers of their rows at the last solve."""
        duals = -np.asarray(self.h.getSolution().row_dual, dtype=np.float64)[1:]
        weights = np.clip(duals, 0.0, None)
        weights[weights < 1e-12] = 0.0
        normalised: FloatArray = weights / weights.sum()
        return normalised


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
    model = _build(people, quotas, k, households)
    _check_obvious(model, quotas)
    pricer = _Pricer(model, seed)
    found, selectable = _initial_panels(model, pricer, quotas)
    active = np.flatnonzero(selectable)
    sizes = model.sizes[active].astype(np.float64)
    panels = list(found)
    lp = _DualLP(len(active))
    lp.add(np.array([p[active] for p in panels], dtype=np.float64) / sizes)
    fixed = np.zeros(len(active), dtype=bool)
    floor = np.zeros(len(active))
    weights_full = np.zeros(len(model.sizes))
    weights = np.full(len(panels), 1.0 / len(panels))
    for _ in range(_MAX_ITERATIONS):
        if fixed.all():
            break
        y, y_hat = lp.solve()
        weights_full[:] = 0.0
        weights_full[active] = y / sizes
        best = pricer.best(weights_full)
        if best is not None and float(weights_full @ best) > y_hat + _PRICING_TOLERANCE:
            panels.append(best)
            lp.add((best[active] / sizes)[None, :])
            continue
        z = y_hat - float(floor[fixed] @ y[fixed])
        newly = ~fixed & (y > _DUAL_POSITIVE)
        if not newly.any():
            newly = ~fixed & (y >= y[~fixed].max())
        floor[newly] = z
        fixed |= newly
        weights = lp.distribution()
        lp.fix(np.flatnonzero(newly), z)
    else:
        raise RuntimeError("LEXIMIN did not converge")
    shares = np.array([p[active] for p in panels], dtype=np.float64) / sizes
    support = np.flatnonzero(weights)
    per_type = np.zeros(len(model.sizes))
    per_type[active] = weights @ shares
    members: list[list[str]] = [[] for _ in model.sizes]
    for person, t in zip(model.ids, model.type_of, strict=True):
        members[int(t)].append(person)
    compositions = tuple(tuple(int(c) for c in panels[j]) for j in support)
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
