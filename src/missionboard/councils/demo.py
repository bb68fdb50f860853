"""The demo's mission councils: one on the NHS mission with members across every sector but
one, two meetings (the first with published minutes, the second with draft minutes) and six
recommendations, answered in every way the government can (accepted, partly accepted,
rejected with its reason) or not at all (one overdue, one awaiting its response); and a
smaller one on the clean energy mission whose balance is flagged (business holds more than
the limit, and two sectors its remit needs are missing).

Loaded before the demo stocktakes, so that the NHS mission's packs carry the council's
section. Everything is made up and labelled as such (``Council.illustrative``); a secretary
account, ``secretary@`` the admin's domain, is on the NHS council's secretariat. Flushes;
never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.councils import service
from missionboard.councils.models import Council, CouncilMember, Implementation
from missionboard.councils.schemas import (
    CouncilIn,
    ImplementationIn,
    MeetingIn,
    MemberIn,
    RecommendationIn,
    ResponseIn,
)
from missionboard.missions.models import Mission

MISSION = "nhs"
SLUG = "nhs-mission-council"
OTHER_MISSION = "clean-energy"
OTHER_SLUG = "clean-power-council"
#: The demo's "today" for the records (the day the demo data runs to).
TODAY = dt.date(2026, 11, 27)
TERM_START = dt.date(2026, 3, 1)
TERM_END = dt.date(2028, 2, 29)

_REMIT = ("Illustrative. Brings patients, staff, unions, charities, business and researchers "
          "together to challenge the government on the NHS mission, and to recommend what it "
          "should do to cut waiting times and shift care closer to home.")
_TERMS = """Illustrative terms of reference.

Membership: up to fifteen members appointed for two years, chosen so that no sector holds more than 40% of the seats, with patients and people with lived experience, NHS staff and their unions, charities and community groups, business and researchers all represented. Members declare their interests on appointment and whenever they change.

Meetings: at least three a year. Agendas are published before each meeting; minutes are published once the council has agreed them.

Recommendations: made at a meeting or in writing between meetings. The government responds to each within eight weeks, saying whether it accepts it, in full or in part, and why not where it does not. The responses are tracked in public and reported to every stocktake of the mission board."""  # noqa: E501

#: name, organisation, sector, role, interests, term end (None: the usual end).
_NHS_MEMBERS: list[tuple[str, str, str, str, str, dt.date | None]] = [
    ("Professor Ruth Adeyemi", "A university school of public health (illustrative)",
     "academia", "chair", "Receives research funding from the National Institute for Health "
     "and Care Research.", None),
    ("Daniel Hughes", "A regional health-technology firm (illustrative)", "business", "member",
     "Shareholder in the firm, which supplies booking software to NHS trusts.", None),
    ("Priya Natarajan", "A national pharmacy chain (illustrative)", "business", "member", "",
     None),
    ("Siobhan Kelly", "A nurses' union (illustrative)", "trade_union", "member",
     "Paid official of the union.", None),
    ("Marcus Bell", "A public-service union (illustrative)", "trade_union", "member", "", None),
    ("Helen Osei", "A national patients' charity (illustrative)", "charity", "member",
     "Trustee of a hospice.", None),
    ("Tom Gallagher", "A mental health charity (illustrative)", "charity", "member", "", None),
    ("Aisha Rahman", "A community health network in the north-east (illustrative)",
     "community", "member", "", None),
    ("Dr James Whitfield", "A health economics research unit (illustrative)", "academia",
     "member", "Advises an independent-sector provider on its evaluation methods.", None),
    ("Dr Funmi Adebayo", "A director of public health in a county council (illustrative)",
     "public_sector", "member", "", None),
    ("Grace Thompson", "Patient representative (illustrative)", "citizen", "member",
     "Waited 70 weeks for a hip replacement in 2024-25.", None),
    ("Owen Price", "Carer representative (illustrative)", "citizen", "member", "", None),
    ("Laura Finch", "A regional business network (illustrative)", "business", "member", "",
     dt.date(2026, 8, 31)),
]

_MEETING_1 = """1. Welcome, introductions and declarations of interest
2. The council's terms of reference and work programme
3. Elective waiting times: where the mission stands
4. Recommendations to the government"""
_MINUTES_1 = """Illustrative minutes.

1. The chair welcomed members to the council's first meeting. Members' declarations of interest were noted and are published on the council's page.

2. The council agreed its terms of reference and a work programme for 2026-27, starting with waiting times for planned care and then the shift of care closer to home.

3. Officials presented the latest waiting-time data and the mission's trajectory. Members asked how patients can see how long they are likely to wait at their own trust; officials said the data exist but are not published in a form patients can use.

4. The council agreed three recommendations to the government (numbers 1 to 3), on publishing waiting times patients can use, on protecting diagnostic capacity for the longest waiters, and on patients' right to choose where they are treated."""  # noqa: E501
_MEETING_2 = """1. Declarations of interest
2. The government's responses to recommendations 1 to 3
3. The mental health workforce
4. Patients' voice in elective recovery plans"""
_MINUTES_2 = """Illustrative draft minutes, to be agreed at the next meeting.

1. No new interests were declared.

2. Members welcomed the acceptance of recommendation 1, noted that the response to recommendation 2 came two weeks after it was due, and asked that the reasons for rejecting recommendation 3 be discussed at the next stocktake of the mission board.

3. and 4. The council agreed two further recommendations (numbers 4 and 5)."""  # noqa: E501

_RECOMMENDATIONS: list[dict[str, Any]] = [
    {"meeting": 0, "title": "Publish each trust's waiting times every month in a form "
                            "patients can use",
     "text": "Publish, every month, each trust's waiting times by specialty, with the time "
             "within which nine in ten patients were treated, in plain English on a page "
             "patients can find from their referral letter.",
     "response": ("accepted", dt.date(2026, 7, 1),
                  "The government accepts this recommendation. NHS England will publish "
                  "monthly waiting times by trust and specialty from the autumn, linked from "
                  "every referral letter.", ""),
     "implementation": ("in_progress", dt.date(2026, 10, 30),
                        "Published for 40 of 120 trusts; the rest by March 2027.")},
    {"meeting": 0, "title": "Protect community diagnostic centre capacity for the longest "
                            "waiters",
     "text": "Reserve a fixed share of community diagnostic centre appointments for patients "
             "who have waited longest, so that tests do not hold up their treatment.",
     "response": ("partly_accepted", dt.date(2026, 7, 20),
                  "The government accepts that the longest waiters must be prioritised for "
                  "diagnostic tests, and will ask every centre to report its waits by the time "
                  "patients have waited.",
                  "A fixed share of appointments is not accepted: it would leave appointments "
                  "unused where few patients have waited long. Centres will prioritise by "
                  "clinical need and time waited instead."),
     "implementation": ("not_started", dt.date(2026, 7, 20), "")},
    {"meeting": 0, "title": "A right to be treated by another provider after 18 weeks",
     "text": "Give every patient who has waited more than 18 weeks a right to be treated by "
             "another provider, NHS or independent, at the NHS's expense.",
     "response": ("rejected", dt.date(2026, 7, 3),
                  "The government does not accept this recommendation.",
                  "Patients can already choose their provider at referral. A right after 18 "
                  "weeks would move staff and money to the providers with the shortest waits "
                  "rather than to where patients have waited longest, and would cost an "
                  "estimated £1.2 billion a year (illustrative figure)."),
     "implementation": None},
    {"meeting": 1, "title": "A national recruitment drive for mental health nurses",
     "text": "Fund a national recruitment and retention drive for mental health nurses, with "
             "a published target for the number in post by 2029.",
     "response": None, "implementation": None},
    {"meeting": 1, "title": "Patients with lived experience in every elective recovery plan",
     "text": "Require every integrated care board to involve patients with lived experience of "
             "long waits in writing and reviewing its elective recovery plan.",
     "response": ("accepted", dt.date(2026, 10, 20),
                  "The government accepts this recommendation and will include it in the "
                  "planning guidance for 2027-28.", ""),
     "implementation": ("not_started", dt.date(2026, 10, 20),
                        "To be included in the planning guidance due in December.")},
    {"meeting": None, "made_on": dt.date(2026, 11, 18),
     "title": "Say how the shift to prevention will be measured",
     "text": "Set out, before the next stocktake, the measures by which the mission's shift "
             "from sickness to prevention will be judged, with a baseline and a target for "
             "each. Made in the chair's letter to the Secretary of State.",
     "response": None, "implementation": None},
]

_CLEAN_MEMBERS: list[tuple[str, str, str, str, str, dt.date | None]] = [
    ("Sir Michael Crane", "An offshore wind developer (illustrative)", "business", "chair",
     "Chief executive and shareholder of the developer.", None),
    ("Elena Vasquez", "A grid-scale battery company (illustrative)", "business", "member",
     "", None),
    ("Robert Liang", "An energy trade association (illustrative)", "business", "member",
     "Paid director of the association.", None),
    ("Fiona McLeod", "A heat-pump manufacturer (illustrative)", "business", "member", "",
     None),
    ("Gareth Jones", "An energy workers' union (illustrative)", "trade_union", "member", "",
     None),
    ("Dr Nadia Hussain", "An energy systems research centre (illustrative)", "academia",
     "member", "", None),
    ("Catherine Moore", "A combined authority's net zero team (illustrative)",
     "public_sector", "member", "", None),
]


def _member(spec: tuple[str, str, str, str, str, dt.date | None]) -> MemberIn:
    name, organisation, sector, role, interests, ends = spec
    local = name.split()[-1].lower()
    return MemberIn.model_validate({
        "name": name, "organisation": organisation, "sector": sector, "role": role,
        "term_start": TERM_START, "term_end": ends or TERM_END, "interests": interests,
        "email": f"{local}@council.example", "phone": ""})


def _members(session: Session, council: Council,
             specs: list[tuple[str, str, str, str, str, dt.date | None]]
             ) -> list[CouncilMember]:
    return [service.add_member(session, council=council, data=_member(s)) for s in specs]


def _morning(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)


def _nhs(session: Session, mission: Mission, *, email_domain: str, password: str) -> Council:
    council = service.create_council(session, mission=mission, data=CouncilIn(
        slug=SLUG, name="NHS Mission Council (illustrative)", remit=_REMIT,
        terms_of_reference=_TERMS, max_sector_percent=40,
        required_sectors=["citizen", "trade_union", "charity", "academia"], response_weeks=8))
    council.illustrative = True
    members = _members(session, council, _NHS_MEMBERS)
    secretary = accounts.create_user(
        session, email=f"secretary@{email_domain}", password=password,
        name="Demo council secretary (NHS Mission Council)")
    service.add_secretary(session, council=council, email=secretary.email)
    by_name = {m.name: m.id for m in members}
    first = service.save_meeting(session, council=council, today=TODAY, data=MeetingIn(
        held_on=dt.date(2026, 5, 12), title="First meeting", agenda=_MEETING_1,
        others_present="Director of Elective Recovery, Department of Health and Social Care "
                       "(illustrative); the council's secretariat",
        present=[i for n, i in by_name.items() if n not in ("Marcus Bell", "Owen Price")],
        apologies=[by_name["Marcus Bell"]]))
    service.save_minutes(session, meeting=first, text=_MINUTES_1)
    service.publish_minutes(session, meeting=first, today=TODAY)
    first.minutes_published_at = _morning(dt.date(2026, 5, 29))
    second = service.save_meeting(session, council=council, today=TODAY, data=MeetingIn(
        held_on=dt.date(2026, 9, 15), title="Second meeting", agenda=_MEETING_2,
        others_present="The council's secretariat",
        present=[i for n, i in by_name.items()
                 if n not in ("Laura Finch", "Tom Gallagher", "Priya Natarajan")],
        apologies=[by_name["Tom Gallagher"], by_name["Priya Natarajan"]]))
    service.save_minutes(session, meeting=second, text=_MINUTES_2)
    meetings = [first, second]
    for spec in _RECOMMENDATIONS:
        _recommend(session, council, spec, meetings)
    return council


def _recommend(session: Session, council: Council, spec: Mapping[str, Any],
               meetings: list[Any]) -> None:
    meeting = meetings[spec["meeting"]] if spec["meeting"] is not None else None
    r = service.add_recommendation(session, council=council, today=TODAY, data=RecommendationIn(
        title=spec["title"], text=spec["text"], meeting_id=meeting.id if meeting else None,
        made_on=spec.get("made_on")))
    if spec["response"] is None:
        return
    kind, on, text, reason = spec["response"]
    service.respond(session, recommendation=r, today=TODAY, data=ResponseIn.model_validate(
        {"kind": kind, "responded_on": on, "text": text, "reason": reason}))
    if spec["implementation"] is not None:
        state, updated, note = spec["implementation"]
        service.update_implementation(session, recommendation=r, today=TODAY,
                                      data=ImplementationIn(
                                          implementation=Implementation(state),
                                          updated_on=updated, note=note))


def _clean_power(session: Session, mission: Mission) -> Council:
    council = service.create_council(session, mission=mission, data=CouncilIn(
        slug=OTHER_SLUG, name="Clean Power Council (illustrative)",
        remit="Illustrative. Advises the government on delivering clean power by 2030 and "
              "on sharing its benefits with workers and communities.",
        max_sector_percent=40, required_sectors=["trade_union", "community", "citizen"],
        response_weeks=12))
    council.illustrative = True
    _members(session, council, _CLEAN_MEMBERS)
    service.add_recommendation(session, council=council, today=TODAY, data=RecommendationIn(
        title="Community benefit funds for every new onshore wind farm",
        text="Require every new onshore wind farm to pay into a community benefit fund run "
             "by the people who live near it.", made_on=dt.date(2026, 10, 28)))
    return council


def load_councils(session: Session, *, missions_by_slug: Mapping[str, Mission],
                  email_domain: str, password: str) -> list[Council]:
    """Create the demo councils. Flushes; never commits."""
    councils = [_nhs(session, missions_by_slug[MISSION], email_domain=email_domain,
                     password=password)]
    if OTHER_MISSION in missions_by_slug:
        councils.append(_clean_power(session, missions_by_slug[OTHER_MISSION]))
    session.flush()
    return councils
