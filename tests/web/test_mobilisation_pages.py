"""The mobilisation dashboard through HTTP: the pages (quality checks, the figures, the lapsed
list near the top, the area filter and the period), the CSV downloads, the API (the same
figures as JSON, problem+json for an unknown mission or area), the link from the mission's
page, and that nothing private reaches any of them, whoever is signed in. The day is fixed
(:data:`TODAY`) so that the statuses do not depend on when the tests run."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from missionboard.partners import dashboard, dashboard_views
from missionboard.partners.dashboard import Scope
from missionboard.partners.schemas import SECTOR_LABELS
from tests import factories
from tests.partners.mobilisation_builders import (
    HARTLEPOOL,
    NORTH_EAST,
    SECRET_TITLES,
    STAFF_EMAIL,
    TODAY,
    VOLUNTEER_EMAIL,
    VOLUNTEER_NAME,
    Scenario,
    scenario,
)
from tests.web.conftest import check_page, sign_in

SECRETS = (*SECRET_TITLES, STAFF_EMAIL, "Private.Staffer", VOLUNTEER_NAME, VOLUNTEER_EMAIL,
           "Pending Partner Ltd", "LS6 1AA", "01632 960 001", "Free on Saturdays")


@pytest.fixture
def sc(session: Session, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setattr(dashboard_views, "today", lambda: TODAY)
    built = scenario(session)
    session.commit()
    return built


def _ids(sc: Scenario, *keys: str) -> list[int]:
    return [sc.commitments[k].commitment.id for k in keys]


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.text)))


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# Pages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/mobilisation", "/mobilisation?by=quarter", f"/mobilisation?area={NORTH_EAST}",
    "/mobilisation?area=", "/mobilisation?periods=24",
    "/missions/published-mission/mobilisation",
    f"/missions/published-mission/mobilisation?area={HARTLEPOOL}&by=quarter&periods=4",
    "/missions/second-mission/mobilisation", "/missions/other-mission/mobilisation",
])
def test_the_dashboard_pages_pass_the_quality_checks(client: TestClient, sc: Scenario,
                                                     path: str) -> None:
    html = check_page(client.get(path))
    assert "<h1" in html
    assert 'id="lapsed"' in html
    assert "/vendor/vega-lite/vega-lite.min.js" in html
    for chart in ("money-chart", "hours-chart", "people-chart", "commitments-chart"):
        assert f'data-vega-spec="{chart}-spec"' in html
        assert f'id="{chart.removesuffix("-chart")}-table"' in html  # the table beside it


def test_the_page_shows_the_figures_and_every_lapsed_commitment_near_the_top(
        client: TestClient, sc: Scenario) -> None:
    html = check_page(client.get("/mobilisation"))
    title = re.search(r"<title>([^<]+)</title>", html)
    assert title is not None
    assert title.group(1).startswith("Mobilisation – ")
    assert "4 commitments have lapsed" in html
    # Near the top: before the series, the breakdowns and the downloads.
    assert html.index('id="lapsed"') < html.index('id="over-time"') < html.index('id="areas"')
    lapsed = html[html.index('id="lapsed-table"'):html.index('id="over-time"')]
    shown = [int(n) for n in re.findall(r'href="/commitments/(\d+)"', lapsed)]
    assert shown == _ids(sc, "target", "dormant1", "dormant2", "time")
    assert re.search(r"<td[^>]*>440</td>", lapsed)  # days overdue: due 1 April 2025
    assert "None since it started on 1 January 2025" in lapsed
    assert 'href="/partners/dormant-builders"' in lapsed
    assert 'href="/missions/published-mission/mobilisation"' in lapsed
    assert "£600" in html  # delivered
    assert "of £1,000 pledged" in html
    assert "hours volunteered" in html
    assert 'href="/commitments?status=lapsed"' in html
    # The breakdowns: by mission (every mission), by area as a tree, by sector.
    assert 'href="/missions/second-mission/mobilisation"' in html
    assert f'href="/mobilisation?area={HARTLEPOOL}"' in html
    assert ", in North East</span>" in html
    assert dashboard.NO_AREA in html
    assert 'href="/commitments?sector=community"' in html
    assert "Every area" in html  # the filter


def test_an_area_filter_narrows_every_figure(client: TestClient, sc: Scenario) -> None:
    html = check_page(client.get(f"/mobilisation?area={NORTH_EAST}&by=quarter"))
    assert "Mobilisation in North East" in html
    assert "2 commitments have lapsed" in html
    lapsed = html[html.index('id="lapsed-table"'):html.index('id="over-time"')]
    assert [int(n) for n in re.findall(r'href="/commitments/(\d+)"', lapsed)] == _ids(
        sc, "target", "time")
    assert f'<option value="{NORTH_EAST}" selected>' in html
    assert "Show every area" in html
    assert "by=quarter" in html
    assert "for the last 8 quarters" in html
    assert "Wales" not in html[html.index('id="areas"'):]
    # The register's links would filter differently, so the status counts are not links.
    assert 'href="/commitments?status=' not in html


def test_a_missions_dashboard(client: TestClient, sc: Scenario) -> None:
    html = check_page(client.get("/missions/published-mission/mobilisation?by=quarter"))
    assert "Mission published-mission" in html  # the caption and the breadcrumbs
    assert 'id="missions"' not in html  # no table by mission on one mission's page
    assert 'href="/commitments?mission=published-mission&amp;status=lapsed"' in html
    assert "/mobilisation/lapsed.csv?mission=published-mission" in html
    assert 'href="/mobilisation?by=quarter"' in html  # across every mission
    second = check_page(client.get("/missions/second-mission/mobilisation"))
    assert "No commitment has lapsed" in second


@pytest.mark.parametrize("path", ["/missions/hidden-mission/mobilisation",
                                  "/missions/draft-mission/mobilisation",
                                  "/missions/nope/mobilisation", "/mobilisation?area=NOWHERE",
                                  "/mobilisation/lapsed.csv?mission=hidden-mission",
                                  "/mobilisation/series.csv?area=NOWHERE"])
def test_no_dashboard_for_a_draft_or_unknown_mission_or_area(client: TestClient, sc: Scenario,
                                                             path: str) -> None:
    check_page(client.get(path), status=404)


def test_a_draft_missions_dashboard_is_not_shown_to_its_editors_either(
        client: TestClient, sc: Scenario) -> None:
    """Public data only: editors see drafts on the mission's pages, not here."""
    sign_in(client, sc.world.editor)
    check_page(client.get("/missions/draft-mission/mobilisation"), status=404)
    check_page(client.get("/missions/published-mission/mobilisation"))


def test_a_period_that_is_not_a_month_or_a_quarter_is_refused(client: TestClient,
                                                              sc: Scenario) -> None:
    check_page(client.get("/mobilisation?by=week"), status=400)
    check_page(client.get("/mobilisation?periods=0"), status=400)
    _problem(client.get("/api/v1/mobilisation?by=week"), 422)
    _problem(client.get("/api/v1/mobilisation?periods=61"), 422)


def test_the_mission_page_links_to_its_dashboard(client: TestClient, sc: Scenario) -> None:
    html = check_page(client.get("/missions/published-mission"))
    assert 'href="/missions/published-mission/mobilisation"' in html
    assert 'href="/mobilisation"' in check_page(client.get("/commitments"))
    assert 'href="/mobilisation"' in check_page(client.get("/volunteer/impact"))


# Downloads ---------------------------------------------------------------------------------

def test_the_lapsed_download(client: TestClient, sc: Scenario) -> None:
    response = client.get("/mobilisation/lapsed.csv")
    rows = _csv(response)
    assert 'filename="missionboard-lapsed.csv"' in response.headers["content-disposition"]
    assert list(rows[0]) == list(dashboard.LAPSED_CSV_COLUMNS)
    assert [int(r["id"]) for r in rows] == _ids(sc, "target", "dormant1", "dormant2", "time")
    first = rows[0]
    assert first["url"] == f"https://testserver/commitments/{first['id']}"
    assert (first["area_code"], first["last_report_on"], first["report_due_on"],
            first["lapsed_after"], first["days_overdue"]) == (
        HARTLEPOOL, "", "2025-04-01", "2025-05-01", "440")
    assert rows[-1]["last_report_on"] == "2026-03-31"
    narrowed = client.get(f"/mobilisation/lapsed.csv?mission=published-mission&area={NORTH_EAST}")
    assert [int(r["id"]) for r in _csv(narrowed)] == _ids(sc, "target", "time")
    assert (f'filename="missionboard-lapsed-published-mission-{NORTH_EAST}.csv"'
            in narrowed.headers["content-disposition"])
    assert _csv(client.get("/mobilisation/lapsed.csv?mission=second-mission")) == []


def test_the_series_download(client: TestClient, session: Session, sc: Scenario) -> None:
    rows = _csv(client.get("/mobilisation/series.csv?by=quarter&periods=3"))
    assert [r["period"] for r in rows] == ["October to December 2025",
                                           "January to March 2026", "April to June 2026"]
    assert [r["partial"] for r in rows] == ["no", "no", "yes"]
    assert rows[-1]["period_end"] == TODAY.isoformat()
    expected = dashboard.over_time(session, Scope(), today=TODAY, by="quarter", count=3)
    assert [float(r["money_delivered_gbp_total"]) for r in rows] == [
        p.total for p in expected.money.points]
    assert [int(r["people_total"]) for r in rows] == [int(p.total)
                                                      for p in expected.people.points]
    assert [float(r["volunteer_hours_added"]) for r in rows] == [3.0, 8.5, 7.5]
    monthly = _csv(client.get(f"/mobilisation/series.csv?area={NORTH_EAST}"))
    assert len(monthly) == 12


# The API -----------------------------------------------------------------------------------

def test_the_api_gives_the_same_figures(client: TestClient, session: Session,
                                        sc: Scenario) -> None:
    response = client.get("/api/v1/mobilisation?by=quarter&periods=3")
    assert response.status_code == 200, response.text
    body = response.json()
    found = dashboard.dashboard(session, Scope(), today=TODAY, sector_labels=SECTOR_LABELS,
                                by="quarter", count=3)
    top = found.headline
    assert body["scope"] == {"mission": None, "mission_title": None, "area_code": None,
                             "area_name": None, "status_on": TODAY.isoformat()}
    assert body["headline"] == {
        "partners": top.partners, "partners_active": top.partners_active,
        "commitments": top.commitments,
        "by_status": {s.value: n for s, n in top.by_status.items()},
        "pledged_money_gbp": top.pledged_money, "delivered_money_gbp": top.delivered_money,
        "pledged_hours": top.pledged_hours, "delivered_hours": top.delivered_hours,
        "opportunities": top.opportunities, "people_volunteering": top.people,
        "volunteer_hours_confirmed": top.volunteer_hours, "illustrative": False}
    assert body["headline"]["by_status"]["lapsed"] == 4
    assert body["lapsed"]["total"] == 4
    assert [i["id"] for i in body["lapsed"]["items"]] == _ids(
        sc, "target", "dormant1", "dormant2", "time")
    assert body["lapsed"]["items"][0]["days_overdue"] == 440
    assert body["lapsed"]["csv"] == "https://testserver/mobilisation/lapsed.csv"
    assert body["by"] == "quarter"
    assert [s["key"] for s in body["series"]] == [
        "money_delivered", "partner_hours", "volunteer_hours", "people", "commitments"]
    volunteered = body["series"][2]
    assert [p["total"] for p in volunteered["points"]] == [3.0, 11.5, 19.0]
    assert volunteered["trend"]["words"].startswith("8.5 hours in January to March 2026, up")
    assert volunteered["points"][-1]["partial"] is True
    assert [(r["key"], r["depth"]) for r in body["by_area"]][:3] == [
        ("E92000001", 0), (NORTH_EAST, 1), (HARTLEPOOL, 2)]
    assert body["by_sector"][-1]["depth"] is None
    assert [r["key"] for r in body["by_mission"]] == [r.key for r in found.by_mission]


def test_the_api_for_one_mission_in_one_area(client: TestClient, sc: Scenario) -> None:
    body = client.get(f"/api/v1/missions/published-mission/mobilisation?area={NORTH_EAST}"
                      ).json()
    assert body["scope"]["mission"] == "published-mission"
    assert body["scope"]["area_name"] == "North East"
    assert body["headline"]["commitments"] == 2  # time, target (not the second mission's)
    assert [i["id"] for i in body["lapsed"]["items"]] == _ids(sc, "target", "time")
    assert body["lapsed"]["csv"].endswith(
        f"/mobilisation/lapsed.csv?mission=published-mission&area={NORTH_EAST}")
    assert body["by_mission"] == []
    assert [r["key"] for r in body["by_area"]] == [NORTH_EAST, HARTLEPOOL]


@pytest.mark.parametrize("path", ["/api/v1/missions/nope/mobilisation",
                                  "/api/v1/missions/hidden-mission/mobilisation",
                                  "/api/v1/missions/draft-mission/mobilisation",
                                  "/api/v1/mobilisation?area=NOWHERE",
                                  "/api/v1/missions/published-mission/mobilisation?area=NOPE"])
def test_the_api_says_what_is_not_found(client: TestClient, sc: Scenario, path: str) -> None:
    assert _problem(client.get(path), 404)["title"] == "Not found"


# Nothing private ---------------------------------------------------------------------------

@pytest.mark.parametrize("who", [None, "admin", "staff"])
def test_nothing_private_reaches_the_pages_downloads_or_api(
        client: TestClient, session: Session, sc: Scenario, who: str | None) -> None:
    if who == "admin":
        sign_in(client, sc.world.admin)
    elif who == "staff":
        staff = factories.user(session, "second.staffer@acme.example")
        from tests.partners.builders import verified

        verified(session, sc.partners["pending"], staff)
        session.commit()
        sign_in(client, staff)
    for path in ("/mobilisation", "/missions/published-mission/mobilisation",
                 f"/mobilisation?area={HARTLEPOOL}", "/mobilisation/lapsed.csv",
                 "/mobilisation/series.csv", "/api/v1/mobilisation",
                 "/api/v1/missions/published-mission/mobilisation"):
        response = client.get(path)
        assert response.status_code == 200, path
        for secret in SECRETS:
            assert secret not in response.text, (path, secret)
    body = client.get("/api/v1/mobilisation").json()
    assert body["headline"]["pledged_money_gbp"] == 1000  # no private pledge counted
    assert body["headline"]["people_volunteering"] == 5
