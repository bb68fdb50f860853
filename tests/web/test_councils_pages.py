"""Mission councils through the pages: an editor sets a council up and names its secretary;
the secretary records members, a meeting with its attendance, draft then published minutes
and a recommendation; the editor responds for the government; the public tracker shows the
counts, the overdue recommendations in plain sight, the balance chart with its table, the
meetings and the downloads; the mission page and the stocktake pack carry the council.
Every form shows GOV.UK error summaries and keeps what was typed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.councils import service
from missionboard.councils.models import Council, CouncilMeeting
from missionboard.stocktakes import service as stocktakes
from missionboard.stocktakes.schemas import StocktakeIn
from tests import factories
from tests.councils import builders
from tests.factories import World
from tests.web.conftest import check_page, csrf_from, sign_in


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**data, "csrf_token": token})


def _switch(client: TestClient, user: User) -> None:
    token = csrf_from(client.get("/sign-in").text)
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, user)


def _council(session: Session, slug: str = "health-council") -> Council:
    session.expire_all()
    return session.scalars(select(Council).where(Council.slug == slug)).one()


COUNCIL = {"slug": "health-council", "name": "Health Mission Council",
           "remit": "Challenges the government on the health mission.",
           "terms_of_reference": "Meets four times a year.\n\nResponds within eight weeks.",
           "max_sector_percent": "40", "response_weeks": "8",
           "required_sectors": ["citizen", "trade_union"]}
MEMBERS = [("Rosa Chair", "academia", "chair"), ("Bea Business", "business", "member"),
           ("Uma Union", "trade_union", "member"), ("Cit Izen", "citizen", "member")]


def test_a_council_from_set_up_to_the_governments_response(
        client: TestClient, world: World, session: Session) -> None:
    secretary = factories.user(session, "secretary@example.org")
    session.commit()
    mission = world.mission.slug
    # No council yet: the mission's council page says so, with the way to set one up.
    assert "does not have a council yet" in check_page(client.get(f"/missions/{mission}/council"))
    sign_in(client, world.editor)
    assert f"/missions/{mission}/council/new" in check_page(
        client.get(f"/missions/{mission}/council"))
    assert "Set up the mission council" in check_page(client.get(f"/missions/{mission}"))

    # The editor sets the council up: errors first, with what was typed kept.
    new = f"/missions/{mission}/council/new"
    check_page(client.get(new))
    bad = _post(client, new, {**COUNCIL, "name": "", "max_sector_percent": "120",
                              "required_sectors": ["citizen", "nonsense"]})
    html = check_page(bad, status=422)
    assert "There is a problem" in html
    assert 'href="#name"' in html
    assert 'href="#max_sector_percent"' in html
    assert 'href="#required_sectors"' in html
    assert "Meets four times a year." in html
    made = _post(client, new, COUNCIL)
    assert made.status_code == 303
    assert made.headers["location"] == "/councils/health-council/manage"
    council = _council(session)
    assert council.required_sectors == ["trade_union", "citizen"]
    check_page(client.get("/councils/health-council/edit"))
    assert _post(client, "/councils/health-council/edit",
                 {**COUNCIL, "name": "Health Council"}).status_code == 303
    assert _council(session).name == "Health Council"

    # ... and names the secretary.
    unknown = _post(client, "/councils/health-council/staff", {"email": "who@example.org"})
    assert "has an account" in check_page(unknown, status=422)
    assert _post(client, "/councils/health-council/staff",
                 {"email": secretary.email}).status_code == 303
    assert "Secretary" in check_page(client.get("/councils/health-council/manage"))

    # The secretary keeps the register of members.
    _switch(client, secretary)
    manage = check_page(client.get("/councils/health-council/manage"))
    assert "Record a meeting" in manage
    assert "Add to the secretariat" not in manage  # set-up is the editors'
    wrong = _post(client, "/councils/health-council/members/new", {
        "name": "Late", "sector": "business", "role": "member", "term_start": "2026-05-01",
        "term_end": "2026-01-01", "email": "not-an-email"})
    html = check_page(wrong, status=422)
    assert 'href="#term_end"' in html
    assert "cannot end before it starts" in html
    assert 'href="#email"' in html
    for name, sector, role in MEMBERS:
        done = _post(client, "/councils/health-council/members/new", {
            "name": name, "organisation": f"{name} Ltd", "sector": sector, "role": role,
            "term_start": "2026-01-01", "interests": "Shares" if role == "chair" else "",
            "email": f"{name.split()[0].lower()}@example.org", "phone": "020 7946 0000"})
        assert done.status_code == 303, done.text
    council = _council(session)
    ids = {m.name: m.id for m in council.members}
    check_page(client.get(f"/councils/health-council/members/{ids['Bea Business']}/edit"))

    # A meeting with its attendance.
    form = check_page(client.get("/councils/health-council/meetings/new"))
    assert f'name="attendance-{ids["Uma Union"]}"' in form
    missing = _post(client, "/councils/health-council/meetings/new", {
        "held_on": "", "title": "First meeting", "agenda": "1. Welcome",
        f"attendance-{ids['Rosa Chair']}": "present"})
    html = check_page(missing, status=422)
    assert 'href="#held_on"' in html
    assert "1. Welcome" in html
    done = _post(client, "/councils/health-council/meetings/new", {
        "held_on": "2026-03-10", "title": "First meeting", "agenda": "1. Welcome\n2. Waits",
        "others_present": "Officials",
        f"attendance-{ids['Rosa Chair']}": "present",
        f"attendance-{ids['Bea Business']}": "present",
        f"attendance-{ids['Uma Union']}": "apologies",
        f"attendance-{ids['Cit Izen']}": "absent"})
    assert done.status_code == 303, done.text
    meeting = session.scalars(select(CouncilMeeting)).one()
    assert done.headers["location"] == f"/councils/health-council/meetings/{meeting.id}"
    page = check_page(client.get(done.headers["location"]))
    assert "Rosa Chair (chair), Bea Business" in page
    assert "Uma Union" in page
    check_page(client.get(f"/councils/health-council/meetings/{meeting.id}/edit"))
    manage = check_page(client.get("/councils/health-council/manage"))
    assert "Remove<span class=\"govuk-visually-hidden\"> Cit Izen" in manage  # absent
    assert "Remove<span class=\"govuk-visually-hidden\"> Rosa Chair" not in manage

    # Draft minutes, then published.
    minutes = f"/councils/health-council/meetings/{meeting.id}/minutes"
    check_page(client.get(minutes))
    assert _post(client, minutes, {"minutes": "We met.\n\nWe agreed."}).status_code == 303
    empty = _post(client, f"{minutes}/publish", {"minutes": "  "})
    assert "Write the minutes" in check_page(empty, status=422)
    assert _post(client, f"{minutes}/publish", {"minutes": "We met.\n\nWe agreed."}
                 ).status_code == 303
    published = check_page(client.get(f"/councils/health-council/meetings/{meeting.id}"))
    assert "<p class=\"govuk-body\">We agreed.</p>" in published
    assert "Published minutes cannot change" in check_page(client.get(minutes))
    assert _post(client, minutes, {"minutes": "Rewritten"}).status_code == 409

    # A recommendation, made at the meeting: due eight weeks later by default.
    new_r = "/councils/health-council/recommendations/new"
    assert "First meeting, 10 March 2026" in check_page(client.get(new_r))
    bad = _post(client, new_r, {"title": "", "text": "Do it", "meeting_id": ""})
    html = check_page(bad, status=422)
    assert 'href="#title"' in html
    assert 'href="#made_on"' in html
    made = _post(client, new_r, {"title": "Publish waits", "text": "Publish them.",
                                 "meeting_id": str(meeting.id)})
    assert made.status_code == 303
    assert made.headers["location"] == "/councils/health-council/recommendations/1"
    page = check_page(client.get(made.headers["location"]))
    assert "5 May 2026" in page  # 10 March + 8 weeks
    assert "Overdue" in page
    assert "has not been given" in page
    check_page(client.get("/councils/health-council/recommendations/1/edit"))

    # The editor responds for the government: a rejection needs its reason.
    _switch(client, world.editor)
    respond = "/councils/health-council/recommendations/1/respond"
    check_page(client.get(respond))
    no_reason = _post(client, respond, {"kind": "rejected", "text": "", "reason": "",
                                        "responded_on": "2026-05-12"})
    html = check_page(no_reason, status=422)
    assert 'href="#text"' in html
    assert 'href="#reason"' in html
    assert "say why it was rejected" in html
    assert _post(client, respond, {"kind": "partly_accepted", "text": "In part.",
                                   "reason": "Not the costly part",
                                   "responded_on": "2026-05-12"}).status_code == 303
    page = check_page(client.get("/councils/health-council/recommendations/1"))
    assert "Partly accepted" in page
    assert "7 days after the due date" in page
    assert "Not the costly part" in page
    assert "Change the recommendation" not in page  # answered: fixed
    implementation = "/councils/health-council/recommendations/1/implementation"
    unchosen = _post(client, implementation, {"implementation": "", "updated_on": "2026-06-01"})
    assert 'href="#implementation"' in check_page(unchosen, status=422)
    early = _post(client, implementation, {"implementation": "in_progress",
                                           "updated_on": "2026-05-01"})
    html = check_page(early, status=422)
    assert 'href="#updated_on"' in html
    assert "before the response" in html
    assert _post(client, "/councils/health-council/recommendations/1/implementation",
                 {"implementation": "in_progress", "note": "Half the trusts",
                  "updated_on": "2026-06-01"}).status_code == 303
    assert "In progress" in check_page(client.get("/councils/health-council/recommendations/1"))

    # The public tracker, the index and the mission page.
    _switch(client, world.nobody)
    tracker = check_page(client.get("/councils/health-council"))
    assert "Partly accepted: <strong>1</strong>" in tracker
    assert "Rosa Chair" in tracker
    assert "rosa@example.org" not in tracker
    assert "Shares" in tracker  # declared interests are public
    index = check_page(client.get("/councils"))
    assert "/councils/health-council" in index
    mission_page = check_page(client.get(f"/missions/{mission}"))
    assert 'id="council"' in mission_page
    assert "/councils/health-council#recommendations" in mission_page
    redirect = client.get(f"/missions/{mission}/council")
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "/councils/health-council"


def test_overdue_recommendations_are_in_plain_sight(client: TestClient, world: World,
                                                    session: Session) -> None:
    council = builders.new_council(session, world.mission)
    builders.recommendation(session, council, title="Long ignored",
                            made_on=dt.date(2026, 1, 5))
    answered = builders.recommendation(session, council, title="Answered late",
                                       made_on=dt.date(2026, 1, 5))
    service.respond(session, recommendation=answered, today=builders.TODAY,
                    data=builders.response("rejected", dt.date(2026, 3, 9), reason="Costs"))
    session.commit()
    html = check_page(client.get("/councils/health-council"))
    warning = re.search(r'class="govuk-warning-text mb-council-overdue".*?</div>', html,
                        flags=re.S)
    assert warning
    assert "1 recommendation is overdue" in warning.group(0)
    overdue_table = html[warning.end():html.index("Every recommendation and its status")]
    assert "Long ignored" in overdue_table
    assert "Answered late" not in overdue_table
    assert "days past the due date" in overdue_table
    assert "7 days late" in html  # due 2 March, answered 9 March
    assert "Overdue: <strong>1</strong>" in html
    assert "Rejected: <strong>1</strong>" in html
    mission = check_page(client.get(f"/missions/{world.mission.slug}"))
    assert re.search(r'govuk-tag--red">Overdue</strong>: <strong>1</strong>', mission)


def test_the_balance_chart_its_table_and_its_flags(client: TestClient, world: World,
                                                   session: Session) -> None:
    council = builders.new_council(session, world.mission, required_sectors=["community"])
    for name in ("B2", "B3"):
        service.add_member(session, council=council, data=builders.member_data(name))
    session.commit()
    html = check_page(client.get("/councils/health-council"))
    assert "The balance is flagged" in html
    assert "Business holds 3 of the 7 seats (43%), more than the limit of 40%" in html
    assert "The remit needs a member from community group, and there is none" in html
    spec_text = re.search(r'<script type="application/json" id="balance-spec">(.*?)</script>',
                          html, flags=re.S)
    assert spec_text
    spec = json.loads(spec_text.group(1))
    bars, rule, label = spec["layer"]
    values = {v["sector"]: v for v in bars["data"]["values"]}
    assert values["Business (over the limit)"]["members"] == 3
    assert values["Community group (needed, none)"]["state"] == "Needed by the remit, missing"
    assert rule["mark"]["aria"] is False
    assert label["mark"]["aria"] is False
    assert rule["data"]["values"][0]["limit"] == 0.4
    table = html[html.index("Serving members by sector"):]
    assert "Over the limit" in table
    assert "Missing" in table
    sign_in(client, world.editor)
    assert "Flagged" in check_page(client.get("/councils/health-council/manage"))


def test_the_downloads(client: TestClient, world: World, session: Session) -> None:
    found = builders.setting(session, world.mission, world.draft_mission)
    session.commit()
    csv_response = client.get("/councils/health-council/recommendations.csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [(r["number"], r["title"], r["status"]) for r in rows] == [
        ("1", "Still open", "overdue"), ("2", "Answered", "accepted")]
    assert rows[1]["responded_on"] == "2026-05-01"
    assert rows[0]["meeting"] == str(found.meeting.id)
    body = client.get("/councils/health-council/recommendations.json").json()
    assert body["council"] == "health-council"
    assert [i["status"] for i in body["items"]] == ["overdue", "accepted"]
    assert body["counts"]["overdue"] == 1


def test_upcoming_meetings_and_members_not_yet_serving(client: TestClient, world: World,
                                                       session: Session) -> None:
    council = builders.new_council(session, world.mission)
    builders.meeting(session, council, held_on=dt.date(2099, 1, 5), title="Far future",
                     today=dt.date(2099, 1, 1))
    service.add_member(session, council=council, data=builders.member_data(
        "Future Member", term_start=dt.date(2099, 1, 1)))
    session.commit()
    html = check_page(client.get("/councils/health-council"))
    assert "Upcoming" in html
    assert "Appointed, term not yet started" in html
    meeting = session.scalars(select(CouncilMeeting)).one()
    page = check_page(client.get(f"/councils/health-council/meetings/{meeting.id}"))
    assert "(upcoming)" in page
    assert "1. Welcome" in page


def test_the_stocktake_pack_shows_the_council(client: TestClient, world: World,
                                              session: Session) -> None:
    council = builders.new_council(session, world.mission)
    builders.recommendation(session, council, title="Still unanswered",
                            made_on=dt.date(2026, 2, 1))
    stocktake = stocktakes.create_stocktake(session, mission=world.mission, data=StocktakeIn(
        title="Spring stocktake", meeting_on=dt.date(2026, 6, 1), as_of=dt.date(2026, 5, 1)))
    session.commit()
    sign_in(client, world.editor)
    html = check_page(client.get(f"/missions/{world.mission.slug}/stocktakes/{stocktake.id}"))
    section = html[html.index('id="council"'):]
    assert "Still unanswered" in section
    assert "Overdue" in section
    assert "days past the due date" in section
    pdf = client.get(f"/missions/{world.mission.slug}/stocktakes/{stocktake.id}/pack.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


def test_unknown_things_are_not_found(client: TestClient, world: World,
                                      session: Session) -> None:
    builders.new_council(session, world.mission)
    session.commit()
    for path in ("/councils/nope", "/councils/health-council/meetings/999",
                 "/councils/health-council/recommendations/9", "/missions/nope/council"):
        assert check_page(client.get(path), status=404)
    sign_in(client, world.editor)
    assert client.get("/councils/health-council/members/999/edit").status_code == 404
