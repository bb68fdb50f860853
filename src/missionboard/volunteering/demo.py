"""The demo's volunteering: approximate centroids of the demo's postcode districts, and
illustrative opportunities on the five missions, with sign-ups from made-up people (their
email addresses at ``example.org``), a waiting list, logged hours (most confirmed, one
rejected, some waiting for the organiser) and one closed opportunity.

Opportunities are run by the demo's partners where there is an approved, illustrative one in
a fitting sector, and otherwise by public bodies (named as illustrative). Everything goes
through the services, as it would in use; names and hours come from one seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.db.base import utcnow
from missionboard.missions.models import Mission
from missionboard.partners.models import ModerationStatus, Partner, PartnerKind, Sector
from missionboard.volunteering import service, signups
from missionboard.volunteering.models import (
    DbsCheck,
    Mode,
    Opportunity,
    OpportunityStatus,
    Signup,
    SignupStatus,
    TimeKind,
)
from missionboard.volunteering.postcodes import Columns, count_centroids, import_postcodes
from missionboard.volunteering.schemas import HoursIn, OpportunityIn, SignupIn

CENTROIDS = "volunteering_postcodes.csv"
SEED = 20261129
FIRST_NAMES = ("Amira", "Ben", "Chloe", "Dev", "Efua", "Finn", "Grace", "Harun", "Isla",
               "Jamal", "Kai", "Lena", "Malik", "Niamh", "Owen", "Priya", "Quinn", "Rosa",
               "Sam", "Tomasz", "Uma", "Viktor", "Wen", "Yusuf", "Zara")
LAST_NAMES = ("Example", "Sample", "Placeholder", "Specimen", "Testperson", "Demo")


@dataclass(frozen=True)
class _Spec:
    slug: str
    mission: str
    title: str
    description: str
    public_body: str
    sector: Sector
    postcode: str = ""
    address: str = ""
    mode: Mode = Mode.IN_PERSON
    time_kind: TimeKind = TimeKind.REGULAR
    hours: float | None = None
    time_note: str = ""
    tags: tuple[str, ...] = ()
    accessibility: str = ""
    dbs_check: DbsCheck = DbsCheck.NONE
    minimum_age: int | None = None
    capacity: int | None = None
    waitlist: bool = True
    #: How many made-up people sign up, and whether it then closes.
    people: int = 0
    closed: bool = False
    days: tuple[int, int] = field(default=(-60, 120))


SPECS = (
    _Spec("leeds-home-from-hospital", "nhs", "Home from hospital: settling people back in",
          "Help older people settle back at home after a stay in hospital: a friendly visit, "
          "a little shopping, a check that the heating is on and the fridge is full.\n\n"
          "You will have training, a named coordinator and expenses for your travel.",
          "Leeds Teaching Hospitals NHS Trust (illustrative)", Sector.HEALTH_CARE,
          postcode="LS1", address="Leeds city centre (illustrative)", hours=3,
          time_note="Weekday daytimes, flexible", tags=("befriending", "health", "older-people"),
          accessibility="Visits are in people's homes; we match you to journeys you can make.",
          dbs_check=DbsCheck.ENHANCED, minimum_age=18, capacity=12, people=9),
    _Spec("manchester-vaccination-marshals", "nhs", "Vaccination clinic marshal",
          "Welcome people to a weekend vaccination clinic, guide them through and keep the "
          "queue moving.", "NHS Greater Manchester (illustrative)", Sector.HEALTH_CARE,
          postcode="M1", address="Manchester city centre (illustrative)",
          time_kind=TimeKind.ONE_OFF, hours=6, time_note="One Saturday, 9am to 3pm",
          tags=("events", "health"), accessibility="Step-free venue; seated roles available.",
          minimum_age=16, capacity=6, people=8),
    _Spec("birmingham-reading-volunteers", "opportunity", "Reading volunteer in primary schools",
          "Listen to children read, once a week in term time, and help them enjoy books.",
          "Birmingham City Council (illustrative)", Sector.EDUCATION, postcode="B1",
          address="Schools across Birmingham (illustrative)", hours=1.5,
          time_note="One morning a week in term time", tags=("children", "education", "reading"),
          accessibility="Schools are step-free; tell us what support you need.",
          dbs_check=DbsCheck.ENHANCED, minimum_age=18, capacity=15, people=7),
    _Spec("online-maths-mentors", "opportunity", "Online maths mentor for Year 11",
          "Mentor a Year 11 pupil in maths by video call, one hour a week, with materials "
          "provided.", "Department for Education (illustrative)", Sector.EDUCATION,
          mode=Mode.ONLINE, hours=1, time_note="An evening a week, January to May",
          tags=("education", "maths", "mentoring"),
          accessibility="From home; captions and screen readers supported.",
          dbs_check=DbsCheck.ENHANCED, minimum_age=18, capacity=30, people=5),
    _Spec("bristol-home-energy-advice", "clean-energy", "Home energy advice volunteer",
          "Help households cut their energy bills: draught-proofing, heating controls and the "
          "grants they can claim. In person at community events, or by phone.",
          "Bristol City Council (illustrative)", Sector.ENERGY_UTILITIES, postcode="BS1",
          address="Community centres across Bristol (illustrative)", mode=Mode.HYBRID, hours=3,
          tags=("advice", "energy"), accessibility="Phone sessions from home are possible.",
          capacity=20, people=6),
    _Spec("sheffield-tree-planting", "clean-energy", "Community tree planting day",
          "Plant native trees in a city park with the rangers. Tools, gloves and lunch "
          "provided.", "Sheffield City Council (illustrative)", Sector.COMMUNITY,
          postcode="S1", address="A park in Sheffield (illustrative)",
          time_kind=TimeKind.ONE_OFF, hours=5, time_note="A Saturday in November",
          tags=("environment", "outdoors"),
          accessibility="Uneven ground; seated jobs at the base camp.", minimum_age=12,
          capacity=40, people=10, closed=True, days=(-90, -10)),
    _Spec("london-street-watch", "safer-streets", "Street Watch volunteer",
          "Walk your neighbourhood in pairs, report problems to the council and the police, "
          "and be a friendly face.", "Metropolitan Police (illustrative)",
          Sector.PUBLIC_SERVICES, postcode="SE1", address="Southwark (illustrative)", hours=2,
          time_note="Two evenings a month", tags=("community-safety", "outdoors"),
          dbs_check=DbsCheck.BASIC, minimum_age=18, capacity=25, people=4),
    _Spec("cardiff-youth-club", "safer-streets", "Youth club volunteer",
          "Run sport and games at an evening youth club, with trained youth workers.",
          "Cardiff Council (illustrative)", Sector.COMMUNITY, postcode="CF10",
          address="Cardiff city centre (illustrative)", hours=3, time_note="Tuesday evenings",
          tags=("sport", "youth"), dbs_check=DbsCheck.ENHANCED, minimum_age=18, capacity=8,
          people=3),
    _Spec("newcastle-job-club", "economic-growth", "Job club volunteer: CVs and interviews",
          "Help people back into work: CVs, applications and practice interviews at a "
          "weekly job club.", "Jobcentre Plus (illustrative)",
          Sector.PROFESSIONAL_SERVICES, postcode="NE1",
          address="Newcastle city centre (illustrative)", hours=2,
          time_note="Wednesday mornings", tags=("employment", "mentoring"),
          accessibility="Step-free library building with a hearing loop.", people=5),
)


def load_centroids(session: Session) -> int:
    """The demo's approximate outward-code centroids, unless some centroids are loaded."""
    counts = count_centroids(session)
    if counts["units"] or counts["outward_codes"]:
        return 0
    text = files("missionboard").joinpath("demo_data", CENTROIDS).read_text("utf-8")
    reader = csv.reader(text.splitlines())
    header = next(reader)
    result = import_postcodes(session, rows=reader, header=header, columns=Columns(
        postcode="postcode", latitude="latitude", longitude="longitude", area="area_code"))
    return result.rows


#: Partners that usually run volunteering come first when several share a sector.
_VOLUNTEERING_KINDS = (PartnerKind.CHARITY, PartnerKind.SOCIAL_ENTERPRISE,
                       PartnerKind.COMMUNITY_GROUP, PartnerKind.FAITH_GROUP,
                       PartnerKind.UNIVERSITY, PartnerKind.PUBLIC_BODY)


def _partners_by_sector(session: Session) -> dict[Sector, Partner]:
    """The demo's approved partners, one per sector to run opportunities in it."""
    partners = session.scalars(select(Partner).where(
        Partner.illustrative, Partner.moderation == ModerationStatus.APPROVED)).all()
    found: dict[Sector, Partner] = {}
    for partner in sorted(partners, key=lambda p: (p.kind not in _VOLUNTEERING_KINDS, p.id)):
        found.setdefault(partner.sector, partner)
    return found


def load_volunteering(session: Session, *, missions_by_slug: Mapping[str, Mission]) -> int:
    """Load the demo's centroids and opportunities. Returns the number of opportunities.
    Flushes; never commits."""
    load_centroids(session)
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    partners = _partners_by_sector(session)
    today = utcnow().date()
    names = [f"{first} {last}" for last in LAST_NAMES for first in FIRST_NAMES]
    rng.shuffle(names)
    made = 0
    for spec in SPECS:
        mission = missions_by_slug.get(spec.mission)
        if mission is None:
            continue
        partner = partners.get(spec.sector)
        opportunity = service.create_opportunity(session, mission=mission, data=OpportunityIn(
            slug=spec.slug, title=spec.title, description=spec.description,
            partner_id=partner.id if partner else None,
            public_body="" if partner else spec.public_body, mode=spec.mode,
            address=spec.address, postcode=spec.postcode,
            starts_on=today + dt.timedelta(days=spec.days[0]),
            time_kind=spec.time_kind, hours=spec.hours, time_note=spec.time_note,
            tags=list(spec.tags), accessibility=spec.accessibility, dbs_check=spec.dbs_check,
            minimum_age=spec.minimum_age, capacity=spec.capacity, waitlist=spec.waitlist))
        opportunity.illustrative = True
        service.set_status(session, opportunity=opportunity, status=OpportunityStatus.PUBLISHED,
                           organiser=True, moderator=True)
        people = [names.pop() for _ in range(spec.people)]
        _sign_up(session, opportunity, people)
        _hours(session, opportunity, rng, today)
        if spec.closed:  # it ended after the sign-ups: the daily job would have closed it
            opportunity.ends_on = today + dt.timedelta(days=spec.days[1])
            service.set_status(session, opportunity=opportunity,
                               status=OpportunityStatus.CLOSED, organiser=True,
                               moderator=True)
        made += 1
    session.flush()
    return made


def _sign_up(session: Session, opportunity: Opportunity, people: list[str]) -> None:
    for name in people:
        email = ".".join(name.lower().split()) + "@example.org"
        signups.sign_up(session, opportunity=opportunity, site="", data=SignupIn(
            name=name, email=email, consent_store=True, consent_contact=True,
            dbs_acknowledged=True, age_confirmed=True))


def _hours(session: Session, opportunity: Opportunity, rng: random.Random,
           today: dt.date) -> None:
    """One to three logged sessions each; most confirmed, the odd one rejected, the latest
    left for the organiser."""
    people = session.scalars(select(Signup).where(
        Signup.opportunity_id == opportunity.id, Signup.status == SignupStatus.SIGNED_UP)
        .order_by(Signup.id)).all()
    per_session = opportunity.hours or 2.0
    for number, signup in enumerate(people):
        for _ in range(rng.randint(1, 3)):
            signups.log_hours(session, signup=signup, today=today, data=HoursIn(
                worked_on=today - dt.timedelta(days=rng.randint(1, 50)),
                hours=float(per_session)))
        logged = signups.hours_of(session, signup)
        for i, entry in enumerate(sorted(logged, key=lambda h: h.id)):
            if i == len(logged) - 1 and number % 3 == 0:
                continue  # waiting for the organiser
            signups.decide_hours(session, opportunity=opportunity, hours_id=entry.id,
                                 confirm=not (number == 1 and i == 0), user=None)
