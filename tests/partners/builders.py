"""Build partners, their staff and commitments through the services, as the pages do."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import Area
from missionboard.metrics.schemas import AreaIn
from missionboard.partners import service
from missionboard.partners.models import (
    Commitment,
    MemberVerification,
    ModerationStatus,
    Partner,
    PartnerMember,
)
from missionboard.partners.schemas import CommitmentIn, PartnerIn, PersonIn, ReportIn
from tests import factories

SITE = "https://testserver"
START = dt.date(2025, 1, 1)


def region(session: Session, code: str = "E12000001", name: str = "North East") -> Area:
    """An English region, within England (the world's area)."""
    return metrics_service.create_area(session, data=AreaIn(code=code, name=name,
                                                            level="region",
                                                            parent_code="E92000001"))


def partner_data(name: str = "Acme Widgets Ltd", **changes: Any) -> PartnerIn:
    data: dict[str, Any] = {
        "name": name, "kind": "business", "sector": "manufacturing", "size": "medium",
        "description": "Makes widgets", "website": "https://acme.example",
        "web_domain": "acme.example", "company_number": "01234567",
        "area_codes": ["E92000001"]}
    data.update(changes)
    return PartnerIn.model_validate(data)


def person(email: str = "jo@acme.example", **changes: Any) -> PersonIn:
    data: dict[str, Any] = {"person_name": "Jo Bloggs", "email": email,
                            "job_title": "Head of sustainability",
                            "password": factories.PASSWORD}
    data.update(changes)
    return PersonIn.model_validate(data)


def partner(session: Session, name: str = "Acme Widgets Ltd", *, approved: bool = True,
            staff: User | None = None, **changes: Any) -> Partner:
    """A partner (approved unless asked), with ``staff`` as a verified member."""
    data = partner_data(name, **changes)
    made = Partner(slug=service.unique_slug(session, name),
                   moderation=(ModerationStatus.APPROVED if approved
                               else ModerationStatus.PENDING),
                   **data.model_dump(exclude={"area_codes"}))
    made.areas, _ = service.check_partner(session, data=data)
    session.add(made)
    session.flush()
    if staff is not None:
        verified(session, made, staff)
    return made


def verified(session: Session, partner: Partner, user: User) -> PartnerMember:
    member = PartnerMember(partner=partner, user_id=user.id,
                           verified_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                           verified_by=MemberVerification.ADMINISTRATOR)
    session.add(member)
    session.flush()
    return member


def commitment_data(mission: str = "published-mission", **changes: Any) -> CommitmentIn:
    data: dict[str, Any] = {
        "mission_slug": mission, "title": "Retrofit 500 homes", "kind": "target",
        "unit": "homes", "baseline": 0, "target": 500, "start_on": START,
        "deadline": dt.date(2027, 1, 1), "schedule": "quarterly", "area_code": "E92000001"}
    data.update(changes)
    return CommitmentIn.model_validate(data)


def commitment(session: Session, partner: Partner, *, approved: bool = True,
               **changes: Any) -> Commitment:
    made = service.create_commitment(session, partner=partner, data=commitment_data(**changes))
    if approved:
        made.moderation = ModerationStatus.APPROVED
        session.flush()
        service.refresh_listed(session, partner=partner)
    return made


def report(session: Session, c: Commitment, on: dt.date, **changes: Any) -> Any:
    data: dict[str, Any] = {"period_end": on, "narrative": "Progress made"}
    data.update(changes)
    return service.add_report(session, commitment=c, data=ReportIn.model_validate(data),
                              author=None, today=max(on, dt.date(2026, 1, 1)))
