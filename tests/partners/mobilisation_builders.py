"""A small world for the mobilisation dashboard, built through the services: areas three
deep (England → North East → Hartlepool, and Wales), partners with commitments of every kind
and status on two missions, private ones that must never be counted (pending, rejected, of a
pending partner, on a draft mission), and volunteering with sign-ups and confirmed hours on
known days. Each thing built is recorded with the figures it contributes, so that the tests
can work out what the dashboard should say without the dashboard's code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import Area
from missionboard.metrics.schemas import AreaIn
from missionboard.missions.models import Mission, MissionStatus
from missionboard.partners import service
from missionboard.partners import status as rules
from missionboard.partners.models import Commitment, CommitmentStatus, ModerationStatus, Partner
from missionboard.volunteering import service as volunteering_service
from missionboard.volunteering import signups
from missionboard.volunteering.models import HoursLog, Opportunity, OpportunityStatus, Signup
from missionboard.volunteering.schemas import HoursIn
from tests import factories
from tests.factories import World
from tests.partners import builders
from tests.volunteering import builders as vbuilders

#: The day the dashboard is worked out for.
TODAY = dt.date(2026, 6, 15)
ENGLAND, NORTH_EAST, HARTLEPOOL, WALES = "E92000001", "E12000001", "E06000001", "W92000004"
#: Staff and volunteers: their details must never be public.
STAFF_EMAIL = "private.staffer@acme.example"
VOLUNTEER_NAME, VOLUNTEER_EMAIL = "Verity Private", "verity.private@example.org"
SECRET_TITLES = ("Secret pending pledge", "Rejected pledge", "Pledge of a pending partner",
                 "Pledge on a draft mission")


@dataclass
class Built:
    """A commitment as built: whether it is public, and what it should count for."""

    commitment: Commitment
    public: bool
    area: str | None
    mission: str
    money: float = 0.0
    hours: float = 0.0
    #: (period_end, money, hours) of each report.
    reports: list[tuple[dt.date, float, float]] = field(default_factory=list)

    @property
    def status(self) -> CommitmentStatus:
        c = self.commitment
        return rules.derive_status(service.terms_of(c), service.reports_of(c), today=TODAY)


@dataclass
class Placed:
    """A volunteer with a place: when they got it, and their confirmed hours."""

    opportunity: Opportunity
    public: bool
    area: str
    mission: str
    on: dt.date
    hours: list[tuple[dt.date, float]] = field(default_factory=list)


@dataclass
class Scenario:
    world: World
    other: Mission
    areas: dict[str, Area]
    partners: dict[str, Partner]
    commitments: dict[str, Built]
    volunteers: list[Placed]

    def public(self) -> list[Built]:
        return [b for b in self.commitments.values() if b.public]


def _area(session: Session, code: str, name: str, level: str, parent: str | None) -> Area:
    return metrics_service.create_area(session, data=AreaIn(code=code, name=name, level=level,
                                                            parent_code=parent))


def _commit(session: Session, partner: Partner, key: str, *, mission: str = "published-mission",
            area: str | None = ENGLAND, approved: bool = True,
            reports: list[dict[str, Any]] | None = None, **terms: Any) -> tuple[str, Built]:
    defaults: dict[str, Any] = {"title": f"Commitment {key}", "kind": "action",
                                "baseline": None, "target": None, "unit": "",
                                "deadline": dt.date(2027, 1, 1)}
    defaults.update(terms)
    c = builders.commitment(session, partner, approved=approved, mission=mission,
                            area_code=area or "", **defaults)
    made = []
    for r in reports or []:
        builders.report(session, c, r.pop("on"), **r)
        made.append((c.reports[-1].period_end, c.reports[-1].money_spent or 0.0,
                     c.reports[-1].hours_given or 0.0))
    public = approved and partner.moderation == ModerationStatus.APPROVED
    return key, Built(c, public=public, area=area, mission=mission,
                      money=float(c.pledged_money or 0), hours=float(c.pledged_hours or 0),
                      reports=made)


def _volunteer(session: Session, opportunity: Opportunity, n: int, *, on: dt.date,
               hours: Sequence[tuple[dt.date, float]] = (), rejected: float | None = None,
               name: str = "Pat Volunteer", email: str = "") -> Signup:
    email = email or f"volunteer{n}.{opportunity.slug}@example.org"
    vbuilders.sign_up(session, opportunity, name, email)
    signup = session.scalars(select(Signup).where(Signup.email == email,
                                                  Signup.opportunity_id == opportunity.id)).one()
    session.execute(update(Signup).where(Signup.id == signup.id).values(
        created_at=dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)))
    logged = [(day, h, True) for day, h in hours]
    if rejected is not None:
        logged.append((on, rejected, False))
    for day, h, confirm in logged:
        signups.log_hours(session, signup=signup, data=HoursIn(worked_on=day, hours=h),
                          today=TODAY)
        entry = session.scalars(select(HoursLog).where(HoursLog.signup_id == signup.id)
                                .order_by(HoursLog.id.desc())).first()
        assert entry is not None
        signups.decide_hours(session, opportunity=opportunity, hours_id=entry.id,
                             confirm=confirm, user=None)
    return signup


def scenario(session: Session) -> Scenario:
    w = factories.world(session)
    other = factories.mission(session, "second-mission")
    hidden = factories.mission(session, "hidden-mission")
    areas = {ENGLAND: w.area,
             NORTH_EAST: _area(session, NORTH_EAST, "North East", "region", ENGLAND),
             HARTLEPOOL: _area(session, HARTLEPOOL, "Hartlepool", "local_authority",
                               NORTH_EAST),
             WALES: _area(session, WALES, "Wales", "nation", None)}
    staff = factories.user(session, STAFF_EMAIL)
    p = {"acme": builders.partner(session, "Acme Widgets Ltd", staff=staff),
         "beacon": builders.partner(session, "Beacon Trust", kind="charity",
                                    sector="community", web_domain="beacon.example",
                                    company_number=""),
         "cobalt": builders.partner(session, "Cobalt Energy", sector="energy_utilities",
                                    web_domain="cobalt.example"),
         "dormant": builders.partner(session, "Dormant Builders", sector="construction_housing",
                                     web_domain="dormant.example"),
         "pending": builders.partner(session, "Pending Partner Ltd", approved=False,
                                     web_domain="pending.example")}
    built = dict([
        # Money, behind or on track, in England: reports before and within the window.
        _commit(session, p["acme"], "money", kind="money", pledged_money=1000,
                start_on=dt.date(2025, 1, 1), reports=[
                    {"on": dt.date(2025, 12, 31), "money_spent": 100},
                    {"on": dt.date(2026, 2, 28), "money_spent": 200},
                    {"on": dt.date(2026, 5, 31), "money_spent": 300}]),
        # Time, monthly, in the North East: lapsed (last report 31 March).
        _commit(session, p["acme"], "time", kind="time", pledged_hours=500,
                area=NORTH_EAST, schedule="monthly", start_on=dt.date(2025, 6, 1), reports=[
                    {"on": dt.date(2026, 1, 31), "hours_given": 50},
                    {"on": dt.date(2026, 3, 31), "hours_given": 70}]),
        # A target in Hartlepool with no report since it started: lapsed long ago.
        _commit(session, p["beacon"], "target", kind="target", unit="homes", baseline=0,
                target=500, area=HARTLEPOOL, start_on=dt.date(2025, 1, 1)),
        # An action in Wales that has only just started: not yet due.
        _commit(session, p["beacon"], "action", area=WALES, start_on=dt.date(2026, 5, 1)),
        # An in-kind pledge tied to no area, done.
        _commit(session, p["cobalt"], "in_kind", kind="in_kind", in_kind="Office space",
                area=None, schedule="six_monthly", start_on=dt.date(2025, 10, 1), reports=[
                    {"on": dt.date(2026, 1, 15), "completed": True}]),
        # Money later withdrawn: only in the count by status.
        _commit(session, p["cobalt"], "withdrawn", kind="money", pledged_money=5000,
                start_on=dt.date(2025, 11, 1), reports=[
                    {"on": dt.date(2026, 1, 10), "money_spent": 999}]),
        # On the second mission, in the North East: hours, on track.
        _commit(session, p["cobalt"], "second", mission="second-mission", kind="time",
                pledged_hours=100, area=NORTH_EAST, schedule="monthly",
                start_on=dt.date(2026, 2, 1), reports=[
                    {"on": dt.date(2026, 5, 31), "hours_given": 10}]),
        # A partner whose only commitments have lapsed, on the same day (a tie).
        _commit(session, p["dormant"], "dormant1", start_on=dt.date(2025, 6, 1)),
        _commit(session, p["dormant"], "dormant2", start_on=dt.date(2025, 6, 1)),
        # Never public.
        _commit(session, p["acme"], "pending", title=SECRET_TITLES[0], approved=False,
                kind="money", pledged_money=7777, start_on=dt.date(2025, 1, 1), reports=[
                    {"on": dt.date(2026, 3, 1), "money_spent": 777}]),
        _commit(session, p["acme"], "rejected", title=SECRET_TITLES[1], approved=False,
                start_on=dt.date(2025, 1, 1)),
        _commit(session, p["pending"], "pending_partner", title=SECRET_TITLES[2],
                kind="time", pledged_hours=999, start_on=dt.date(2025, 1, 1), reports=[
                    {"on": dt.date(2026, 3, 1), "hours_given": 99}]),
        _commit(session, p["cobalt"], "draft_mission", title=SECRET_TITLES[3],
                mission="hidden-mission", kind="money", pledged_money=4444,
                start_on=dt.date(2025, 1, 1)),
    ])
    service.withdraw_commitment(session, commitment=built["withdrawn"].commitment,
                                reason="Plans changed")
    built["rejected"].commitment.moderation = ModerationStatus.REJECTED
    hidden.status = MissionStatus.DRAFT
    built["draft_mission"].public = False
    session.flush()

    vbuilders.centroids(session)
    opportunities = {
        "garden": vbuilders.opportunity(session, w.mission, "garden", of=p["beacon"]),
        "online": vbuilders.opportunity(session, w.mission, "online", mode="online",
                                        postcode="", address="", capacity=None),
        "welsh": vbuilders.opportunity(session, other, "welsh"),
        "closed": vbuilders.opportunity(session, w.mission, "closed-one"),
        "pending": vbuilders.opportunity(session, w.mission, "pending-one"),
        "of_pending": vbuilders.opportunity(session, w.mission, "of-pending",
                                            of=p["pending"]),
        "hidden": vbuilders.opportunity(session, w.mission, "hidden-one"),
    }
    opportunities["garden"].area_code = HARTLEPOOL
    opportunities["online"].area_code = ""
    opportunities["welsh"].area_code = WALES
    opportunities["closed"].area_code = NORTH_EAST
    opportunities["pending"].area_code = NORTH_EAST
    opportunities["of_pending"].area_code = NORTH_EAST
    opportunities["hidden"].area_code = ENGLAND
    p["pending"].moderation = ModerationStatus.APPROVED  # for now: to take sign-ups
    session.flush()

    volunteers: list[Placed] = []

    def place(key: str, n: int, on: dt.date, hours: Sequence[tuple[dt.date, float]] = (),
              public: bool = True, **extra: Any) -> None:
        o = opportunities[key]
        _volunteer(session, o, n, on=on, hours=list(hours), **extra)
        volunteers.append(Placed(o, public=public, area=o.area_code, mission=o.mission.slug,
                                 on=on, hours=list(hours)))

    place("garden", 1, dt.date(2025, 11, 20), [(dt.date(2025, 12, 6), 3.0),
                                               (dt.date(2026, 3, 7), 2.5)], rejected=4.0,
          name=VOLUNTEER_NAME, email=VOLUNTEER_EMAIL)
    place("garden", 2, dt.date(2026, 3, 2), [(dt.date(2026, 4, 4), 1.5)])
    place("online", 1, dt.date(2026, 4, 20), [(dt.date(2026, 6, 1), 2.0)])
    place("welsh", 1, dt.date(2026, 5, 5), [(dt.date(2026, 5, 9), 4.0)])
    place("closed", 1, dt.date(2026, 1, 10), [(dt.date(2026, 1, 11), 6.0)])
    place("pending", 1, dt.date(2026, 2, 1), public=False)
    place("of_pending", 1, dt.date(2026, 2, 1), [(dt.date(2026, 2, 2), 8.0)], public=False)
    place("hidden", 1, dt.date(2026, 2, 1), [(dt.date(2026, 2, 2), 9.0)], public=False)
    # Now the private ones become private: back to pending, on a draft mission, of a pending
    # partner. The closed one closes after its volunteering.
    opportunities["pending"].status = OpportunityStatus.PENDING
    opportunities["hidden"].mission = hidden
    p["pending"].moderation = ModerationStatus.PENDING
    volunteering_service.set_status(session, opportunity=opportunities["closed"],
                                    status=OpportunityStatus.CLOSED, organiser=True,
                                    moderator=False)
    session.flush()
    return Scenario(world=w, other=other, areas=areas, partners=p, commitments=built,
                    volunteers=volunteers)
