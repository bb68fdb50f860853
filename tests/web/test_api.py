"""The public API at /api/v1, through HTTP, on both databases.

Loading data for a metric the token's user may not publish fails the whole request with a
422 naming each such row (the importer checks every record); a user who may publish no metric
at all gets a 403 before any record is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts import service as accounts
from missionboard.accounts.models import ApiToken, AuditEntry, User
from missionboard.config import get_settings
from missionboard.db.base import utcnow
from missionboard.metrics import service as metrics
from missionboard.metrics.models import ImportBatch, Observation, PublicationStatus
from missionboard.metrics.schemas import MetricIn, MilestoneIn, TargetIn
from missionboard.missions import service as missions
from missionboard.missions.schemas import (
    BoardMemberIn,
    ContributionIn,
    MissionIn,
    OrganisationIn,
)
from missionboard.web.api import MAX_RECORDS
from missionboard.web.app import create_app
from tests import factories
from tests.factories import World
from tests.web.conftest import sign_in

API = "/api/v1"
ENGLAND = "E92000001"
PUBLISHED = "published-metric"


def _client(session_factory: sessionmaker[Session], **settings: object) -> TestClient:
    app = create_app(get_settings(cookie_secure=False, secret_key="test", **settings),
                     session_factory=session_factory)
    return TestClient(app)


@pytest.fixture
def api(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with _client(session_factory) as client:
        yield client


def bearer(session: Session, user: User) -> dict[str, str]:
    _, secret = accounts.create_api_token(session, user=user, name="pipeline")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def problem(response: Response, status: int) -> dict[str, Any]:
    """Check an error is problem+json with the standard members; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    return body


def ok(response: Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["items"]]


def record(period: str, value: object, *, metric: str = PUBLISHED, area: str = ENGLAND,
           **extra: object) -> dict[str, object]:
    return {"metric": metric, "area_code": area, "period": period, "value": value, **extra}


def observation_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Observation)) or 0)


def batch_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ImportBatch)) or 0)


# The document ------------------------------------------------------------------------------

def test_openapi_document_lists_every_endpoint(api: TestClient) -> None:
    doc = ok(api.get(f"{API}/openapi.json"))
    assert doc["info"] == {"title": "Missionboard API", "version": "1",
                           "description": doc["info"]["description"]}
    assert set(doc["paths"]) == {
        "/missions", "/missions/{slug}", "/missions/{slug}/outcomes", "/metrics",
        "/metrics/{slug}", "/metrics/{slug}/observations", "/metrics/{slug}/targets",
        "/metrics/{slug}/trajectories",
        "/missions/{slug}/stocktakes", "/missions/{slug}/stocktakes/{stocktake_id}/pack",
        "/missions/{slug}/challenges",
        "/changes", "/areas", "/observations",
        "/conversations/{slug}", "/conversations/{slug}/next", "/conversations/{slug}/votes",
        "/trials", "/trials/{slug}", "/trials/{slug}/assign",
        "/adoption/{slug}",
        "/councils/{slug}", "/councils/{slug}/recommendations",
        "/volunteering/opportunities", "/volunteering/opportunities/{slug}",
        "/volunteering/summary",
        "/commitments", "/commitments/{commitment_id}", "/commitments/{commitment_id}/reports",
        "/partners", "/partners/{slug}",
        "/mobilisation", "/missions/{slug}/mobilisation",
    }
    assert set(doc["paths"]["/observations"]) == {"post"}
    assert doc["components"]["securitySchemes"]["APIToken"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"][
            "securitySchemes"]["APIToken"]["description"]}
    params = {p["name"] for p in doc["paths"]["/metrics/{slug}/observations"]["get"]
              ["parameters"]}
    assert params == {"slug", "area", "period_from", "period_to", "limit", "offset"}
    errors = doc["paths"]["/observations"]["post"]["responses"]
    assert {"200", "401", "403", "413", "422"} <= set(errors)
    assert "application/problem+json" in errors["422"]["content"]


def test_swagger_docs_are_served(api: TestClient) -> None:
    response = api.get(f"{API}/docs")
    assert response.status_code == 200
    assert f"{API}/openapi.json" in response.text


# Missions ----------------------------------------------------------------------------------

def test_missions_anonymous_sees_published_only(api: TestClient, world: World) -> None:
    body = ok(api.get(f"{API}/missions"))
    assert sorted(slugs(body)) == ["other-mission", "published-mission"]
    item = next(i for i in body["items"] if i["slug"] == "published-mission")
    assert set(item) == {"slug", "title", "ambition", "horizon_year", "status", "published_at"}
    assert item["status"] == "published"
    assert item["horizon_year"] == 2035


def test_viewer_token_sees_draft_missions(
    api: TestClient, world: World, session: Session
) -> None:
    body = ok(api.get(f"{API}/missions", headers=bearer(session, world.viewer)))
    statuses = {i["slug"]: i["status"] for i in body["items"]}
    assert statuses == {"published-mission": "published", "other-mission": "published",
                        "draft-mission": "draft"}


def test_a_token_without_roles_sees_no_drafts(
    api: TestClient, world: World, session: Session
) -> None:
    headers = bearer(session, world.nobody)
    assert "draft-mission" not in slugs(ok(api.get(f"{API}/missions", headers=headers)))
    problem(api.get(f"{API}/missions/draft-mission", headers=headers), 404)


def test_mission_has_outcomes_board_and_organisations(
    api: TestClient, world: World, session: Session
) -> None:
    missions.create_organisation(session, data=OrganisationIn(
        slug="health", name="Department of Health", kind="central_department"))
    missions.add_board_member(session, mission=world.mission, data=BoardMemberIn(
        name="Ada Lovelace", title="Secretary of State", role="minister",
        organisation_slug="health", is_chair=True, is_accountable_lead=True))
    missions.add_contribution(session, mission=world.mission, data=ContributionIn(
        organisation_slug="health", role="lead"))
    # A draft metric on the published outcome is listed only for those who may see drafts.
    metrics.set_metric_outcomes(session, metric=world.draft_metric,
                                outcomes=[world.draft_outcome, world.outcome])
    headers = bearer(session, world.viewer)

    body = ok(api.get(f"{API}/missions/published-mission"))
    assert body["slug"] == "published-mission"
    assert body["status"] == "published"
    assert body["outcomes"] == [{"slug": "main", "title": "Outcome main", "description": "",
                                 "metrics": [PUBLISHED]}]
    assert body["board"] == [{
        "name": "Ada Lovelace", "title": "Secretary of State", "role": "minister",
        "is_chair": True, "is_accountable_lead": True,
        "organisation": {"slug": "health", "name": "Department of Health",
                         "kind": "central_department"}}]
    assert body["organisations"] == [{"role": "lead", "organisation": {
        "slug": "health", "name": "Department of Health", "kind": "central_department"}}]

    seen = ok(api.get(f"{API}/missions/published-mission", headers=headers))
    assert sorted(seen["outcomes"][0]["metrics"]) == ["draft-metric", PUBLISHED]


def test_mission_outcomes(api: TestClient, world: World, session: Session) -> None:
    factories.outcome(session, world.mission, "second")
    session.commit()
    body = ok(api.get(f"{API}/missions/published-mission/outcomes"))
    assert [o["slug"] for o in body["items"]] == ["main", "second"]
    assert body["items"][0]["metrics"] == [PUBLISHED]
    assert body["items"][1]["metrics"] == []


def test_draft_mission_is_not_found_anonymously(
    api: TestClient, world: World, session: Session
) -> None:
    draft = problem(api.get(f"{API}/missions/draft-mission"), 404)
    missing = problem(api.get(f"{API}/missions/no-such-mission"), 404)
    # A draft is answered exactly as something that does not exist.
    assert draft["detail"].replace("draft-mission", "?") == missing["detail"].replace(
        "no-such-mission", "?")
    problem(api.get(f"{API}/missions/draft-mission/outcomes"), 404)
    headers = bearer(session, world.viewer)
    body = ok(api.get(f"{API}/missions/draft-mission", headers=headers))
    assert body["status"] == "draft"
    assert body["outcomes"][0]["metrics"] == ["draft-metric"]
    ok(api.get(f"{API}/missions/draft-mission/outcomes", headers=headers))


# Metrics -----------------------------------------------------------------------------------

def test_metrics_list_and_drafts(api: TestClient, world: World, session: Session) -> None:
    body = ok(api.get(f"{API}/metrics"))
    assert slugs(body) == [PUBLISHED]
    item = body["items"][0]
    assert item["status"] == "published"
    assert item["outcomes"] == ["published-mission/main"]
    assert item["missions"] == ["published-mission"]
    assert {"definition", "kind", "unit", "polarity", "frequency", "source"} <= set(item)

    seen = ok(api.get(f"{API}/metrics", headers=bearer(session, world.viewer)))
    assert {i["slug"]: i["status"] for i in seen["items"]} == {
        PUBLISHED: "published", "draft-metric": "draft"}


def test_metric_links_to_draft_missions_are_hidden_anonymously(
    api: TestClient, world: World, session: Session
) -> None:
    metrics.set_metric_outcomes(session, metric=world.metric,
                                outcomes=[world.outcome, world.draft_outcome])
    headers = bearer(session, world.viewer)
    body = ok(api.get(f"{API}/metrics/{PUBLISHED}"))
    assert body["outcomes"] == ["published-mission/main"]
    assert body["missions"] == ["published-mission"]
    seen = ok(api.get(f"{API}/metrics/{PUBLISHED}", headers=headers))
    assert sorted(seen["missions"]) == ["draft-mission", "published-mission"]


def test_metrics_filtered_by_mission(api: TestClient, world: World, session: Session) -> None:
    assert slugs(ok(api.get(f"{API}/metrics", params={"mission": "published-mission"}))) == [
        PUBLISHED]
    assert slugs(ok(api.get(f"{API}/metrics", params={"mission": "other-mission"}))) == []
    problem(api.get(f"{API}/metrics", params={"mission": "no-such-mission"}), 404)
    problem(api.get(f"{API}/metrics", params={"mission": "draft-mission"}), 404)
    seen = ok(api.get(f"{API}/metrics", params={"mission": "draft-mission"},
                      headers=bearer(session, world.viewer)))
    assert slugs(seen) == ["draft-metric"]


def test_metric_detail(api: TestClient, world: World, session: Session) -> None:
    body = ok(api.get(f"{API}/metrics/{PUBLISHED}"))
    assert body["slug"] == PUBLISHED
    assert body["title"] == "Metric published-metric"
    assert body["kind"] == "proportion"
    assert body["polarity"] == "higher_is_better"
    problem(api.get(f"{API}/metrics/draft-metric"), 404)
    problem(api.get(f"{API}/metrics/no-such-metric"), 404)
    seen = ok(api.get(f"{API}/metrics/draft-metric", headers=bearer(session, world.viewer)))
    assert seen["status"] == "draft"


# Observations ------------------------------------------------------------------------------

def test_observations_page(api: TestClient, world: World) -> None:
    body = ok(api.get(f"{API}/metrics/{PUBLISHED}/observations"))
    assert set(body) == {"items", "total", "limit", "offset", "next"}
    assert (body["total"], body["limit"], body["offset"], body["next"]) == (2, 100, 0, None)
    first, second = body["items"]
    assert first == {
        "metric": PUBLISHED, "area_code": ENGLAND, "area_name": "England", "period": "2024-07",
        "period_start": "2024-07-01", "period_end": "2024-07-31", "value": 60.0,
        "numerator": None, "denominator": None, "lower": None, "upper": None,
        "status": "final", "release_date": None, "illustrative": False, "revisions": []}
    assert (second["period"], second["value"], second["lower"], second["upper"]) == (
        "2025-07", 70.0, 65.0, 75.0)


def test_observations_of_drafts_need_a_token(
    api: TestClient, world: World, session: Session
) -> None:
    problem(api.get(f"{API}/metrics/draft-metric/observations"), 404)
    problem(api.get(f"{API}/metrics/draft-metric/targets"), 404)
    headers = bearer(session, world.viewer)
    assert ok(api.get(f"{API}/metrics/draft-metric/observations", headers=headers))[
        "total"] == 0
    assert ok(api.get(f"{API}/metrics/draft-metric/targets", headers=headers))["items"] == []


def test_observations_pagination_follows_next(
    api: TestClient, world: World, session: Session
) -> None:
    for month in ("2024-08", "2024-09", "2024-10"):
        factories.observation(session, world.metric, world.area, month, 61.0)
    session.commit()
    periods: list[str] = []
    url: str | None = f"{API}/metrics/{PUBLISHED}/observations?limit=2"
    pages = []
    while url is not None:
        body = ok(api.get(url))
        pages.append((body["total"], body["limit"], body["offset"], len(body["items"])))
        periods += [item["period"] for item in body["items"]]
        url = body["next"]
    assert pages == [(5, 2, 0, 2), (5, 2, 2, 2), (5, 2, 4, 1)]
    assert periods == ["2024-07", "2024-08", "2024-09", "2024-10", "2025-07"]

    beyond = ok(api.get(f"{API}/metrics/{PUBLISHED}/observations",
                        params={"offset": 10, "limit": 2}))
    assert (beyond["items"], beyond["total"], beyond["next"]) == ([], 5, None)


def test_next_keeps_the_filters(api: TestClient, world: World) -> None:
    body = ok(api.get(f"{API}/metrics/{PUBLISHED}/observations",
                      params={"area": ENGLAND, "limit": 1}))
    assert body["next"] is not None
    assert f"area={ENGLAND}" in body["next"]
    assert "offset=1" in body["next"]
    assert body["next"].startswith("http://testserver/api/v1/metrics/")


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "many", "1.5"])
def test_observations_limit_out_of_bounds(api: TestClient, world: World, limit: str) -> None:
    body = problem(api.get(f"{API}/metrics/{PUBLISHED}/observations",
                           params={"limit": limit}), 422)
    assert [e["field"] for e in body["errors"]] == ["query.limit"]


def test_limit_bounds_come_from_the_settings(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with _client(session_factory, page_size_max=1, page_size_default=1) as client:
        body = ok(client.get(f"{API}/metrics/{PUBLISHED}/observations"))
        assert (body["limit"], len(body["items"]), body["total"]) == (1, 1, 2)
        error = problem(client.get(f"{API}/metrics/{PUBLISHED}/observations",
                                   params={"limit": 2}), 422)
        assert error["errors"] == [{"field": "query.limit",
                                    "message": "Input should be less than or equal to 1"}]


@pytest.mark.parametrize("params", [{"offset": "-1"}, {"offset": str(2**63)},
                                    {"period_from": "2024-02-30"}, {"period_to": "soon"}])
def test_bad_paging_and_dates_are_422(
    api: TestClient, world: World, params: dict[str, str]
) -> None:
    body = problem(api.get(f"{API}/metrics/{PUBLISHED}/observations", params=params), 422)
    assert [e["field"] for e in body["errors"]] == [f"query.{next(iter(params))}"]


def test_observations_filtered_by_area_and_period(
    api: TestClient, world: World, session: Session
) -> None:
    wales = factories.area(session, "W92000004", "Wales")
    factories.observation(session, world.metric, wales, "2025-07", 50.0)
    session.commit()
    url = f"{API}/metrics/{PUBLISHED}/observations"

    def periods(**params: str) -> list[tuple[str, str]]:
        body = ok(api.get(url, params=params))
        assert body["total"] == len(body["items"])
        return [(i["area_code"], i["period"]) for i in body["items"]]

    assert periods(area="W92000004") == [("W92000004", "2025-07")]
    assert periods(area=ENGLAND) == [(ENGLAND, "2024-07"), (ENGLAND, "2025-07")]
    assert periods(area="NOWHERE") == []
    assert sorted(periods(period_from="2025-01-01")) == [(ENGLAND, "2025-07"),
                                                         ("W92000004", "2025-07")]
    assert periods(period_to="2024-12-31") == [(ENGLAND, "2024-07")]
    # A period is kept when it overlaps the range at all.
    assert periods(period_from="2024-07-31", period_to="2024-07-31") == [(ENGLAND, "2024-07")]
    assert periods(area=ENGLAND, period_from="2025-07-15") == [(ENGLAND, "2025-07")]


# Targets -----------------------------------------------------------------------------------

def test_targets_with_path_latest_actual_and_status(
    api: TestClient, world: World, session: Session
) -> None:
    wales = factories.area(session, "W92000004", "Wales")
    factories.area(session, "S92000003", "Scotland")  # with a target but no data
    factories.target(session, world.metric, area_code="W92000004")
    factories.target(session, world.metric, area_code="S92000003")
    factories.observation(session, world.metric, wales, "2025-07", 61.0)
    session.commit()

    body = ok(api.get(f"{API}/metrics/{PUBLISHED}/targets"))
    by_area = {t["area_code"]: t for t in body["items"]}
    england = by_area[ENGLAND]
    # 70 at 2025-07 against a path from 60 (2024-07) to 90 (2029-03) that needs about 66.4.
    assert england["status"] == "on_track"
    assert england["status_reason"]
    assert (england["latest_value"], england["latest_period"]) == (70.0, "2025-07")
    assert england["required_at_latest"] == pytest.approx(66.43, abs=0.01)
    assert england["required_path"] == [{"date": "2024-07-31", "value": 60.0},
                                        {"date": "2029-03-31", "value": 90.0}]
    assert (england["baseline_value"], england["baseline_period"]) == (60.0, "2024-07")
    assert (england["target_value"], england["deadline"]) == (90.0, "2029-03-31")
    assert england["metric"] == PUBLISHED
    assert england["milestones"] == []
    assert by_area["W92000004"]["status"] == "off_track"
    assert by_area["W92000004"]["latest_value"] == 61.0
    scot = by_area["S92000003"]
    assert (scot["status"], scot["latest_value"], scot["latest_period"],
            scot["required_at_latest"]) == ("too_early", None, None, None)


def test_target_milestones_are_on_the_required_path(
    api: TestClient, world: World, session: Session
) -> None:
    factories.area(session, "W92000004", "Wales")
    metrics.create_target(session, metric=world.metric, data=TargetIn(
        area_code="W92000004", title="Halfway first", baseline_value=50, baseline_period="2024",
        target_value=80, deadline=dt.date(2030, 12, 31), horizon="long", shape="step",
        milestones=[MilestoneIn(due=dt.date(2027, 12, 31), value=65)]))
    session.commit()
    body = ok(api.get(f"{API}/metrics/{PUBLISHED}/targets"))
    target = next(t for t in body["items"] if t["area_code"] == "W92000004")
    assert target["shape"] == "step"
    assert target["horizon"] == "long"
    assert target["milestones"] == [{"date": "2027-12-31", "value": 65.0}]
    assert [p["date"] for p in target["required_path"]] == [
        "2024-12-31", "2027-12-31", "2030-12-31"]


# The change record, areas ------------------------------------------------------------------

def _metric_in(slug: str, title: str) -> MetricIn:
    return MetricIn(slug=slug, title=title, definition="What is counted", kind="proportion",
                    unit="percent", polarity="higher_is_better", frequency="monthly")


def test_changes_show_what_when_who_and_why(
    api: TestClient, world: World, session: Session
) -> None:
    metrics.update_metric(session, metric=world.metric,
                          data=_metric_in(PUBLISHED, "A clearer title"), actor=world.editor,
                          reason="The old title was ambiguous")
    missions.update_mission(session, mission=world.mission, data=MissionIn(
        slug="published-mission", title=world.mission.title, ambition="A sharper ambition",
        horizon_year=2035), actor=world.editor, reason="Agreed by the board")
    withdrawn = factories.metric(session, "withdrawn-metric", [world.outcome])
    metrics.set_metric_status(session, metric=withdrawn, status=PublicationStatus.DRAFT,
                              actor=world.admin, reason="The source stopped")
    headers = bearer(session, world.viewer)

    body = ok(api.get(f"{API}/changes"))
    assert len(body["items"]) == 2
    by_entity = {i["entity_type"]: i for i in body["items"]}
    change = by_entity["metric"]
    assert change["metric"] == PUBLISHED
    assert change["mission"] is None
    assert change["author_name"] == world.editor.name
    assert change["reason"] == "The old title was ambiguous"
    assert change["fields"] == {"title": {"old": "Metric published-metric",
                                          "new": "A clearer title"}}
    assert dt.datetime.fromisoformat(change["at"]).tzinfo is not None
    assert by_entity["mission"]["mission"] == "published-mission"
    assert by_entity["mission"]["fields"]["ambition"]["new"] == "A sharper ambition"

    only_metric = ok(api.get(f"{API}/changes", params={"metric": PUBLISHED}))
    assert [i["reason"] for i in only_metric["items"]] == ["The old title was ambiguous"]
    only_mission = ok(api.get(f"{API}/changes", params={"mission": "published-mission"}))
    assert [i["reason"] for i in only_mission["items"]] == ["Agreed by the board"]
    both = ok(api.get(f"{API}/changes",
                      params={"mission": "published-mission", "metric": PUBLISHED}))
    assert both["items"] == []

    # The withdrawn (now draft) metric's record is shown only to those who may see drafts.
    problem(api.get(f"{API}/changes", params={"metric": "withdrawn-metric"}), 404)
    problem(api.get(f"{API}/changes", params={"mission": "draft-mission"}), 404)
    seen = ok(api.get(f"{API}/changes", headers=headers))
    assert len(seen["items"]) == 3
    assert seen["items"][0]["reason"] == "The source stopped"  # newest first
    assert seen["items"][0]["metric"] == "withdrawn-metric"


def test_areas(api: TestClient, world: World, session: Session) -> None:
    factories.area(session, "W92000004", "Wales")
    session.commit()
    body = ok(api.get(f"{API}/areas"))
    assert body == {"items": [{"code": ENGLAND, "name": "England", "level": "nation"},
                              {"code": "W92000004", "name": "Wales", "level": "nation"}]}


# Authentication ----------------------------------------------------------------------------

def test_post_without_a_token_is_401(api: TestClient, world: World, session: Session) -> None:
    body = {"observations": [record("2025-08", 71)]}
    response = api.post(f"{API}/observations", json=body)
    problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert observation_count(session) == 2


@pytest.mark.parametrize("authorization", [
    "Bearer mb_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "mb_just-the-token"])
def test_bad_tokens_are_401_even_for_reading(
    api: TestClient, world: World, session: Session, authorization: str
) -> None:
    headers = {"Authorization": authorization}
    for response in (api.get(f"{API}/missions", headers=headers),
                     api.post(f"{API}/observations", headers=headers,
                              json={"observations": [record("2025-08", 71)]})):
        problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert observation_count(session) == 2


def test_revoked_and_inactive_tokens_are_401(
    api: TestClient, world: World, session: Session
) -> None:
    revoked = bearer(session, world.publisher)
    token = session.scalars(select(ApiToken).where(ApiToken.user_id == world.publisher.id)).one()
    token.revoked_at = utcnow()
    inactive = bearer(session, world.viewer)
    world.viewer.is_active = False
    session.commit()
    problem(api.get(f"{API}/missions", headers=revoked), 401)
    problem(api.get(f"{API}/missions", headers=inactive), 401)


def test_a_signed_in_browser_is_anonymous_to_the_api(
    session_factory: sessionmaker[Session], world: World
) -> None:
    """The API knows only bearer tokens (so it needs no CSRF protection)."""
    with _client(session_factory) as browser:
        browser.follow_redirects = False
        sign_in(browser, world.admin)
        assert "draft-mission" not in slugs(ok(browser.get(f"{API}/missions")))
        problem(browser.post(f"{API}/observations",
                             json={"observations": [record("2025-08", 71)]}), 401)


# Loading data ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["publisher", "editor", "admin"])
def test_post_loads_and_revises_observations(
    api: TestClient, world: World, session: Session, who: str
) -> None:
    user: User = getattr(world, who)
    headers = bearer(session, user)
    records = [record("2024-07", 60.0),          # unchanged
               record("2025-07", 72, lower=68, upper=76, status="provisional"),  # revised
               record("2025-08", "71.5", numerator=143, denominator=200)]        # new
    body = ok(api.post(f"{API}/observations", json={"observations": records},
                       headers=headers))
    assert set(body) == {"batch_id", "rows", "inserted", "revised", "unchanged"}
    assert (body["rows"], body["inserted"], body["revised"], body["unchanged"]) == (3, 1, 1, 1)

    page = ok(api.get(f"{API}/metrics/{PUBLISHED}/observations"))
    assert page["total"] == 3
    by_period = {i["period"]: i for i in page["items"]}
    revised = by_period["2025-07"]
    assert (revised["value"], revised["lower"], revised["upper"], revised["status"]) == (
        72.0, 68.0, 76.0, "provisional")
    assert [(r["value"], r["lower"], r["upper"]) for r in revised["revisions"]] == [
        (70.0, 65.0, 75.0)]
    new = by_period["2025-08"]
    assert (new["value"], new["numerator"], new["denominator"]) == (71.5, 143.0, 200.0)
    assert by_period["2024-07"]["revisions"] == []

    batch = session.get(ImportBatch, body["batch_id"])
    assert batch is not None
    assert (batch.source, batch.user_id) == ("api", user.id)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert audit.actor_id == user.id
    assert audit.ip == "testclient"

    again = ok(api.post(f"{API}/observations", json={"observations": records},
                        headers=headers))
    assert (again["inserted"], again["revised"], again["unchanged"]) == (0, 0, 3)


def test_data_can_be_loaded_for_a_draft_metric_before_it_is_published(
    api: TestClient, world: World, session: Session
) -> None:
    headers = bearer(session, world.editor)  # edits the draft mission, so its metric too
    body = ok(api.post(f"{API}/observations", headers=headers,
                       json={"observations": [record("2025-08", 5, metric="draft-metric")]}))
    assert (body["rows"], body["inserted"]) == (1, 1)
    page = ok(api.get(f"{API}/metrics/draft-metric/observations", headers=headers))
    assert [(i["period"], i["value"]) for i in page["items"]] == [("2025-08", 5.0)]
    problem(api.get(f"{API}/metrics/draft-metric/observations"), 404)


def test_post_for_a_metric_the_user_may_not_publish_is_422_and_writes_nothing(
    api: TestClient, world: World, session: Session
) -> None:
    headers = bearer(session, world.publisher)  # publishes published-metric only
    records = [record("2025-08", 71), record("2025-08", 5, metric="draft-metric"),
               record("2025-09", 6, metric="draft-metric")]
    body = problem(api.post(f"{API}/observations", json={"observations": records},
                            headers=headers), 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "metric"), (3, "metric")]
    assert "may not publish" in body["errors"][0]["message"]
    assert observation_count(session) == 2
    assert batch_count(session) == 0


@pytest.mark.parametrize("who", ["viewer", "nobody", "other_editor"])
def test_post_by_a_user_who_may_publish_nothing_is_403(
    api: TestClient, world: World, session: Session, who: str
) -> None:
    headers = bearer(session, getattr(world, who))
    problem(api.post(f"{API}/observations", json={"observations": [record("2025-08", 71)]},
                     headers=headers), 403)
    assert observation_count(session) == 2


def test_bad_records_are_listed_by_row_and_field_and_nothing_is_written(
    api: TestClient, world: World, session: Session
) -> None:
    headers = bearer(session, world.admin)
    records = [
        record("2025-08", 71),
        record("2025-09", 1, area="NOWHERE"),
        record("2025-13", 1),
        record("2025-10", "lots"),
        record("2025-11", 1, metric="no-such-metric"),
        record("2025-12", 1, status="guessed"),
    ]
    body = problem(api.post(f"{API}/observations", json={"observations": records},
                            headers=headers), 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (2, "area_code"), (3, "period"), (4, "value"), (5, "metric"), (6, "status")]
    assert all(e["message"] for e in body["errors"])
    assert observation_count(session) == 2
    assert batch_count(session) == 0


@pytest.mark.parametrize(("observations", "fields"), [
    ([], ["records"]),
    ([{"metric": PUBLISHED, "area_code": ENGLAND, "period": "2025-08"}], ["value"]),
    ([{**record("2025-08", 1), "colour": "red"}], ["colour"]),
])
def test_record_lists_with_missing_or_unknown_columns_are_422(
    api: TestClient, world: World, session: Session, observations: list[dict[str, object]],
    fields: list[str],
) -> None:
    body = problem(api.post(f"{API}/observations", json={"observations": observations},
                            headers=bearer(session, world.admin)), 422)
    assert [e["field"] for e in body["errors"]] == fields
    assert observation_count(session) == 2


@pytest.mark.parametrize(("content", "errors"), [
    ("not json", [{"field": "body.0", "message": "JSON decode error"}]),
    ('{"observations": "all of them"}',
     [{"field": "body.observations", "message": "Input should be a valid list"}]),
    ("{}", [{"field": "body.observations", "message": "Field required"}]),
    ('[{"metric": "x"}]',
     [{"field": "body", "message": "Input should be a valid dictionary or object to extract "
                                   "fields from"}]),
    ('{"observations": [{"metric": "x"}, 7]}',
     [{"row": 2, "field": "body.observations.1",
       "message": "Input should be a valid dictionary"}]),
])
def test_malformed_bodies_are_422(
    api: TestClient, world: World, session: Session, content: str,
    errors: list[dict[str, object]],
) -> None:
    headers = {**bearer(session, world.admin), "Content-Type": "application/json"}
    body = problem(api.post(f"{API}/observations", content=content, headers=headers), 422)
    assert body["errors"] == errors


def test_more_than_the_maximum_number_of_records_is_413(
    api: TestClient, world: World, session: Session
) -> None:
    records = [record("2025-08", 1)] * (MAX_RECORDS + 1)
    body = problem(api.post(f"{API}/observations", json={"observations": records},
                            headers=bearer(session, world.admin)), 413)
    assert f"{MAX_RECORDS:,}" in body["detail"]
    assert batch_count(session) == 0


def test_nul_characters_are_refused_not_crashed_on(
    api: TestClient, world: World, session: Session
) -> None:
    problem(api.get(f"{API}/metrics/a%00b"), 400)
    problem(api.get(f"{API}/metrics", params={"mission": "a\x00b"}), 400)
    problem(api.get(f"{API}/metrics/{PUBLISHED}/observations", params={"area": "E\x00"}), 400)
    body = problem(api.post(f"{API}/observations", headers=bearer(session, world.admin),
                            json={"observations": [record("2025-08", 1),
                                                   record("2025-09", 1, area="E\x00")]}), 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "area_code")]
    assert observation_count(session) == 2


# Errors ------------------------------------------------------------------------------------

def test_unknown_paths_and_methods_are_problems(api: TestClient) -> None:
    body = problem(api.get(f"{API}/no-such-thing"), 404)
    assert body["title"] == "Not found"
    problem(api.post(f"{API}/missions"), 405)
    problem(api.get(f"{API}/observations"), 405)


def test_trajectories(api: TestClient, world: World, session: Session) -> None:
    from missionboard.delivery.schemas import InterventionIn
    from missionboard.delivery.service import save_intervention

    save_intervention(session, mission=world.mission, data=InterventionIn(
        slug="step-up", title="A step up", start=dt.date(2024, 8, 1),
        evidence_kind="at_scale_evaluation", evidence_strength="strong",
        effects=[{"metric_slug": PUBLISHED, "area_code": ENGLAND, "central": 25, "low": 20,
                  "high": 30}]))
    session.commit()
    body = ok(api.get(f"{API}/metrics/{PUBLISHED}/trajectories?draws=2000&seed=3"))
    (trajectory,) = body
    assert trajectory["draws"] == 2000
    assert trajectory["fan"][0]["month"] == "2024-07-31"
    assert trajectory["fan"][-1]["month"] == "2029-03-31"
    assert trajectory["contributions"][0]["intervention"] == "step-up"
    # The sample mean of 2,000 draws (σ ≈ 3.9): within 5 standard errors of 25.
    assert trajectory["contributions"][0]["mean_effect_at_deadline"] == pytest.approx(25, abs=0.45)
    assert 0 < trajectory["probability"] < 1
    again = ok(api.get(f"{API}/metrics/{PUBLISHED}/trajectories?draws=2000&seed=3"))
    assert again == body
    bad = api.get(f"{API}/metrics/{PUBLISHED}/trajectories?draws=5")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_stocktakes_packs_and_judgements_respect_the_board(
    api: TestClient, world: World, session: Session
) -> None:
    from missionboard.missions.schemas import BoardMemberIn
    from missionboard.missions.service import add_board_member
    from missionboard.stocktakes import service as stocktakes
    from missionboard.stocktakes.schemas import StocktakeIn
    from tests.stocktakes.test_service import judgement_form

    held = stocktakes.create_stocktake(session, mission=world.mission, data=StocktakeIn(
        title="Held", meeting_on=dt.date(2025, 9, 10), as_of=dt.date(2025, 8, 31)))
    stocktakes.issue_pack(session, stocktake=held, actor=world.editor)
    stocktakes.record_judgement(session, stocktake=held, actor=world.editor,
                                data=stocktakes.judgement_from_form(judgement_form("red")))
    upcoming = stocktakes.create_stocktake(session, mission=world.mission, data=StocktakeIn(
        title="Next", meeting_on=dt.date(2025, 12, 10), as_of=dt.date(2025, 11, 30)))
    add_board_member(session, mission=world.mission, data=BoardMemberIn(
        name="Viewer", role="non_executive", account_email=world.viewer.email))
    session.commit()
    url = f"{API}/missions/{world.mission.slug}/stocktakes"

    assert ok(api.get(url))["items"] == []
    problem(api.get(f"{url}/{held.id}/pack"), 404)
    board = bearer(session, world.viewer)
    items = ok(api.get(url, headers=board))["items"]
    assert [(i["title"], i["judgement"]["overall"] if i["judgement"] else None)
            for i in items] == [("Next", None), ("Held", "red")]
    frozen = ok(api.get(f"{url}/{held.id}/pack", headers=board))
    assert frozen["issued"] is True
    assert frozen["sha256"] == stocktakes.pack_digest(frozen["pack"])
    draft = ok(api.get(f"{url}/{upcoming.id}/pack", headers=board))
    assert draft["issued"] is False
    assert draft["pack"]["previous"]["id"] == held.id

    stocktakes.publish_pack(session, stocktake=held)
    session.commit()
    (public,) = ok(api.get(url))["items"]
    assert public["pack_published"] is True
    assert public["judgement"] is None  # the mission does not publish its judgements
    assert ok(api.get(f"{url}/{held.id}/pack"))["sha256"] == held.pack_sha256
    problem(api.get(f"{url}/{upcoming.id}/pack"), 404)
    assert ok(api.get(f"{API}/missions/{world.mission.slug}/challenges"))["items"] == []
