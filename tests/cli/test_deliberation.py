"""``missionboard deliberation import / export / recompute``, run as a user would, against a
real database of each backend."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from missionboard.analytics.polis_io import read_polis_export
from missionboard.cli import app
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.deliberation.models import (
    AnalysisRun,
    Conversation,
    ConversationStatus,
    Participant,
)
from tests import factories
from tests.analytics.test_deliberation import FIXTURES

runner = CliRunner()
BG2050 = FIXTURES / "bg2050-volunteers"


@pytest.fixture
def cli_db(backend: str, tmp_path: Path) -> str:
    """A migrated database with one published mission, ``health``."""
    from tests.conftest import fresh_database_url

    url = fresh_database_url(backend, tmp_path, "missionboard_cli_deliberation")
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    engine = create_db_engine(url)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            factories.mission(session, "health")
    finally:
        engine.dispose()
    return url


def _text(output: str) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(output.split())


def _count(url: str, model: type) -> int:
    engine = create_db_engine(url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_import_recompute_export(cli_db: str, tmp_path: Path) -> None:
    imported = runner.invoke(app, ["deliberation", "import", str(BG2050), "--mission",
                                   "health", "--format", "polis", "--database-url", cli_db])
    assert imported.exit_code == 0, imported.output
    assert "371 statements (316 accepted, 55 moderated out" in _text(imported.stdout)
    assert "126 participants, 14,341 votes" in _text(imported.stdout)
    assert "Analysed: 2 groups, 107 people grouped" in _text(imported.stdout)
    assert _count(cli_db, Conversation) == 1
    assert _count(cli_db, AnalysisRun) == 1

    nothing = runner.invoke(app, ["deliberation", "recompute", "--database-url", cli_db])
    assert nothing.exit_code == 0, nothing.output
    assert "No conversation is due" in _text(nothing.stdout)
    warm = runner.invoke(app, ["deliberation", "recompute", "bg2050-volunteers",
                               "--database-url", cli_db])
    assert warm.exit_code == 0, warm.output
    assert "bg2050-volunteers: 14,341 votes, 2 groups" in _text(warm.stdout)
    assert "warm" in _text(warm.stdout)
    cold = runner.invoke(app, ["deliberation", "recompute", "bg2050-volunteers", "--cold",
                               "--database-url", cli_db])
    assert "cold" in _text(cold.stdout)
    assert _count(cli_db, AnalysisRun) == 3

    out = tmp_path / "out"
    exported = runner.invoke(app, ["deliberation", "export", "bg2050-volunteers", str(out),
                                   "--database-url", cli_db])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in out.iterdir()) == [
        "comments.csv", "participants-votes.csv", "summary.csv", "votes.csv"]
    again = read_polis_export(out)
    assert len(again.votes) == 14_341
    assert len(set(again.groups.values())) == 2


def test_a_broken_export_is_refused_whole(cli_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(FIXTURES / "london.youth.policing", folder)
    with (folder / "votes.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    rows[4][rows[0].index("comment-id")] = "999"
    with (folder / "votes.csv").open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    result = runner.invoke(app, ["deliberation", "import", str(folder), "--mission", "health",
                                 "--database-url", cli_db])
    assert result.exit_code == 1
    assert "votes.csv" in _text(result.output)
    assert "comment-id" in _text(result.output)
    assert "comment 999 is not in comments.csv" in _text(result.output)
    assert "nothing was imported" in _text(result.output)
    assert _count(cli_db, Conversation) == 0
    assert _count(cli_db, Participant) == 0


def test_mistakes_are_errors(cli_db: str, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        result = runner.invoke(app, ["deliberation", *args, "--database-url", cli_db])
        assert result.exit_code == 1, result.output
        return _text(result.output)

    assert "no mission" in run("import", str(BG2050), "--mission", "nowhere")
    assert "Unknown format" in run("import", str(BG2050), "--mission", "health",
                                   "--format", "csv")
    assert "No conversation" in run("export", "nothing", str(tmp_path / "out"))
    assert "No conversation" in run("recompute", "nothing")
    assert "not both" in run("recompute", "something", "--loop")


def test_recompute_does_what_is_due(cli_db: str) -> None:
    result = runner.invoke(app, ["deliberation", "import", str(FIXTURES / "brexit-consensus"),
                                 "--mission", "health", "--slug", "brexit", "--title",
                                 "Brexit", "--database-url", cli_db])
    assert result.exit_code == 0, result.output
    engine = create_db_engine(cli_db)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            conversation = session.scalars(select(Conversation)).one()
            assert (conversation.slug, conversation.title) == ("brexit", "Brexit")
            conversation.status = ConversationStatus.OPEN
            conversation.fixed_k = 2
    finally:
        engine.dispose()
    due = runner.invoke(app, ["deliberation", "recompute", "--database-url", cli_db])
    assert due.exit_code == 0, due.output
    assert "brexit: 5,312 votes, 2 groups" in _text(due.stdout)
    assert "cold" in _text(due.stdout)  # fixed_k changed since the last run
