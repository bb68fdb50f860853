"""Volunteering opportunities: posting and moderation, finding them by distance and
interest, and the public counts of people and hours.

Sign-ups, the volunteers' private links, hours, organisers' messages and exports, spam
protection and the deletion of personal data are :mod:`missionboard.volunteering.signups`.

Counts shown in public (people signed up, on the waiting list, hours confirmed) are kept as
counters on the opportunity (see :mod:`missionboard.volunteering.signups`) and survive the
deletion of the rows; public counts by mission and area are sums of them in SQL.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.errors import Conflict, FieldError, NotFound, ValidationFailed
from missionboard.missions.models import Mission, MissionStatus
from missionboard.partners import lookups
from missionboard.partners.models import ModerationStatus, Partner
from missionboard.volunteering import geo
from missionboard.volunteering.models import (
    DbsCheck,
    Mode,
    Opportunity,
    OpportunityStatus,
    OpportunityTag,
)
from missionboard.volunteering.postcodes import Location, locate
from missionboard.volunteering.schemas import OpportunityIn

#: Search radii offered, in miles.
RADII_MILES = (1, 3, 5, 10, 25, 50)
DEFAULT_RADIUS_MILES = 10
PAGE_SIZE = 20
PUBLIC_STATUSES = (OpportunityStatus.PUBLISHED, OpportunityStatus.CLOSED)
DBS_LABELS = {
    DbsCheck.NONE: "No criminal-records check",
    DbsCheck.BASIC: "Basic DBS check",
    DbsCheck.STANDARD: "Standard DBS check",
    DbsCheck.ENHANCED: "Enhanced DBS check",
}


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def utc_today() -> dt.date:
    return utcnow().date()


# Opportunities -----------------------------------------------------------------------------

def get_opportunity(session: Session, *, slug: str) -> Opportunity:
    found = session.scalar(select(Opportunity).where(Opportunity.slug == slug))
    if found is None:
        raise NotFound(f"No volunteering opportunity {slug!r}")
    return found


def create_opportunity(session: Session, *, mission: Mission, data: OpportunityIn,
                       author: User | None = None) -> Opportunity:
    """A new opportunity, as a draft. Who may post for which organiser is the caller's check
    (:func:`missionboard.volunteering.access.can_post`)."""
    errors = _check(data)
    if data.partner_id is not None and session.get(Partner, data.partner_id) is None:
        errors.append(FieldError("partner_id", "Choose a partner"))
    if session.scalar(select(Opportunity.id).where(Opportunity.slug == data.slug)):
        errors.insert(0, FieldError("slug", f"The short name {data.slug!r} is taken"))
    if errors:
        raise ValidationFailed(errors)
    opportunity = Opportunity(slug=data.slug, mission=mission, partner_id=data.partner_id,
                              status=OpportunityStatus.DRAFT,
                              created_by=author.id if author else None)
    _apply(session, opportunity, data)
    session.add(opportunity)
    session.flush()
    return opportunity


def update_opportunity(session: Session, *, opportunity: Opportunity, data: OpportunityIn
                       ) -> Opportunity:
    """Change the opportunity. Its short name and organiser are fixed; the capacity cannot
    fall below the places taken, and a larger one gives places to the waiting list."""
    errors = _check(data)
    if data.slug != opportunity.slug:
        errors.append(FieldError("slug", "The short name cannot change"))
    if data.partner_id != opportunity.partner_id:
        errors.append(FieldError("partner_id", "The organiser cannot change"))
    if data.capacity is not None and data.capacity < opportunity.signed_up:
        errors.append(FieldError("capacity", f"{opportunity.signed_up} people have places: "
                                             "the capacity cannot be fewer"))
    if errors:
        raise ValidationFailed(errors)
    _apply(session, opportunity, data)
    session.flush()
    from missionboard.volunteering.signups import fill_from_waitlist

    fill_from_waitlist(session, opportunity)
    return opportunity


def _check(data: OpportunityIn) -> list[FieldError]:
    """The rules between fields."""
    errors = []
    if data.partner_id is None and not data.public_body.strip():
        errors.append(FieldError("public_body", "Give the name of the public body that runs "
                                                "it"))
    if data.mode != Mode.ONLINE and not data.postcode:
        errors.append(FieldError("postcode", "Give the postcode of the place (or make it "
                                             "online only)"))
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        errors.append(FieldError("ends_on", "It cannot end before it starts"))
    return errors


def _apply(session: Session, opportunity: Opportunity, data: OpportunityIn) -> None:
    place: Location | None = None
    if data.postcode:
        place = locate(session, data.postcode)
    opportunity.title, opportunity.description = data.title, data.description
    opportunity.public_body = data.public_body.strip() if data.partner_id is None else ""
    opportunity.mode = data.mode
    opportunity.address = data.address.strip()
    opportunity.postcode = data.postcode
    opportunity.latitude = place.latitude if place else None
    opportunity.longitude = place.longitude if place else None
    opportunity.area_code = place.area_code if place else ""
    opportunity.starts_on, opportunity.ends_on = data.starts_on, data.ends_on
    opportunity.time_kind, opportunity.hours = data.time_kind, data.hours
    opportunity.time_note = data.time_note.strip()
    opportunity.accessibility = data.accessibility.strip()
    opportunity.dbs_check, opportunity.minimum_age = data.dbs_check, data.minimum_age
    opportunity.capacity, opportunity.waitlist = data.capacity, data.waitlist
    opportunity.retention_months = data.retention_months
    if opportunity.closed_at is not None and opportunity.retain_until is not None:
        opportunity.retain_until = add_months(opportunity.closed_at.date(),
                                              data.retention_months)
    current = {t.tag: t for t in opportunity.tags}
    for tag, item in current.items():
        if tag not in data.tags:
            opportunity.tags.remove(item)
    for tag in data.tags:
        if tag not in current:
            opportunity.tags.append(OpportunityTag(tag=tag))


# Moderation and the life of an opportunity: (from, to) → who may make the move.
ORGANISER_MOVES = {
    (OpportunityStatus.DRAFT, OpportunityStatus.PENDING),
    (OpportunityStatus.PENDING, OpportunityStatus.DRAFT),
    (OpportunityStatus.PUBLISHED, OpportunityStatus.CLOSED),
    (OpportunityStatus.CLOSED, OpportunityStatus.PUBLISHED),
}
MODERATOR_MOVES = {
    (OpportunityStatus.DRAFT, OpportunityStatus.PUBLISHED),
    (OpportunityStatus.PENDING, OpportunityStatus.PUBLISHED),
    (OpportunityStatus.PENDING, OpportunityStatus.DRAFT),
    (OpportunityStatus.PUBLISHED, OpportunityStatus.DRAFT),
}


def allowed_moves(opportunity: Opportunity, *, organiser: bool, moderator: bool
                  ) -> list[OpportunityStatus]:
    moves: set[tuple[OpportunityStatus, OpportunityStatus]] = set()
    if organiser:
        moves |= ORGANISER_MOVES
    if moderator:
        moves |= MODERATOR_MOVES
    if opportunity.personal_data_deleted_at is not None:
        moves = set()
    order = list(OpportunityStatus)
    return sorted({to for start, to in moves if start == opportunity.status},
                  key=order.index)


def set_status(session: Session, *, opportunity: Opportunity, status: OpportunityStatus,
               organiser: bool, moderator: bool, note: str = "") -> Opportunity:
    """Submit for moderation (organisers), publish or return with a note (moderators), take
    down (moderators: back to draft, with a note), close and reopen. Closing sets the date
    after which the personal data is deleted."""
    if status not in allowed_moves(opportunity, organiser=organiser, moderator=moderator):
        raise Conflict(f"An opportunity that is {opportunity.status.value} cannot become "
                       f"{status.value} by your hand")
    moderating = moderator and (opportunity.status, status) in {
        (OpportunityStatus.PENDING, OpportunityStatus.DRAFT),
        (OpportunityStatus.PUBLISHED, OpportunityStatus.DRAFT)}
    if moderating and not note.strip():
        raise ValidationFailed([FieldError("note", "Tell the organiser why: the note is "
                                                   "shown to them")])
    now = utcnow()
    if status == OpportunityStatus.PENDING:
        opportunity.submitted_at = now
        opportunity.moderation_note = ""
    elif status == OpportunityStatus.PUBLISHED:
        if opportunity.status == OpportunityStatus.CLOSED:
            opportunity.closed_at = opportunity.retain_until = None
        else:
            opportunity.published_at = now
            opportunity.moderation_note = ""
    elif status == OpportunityStatus.CLOSED:
        opportunity.closed_at = now
        opportunity.retain_until = add_months(now.date(), opportunity.retention_months)
    elif moderating:
        opportunity.moderation_note = note.strip()
    opportunity.status = status
    session.flush()
    return opportunity


def organised_by(session: Session, *, partner_ids: set[int], mission_ids: set[int] | None,
                 admin: bool) -> list[Opportunity]:
    """What an organiser runs: their partners' opportunities, and public bodies' ones on the
    missions they edit (everything for an admin)."""
    query = select(Opportunity).options(selectinload(Opportunity.tags))
    if not admin:
        public: ColumnElement[bool] = Opportunity.partner_id.is_(None)
        if mission_ids is not None:
            public = public & Opportunity.mission_id.in_(mission_ids)
        query = query.where(or_(public, Opportunity.partner_id.in_(partner_ids)))
    return list(session.scalars(query.order_by(Opportunity.created_at.desc(),
                                               Opportunity.id.desc())))


def moderation_queue(session: Session, *, mission_ids: set[int] | None) -> list[Opportunity]:
    """Opportunities waiting for a moderator, on these missions (None: all), oldest first."""
    query = select(Opportunity).where(Opportunity.status == OpportunityStatus.PENDING)
    if mission_ids is not None:
        query = query.where(Opportunity.mission_id.in_(mission_ids))
    return list(session.scalars(query.order_by(Opportunity.submitted_at, Opportunity.id)))


def list_for_mission(session: Session, *, mission: Mission) -> list[Opportunity]:
    """The mission's public opportunities (published and closed), open ones first."""
    return list(session.scalars(
        select(Opportunity).where(Opportunity.mission_id == mission.id,
                                  Opportunity.status.in_(PUBLIC_STATUSES),
                                  *public_conditions())
        .order_by(Opportunity.status.desc(), Opportunity.published_at.desc(),
                  Opportunity.id.desc())))


def public_opportunities(session: Session) -> list[Opportunity]:
    """Every public opportunity (open, then closed), newest first: the public export."""
    return list(session.scalars(
        select(Opportunity).where(Opportunity.status.in_(PUBLIC_STATUSES), *public_conditions())
        .options(selectinload(Opportunity.tags))
        .order_by(Opportunity.status.desc(), Opportunity.published_at.desc(),
                  Opportunity.id.desc())))


def all_tags(session: Session) -> list[str]:
    """Every tag of a published opportunity, alphabetically.

    The tags are few and the tagged opportunities many, so the distinct tags are walked on
    the tag index (a "loose index scan": the next tag after each, by a recursive query),
    and each is kept if one published opportunity has it. Remembered for a few seconds in
    a server process (:mod:`missionboard.partners.lookups`)."""
    def compute() -> tuple[str, ...]:
        tags = OpportunityTag.__table__
        first = select(func.min(tags.c.tag).label("tag")).cte("walk", recursive=True)
        following = select(func.min(tags.c.tag)).where(tags.c.tag > first.c.tag
                                                       ).scalar_subquery()
        walk = first.union_all(select(following).where(first.c.tag.is_not(None)))
        # LIMIT 1 keeps this a check per tag (PostgreSQL would otherwise join every tag).
        published = (select(OpportunityTag.id).join(Opportunity).where(
            OpportunityTag.tag == walk.c.tag, Opportunity.status == OpportunityStatus.PUBLISHED)
            .limit(1))
        return tuple(session.scalars(select(walk.c.tag).where(
            walk.c.tag.is_not(None), published.exists()).order_by(walk.c.tag)))

    return list(lookups.remembered(session, "volunteering.tags", compute))


# Finding opportunities ---------------------------------------------------------------------

@dataclass(frozen=True)
class SearchQuery:
    """``where``: ``any`` (near the postcode, then online), ``in_person`` or ``online``."""

    postcode: str = ""
    radius_km: float = geo.miles_to_km(DEFAULT_RADIUS_MILES)
    tag: str = ""
    mission_id: int | None = None
    where: str = "any"
    limit: int = PAGE_SIZE
    offset: int = 0


@dataclass(frozen=True)
class Found:
    opportunity: Opportunity
    distance_km: float | None

    @property
    def distance_miles(self) -> float | None:
        return None if self.distance_km is None else geo.km_to_miles(self.distance_km)


@dataclass(frozen=True)
class SearchResult:
    items: list[Found]
    total: int
    origin: Location | None
    query: SearchQuery = field(default_factory=SearchQuery)


WHERE_OPTIONS = ("any", "in_person", "online")


def public_conditions() -> list[ColumnElement[bool]]:
    """On a published mission, by a public body or an approved partner (the status is the
    caller's condition). The partner's condition names the few partners not approved, so
    that no query builds a set of every approved partner."""
    return [Opportunity.mission_id.in_(select(Mission.id).where(
                Mission.status == MissionStatus.PUBLISHED)),
            or_(Opportunity.partner_id.is_(None), Opportunity.partner_id.not_in(
                select(Partner.id).where(Partner.moderation.in_(
                    (ModerationStatus.PENDING, ModerationStatus.REJECTED)))))]


def _open_conditions(query: SearchQuery) -> list[ColumnElement[bool]]:
    """Open (published, public, not past its end) and matching the mission and tag."""
    where = [Opportunity.status == OpportunityStatus.PUBLISHED, *public_conditions(),
             or_(Opportunity.ends_on.is_(None), Opportunity.ends_on >= utc_today())]
    if query.mission_id is not None:
        where.append(Opportunity.mission_id == query.mission_id)
    if query.tag:
        where.append(Opportunity.id.in_(
            select(OpportunityTag.opportunity_id).where(OpportunityTag.tag == query.tag)))
    return where


def _with_details(statement: Select[Opportunity]) -> Select[Opportunity]:
    """What a result shows: its mission and partner (joined) and its tags."""
    return statement.options(joinedload(Opportunity.mission), joinedload(Opportunity.partner),
                             selectinload(Opportunity.tags))


def mission_choices(session: Session) -> list[Row[tuple[int, str, str]]]:
    """The published missions' ids, slugs and titles, in order: the search's mission
    filter (remembered for a few seconds in a server process:
    :mod:`missionboard.partners.lookups`)."""
    return list(lookups.remembered(session, "volunteering.missions", lambda: tuple(
        session.execute(select(Mission.id, Mission.slug, Mission.title).where(
            Mission.status == MissionStatus.PUBLISHED).order_by(Mission.position,
                                                                 Mission.title)))))


def _open_query(query: SearchQuery) -> Select[Opportunity]:
    return _with_details(select(Opportunity).where(*_open_conditions(query)))


def search(session: Session, *, query: SearchQuery) -> SearchResult:
    """Open opportunities matching the filters. With a postcode: those in person within the
    radius, nearest first (a bounding box on the indexed latitude and longitude, then the
    exact great-circle distance), followed (unless ``where`` is ``in_person``) by the online
    ones; without, newest first. Paginated by ``limit`` and ``offset``: only the page's
    opportunities are loaded."""
    if query.where not in WHERE_OPTIONS:
        raise ValidationFailed([FieldError("where", "Choose in person, online or either")])
    where = _open_conditions(query)
    if not query.postcode.strip():
        if query.where == "online":
            where.append(Opportunity.mode != Mode.IN_PERSON)
        elif query.where == "in_person":
            where.append(Opportunity.mode != Mode.ONLINE)
        rows = session.scalars(_with_details(select(Opportunity).where(*where))
                               .order_by(*_NEWEST).limit(query.limit)
                               .offset(query.offset)).all()
        return SearchResult([Found(o, None) for o in rows], _count(session, where), None,
                            query)
    origin = locate(session, query.postcode)
    # Online-only opportunities have no place: they come after the near ones; when only
    # online ones are wanted, the near ones are those that may be done online too.
    placed = Opportunity.mode == Mode.HYBRID if query.where == "online" else (
        Opportunity.mode != Mode.ONLINE)
    near = _near(session, [*where, placed], origin, query.radius_km)
    online = None if query.where == "in_person" else [*where, Opportunity.mode == Mode.ONLINE]
    online_count = 0
    if online is not None:
        # The same for every postcode: remembered for a few seconds in a server process.
        online_count = lookups.remembered(
            session, "volunteering.online", functools.partial(_count, session, online),
            query.mission_id, query.tag, utc_today())
    total = len(near) + online_count
    page: list[tuple[int, float | None]] = list(near[query.offset:query.offset + query.limit])
    if online is not None and len(page) < query.limit:
        skip = max(0, query.offset - len(near))
        page += [(i, None) for i in session.scalars(
            select(Opportunity.id).where(*online).order_by(*_NEWEST)
            .limit(query.limit - len(page)).offset(skip))]
    loaded = {o.id: o for o in session.scalars(_with_details(select(Opportunity).where(
        Opportunity.id.in_([i for i, _ in page]))))} if page else {}
    return SearchResult([Found(loaded[i], distance) for i, distance in page], total, origin,
                        query)


_NEWEST = (Opportunity.published_at.desc(), Opportunity.id.desc())


def _near(session: Session, where: list[ColumnElement[bool]], origin: Location,
          radius_km: float) -> list[tuple[int, float]]:
    """The ids of the opportunities within ``radius_km`` of ``origin`` and their distances,
    nearest first: those in the bounding box (the indexed prefilter, fetching only the id
    and the place), then the exact great-circle distance."""
    box = geo.bounding_box(origin.latitude, origin.longitude, radius_km)
    found = []
    for oid, latitude, longitude in session.execute(
            select(Opportunity.id, Opportunity.latitude, Opportunity.longitude).where(
                *where, Opportunity.latitude.between(box.min_lat, box.max_lat),
                Opportunity.longitude.between(box.min_lon, box.max_lon))):
        if latitude is None or longitude is None:  # not in the box; for the type checker
            continue
        distance = geo.haversine_km(origin.latitude, origin.longitude, latitude, longitude)
        if distance <= radius_km:
            found.append((oid, distance))
    found.sort(key=lambda f: (f[1], f[0]))
    return found


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count()).select_from(Opportunity).where(*where))
               or 0)


def retention_notice(opportunity: Opportunity) -> str:
    """When the volunteers' details are deleted, in words."""
    if opportunity.retain_until is not None:
        return f"after {opportunity.retain_until.strftime('%-d %B %Y')}"
    months = opportunity.retention_months
    return f"{months} month{'s' if months != 1 else ''} after the opportunity closes"


# Public counts -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CountRow:
    key: str
    name: str
    opportunities: int
    signed_up: int
    hours_confirmed: float


@dataclass(frozen=True)
class Summary:
    opportunities: int
    signed_up: int
    hours_confirmed: float
    by_mission: list[CountRow]
    by_area: list[CountRow]


def summary(session: Session, *, mission: Mission | None = None) -> Summary:
    """People signed up and hours confirmed on public opportunities of published missions,
    in all and by mission and by area: the counters summed in SQL by mission and area in
    one pass, and those sums added up here. The whole programme's (no ``mission``) is
    remembered for a few seconds in a server process (:mod:`missionboard.partners.lookups`):
    the impact page and the API's summary show it on every request."""
    if mission is None:
        return lookups.remembered(session, "volunteering.summary",
                                  functools.partial(_summary, session, None))
    return _summary(session, mission)


def _summary(session: Session, mission: Mission | None) -> Summary:
    from missionboard.metrics.models import Area

    where = [Opportunity.status.in_(PUBLIC_STATUSES), *public_conditions()]
    if mission is not None:
        where.append(Opportunity.mission_id == mission.id)
    cells = session.execute(
        select(Opportunity.mission_id, Opportunity.area_code, func.count(Opportunity.id),
               func.coalesce(func.sum(Opportunity.signed_up), 0),
               func.coalesce(func.sum(Opportunity.hours_confirmed), 0.0))
        .where(*where).group_by(Opportunity.mission_id, Opportunity.area_code)).all()
    by_mission_id: dict[int, list[float]] = {}
    by_code: dict[str, list[float]] = {}
    for mission_id, code, n, people, hours in cells:
        for total in (by_mission_id.setdefault(mission_id, [0, 0, 0.0]),
                      by_code.setdefault(code, [0, 0, 0.0])):
            total[0] += n
            total[1] += people
            total[2] += hours
    missions = session.execute(select(Mission.id, Mission.slug, Mission.title).where(
        Mission.id.in_(list(by_mission_id))).order_by(Mission.position, Mission.slug)).all()
    by_mission = [CountRow(slug, title, int(by_mission_id[mid][0]), int(by_mission_id[mid][1]),
                           float(by_mission_id[mid][2])) for mid, slug, title in missions]
    names: dict[str, str] = dict(session.execute(select(Area.code, Area.name)).all())
    by_area = [CountRow(code, names.get(code, code) if code else "Online, or no area known",
                        int(n), int(people), float(hours))
               for code, (n, people, hours) in by_code.items()]
    by_area.sort(key=lambda r: (r.key == "", r.name))
    return Summary(sum(int(r.opportunities) for r in by_area),
                   sum(int(r.signed_up) for r in by_area),
                   float(sum(r.hours_confirmed for r in by_area)), by_mission, by_area)


@dataclass(frozen=True)
class MissionSection:
    """What the mission's page shows: the open opportunities (a few) and the totals."""

    opportunities: list[Opportunity]
    totals: Summary


def mission_section(session: Session, *, mission: Mission, limit: int = 5) -> MissionSection:
    found = session.scalars(_open_query(SearchQuery(mission_id=mission.id))
                            .order_by(*_NEWEST).limit(limit)).all()
    return MissionSection(list(found), summary(session, mission=mission))
