"""``missionboard panel purge``, run as the daily job would, against a real database of each
backend: personal data goes once the retention date has passed, and not before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from missionboard.cli import app
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.panels.models import PanelAddress, Volunteer
from tests import factories
from tests.panels import builders

runner = CliRunner()


@pytest.fixture
def cli_db(backend: str, tmp_path: Path) -> str:
    """A migrated database with a panel of 10 volunteers, kept until 30 June 2027."""
    from tests.conftest import fresh_database_url

    url = fresh_database_url(backend, tmp_path, "missionboard_cli_panels")
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    engine = create_db_engine(url)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            builders.with_pool(session, factories.mission(session, "health"), volunteers=10)
    finally:
        engine.dispose()
    return url


def _personal(url: str) -> list[tuple[str, ...]]:
    engine = create_db_engine(url)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            people = session.execute(select(Volunteer.name, Volunteer.email, Volunteer.phone))
            places = session.execute(select(PanelAddress.line1, PanelAddress.postcode))
            return [tuple(r) for r in [*people.all(), *places.all()] if any(r)]
    finally:
        engine.dispose()


def test_purge_waits_for_the_retention_date(cli_db: str) -> None:
    early = runner.invoke(app, ["panel", "purge", "--today", "2027-06-30",
                                "--database-url", cli_db])
    assert early.exit_code == 0, early.output
    assert "No panel's retention date is before 2027-06-30" in " ".join(early.stdout.split())
    assert len(_personal(cli_db)) == 10 + 80
    done = runner.invoke(app, ["panel", "purge", "--today", "2027-07-01",
                               "--database-url", cli_db])
    assert done.exit_code == 0, done.output
    assert "health-panel: deleted the personal data of 10 volunteers and 80 addresses" in \
        " ".join(done.stdout.split())
    assert _personal(cli_db) == []
    bad = runner.invoke(app, ["panel", "purge", "--today", "soon", "--database-url", cli_db])
    assert bad.exit_code == 1
