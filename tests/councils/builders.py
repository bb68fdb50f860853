"""Build mission councils through the service, as a mission team and a secretariat would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.councils import service
from missionboard.councils.models import (
    Council,
    CouncilMeeting,
    CouncilMember,
    CouncilRecommendation,
)
from missionboard.councils.schemas import (
    CouncilIn,
    MeetingIn,
    MemberIn,
    RecommendationIn,
    ResponseIn,
)
from missionboard.missions.models import Mission
from tests.factories import PASSWORD

#: The day the tests take as today.
TODAY = dt.date(2026, 6, 15)
TERM_START = dt.date(2026, 1, 1)


def council_data(slug: str = "health-council", **changes: Any) -> CouncilIn:
    data: dict[str, Any] = {
        "slug": slug, "name": "Health Mission Council",
        "remit": "Challenges the government on the health mission.",
        "terms_of_reference": "Meets four times a year.", "max_sector_percent": 40,
        "required_sectors": ["citizen", "trade_union"], "response_weeks": 8}
    data.update(changes)
    return CouncilIn.model_validate(data)


def member_data(name: str = "Ada Member", sector: str = "business", **changes: Any
                ) -> MemberIn:
    data: dict[str, Any] = {
        "name": name, "organisation": f"{name}'s organisation", "sector": sector,
        "role": "member", "term_start": TERM_START, "term_end": None,
        "interests": "", "email": f"{name.split(maxsplit=1)[0].lower()}@example.org",
        "phone": "020 7946 0000"}
    data.update(changes)
    return MemberIn.model_validate(data)


#: A balanced membership: (name, sector), the first the chair.
MEMBERS = [("Chair Person", "academia"), ("Bea Business", "business"),
           ("Uma Union", "trade_union"), ("Cal Charity", "charity"),
           ("Cit Izen", "citizen")]


def new_council(session: Session, mission: Mission, *, slug: str = "health-council",
                members: bool = True, **changes: Any) -> Council:
    council = service.create_council(session, mission=mission,
                                     data=council_data(slug, **changes))
    if members:
        for i, (name, sector) in enumerate(MEMBERS):
            service.add_member(session, council=council, data=member_data(
                name, sector, role="chair" if i == 0 else "member"))
    return council


def member(council: Council, name: str) -> CouncilMember:
    return next(m for m in council.members if m.name == name)


def meeting(session: Session, council: Council, *, held_on: dt.date = dt.date(2026, 3, 10),
            title: str = "First meeting", present: list[int] | None = None,
            apologies: list[int] | None = None, today: dt.date = TODAY) -> CouncilMeeting:
    return service.save_meeting(session, council=council, today=today, data=MeetingIn(
        held_on=held_on, title=title, agenda="1. Welcome\n2. Waiting times",
        present=present or [], apologies=apologies or []))


def recommendation(session: Session, council: Council, *, title: str = "Publish waits",
                   made_on: dt.date = dt.date(2026, 3, 10), due: dt.date | None = None,
                   meeting_id: int | None = None, today: dt.date = TODAY
                   ) -> CouncilRecommendation:
    return service.add_recommendation(session, council=council, today=today,
                                      data=RecommendationIn(
                                          title=title, text=f"The council recommends: {title}.",
                                          made_on=made_on, response_due=due,
                                          meeting_id=meeting_id))


def response(kind: str = "accepted", on: dt.date = dt.date(2026, 4, 1), reason: str = ""
             ) -> ResponseIn:
    return ResponseIn.model_validate({"kind": kind, "text": f"The government's answer: {kind}.",
                                      "reason": reason, "responded_on": on})


@dataclass
class Setting:
    """A council on the published mission and one on the draft mission, each with members,
    a secretary, a meeting with draft minutes and two recommendations, one answered."""

    council: Council
    draft: Council
    secretary: User
    meeting: CouncilMeeting
    open: CouncilRecommendation
    answered: CouncilRecommendation
    draft_meeting: CouncilMeeting


def _furnish(session: Session, council: Council, secretary: User
             ) -> tuple[CouncilMeeting, CouncilRecommendation, CouncilRecommendation]:
    service.add_secretary(session, council=council, email=secretary.email)
    held = meeting(session, council, present=[member(council, "Chair Person").id])
    service.save_minutes(session, meeting=held, text="Draft minutes: not public yet.")
    still_open = recommendation(session, council, title="Still open", meeting_id=held.id)
    answered = recommendation(session, council, title="Answered", made_on=dt.date(2026, 4, 1))
    service.respond(session, recommendation=answered, today=TODAY,
                    data=response("accepted", dt.date(2026, 5, 1)))
    return held, still_open, answered


def setting(session: Session, mission: Mission, draft_mission: Mission) -> Setting:
    from missionboard.accounts import service as accounts

    secretary = accounts.create_user(session, email="secretary@example.org",
                                     name="Sam Secretary", password=PASSWORD)
    council = new_council(session, mission)
    draft = new_council(session, draft_mission, slug="draft-council")
    held, still_open, answered = _furnish(session, council, secretary)
    draft_meeting, _, _ = _furnish(session, draft, secretary)
    return Setting(council=council, draft=draft, secretary=secretary, meeting=held,
                   open=still_open, answered=answered, draft_meeting=draft_meeting)
