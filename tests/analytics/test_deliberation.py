"""The deliberation engine against Pol.is's own exports, a dense reference and worked examples.

Reference data: ``tests/fixtures/polis/`` — three real Pol.is exports (CC BY 4.0, see
ATTRIBUTION.md there). ``participants-votes.csv`` holds Pol.is's own group of each participant
(``group-id``) and its standing votes as a participants × comments matrix; ``comments.csv`` of
bg2050-volunteers holds Pol.is's group-informed consensus of every comment. Expected values in
the worked examples are computed here in plain Python from the specification's formulas.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from missionboard.analytics import deliberation_matrix
from missionboard.analytics.deliberation import Analysis, VoteTable, analyse
from missionboard.analytics.polis_io import read_polis_export

FIXTURES = Path(__file__).parents[1] / "fixtures" / "polis"
Z90 = 1.2816


def adjusted_rand_index(first: list[object], second: list[object]) -> float:
    """Hubert and Arabie's ARI from the contingency table."""
    pairs = Counter(zip(first, second, strict=True))

    def choose2(counts: Iterable[int]) -> float:
        return sum(n * (n - 1) / 2 for n in counts)

    both = choose2(pairs.values())
    rows, columns = choose2(Counter(first).values()), choose2(Counter(second).values())
    expected = rows * columns / (len(first) * (len(first) - 1) / 2)
    return (both - expected) / ((rows + columns) / 2 - expected)


def polis_groups(name: str) -> dict[int, str]:
    """Pol.is's group per participant it clustered."""
    with (FIXTURES / name / "participants-votes.csv").open(newline="") as file:
        return {int(r["participant"]): r["group-id"] for r in csv.DictReader(file)
                if r["group-id"] != ""}


def analysed(name: str, *, k: int | None = None) -> Analysis:
    export = read_polis_export(FIXTURES / name)
    return analyse(export.votes, k=k, moderated_out=export.moderated_out, meta=export.meta)


def ari_with_polis(name: str, result: Analysis) -> float:
    theirs = polis_groups(name)
    ours = result.participants
    both = sorted(p for p in theirs if ours.get(p) is not None)
    return adjusted_rand_index([theirs[p] for p in both], [ours[p] for p in both])


# --------------------------------------------------------------------------------------------
# Pol.is's exports
# --------------------------------------------------------------------------------------------

def test_bg2050_groups_agree_with_polis() -> None:
    result = analysed("bg2050-volunteers")
    assert result.k == 2
    assert ari_with_polis("bg2050-volunteers", result) >= 0.95


def test_brexit_with_k_fixed_at_two_agrees_with_polis() -> None:
    result = analysed("brexit-consensus", k=2)
    assert result.k == 2
    assert result.silhouettes.keys() == {2}
    assert ari_with_polis("brexit-consensus", result) >= 0.85


def test_brexit_cold_silhouette_prefers_three_groups_as_the_spec_says() -> None:
    # The spec: a clean cold start prefers k = 3 where Pol.is, with its history, settled on 2.
    result = analysed("brexit-consensus")
    assert result.k == 3
    assert list(result.silhouettes) == [2, 3, 4, 5]
    assert max(result.silhouettes, key=lambda k: result.silhouettes[k]) == 3


@pytest.mark.parametrize("name", ["bg2050-volunteers", "brexit-consensus",
                                  "london.youth.policing"])
def test_everyone_grouped_here_was_grouped_by_polis(name: str) -> None:
    # Pol.is's in-conversation set is sticky (early top-ups stay), so it can only be larger.
    result = analysed(name)
    ours = {p for p, g in result.participants.items() if g is not None}
    assert ours <= set(polis_groups(name))
    assert len(ours) >= 0.9 * len(polis_groups(name))


def test_bg2050_group_informed_consensus_equals_polis_export() -> None:
    # Pol.is grouped participants that a cold run does not (its sticky set); their votes move
    # GIC on the comments they voted on. Every other comment must match Pol.is exactly.
    export = read_polis_export(FIXTURES / "bg2050-volunteers")
    result = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta)
    extra = set(polis_groups("bg2050-volunteers")) - {
        p for p, g in result.participants.items() if g is not None}
    touched = {int(s) for v, s in zip(export.votes.voter.tolist(),
                                      export.votes.statement.tolist(), strict=True)
               if v in extra}
    with (FIXTURES / "bg2050-volunteers" / "comments.csv").open(newline="") as file:
        published = {int(r["comment-id"]): float(r["group-informed-consensus"])
                     for r in csv.DictReader(file)}
    compared = [s for s in result.group_informed_consensus if s not in touched]
    assert len(compared) >= 300
    for statement in compared:
        assert result.group_informed_consensus[statement] == pytest.approx(
            published[statement], rel=1e-12)


@pytest.mark.parametrize("name", ["bg2050-volunteers", "brexit-consensus",
                                  "london.youth.policing"])
def test_projection_equals_dense_mean_imputed_pca(name: str) -> None:
    # Independent reference: Pol.is's own standing-vote matrix (participants-votes.csv),
    # moderated-out columns zeroed, nulls replaced by column means, centred, full SVD, then
    # each row's projection on the top two components times √(C / its non-null cells).
    export = read_polis_export(FIXTURES / name)
    result = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta)
    with (FIXTURES / name / "participants-votes.csv").open(newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        rows = list(reader)
    first = header.index("n-disagree") + 1
    columns = [(i, int(h)) for i, h in enumerate(header) if i >= first
               and int(h) in set(result.statements.tolist())]
    zeroed = export.moderated_out | export.meta
    matrix = np.array([[0.0 if c in zeroed else (float(r[i]) if r[i] else np.nan)
                        for i, c in columns] for r in rows])
    observed = ~np.isnan(matrix)
    centred = np.where(observed, matrix, np.nanmean(matrix, axis=0)) - np.nanmean(matrix, 0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = (centred @ vt[:2].T) * np.sqrt(len(columns) / observed.sum(1))[:, None]
    position = {v: i for i, v in enumerate(result.voters.tolist())}
    ours = result.projection[[position[int(r[0])] for r in rows]]
    for j in range(2):
        sign = np.sign(expected[:, j] @ ours[:, j])
        np.testing.assert_allclose(ours[:, j], sign * expected[:, j], atol=1e-9)


def test_sparse_solver_agrees_with_dense_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    dense = analysed("bg2050-volunteers")
    monkeypatch.setattr(deliberation_matrix, "DENSE_CELLS", 0)
    sparse = analysed("bg2050-volunteers")
    np.testing.assert_allclose(sparse.projection, dense.projection, atol=1e-9)
    np.testing.assert_array_equal(sparse.membership, dense.membership)


def test_london_youth_policing_small_edge_case_runs_with_any_k() -> None:
    # 26 participants: the base clusters are individuals; Pol.is's k = 3 came from history.
    for k in (None, 1, 2, 3, 4):
        result = analysed("london.youth.policing", k=k)
        assert result.k == (k or result.k)
        assert sum(g.size for g in result.groups) == int(result.in_conversation.sum())


# --------------------------------------------------------------------------------------------
# The export reader
# --------------------------------------------------------------------------------------------

def test_read_polis_export_reads_votes_comments_and_moderation() -> None:
    folder = FIXTURES / "bg2050-volunteers"
    export = read_polis_export(folder)
    votes, statements, moderated_out = export.votes, export.statements, export.moderated_out
    with (folder / "votes.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    with (folder / "comments.csv").open(newline="", encoding="utf-8") as file:
        comments = list(csv.DictReader(file))
    assert len(votes) == len(rows)
    assert votes.voter[5] == int(rows[5]["voter-id"])
    assert votes.vote[5] == int(rows[5]["vote"])
    assert len(statements) == len(comments)
    assert moderated_out == {int(c["comment-id"]) for c in comments if c["moderated"] == "-1"}
    assert export.meta == {int(c["comment-id"]) for c in comments if c["is-meta"] == "true"}
    assert statements[12].text == "I have lived in BG/Warren County all my life."
    assert read_polis_export(FIXTURES / "brexit-consensus").meta == frozenset()


def test_read_polis_export_names_a_missing_column(tmp_path: Path) -> None:
    (tmp_path / "votes.csv").write_text("timestamp,comment-id,vote\n1,2,1\n")
    with pytest.raises(ValueError, match="voter-id"):
        read_polis_export(tmp_path)


# --------------------------------------------------------------------------------------------
# Worked example: two opposed blocs of six
# --------------------------------------------------------------------------------------------

BLOC_A = [f"a{i}" for i in range(1, 7)]
BLOC_B = [f"b{i}" for i in range(1, 7)]
# Statement → (vote of bloc A, vote of bloc B), then individual exceptions.
STANCE = {0: (1, -1), 1: (1, -1), 2: (1, -1), 3: (1, -1),
          4: (-1, 1), 5: (-1, 1), 6: (-1, 1), 7: (-1, 1), 8: (1, 1), 9: (-1, -1)}
EXCEPTIONS = {("a6", 1): 0, ("a5", 3): -1, ("b6", 5): 0, ("b1", 2): 1, ("b2", 8): 0,
              ("a1", 9): 1}


def worked_votes() -> dict[tuple[str, int], int]:
    votes = {}
    for voter in BLOC_A + BLOC_B:
        for statement, (a, b) in STANCE.items():
            votes[voter, statement] = EXCEPTIONS.get(
                (voter, statement), a if voter in BLOC_A else b)
    return votes


def table(votes: dict[tuple[str, int], int]) -> VoteTable:
    items = sorted(votes.items())
    return VoteTable(voter=np.array([v for (v, _), _ in items]),
                     statement=np.array([s for (_, s), _ in items]),
                     vote=np.array([x for _, x in items]),
                     timestamp=np.arange(len(items)) * 1000)


def z1(success: int, n: int) -> float:
    return 2 * math.sqrt(n + 1) * ((success + 1) / (n + 1) - 0.5)


def z2(s1: int, s2: int, n1: int, n2: int) -> float:
    p1, p2 = (s1 + 1) / (n1 + 1), (s2 + 1) / (n2 + 1)
    pooled = (s1 + s2 + 2) / (n1 + n2 + 2)
    if pooled == 1:
        return 0.0
    return (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / (n1 + 1) + 1 / (n2 + 1)))


def hand_stats(votes: dict[tuple[Any, int], int], group: list[Any],
               rest: list[Any], statement: int) -> dict[str, Any]:
    """The spec's §1.6 statistics for one group and statement, in plain Python."""
    def count(members: list[Any], value: int | None) -> int:
        return sum(1 for m in members if (m, statement) in votes
                   and (value is None or votes[m, statement] == value))

    na, nd, ns = count(group, 1), count(group, -1), count(group, None)
    rest_a, rest_d, rest_s = count(rest, 1), count(rest, -1), count(rest, None)
    pa, pd = (na + 1) / (ns + 2), (nd + 1) / (ns + 2)
    stats: dict[str, Any] = {"na": na, "nd": nd, "pa": pa, "pd": pd,
             "ra": pa / ((rest_a + 1) / (rest_s + 2)), "rd": pd / ((rest_d + 1) / (rest_s + 2)),
             "pat": z1(na, ns), "pdt": z1(nd, ns),
             "rat": z2(na, rest_a, ns, rest_s), "rdt": z2(nd, rest_d, ns, rest_s)}
    agree = stats["rat"] > stats["rdt"]
    letter = "a" if agree else "d"
    stats.update(direction="agree" if agree else "disagree", repness=stats[f"r{letter}"],
                 repness_test=stats[f"r{letter}t"], p_success=stats[f"p{letter}"],
                 p_test=stats[f"p{letter}t"])
    return stats


def hand_selection(votes: dict[tuple[Any, int], int], group: list[Any],
                   rest: list[Any], statements: list[int]) -> list[int]:
    """The spec's §1.6 selection, in plain Python."""
    stats = {s: hand_stats(votes, group, rest, s) for s in statements}
    best = None
    for s in statements:
        x = stats[s]
        if x["na"] == x["nd"] == 0:
            continue
        if best is None:
            replace = x["pat"] > Z90 or (x["ra"] > 1 and x["pa"] > 0.5)
        elif stats[best]["ra"] > 1:
            b = stats[best]
            replace = x["ra"] * x["rat"] * x["pa"] * x["pat"] > (
                b["ra"] * b["rat"] * b["pa"] * b["pat"])
        else:
            replace = x["pa"] * x["pat"] > stats[best]["pa"] * stats[best]["pat"]
        if replace:
            best = s
    qualifying = [s for s in statements
                  if (stats[s]["rat"] > Z90 and stats[s]["pat"] > Z90)
                  or (stats[s]["rdt"] > Z90 and stats[s]["pdt"] > Z90)]
    if not qualifying:
        return [best] if best is not None else [
            max(statements, key=lambda s: max(stats[s]["rat"], stats[s]["rdt"]))]
    ranked = sorted((s for s in qualifying if s != best), key=lambda s: -(
        stats[s]["repness"] * stats[s]["repness_test"] * stats[s]["p_success"]
        * stats[s]["p_test"]))
    top = ([best] if best is not None else []) + ranked
    top = top[:5]
    return ([s for s in top if stats[s]["direction"] == "agree"]
            + [s for s in top if stats[s]["direction"] == "disagree"])


def test_worked_example_finds_the_two_blocs() -> None:
    result = analyse(table(worked_votes()))
    assert result.k == 2
    groups = {g: {p for p, q in result.participants.items() if q == g} for g in (0, 1)}
    assert sorted(map(sorted, groups.values())) == [BLOC_A, BLOC_B]


def test_worked_example_repness_of_one_cell_by_hand() -> None:
    # Bloc A on statement 0: all six agree (na 6, nd 0, ns 6); bloc B all disagree
    # (NA 0, ND 6, NS 6). pa = 7/8; ra = (7/8)/(1/8) = 7; pat = 2·√7·(7/7 − ½) = √7;
    # rat: p₁ = 7/7, p₂ = 1/7, p̂ = 8/14, so (6/7)/√((8/14)(6/14)(2/7)).
    result = analyse(table(worked_votes()))
    group_a = result.participants["a1"]
    assert group_a is not None
    rep = {r.statement: r for r in result.groups[group_a].representative}[0]
    assert rep.direction == "agree"
    assert rep.p_success == pytest.approx(7 / 8, rel=1e-12)
    assert rep.repness == pytest.approx(7.0, rel=1e-12)
    assert rep.p_test == pytest.approx(math.sqrt(7), rel=1e-12)
    assert rep.repness_test == pytest.approx(
        (6 / 7) / math.sqrt((8 / 14) * (6 / 14) * (2 / 7)), rel=1e-12)
    assert (rep.n_success, rep.n_trials) == (6, 6)


def test_worked_example_representative_statements_follow_the_spec() -> None:
    votes = worked_votes()
    result = analyse(table(votes))
    for group in result.groups:
        members = sorted(p for p, g in result.participants.items() if g == group.id)
        rest = sorted(p for p, g in result.participants.items()
                      if g is not None and g != group.id)
        expected = hand_selection(votes, members, rest, sorted(STANCE))
        assert [r.statement for r in group.representative] == expected
        assert len(group.representative) <= 5
        for rep in group.representative:
            hand = hand_stats(votes, members, rest, cast(int, rep.statement))
            assert rep.direction == hand["direction"]
            for field in ("repness", "repness_test", "p_success", "p_test"):
                assert getattr(rep, field) == pytest.approx(hand[field], rel=1e-12)
        directions = [r.direction for r in group.representative]
        assert directions == sorted(directions)  # agrees before disagrees


def test_worked_example_consensus_by_hand() -> None:
    # Statement 8: 11 of 12 agree, one passes: pa = 12/14, pat = 2·√13·(12/13 − ½).
    # Statement 9: 11 of 12 disagree, one agrees: the same numbers for pd and pdt.
    # Every other statement splits the blocs: pa ≤ 8/14 with pat ≤ 2·√13·(8/13 − ½) < 1.2816.
    result = analyse(table(worked_votes()))
    assert [c.statement for c in result.consensus.agree] == [8]
    assert [c.statement for c in result.consensus.disagree] == [9]
    for chosen in (result.consensus.agree[0], result.consensus.disagree[0]):
        assert chosen.p_success == pytest.approx(12 / 14, rel=1e-12)
        assert chosen.p_test == pytest.approx(2 * math.sqrt(13) * (12 / 13 - 0.5), rel=1e-12)
        assert (chosen.n_success, chosen.n_trials) == (11, 12)


def test_worked_example_group_informed_consensus_by_hand() -> None:
    # Statement 8: bloc A 6 agrees of 6 → 7/8; bloc B 5 of 6 (b2 passed) → 6/8.
    # Statement 0: bloc A 6 of 6 → 7/8; bloc B 0 of 6 → 1/8.
    result = analyse(table(worked_votes()))
    assert result.group_informed_consensus[8] == pytest.approx(7 / 8 * 6 / 8, rel=1e-12)
    assert result.group_informed_consensus[0] == pytest.approx(7 / 8 * 1 / 8, rel=1e-12)


def test_worked_example_priorities_by_hand() -> None:
    # Statement 8 over all twelve grouped: A = 11, D = 0, S = 12, P = 1.
    result = analyse(table(worked_votes()), meta={9})
    extremity = dict(zip(result.statements.tolist(), result.extremity.tolist(), strict=True))
    a, p = 12 / 14, 2 / 14
    expected = (a * (1 - p) * (1 + extremity[8]) * (1 + 8 * 2 ** (-12 / 5))) ** 2
    assert result.priorities[8] == pytest.approx(expected, rel=1e-12)
    assert result.priorities[9] == 49.0
    assert extremity[9] == 0.0


def test_moderated_out_statements_are_never_reported() -> None:
    result = analyse(table(worked_votes()), moderated_out={8, 0})
    reported = {r.statement for g in result.groups for r in g.representative}
    reported |= {c.statement for c in result.consensus.agree + result.consensus.disagree}
    assert not reported & {0, 8}
    assert not result.group_informed_consensus.keys() & {0, 8}
    assert not result.priorities.keys() & {0, 8}
    assert result.components[[0, 8]].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_meta_statements_are_zeroed() -> None:
    # A zeroed statement is a pass from everyone: pa = 1/14, so never consensus.
    result = analyse(table(worked_votes()), meta={8})
    assert 8 not in {c.statement for c in result.consensus.agree}
    assert 8 in result.group_informed_consensus


# --------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------

def test_to_json_is_the_cli_object() -> None:
    result = analysed("bg2050-volunteers")
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert list(data) == ["participants", "k", "groups", "consensus",
                          "group_informed_consensus"]
    assert len(data["participants"]) == 126
    assert set(data["participants"].values()) == {0, 1, None}
    assert data["k"] == 2
    assert [g["id"] for g in data["groups"]] == [0, 1]
    assert sum(g["size"] for g in data["groups"]) == 107
    for group in data["groups"]:
        for rep in group["representative"]:
            assert list(rep) == ["statement", "direction", "repness", "repness_test",
                                 "p_success", "p_test"]
            assert rep["direction"] in {"agree", "disagree"}
    assert list(data["consensus"]) == ["agree", "disagree"]
    assert all(0 < v < 1 for v in data["group_informed_consensus"].values())


def test_votes_must_be_minus_one_zero_or_one() -> None:
    with pytest.raises(ValueError, match="votes must be"):
        VoteTable(voter=np.array([1]), statement=np.array([1]), vote=np.array([2]),
                  timestamp=np.array([0]))
    with pytest.raises(ValueError, match="one length"):
        VoteTable(voter=np.array([1, 2]), statement=np.array([1]), vote=np.array([1]),
                  timestamp=np.array([0]))
    with pytest.raises(TypeError, match="ids"):
        VoteTable(voter=np.array([1.5]), statement=np.array([1]), vote=np.array([1]),
                  timestamp=np.array([0]))


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be"):
        analyse(table(worked_votes()), k=0)


def test_no_votes_no_groups() -> None:
    empty = VoteTable(voter=np.zeros(0, dtype=np.int64), statement=np.zeros(0, dtype=np.int64),
                      vote=np.zeros(0, dtype=np.int8), timestamp=np.zeros(0))
    result = analyse(empty)
    assert (result.k, result.groups, result.participants) == (0, (), {})


def test_one_voter_is_one_group() -> None:
    votes = VoteTable(voter=np.array([7, 7]), statement=np.array([1, 2]),
                      vote=np.array([1, -1]), timestamp=np.array([0, 1]))
    result = analyse(votes)
    assert result.participants == {7: 0}
    assert result.k == 1


def test_in_conversation_threshold_and_top_up() -> None:
    # 20 statements; 16 voters with 7+ votes are in; then 4 more would not be topped up.
    votes = {(f"v{i:02}", s): 1 if (i + s) % 3 else -1 for i in range(16) for s in range(8)}
    votes |= {(f"w{i}", s): 1 for i in range(4) for s in range(3)}
    votes |= {("x", s): -1 for s in range(20)}
    result = analyse(table(votes))
    assert not any(result.in_conversation[np.char.startswith(
        result.voters.astype(str), "w")])
    # With only 10 heavy voters, the top-up admits the next heaviest, all ties included.
    few = {(f"v{i:02}", s): 1 if (i + s) % 3 else -1 for i in range(10) for s in range(8)}
    few |= {(f"w{i}", s): 1 for i in range(6) for s in range(3)}
    few |= {("y", 0): 1}
    result = analyse(table(few))
    grouped = {str(v) for v, g in zip(result.voters, result.in_conversation, strict=True) if g}
    assert grouped == {f"v{i:02}" for i in range(10)} | {f"w{i}" for i in range(6)}


def test_group_numbers_are_consecutive_and_sizes_add_up() -> None:
    result = analysed("bg2050-volunteers")
    assert [g.id for g in result.groups] == list(range(result.k))
    assert [g.size for g in result.groups] == [
        int((result.membership == g).sum()) for g in range(result.k)]
    assert all(a.size >= 1 for a in result.groups)
    assert all(b - a == 1 for a, b in pairwise(g.id for g in result.groups))


def standing(votes: VoteTable) -> dict[tuple[int, int], int]:
    """The last vote by timestamp per voter and statement, in plain Python."""
    latest: dict[tuple[int, int], tuple[int, int]] = {}
    for voter, statement, vote, time in zip(votes.voter.tolist(), votes.statement.tolist(),
                                            votes.vote.tolist(), votes.timestamp.tolist(),
                                            strict=True):
        if (voter, statement) not in latest or time >= latest[voter, statement][0]:
            latest[voter, statement] = (time, vote)
    return {cell: vote for cell, (_, vote) in latest.items()}


def test_bg2050_representative_statements_and_consensus_follow_the_spec() -> None:
    # The plain-Python reference on a real conversation (371 comments, 55 moderated out,
    # one meta comment, zeroed: a pass from everyone).
    export = read_polis_export(FIXTURES / "bg2050-volunteers")
    result = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta)
    votes = standing(export.votes)
    voters = {v for v, _ in votes}
    for voter in voters:
        for statement in export.meta:
            votes[voter, statement] = 0
    candidates = sorted({s for _, s in votes} - export.moderated_out)
    grouped = {p: g for p, g in result.participants.items() if g is not None}
    for group in result.groups:
        members = sorted(p for p, g in grouped.items() if g == group.id)
        rest = sorted(p for p, g in grouped.items() if g != group.id)
        hand = hand_selection(votes, members, rest, candidates)
        assert [r.statement for r in group.representative] == hand
        for rep in group.representative:
            expected = hand_stats(votes, members, rest, cast(int, rep.statement))
            assert rep.repness_test == pytest.approx(expected["repness_test"], rel=1e-12)
    everyone = sorted(voters)
    for direction, value in (("agree", 1), ("disagree", -1)):
        scored = []
        for statement in candidates:
            seen = sum(1 for p in everyone if (p, statement) in votes)
            success = sum(1 for p in everyone if votes.get((p, statement)) == value)
            p = (success + 1) / (seen + 2)
            if p > 0.5 and z1(success, seen) > Z90:
                scored.append((-p * z1(success, seen), statement))
        expected = [s for _, s in sorted(scored)][:5]
        assert [c.statement for c in getattr(result.consensus, direction)] == expected
