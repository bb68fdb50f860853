"""Citizens' panels through the pages: the organiser's journey from census figures to the
draw, the public registration form, the public report and downloads (no personal data), and
the draw re-run from the published files by ``missionboard panel select``."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from missionboard.cli import app as cli_app
from missionboard.panels import published, service
from missionboard.panels.models import Panel, Volunteer
from tests.factories import World
from tests.panels import builders
from tests.web.conftest import check_page, csrf_from, sign_in

runner = CliRunner()


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


def _panel(session: Session, slug: str = "health-panel") -> Panel:
    session.expire_all()
    return session.scalars(select(Panel).where(Panel.slug == slug)).one()


def test_an_organiser_sets_up_recruits_and_draws(client: TestClient, world: World,
                                                 session: Session) -> None:
    sign_in(client, world.editor)
    mission_page = check_page(client.get(f"/missions/{world.mission.slug}"))
    assert "Set up a citizens’ panel" in mission_page
    check_page(client.get(f"/missions/{world.mission.slug}/panels/new"))
    bad = _post(client, f"/missions/{world.mission.slug}/panels/new", {"slug": "Bad slug"})
    html = check_page(bad, status=422)
    assert "There is a problem" in html
    assert "Enter title" in html
    made = _post(client, f"/missions/{world.mission.slug}/panels/new", {
        "slug": "health-panel", "title": "Health panel", "question": "What should change?",
        "size": "8", "household_rule": "yes", "retention_until": "2027-06-30"})
    assert made.status_code == 303
    assert made.headers["location"] == "/panels/health-panel/manage"
    check_page(client.get("/panels/health-panel/manage"))

    broken = _csv([*builders.share_rows()[:-1], {"feature": "region", "value": "south",
                                                 "share": "half"}])
    response = _post(client, "/panels/health-panel/features/import",
                     files={"shares_file": ("census.csv", broken, "text/csv")})
    assert "Row 9, column share" in check_page(response, status=422)
    assert _panel(session).features == []
    response = _post(client, "/panels/health-panel/features/import", files={
        "shares_file": ("census.csv", _csv(builders.share_rows()), "text/csv")})
    assert response.status_code == 303
    response = _post(client, "/panels/health-panel/features", {
        "name": "tenure", "question": "Do you own or rent your home?",
        "values": "own | Own | 64%\nrent | Rent | 36%"})
    assert response.status_code == 303
    panel = _panel(session)
    assert [f.name for f in panel.features] == ["age", "gender", "region", "tenure"]
    age = panel.features[0].values[0]
    html = check_page(_post(client, "/panels/health-panel/quotas",
                            {f"min-{age.id}": "5", f"max-{age.id}": "2"}), status=422)
    assert "must not be below its min" in html

    addresses = builders.address_rows(60)
    addresses[3]["postcode"] = "nowhere"
    response = _post(client, "/panels/health-panel/addresses",
                     files={"address_file": ("addresses.csv", _csv(addresses), "text/csv")})
    assert "Row 5, column postcode" in check_page(response, status=422)
    addresses[3]["postcode"] = "LS1 4AP"
    response = _post(client, "/panels/health-panel/addresses",
                     files={"address_file": ("addresses.csv", _csv(addresses), "text/csv")})
    assert response.status_code == 303
    response = _post(client, "/panels/health-panel/invitations",
                     {"count": "50", "by_stratum": "yes", "invitation_seed": "2026"})
    assert response.status_code == 303
    letters = client.get("/panels/health-panel/invitations/1/letters.csv")
    assert letters.status_code == 200
    rows = list(csv.DictReader(io.StringIO(letters.text)))
    assert len(rows) == 50
    assert rows[0]["registration_url"].endswith(f"/register?code={rows[0]['code']}")
    assert _post(client, "/panels/health-panel/stage", {"stage": "recruiting"}
                 ).status_code == 303

    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    rng = random.Random(5)
    page = check_page(client.get(f"/panels/health-panel/register?code={rows[0]['code']}"))
    assert rows[0]["code"] in page
    assert "30 June 2027" in page  # the retention date, stated beside the consent
    refused = _post(client, "/panels/health-panel/register",
                    {**builders.registration(rows[0]["code"], rng), "consent": ""})
    assert "Tick the box" in check_page(refused, status=422)
    for row in rows[:30]:
        answers = {**builders.registration(row["code"], rng),
                   "answer-tenure": rng.choice(["own", "rent"])}
        done = _post(client, "/panels/health-panel/register", answers)
        assert "Your pseudonym is" in check_page(done)
    again = _post(client, "/panels/health-panel/register",
                  {**builders.registration(rows[0]["code"], rng), "answer-tenure": "own"})
    assert "already registered" in check_page(again, status=422)

    sign_in(client, world.editor)
    volunteers = check_page(client.get("/panels/health-panel/volunteers"))
    assert "Ada Volunteer" in volunteers
    assert _post(client, "/panels/health-panel/stage", {"stage": "closed"}).status_code == 303
    seed = 314159265358
    wrong = _post(client, "/panels/health-panel/commit", {
        "seed_source": "organiser", "commitment": "abc"})
    assert "commitment" in check_page(wrong, status=422)
    response = _post(client, "/panels/health-panel/commit", {
        "seed_source": "organiser", "commitment": published.seed_commitment(seed),
        "seed_description": "Two dice rolled twelve times at the town hall"})
    assert response.status_code == 303
    public = check_page(client.get("/panels/health-panel"))
    assert published.seed_commitment(seed) in public
    mismatch = _post(client, "/panels/health-panel/draw", {"seed": str(seed + 1)})
    assert "does not match the published commitment" in check_page(mismatch, status=422)
    drawn = _post(client, "/panels/health-panel/draw", {"seed": str(seed)})
    assert drawn.status_code == 303
    report = check_page(client.get("/panels/health-panel/selection"))
    assert "Does the panel meet its targets?" in report
    assert "smallest chance under the legacy method" in report
    assert "Outside target" not in report
    assert str(seed) in report


@pytest.fixture
def drawn_panel(session: Session, world: World) -> Panel:
    panel = builders.with_pool(session, world.mission, volunteers=40)
    from missionboard.panels import selection
    from missionboard.panels.models import SeedSource
    from missionboard.panels.schemas import CommitIn

    selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    selection.draw(session, panel=panel, legacy_runs=20)
    session.commit()
    return panel


def test_public_pages_show_no_personal_data(client: TestClient, drawn_panel: Panel,
                                            session: Session) -> None:
    people = session.scalars(select(Volunteer)).all()
    names = {p.name for p in people} | {p.email for p in people}
    bodies = [check_page(client.get(path)) for path in (
        "/panels", "/panels/health-panel", "/panels/health-panel/selection",
        f"/missions/{drawn_panel.mission.slug}")]
    for name in DOWNLOADS:
        response = client.get(f"/panels/health-panel/runs/1/{name}")
        assert response.status_code == 200, name
        bodies.append(response.text)
    for body in bodies:
        for value in names | {"Station Road"}:
            assert value not in body
    assert "id,age,gender,region,household" in bodies[4]
    assert client.get("/panels/health-panel/runs/99999999999/people.csv").status_code == 400
    assert client.get("/panels/health-panel/runs/2/people.csv").status_code == 404
    assert client.get("/panels/health-panel/runs/1/secrets.txt").status_code == 404
    assert client.get("/panels/health-panel/volunteers").status_code == 303
    assert client.get("/panels/health-panel/invitations/1/letters.csv").status_code == 303


DOWNLOADS = ("people.csv", "features.csv", "probabilities.csv", "selected.csv", "result.json")


@pytest.mark.parametrize("household_rule", [True, False], ids=["households", "no-households"])
def test_the_cli_reproduces_the_published_draw(client: TestClient, world: World,
                                               session: Session, tmp_path: Path,
                                               household_rule: bool) -> None:
    """Anyone can take the published files and the revealed seed, run the command line, and
    get the panel and the inputs' hash the application published."""
    from missionboard.panels import selection
    from missionboard.panels.models import SeedSource
    from missionboard.panels.schemas import CommitIn

    panel = builders.with_pool(session, world.mission, volunteers=45, size=9,
                               household_rule=household_rule, seed=21)
    if not household_rule:  # a second person at some addresses
        rng = random.Random(9)
        panel.stage = panel.stage.RECRUITING
        for code in builders.codes(session, panel)[:6]:
            service.register(session, panel=panel, values=builders.registration(code, rng))
        panel.stage = panel.stage.CLOSED
    selection.commit(session, panel=panel, data=CommitIn(seed_source=SeedSource.APP))
    session.commit()
    for name in ("people.csv", "features.csv"):  # published at the commitment
        (tmp_path / name).write_bytes(client.get(f"/panels/health-panel/runs/1/{name}").content)
    for name in ("selected.csv", "result.json"):  # the results only after the draw
        assert client.get(f"/panels/health-panel/runs/1/{name}").status_code == 404
    sign_in(client, world.editor)
    assert _post(client, "/panels/health-panel/draw").status_code == 303
    result = client.get("/panels/health-panel/runs/1/result.json").json()
    assert result["seed"] is not None
    assert published.seed_commitment(result["seed"]) == result["commitment_sha256"]
    args = ["panel", "select", "--people", str(tmp_path / "people.csv"), "--features",
            str(tmp_path / "features.csv"), "--number", str(result["number"]), "--seed",
            str(result["seed"]), "--json"]
    if household_rule:
        args += ["--address-columns", "household"]
    out = runner.invoke(cli_app, args)
    assert out.exit_code == 0, out.output
    rerun = json.loads(out.stdout)
    assert rerun["selected"] == result["selected"]
    assert rerun["inputs_sha256"] == result["inputs_sha256"]
    assert rerun["probabilities"] == pytest.approx(result["probabilities"], abs=1e-9)
    report = client.get("/panels/health-panel/selection").text
    assert result["inputs_sha256"] in report
    command = re.search(r"missionboard panel select[^<]*", report)
    assert command is not None
    assert ("--address-columns household" in command.group(0)) is household_rule
