"""Stocktake pages through HTTP, on both databases: the pack (page and PDF), who sees it,
the judgement form, actions, and external challenge on the public mission page."""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.missions import service as missions
from missionboard.missions.schemas import BoardMemberIn
from missionboard.stocktakes.models import Action, Judgement, Stocktake
from tests.factories import World
from tests.stocktakes.test_service import judgement_form
from tests.web.conftest import check_page, csrf_from, sign_in


def _post(client: TestClient, form_page: str, url: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(form_page).text)
    return client.post(url, data={**data, "csrf_token": token})


def _schedule(client: TestClient, w: World, *, meeting: str = "2025-09-10",
              as_of: str = "2025-08-31") -> int:
    slug = w.mission.slug
    response = _post(client, f"/manage/missions/{slug}/stocktakes/new",
                     f"/manage/missions/{slug}/stocktakes/new",
                     {"title": f"Stocktake {meeting}", "meeting_on": meeting, "as_of": as_of})
    assert response.status_code == 303, response.text
    match = re.search(r"/stocktakes/(\d+)$", response.headers["location"])
    assert match
    return int(match.group(1))


def _issue(client: TestClient, w: World, stocktake_id: int) -> None:
    page = f"/missions/{w.mission.slug}/stocktakes/{stocktake_id}"
    response = _post(client, page,
                     f"/manage/missions/{w.mission.slug}/stocktakes/{stocktake_id}/issue", {})
    assert response.status_code == 303


def _pdf_text(body: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def _link_board_member(session: Session, w: World, email: str, role: str = "official",
                       **extra: Any) -> None:
    missions.add_board_member(session, mission=w.mission, data=BoardMemberIn(
        name=email.split("@", maxsplit=1)[0].title(), role=role, account_email=email, **extra))
    session.commit()


def test_only_the_board_sees_an_unpublished_pack(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.editor)
    stocktake_id = _schedule(client, world)
    html = check_page(client.get(f"/missions/{world.mission.slug}/stocktakes/{stocktake_id}"))
    assert "Draft" in html
    assert world.metric.title in html
    client.cookies.clear()

    page = f"/missions/{world.mission.slug}/stocktakes/{stocktake_id}"
    check_page(client.get(page), status=404)
    assert client.get(page + "/pack.pdf").status_code == 404
    sign_in(client, world.viewer)  # may see drafts, but is not on this board
    check_page(client.get(page), status=404)

    _link_board_member(session, world, world.viewer.email)
    check_page(client.get(page))
    listing = check_page(client.get(f"/missions/{world.mission.slug}/stocktakes"))
    assert "Risk register" in listing
    assert "Stocktake 2025-09-10" in listing


def test_issue_publish_and_download_the_pack(client: TestClient, world: World) -> None:
    sign_in(client, world.editor)
    stocktake_id = _schedule(client, world)
    page = f"/missions/{world.mission.slug}/stocktakes/{stocktake_id}"
    draft_pdf = client.get(page + "/pack.pdf")
    assert draft_pdf.headers["content-type"] == "application/pdf"
    draft_text = _pdf_text(draft_pdf.content)
    assert "DRAFT" in draft_text
    assert world.metric.title in draft_text

    _issue(client, world, stocktake_id)
    html = check_page(client.get(page))
    digest = re.search(r'<code class="mb-digest">([0-9a-f]{64})</code>', html)
    assert digest
    issued_text = _pdf_text(client.get(page + "/pack.pdf").content)
    assert "DRAFT" not in issued_text
    assert "The meeting" not in issued_text  # nothing recorded yet
    assert digest.group(1) in issued_text.replace("\n", "")
    again = _post(client, page, f"/manage/missions/{world.mission.slug}/stocktakes/"
                  f"{stocktake_id}/issue", {})
    assert again.status_code == 409

    _post(client, page, f"/manage/missions/{world.mission.slug}/stocktakes/{stocktake_id}"
          "/publish", {})
    client.cookies.clear()
    public = check_page(client.get(page))
    assert world.metric.title in public
    # Judgements are not public on this mission: the public page does not show them.
    assert "Delivery judgement" not in public


def test_the_judgement_form_names_each_missing_criterion_and_saves_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.editor)
    stocktake_id = _schedule(client, world)
    _issue(client, world, stocktake_id)
    url = f"/manage/missions/{world.mission.slug}/stocktakes/{stocktake_id}/judgement"
    form = judgement_form()
    del form["engagement"]
    form["overall_reason"] = ""
    html = check_page(_post(client, url, url, form), status=422)
    assert "There is a problem" in html
    assert 'href="#engagement"' in html
    assert 'href="#overall_reason"' in html
    assert session.scalar(select(Judgement.id)) is None

    assert _post(client, url, url, judgement_form("amber_red")).status_code == 303
    page = check_page(client.get(f"/missions/{world.mission.slug}/stocktakes/{stocktake_id}"))
    assert "Amber-red" in page
    assert "Because of delivery_chain" in page


def test_actions_are_added_updated_and_reported_at_the_next_stocktake(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.editor)
    first = _schedule(client, world, meeting="2025-06-10", as_of="2025-05-31")
    page = f"/missions/{world.mission.slug}/stocktakes/{first}"
    actions_url = f"/manage/missions/{world.mission.slug}/stocktakes/{first}/actions"
    bad = check_page(_post(client, page, actions_url, {"title": "Do it", "owner": "",
                                                       "due": "soon"}), status=422)
    assert 'href="#owner"' in bad
    assert 'href="#due"' in bad
    assert session.scalar(select(Action.id)) is None
    assert _post(client, page, actions_url, {"title": "Publish data by trust", "owner": "DHSC",
                                             "due": "2025-07-31"}).status_code == 303
    action_id = session.scalar(select(Action.id))
    update = f"/manage/missions/{world.mission.slug}/actions/{action_id}"
    assert _post(client, update, update, {"status": "done", "completed_on": "2025-07-20",
                                          "progress": "Done early"}).status_code == 303

    second = _schedule(client, world, meeting="2025-09-10", as_of="2025-08-31")
    html = check_page(client.get(f"/missions/{world.mission.slug}/stocktakes/{second}"))
    last = html.split('id="last-actions"')[1].split("</table>")[0]
    assert "Publish data by trust" in last
    assert "Done" in last
    assert "Done early" in last


def test_published_challenges_and_public_judgements_on_the_mission_page(
    client: TestClient, world: World, session: Session
) -> None:
    _link_board_member(session, world, world.viewer.email, role="non_executive")
    _link_board_member(session, world, world.nobody.email, role="minister",
                       is_accountable_lead=True)
    sign_in(client, world.viewer)
    slug = world.mission.slug
    new = f"/manage/missions/{slug}/challenges/new"
    assert _post(client, new, new, {"question": "Is the trajectory credible?",
                                    "evidence": "", "raised_on": "2025-08-01"}
                 ).status_code == 303
    client.cookies.clear()
    assert "Is the trajectory credible?" not in client.get(f"/missions/{slug}").text

    sign_in(client, world.nobody)
    listing = check_page(client.get(f"/missions/{slug}/challenges"))
    answer = re.search(r'href="(/manage/missions/[^"]+/answer)"', listing)
    assert answer
    assert _post(client, answer.group(1), answer.group(1), {
        "answer": "Yes, see the fan chart", "answered_on": "2025-08-20"}).status_code == 303
    client.cookies.clear()

    sign_in(client, world.editor)
    stocktake_id = _schedule(client, world)
    _issue(client, world, stocktake_id)
    judgement = f"/manage/missions/{slug}/stocktakes/{stocktake_id}/judgement"
    _post(client, judgement, judgement, judgement_form("amber_green"))
    challenges = check_page(client.get(f"/missions/{slug}/challenges"))
    publish = re.search(r'action="(/manage/missions/[^"]+/publish)"', challenges)
    assert publish
    assert _post(client, f"/missions/{slug}/challenges", publish.group(1), {}
                 ).status_code == 303
    edit = f"/manage/missions/{slug}/edit"
    assert _post(client, edit, edit, {
        "title": world.mission.title, "ambition": world.mission.ambition,
        "horizon_year": "2035", "judgements_public": "yes",
        "reason": "The board agreed to publish its judgements"}).status_code == 303
    client.cookies.clear()

    html = check_page(client.get(f"/missions/{slug}"))
    assert "Is the trajectory credible?" in html
    assert "Yes, see the fan chart" in html
    assert "Amber-green" in html
    timeline = check_page(client.get(f"/missions/{slug}/stocktakes"))
    assert 'data-vega-spec="judgement-timeline-spec"' in timeline
    assert "Amber-green" in timeline
    assert "Risk register" not in timeline


def test_a_pack_is_frozen_through_the_web(
    client: TestClient, world: World, session: Session
) -> None:
    sign_in(client, world.editor)
    stocktake_id = _schedule(client, world)
    _issue(client, world, stocktake_id)
    stored = session.scalar(select(Stocktake.pack).where(Stocktake.id == stocktake_id))
    edit = f"/manage/missions/{world.mission.slug}/stocktakes/{stocktake_id}/edit"
    response = _post(client, edit, edit, {"title": "Renamed", "meeting_on": "2025-09-11",
                                           "as_of": "2025-09-01"})
    assert 'href="#as_of"' in check_page(response, status=422)
    session.expire_all()
    assert session.scalar(select(Stocktake.pack).where(Stocktake.id == stocktake_id)) == stored


def test_the_lead_finds_challenges_to_answer_on_the_manage_page(
    client: TestClient, world: World, session: Session
) -> None:
    _link_board_member(session, world, world.nobody.email, role="minister",
                       is_accountable_lead=True)
    sign_in(client, world.editor)
    new = f"/manage/missions/{world.mission.slug}/challenges/new"
    _post(client, new, new, {"question": "Who owns the data?", "raised_on": "2025-08-01"})
    manage = check_page(client.get("/manage"))
    assert f'href="/missions/{world.mission.slug}/stocktakes"' in manage
    client.cookies.clear()

    sign_in(client, world.nobody)
    manage = check_page(client.get("/manage"))
    assert "Challenges awaiting an answer" in manage
    assert "Who owns the data?" in manage
    assert f'href="/missions/{world.mission.slug}/stocktakes"' in manage
    assert f'href="/manage/missions/{world.mission.slug}/edit"' not in manage
