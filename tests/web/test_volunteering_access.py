"""Who may see and change volunteering records, through HTTP on both databases: anonymous
visitors are sent to sign in; another organiser's staff, another mission's editor and a
moderator who is not the organiser are refused the organisers' pages and nothing is written;
the organiser and admins succeed; no personal data appears on public pages, in the API or in
the public export; the rate limit and the honeypot stop bulk and automated sign-ups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry, User
from missionboard.mail import OutboxMessage
from missionboard.volunteering import signups
from missionboard.volunteering.models import (
    HoursLog,
    HoursStatus,
    Opportunity,
    OpportunityMessage,
    OpportunityStatus,
    Signup,
    SignupAttempt,
)
from missionboard.volunteering.schemas import HoursIn
from tests.factories import World
from tests.volunteering import builders
from tests.web.conftest import check_page, csrf_from, sign_in

PERSON = {"name": "Philippa Quartermaine", "email": "philippa.q@example.org",
          "phone": "07700 900 482", "postcode": "LS6 2QF",
          "note": "Hearing aid user; Tuesdays best"}


@dataclass
class Setup:
    ours: Opportunity  # run by partner A
    theirs: Opportunity  # run by partner B
    public_body: Opportunity  # run by a public body: the mission's editors organise it
    a_staff: User
    b_staff: User
    unverified: User
    signup_id: int
    hours_id: int


@pytest.fixture
def setup(session: Session, world: World) -> Setup:
    builders.centroids(session)
    a, b = builders.partner(session, "charity-a"), builders.partner(session, "charity-b")
    a_staff = builders.staff(session, a, "staff@charity-a.example")
    b_staff = builders.staff(session, b, "staff@charity-b.example")
    unverified = builders.staff(session, a, "new@charity-a.example", verified=False)
    ours = builders.opportunity(session, world.mission, "ours", of=a)
    theirs = builders.opportunity(session, world.mission, "theirs", of=b)
    public_body = builders.opportunity(session, world.mission, "council")
    builders.sign_up(session, ours, PERSON["name"], PERSON["email"], phone=PERSON["phone"],
                     postcode=PERSON["postcode"], note=PERSON["note"])
    person = session.scalars(select(Signup).where(Signup.email == PERSON["email"])).one()
    signups.log_hours(session, signup=person, data=HoursIn(worked_on=signups.utc_today(),
                                                           hours=2))
    hours = signups.hours_of(session, person)[0]
    builders.sign_up(session, public_body, "Council Helper", "helper@example.org")
    session.commit()
    return Setup(ours, theirs, public_body, a_staff, b_staff, unverified, person.id, hours.id)


def _post(client: TestClient, path: str, data: dict[str, Any] | None = None) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**(data or {}), "csrf_token": token})


def _state(session: Session) -> tuple[Any, ...]:
    """Everything an organiser's action could change."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Signup)),
        tuple(session.scalars(select(HoursLog.status).order_by(HoursLog.id))),
        session.scalar(select(func.count()).select_from(OpportunityMessage)),
        session.scalar(select(func.count()).select_from(OutboxMessage)),
        session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "export")),
        tuple(session.execute(select(Opportunity.slug, Opportunity.status, Opportunity.title,
                                     Opportunity.capacity).order_by(Opportunity.id))),
    )


def _organiser_requests(s: Setup, slug: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    yield "GET", f"/volunteer/opportunities/{slug}/manage", {}
    yield "GET", f"/volunteer/opportunities/{slug}/edit", {}
    yield "GET", f"/volunteer/opportunities/{slug}/signups.csv", {}
    yield "POST", f"/volunteer/opportunities/{slug}/edit", {
        "title": "Taken over", "description": "x", "mode": "in_person", "postcode": "LS1 4AP",
        "time_kind": "regular", "dbs_check": "none", "capacity": "99"}
    yield "POST", f"/volunteer/opportunities/{slug}/hours/{s.hours_id}", {"decision": "confirm"}
    yield "POST", f"/volunteer/opportunities/{slug}/signups/{s.signup_id}/remove", {}
    yield "POST", f"/volunteer/opportunities/{slug}/messages", {
        "audience": "everyone", "subject": "Hello", "body": "Give me your data"}
    yield "POST", f"/volunteer/opportunities/{slug}/status", {"status": "closed"}


def _request(client: TestClient, method: str, path: str, data: dict[str, str]) -> Any:
    return client.get(path) if method == "GET" else _post(client, path, data)


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, session: Session,
                                                setup: Setup, world: World) -> None:
    before = _state(session)
    requests = [*_organiser_requests(setup, "ours"),
                ("GET", "/volunteer/organise", {}),
                ("GET", f"/missions/{world.mission.slug}/volunteering/new", {}),
                ("POST", f"/missions/{world.mission.slug}/volunteering/new", {"slug": "x"})]
    for method, path, data in requests:
        response = _request(client, method, path, data)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/sign-in"), (method, path)
    assert _state(session) == before


@pytest.mark.parametrize("who", ["b_staff", "unverified", "other_editor", "nobody",
                                 "moderator"])
def test_others_are_refused_and_nothing_is_written(client: TestClient, session: Session,
                                                   setup: Setup, world: World,
                                                   who: str) -> None:
    """Partner B's staff on partner A's opportunity; A's unverified member; another
    mission's editor; a signed-in citizen; and the mission's editor, who moderates A's
    opportunity but is not its organiser (the status change is theirs to make only as a
    moderator: closing is refused)."""
    user = {"b_staff": setup.b_staff, "unverified": setup.unverified,
            "other_editor": world.other_editor, "nobody": world.nobody,
            "moderator": world.editor}[who]
    sign_in(client, user)
    before = _state(session)
    for method, path, data in _organiser_requests(setup, "ours"):
        response = _request(client, method, path, data)
        if who == "moderator" and path.endswith("/status"):
            assert response.status_code == 409, path  # a moderator may not close it
        else:
            assert response.status_code == 403, (method, path, response.status_code)
        assert PERSON["email"] not in response.text
        assert PERSON["name"] not in response.text
    assert _state(session) == before


def test_another_missions_editor_cannot_run_a_public_bodys_opportunity(
        client: TestClient, session: Session, setup: Setup, world: World) -> None:
    sign_in(client, world.other_editor)
    before = _state(session)
    for method, path, data in _organiser_requests(setup, "council"):
        assert _request(client, method, path, data).status_code == 403, path
    assert _state(session) == before


def test_partner_staff_cannot_post_for_another_partner_or_a_public_body(
        client: TestClient, session: Session, setup: Setup, world: World) -> None:
    sign_in(client, setup.a_staff)
    before = _state(session)
    base = {"title": "Sneaky", "description": "x", "mode": "online", "time_kind": "regular",
            "dbs_check": "none", "retention_months": "12"}
    for organiser in (str(setup.theirs.partner_id), "public"):
        response = _post(client, f"/missions/{world.mission.slug}/volunteering/new",
                         {**base, "slug": f"sneaky-{organiser}", "organiser": organiser,
                          "public_body": "A council"})
        assert response.status_code == 403, organiser
    draft_mission = client.get(f"/missions/{world.draft_mission.slug}/volunteering/new")
    assert draft_mission.status_code == 404
    assert _state(session) == before


@pytest.mark.parametrize("who", ["a_staff", "admin"])
def test_the_organiser_and_admins_succeed(client: TestClient, session: Session, setup: Setup,
                                          world: World, who: str) -> None:
    sign_in(client, setup.a_staff if who == "a_staff" else world.admin)
    page = check_page(client.get("/volunteer/opportunities/ours/manage"))
    for value in PERSON.values():
        assert value.replace(";", "&#59;") in page or value in page
    export = client.get("/volunteer/opportunities/ours/signups.csv")
    assert PERSON["email"] in export.text
    assert _post(client, f"/volunteer/opportunities/ours/hours/{setup.hours_id}",
                 {"decision": "confirm"}).status_code == 303
    assert _post(client, "/volunteer/opportunities/ours/messages", {
        "audience": "everyone", "subject": "Welcome", "body": "Hello"}).status_code == 303
    assert _post(client, "/volunteer/opportunities/ours/edit", {
        "title": "Renamed", "description": "Grow things.", "mode": "in_person",
        "postcode": "LS1 4AP", "time_kind": "regular", "dbs_check": "none", "capacity": "5",
        "retention_months": "12"}).status_code == 303
    session.expire_all()
    assert session.get(HoursLog, setup.hours_id).status == HoursStatus.CONFIRMED  # type: ignore[union-attr]
    assert session.scalars(select(Opportunity.title).where(Opportunity.slug == "ours")).one() \
        == "Renamed"
    other = client.get("/volunteer/opportunities/theirs/manage")
    assert other.status_code == (403 if who == "a_staff" else 200)


def test_no_personal_data_in_public_pages_the_api_or_public_exports(
        client: TestClient, session: Session, setup: Setup, world: World) -> None:
    public = [
        "/volunteer", "/volunteer?postcode=LS1+4AP&radius=50", "/volunteer/opportunities/ours",
        "/volunteer/opportunities/ours/sign-up", "/volunteer/impact",
        "/volunteer/opportunities.csv", f"/missions/{world.mission.slug}",
        "/api/v1/volunteering/opportunities", "/api/v1/volunteering/opportunities/ours",
        "/api/v1/volunteering/opportunities?postcode=LS1%204AP",
        "/api/v1/volunteering/summary",
    ]
    # As anyone, and as another partner's staff.
    for user in (None, setup.b_staff):
        if user is not None:
            sign_in(client, user)
        for path in public:
            response = client.get(path)
            assert response.status_code == 200, path
            for value in [*PERSON.values(), "Council Helper", "helper@example.org"]:
                assert value not in response.text, (path, value)
    assert "1 person has a place" in client.get("/volunteer/opportunities/ours").text


def test_drafts_are_hidden_from_other_partners(client: TestClient, session: Session,
                                               setup: Setup, world: World) -> None:
    draft = builders.opportunity(session, world.mission, "ours-draft",
                                 of=setup.ours.partner, status=OpportunityStatus.DRAFT)
    session.commit()
    assert client.get(f"/volunteer/opportunities/{draft.slug}").status_code == 404
    sign_in(client, setup.b_staff)
    assert client.get(f"/volunteer/opportunities/{draft.slug}").status_code == 404
    assert client.get(f"/volunteer/opportunities/{draft.slug}/sign-up").status_code == 404
    assert client.get(f"/api/v1/volunteering/opportunities/{draft.slug}").status_code == 404


def test_the_rate_limit_stops_bulk_sign_ups(client: TestClient, session: Session,
                                            setup: Setup) -> None:
    path = "/volunteer/opportunities/council/sign-up"
    for n in range(signups.MAX_PER_IP):
        response = _post(client, path, builders.form(f"Person {n}", f"bulk{n}@example.org"))
        assert response.status_code == 303, response.text[:500]
    blocked = _post(client, path, builders.form("One Too Many", "late@example.org"))
    assert blocked.status_code == 429
    assert "Too many forms" in blocked.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Signup).where(
        Signup.email.like("bulk%"))) == signups.MAX_PER_IP
    assert session.scalar(select(func.count()).select_from(Signup).where(
        Signup.email == "late@example.org")) == 0
    attempts = session.scalars(select(SignupAttempt.ip_hash)).all()
    assert len(attempts) == signups.MAX_PER_IP
    assert set(attempts) == {signups.keyed_hash(builders.SECRET, "testclient")}


def test_the_same_email_is_limited_from_any_address(client: TestClient, session: Session,
                                                    setup: Setup) -> None:
    for slug in ("ours", "theirs", "council"):
        assert _post(client, f"/volunteer/opportunities/{slug}/sign-up",
                     builders.form("Eve", "eve@example.org")).status_code == 303
    blocked = _post(client, "/volunteer/opportunities/ours/sign-up",
                    builders.form("Eve", "EVE@example.org"))
    assert blocked.status_code == 429
    assert "Too many forms" in blocked.text


def test_the_honeypot_discards_a_bots_sign_up(client: TestClient, session: Session,
                                              setup: Setup) -> None:
    before = _state(session)
    response = _post(client, "/volunteer/opportunities/council/sign-up",
                     builders.form("Bot", "bot@example.org", website="https://spam.example"))
    assert response.status_code == 303  # the same answer a person gets
    assert "Check your email" in client.get(response.headers["location"]).text
    assert _state(session) == before
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Signup).where(
        Signup.email == "bot@example.org")) == 0
