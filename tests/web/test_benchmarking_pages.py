"""Comparison pages for frontline units, through HTTP, on both databases: the funnel with who
is doing better than expected, peer groups, a unit's page and practice notes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from missionboard.benchmarking import service
from missionboard.benchmarking.models import PeerKind, PracticeNote, Statistic, UnitKind
from missionboard.benchmarking.schemas import PeerGroupIn, UnitMetricIn
from missionboard.config import get_settings
from missionboard.web.app import create_app
from tests.factories import World
from tests.web.conftest import check_page, csrf_from, sign_in

UNITS = 30


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(session_factory: sessionmaker[Session], data_dir: Path) -> Iterator[TestClient]:
    settings = get_settings(secret_key="test-secret", cookie_secure=True, data_dir=data_dir)
    with TestClient(create_app(settings, session_factory=session_factory),
                    base_url="https://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def units(session: Session, world: World, data_dir: Path, tmp_path: Path) -> World:
    service.import_units(session, rows=[
        {"code": f"U{i:02d}", "name": f"Unit {i:02d}", "kind": "school",
         "area_code": "E92000001", "deprivation": str(i)} for i in range(UNITS)])
    lines = ["unit,period,numerator,denominator"]
    for period in ("2023", "2024", "2025"):
        for i in range(UNITS):
            n = 1000 + 37 * i
            rate = 0.95 if i == 0 else 0.60 + 0.002 * ((i * 7) % 11)
            lines.append(f"U{i:02d},{period},{round(n * rate)},{n}")
    source = tmp_path / "units.csv"
    source.write_text("\n".join(lines) + "\n")
    service.load_unit_data(session, metric=world.metric, source=source, data_dir=data_dir,
                           data=UnitMetricIn(statistic=Statistic.PROPORTION, multiplier=100,
                                             numerator_label="met", denominator_label="pupils"))
    service.save_peer_group(session, data=PeerGroupIn(
        slug="similar", name="Similar schools", kind=PeerKind.NEAREST,
        unit_kind=UnitKind.SCHOOL, attributes=["deprivation"], neighbours=9))
    session.commit()
    return world


def test_the_funnel_page_finds_the_sustained_better_unit(client: TestClient, units: World
                                                         ) -> None:
    page = f"/metrics/{units.metric.slug}/units"
    html = check_page(client.get(page))
    assert "This is not a league table" in html
    assert 'data-vega-spec="funnel-spec"' in html
    better = html.split('class="govuk-table mb-better"')[1].split("</table>")[0]
    assert "Unit 00" in better
    assert "Sustained" in better
    assert ">3<" in better  # beyond the limit in all three periods
    assert len(re.findall(r'href="/units/U\d\d"', html.split('id="units-table"')[1])) == UNITS

    peers = check_page(client.get(page, params={"peers": "similar", "around": "U15"}))
    listed = re.findall(r'href="/units/(U\d\d)"', peers.split('id="units-table"')[1])
    # Deprivation i for unit i: around U15 the nearest are U14 and U16, … U11 and U19; at
    # distance 5 U10 and U20 tie and the code decides. The table lists them in code order.
    assert listed == [f"U{i:02d}" for i in range(10, 20)]
    download = client.get(f"{page}.csv", params={"peers": "similar", "around": "U15"})
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.strip().splitlines()
    assert lines[0].startswith("unit,name,period,numerator,denominator,value,z,significance")
    assert [line.split(",")[0] for line in lines[1:]] == listed
    earlier = check_page(client.get(page, params={"period": "2023"}))
    assert "Units compared, 2023" in earlier
    assert client.get(page, params={"period": "1999"}).status_code == 404


def test_a_units_page_shows_its_standing_history_and_notes(
    client: TestClient, units: World, session: Session
) -> None:
    html = check_page(client.get("/units/U00"))
    assert "Unit 00" in html
    standing = html.split('class="govuk-table mb-standing"')[1].split("</table>")[0]
    assert "Better than expected (99.8%)" in standing
    assert 'data-vega-spec="spine-spec"' in html
    assert 'data-vega-spec="spc-1-spec"' in html
    assert "Add a practice note" not in html  # anonymous
    assert client.get("/units/NOPE").status_code == 404

    form = {"title": "Daily tutoring", "body": "Every pupil gets ten minutes a day.",
            "metric_slug": units.metric.slug}
    token = csrf_from(client.get("/sign-in").text)
    anonymous = client.post("/units/U00/notes", data={**form, "csrf_token": token})
    assert anonymous.headers["location"].startswith("/sign-in")
    sign_in(client, units.nobody)
    token = csrf_from(client.get("/sign-in").text)
    assert client.post("/units/U00/notes", data={**form, "csrf_token": token}
                       ).status_code == 403
    client.cookies.clear()

    sign_in(client, units.viewer)
    page = check_page(client.get("/units/U00"))
    token = csrf_from(page)
    bad = check_page(client.post("/units/U00/notes", data={**form, "title": "",
                                                          "csrf_token": token}), status=422)
    assert 'href="#title"' in bad
    assert session.scalar(select(PracticeNote.id)) is None
    assert client.post("/units/U00/notes", data={**form, "csrf_token": token}
                       ).status_code == 303
    assert "Every pupil gets ten minutes a day." in check_page(client.get("/units/U00"))
    found = check_page(client.get("/practice", params={"q": "tutoring"}))
    assert "Daily tutoring" in found
    assert "Daily tutoring" not in check_page(client.get("/practice", params={"q": "zebra"}))
    assert "Daily tutoring" in check_page(client.get("/units"))


def test_draft_metrics_unit_data_is_hidden_from_the_public(
    client: TestClient, units: World, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "draft.csv"
    source.write_text("unit,period,numerator,denominator\nU01,2025,5,10\nU02,2025,6,10\n"
                      "U03,2025,7,10\n")
    service.load_unit_data(session, metric=units.draft_metric, source=source,
                           data_dir=data_dir,
                           data=UnitMetricIn(statistic=Statistic.PROPORTION,
                                             numerator_label="a", denominator_label="b"))
    session.commit()
    page = f"/metrics/{units.draft_metric.slug}/units"
    assert client.get(page).status_code == 404
    assert units.draft_metric.title not in client.get("/units").text
    sign_in(client, units.viewer)
    check_page(client.get(page))


def test_peer_groups_are_defined_through_the_form(client: TestClient, units: World) -> None:
    sign_in(client, units.editor)
    page = check_page(client.get("/manage/peer-groups"))
    assert "Similar schools" in page
    token = csrf_from(page)
    bad = check_page(client.post("/manage/peer-groups", data={
        "name": "Mine", "slug": "mine", "kind": "list", "members": "", "csrf_token": token}),
        status=422)
    assert 'href="#kind"' in bad
    unknown = check_page(client.post("/manage/peer-groups", data={
        "name": "Mine", "slug": "mine", "kind": "list", "members": "U01 ZZZ",
        "csrf_token": token}), status=422)
    assert "ZZZ" in unknown
    saved = client.post("/manage/peer-groups", data={
        "name": "Mine", "slug": "mine", "kind": "list", "members": "U03\nU01",
        "csrf_token": token})
    assert saved.status_code == 303
    compared = check_page(client.get(f"/metrics/{units.metric.slug}/units",
                                     params={"peers": "mine"}))
    assert re.findall(r'href="/units/(U\d\d)"', compared.split('id="units-table"')[1]) == [
        "U01", "U03"]
