"""Volunteering through the pages and the API: finding opportunities by postcode (distances
in miles and kilometres, nearest first, a page at a time), a volunteer's journey from the
sign-up form to their private page (hours, withdrawal), a partner's organiser posting an
opportunity that a mission editor moderates, the organiser running it (hours, messages, the
export), the public counts, and the API's problem+json answers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.mail import OutboxMessage
from missionboard.volunteering import signups
from missionboard.volunteering.models import (
    HoursLog,
    HoursStatus,
    Opportunity,
    OpportunityMessage,
    OpportunityStatus,
    Signup,
)
from tests.factories import World
from tests.volunteering import builders
from tests.web.conftest import check_page, csrf_from, sign_in


def _post(client: TestClient, path: str, data: dict[str, Any] | None = None) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**(data or {}), "csrf_token": token})


@pytest.fixture
def places(session: Session, world: World) -> dict[str, Opportunity]:
    builders.centroids(session)
    made = {
        "leeds": builders.opportunity(session, world.mission, "leeds", capacity=2),
        "manchester": builders.opportunity(session, world.mission, "manchester",
                                           postcode="M1 1AE", tags=["reading"],
                                           dbs_check="enhanced", minimum_age=18),
        "online": builders.opportunity(session, world.mission, "online", mode="online",
                                       postcode=""),
        "draft": builders.opportunity(session, world.mission, "draft",
                                      status=OpportunityStatus.DRAFT),
    }
    session.commit()
    return made


def test_finding_opportunities_by_postcode(client: TestClient, places: dict[str, Any]) -> None:
    everything = check_page(client.get("/volunteer"))
    assert "3 opportunities" in everything
    assert "Community garden (draft)" not in everything
    near = check_page(client.get("/volunteer", params={"postcode": "m1 1ae", "radius": "10"}))
    assert "within 10 miles (16 km) of M1 1AE, and online" in near
    assert near.index("Community garden (manchester)") < near.index("Community garden (online)")
    assert "Community garden (leeds)" not in near
    assert "0.0 miles (0.0 km)</strong> away" in near
    wide = check_page(client.get("/volunteer", params={"postcode": "M1 9ZZ", "radius": "50"}))
    assert "distances are from the centre of M1" in wide
    assert "miles (" in wide
    assert wide.index("(manchester)") < wide.index("(leeds)") < wide.index("(online)")
    by_tag = check_page(client.get("/volunteer", params={"tag": "Reading"}))
    assert "1 opportunity" in by_tag
    bad = check_page(client.get("/volunteer", params={"postcode": "nowhere"}), status=422)
    assert "There is a problem" in bad
    assert "Enter a real UK postcode" in bad


def test_results_come_a_page_at_a_time(client: TestClient, session: Session,
                                       world: World) -> None:
    builders.centroids(session)
    for n in range(23):
        builders.opportunity(session, world.mission, f"place-{n}")
    session.commit()
    first = check_page(client.get("/volunteer", params={"postcode": "LS1 4AP"}))
    assert "Page 1 of 2" in first
    assert first.count('<h2 class="govuk-summary-card__title"') == 20
    second = check_page(client.get("/volunteer", params={"postcode": "LS1 4AP", "page": "2"}))
    assert second.count('<h2 class="govuk-summary-card__title"') == 3


def test_a_volunteer_signs_up_logs_hours_and_withdraws(client: TestClient, session: Session,
                                                        places: dict[str, Any]) -> None:
    page = check_page(client.get("/volunteer/opportunities/leeds"))
    assert "2 of 2 places left" in page
    form = check_page(client.get("/volunteer/opportunities/leeds/sign-up"))
    assert 'name="started"' in form
    assert 'name="website"' in form  # the honeypot, hidden from people
    assert "Only <strong>Leeds City Council</strong>" in form
    assert "12 months after the opportunity closes" in form

    missing = _post(client, "/volunteer/opportunities/leeds/sign-up",
                    builders.form(consent_store="", consent_contact="", email="nope"))
    html = check_page(missing, status=422)
    assert "There is a problem" in html
    assert "Enter an email address like name@example.com" in html
    assert "Tick the box to agree to us keeping your details" in html
    fast = _post(client, "/volunteer/opportunities/leeds/sign-up",
                 builders.form(seconds_ago=0))
    assert "The form was sent too quickly" in check_page(fast, status=422)

    done = _post(client, "/volunteer/opportunities/leeds/sign-up",
                 builders.form(phone="01632 960 001", postcode="ls6 1aa"))
    assert done.status_code == 303
    assert done.headers["location"] == "/volunteer/opportunities/leeds/thank-you?result=signed_up"
    assert "Check your email" in check_page(client.get(done.headers["location"]))
    session.expire_all()
    token = builders.link_token(session, "pat@example.org")
    assert "1 of 2 places left" in check_page(client.get("/volunteer/opportunities/leeds"))

    own = client.get(f"/volunteer/manage/{token}")
    html = check_page(own)
    assert own.headers["cache-control"] == "no-store"
    assert own.headers["referrer-policy"] == "no-referrer"
    assert "You have a place" in html
    future = _post(client, f"/volunteer/manage/{token}/hours",
                   {"worked_on": "2999-01-01", "hours": "2"})
    assert "The day cannot be in the future" in check_page(future, status=422)
    logged = _post(client, f"/volunteer/manage/{token}/hours",
                   {"worked_on": signups.utc_today().isoformat(), "hours": "2.5",
                    "note": "Weeding"})
    assert logged.status_code == 303
    assert "Waiting for the organiser" in check_page(client.get(f"/volunteer/manage/{token}"))

    unsure = _post(client, f"/volunteer/manage/{token}/withdraw", {})
    assert "Tick the box to confirm" in check_page(unsure, status=422)
    gone = _post(client, f"/volunteer/manage/{token}/withdraw", {"confirm": "yes"})
    assert gone.status_code == 303
    assert "Your details have been deleted" in check_page(client.get(gone.headers["location"]))
    assert client.get(f"/volunteer/manage/{token}").status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Signup)) == 0
    assert session.scalar(select(func.count()).select_from(HoursLog)) == 0


def test_the_waiting_list_and_a_new_link(client: TestClient, session: Session,
                                         places: dict[str, Any]) -> None:
    for n in range(3):
        response = _post(client, "/volunteer/opportunities/leeds/sign-up",
                         builders.form(f"Person {n}", f"p{n}@example.org"))
        assert response.status_code == 303
    assert response.headers["location"].endswith("result=waitlisted&position=1")
    assert "number 1 on the waiting list" in check_page(client.get(response.headers["location"]))
    assert "Join the waiting list" in check_page(client.get("/volunteer/opportunities/leeds"))
    session.expire_all()
    old = builders.link_token(session, "p2@example.org")
    assert "On the waiting list (number 1)" in check_page(client.get(f"/volunteer/manage/{old}"))

    form = check_page(client.get("/volunteer/new-link"))
    assert 'name="website"' in form
    sent = _post(client, "/volunteer/new-link", builders.form(email="P2@example.org"))
    assert "we have sent it a new private link" in check_page(sent)
    unknown = _post(client, "/volunteer/new-link", builders.form(email="who@example.org"))
    assert check_page(unknown) == check_page(sent).replace("P2@example.org", "who@example.org")
    session.expire_all()
    assert client.get(f"/volunteer/manage/{old}").status_code == 404
    new = builders.link_token(session, "p2@example.org")
    assert new != old
    check_page(client.get(f"/volunteer/manage/{new}"))


def test_a_partner_posts_and_a_mission_editor_moderates(client: TestClient, session: Session,
                                                        world: World) -> None:
    builders.centroids(session)
    charity = builders.partner(session, "food-bank")
    staff = builders.staff(session, charity, "organiser@food-bank.example")
    session.commit()
    sign_in(client, staff)
    organise = check_page(client.get("/volunteer/organise"))
    assert f"/missions/{world.mission.slug}/volunteering/new" in organise
    assert f"/missions/{world.draft_mission.slug}/volunteering/new" not in organise
    form = check_page(client.get(f"/missions/{world.mission.slug}/volunteering/new"))
    assert "Partner food-bank" in form
    assert 'value="public"' not in form  # staff post for their partner, not a public body
    values = {"slug": "food-sorting", "organiser": str(charity.id), "title": "Food sorting",
              "description": "Sort donations.", "mode": "in_person", "postcode": "M1 1AE",
              "time_kind": "one_off", "hours": "3", "tags": "Food, Community",
              "dbs_check": "none", "capacity": "10", "waitlist": "yes",
              "retention_months": "12"}
    bad = _post(client, f"/missions/{world.mission.slug}/volunteering/new",
                {**values, "title": "", "postcode": "XX"})
    html = check_page(bad, status=422)
    assert "Enter title" in html
    assert "The postcode: enter a UK postcode" in html
    made = _post(client, f"/missions/{world.mission.slug}/volunteering/new", values)
    assert made.status_code == 303
    assert made.headers["location"] == "/volunteer/opportunities/food-sorting/manage"
    check_page(client.get("/volunteer/opportunities/food-sorting/edit"))
    assert _post(client, "/volunteer/opportunities/food-sorting/status",
                 {"status": "pending"}).status_code == 303
    assert "Waiting for moderation" in check_page(
        client.get("/volunteer/opportunities/food-sorting/manage"))
    published = _post(client, "/volunteer/opportunities/food-sorting/status",
                      {"status": "published"})
    assert published.status_code == 409  # organisers do not publish their own
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    assert client.get("/volunteer/opportunities/food-sorting").status_code == 404

    sign_in(client, world.editor)
    queue = check_page(client.get("/volunteer/organise"))
    assert "Waiting for your moderation (1)" in queue
    page = check_page(client.get("/volunteer/opportunities/food-sorting"))
    assert "Moderation" in page
    assert client.get("/volunteer/opportunities/food-sorting/manage").status_code == 403
    no_note = _post(client, "/volunteer/opportunities/food-sorting/status", {"status": "draft"})
    assert no_note.status_code == 422
    assert _post(client, "/volunteer/opportunities/food-sorting/status",
                 {"status": "published"}).status_code == 303
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    public = check_page(client.get("/volunteer/opportunities/food-sorting"))
    assert "Run by <strong>Partner food-bank</strong>" in public
    assert "10 of 10 places left" in public


def test_the_organiser_runs_the_opportunity(client: TestClient, session: Session,
                                           world: World, places: dict[str, Any]) -> None:
    leeds = places["leeds"]
    builders.sign_up(session, leeds, note="Free on Saturdays")
    builders.sign_up(session, leeds, "Sam Second", "sam@example.org")
    builders.sign_up(session, leeds, "Wendy Waiting", "wendy@example.org")
    person = session.scalars(select(Signup).where(Signup.email == "pat@example.org")).one()
    signups.log_hours(session, signup=person, data=signups.HoursIn(
        worked_on=signups.utc_today(), hours=3, note="Planting"))
    session.commit()
    hours = signups.hours_of(session, person)[0]

    sign_in(client, world.editor)  # a public body's opportunity: the mission's editors run it
    page = client.get("/volunteer/opportunities/leeds/manage")
    html = check_page(page)
    assert page.headers["cache-control"] == "no-store"
    assert "Personal data" in html
    assert "pat@example.org" in html
    assert "Free on Saturdays" in html
    assert "2 taken of 2: full: join the waiting list; 1 on the waiting list" in html
    assert "Hours to confirm (1)" in html
    assert _post(client, f"/volunteer/opportunities/leeds/hours/{hours.id}",
                 {"decision": "confirm"}).status_code == 303
    session.expire_all()
    assert session.get(HoursLog, hours.id).status == HoursStatus.CONFIRMED  # type: ignore[union-attr]
    assert "3.0 hours" in check_page(client.get("/volunteer/opportunities/leeds"))

    empty = _post(client, "/volunteer/opportunities/leeds/messages",
                  {"audience": "signed_up", "subject": "", "body": ""})
    assert "Enter subject" in check_page(empty, status=422)
    sent = _post(client, "/volunteer/opportunities/leeds/messages",
                 {"audience": "signed_up", "subject": "Bring gloves", "body": "See you."})
    assert sent.status_code == 303
    assert "Bring gloves" in check_page(client.get("/volunteer/opportunities/leeds/manage"))
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.subject.startswith("Bring gloves"))) == 2
    assert session.scalars(select(OpportunityMessage.recipients)).one() == 2

    export = client.get("/volunteer/opportunities/leeds/signups.csv")
    assert export.status_code == 200
    assert export.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["name"], r["status"], r["hours_confirmed"]) for r in rows] == [
        ("Pat Volunteer", "signed_up", "3"), ("Sam Second", "signed_up", "0"),
        ("Wendy Waiting", "waitlisted", "0")]
    session.expire_all()
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert audit.actor_id == world.editor.id

    removed = _post(client, f"/volunteer/opportunities/leeds/signups/{person.id}/remove")
    assert removed.status_code == 303
    session.expire_all()
    assert session.scalars(select(Signup.email).order_by(Signup.id)).all() == [
        "sam@example.org", "wendy@example.org"]
    assert session.scalars(select(Signup.status).where(
        Signup.email == "wendy@example.org")).one().value == "signed_up"


def test_public_counts_and_the_mission_page(client: TestClient, session: Session,
                                           world: World, places: dict[str, Any]) -> None:
    builders.sign_up(session, places["leeds"])
    session.commit()
    impact = check_page(client.get("/volunteer/impact"))
    assert "1 person has a place on 3 opportunities" in impact
    assert ">E12000003</th>" in impact  # an area the areas table does not name: its code
    assert "Online, or no area known" in impact
    assert "data-vega-spec" in impact
    assert '"mark": {"type": "bar"' in impact  # the chart's spec, not a stray object
    public_csv = client.get("/volunteer/opportunities.csv")
    rows = list(csv.DictReader(io.StringIO(public_csv.text)))
    assert sorted(r["slug"] for r in rows) == ["leeds", "manchester", "online"]
    assert {r["signed_up"] for r in rows if r["slug"] == "leeds"} == {"1"}
    mission = check_page(client.get(f"/missions/{world.mission.slug}"))
    assert 'id="volunteering"' in mission
    assert "1 person has signed up to volunteer for this mission" in mission


# The API -----------------------------------------------------------------------------------

def test_the_api_lists_opportunities_by_distance(client: TestClient,
                                                 places: dict[str, Any]) -> None:
    body = client.get("/api/v1/volunteering/opportunities",
                      params={"postcode": "M1 1AE", "radius_miles": 50, "limit": 2}).json()
    assert [i["slug"] for i in body["items"]] == ["manchester", "leeds"]
    assert body["total"] == 3
    assert body["origin"] == "M1 1AE"
    assert body["items"][0]["distance_km"] == 0
    leeds = body["items"][1]
    assert 50 < leeds["distance_km"] < 60
    assert leeds["distance_miles"] == pytest.approx(leeds["distance_km"] / 1.609344, abs=1e-3)
    assert leeds["places_left"] == 2
    assert "offset=2" in body["next"]
    rest = client.get(body["next"]).json()
    assert [i["slug"] for i in rest["items"]] == ["online"]
    assert rest["items"][0]["distance_km"] is None
    assert rest["next"] is None
    one = client.get("/api/v1/volunteering/opportunities/manchester").json()
    assert (one["dbs_check"], one["minimum_age"], one["tags"]) == ("enhanced", 18, ["reading"])
    summary = client.get("/api/v1/volunteering/summary").json()
    assert summary["opportunities"] == 3


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"postcode": "not a postcode"}, 422, "postcode"),
    ({"postcode": "ZE1 0AA"}, 422, "postcode"),
    ({"radius_miles": "0"}, 422, "query.radius_miles"),
    ({"where": "moon"}, 422, "query.where"),
    ({"limit": "1000"}, 422, "query.limit"),
    ({"mission": "no-such-mission"}, 404, None),
])
def test_the_api_answers_bad_requests_with_problems(client: TestClient, places: dict[str, Any],
                                                    params: dict[str, str], status: int,
                                                    field: str | None) -> None:
    response = client.get("/api/v1/volunteering/opportunities", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert body["errors"][0]["field"] == field


def test_drafts_are_not_in_the_api(client: TestClient, places: dict[str, Any]) -> None:
    missing = client.get("/api/v1/volunteering/opportunities/draft")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    listed = client.get("/api/v1/volunteering/opportunities", params={"limit": 100}).json()
    assert "draft" not in [i["slug"] for i in listed["items"]]
