"""Who may read and change partners' records, through HTTP: every staff page and write,
tried anonymously (sent to sign in), by another partner's verified staff, by an unverified
member of the partner and by editors of other missions (refused, and nothing written), and by
the partner's own staff or the moderators allowed to (done). And no member of staff's name or
email address on any public page, download or API response."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import User
from missionboard.partners.models import (
    Commitment,
    Partner,
    PartnerMember,
    ProgressReport,
)
from missionboard.partners.trajectory import count_in_trajectory
from tests import factories
from tests.factories import World
from tests.partners import builders
from tests.web.conftest import check_page, csrf_from, sign_in


@dataclass
class Setup:
    world: World
    acme: Partner
    other: Partner
    staff: User  # Acme's verified staff
    rival: User  # Other Ltd's verified staff
    pending_staff: User  # asked to act for Acme, not verified
    commitment: Commitment  # Acme's, public
    draft: Commitment  # Acme's, awaiting moderation
    member: PartnerMember  # the unverified membership


@pytest.fixture
def setup(session: Session, world: World) -> Setup:
    def person(email: str, name: str) -> User:
        return accounts.create_user(session, email=email, name=name,
                                    password=factories.PASSWORD)

    staff = person("xanthe.staffer@acme.example", "Xanthe Staffer")
    rival = person("ronan.rival@other.example", "Ronan Rival")
    pending_staff = person("petra.pending@acme.example", "Petra Pending")
    acme = builders.partner(session, staff=staff)
    other = builders.partner(session, "Other Ltd", staff=rival, web_domain="other.example")
    member = PartnerMember(partner=acme, user_id=pending_staff.id)
    session.add(member)
    commitment = builders.commitment(session, acme, metric_slug=world.metric.slug,
                                     baseline=60, target=62)
    builders.report(session, commitment, dt.date(2025, 3, 1), value=60.5,
                    narrative="Begun")
    draft = builders.commitment(session, acme, title="Draft pledge", approved=False)
    session.commit()
    return Setup(world, acme, other, staff, rival, pending_staff, commitment, draft, member)


def _snapshot(session: Session) -> list[Any]:
    session.expire_all()
    rows: list[Any] = []
    for model in (Partner, PartnerMember, Commitment, ProgressReport):
        table = model.__table__
        rows += [tuple(r) for r in session.execute(select(table).order_by(table.c.id))]
    return rows


@dataclass(frozen=True)
class Write:
    name: str
    path: Callable[[Setup], str]
    data: Callable[[Setup], dict[str, str]]
    #: Who may: "staff" (the partner's verified staff and admins), "moderator" (the
    #: mission's editors and admins), "admin".
    who: str


COMMITMENT_FORM = {
    "mission_slug": "published-mission", "title": "Changed", "kind": "action",
    "start_on": "2025-01-01", "schedule": "quarterly", "reason": "Because",
}
WRITES = [
    Write("edit partner", lambda s: f"/partners/{s.acme.slug}/edit",
          lambda s: {"name": "Hacked", "kind": "business", "sector": "retail",
                     "size": "large"}, "staff"),
    Write("new commitment", lambda s: f"/partners/{s.acme.slug}/commitments/new",
          lambda s: COMMITMENT_FORM, "staff"),
    Write("edit commitment", lambda s: f"/commitments/{s.commitment.id}/edit",
          lambda s: {**COMMITMENT_FORM, "kind": "target", "unit": "percent",
                     "baseline": "60", "target": "70", "deadline": "2027-01-01",
                     "metric_slug": "published-metric"}, "staff"),
    Write("report", lambda s: f"/commitments/{s.commitment.id}/report",
          lambda s: {"period_end": "2025-06-01", "value": "61", "narrative": "More"},
          "staff"),
    Write("withdraw", lambda s: f"/commitments/{s.commitment.id}/withdraw",
          lambda s: {"withdrawn_reason": "Gone"}, "staff"),
    Write("moderate commitment", lambda s: f"/commitments/{s.draft.id}/moderate",
          lambda s: {"decision": "approve"}, "moderator"),
    Write("verification", lambda s: f"/commitments/{s.commitment.id}/verification",
          lambda s: {"verification": "evidenced"}, "moderator"),
    Write("report verification",
          lambda s: f"/commitments/{s.commitment.id}/reports/"
                    f"{s.commitment.reports[0].id}/verification",
          lambda s: {"verification": "independently_verified"}, "moderator"),
    Write("count", lambda s: f"/commitments/{s.commitment.id}/count", lambda s: {},
          "moderator"),
    Write("moderate partner", lambda s: f"/partners/{s.acme.slug}/moderate",
          lambda s: {"decision": "reject", "note": "No"}, "admin"),
    Write("verify member", lambda s: f"/partners/{s.acme.slug}/members/{s.member.id}/verify",
          lambda s: {}, "admin"),
]
REFUSED: dict[str, list[str]] = {
    "staff": ["rival", "pending_staff", "other_editor", "viewer"],
    "moderator": ["staff", "rival", "other_editor", "viewer"],
    "admin": ["staff", "rival", "editor", "viewer"],
}
ALLOWED = {"staff": ["staff", "admin"], "moderator": ["editor", "admin"], "admin": ["admin"]}


def _user(s: Setup, who: str) -> User:
    found = getattr(s, who, None) or getattr(s.world, who)
    assert isinstance(found, User)
    return found


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**data, "csrf_token": token})


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_anonymous_writes_go_to_sign_in(client: TestClient, setup: Setup, session: Session,
                                        write: Write) -> None:
    before = _snapshot(session)
    response = _post(client, write.path(setup), write.data(setup))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")
    assert _snapshot(session) == before


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_others_are_refused_and_nothing_is_written(client: TestClient, setup: Setup,
                                                   session: Session, write: Write) -> None:
    before = _snapshot(session)
    for who in REFUSED[write.who]:
        sign_in(client, _user(setup, who))
        response = _post(client, write.path(setup), write.data(setup))
        assert response.status_code == 403, (who, response.status_code)
        assert _snapshot(session) == before, who


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_those_allowed_succeed(client: TestClient, setup: Setup, session: Session,
                               write: Write) -> None:
    who = ALLOWED[write.who][0]
    before = _snapshot(session)
    sign_in(client, _user(setup, who))
    response = _post(client, write.path(setup), write.data(setup))
    assert response.status_code == 303, response.text[:1000]
    assert _snapshot(session) != before


STAFF_PAGES = [
    lambda s: f"/partners/{s.acme.slug}/edit",
    lambda s: f"/partners/{s.acme.slug}/commitments/new",
    lambda s: f"/commitments/{s.commitment.id}/edit",
    lambda s: f"/commitments/{s.commitment.id}/report",
]


def test_staff_pages(client: TestClient, setup: Setup) -> None:
    for page in STAFF_PAGES:
        assert client.get(page(setup)).status_code == 303  # to sign in
    for who in ("rival", "pending_staff", "editor"):
        sign_in(client, _user(setup, who))
        for page in STAFF_PAGES:
            assert client.get(page(setup)).status_code == 403, (who, page(setup))
    sign_in(client, setup.staff)
    for page in STAFF_PAGES:
        check_page(client.get(page(setup)))
    manage = check_page(client.get(f"/partners/{setup.acme.slug}/manage"))
    assert setup.pending_staff.email in manage  # colleagues see their staff
    sign_in(client, setup.pending_staff)
    own = check_page(client.get(f"/partners/{setup.acme.slug}/manage"))
    assert "Until you are verified you cannot act" in own
    assert setup.staff.email not in own  # the staff list is for verified staff
    sign_in(client, setup.rival)
    assert client.get(f"/partners/{setup.acme.slug}/manage").status_code == 403


def test_drafts_are_seen_by_their_partner_and_moderators_only(
        client: TestClient, setup: Setup) -> None:
    path = f"/commitments/{setup.draft.id}"
    assert client.get(path).status_code == 404
    for who in ("rival", "pending_staff", "other_editor", "viewer"):
        sign_in(client, _user(setup, who))
        assert client.get(path).status_code == 404, who
    for who in ("staff", "editor", "admin"):
        sign_in(client, _user(setup, who))
        check_page(client.get(path))
    sign_in(client, setup.rival)
    assert client.get("/partners/moderation").status_code == 403
    assert client.get("/admin/outbox").status_code == 403


def test_no_staff_names_or_emails_in_public(client: TestClient, setup: Setup,
                                            session: Session) -> None:
    # Give the staff a public footprint: a change on the record and a counted intervention.
    sign_in(client, setup.staff)
    assert _post(client, f"/commitments/{setup.commitment.id}/edit", {
        **COMMITMENT_FORM, "kind": "target", "unit": "percent", "baseline": "60",
        "target": "63", "deadline": "2027-01-01", "metric_slug": "published-metric",
        "title": "Public pledge", "reason": "Better plans"}).status_code == 303
    session.expire_all()
    counted = session.get(Commitment, setup.commitment.id)
    assert counted is not None
    count_in_trajectory(session, commitment=counted, actor=setup.world.editor,
                        site=builders.SITE)
    session.commit()
    client.cookies.clear()
    pages = [
        "/commitments", f"/commitments/{setup.commitment.id}", "/commitments.csv",
        "/commitments.json", "/partners", f"/partners/{setup.acme.slug}",
        f"/missions/{setup.world.mission.slug}", f"/missions/{setup.world.mission.slug}/"
        "partners.csv", f"/missions/{setup.world.mission.slug}/interventions",
        "/api/v1/commitments", f"/api/v1/commitments/{setup.commitment.id}",
        "/api/v1/partners", f"/api/v1/partners/{setup.acme.slug}",
        f"/api/v1/changes?mission={setup.world.mission.slug}",
    ]
    seen = ""
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        seen += response.text
    assert "Better plans" in seen
    assert "Public pledge" in seen
    for person in (setup.staff, setup.pending_staff, setup.rival):
        assert person.email not in seen
        assert person.name not in seen
