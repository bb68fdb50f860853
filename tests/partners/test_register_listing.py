"""The register lists by ``Commitment.listed`` (approved, and its partner approved) and the
missions not published: the flag follows every moderation of a commitment or its partner,
and the register always shows exactly what the live definition
(:func:`missionboard.partners.register.public_condition`, with the joins) makes public."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission, MissionStatus
from missionboard.partners import register, service
from missionboard.partners.models import Commitment, ModerationStatus, Partner
from missionboard.partners.schemas import RegisterQuery
from tests import factories
from tests.factories import World
from tests.partners import builders

TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def w(session: Session) -> World:
    return factories.world(session)


def _listed(session: Session) -> set[str]:
    return {c.title for c in session.scalars(select(Commitment).where(Commitment.listed))}


def _shown(session: Session, **filters: object) -> list[str]:
    found = register.page(session, RegisterQuery.model_validate(filters), today=TODAY,
                          base="", limit=100)
    assert found.total == len(found.items)
    assert register.count(session, RegisterQuery.model_validate(filters),
                          today=TODAY) == found.total
    return [i.title for i in found.items]


def _public(session: Session) -> list[str]:
    """What the live definition makes public, newest first."""
    return list(session.scalars(
        select(Commitment.title).join(Partner, Partner.id == Commitment.partner_id)
        .join(Mission, Mission.id == Commitment.mission_id)
        .where(register.public_condition()).order_by(Commitment.id.desc())))


def test_the_flag_follows_the_moderation_of_a_commitment_and_of_its_partner(
        session: Session, w: World) -> None:
    registration = service.register_partner(
        session, data=builders.partner_data(), person=builders.person(), user=None,
        site=builders.SITE)
    partner = registration.partner
    first = service.create_commitment(session, partner=partner,
                                      data=builders.commitment_data(title="First"))
    second = service.create_commitment(session, partner=partner,
                                       data=builders.commitment_data(title="Second"))
    assert _listed(session) == set()
    # Approving a commitment of a pending partner approves the partner too.
    service.moderate_commitment(session, commitment=first, approve=True, note="",
                                actor=w.admin)
    assert partner.moderation == ModerationStatus.APPROVED
    assert _listed(session) == {"First"}
    assert _shown(session) == ["First"] == _public(session)
    # Rejecting the partner takes every commitment off the register; approving it again
    # brings back the approved ones only.
    service.moderate_partner(session, partner=partner, approve=False, note="Not real",
                             actor=w.admin)
    assert _listed(session) == set()
    assert _shown(session) == [] == _public(session)
    service.moderate_commitment(session, commitment=second, approve=True, note="",
                                actor=w.admin)
    assert _listed(session) == set()  # approved, but its partner is still rejected
    service.moderate_partner(session, partner=partner, approve=True, note="", actor=w.admin)
    assert _listed(session) == {"First", "Second"}
    service.moderate_commitment(session, commitment=first, approve=False, note="Duplicate",
                                actor=w.admin)
    assert _listed(session) == {"Second"}
    assert _shown(session) == ["Second"] == _public(session)
    # The objects in the session agree with the rows.
    assert (first.listed, second.listed) == (False, True)


def test_a_mission_taken_back_to_draft_takes_its_commitments_off_the_register(
        session: Session, w: World) -> None:
    acme = builders.partner(session)
    builders.commitment(session, acme, title="On the published mission")
    builders.commitment(session, acme, title="On the other mission", mission="other-mission")
    assert sorted(_shown(session)) == ["On the other mission", "On the published mission"]
    other = session.scalars(select(Mission).where(Mission.slug == "other-mission")).one()
    missions_service.set_mission_status(session, mission=other, status=MissionStatus.DRAFT,
                                        actor=w.admin, reason="Being redrafted")
    assert register.unpublished_missions(session) == tuple(sorted(
        (w.draft_mission.id, other.id)))
    assert _shown(session) == ["On the published mission"] == _public(session)
    assert _shown(session, mission="other-mission") == []
    # Listed all the same: it comes back with its mission.
    assert _listed(session) == {"On the other mission", "On the published mission"}


def test_the_register_matches_the_live_definition_however_it_is_filtered_and_paged(
        session: Session, w: World) -> None:
    builders.region(session)
    acme = builders.partner(session)
    union = builders.partner(session, "Union of Makers", kind="trade_union",
                             sector="community")
    gone = builders.partner(session, "Gone Ltd")
    for n in range(5):
        builders.commitment(session, acme, title=f"Acme {n}", kind="money", pledged_money=10,
                            area_code="E12000001")
    builders.commitment(session, union, title="Union", kind="action")
    builders.commitment(session, union, title="Union pending", kind="action", approved=False)
    builders.commitment(session, gone, title="Gone")
    service.moderate_partner(session, partner=gone, approve=False, note="Closed",
                             actor=w.admin)
    assert _shown(session) == _public(session) == ["Union", *(f"Acme {n}" for n in
                                                              range(4, -1, -1))]
    q = RegisterQuery(kind="money")
    pages = [register.page(session, q, today=TODAY, base="", limit=2, offset=o)
             for o in (0, 2, 4, 6)]
    assert [[i.title for i in p.items] for p in pages] == [
        ["Acme 4", "Acme 3"], ["Acme 2", "Acme 1"], ["Acme 0"], []]
    assert {p.total for p in pages} == {5}
    assert _shown(session, sector="community") == ["Union"]
    assert _shown(session, area="E92000001", kind="money") == [f"Acme {n}" for n in
                                                                range(4, -1, -1)]
    assert session.scalar(select(func.count()).select_from(Commitment)) == 8
