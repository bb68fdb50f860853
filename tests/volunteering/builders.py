"""Build volunteering test data through the services, as organisers and volunteers would."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.mail import OutboxMessage
from missionboard.missions.models import Mission
from missionboard.partners.models import (
    MemberVerification,
    ModerationStatus,
    Partner,
    PartnerKind,
    PartnerMember,
    PartnerSize,
    Sector,
)
from missionboard.volunteering import service, signups
from missionboard.volunteering.models import Opportunity, OpportunityStatus
from missionboard.volunteering.postcodes import Columns, import_postcodes
from missionboard.volunteering.schemas import OpportunityIn, SignupIn
from tests import factories

#: Test centroids (made up near real places): unit postcodes with and without an outward row.
CENTROIDS = [
    ("postcode", "latitude", "longitude", "area"),
    ("SW1A 1AA", "51.501009", "-0.141588", "E12000007"),
    ("SW1A 2AA", "51.503396", "-0.127640", "E12000007"),
    ("M1 1AE", "53.480900", "-2.237400", "E12000002"),
    ("M1", "53.479000", "-2.236000", "E12000002"),
    ("M4 5AB", "53.484000", "-2.226000", "E12000002"),
    ("LS1 4AP", "53.796000", "-1.548000", "E12000003"),
    ("EH1 1YZ", "55.952000", "-3.189000", "S92000003"),
]
SECRET = "test-secret"


def centroids(session: Session) -> None:
    import_postcodes(session, rows=CENTROIDS[1:], header=CENTROIDS[0], columns=Columns(
        postcode="postcode", latitude="latitude", longitude="longitude", area="area"))


def partner(session: Session, slug: str, *, approved: bool = True) -> Partner:
    found = Partner(slug=slug, name=f"Partner {slug}", kind=PartnerKind.CHARITY,
                    sector=Sector.COMMUNITY, size=PartnerSize.SMALL,
                    moderation=ModerationStatus.APPROVED if approved
                    else ModerationStatus.PENDING)
    session.add(found)
    session.flush()
    return found


def staff(session: Session, of: Partner, email: str, *, verified: bool = True) -> User:
    user = factories.user(session, email)
    session.add(PartnerMember(partner_id=of.id, user_id=user.id,
                              verified_at=utcnow() if verified else None,
                              verified_by=MemberVerification.ADMINISTRATOR if verified
                              else None))
    session.flush()
    return user


def opportunity_data(slug: str = "garden", **changes: Any) -> OpportunityIn:
    data: dict[str, Any] = {
        "slug": slug, "title": f"Community garden ({slug})",
        "description": "Grow vegetables with neighbours.", "public_body": "Leeds City Council",
        "mode": "in_person", "address": "1 Park Row, Leeds", "postcode": "LS1 4AP",
        "time_kind": "regular", "hours": 2, "tags": ["gardening", "outdoors"],
        "accessibility": "Step-free paths", "capacity": 3}
    data.update(changes)
    return OpportunityIn.model_validate(data)


def opportunity(session: Session, mission: Mission, slug: str = "garden", *,
                of: Partner | None = None, status: OpportunityStatus = OpportunityStatus.PUBLISHED,
                **changes: Any) -> Opportunity:
    if of is not None:
        changes = {"partner_id": of.id, "public_body": "", **changes}
    made = service.create_opportunity(session, mission=mission,
                                      data=opportunity_data(slug, **changes))
    if status == OpportunityStatus.PENDING:
        service.set_status(session, opportunity=made, status=status, organiser=True,
                           moderator=False)
    elif status in (OpportunityStatus.PUBLISHED, OpportunityStatus.CLOSED):
        service.set_status(session, opportunity=made, status=OpportunityStatus.PUBLISHED,
                           organiser=False, moderator=True)
        if status == OpportunityStatus.CLOSED:
            service.set_status(session, opportunity=made, status=status, organiser=True,
                               moderator=False)
    return made


def signup_data(name: str = "Pat Volunteer", email: str = "pat@example.org",
                **changes: Any) -> SignupIn:
    data: dict[str, Any] = {"name": name, "email": email, "phone": "01632 960 001",
                            "postcode": "LS6 1AA", "note": "Free on Saturdays",
                            "consent_store": True, "consent_contact": True}
    data.update(changes)
    return SignupIn.model_validate(data)


def sign_up(session: Session, opp: Opportunity, name: str = "Pat Volunteer",
            email: str = "pat@example.org", **changes: Any) -> signups.SignupOutcome:
    return signups.sign_up(session, opportunity=opp, data=signup_data(name, email, **changes),
                           site="https://testserver")


def form(name: str = "Pat Volunteer", email: str = "pat@example.org", *,
         seconds_ago: float = 10, **changes: str) -> dict[str, str]:
    """The public sign-up form as a person fills it in, ``seconds_ago`` after it was shown."""
    values = {"name": name, "email": email, "phone": "", "postcode": "", "note": "",
              "consent_store": "yes", "consent_contact": "yes", "website": "",
              "started": signups.form_stamp(
                  SECRET, now=utcnow() - dt.timedelta(seconds=seconds_ago))}
    values.update(changes)
    return values


_LINK = re.compile(r"/volunteer/manage/([A-Za-z0-9_-]+)")


def emails_to(session: Session, address: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == address).order_by(OutboxMessage.id)))


def link_token(session: Session, address: str) -> str:
    """The private link's secret in the latest email to ``address``."""
    for message in reversed(emails_to(session, address)):
        found = _LINK.search(message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no private link was emailed to {address}")
