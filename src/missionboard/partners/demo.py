"""The demo's partners: illustrative organisations of every kind making commitments of every
kind to the demo missions, with progress reports — some on track, some behind, one achieved,
some lapsed — some verified, one counted in the growth mission's trajectory, and one new
organisation still awaiting moderation (its registration email is in the outbox).

Everything here is made up and labelled illustrative wherever it is shown. Dates are set
relative to the day the demo is loaded, so that the statuses read the same whenever it is.
A member of staff of Northbridge Housing signs in as ``partner@`` the admin's domain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.metrics.models import Metric
from missionboard.missions.models import Mission
from missionboard.partners import service, trajectory
from missionboard.partners.models import (
    CommitmentKind,
    MemberVerification,
    ModerationStatus,
    Partner,
    PartnerKind,
    PartnerMember,
    PartnerSize,
    ReportingSchedule,
    Sector,
    VerificationLevel,
)
from missionboard.partners.schemas import CommitmentIn, PartnerIn, PersonIn, ReportIn
from missionboard.partners.status import add_months

RTT = "referral-to-treatment-percent-of-incomplete-pathways-waiting-under-18-weeks"
HOMES = "net-additional-dwellings-cumulative-over-the-parliament"
#: Where the demo is served (``python3 dev.py demo``): the registration email's link.
SITE = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Report:
    #: Months before the demo's day that the period ended.
    months_ago: int
    narrative: str
    value: float | None = None
    money: float | None = None
    hours: float | None = None
    completed: bool = False
    evidence: str = ""
    verification: VerificationLevel = VerificationLevel.SELF_REPORTED


@dataclass(frozen=True)
class Pledge:
    mission: str
    title: str
    kind: CommitmentKind
    description: str
    #: Months before (negative: after) the demo's day that it started / its deadline falls.
    started_months_ago: int
    deadline_months_ahead: int | None
    schedule: ReportingSchedule = ReportingSchedule.QUARTERLY
    unit: str = ""
    baseline: float | None = None
    target: float | None = None
    money: float | None = None
    hours: float | None = None
    in_kind: str = ""
    metric: str = ""
    area: str = ""
    verification: VerificationLevel = VerificationLevel.SELF_REPORTED
    reports: Sequence[Report] = ()
    approved: bool = True
    count: bool = False


@dataclass(frozen=True)
class Organisation:
    name: str
    kind: PartnerKind
    sector: Sector
    size: PartnerSize
    description: str
    web_domain: str
    areas: Sequence[str]
    company_number: str = ""
    charity_number: str = ""
    union_number: str = ""
    pledges: Sequence[Pledge] = field(default_factory=tuple)
    approved: bool = True


ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation(
        "Northbridge Housing Association", PartnerKind.CHARITY, Sector.CONSTRUCTION_HOUSING,
        PartnerSize.LARGE, "A housing association with 14,000 homes across the North East and "
        "Yorkshire.", "northbridge-housing.example", ("E12000001", "E12000003"),
        charity_number="1234567",
        pledges=(
            Pledge("economic-growth", "Build 1,200 new affordable homes", CommitmentKind.TARGET,
                   "New homes for social rent and shared ownership on brownfield sites.",
                   started_months_ago=15, deadline_months_ahead=33, unit="dwellings",
                   baseline=0, target=1200, metric=HOMES, area="E12000001",
                   money=60_000_000, count=True,
                   verification=VerificationLevel.EVIDENCED, reports=(
                       Report(12, "Two sites started; 90 homes completed.", value=90,
                              money=4_100_000, evidence="Completion certificates"),
                       Report(9, "First Gateshead phase handed over.", value=180,
                              money=3_900_000),
                       Report(6, "Second phase delayed by a contractor's insolvency.",
                              value=230, money=2_200_000),
                       Report(3, "New contractor on site; 120 homes handed over.", value=350,
                              money=5_000_000, evidence="Quarterly statement to the "
                              "regulator", verification=VerificationLevel.EVIDENCED))),
            Pledge("clean-energy", "Fit solar panels to 2,000 tenants' homes",
                   CommitmentKind.TARGET, "Rooftop solar at no cost to tenants.",
                   started_months_ago=10,
                   deadline_months_ahead=26, unit="homes fitted", baseline=0, target=2000,
                   area="E12000003", reports=(
                       Report(6, "Survey of suitable roofs finished.", value=0),
                       Report(3, "Pilot of 150 homes fitted.", value=150,
                              money=620_000))),
        )),
    Organisation(
        "Brightwell Energy Co-operative", PartnerKind.COMMUNITY_GROUP, Sector.ENERGY_UTILITIES,
        PartnerSize.SMALL, "A community energy co-operative owned by 900 local members.",
        "brightwell-energy.example", ("S92000003", "W92000004"),
        pledges=(
            Pledge("clean-energy", "Invest £2.5 million in community solar farms",
                   CommitmentKind.MONEY, "Three community-owned solar farms, with a share "
                   "offer to local residents.", started_months_ago=20, deadline_months_ahead=16,
                   money=2_500_000, area="S92000003", reports=(
                       Report(17, "Share offer raised £400,000; land agreed.", money=150_000),
                       Report(14, "Grid connection delayed to next year.", money=90_000),
                       Report(11, "Planning consent for the first site.", money=60_000),
                       Report(8, "Construction contract let.", money=120_000),
                       Report(5, "Panels ordered.", money=180_000),
                       Report(2, "First site under construction.", money=210_000))),
        )),
    Organisation(
        "Allied Care Workers' Union", PartnerKind.TRADE_UNION, Sector.HEALTH_CARE,
        PartnerSize.LARGE, "A trade union for care and health support workers.",
        "alliedcare-union.example", ("E92000001",), union_number="CO-0417",
        pledges=(
            Pledge("nhs", "Give 20,000 hours of peer mentoring to new healthcare assistants",
                   CommitmentKind.TIME, "Experienced members mentor new starters in their "
                   "first six months, to keep them in post.", started_months_ago=16,
                   deadline_months_ahead=20, hours=20_000, area="E92000001", reports=(
                       Report(13, "Mentoring scheme launched in 12 trusts.", hours=1_800),
                       Report(10, "Scheme reaches 20 trusts.", hours=2_600))),
        )),
    Organisation(
        "Hartfield University", PartnerKind.UNIVERSITY, Sector.EDUCATION, PartnerSize.LARGE,
        "A university with a leading school of early childhood education.",
        "hartfield.example", ("E12000005",), charity_number="1140000",
        pledges=(
            Pledge("opportunity", "Open a free early-language course for nursery staff",
                   CommitmentKind.ACTION, "An accredited online course, free to every nursery "
                   "practitioner in England.", started_months_ago=14, deadline_months_ahead=4,
                   schedule=ReportingSchedule.SIX_MONTHLY, hours=3_000, area="E92000001",
                   verification=VerificationLevel.INDEPENDENTLY_VERIFIED, reports=(
                       Report(8, "Course written and piloted with 40 practitioners.",
                              hours=1_900),
                       Report(2, "Course open to all; 2,300 enrolled in the first month.",
                              hours=1_200, completed=True, evidence="Enrolment figures "
                              "audited by the awarding body",
                              verification=VerificationLevel.INDEPENDENTLY_VERIFIED))),
        )),
    Organisation(
        "St Aidan's Community Trust", PartnerKind.FAITH_GROUP, Sector.COMMUNITY,
        PartnerSize.MICRO, "A church-based community trust running a hall and youth clubs.",
        "staidans-trust.example", ("E12000002",), charity_number="1098765",
        pledges=(
            Pledge("safer-streets", "Host neighbourhood policing surgeries in our hall",
                   CommitmentKind.IN_KIND, "Free use of the hall every week for police "
                   "surgeries and youth outreach.", started_months_ago=11,
                   deadline_months_ahead=13, in_kind="Community hall, two evenings a week",
                   area="E12000002"),
        )),
    Organisation(
        "Greenway Logistics Ltd", PartnerKind.BUSINESS, Sector.TRANSPORT, PartnerSize.MEDIUM,
        "A regional parcels and freight company.", "greenway-logistics.example",
        ("E12000008", "E12000007"), company_number="09876543",
        pledges=(
            Pledge("clean-energy", "Electrify 400 delivery vans", CommitmentKind.TARGET,
                   "Replace the diesel van fleet with electric vans and depot charging.",
                   started_months_ago=13, deadline_months_ahead=23, unit="electric vans",
                   baseline=20, target=400, area="E12000008", reports=(
                       Report(10, "Depot chargers installed at two sites.", value=60,
                              money=900_000),
                       Report(7, "Second order of vans delivered.", value=140,
                              money=1_400_000))),
            Pledge("economic-growth", "Take on 60 apprentices a year", CommitmentKind.ACTION,
                   "Apprenticeships in driving, warehousing and engineering.",
                   started_months_ago=2, deadline_months_ahead=34,
                   schedule=ReportingSchedule.YEARLY, area="E12000007"),
        )),
    Organisation(
        "Northgate Community Health CIC", PartnerKind.SOCIAL_ENTERPRISE, Sector.HEALTH_CARE,
        PartnerSize.MEDIUM, "A community interest company running outpatient and diagnostic "
        "clinics for the NHS.", "northgate-health.example", ("E12000004",),
        company_number="12345678",
        pledges=(
            Pledge("nhs", "Run weekend clinics to cut waits for treatment",
                   CommitmentKind.TARGET, "Extra weekend outpatient and diagnostic clinics, "
                   "worth about 0.3 percentage points on the national share of patients "
                   "waiting under 18 weeks.", started_months_ago=5, deadline_months_ahead=19,
                   unit="percent", baseline=58.8, target=59.1, metric=RTT, area="E92000001",
                   money=1_200_000, verification=VerificationLevel.EVIDENCED,
                   reports=(
                       Report(2, "Weekend clinics running in four towns.", value=58.85,
                               money=310_000, evidence="Activity returns to the ICB"),)),
            Pledge("nhs", "Open a community diagnostic hub in Leicester",
                   CommitmentKind.ACTION, "Scans and tests closer to home, six days a week.",
                   started_months_ago=4, deadline_months_ahead=8, area="E12000004",
                   money=800_000, reports=(
                       Report(1, "Building leased; scanners ordered.", money=240_000),)),
        )),
    Organisation(
        "Midlands Chamber of Enterprise", PartnerKind.BUSINESS, Sector.PROFESSIONAL_SERVICES,
        PartnerSize.SMALL, "A chamber of commerce for firms in the East and West Midlands.",
        "midlands-chamber.example", ("E12000004", "E12000005"), company_number="04567890",
        pledges=(
            Pledge("economic-growth", "Fund £500,000 of export advice for small firms",
                   CommitmentKind.MONEY, "Free export advice for 250 small manufacturers.",
                   started_months_ago=8, deadline_months_ahead=16, money=500_000,
                   area="E12000005", verification=VerificationLevel.INDEPENDENTLY_VERIFIED,
                   reports=(
                       Report(5, "Advice programme launched; 80 firms signed up.",
                              money=110_000, evidence="Audited accounts"),
                       Report(2, "150 firms advised.", money=140_000,
                              verification=VerificationLevel.INDEPENDENTLY_VERIFIED))),
            Pledge("economic-growth", "Mentor 100 first-time exporters", CommitmentKind.TIME,
                   "Members give their time to mentor firms new to exporting.",
                   started_months_ago=3, deadline_months_ahead=21, hours=4_000,
                   area="E12000004", approved=False),
        )),
)

#: A new organisation, still awaiting moderation (registered through the public journey).
PENDING = Organisation(
    "Fairstart Foods CIC", PartnerKind.SOCIAL_ENTERPRISE, Sector.AGRICULTURE_FOOD,
    PartnerSize.MICRO, "A community interest company providing breakfasts in schools.",
    "fairstart-foods.example", ("E12000009",), company_number="13579246",
    pledges=(
        Pledge("opportunity", "Provide 50,000 school breakfasts", CommitmentKind.IN_KIND,
               "Free breakfasts for children in 30 primary schools.", started_months_ago=0,
               deadline_months_ahead=12, in_kind="50,000 breakfasts", area="E12000009",
               approved=False),
    ), approved=False)


def _partner_in(org: Organisation) -> PartnerIn:
    return PartnerIn(name=org.name, kind=org.kind, sector=org.sector, size=org.size,
                     description=org.description, web_domain=org.web_domain,
                     website=f"https://www.{org.web_domain}", company_number=org.company_number,
                     charity_number=org.charity_number, union_number=org.union_number,
                     area_codes=list(org.areas))


def _pledge_in(pledge: Pledge, *, today: dt.date) -> CommitmentIn:
    return CommitmentIn(
        mission_slug=pledge.mission, metric_slug=pledge.metric, area_code=pledge.area,
        title=pledge.title, description=pledge.description, kind=pledge.kind,
        unit=pledge.unit, baseline=pledge.baseline, target=pledge.target,
        start_on=add_months(today, -pledge.started_months_ago),
        deadline=(add_months(today, pledge.deadline_months_ahead)
                  if pledge.deadline_months_ahead is not None else None),
        pledged_money=pledge.money, pledged_hours=pledge.hours, in_kind=pledge.in_kind,
        schedule=pledge.schedule)


def _staff(session: Session, *, partner: Partner, user: User, now: dt.datetime) -> None:
    session.add(PartnerMember(partner=partner, user_id=user.id, job_title="Partnerships lead",
                              email_confirmed_at=now, verified_at=now,
                              verified_by=MemberVerification.ADMINISTRATOR))


def load_partners(session: Session, *, missions_by_slug: Mapping[str, Mission], admin: User,
                  email_domain: str, password: str) -> int:
    """Load the demo partners; returns the number of commitments. Flushes; never commits."""
    if not {"economic-growth", "nhs"} <= set(missions_by_slug):
        return 0
    now = utcnow()
    today = now.date()
    staff = accounts.create_user(session, email=f"partner@{email_domain}",
                                 name="Demo partner staff (Northbridge Housing)",
                                 password=password)
    made = 0
    for n, org in enumerate(ORGANISATIONS):
        partner = Partner(slug=service.unique_slug(session, org.name), illustrative=True,
                          moderation=ModerationStatus.APPROVED, moderated_at=now,
                          moderated_by_id=admin.id,
                          **_partner_in(org).model_dump(exclude={"area_codes"}))
        partner.areas, _ = service.check_partner(session, data=_partner_in(org))
        session.add(partner)
        session.flush()
        if n == 0:
            _staff(session, partner=partner, user=staff, now=now)
        made += _pledges(session, partner=partner, pledges=org.pledges, admin=admin,
                         today=today)
    pending = service.register_partner(
        session, data=_partner_in(PENDING),
        person=PersonIn(person_name="Demo applicant (Fairstart Foods)",
                        email=f"applicant@{PENDING.web_domain}", password=password),
        user=None, site=SITE, illustrative=True)
    made += _pledges(session, partner=pending.partner, pledges=PENDING.pledges, admin=admin,
                     today=today)
    session.flush()
    return made


def _pledges(session: Session, *, partner: Partner, pledges: Sequence[Pledge], admin: User,
             today: dt.date) -> int:
    for pledge in pledges:
        data = _pledge_in(pledge, today=today)
        if pledge.metric and not _metric_exists(session, pledge.metric):
            data = data.model_copy(update={"metric_slug": ""})
        commitment = service.create_commitment(session, partner=partner, data=data,
                                               illustrative=True)
        for r in pledge.reports:
            report = service.add_report(session, commitment=commitment, author=None,
                                        today=today, data=ReportIn(
                period_end=add_months(today, -r.months_ago), value=r.value,
                money_spent=r.money, hours_given=r.hours, completed=r.completed,
                narrative=r.narrative, evidence_description=r.evidence))
            report.verification = r.verification
        if pledge.approved and partner.moderation == ModerationStatus.APPROVED:
            service.moderate_commitment(session, commitment=commitment, approve=True, note="",
                                        actor=admin)
        service.set_verification(session, commitment=commitment, level=pledge.verification,
                                 actor=admin)
        if pledge.count and commitment.metric is not None:
            trajectory.count_in_trajectory(session, commitment=commitment, actor=admin,
                                           site="", today=today)
    return len(pledges)


def _metric_exists(session: Session, slug: str) -> bool:
    return session.scalar(select(Metric.id).where(Metric.slug == slug)) is not None
