"""Mission councils: the council and its register of members (with the balance by sector), the
secretariat, meetings with attendance and minutes, recommendations to the government and the
government's responses; the public tracker's export and the stocktake pack's council section.

Who may do what (each helper below, every branch tested):

- the mission's editors and admins set the council up (its details, members, secretariat)
  and respond to its recommendations for the government;
- the council's secretariat (users given that role for the council in ``council_staff``)
  records its meetings, minutes and recommendations, and keeps its register of members;
- drafts (unpublished minutes, members' contact details) are seen by both; everything else
  is public once the mission is published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.councils.models import (
    SECTOR_LABELS,
    STATUS_LABELS,
    Attendance,
    Council,
    CouncilAttendance,
    CouncilMeeting,
    CouncilMember,
    CouncilRecommendation,
    CouncilResponse,
    CouncilStaff,
    MemberRole,
    RecommendationStatus,
    ResponseKind,
    Sector,
)
from missionboard.councils.schemas import (
    BalanceOut,
    CouncilIn,
    CouncilOut,
    ImplementationIn,
    MeetingIn,
    MeetingOut,
    MemberIn,
    MemberOut,
    RecommendationIn,
    RecommendationOut,
    ResponseIn,
    ResponseOut,
    SectorShareOut,
)
from missionboard.db.base import utcnow
from missionboard.errors import Conflict, FieldError, NotFound, ValidationFailed
from missionboard.missions.models import Mission

#: The order in which the tracker counts statuses: what needs attention first.
STATUS_ORDER = (RecommendationStatus.OVERDUE, RecommendationStatus.AWAITING,
                RecommendationStatus.ACCEPTED, RecommendationStatus.PARTLY_ACCEPTED,
                RecommendationStatus.REJECTED)
OUTSTANDING = frozenset({RecommendationStatus.AWAITING, RecommendationStatus.OVERDUE})
ACCEPTING = frozenset({ResponseKind.ACCEPTED, ResponseKind.PARTLY_ACCEPTED})


# Status and balance: pure functions --------------------------------------------------------

def recommendation_status(*, due_on: dt.date, response: ResponseKind | None,
                          responded_on: dt.date | None, today: dt.date) -> RecommendationStatus:
    """Where a recommendation stands on ``today``.

    A response counts from the day it is dated: before then (or without one) the
    recommendation is *awaiting* a response until its due date, inclusive, and *overdue* from
    the day after. Once responded to, its status is the response's, late or not (the
    lateness is :func:`days_late`).
    """
    if response is not None and responded_on is not None and responded_on <= today:
        return RecommendationStatus(response.value)
    if today > due_on:
        return RecommendationStatus.OVERDUE
    return RecommendationStatus.AWAITING


def days_late(*, due_on: dt.date, responded_on: dt.date) -> int:
    """Days between the due date and a response that came after it (0 when on time)."""
    return max(0, (responded_on - due_on).days)


def default_due(made_on: dt.date, *, weeks: int) -> dt.date:
    """The response's default due date: ``weeks`` after the recommendation is made."""
    return made_on + dt.timedelta(weeks=weeks)


@dataclass(frozen=True)
class SectorShare:
    sector: Sector
    members: int
    #: The share of the members (None when there are no members).
    share: float | None
    needed: bool
    over_limit: bool

    @property
    def label(self) -> str:
        return SECTOR_LABELS[self.sector]

    @property
    def missing(self) -> bool:
        return self.needed and self.members == 0


@dataclass(frozen=True)
class Balance:
    """The membership by sector, with the sectors over the limit and the needed ones
    missing."""

    members: int
    max_share: float
    sectors: tuple[SectorShare, ...]

    @property
    def over_limit(self) -> list[Sector]:
        return [s.sector for s in self.sectors if s.over_limit]

    @property
    def missing(self) -> list[Sector]:
        return [s.sector for s in self.sectors if s.missing]

    @property
    def flagged(self) -> bool:
        return bool(self.over_limit or self.missing)

    @property
    def flags(self) -> list[str]:
        """The problems with the balance, in words."""
        out = [f"{s.label} holds {s.members} of the {self.members} seats "
               f"({(s.share or 0):.0%}), more than the limit of {self.max_share:.0%}"
               for s in self.sectors if s.over_limit]
        out += [f"The remit needs a member from {s.label.lower()}, and there is none"
                for s in self.sectors if s.missing]
        return out


def membership_balance(sectors: Sequence[Sector], *, max_share: float,
                       needed: Iterable[Sector] = ()) -> Balance:
    """Count the members (given by their sectors) in each sector: a sector is over the limit
    when it holds more than ``max_share`` of the members; a needed sector with no member is
    missing."""
    total = len(sectors)
    wanted = set(needed)
    rows = []
    for sector in Sector:
        n = sum(1 for s in sectors if s == sector)
        share = n / total if total else None
        rows.append(SectorShare(sector=sector, members=n, share=share, needed=sector in wanted,
                                over_limit=share is not None and share > max_share))
    return Balance(members=total, max_share=max_share, sectors=tuple(rows))


# Who may do what ---------------------------------------------------------------------------

def is_secretary(user: User | None, council: Council) -> bool:
    """The user is on the council's secretariat."""
    if user is None:
        return False
    return any(s.user_id == user.id for s in council.staff)


def can_set_up(user: User | None, council: Council) -> bool:
    """Change the council's details and secretariat: the mission's editors and admins."""
    return access.can_edit_mission(user, council.mission_id)


def can_respond(user: User | None, council: Council) -> bool:
    """Respond for the government: the mission's editors and admins."""
    return access.can_edit_mission(user, council.mission_id)


def can_record(user: User | None, council: Council) -> bool:
    """Record meetings, minutes and recommendations: the secretariat and admins (not the
    government's editors: the council's record is the council's)."""
    if user is None:
        return False
    if access.is_admin(user):
        return True
    return is_secretary(user, council)


def can_keep_register(user: User | None, council: Council) -> bool:
    """Add and change members: the mission's editors, admins and the secretariat."""
    if can_set_up(user, council):
        return True
    return is_secretary(user, council)


def can_see_drafts(user: User | None, council: Council) -> bool:
    """Draft minutes and members' contact details: the secretariat, editors and admins."""
    if access.can_edit_mission(user, council.mission_id):
        return True
    return is_secretary(user, council)


def can_see(user: User | None, council: Council) -> bool:
    """The public sees a council of a published mission; the rest, only those who run it."""
    if council.is_public:
        return True
    return can_see_drafts(user, council)


def can_manage(user: User | None, council: Council) -> bool:
    """Anything to do on the council's management page."""
    return can_keep_register(user, council) or can_record(user, council)


# Councils ----------------------------------------------------------------------------------

def list_councils(session: Session) -> list[Council]:
    """Every council (the caller decides who may see which), by name."""
    return list(session.scalars(select(Council).order_by(Council.name, Council.id)))


def get_council(session: Session, *, slug: str) -> Council:
    council = session.scalar(select(Council).where(Council.slug == slug))
    if council is None:
        raise NotFound(f"No council {slug!r}")
    return council


def council_for_mission(session: Session, *, mission: Mission) -> Council | None:
    return session.scalar(select(Council).where(Council.mission_id == mission.id))


def _apply(council: Council, data: CouncilIn) -> None:
    council.name, council.remit = data.name, data.remit
    council.terms_of_reference = data.terms_of_reference.strip()
    council.max_sector_share = data.max_sector_percent / 100
    council.required_sectors = [s.value for s in Sector if s in set(data.required_sectors)]
    council.response_weeks = data.response_weeks


def create_council(session: Session, *, mission: Mission, data: CouncilIn) -> Council:
    errors = []
    if council_for_mission(session, mission=mission) is not None:
        errors.append(FieldError("slug", "This mission already has a council"))
    if session.scalar(select(Council.id).where(Council.slug == data.slug)):
        errors.append(FieldError("slug", f"The short name {data.slug!r} is taken"))
    if errors:
        raise ValidationFailed(errors)
    council = Council(mission=mission, slug=data.slug)
    _apply(council, data)
    session.add(council)
    session.flush()
    return council


def update_council(session: Session, *, council: Council, data: CouncilIn) -> Council:
    if data.slug != council.slug:
        raise ValidationFailed([FieldError("slug", "The short name cannot change")])
    _apply(council, data)
    session.flush()
    return council


def current_members(council: Council, *, today: dt.date) -> list[CouncilMember]:
    return [m for m in council.members if m.serves_on(today)]


def former_members(council: Council, *, today: dt.date) -> list[CouncilMember]:
    return [m for m in council.members if m.term_end is not None and m.term_end < today]


def chair(council: Council, *, today: dt.date) -> list[CouncilMember]:
    """The current chair, or co-chairs."""
    return [m for m in current_members(council, today=today) if m.role == MemberRole.CHAIR]


def balance(council: Council, *, today: dt.date) -> Balance:
    """The balance of the current membership."""
    return membership_balance([m.sector for m in current_members(council, today=today)],
                              max_share=council.max_sector_share,
                              needed=council.sectors_needed)


# Members -----------------------------------------------------------------------------------

def get_member(session: Session, *, council: Council, member_id: int) -> CouncilMember:
    member = session.get(CouncilMember, member_id)
    if member is None or member.council_id != council.id:
        raise NotFound(f"No member {member_id} of this council")
    return member


def _set_member(member: CouncilMember, data: MemberIn) -> None:
    member.name, member.organisation = data.name, data.organisation
    member.sector, member.role = data.sector, data.role
    member.term_start, member.term_end = data.term_start, data.term_end
    member.interests = data.interests.strip()
    member.email, member.phone = data.email, data.phone


def add_member(session: Session, *, council: Council, data: MemberIn) -> CouncilMember:
    member = CouncilMember(council_id=council.id)
    _set_member(member, data)
    session.add(member)
    session.flush()
    session.expire(council, ["members"])
    return member


def update_member(session: Session, *, member: CouncilMember, data: MemberIn
                  ) -> CouncilMember:
    _set_member(member, data)
    session.flush()
    return member


def members_on_record(session: Session, *, council: Council) -> set[int]:
    """The ids of the members on some meeting's attendance (they cannot be removed)."""
    return set(session.scalars(select(CouncilAttendance.member_id).join(CouncilMeeting).where(
        CouncilMeeting.council_id == council.id)))


def remove_member(session: Session, *, member: CouncilMember) -> None:
    """Remove a member entered by mistake. A member on a meeting's attendance stays on the
    record: end their term instead."""
    attended = session.scalar(select(func.count()).select_from(CouncilAttendance).where(
        CouncilAttendance.member_id == member.id))
    if attended:
        raise Conflict(f"{member.name} is on the attendance of a meeting: end their term "
                       "instead of removing them")
    council = member.council
    session.delete(member)
    session.flush()
    session.expire(council, ["members"])


# The secretariat ---------------------------------------------------------------------------

def add_secretary(session: Session, *, council: Council, email: str) -> CouncilStaff:
    """Give an existing user the council's secretariat role."""
    address = email.strip().lower()
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if not address or user is None or not user.is_active:
        raise ValidationFailed([FieldError("email", "Enter the email address of someone who "
                                                    "has an account")])
    if is_secretary(user, council):
        raise ValidationFailed([FieldError("email", f"{user.name} is already on the "
                                                    "secretariat")])
    staff = CouncilStaff(council_id=council.id, user_id=user.id)
    session.add(staff)
    session.flush()
    session.expire(council, ["staff"])
    return staff


def remove_secretary(session: Session, *, council: Council, staff_id: int) -> None:
    staff = session.get(CouncilStaff, staff_id)
    if staff is None or staff.council_id != council.id:
        raise NotFound(f"No member of staff {staff_id} on this council")
    session.delete(staff)
    session.flush()
    session.expire(council, ["staff"])


# Meetings and minutes ----------------------------------------------------------------------

def list_meetings(session: Session, *, council: Council) -> list[CouncilMeeting]:
    """The council's meetings, latest first."""
    return list(session.scalars(select(CouncilMeeting).where(
        CouncilMeeting.council_id == council.id).order_by(CouncilMeeting.held_on.desc(),
                                                          CouncilMeeting.id.desc())))


def get_meeting(session: Session, *, council: Council, meeting_id: int) -> CouncilMeeting:
    meeting = session.get(CouncilMeeting, meeting_id)
    if meeting is None or meeting.council_id != council.id:
        raise NotFound(f"No meeting {meeting_id} of this council")
    return meeting


def _attendance_errors(council: Council, data: MeetingIn, today: dt.date) -> list[FieldError]:
    members = {m.id: m for m in council.members}
    errors = []
    listed = [*data.present, *data.apologies]
    if listed and data.held_on > today:
        errors.append(FieldError("present", "Record the attendance once the meeting has "
                                            "been held"))
    for member_id in listed:
        member = members.get(member_id)
        if member is None:
            errors.append(FieldError("present", "Choose members of this council"))
        elif not member.serves_on(data.held_on):
            errors.append(FieldError("present", f"{member.name} was not a member on "
                                                f"{data.held_on:%-d %B %Y}"))
    return errors


def save_meeting(session: Session, *, council: Council, data: MeetingIn, today: dt.date,
                 meeting: CouncilMeeting | None = None) -> CouncilMeeting:
    """Record a meeting (or change one whose minutes are not yet published): its date,
    agenda, and who was present or sent apologies (members not listed were absent)."""
    if meeting is not None and meeting.minutes_published:
        raise Conflict("The minutes of this meeting are published: its record is fixed")
    errors = _attendance_errors(council, data, today)
    if errors:
        raise ValidationFailed(errors)
    if meeting is None:
        meeting = CouncilMeeting(council_id=council.id)
        session.add(meeting)
    meeting.held_on, meeting.title = data.held_on, data.title
    meeting.agenda, meeting.others_present = data.agenda.strip(), data.others_present.strip()
    wanted = {**dict.fromkeys(data.present, Attendance.PRESENT),
              **dict.fromkeys(data.apologies, Attendance.APOLOGIES)}
    for row in list(meeting.attendance):  # changed in place, so the audit log has each change
        if row.member_id not in wanted:
            meeting.attendance.remove(row)
            session.delete(row)
        else:
            row.status = wanted.pop(row.member_id)
    for member_id, status in wanted.items():
        meeting.attendance.append(CouncilAttendance(member_id=member_id, status=status))
    session.flush()
    return meeting


def save_minutes(session: Session, *, meeting: CouncilMeeting, text: str) -> CouncilMeeting:
    """Write (or rewrite) the draft minutes."""
    if meeting.minutes_published:
        raise Conflict("These minutes are published and cannot change: record any correction "
                       "in the next meeting's minutes")
    meeting.minutes = text.strip()
    session.flush()
    return meeting


def publish_minutes(session: Session, *, meeting: CouncilMeeting, today: dt.date
                    ) -> CouncilMeeting:
    """Publish the minutes: they become public, and fixed."""
    if meeting.minutes_published:
        raise Conflict("These minutes are already published")
    if meeting.held_on > today:
        raise Conflict("The meeting has not been held yet")
    if not meeting.minutes.strip():
        raise ValidationFailed([FieldError("minutes", "Write the minutes before publishing "
                                                      "them")])
    meeting.minutes_published_at = utcnow()
    session.flush()
    return meeting


# Recommendations and responses -------------------------------------------------------------

def list_recommendations(session: Session, *, council: Council) -> list[CouncilRecommendation]:
    return list(session.scalars(select(CouncilRecommendation).where(
        CouncilRecommendation.council_id == council.id).order_by(CouncilRecommendation.number)))


def get_recommendation(session: Session, *, council: Council, number: int
                       ) -> CouncilRecommendation:
    found = session.scalar(select(CouncilRecommendation).where(
        CouncilRecommendation.council_id == council.id, CouncilRecommendation.number == number))
    if found is None:
        raise NotFound(f"No recommendation {number} from this council")
    return found


def _dates(session: Session, council: Council, data: RecommendationIn, today: dt.date
           ) -> tuple[CouncilMeeting | None, dt.date, dt.date]:
    """The meeting, the day made and the day due, or the errors."""
    meeting = None
    errors = []
    if data.meeting_id is not None:
        meeting = session.get(CouncilMeeting, data.meeting_id)
        if meeting is None or meeting.council_id != council.id:
            raise ValidationFailed([FieldError("meeting_id", "Choose a meeting of this "
                                                             "council")])
    made_on = data.made_on or (meeting.held_on if meeting is not None else today)
    if made_on > today:
        errors.append(FieldError("made_on", "A recommendation cannot be made in the future"))
    due = data.response_due or default_due(made_on, weeks=council.response_weeks)
    if due < made_on:
        errors.append(FieldError("response_due", "The response cannot be due before the "
                                                 "recommendation is made"))
    if errors:
        raise ValidationFailed(errors)
    return meeting, made_on, due


def add_recommendation(session: Session, *, council: Council, data: RecommendationIn,
                       today: dt.date) -> CouncilRecommendation:
    """Record a recommendation; its number is the next of the council's. Its response is
    due ``council.response_weeks`` after it is made unless a due date is given."""
    meeting, made_on, due = _dates(session, council, data, today)
    number = (session.scalar(select(func.max(CouncilRecommendation.number)).where(
        CouncilRecommendation.council_id == council.id)) or 0) + 1
    recommendation = CouncilRecommendation(
        council_id=council.id, number=number, title=data.title, text=data.text,
        meeting_id=meeting.id if meeting else None, made_on=made_on, response_due=due)
    session.add(recommendation)
    session.flush()
    return recommendation


def update_recommendation(session: Session, *, recommendation: CouncilRecommendation,
                          data: RecommendationIn, today: dt.date) -> CouncilRecommendation:
    """Change a recommendation until the government has responded to it."""
    if recommendation.response is not None:
        raise Conflict("The government has responded to this recommendation: it can no "
                       "longer change")
    council = session.get(Council, recommendation.council_id)
    assert council is not None
    meeting, made_on, due = _dates(session, council, data, today)
    recommendation.title, recommendation.text = data.title, data.text
    recommendation.meeting_id = meeting.id if meeting else None
    recommendation.made_on, recommendation.response_due = made_on, due
    session.flush()
    return recommendation


def respond(session: Session, *, recommendation: CouncilRecommendation, data: ResponseIn,
            today: dt.date) -> CouncilResponse:
    """Record (or revise) the government's response. A rejection, and a partial acceptance,
    carry the reason."""
    errors = []
    if data.responded_on < recommendation.made_on:
        errors.append(FieldError("responded_on", "The response cannot be dated before the "
                                                 "recommendation was made"))
    if data.responded_on > today:
        errors.append(FieldError("responded_on", "The response cannot be dated in the future"))
    if errors:
        raise ValidationFailed(errors)
    response = recommendation.response
    if response is None:
        response = CouncilResponse(kind=data.kind)
        recommendation.response = response
    response.kind, response.text = data.kind, data.text
    response.reason = "" if data.kind == ResponseKind.ACCEPTED else data.reason.strip()
    response.responded_on = data.responded_on
    if data.kind not in ACCEPTING:
        response.implementation, response.implementation_note = None, ""
        response.implementation_updated_on = None
    session.flush()
    return response


def update_implementation(session: Session, *, recommendation: CouncilRecommendation,
                          data: ImplementationIn, today: dt.date) -> CouncilResponse:
    """How far the government has got with what it accepted."""
    response = recommendation.response
    if response is None or response.kind not in ACCEPTING:
        raise Conflict("Only an accepted (or partly accepted) recommendation is implemented")
    errors = []
    if data.updated_on < response.responded_on:
        errors.append(FieldError("updated_on", "The update cannot be dated before the "
                                               "response"))
    if data.updated_on > today:
        errors.append(FieldError("updated_on", "The update cannot be dated in the future"))
    if errors:
        raise ValidationFailed(errors)
    response.implementation = data.implementation
    response.implementation_note = data.note.strip()
    response.implementation_updated_on = data.updated_on
    session.flush()
    return response


def status_of(recommendation: CouncilRecommendation, *, today: dt.date
              ) -> RecommendationStatus:
    response = recommendation.response
    return recommendation_status(
        due_on=recommendation.response_due, today=today,
        response=response.kind if response else None,
        responded_on=response.responded_on if response else None)


def status_counts(recommendations: Iterable[CouncilRecommendation], *, today: dt.date
                  ) -> dict[RecommendationStatus, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for r in recommendations:
        counts[status_of(r, today=today)] += 1
    return counts


def lateness(recommendation: CouncilRecommendation) -> int:
    """Days late the response came (0 when on time or not yet given)."""
    response = recommendation.response
    if response is None:
        return 0
    return days_late(due_on=recommendation.response_due, responded_on=response.responded_on)


# The public record: API, export, mission page and stocktake pack ---------------------------

def member_out(member: CouncilMember, *, today: dt.date) -> MemberOut:
    return MemberOut(name=member.name, organisation=member.organisation, sector=member.sector,
                     role=member.role, term_start=member.term_start, term_end=member.term_end,
                     interests=member.interests, current=member.serves_on(today))


def balance_out(found: Balance, *, today: dt.date) -> BalanceOut:
    return BalanceOut(
        as_of=today, members=found.members, max_sector_share=found.max_share,
        sectors=[SectorShareOut(sector=s.sector, label=s.label, members=s.members,
                                share=s.share, needed=s.needed) for s in found.sectors],
        over_limit=found.over_limit, missing=found.missing)


def meeting_out(council: Council, meeting: CouncilMeeting, *, base_url: str) -> MeetingOut:
    return MeetingOut(
        id=meeting.id, held_on=meeting.held_on, title=meeting.title, agenda=meeting.agenda,
        present=[m.name for m in meeting.attended(Attendance.PRESENT)],
        apologies=[m.name for m in meeting.attended(Attendance.APOLOGIES)],
        others_present=meeting.others_present,
        minutes=meeting.minutes if meeting.minutes_published else None,
        minutes_published_at=meeting.minutes_published_at,
        url=f"{base_url}/councils/{council.slug}/meetings/{meeting.id}")


def recommendation_out(council: Council, recommendation: CouncilRecommendation, *,
                       today: dt.date, base_url: str) -> RecommendationOut:
    status = status_of(recommendation, today=today)
    response = recommendation.response
    shown = response is not None and status not in OUTSTANDING
    return RecommendationOut(
        number=recommendation.number, title=recommendation.title, text=recommendation.text,
        made_on=recommendation.made_on, meeting=recommendation.meeting_id,
        response_due=recommendation.response_due, status=status,
        status_label=STATUS_LABELS[status],
        response=ResponseOut(
            kind=response.kind, text=response.text, reason=response.reason,
            responded_on=response.responded_on, days_late=lateness(recommendation),
            implementation=response.implementation,
            implementation_note=response.implementation_note,
            implementation_updated_on=response.implementation_updated_on)
        if shown and response is not None else None,
        url=f"{base_url}/councils/{council.slug}/recommendations/{recommendation.number}")


def council_out(session: Session, council: Council, *, today: dt.date, base_url: str
                ) -> CouncilOut:
    recommendations = list_recommendations(session, council=council)
    return CouncilOut(
        slug=council.slug, url=f"{base_url}/councils/{council.slug}", name=council.name,
        mission=council.mission.slug, remit=council.remit,
        terms_of_reference=council.terms_of_reference,
        chair=[m.name for m in chair(council, today=today)],
        response_weeks=council.response_weeks, illustrative=council.illustrative,
        members=[member_out(m, today=today) for m in council.members],
        balance=balance_out(balance(council, today=today), today=today),
        meetings=[meeting_out(council, m, base_url=base_url)
                  for m in list_meetings(session, council=council)],
        counts=status_counts(recommendations, today=today))


CSV_HEADER = ["number", "title", "text", "made_on", "meeting", "response_due", "status",
              "status_label", "response", "responded_on", "days_late", "response_text",
              "reason", "implementation", "implementation_note", "implementation_updated_on",
              "url"]


def recommendation_rows(items: Sequence[RecommendationOut]) -> list[list[str]]:
    """The tracker as CSV rows (a header first)."""
    rows = [CSV_HEADER]
    for r in items:
        response = r.response

        def text(value: object) -> str:
            if value is None:
                return ""
            return str(getattr(value, "value", value))

        rows.append([
            str(r.number), r.title, r.text, r.made_on.isoformat(), text(r.meeting),
            r.response_due.isoformat(), r.status.value, r.status_label,
            text(response.kind if response else None),
            text(response.responded_on.isoformat() if response else None),
            text(response.days_late if response else None),
            text(response.text if response else None),
            text(response.reason if response else None),
            text(response.implementation if response else None),
            text(response.implementation_note if response else None),
            text(response.implementation_updated_on.isoformat()
                 if response and response.implementation_updated_on else None),
            r.url])
    return rows


def mission_summary(session: Session, *, mission: Mission, user: User | None,
                    today: dt.date | None = None) -> dict[str, Any] | None:
    """The mission page's short section: the council (if ``user`` may see it) and its
    recommendations by status on ``today`` (by default, today)."""
    council = council_for_mission(session, mission=mission)
    if council is None or not can_see(user, council):
        return None
    today = today or utcnow().date()
    recommendations = list_recommendations(session, council=council)
    return {"council": council, "counts": status_counts(recommendations, today=today),
            "total": len(recommendations), "labels": STATUS_LABELS}


def stocktake_section(session: Session, *, mission: Mission, as_of: dt.date,
                      since: dt.date | None) -> dict[str, Any] | None:
    """The stocktake pack's council section, as of the pack's data date: the
    recommendations awaiting a response or overdue, and the responses dated after ``since``
    (the previous stocktake's data date)."""
    council = council_for_mission(session, mission=mission)
    if council is None:
        return None
    outstanding, responses = [], []
    for r in list_recommendations(session, council=council):
        if r.made_on > as_of:
            continue
        status = status_of(r, today=as_of)
        row = {"number": r.number, "title": r.title, "made_on": r.made_on.isoformat(),
               "response_due": r.response_due.isoformat(), "status": status.value,
               "status_label": STATUS_LABELS[status]}
        if status in OUTSTANDING:
            outstanding.append({**row, "days_overdue": max(0, (as_of - r.response_due).days)})
        elif r.response is not None and (since is None or r.response.responded_on > since):
            responses.append({**row, "responded_on": r.response.responded_on.isoformat(),
                              "days_late": lateness(r), "reason": r.response.reason})
    outstanding.sort(key=lambda row: (row["status"] != RecommendationStatus.OVERDUE.value,
                                      row["response_due"], row["number"]))
    return {"slug": council.slug, "name": council.name, "since": since.isoformat()
            if since else None, "outstanding": outstanding, "responses": responses}
