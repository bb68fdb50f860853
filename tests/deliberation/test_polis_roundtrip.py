"""Pol.is exports into the database and back out: everything that goes in comes out, and a
broken export changes nothing; on both databases."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.analytics.polis_io import read_polis_export
from missionboard.deliberation.analysis import run_analysis
from missionboard.deliberation.models import (
    Conversation,
    ModerationEvent,
    Participant,
    Participation,
    Statement,
    StatementState,
)
from missionboard.deliberation.polis import export_conversation, import_conversation
from missionboard.errors import ValidationFailed
from tests import factories
from tests.analytics.test_deliberation import FIXTURES, adjusted_rand_index, polis_groups
from tests.deliberation.test_analysis import groups_in_db, imported, standing

NAMES = ["bg2050-volunteers", "brexit-consensus", "london.youth.policing"]


@pytest.mark.parametrize("name", NAMES)
def test_export_gives_back_what_was_imported(session: Session, tmp_path: Path,
                                             name: str) -> None:
    conversation = imported(session, FIXTURES / name)
    run_analysis(session, conversation, cold=True)
    export_conversation(session, conversation, tmp_path / "out")
    original, again = read_polis_export(FIXTURES / name), read_polis_export(tmp_path / "out")

    assert standing(again.votes) == standing(original.votes)
    assert len(again.votes) == len(original.votes)  # superseded votes too
    assert again.statements.keys() == original.statements.keys()
    for number, statement in original.statements.items():
        back = again.statements[number]
        assert (back.text, back.moderated, back.is_meta, back.is_seed, back.author,
                back.timestamp) == (statement.text, statement.moderated, statement.is_meta,
                                    statement.is_seed, statement.author, statement.timestamp)
    assert again.groups == {p: g for p, g in groups_in_db(session, conversation).items()
                            if g is not None}
    assert again.summary["topic"] == original.summary["topic"]
    assert again.summary["voters"] == str(len({*original.votes.voter.tolist()}))
    assert again.group_informed_consensus.keys() <= again.statements.keys()


def test_bg2050_export_carries_polis_groups(session: Session, tmp_path: Path) -> None:
    conversation = imported(session)
    run_analysis(session, conversation, cold=True)
    export_conversation(session, conversation, tmp_path)
    ours = read_polis_export(tmp_path).groups
    theirs = polis_groups("bg2050-volunteers")
    both = sorted(set(ours) & set(theirs))
    assert adjusted_rand_index([theirs[p] for p in both], [ours[p] for p in both]) == 1.0


def test_import_keeps_numbers_authors_seeds_and_moderation(session: Session) -> None:
    conversation = imported(session)
    assert (conversation.title, conversation.question) == (
        "Together, we'll build the BG of 2050.", "Together, we'll build the BG of 2050.")
    assert conversation.description.startswith("In the next 25 years")
    assert conversation.participation == Participation.ANONYMOUS
    assert conversation.premoderate  # no votes on unmoderated comments
    statements = {s.number: s for s in session.scalars(select(Statement).where(
        Statement.conversation_id == conversation.id))}
    assert len(statements) == 371
    assert sum(s.state == StatementState.REJECTED for s in statements.values()) == 55
    assert sum(s.is_seed for s in statements.values()) == 25
    assert sum(s.is_meta for s in statements.values()) == 1
    assert statements[2].author is not None
    assert statements[2].author.number == 0
    assert statements[2].created_at.year == 2024
    events = session.scalar(select(func.count()).select_from(ModerationEvent).join(Statement)
                            .where(Statement.conversation_id == conversation.id))
    assert events == 371  # every decision taken on Pol.is, logged as imported
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "import",
                                                    AuditEntry.row_id == str(conversation.id)))
    assert audit is not None
    assert audit.summary is not None
    assert "14,341 votes" in audit.summary


def test_an_author_who_never_voted_is_a_participant(session: Session) -> None:
    conversation = imported(session, FIXTURES / "london.youth.policing")
    numbers = set(session.scalars(select(Participant.number).where(
        Participant.conversation_id == conversation.id)))
    assert 0 in numbers
    assert len(numbers) == 27


def _broken(tmp_path: Path, *, row: int, column: str, value: str,
            name: str = "london.youth.policing") -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(FIXTURES / name, folder)
    with (folder / "votes.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    rows[row - 1][rows[0].index(column)] = value
    with (folder / "votes.csv").open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    return folder


@pytest.mark.parametrize(("column", "value", "problem"), [
    ("comment-id", "999", "comment 999 is not in comments.csv"),
    ("vote", "3", "is not a vote"),
    ("voter-id", "x", "is not a whole number"),
])
def test_a_broken_export_names_file_row_and_column_and_writes_nothing(
        session: Session, tmp_path: Path, column: str, value: str, problem: str) -> None:
    mission = factories.mission(session, "broken")
    folder = _broken(tmp_path, row=7, column=column, value=value)
    with pytest.raises(ValidationFailed) as caught:
        import_conversation(session, folder, mission=mission)
    text = " ".join(f"{e.field} {e.row} {e.message}" for e in caught.value.errors)
    assert "votes.csv" in text
    assert "row 7" in text or " 7 " in text
    assert column in text
    assert problem in text
    assert session.scalar(select(func.count()).select_from(Conversation)) == 0
    assert session.scalar(select(func.count()).select_from(Participant)) == 0


def test_a_missing_file_is_named(session: Session, tmp_path: Path) -> None:
    mission = factories.mission(session, "broken")
    folder = tmp_path / "empty"
    folder.mkdir()
    shutil.copy(FIXTURES / "london.youth.policing" / "votes.csv", folder)
    with pytest.raises(ValidationFailed) as caught:
        import_conversation(session, folder, mission=mission)
    assert caught.value.errors[0].field == "comments.csv"


def test_a_taken_slug_is_refused(session: Session) -> None:
    mission = factories.mission(session, "twice")
    import_conversation(session, FIXTURES / "london.youth.policing", mission=mission)
    with pytest.raises(ValidationFailed) as caught:
        import_conversation(session, FIXTURES / "brexit-consensus", mission=mission,
                            slug="london-youth-policing")
    assert caught.value.errors[0].field == "slug"
    assert "taken" in caught.value.errors[0].message


def test_votes_on_unmoderated_comments_mean_no_premoderation(session: Session,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "unmoderated"
    shutil.copytree(FIXTURES / "london.youth.policing", folder)
    with (folder / "comments.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    at = rows[0].index("moderated")
    first = rows[0].index("comment-id")
    for row in rows[1:]:
        if row[first] == "1":
            row[at] = "0"
    with (folder / "comments.csv").open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    conversation = imported(session, folder)
    assert not conversation.premoderate
    run = run_analysis(session, conversation)
    assert "1" in run.result["priorities"]  # shown on Pol.is, so analysed
