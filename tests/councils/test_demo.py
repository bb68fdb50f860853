"""The demo councils: members across the sectors, two meetings (one with published minutes),
every kind of response and an overdue recommendation, labelled illustrative; the clean
energy council's balance flagged."""

from __future__ import annotations

from sqlalchemy.orm import Session

from missionboard.councils import demo, service
from missionboard.councils.models import RecommendationStatus, Sector
from tests import factories

S = RecommendationStatus


def test_the_demo_councils(session: Session) -> None:
    missions = {slug: factories.mission(session, slug)
                for slug in (demo.MISSION, demo.OTHER_MISSION)}
    nhs, clean = demo.load_councils(session, missions_by_slug=missions,
                                    email_domain="demo.example", password="demo password 1")
    assert nhs.illustrative
    assert clean.illustrative
    today = demo.TODAY
    sectors = {m.sector for m in service.current_members(nhs, today=today)}
    assert len(sectors) >= 7
    assert not service.balance(nhs, today=today).flagged
    assert [m.name for m in service.former_members(nhs, today=today)] == ["Laura Finch"]
    meetings = service.list_meetings(session, council=nhs)
    assert [m.minutes_published for m in meetings] == [False, True]  # latest first
    assert all(m.minutes for m in meetings)
    statuses = [service.status_of(r, today=today)
                for r in service.list_recommendations(session, council=nhs)]
    assert set(statuses) == set(S)  # every response, one overdue, one awaiting
    assert statuses.count(S.OVERDUE) == 1
    secretary = nhs.staff[0].user
    assert secretary.email == "secretary@demo.example"
    assert service.can_record(secretary, nhs)
    assert not service.can_respond(secretary, nhs)
    found = service.balance(clean, today=today)
    assert found.over_limit == [Sector.BUSINESS]
    assert found.missing == [Sector.COMMUNITY, Sector.CITIZEN]


def test_the_demo_needs_only_its_first_mission(session: Session) -> None:
    mission = factories.mission(session, demo.MISSION)
    councils = demo.load_councils(session, missions_by_slug={demo.MISSION: mission},
                                  email_domain="demo.example", password="demo password 1")
    assert [c.slug for c in councils] == [demo.SLUG]
