"""LEXIMIN panel selection against brute-force enumeration and its invariances."""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from missionboard.analytics import sortition
from missionboard.analytics.sortition import (
    InfeasibleQuotas,
    Quota,
    Selection,
    check,
    legacy,
    legacy_probabilities,
    leximin,
    maximin,
)

People = dict[str, dict[str, str]]


def _pool(n: int, seed: int) -> People:
    rng = np.random.default_rng(seed)
    return {
        f"p{i:02d}": {"gender": str(rng.choice(["woman", "man"])),
                      "age": str(rng.choice(["young", "middle", "old"]))}
        for i in range(n)
    }


def _meets(
    panel: Sequence[str],
    people: Mapping[str, Mapping[str, str]],
    quotas: Sequence[Quota],
    k: int,
    households: Mapping[str, Hashable] | None = None,
) -> bool:
    if len(panel) != k or len(set(panel)) != k:
        return False
    for q in quotas:
        count = sum(people[p].get(q.feature) == q.value for p in panel)
        if not q.min <= count <= q.max:
            return False
    return households is None or len({households[p] for p in panel}) == k


def _brute_force_maximin(
    people: People, quotas: Sequence[Quota], k: int,
    households: Mapping[str, Hashable] | None = None,
) -> tuple[float, set[str]]:
    """Enumerate every feasible panel; maximise the smallest probability among selectable people."""
    ids = list(people)
    panels = [p for p in itertools.combinations(ids, k) if _meets(p, people, quotas, k, households)]
    selectable = sorted({i for p in panels for i in p})
    member = np.array([[i in p for p in panels] for i in selectable], dtype=float)
    n_panels = len(panels)
    result = linprog(
        np.concatenate([np.zeros(n_panels), [-1.0]]),
        A_ub=np.hstack([-member, np.ones((len(selectable), 1))]),
        b_ub=np.zeros(len(selectable)),
        A_eq=np.concatenate([np.ones(n_panels), [0.0]])[None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * n_panels + [(None, None)],
        method="highs",
    )
    assert result.status == 0
    return float(-result.fun), set(ids) - set(selectable)


QUOTAS = [
    Quota("gender", "woman", 2, 2),
    Quota("gender", "man", 2, 2),
    Quota("age", "young", 1, 2),
    Quota("age", "middle", 1, 2),
    Quota("age", "old", 0, 1),
]


def _check_support(selection: Selection, people: People, quotas: Sequence[Quota], k: int,
                   households: Mapping[str, Hashable] | None = None) -> None:
    assert math.isclose(sum(selection.weights), 1.0, abs_tol=1e-9)
    assert all(w > 0 for w in selection.weights)
    for panel in selection.panels:
        assert _meets(panel, people, quotas, k, households)
    for seed in range(20):
        assert _meets(selection.draw(seed), people, quotas, k, households)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_minimum_matches_brute_force_and_probabilities_sum_to_k(seed: int) -> None:
    people = _pool(10, seed)
    selection = leximin(people, QUOTAS, 4)
    expected_min, unselectable = _brute_force_maximin(people, QUOTAS, 4)
    assert selection.min_probability == pytest.approx(expected_min, abs=1e-6)
    assert set(selection.unselectable) == unselectable
    assert sum(selection.probabilities.values()) == pytest.approx(4, abs=1e-6)
    _check_support(selection, people, QUOTAS, 4)


def test_household_rule_matches_brute_force() -> None:
    people = _pool(10, 4)
    houses = [i // 2 for i in range(10)]
    by_id = dict(zip(people, houses, strict=True))
    quotas = [Quota("gender", "woman", 1, 3), Quota("age", "young", 1, 3)]
    selection = leximin(people, quotas, 4, households=houses)
    expected_min, unselectable = _brute_force_maximin(people, quotas, 4, by_id)
    assert selection.min_probability == pytest.approx(expected_min, abs=1e-6)
    assert set(selection.unselectable) == unselectable
    assert sum(selection.probabilities.values()) == pytest.approx(4, abs=1e-6)
    _check_support(selection, people, quotas, 4, by_id)


def test_interchangeable_people_get_k_over_n() -> None:
    people = {f"p{i}": {"gender": "woman"} for i in range(12)}
    selection = leximin(people, [Quota("gender", "woman", 0, 5)], 5)
    for p in selection.probabilities.values():
        assert p == pytest.approx(5 / 12, abs=1e-9)
    assert selection.unselectable == ()


def test_someone_in_no_feasible_panel_gets_zero_and_is_reported() -> None:
    people = _pool(10, 1) | {"outsider": {"gender": "other", "age": "young"}}
    quotas = [*QUOTAS, Quota("gender", "other", 0, 0)]
    selection = leximin(people, quotas, 4)
    assert selection.unselectable == ("outsider",)
    assert selection.probabilities["outsider"] == 0.0
    assert selection.min_probability > 0
    assert sum(selection.probabilities.values()) == pytest.approx(4, abs=1e-6)


def test_a_value_with_too_few_people_is_named() -> None:
    people = {f"p{i}": {"gender": "woman" if i < 2 else "man"} for i in range(8)}
    quota = Quota("gender", "woman", 3, 4)
    with pytest.raises(InfeasibleQuotas, match="gender=woman") as caught:
        leximin(people, [quota], 4)
    assert caught.value.quotas == (quota,)


def test_minimums_adding_up_beyond_k_are_named() -> None:
    people = {f"p{i}": {"gender": "woman" if i < 5 else "man"} for i in range(10)}
    quotas = [Quota("gender", "woman", 3, 5), Quota("gender", "man", 3, 5)]
    with pytest.raises(InfeasibleQuotas, match="minimums for gender"):
        leximin(people, quotas, 4)


def test_an_infeasible_programme_proposes_the_smallest_relaxation() -> None:
    # Every woman is young, but the panel wants 3 women and at most 1 young person.
    people = {f"w{i}": {"gender": "woman", "age": "young"} for i in range(4)} | {
        f"m{i}": {"gender": "man", "age": "old"} for i in range(4)
    }
    quotas = [Quota("gender", "woman", 3, 4), Quota("age", "young", 0, 1)]
    with pytest.raises(InfeasibleQuotas, match="smallest relaxation") as caught:
        leximin(people, quotas, 4)
    relaxations = caught.value.relaxations
    total = sum(q.min - r.min + r.max - q.max for r in relaxations for q in [r.quota])
    assert total == 2
    assert {r.quota for r in relaxations} <= set(quotas)


def test_check_refuses_what_leximin_refuses_and_passes_what_it_solves() -> None:
    # The same infeasible pool as above, then the same pool with the age quota relaxed.
    people = {f"w{i}": {"gender": "woman", "age": "young"} for i in range(4)} | {
        f"m{i}": {"gender": "man", "age": "old"} for i in range(4)
    }
    quotas = [Quota("gender", "woman", 3, 4), Quota("age", "young", 0, 1)]
    with pytest.raises(InfeasibleQuotas, match="smallest relaxation") as caught:
        check(people, quotas, 4)
    assert sum(r.quota.min - r.min + r.max - r.quota.max for r in caught.value.relaxations) == 2
    relaxed = [quotas[0], Quota("age", "young", 0, 3)]
    check(people, relaxed, 4)
    assert leximin(people, relaxed, 4).min_probability > 0


def test_draws_follow_the_probabilities() -> None:
    people = _pool(10, 2)
    selection = leximin(people, QUOTAS, 4)
    runs = 2_000
    counts = dict.fromkeys(people, 0)
    for seed in range(runs):
        for person in selection.draw(seed):
            counts[person] += 1
    assert selection.draw(7) == selection.draw(7)
    for person, p in selection.probabilities.items():
        se = math.sqrt(max(p * (1 - p), 1e-12) / runs)
        assert abs(counts[person] / runs - p) <= 4 * se + 1e-9, person


def test_legacy_draws_feasible_panels() -> None:
    people = _pool(20, 5)
    quotas = [Quota("gender", "woman", 2, 3), Quota("gender", "man", 2, 3),
              Quota("age", "old", 1, 2)]
    for seed in range(10):
        assert _meets(legacy(people, quotas, 5, seed=seed), people, quotas, 5)
    assert legacy(people, quotas, 5, seed=3) == legacy(people, quotas, 5, seed=3)
    probabilities = legacy_probabilities(people, quotas, 5, runs=200, seed=1)
    assert sum(probabilities.values()) == pytest.approx(5)


@st.composite
def _feasible_problem(draw: st.DrawFn) -> tuple[People, list[Quota], int]:
    n = draw(st.integers(5, 10))
    k = draw(st.integers(2, min(4, n - 1)))
    genders = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    ages = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    people = {f"v{i}": {"g": genders[i], "h": ages[i]} for i in range(n)}
    panel = draw(st.permutations(list(people)))[:k]
    quotas = []
    for feature, values in (("g", "ab"), ("h", "xyz")):
        for value in values:
            count = sum(people[p][feature] == value for p in panel)
            quotas.append(Quota(feature, value, max(count - 1, 0), count + 1))
    return people, quotas, k


@settings(max_examples=20, deadline=None)
@given(problem=_feasible_problem(), order=st.randoms(use_true_random=False))
def test_relabelling_people_changes_no_probability(
    problem: tuple[People, list[Quota], int], order: object
) -> None:
    people, quotas, k = problem
    ids = list(people)
    shuffled = ids.copy()
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    rename = {old: f"r{n}" for n, old in enumerate(shuffled)}
    relabelled = {rename[i]: people[i] for i in shuffled}
    before = leximin(people, quotas, k).probabilities
    after = leximin(relabelled, quotas, k, seed=5).probabilities
    for i in ids:
        assert after[rename[i]] == pytest.approx(before[i], abs=1e-6)


@settings(max_examples=20, deadline=None)
@given(problem=_feasible_problem())
def test_duplicating_every_volunteer_keeps_at_least_half_the_minimum(
    problem: tuple[People, list[Quota], int],
) -> None:
    people, quotas, k = problem
    doubled = people | {f"{i}-copy": features for i, features in people.items()}
    original = leximin(people, quotas, k)
    twice = leximin(doubled, quotas, k)
    assert twice.min_probability >= original.min_probability / 2 - 1e-6
    assert sum(twice.probabilities.values()) == pytest.approx(k, abs=1e-6)


def _brute_force_leximin(people: People, quotas: Sequence[Quota], k: int) -> list[float]:
    """Every feasible panel enumerated; each stage maximises the floor of the unfixed people,
    then fixes those who cannot rise above it (one LP each), until everyone is fixed."""
    ids = list(people)
    panels = [p for p in itertools.combinations(ids, k) if _meets(p, people, quotas, k)]
    member = np.array([[i in p for p in panels] for i in ids], dtype=float)
    n_panels, n = len(panels), len(ids)
    selectable = member.sum(axis=1) > 0
    fixed: dict[int, float] = {i: 0.0 for i in range(n) if not selectable[i]}

    def solve(objective: np.ndarray, floor: float | None) -> tuple[float, np.ndarray]:
        rows, bounds = [], []
        for i in range(n):
            row = np.concatenate([-member[i], [0.0]])
            if i in fixed:
                bounds.append(-fixed[i] + 1e-9)
            elif floor is None:
                row[-1] = 1.0
                bounds.append(0.0)
            else:
                bounds.append(-floor + 1e-9)
            rows.append(row)
        result = linprog(objective, A_ub=np.array(rows), b_ub=np.array(bounds),
                         A_eq=np.concatenate([np.ones(n_panels), [0.0]])[None, :], b_eq=[1.0],
                         bounds=[(0, None)] * n_panels + [(None, None)], method="highs")
        assert result.status == 0
        return float(-result.fun), result.x

    while len(fixed) < n:
        z, _ = solve(np.concatenate([np.zeros(n_panels), [-1.0]]), None)
        for i in [i for i in range(n) if i not in fixed]:
            best, _ = solve(np.concatenate([-member[i], [0.0]]), z)
            if best <= z + 1e-7:
                fixed[i] = z
    return sorted(fixed.values())


TIGHT = [
    Quota("gender", "woman", 2, 2),
    Quota("gender", "man", 2, 2),
    Quota("age", "young", 1, 1),
    Quota("age", "middle", 2, 2),
    Quota("age", "old", 1, 1),
]


@pytest.mark.parametrize(("seed", "quotas"), [(5, QUOTAS), (6, TIGHT), (7, TIGHT)])
def test_every_probability_matches_a_brute_force_leximin(seed: int,
                                                         quotas: list[Quota]) -> None:
    people = _pool(11, seed)
    expected = _brute_force_leximin(people, quotas, 4)
    found = sorted(leximin(people, quotas, 4).probabilities.values())
    assert found == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 6])
def test_maximin_reaches_leximins_minimum(seed: int) -> None:
    people = _pool(11, seed)
    quick = maximin(people, TIGHT, 4)
    expected_min, _ = _brute_force_maximin(people, TIGHT, 4)
    assert quick.min_probability == pytest.approx(expected_min, abs=1e-6)
    assert quick.min_probability == pytest.approx(
        leximin(people, TIGHT, 4).min_probability, abs=1e-6)
    assert sum(quick.probabilities.values()) == pytest.approx(4, abs=1e-6)
    _check_support(quick, people, TIGHT, 4)


@given(seed=st.integers(0, 10_000), steps=st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_local_search_keeps_panels_feasible_and_never_loses_weight(seed: int,
                                                                   steps: int) -> None:
    """The pricing moves (single swaps, and pairs that repair tight quotas) stay feasible."""
    people = _pool(14, seed)
    try:
        model = sortition._build(people, TIGHT, 4, None)
        start = sortition._Pricer(model, 0).best(np.zeros(len(model.sizes)))
    except InfeasibleQuotas:
        return
    if start is None:
        return
    weights = np.random.default_rng(seed).random(len(model.sizes))
    swaps = sortition._Swaps(model, TIGHT)
    for pairs in (False, True):
        found = swaps.improve(start, weights, steps, pairs=pairs)
        assert found.sum() == 4
        assert (found >= 0).all()
        assert (found <= model.sizes).all()
        counts = model.rows @ found
        assert (counts >= model.lower).all()
        assert (counts <= model.upper).all()
        assert weights @ found >= weights @ start - 1e-12


@given(seed=st.integers(0, 10_000), steps=st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_local_search_keeps_the_household_rule(seed: int, steps: int) -> None:
    """With exact quotas and households of two, the pairs of swaps never seat two people of
    one household (the first swap of a pair is checked too, not only the repair)."""
    people = _pool(14, seed)
    houses = [i // 2 for i in range(14)]
    try:
        model = sortition._build(people, TIGHT, 4, houses)
        start = sortition._Pricer(model, 0).best(np.zeros(len(model.sizes)))
    except InfeasibleQuotas:
        return
    if start is None:
        return
    weights = np.random.default_rng(seed).random(len(model.sizes))
    swaps = sortition._Swaps(model, TIGHT)
    found = swaps.improve(start, weights, steps, pairs=True)
    assert (model.household_rows @ found <= 1).all()
    counts = model.rows @ found
    assert (counts >= model.lower).all()
    assert (counts <= model.upper).all()


# The relaxation's optimum, decomposed in one stage, and the stages when it cannot be

#: Found by a search over small random pools: the relaxation's LEXIMIN gives everyone more
#: than any lottery over integer panels can, so only the stages find the LEXIMIN.
GAP_PEOPLE: People = {
    f"p{i}": dict(zip("abc", values, strict=True))
    for i, values in enumerate(["100", "001", "101", "100", "011", "110", "110", "000", "111"])
}
GAP_QUOTAS = [
    Quota("a", "0", 1, 2), Quota("a", "1", 0, 2),
    Quota("b", "0", 1, 1), Quota("b", "1", 0, 2),
    Quota("c", "0", 0, 2), Quota("c", "1", 1, 3),
]


def _model(people: People, quotas: Sequence[Quota], k: int) -> sortition._Model:
    return sortition._build(people, quotas, k, None)


@pytest.mark.parametrize(("seed", "quotas"), [(5, QUOTAS), (6, TIGHT), (8, QUOTAS)])
def test_the_relaxations_optimum_is_decomposed_into_the_leximin(seed: int,
                                                                quotas: list[Quota]) -> None:
    people = _pool(11, seed)
    assert sortition._decomposition(_model(people, quotas, 4), quotas, 0) is not None
    quick = leximin(people, quotas, 4)
    staged = sortition._distribution(people, quotas, 4, households=None, seed=0, stages=None,
                                     quick=False)
    for i in people:
        assert quick.probabilities[i] == pytest.approx(staged.probabilities[i], abs=1e-6)
    assert sorted(quick.probabilities.values()) == pytest.approx(
        _brute_force_leximin(people, quotas, 4), abs=1e-6)
    _check_support(quick, people, quotas, 4)


def test_when_the_relaxations_optimum_is_no_lottery_the_stages_find_the_leximin() -> None:
    model = _model(GAP_PEOPLE, GAP_QUOTAS, 2)
    relaxed = sortition._relaxed_leximin(model)
    assert relaxed is not None
    assert sortition._decomposition(model, GAP_QUOTAS, 0) is None
    expected = _brute_force_leximin(GAP_PEOPLE, GAP_QUOTAS, 2)
    selection = leximin(GAP_PEOPLE, GAP_QUOTAS, 2)
    assert sorted(selection.probabilities.values()) == pytest.approx(expected, abs=1e-6)
    # the relaxation promised more than any lottery can give: at the first place where its
    # sorted probabilities differ from the LEXIMIN's, they are higher
    promised = sorted(float(relaxed[t]) for t in model.type_of)
    first = next(i for i, (a, b) in enumerate(zip(promised, expected, strict=True))
                 if abs(a - b) > 1e-6)
    assert promised[first] > expected[first]
    _check_support(selection, GAP_PEOPLE, GAP_QUOTAS, 2)


@st.composite
def _three_features(draw: st.DrawFn) -> tuple[People, list[Quota], int]:
    n = draw(st.integers(5, 9))
    k = draw(st.integers(2, 4))
    rows = draw(st.lists(st.tuples(*[st.sampled_from("01")] * 3), min_size=n, max_size=n))
    people = {f"v{i}": dict(zip("abc", row, strict=True)) for i, row in enumerate(rows)}
    quotas = []
    for feature in "abc":
        for value in "01":
            low = draw(st.integers(0, 1))
            quotas.append(Quota(feature, value, low, low + draw(st.integers(0, 2))))
    return people, quotas, k


@settings(max_examples=40, deadline=None)
@given(problem=_three_features())
def test_leximin_matches_brute_force_whichever_way_it_is_found(
    problem: tuple[People, list[Quota], int],
) -> None:
    people, quotas, k = problem
    try:
        selection = leximin(people, quotas, k)
    except InfeasibleQuotas:
        assert not any(_meets(p, people, quotas, k) for p in itertools.combinations(people, k))
        return
    assert sorted(selection.probabilities.values()) == pytest.approx(
        _brute_force_leximin(people, quotas, k), abs=1e-6)
    assert sum(selection.probabilities.values()) == pytest.approx(k, abs=1e-6)
    _check_support(selection, people, quotas, k)
