"""Partners and their commitments through the pages and the API: an organisation registers
(its form's errors, the honeypot, the rate limit), its member of staff confirms the emailed
link, makes a commitment that stays hidden until a moderator approves it, reports progress
and changes its terms on the public record; the register, its filters and downloads; the
mission page's section; counting a pledge in the trajectory; the API's problem+json."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import User
from missionboard.mail import OutboxMessage
from missionboard.partners import service
from missionboard.partners.models import Commitment, ModerationStatus, Partner, PartnerMember
from tests.factories import World
from tests.partners import builders
from tests.web.conftest import check_page, csrf_from, sign_in

ORGANISATION = {
    "name": "Acme Widgets Ltd", "kind": "business", "sector": "manufacturing",
    "size": "medium", "website": "https://acme.example", "web_domain": "acme.example",
    "company_number": "01234567", "area_codes": "E92000001",
}
PERSON = {"person_name": "Jo Bloggs", "email": "jo@acme.example", "job_title": "Lead",
          "password": "correct horse battery staple"}


def _post(client: TestClient, path: str, data: dict[str, Any] | None = None) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**(data or {}), "csrf_token": token})


def _count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _bearer(session: Session, user: User) -> dict[str, str]:
    _, secret = accounts.create_api_token(session, user=user, name="reports")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_an_organisation_registers_and_its_staff_confirm_the_link(
        client: TestClient, world: World, session: Session) -> None:
    check_page(client.get("/partners/register"))
    bad = _post(client, "/partners/register", {
        **ORGANISATION, "name": "", "kind": "", "company_number": "12", **PERSON,
        "password": "short", "email": "not an email"})
    html = check_page(bad, status=422)
    assert "There is a problem" in html
    for expected in ("Enter name", "The kind:", "The company number",
                     "Enter an email address, like name@example.org"):
        assert expected in html, expected
    assert _count(session, Partner) == 0
    made = _post(client, "/partners/register", {**ORGANISATION, **PERSON})
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/partners/acme-widgets-ltd/manage"
    manage = check_page(client.get("/partners/acme-widgets-ltd/manage"))
    assert "Follow the link we emailed to jo@acme.example" in manage
    assert "Make a commitment" not in manage  # not verified yet
    # Not public until moderated.
    client.cookies.clear()
    assert client.get("/partners/acme-widgets-ltd").status_code == 404
    assert "Acme" not in check_page(client.get("/partners"))
    # The link: a page with a button (mail scanners must not use it up), then verified.
    message = session.scalars(select(OutboxMessage)).one()
    link = message.body.split("https://testserver")[1].split()[0]
    check_page(client.get(link))
    confirmed = _post(client, link)
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/sign-in?next=/partners/acme-widgets-ltd/manage"
    member = session.scalars(select(PartnerMember)).one()
    assert member.verified
    assert _post(client, link).status_code == 404  # once only


def test_a_signed_in_user_registers_without_a_new_account(
        client: TestClient, world: World, session: Session) -> None:
    users = _count(session, User)
    sign_in(client, world.nobody)
    page = check_page(client.get("/partners/register"))
    assert "You are signed in as" in page
    assert 'name="password"' not in page
    made = _post(client, "/partners/register", {**ORGANISATION, "web_domain": ""})
    assert made.status_code == 303, made.text
    member = session.scalars(select(PartnerMember)).one()
    assert member.user_id == world.nobody.id
    assert _count(session, User) == users  # no new account


def test_the_honeypot_and_the_rate_limit(client: TestClient, world: World,
                                         session: Session) -> None:
    bot = _post(client, "/partners/register", {**ORGANISATION, **PERSON,
                                               "contact_fax": "0123"})
    assert bot.status_code == 303
    assert bot.headers["location"] == "/partners/registered"
    check_page(client.get("/partners/registered"))
    assert (_count(session, Partner), _count(session, OutboxMessage)) == (0, 0)
    users = _count(session, User)
    for n in range(service.MAX_PER_IP - 1):  # different people, one address
        client.cookies.clear()
        response = _post(client, "/partners/register", {
            **ORGANISATION, "name": f"Org {n}", **PERSON, "email": f"p{n}@acme.example"})
        assert response.status_code == 303
    refused = _post(client, "/partners/register", {
        **ORGANISATION, "name": "One too many", **PERSON, "email": "late@acme.example"})
    assert "Too many forms" in check_page(refused, status=429)
    assert _count(session, Partner) == service.MAX_PER_IP - 1
    assert _count(session, User) == users + service.MAX_PER_IP - 1


def _staff(session: Session, world: World) -> Partner:
    acme = builders.partner(session, staff=world.nobody)
    session.commit()
    return acme


COMMITMENT = {
    "mission_slug": "published-mission", "title": "Retrofit 500 homes", "kind": "target",
    "unit": "homes", "baseline": "0", "target": "500", "start_on": "2025-01-01",
    "deadline": "2027-01-01", "schedule": "quarterly", "area_code": "E92000001",
    "pledged_money": "£1,250,000",
}


def test_a_commitment_is_moderated_reported_on_and_changed_in_public(
        client: TestClient, world: World, session: Session) -> None:
    acme = _staff(session, world)
    sign_in(client, world.nobody)
    chooser = check_page(client.get(f"/partners/{acme.slug}/commitments/new"))
    assert "Which mission is it for?" in chooser
    form = check_page(client.get(f"/partners/{acme.slug}/commitments/new"
                                 "?mission=published-mission"))
    assert world.metric.title in form
    bad = _post(client, f"/partners/{acme.slug}/commitments/new",
                {**COMMITMENT, "baseline": "", "unit": "", "deadline": "2024-01-01"})
    html = check_page(bad, status=422)
    for message in ("A measurable target needs the baseline", "Say what is measured",
                    "The deadline must be after the start"):
        assert message in html
    made = _post(client, f"/partners/{acme.slug}/commitments/new", COMMITMENT)
    assert made.status_code == 303, made.text
    commitment = session.scalars(select(Commitment)).one()
    assert commitment.pledged_money == 1_250_000
    assert made.headers["location"] == f"/commitments/{commitment.id}"
    assert "Awaiting moderation" in check_page(client.get(made.headers["location"]))

    # Hidden from the public until a moderator approves it.
    client.cookies.clear()
    assert client.get(f"/commitments/{commitment.id}").status_code == 404
    assert "Retrofit 500 homes" not in check_page(client.get("/commitments"))
    assert "Retrofit" not in client.get("/commitments.csv").text
    sign_in(client, world.editor)
    queue = check_page(client.get("/partners/moderation"))
    assert "Retrofit 500 homes" in queue
    assert "Staff awaiting verification" not in queue  # administrators only
    refused = _post(client, f"/commitments/{commitment.id}/moderate", {"decision": "reject"})
    assert "Say why it is rejected" in check_page(refused, status=422)
    assert _post(client, f"/commitments/{commitment.id}/moderate",
                 {"decision": "approve"}).status_code == 303
    assert _post(client, f"/commitments/{commitment.id}/verification",
                 {"verification": "evidenced"}).status_code == 303
    client.cookies.clear()
    public = check_page(client.get(f"/commitments/{commitment.id}"))
    assert "25% optimism discount" in public
    assert "Retrofit 500 homes" in check_page(client.get("/commitments?kind=target"))

    # The partner reports progress.
    sign_in(client, world.nobody)
    check_page(client.get(f"/commitments/{commitment.id}/report"))
    bad = _post(client, f"/commitments/{commitment.id}/report",
                {"period_end": "2025-06-30", "narrative": ""})
    html = check_page(bad, status=422)
    assert "Enter the homes at the end of the period" in html
    assert "Enter narrative" in html
    done = _post(client, f"/commitments/{commitment.id}/report", {
        "period_end": "2025-06-30", "value": "120", "money_spent": "300,000",
        "narrative": "Two estates done", "evidence_url": "https://acme.example/report"})
    assert done.status_code == 303, done.text
    page = check_page(client.get(f"/commitments/{commitment.id}"))
    assert "Two estates done" in page
    assert "https://acme.example/report" in page

    # A change to the public terms needs a reason, and is shown under the partner's name.
    check_page(client.get(f"/commitments/{commitment.id}/edit"))
    no_reason = _post(client, f"/commitments/{commitment.id}/edit",
                      {**COMMITMENT, "target": "450"})
    assert "Give a reason for this change" in check_page(no_reason, status=422)
    assert _post(client, f"/commitments/{commitment.id}/edit", {
        **COMMITMENT, "target": "450", "reason": "Two blocks were demolished"}
    ).status_code == 303
    client.cookies.clear()
    public = check_page(client.get(f"/commitments/{commitment.id}"))
    assert "Two blocks were demolished" in public
    assert "Acme Widgets Ltd (partner)" in public
    assert world.nobody.name not in public
    assert world.nobody.email not in public


def test_the_register_filters_pages_and_downloads(client: TestClient, world: World,
                                                  session: Session) -> None:
    acme = builders.partner(session)
    for n in range(53):
        builders.commitment(session, acme, title=f"Pledge {n:02d}", kind="money",
                            pledged_money=1000 + n)
    builders.commitment(session, acme, title="An action", kind="action")
    session.commit()
    first = check_page(client.get("/commitments"))
    assert "54 commitments" in first
    assert "Page 1 of 2" in first
    assert "An action" in first
    second = check_page(client.get("/commitments?page=2"))
    assert "Pledge 00" in second
    filtered = check_page(client.get("/commitments?kind=action&mission=published-mission"))
    assert "1 commitment<" in filtered
    assert "/commitments.csv?mission=published-mission&amp;kind=action" in filtered
    assert client.get("/commitments?kind=nonsense").status_code == 400
    rows = list(csv.DictReader(io.StringIO(client.get("/commitments.csv?kind=money").text)))
    assert len(rows) == 53
    assert rows[0]["title"] == "Pledge 52"
    body = client.get("/commitments.json?kind=action").json()
    assert [c["title"] for c in body["commitments"]] == ["An action"]
    assert body["meta"]["filters"] == {"kind": "action"}
    assert client.get("/commitments.json").headers["content-disposition"].startswith(
        "attachment")
    partners = check_page(client.get("/partners"))
    assert "Acme Widgets Ltd" in partners
    page = check_page(client.get(f"/partners/{acme.slug}"))
    assert "Ask to act for it" in page
    check_page(client.get(f"/partners/{acme.slug}/join"))


def test_the_mission_page_shows_what_partners_pledged_and_delivered(
        client: TestClient, world: World, session: Session) -> None:
    empty = check_page(client.get(f"/missions/{world.mission.slug}"))
    assert "No partner has made a public commitment to this mission yet" in empty
    acme = builders.partner(session)
    region = builders.region(session)
    money = builders.commitment(session, acme, kind="money", pledged_money=40_000,
                                area_code=region.code)
    builders.report(session, money, dt.date(2025, 3, 1), money_spent=10_000, hours_given=25)
    builders.commitment(session, acme, metric_slug=world.metric.slug, baseline=60, target=65)
    session.commit()
    html = check_page(client.get(f"/missions/{world.mission.slug}"))
    assert "What partners have pledged and delivered" in html
    assert "£40,000" in html
    assert "£10,000" in html
    assert "Manufacturing" in html
    assert 'data-vega-spec="partner-map-spec"' in html
    assert "North East" in html
    assert "Measured effect pledged" in html
    assert "/vendor/vega-lite/vega-lite.min.js" in html
    totals = list(csv.reader(io.StringIO(
        client.get(f"/missions/{world.mission.slug}/partners.csv").text)))
    assert totals[1][:3] == ["All partners", "", "2"]
    assert client.get(f"/missions/{world.mission.slug}/partners.json").json()[
        "overall"]["pledged_money"] == 40_000
    assert client.get(f"/missions/{world.draft_mission.slug}/partners.csv").status_code == 404


def test_an_editor_counts_a_pledge_in_the_trajectory(client: TestClient, world: World,
                                                     session: Session) -> None:
    acme = builders.partner(session)
    c = builders.commitment(session, acme, metric_slug=world.metric.slug, baseline=60,
                            target=62)
    session.commit()
    sign_in(client, world.other_editor)
    assert _post(client, f"/commitments/{c.id}/count").status_code == 403
    sign_in(client, world.editor)
    assert "Count it in the trajectory" in check_page(client.get(f"/commitments/{c.id}"))
    assert _post(client, f"/commitments/{c.id}/count").status_code == 303
    page = check_page(client.get(f"/commitments/{c.id}"))
    assert "Counted as the intervention" in page
    assert "50% optimism discount" in page
    interventions = check_page(client.get(f"/missions/{world.mission.slug}/interventions"))
    assert "50% optimism discount" in interventions
    assert f"/commitments/{c.id}" in interventions
    assert _post(client, f"/commitments/{c.id}/count").status_code == 409


def test_withdrawing_and_the_outbox(client: TestClient, world: World,
                                    session: Session) -> None:
    acme = _staff(session, world)
    c = builders.commitment(session, acme)
    session.commit()
    sign_in(client, world.nobody)
    missing = _post(client, f"/commitments/{c.id}/withdraw", {"withdrawn_reason": ""})
    assert "Say why it is withdrawn" in check_page(missing, status=422)
    assert _post(client, f"/commitments/{c.id}/withdraw",
                 {"withdrawn_reason": "Funding fell through"}).status_code == 303
    client.cookies.clear()
    assert "Funding fell through" in check_page(client.get(f"/commitments/{c.id}"))
    assert "Withdrawn" in check_page(client.get("/commitments?status=withdrawn"))
    sign_in(client, world.nobody)
    assert client.get("/admin/outbox").status_code == 403
    service.join_partner(session, partner=acme, person=builders.person(), user=world.viewer,
                         site=builders.SITE)
    session.commit()
    sign_in(client, world.admin)
    outbox = check_page(client.get("/admin/outbox"))
    assert "Confirm your email address for Acme Widgets Ltd" in outbox
    queue = check_page(client.get("/partners/moderation"))
    assert world.viewer.email in queue  # staff awaiting verification: admins see them
    member = session.scalars(select(PartnerMember).where(
        PartnerMember.user_id == world.viewer.id)).one()
    assert _post(client, f"/partners/{acme.slug}/members/{member.id}/verify").status_code == 303
    session.expire_all()
    assert member.verified


def test_the_api(client: TestClient, world: World, session: Session) -> None:
    acme = builders.partner(session, staff=world.nobody)
    other = builders.partner(session, "Other Ltd", staff=world.viewer)
    public = builders.commitment(session, acme, title="Public pledge")
    hidden = builders.commitment(session, acme, title="Hidden pledge", approved=False)
    builders.commitment(session, other, title="Other's pledge", kind="action")
    session.commit()
    page = client.get("/api/v1/commitments?kind=target&limit=1").json()
    assert page["total"] == 1
    assert page["items"][0]["title"] == "Public pledge"
    assert page["items"][0]["partner"]["slug"] == acme.slug
    assert page["next"] is None
    assert client.get("/api/v1/commitments?limit=1").json()["next"].endswith("offset=1")
    _problem(client.get("/api/v1/commitments?kind=nonsense"), 422)
    _problem(client.get(f"/api/v1/commitments/{hidden.id}"), 404)
    _problem(client.get("/api/v1/commitments/999999"), 404)
    detail = client.get(f"/api/v1/commitments/{public.id}").json()
    assert detail["progress_reports"] == []
    assert detail["optimism_discount"] == 0.5
    assert client.get(f"/api/v1/commitments/{hidden.id}",
                      headers=_bearer(session, world.nobody)).status_code == 200
    report = {"period_end": "2025-03-31", "value": 50, "narrative": "First homes"}
    _problem(client.post(f"/api/v1/commitments/{public.id}/reports", json=report), 401)
    _problem(client.post(f"/api/v1/commitments/{public.id}/reports", json=report,
                         headers=_bearer(session, world.viewer)), 403)
    _problem(client.post(f"/api/v1/commitments/{public.id}/reports", json={},
                         headers=_bearer(session, world.nobody)), 422)
    made = client.post(f"/api/v1/commitments/{public.id}/reports", json=report,
                       headers=_bearer(session, world.nobody))
    assert made.status_code == 201, made.text
    assert made.json()["report"]["verification"] == "self_reported"
    partners = client.get("/api/v1/partners").json()
    assert {p["slug"] for p in partners["items"]} == {acme.slug, other.slug}
    assert client.get(f"/api/v1/partners/{acme.slug}").json()["areas"] == ["E92000001"]
    session.execute(update(Partner).where(Partner.id == other.id).values(
        moderation=ModerationStatus.PENDING))
    session.commit()
    _problem(client.get(f"/api/v1/partners/{other.slug}"), 404)
