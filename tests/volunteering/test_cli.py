"""``missionboard postcodes import`` / ``lookup`` and ``missionboard volunteering purge``,
run as an operator would, against a real database of each backend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from missionboard.cli import app
from missionboard.db.base import utcnow
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.volunteering.models import Opportunity, PostcodeCentroid, Signup
from tests import factories
from tests.volunteering import builders

runner = CliRunner()


@pytest.fixture
def cli_db(backend: str, tmp_path: Path) -> str:
    from tests.conftest import fresh_database_url

    url = fresh_database_url(backend, tmp_path, "missionboard_cli_volunteering")
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    return url


def _text(output: str) -> str:
    return " ".join(output.split())


def _centroids(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            return int(session.scalar(select(func.count()).select_from(PostcodeCentroid)) or 0)
    finally:
        engine.dispose()


def test_an_onspd_file_is_imported_and_looked_up(cli_db: str, tmp_path: Path) -> None:
    file = tmp_path / "ONSPD_NOV_2026_UK.csv"
    file.write_text("pcd,pcds,rgn,lat,long\n"
                    "LS1 4AP,LS1 4AP,E12000003,53.796,-1.548\n"
                    "LS1 5AB,LS1 5AB,E12000003,53.798,-1.552\n"
                    "ZE1 0AA,ZE1 0AA,S99999999,99.999999,0.000000\n", encoding="utf-8")
    done = runner.invoke(app, ["postcodes", "import", str(file), "--area-column", "rgn",
                               "--database-url", cli_db])
    assert done.exit_code == 0, done.output
    assert "Loaded 2 postcodes from ONSPD_NOV_2026_UK.csv: 2 unit postcodes and 0 outward " \
           "codes; skipped 1 without a place." in _text(done.stdout)
    found = runner.invoke(app, ["postcodes", "lookup", "ls1 9zz", "--database-url", cli_db])
    assert found.exit_code == 0, found.output
    assert "LS1: 53.797000, -1.550000, area E12000003 (the outward code's centre" in \
        _text(found.stdout)
    unknown = runner.invoke(app, ["postcodes", "lookup", "EH1 1YZ", "--database-url", cli_db])
    assert unknown.exit_code == 1
    assert "We do not know where EH1 1YZ is" in _text(unknown.output)


def test_a_code_point_open_file_without_a_header(cli_db: str, tmp_path: Path) -> None:
    file = tmp_path / "nr.csv"
    file.write_text('"NR14 7PZ",10,651409,313177,"E92000001"\n', encoding="utf-8")
    done = runner.invoke(app, ["postcodes", "import", str(file), "--no-header",
                               "--postcode-column", "1", "--easting-column", "3",
                               "--northing-column", "4", "--database-url", cli_db])
    assert done.exit_code == 0, done.output
    looked = runner.invoke(app, ["postcodes", "lookup", "NR147PZ", "--database-url", cli_db])
    assert _text(looked.stdout).startswith("NR14 7PZ: 52.65")


def test_a_bad_file_names_row_and_column_and_loads_nothing(cli_db: str, tmp_path: Path
                                                          ) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("pcds,lat,long\nLS1 4AP,53.796,-1.548\nLS1 5AB,53.8,west\n"
                    "BAD,53.8,-1.5\n", encoding="utf-8")
    failed = runner.invoke(app, ["postcodes", "import", str(file), "--database-url", cli_db])
    assert failed.exit_code == 1
    text = _text(failed.output)
    assert "2 error(s): nothing was imported" in text
    assert "3 │ long │ 'west' is not a number" in text
    assert "4 │ pcds │ 'BAD' is not a UK postcode or outward code" in text
    assert _centroids(cli_db) == 0
    missing = runner.invoke(app, ["postcodes", "import", str(file), "--latitude-column",
                                  "latitude", "--database-url", cli_db])
    assert missing.exit_code == 1
    assert "The file has no column 'latitude'" in _text(missing.output)


def test_purge_waits_for_the_retention_date(cli_db: str) -> None:
    engine = create_db_engine(cli_db)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            builders.centroids(session)
            made = builders.opportunity(session, factories.mission(session, "health"),
                                        retention_months=1)
            builders.sign_up(session, made)
            made.ends_on = utcnow().date() - dt.timedelta(days=1)
    finally:
        engine.dispose()
    today = utcnow().date()
    first = runner.invoke(app, ["volunteering", "purge", "--today", today.isoformat(),
                                "--database-url", cli_db])
    assert first.exit_code == 0, first.output
    assert "garden: closed (its end date has passed)" in _text(first.stdout)
    assert "No opportunity's retention date is before" in _text(first.stdout)
    later = (today + dt.timedelta(days=40)).isoformat()
    done = runner.invoke(app, ["volunteering", "purge", "--today", later,
                               "--database-url", cli_db])
    assert done.exit_code == 0, done.output
    assert "garden: deleted the personal data of 1 sign-ups and 0 logged hours" in \
        _text(done.stdout)
    engine = create_db_engine(cli_db)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            assert session.scalar(select(func.count()).select_from(Signup)) == 0
            assert session.scalars(select(Opportunity.signed_up)).one() == 1
    finally:
        engine.dispose()
    bad = runner.invoke(app, ["volunteering", "purge", "--today", "soon",
                              "--database-url", cli_db])
    assert bad.exit_code == 1
