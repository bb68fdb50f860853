"""The adoption tracker through the pages and the API: a mission team's journey (the
programme, its units and adoption records, uploads all or nothing naming row and column, one
adoption by hand); the public page with its chart spec and tables, the download, the mission's
list and the links from the mission and the trial; programmes of draft missions seen only by
the mission's editors; and ``GET /api/v1/adoption/{slug}``."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.trials import adoption
from missionboard.trials.adoption_models import AdoptionProgramme, AdoptionRecord
from tests.factories import World
from tests.trials import builders
from tests.trials.adoption_builders import new_programme, record_rows, unit_rows
from tests.web.conftest import check_page, csrf_from, sign_in


def _post(client: TestClient, path: str, data: dict[str, Any] | None = None,
          files: dict[str, Any] | None = None) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**(data or {}), "csrf_token": token}, files=files)


def _csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _programme(session: Session, slug: str = "tutoring-adoption") -> AdoptionProgramme:
    session.expire_all()
    return session.scalars(select(AdoptionProgramme).where(
        AdoptionProgramme.slug == slug)).one()


def _records(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AdoptionRecord)) or 0)


FORM = {"slug": "tutoring-adoption", "title": "Small-group tutoring in primary schools",
        "unit_kind": "school", "description": "Three sessions a week.",
        "offered_on": "2024-07-01", "target_percent": "80", "target_on": "2027-09-01"}


def test_a_mission_team_tracks_adoption(client: TestClient, world: World,
                                        session: Session) -> None:
    trial = builders.new_trial(session, world.mission, slug="tutoring-trial",
                               status=builders.TrialStatus.REGISTERED)
    session.commit()
    sign_in(client, world.editor)
    new = f"/missions/{world.mission.slug}/adoption/new"
    check_page(client.get(new))
    bad = _post(client, new, {**FORM, "title": "", "target_percent": "120"})
    html = check_page(bad, status=422)
    assert "There is a problem" in html
    assert "Enter title" in html
    made = _post(client, new, {**FORM, "trial_id": str(trial.id)})
    assert made.status_code == 303
    assert made.headers["location"] == "/adoption/tutoring-adoption/manage"
    check_page(client.get("/adoption/tutoring-adoption/manage"))
    check_page(client.get("/adoption/tutoring-adoption/edit"))
    edited = _post(client, "/adoption/tutoring-adoption/edit",
                   {**FORM, "title": "Tutoring, renamed", "trial_id": str(trial.id)})
    assert edited.status_code == 303
    assert _programme(session).title == "Tutoring, renamed"

    # The units: all or nothing, naming row and column.
    units = unit_rows(30)
    units[1] = {**units[1], "name": ""}
    broken = _post(client, "/adoption/tutoring-adoption/units",
                   files={"units_file": ("units.csv", _csv(units), "text/csv")})
    assert "Row 3, column name" in check_page(broken, status=422)
    assert adoption.count_units(session, _programme(session)) == 0
    units[1] = {**units[1], "name": "School 001"}
    assert _post(client, "/adoption/tutoring-adoption/units", files={
        "units_file": ("units.csv", _csv(units), "text/csv")}).status_code == 303
    assert adoption.count_units(session, _programme(session)) == 30

    # Adoption records: an unknown unit refuses the whole file.
    records = record_rows(30)
    unknown = [*records, {**records[0], "unit_id": "ELSEWHERE"}]
    refused = _post(client, "/adoption/tutoring-adoption/records",
                    files={"records_file": ("r.csv", _csv(unknown), "text/csv")})
    html = check_page(refused, status=422)
    assert f"Row {len(unknown) + 1}, column unit_id" in html
    assert "not an eligible unit" in html
    assert _records(session) == 0
    assert _post(client, "/adoption/tutoring-adoption/records", files={
        "records_file": ("r.csv", _csv(records), "text/csv")}).status_code == 303
    assert _records(session) == len(records)

    # One adoption by hand.
    missing = _post(client, "/adoption/tutoring-adoption/adoptions",
                    {"unit_id": "U029", "adopted_on": "2025-05-01"})
    html = check_page(missing, status=422)
    assert "Give the fidelity" in html
    assert 'href="#fidelity"' in html
    one = _post(client, "/adoption/tutoring-adoption/adoptions",
                {"unit_id": "U029", "adopted_on": "2025-05-01", "fidelity": "full",
                 "source": "Visit"})
    assert one.status_code == 303
    assert "Adoption recorded for School 029" in check_page(
        client.get("/adoption/tutoring-adoption/manage"))

    # The public page, the mission's list and the links to it.
    page = check_page(client.get("/adoption/tutoring-adoption"))
    assert "Tutoring, renamed" in page
    assert 'data-vega-spec="diffusion-spec"' in page
    assert "Projection" in page
    assert trial.title in page
    assert "not adopting" in page
    assert "Coverage by area" in page
    mission_list = check_page(client.get(f"/missions/{world.mission.slug}/adoption"))
    assert "/adoption/tutoring-adoption" in mission_list
    assert "/adoption/tutoring-adoption" in check_page(client.get(
        f"/missions/{world.mission.slug}"))
    assert "/adoption/tutoring-adoption" in check_page(client.get("/trials/tutoring-trial"))


def test_the_public_page_shows_the_curve_its_table_and_the_non_adopters(
        client: TestClient, world: World, session: Session) -> None:
    programme = new_programme(session, world.mission, units=40)
    adoption.import_adoptions(session, programme=programme, rows=record_rows(40))
    session.commit()
    summary = adoption.summary(session, programme)
    html = check_page(client.get(f"/adoption/{programme.slug}"))
    spec_text = re.search(r'<script type="application/json" id="diffusion-spec">(.*?)</script>',
                          html, flags=re.S)
    assert spec_text
    spec = json.loads(spec_text.group(1))
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    line = spec["layer"][0]
    adopting = [v for v in line["data"]["values"] if v["series"] == "Adopting"]
    assert [v["share"] for v in adopting] == [p.share for p in summary.curve]
    assert [v["on"] for v in adopting] == [p.on.isoformat() for p in summary.curve]
    assert any(layer["mark"]["type"] == "rule" for layer in spec["layer"])
    for p in summary.curve:
        assert p.on.strftime("%B %Y") in html
    for n in summary.non_adopters:
        assert n.unit.name in html
    assert f"{summary.adopting} of 40 schools" in html

    download = client.get(f"/adoption/{programme.slug}/adoption.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 40
    assert sum(r["status"] == "adopting" for r in rows) == summary.adopting


def test_programmes_of_draft_missions_are_seen_only_by_their_editors(
        client: TestClient, world: World, session: Session) -> None:
    new_programme(session, world.draft_mission, slug="draft-adoption", units=3)
    session.commit()
    for path in ("/adoption/draft-adoption", "/adoption/draft-adoption/adoption.csv",
                 "/api/v1/adoption/draft-adoption"):
        assert client.get(path).status_code == 404
    sign_in(client, world.viewer)
    assert client.get("/adoption/draft-adoption").status_code == 404
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    sign_in(client, world.editor)
    check_page(client.get("/adoption/draft-adoption"))
    assert "/adoption/draft-adoption" in check_page(client.get(
        f"/missions/{world.draft_mission.slug}/adoption"))


def test_the_api_gives_coverage_and_the_curve(client: TestClient, world: World,
                                              session: Session) -> None:
    programme = new_programme(session, world.mission, units=40)
    adoption.import_adoptions(session, programme=programme, rows=record_rows(40))
    session.commit()
    summary = adoption.summary(session, programme)
    response = client.get(f"/api/v1/adoption/{programme.slug}")
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == programme.slug
    assert body["coverage"]["eligible"] == 40
    assert body["coverage"]["adopting"] == summary.adopting
    assert body["coverage"]["share"] == summary.share
    assert [p["adopting"] for p in body["curve"]] == [p.adopting for p in summary.curve]
    assert [p["on"] for p in body["curve"]] == [p.on.isoformat() for p in summary.curve]
    assert body["projection"]["fitted"] == summary.projection.fitted
    assert body["projection"]["note"] == summary.projection.note
    assert body["url"].endswith(f"/adoption/{programme.slug}")


def test_the_api_answers_404_problems_for_an_unknown_programme(client: TestClient,
                                                               world: World) -> None:
    response = client.get("/api/v1/adoption/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
