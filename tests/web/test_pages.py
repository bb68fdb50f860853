"""Public and signed-in pages, through HTTP, on both databases."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.metrics.models import Metric, Target
from missionboard.missions.models import ChangeRecord
from tests.factories import World
from tests.web.conftest import check_page, csrf_from, sign_in


def test_overview_lists_published_missions_only(client: TestClient, world: World) -> None:
    html = check_page(client.get("/"))
    assert world.mission.title in html
    assert world.draft_mission.title not in html


def test_mission_page_shows_board_outcomes_and_status(client: TestClient, world: World) -> None:
    html = check_page(client.get(f"/missions/{world.mission.slug}"))
    assert world.outcome.title in html
    assert world.metric.title in html
    # 70 at 2025-07 against a path from 60 (2024-07) to 90 (2029-03) that needs about 66.4.
    assert "On track" in html
    # No interventions and a flat counterfactual at 60: no chance of reaching 90.
    assert ">0%<span class=\"govuk-visually-hidden\"> chance of meeting the target" in html


def test_draft_pages_are_invisible_to_the_public(client: TestClient, world: World) -> None:
    check_page(client.get(f"/missions/{world.draft_mission.slug}"), status=404)
    check_page(client.get(f"/metrics/{world.draft_metric.slug}"), status=404)
    assert client.get(f"/metrics/{world.draft_metric.slug}/data.csv").status_code == 404


def test_viewer_sees_drafts(client: TestClient, world: World) -> None:
    sign_in(client, world.viewer)
    html = check_page(client.get(f"/missions/{world.draft_mission.slug}"))
    assert "Draft" in html


def test_metric_page_has_chart_table_downloads_and_source(
    client: TestClient, world: World
) -> None:
    html = check_page(client.get(f"/metrics/{world.metric.slug}"))
    assert 'data-vega-spec="metric-chart-spec"' in html
    assert 'id="data-table"' in html
    assert "65 to 75" in html  # the confidence interval in the accessible table
    assert f"/metrics/{world.metric.slug}/data.csv" in html
    assert "Changes to this measure" in html


def test_downloads_match_the_database(client: TestClient, world: World) -> None:
    response = client.get(f"/metrics/{world.metric.slug}/data.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["period"], float(r["value"])) for r in rows] == [("2024-07", 60.0),
                                                                ("2025-07", 70.0)]
    body = json.loads(client.get(f"/metrics/{world.metric.slug}/data.json").text)
    assert body["metric"]["slug"] == world.metric.slug
    assert [o["value"] for o in body["observations"]] == [60.0, 70.0]
    assert body["observations"][1]["lower"] == 65.0


def test_every_signed_in_page_passes_the_quality_checks(client: TestClient, world: World) -> None:
    sign_in(client, world.admin)
    for path in ["/manage", "/manage/missions/new", f"/manage/missions/{world.mission.slug}/edit",
                 f"/manage/missions/{world.mission.slug}/outcomes/new",
                 f"/manage/missions/{world.mission.slug}/board", "/manage/metrics/new",
                 f"/manage/metrics/{world.metric.slug}/edit",
                 f"/manage/metrics/{world.metric.slug}/targets/new",
                 f"/manage/metrics/{world.metric.slug}/targets/{world.target.id}/edit",
                 "/manage/upload", "/manage/tokens", "/sign-out", "/metrics"]:
        check_page(client.get(path))


def test_changing_a_published_target_needs_a_reason_and_is_shown(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.editor)
    path = f"/manage/metrics/{world.metric.slug}/targets/{world.target.id}/edit"
    form = client.get(path)
    data = {"csrf_token": csrf_from(form.text), "title": "Reach the target",
            "area_code": "E92000001", "baseline_value": "60", "baseline_period": "2024-07",
            "target_value": "85", "deadline": "2029-03-31", "horizon": "short",
            "shape": "linear", "milestones": "", "rationale": ""}
    refused = client.post(path, data=data)
    html = check_page(refused, status=422)
    assert "There is a problem" in html
    assert "Give a reason" in html
    session.expire_all()
    assert session.get(Target, world.target.id).target_value == 90.0  # type: ignore[union-attr]

    done = client.post(path, data={**data, "reason": "Re-based after the 2025 review"})
    assert done.status_code == 303
    public = TestClient(client.app, base_url="https://testserver")
    html = check_page(public.get(f"/metrics/{world.metric.slug}"))
    assert "Re-based after the 2025 review" in html
    assert "from <strong>90</strong> to <strong>85</strong>" in html
    # The mission page lists changes to its measures too, naming the metric.
    mission_html = check_page(public.get(f"/missions/{world.mission.slug}"))
    history = mission_html.split('id="changes"')[1]
    assert "Re-based after the 2025 review" in history
    assert world.metric.title in history
    assert session.scalar(select(func.count()).select_from(ChangeRecord)) == 1
    audit = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "targets",
                                                     AuditEntry.action == "update")).all()
    assert audit
    assert audit[-1].actor_id == world.editor.id
    assert audit[-1].changes["target_value"] == {"old": 90.0, "new": 85.0}


def test_bad_form_redisplays_with_error_summary(client: TestClient, world: World) -> None:
    sign_in(client, world.admin)
    form = client.get("/manage/missions/new")
    response = client.post("/manage/missions/new", data={
        "csrf_token": csrf_from(form.text), "slug": "Not A Slug", "title": "",
        "ambition": "x", "horizon_year": "soon"})
    html = check_page(response, status=422)
    assert "govuk-error-summary" in html
    assert 'href="#slug"' in html
    assert 'href="#title"' in html
    assert 'href="#horizon_year"' in html
    assert 'value="Not A Slug"' in html  # what the user typed is kept


def test_post_without_csrf_token_is_refused(client: TestClient, world: World) -> None:
    sign_in(client, world.admin)
    response = client.post("/manage/missions/new", data={
        "slug": "x", "title": "x", "ambition": "x", "horizon_year": "2030"})
    assert response.status_code == 403
    response = client.post("/manage/missions/new", data={
        "csrf_token": "forged", "slug": "x", "title": "x", "ambition": "x",
        "horizon_year": "2030"})
    assert response.status_code == 403


def test_sign_in_is_throttled(client: TestClient, world: World) -> None:
    page = client.get("/sign-in")
    token = csrf_from(page.text)
    for _ in range(5):
        r = client.post("/sign-in", data={"email": world.admin.email, "password": "wrong",
                                          "csrf_token": token})
        assert r.status_code == 422
    r = client.post("/sign-in", data={"email": world.admin.email,
                                      "password": "correct horse battery staple",
                                      "csrf_token": token})
    assert r.status_code == 429
    assert "Too many failed sign-in attempts" in r.text


def test_session_cookie_is_secure_and_http_only(client: TestClient, world: World) -> None:
    sign_in(client, world.admin)
    page = client.get("/sign-in")
    r = client.post("/sign-in", data={"email": world.admin.email,
                                      "password": "correct horse battery staple",
                                      "csrf_token": csrf_from(page.text)})
    cookie = r.headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_unknown_page_is_a_404_page(client: TestClient) -> None:
    html = check_page(client.get("/no-such-page"), status=404)
    assert "Page not found" in html


def test_edit_an_outcome_and_a_board_member(client: TestClient, world: World) -> None:
    sign_in(client, world.editor)
    slug = world.mission.slug
    path = f"/manage/missions/{slug}/outcomes/{world.outcome.slug}/edit"
    token = csrf_from(check_page(client.get(path)))
    r = client.post(path, data={"csrf_token": token, "title": "Healthier lives",
                                "description": "Longer, healthier lives"})
    assert r.status_code == 303
    assert "Healthier lives" in client.get(f"/missions/{slug}").text

    r = client.post(f"/manage/missions/{slug}/board", data={
        "csrf_token": token, "name": "Prime Minister", "role": "minister", "position": "chair"})
    assert r.status_code == 303
    r = client.post(f"/manage/missions/{slug}/board", data={
        "csrf_token": token, "name": "Secretary of State", "role": "minister",
        "position": "member"})
    board = check_page(client.get(f"/manage/missions/{slug}/board"))
    member_ids = re.findall(rf"/manage/missions/{slug}/board/(\d+)/edit", board)
    assert len(member_ids) == 2
    edit = f"/manage/missions/{slug}/board/{member_ids[1]}/edit"
    check_page(client.get(edit))
    clash = client.post(edit, data={"csrf_token": token, "name": "Secretary of State",
                                    "role": "minister", "position": "chair"})
    assert "The board already has a chair" in check_page(clash, status=422)
    ok = client.post(edit, data={"csrf_token": token, "name": "Secretary of State",
                                 "title": "Health", "role": "minister", "position": "lead"})
    assert ok.status_code == 303
    html = client.get(f"/missions/{slug}").text
    assert "Accountable lead" in html
    assert "Secretary of State, Health" in html


def test_metric_edit_changes_its_outcomes(client: TestClient, world: World,
                                          session: Session) -> None:
    sign_in(client, world.editor)
    path = f"/manage/metrics/{world.metric.slug}/edit"
    token = csrf_from(check_page(client.get(path)))
    form = {"csrf_token": token, "title": world.metric.title, "definition": "What is counted",
            "kind": "proportion", "unit": "percent", "polarity": "higher_is_better",
            "frequency": "monthly"}
    none = client.post(path, data=form)
    assert "Choose at least one outcome" in check_page(none, status=422)
    moved = client.post(path, data={**form, "outcomes": str(world.draft_outcome.id)})
    assert moved.status_code == 303
    session.expire_all()
    metric = session.get(Metric, world.metric.id)
    assert metric is not None
    assert [o.id for o in metric.outcomes] == [world.draft_outcome.id]


def test_create_and_revoke_an_api_token(client: TestClient, world: World) -> None:
    sign_in(client, world.publisher)
    token = csrf_from(client.get("/manage/tokens").text)
    created = check_page(client.post("/manage/tokens", data={"csrf_token": token,
                                                            "name": "nightly pipeline"}))
    secret = re.search(r'<code id="new-token">([^<]+)</code>', created)
    assert secret
    api = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client.get("/api/v1/areas", headers=api).status_code == 200
    token_id = re.search(r"/manage/tokens/(\d+)/revoke", created)
    assert token_id
    assert client.post(f"/manage/tokens/{token_id.group(1)}/revoke",
                       data={"csrf_token": token}).status_code == 303
    assert client.get("/api/v1/areas", headers=api).status_code == 401


def test_interventions_page_shows_estimates_and_the_optimism_adjustment(
    client: TestClient, world: World, session: Session
) -> None:
    import datetime as dt

    from missionboard.delivery.schemas import InterventionIn
    from missionboard.delivery.service import save_intervention

    save_intervention(session, mission=world.mission, data=InterventionIn(
        slug="pilot", title="A promising pilot", start=dt.date(2025, 1, 1),
        evidence_kind="academic_trial", evidence_strength="moderate",
        effects=[{"metric_slug": world.metric.slug, "area_code": "E92000001", "central": 10,
                  "low": 5, "high": 15}]))
    session.commit()
    html = check_page(client.get(f"/missions/{world.mission.slug}/interventions"))
    assert "A promising pilot" in html
    assert "16% of the estimate is counted" in html
    assert ">1.6<" in html  # 10 x 0.16 counted
    assert f"/missions/{world.mission.slug}/interventions" in client.get(
        f"/missions/{world.mission.slug}").text
    check_page(client.get(f"/missions/{world.draft_mission.slug}/interventions"), status=404)


def test_interventions_page_shows_the_plan_and_chain(
    client: TestClient, world: World, session: Session
) -> None:
    import datetime as dt

    from missionboard.delivery.schemas import ChainLinkIn, InterventionIn, PlanItemIn
    from missionboard.delivery.service import add_plan_item, save_intervention, set_chain

    saved = save_intervention(session, mission=world.mission, data=InterventionIn(
        slug="planned", title="A planned programme", start=dt.date(2025, 1, 1),
        evidence_kind="pilot_trial", evidence_strength="moderate"))
    add_plan_item(session, intervention=saved, data=PlanItemIn(
        kind="milestone", title="Long overdue milestone", owner="The department",
        due=dt.date(2020, 1, 1)))
    set_chain(session, intervention=saved, links=[ChainLinkIn(role="Accountable minister"),
                                                  ChainLinkIn(role="Local teams")])
    session.commit()
    html = check_page(client.get(f"/missions/{world.mission.slug}/interventions"))
    assert "Long overdue milestone" in html
    assert "govuk-tag--red\">Overdue" in html
    assert html.index("Accountable minister") < html.index("Local teams")
    assert "Overdue: <strong>1</strong>" in html
