"""The "what works" library: finished trials' findings, the most secure first, with their
filters and download; drafts and trials still recruiting stay out."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from missionboard.trials import results, service, what_works
from missionboard.trials.models import Trial, TrialStatus
from tests.factories import World
from tests.trials.results_builders import Built, with_results
from tests.web.conftest import check_page, sign_in


def _finish(session: Session, trial: Trial) -> None:
    for status in (TrialStatus.RECRUITING, TrialStatus.ANALYSING, TrialStatus.FINISHED):
        service.set_status(session, trial=trial, status=status)


@pytest.fixture
def finished(session: Session, world: World) -> Built:
    made = with_results(session, world.mission, effect=8.0, schools=16)
    _finish(session, made.trial)
    session.commit()
    return made


def test_the_library_shows_a_finished_trial_and_its_evidence(
        client: TestClient, session: Session, finished: Built, world: World) -> None:
    summary = results.evidence_summary(session, finished.trial)
    assert summary.has_results
    assert summary.security is not None
    html = check_page(client.get("/what-works"))
    assert finished.trial.title in html
    assert summary.headline in html
    assert summary.security.text in html
    mission_html = check_page(client.get(f"/missions/{world.mission.slug}/what-works"))
    assert summary.headline in mission_html
    other = check_page(client.get("/missions/other-mission/what-works"))
    assert finished.trial.title not in other
    assert f"/missions/{world.mission.slug}/what-works" in check_page(
        client.get(f"/missions/{world.mission.slug}"))


def test_trials_still_running_are_not_in_the_library(
        client: TestClient, session: Session, world: World) -> None:
    made = with_results(session, world.mission, slug="running", effect=8.0)
    session.commit()
    assert made.trial.status == TrialStatus.REGISTERED
    assert "running" not in {e.trial.slug for e in what_works.entries(
        session, service.list_trials(session))}
    assert made.trial.title not in check_page(client.get("/what-works"))


def test_the_filters(client: TestClient, session: Session, finished: Built) -> None:
    entry, = what_works.entries(session, [finished.trial])
    title = finished.trial.title
    assert title in check_page(client.get(f"/what-works?min_padlocks={entry.padlocks}"))
    if entry.padlocks < 5:
        assert title not in check_page(
            client.get(f"/what-works?min_padlocks={entry.padlocks + 1}"))
    assert title in check_page(client.get(f"/what-works?direction={entry.direction}"))
    others = {"positive", "negative", "unclear"} - {entry.direction}
    for direction in others:
        assert title not in check_page(client.get(f"/what-works?direction={direction}"))
    for bad in ("min_padlocks=6", "min_padlocks=x", "direction=best"):
        response = client.get(f"/what-works?{bad}")
        assert 400 <= response.status_code < 500, bad


def test_the_direction_follows_the_interval(session: Session, world: World) -> None:
    made = with_results(session, world.mission, slug="nothing", effect=0.0, schools=16,
                        seed=5)
    _finish(session, made.trial)
    entry, = what_works.entries(session, [made.trial])
    primary = entry.summary.primary
    assert primary is not None
    assert primary.estimate is not None
    e = primary.estimate
    expected = ("unclear" if e.ci_low <= 0 <= e.ci_high
                else "positive" if e.effect > 0 else "negative")
    assert entry.direction == expected


def test_the_download(client: TestClient, session: Session, finished: Built) -> None:
    response = client.get("/what-works.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == what_works.CSV_HEADER
    entry, = what_works.entries(session, [finished.trial])
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["trial"].endswith(f"/trials/{finished.trial.slug}")
    assert row["finding"] == entry.summary.headline
    assert int(row["padlocks"]) == entry.padlocks


def test_a_draft_missions_trial_is_seen_only_by_its_editors(
        client: TestClient, session: Session, world: World) -> None:
    made = with_results(session, world.draft_mission, slug="hidden", effect=8.0)
    _finish(session, made.trial)
    session.commit()
    assert made.trial.title not in check_page(client.get("/what-works"))
    assert "hidden" not in client.get("/what-works.csv").text
    sign_in(client, world.admin)
    assert made.trial.title in check_page(client.get("/what-works"))
    assert "hidden" not in client.get("/what-works.csv").text
