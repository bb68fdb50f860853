"""Analysis runs through the database: the vote log read back, the engine's groups agreeing
with Pol.is's, the result JSON the pages read, warm starts, and the participation chart; on
both databases."""

from __future__ import annotations

import csv
import json
import shutil
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from missionboard.analytics.deliberation import VoteTable, analyse
from missionboard.analytics.polis_io import read_polis_export
from missionboard.deliberation import analysis
from missionboard.deliberation.analysis import (
    excluded_statements,
    load_votes,
    participation_over_time,
    prepare_analysis,
    previous_state,
    run_analysis,
    store_analysis,
)
from missionboard.deliberation.models import (
    AnalysisRun,
    Conversation,
    ConversationStatus,
    Participant,
    Statement,
    StatementState,
    Vote,
)
from missionboard.deliberation.polis import import_conversation
from tests import factories
from tests.analytics.test_deliberation import FIXTURES, adjusted_rand_index, polis_groups

BG2050 = FIXTURES / "bg2050-volunteers"


def imported(session: Session, folder: Path = BG2050, *, slug: str | None = None
             ) -> Conversation:
    """A Pol.is export imported into a new mission (or the one there is)."""
    mission = factories.mission(session, f"mission-{slug or folder.name}".replace(".", "-"))
    return import_conversation(session, folder, mission=mission, slug=slug).conversation


def groups_in_db(session: Session, conversation: Conversation) -> dict[int, int | None]:
    return dict(session.execute(select(Participant.number, Participant.group_number).where(
        Participant.conversation_id == conversation.id)).all())


def standing(votes: VoteTable) -> dict[tuple[int, int], int]:
    """The last vote by timestamp per (voter, statement), ties to the higher vote, in plain
    Python (the engine's rule)."""
    latest: dict[tuple[int, int], tuple[int, int]] = {}
    for voter, statement, vote, at in zip(votes.voter.tolist(), votes.statement.tolist(),
                                          votes.vote.tolist(), votes.timestamp.tolist(),
                                          strict=True):
        key = (voter, statement)
        latest[key] = max(latest.get(key, (at, vote)), (at, vote))
    return {key: vote for key, (_, vote) in latest.items()}


# --------------------------------------------------------------------------------------------
# The database path agrees with Pol.is
# --------------------------------------------------------------------------------------------

def test_cold_run_groups_agree_with_polis_through_the_database(session: Session) -> None:
    """Pol.is's own groups (participants-votes.csv) against Participant.group_number after an
    import and a cold run: the same partition (ARI 1.0 measured; the engine's check is the
    same, on the export directly)."""
    conversation = imported(session)
    run = run_analysis(session, conversation, cold=True)
    theirs = {p: int(g) for p, g in polis_groups("bg2050-volunteers").items()}
    ours = groups_in_db(session, conversation)
    both = sorted(p for p in theirs if ours.get(p) is not None)
    assert len(both) >= len(theirs) - 1  # a cold run lacks Pol.is's history for one person
    ari = adjusted_rand_index([theirs[p] for p in both], [ours[p] for p in both])
    assert ari >= 0.95
    assert ari == pytest.approx(1.0)
    assert run.k == 2
    assert run.n_votes == 14_341
    assert run.n_participants == 126
    assert run.result["n_grouped"] == sum(g is not None for g in ours.values())


def test_the_database_run_is_the_engines_run_on_the_export(session: Session) -> None:
    conversation = imported(session)
    run = run_analysis(session, conversation, cold=True)
    export = read_polis_export(BG2050)
    engine = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta)
    assert groups_in_db(session, conversation) == engine.participants
    assert run.result["gic"] == {str(s): v for s, v in
                                 sorted(engine.group_informed_consensus.items())}
    assert [g["size"] for g in run.result["groups"]] == [g.size for g in engine.groups]


def test_load_votes_reads_the_log_in_chunks(session: Session,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every event back, keyed by Pol.is's numbers, however the stream is cut (on
    PostgreSQL the binary COPY, elsewhere the cursor); ``upto`` stops at a vote id."""
    conversation = imported(session)
    export = read_polis_export(BG2050)
    monkeypatch.setattr(analysis, "CHUNK_ROWS", 1_000)
    votes, last = load_votes(session, conversation)
    assert len(votes) == len(export.votes)
    assert last == session.scalar(select(func.max(Vote.id)).where(
        Vote.conversation_id == conversation.id))

    def events(table: VoteTable) -> list[tuple[int, int, int, int]]:
        return sorted(zip(table.voter.tolist(), table.statement.tolist(), table.vote.tolist(),
                          table.timestamp.tolist(), strict=True))

    assert events(votes) == events(export.votes)
    first_id = session.scalar(select(func.min(Vote.id)).where(
        Vote.conversation_id == conversation.id))
    assert first_id is not None
    some, upto = load_votes(session, conversation, upto=first_id + 99)
    assert (len(some), upto) == (100, first_id + 99)
    # Votes went in in time order, so the first 100 ids are the 100 earliest votes.
    assert sorted(some.timestamp.tolist()) == sorted(export.votes.timestamp.tolist())[:100]


def test_no_votes_no_groups(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    session.execute(delete(Vote).where(Vote.conversation_id == conversation.id))
    votes, last = load_votes(session, conversation)
    assert (len(votes), last) == (0, 0)
    run = run_analysis(session, conversation)
    assert (run.k, run.n_votes, run.result["groups"], run.result["n_grouped"]) == (0, 0, [], 0)
    assert set(groups_in_db(session, conversation).values()) == {None}


# --------------------------------------------------------------------------------------------
# The result JSON
# --------------------------------------------------------------------------------------------

REPRESENTATIVE_KEYS = {"statement", "direction", "repness", "repness_test", "p_success",
                       "p_test", "n_success", "n_trials"}
CONSENSUS_KEYS = {"statement", "p_success", "p_test", "n_success", "n_trials"}


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def test_result_json_has_the_pages_shape(session: Session) -> None:
    conversation = imported(session)
    run = run_analysis(session, conversation)
    session.expire(run)
    result = run.result  # as stored and read back
    assert set(result) == {"k", "n_grouped", "silhouettes", "groups", "consensus", "gic",
                           "priorities", "group_votes", "map", "daily"}
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert all(np.isfinite(n) for n in _numbers(result))
    assert result["k"] == len(result["groups"]) == 2
    assert set(result["silhouettes"]) == {"2", "3", "4", "5"}
    for group in result["groups"]:
        assert set(group) == {"id", "size", "representative"}
        for rep in group["representative"]:
            assert set(rep) == REPRESENTATIVE_KEYS
            assert rep["direction"] in {"agree", "disagree"}
            assert 0 <= rep["n_success"] <= rep["n_trials"]
    assert set(result["consensus"]) == {"agree", "disagree"}
    assert all(set(c) == CONSENSUS_KEYS for side in result["consensus"].values() for c in side)
    out, _ = excluded_statements(session, conversation)
    assert len(out) == 55
    assert not {int(s) for s in result["gic"]} & out
    assert not {int(s) for s in result["group_votes"]} & out

    plan = result["map"]
    assert set(plan) == {"statements", "groups", "participants"}
    assert [set(s) for s in plan["statements"][:1]] == [{"statement", "x", "y"}]
    assert [g["size"] for g in plan["groups"]] == [g["size"] for g in result["groups"]]
    assert len(plan["participants"]) == result["n_grouped"]  # fewer than the sample size
    assert {p["group"] for p in plan["participants"]} == {0, 1}


def test_group_votes_count_standing_votes_of_grouped_participants(session: Session) -> None:
    conversation = imported(session)
    result = run_analysis(session, conversation).result
    groups = groups_in_db(session, conversation)
    expected: dict[str, dict[str, dict[str, int]]] = {}
    names = {1: "agree", -1: "disagree", 0: "pass"}
    for (voter, statement), vote in standing(read_polis_export(BG2050).votes).items():
        group = groups[voter]
        if group is None or str(statement) not in result["group_votes"]:
            continue
        cell = expected.setdefault(str(statement), {}).setdefault(
            str(group), {"agree": 0, "disagree": 0, "pass": 0})
        cell[names[vote]] += 1
    got = {s: {g: c for g, c in by_group.items() if any(c.values())}
           for s, by_group in result["group_votes"].items()}
    assert {s: v for s, v in got.items() if v} == expected


def test_the_map_shows_a_fixed_sample_of_at_most_2000(session: Session,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = imported(session)
    monkeypatch.setattr(analysis, "MAP_SAMPLE", 40)
    first = run_analysis(session, conversation).result["map"]["participants"]
    again = run_analysis(session, conversation).result["map"]["participants"]
    assert len(first) == 40
    assert first == again


# --------------------------------------------------------------------------------------------
# Warm and cold
# --------------------------------------------------------------------------------------------

def _first_part(tmp_path: Path, share: float) -> tuple[Path, int]:
    """bg2050's export with only the earliest ``share`` of its votes; the cut-off (ms)."""
    folder = tmp_path / "bg2050-early"
    folder.mkdir()
    shutil.copy(BG2050 / "comments.csv", folder / "comments.csv")
    with (BG2050 / "votes.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    header, body = rows[0], sorted(rows[1:], key=lambda r: int(r[0]))
    cut = int(body[int(len(body) * share)][0])
    with (folder / "votes.csv").open("w", newline="") as file:
        csv.writer(file).writerows([header, *(r for r in body if int(r[0]) < cut)])
    return folder, cut


def _add_votes(session: Session, conversation: Conversation, votes: VoteTable) -> None:
    """Append votes to the log as the vote writer does (Core), joining new voters."""
    people = dict(session.execute(select(Participant.number, Participant.id).where(
        Participant.conversation_id == conversation.id)).all())
    for number in sorted(set(votes.voter.tolist()) - set(people)):
        people[number] = session.execute(insert(Participant).values(
            conversation_id=conversation.id, number=number).returning(Participant.id)
        ).scalar_one()
    statements = dict(session.execute(select(Statement.number, Statement.id).where(
        Statement.conversation_id == conversation.id)).all())
    order = np.argsort(votes.timestamp, kind="stable").tolist()
    session.execute(insert(Vote), [
        {"conversation_id": conversation.id, "participant_id": people[int(votes.voter[i])],
         "statement_id": statements[int(votes.statement[i])], "value": int(votes.vote[i]),
         "cast_at": int(votes.timestamp[i])} for i in order])


def _slice(votes: VoteTable, chosen: np.ndarray[Any, Any]) -> VoteTable:
    return VoteTable(voter=votes.voter[chosen], statement=votes.statement[chosen],
                     vote=votes.vote[chosen], timestamp=votes.timestamp[chosen])


def test_an_update_warm_starts_as_the_engine_does(session: Session, tmp_path: Path) -> None:
    """Import the first 60% of bg2050's votes and analyse; add the rest and analyse again:
    the second run starts from the first's state and finds the groups the engine's
    incremental mode finds on the same votes."""
    folder, cut = _first_part(tmp_path, 0.6)
    conversation = imported(session, folder, slug="bg2050-early")
    first = run_analysis(session, conversation)
    assert first.state is not None
    export = read_polis_export(BG2050)
    late = export.votes.timestamp >= cut
    _add_votes(session, conversation, _slice(export.votes, np.flatnonzero(late)))

    prepared = prepare_analysis(session, conversation)
    assert prepared.warm
    second = store_analysis(session, prepared)
    assert second.n_votes == len(export.votes)
    assert second.last_vote_id > first.last_vote_id

    engine_first = analyse(_slice(export.votes, np.flatnonzero(~late)),
                           moderated_out=export.moderated_out, meta=export.meta)
    engine_second = analyse(export.votes, moderated_out=export.moderated_out,
                            meta=export.meta, previous=engine_first.state)
    in_db = groups_in_db(session, conversation)
    assert in_db == {p: engine_second.participants.get(p) for p in in_db}
    assert second.k == engine_second.k
    cold = prepare_analysis(session, conversation, cold=True)
    assert not cold.warm


def test_changing_fixed_k_makes_the_next_run_cold(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    run_analysis(session, conversation)
    assert previous_state(session, conversation) is not None
    conversation.fixed_k = 3
    session.flush()  # the audit log records the change
    assert previous_state(session, conversation) is None
    run = run_analysis(session, conversation)
    assert run.k == 3
    assert previous_state(session, conversation) is not None  # warm again after that


def test_an_unreadable_state_means_a_cold_run(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    run = run_analysis(session, conversation)
    run.state = b"not a pickle"
    session.flush()
    assert previous_state(session, conversation) is None
    assert not prepare_analysis(session, conversation).warm


def test_pending_statements_are_out_only_when_premoderated(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    statement = session.scalar(select(Statement).where(
        Statement.conversation_id == conversation.id, Statement.number == 5))
    assert statement is not None
    statement.state = StatementState.PENDING
    conversation.premoderate = True
    out, meta = excluded_statements(session, conversation)
    assert 5 in out
    assert meta == frozenset()
    run = run_analysis(session, conversation)
    assert "5" not in run.result["priorities"]
    conversation.premoderate = False
    out, _ = excluded_statements(session, conversation)
    assert 5 not in out
    assert "5" in run_analysis(session, conversation).result["priorities"]


def test_groups_are_written_where_they_changed(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    run_analysis(session, conversation)
    right = groups_in_db(session, conversation)
    wrong = next(p for p, g in right.items() if g is not None)
    participant = session.scalar(select(Participant).where(
        Participant.conversation_id == conversation.id, Participant.number == wrong))
    assert participant is not None
    participant.group_number = 4
    session.flush()
    run_analysis(session, conversation)
    assert participant.group_number == right[wrong]  # the session's object is updated too
    assert groups_in_db(session, conversation) == right
    assert right[0] is None  # the author who never voted


def test_old_runs_are_pruned(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    runs = [run_analysis(session, conversation).id for _ in range(analysis.RUNS_KEPT + 3)]
    kept = session.execute(select(AnalysisRun.id, AnalysisRun.state.is_not(None)).where(
        AnalysisRun.conversation_id == conversation.id).order_by(AnalysisRun.id)).all()
    assert [r.id for r in kept] == runs[-analysis.RUNS_KEPT:]
    assert [bool(r[1]) for r in kept] == [False] * (analysis.RUNS_KEPT - analysis.STATES_KEPT
                                                    ) + [True] * analysis.STATES_KEPT


# --------------------------------------------------------------------------------------------
# Participation over time
# --------------------------------------------------------------------------------------------

def test_participation_over_time_counts_every_day(session: Session) -> None:
    conversation = imported(session)
    days = participation_over_time(session, conversation)
    assert sum(d["votes"] for d in days) == 14_341
    assert sum(d["participants"] for d in days) == 126
    assert sum(d["statements"] for d in days) == 371
    dates = [d["date"] for d in days]
    assert all((b - a).days == 1 for a, b in pairwise(dates))
    assert str(dates[0]) == "2024-09-20"
    assert days[0]["votes"] == 2_400


def test_a_runs_daily_counts_equal_the_vote_logs(session: Session) -> None:
    conversation = imported(session)
    run = run_analysis(session, conversation, cold=True)
    assert run.result["daily"]
    assert participation_over_time(session, conversation, run=run) == \
        participation_over_time(session, conversation)


def test_closed_import_keeps_its_dates(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    assert conversation.status == ConversationStatus.CLOSED
    assert conversation.opened_at is not None
    assert conversation.closed_at is not None
    assert conversation.opened_at.year == conversation.closed_at.year == 2022
