"""Missions, outcomes, boards, organisations and the public change record.

Keyword-only functions; the caller owns the transaction (they flush, never commit).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.errors import Conflict, FieldError, NotFound, ReasonRequired, ValidationFailed
from missionboard.missions.models import (
    BoardMember,
    ChangeRecord,
    Mission,
    MissionOrganisation,
    MissionStatus,
    Organisation,
    Outcome,
)
from missionboard.missions.schemas import (
    BoardMemberIn,
    ContributionIn,
    MissionIn,
    OrganisationIn,
    OutcomeIn,
)

#: Changes to these fields of a published mission need a public reason.
MISSION_GUARDED = ("title", "ambition", "horizon_year", "status", "judgements_public")


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def diff(obj: object, new_values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value would change, as ``{field: {"old": …, "new": …}}``."""
    out = {}
    for key, new in new_values.items():
        old = getattr(obj, key)
        if _plain(old) != _plain(new):
            out[key] = {"old": _plain(old), "new": _plain(new)}
    return out


def record_change(
    session: Session, *, entity_type: str, entity_id: int, fields: dict[str, Any],
    actor: User | None, reason: str | None, guarded: Sequence[str],
    published: bool, mission_id: int | None = None, metric_id: int | None = None,
) -> ChangeRecord | None:
    """Keep a public change record when a published thing's guarded fields change.

    Raises :class:`ReasonRequired` when such a change comes without a reason.
    """
    guarded_changed = [f for f in fields if f in guarded]
    if not published or not guarded_changed:
        return None
    if not reason or not reason.strip():
        raise ReasonRequired(guarded_changed)
    record = ChangeRecord(
        entity_type=entity_type, entity_id=entity_id, mission_id=mission_id,
        metric_id=metric_id, author_id=actor.id if actor else None,
        author_name=actor.name if actor else "System", reason=reason.strip(),
        fields={k: fields[k] for k in guarded_changed},
    )
    session.add(record)
    return record


# Organisations -----------------------------------------------------------------------------

def get_organisation(session: Session, *, slug: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound(f"no organisation {slug!r}")
    return org


def create_organisation(session: Session, *, data: OrganisationIn) -> Organisation:
    if session.scalar(select(Organisation.id).where(Organisation.slug == data.slug)):
        raise Conflict(f"an organisation with the slug {data.slug!r} already exists")
    parent = get_organisation(session, slug=data.parent_slug) if data.parent_slug else None
    org = Organisation(slug=data.slug, name=data.name, kind=data.kind, parent=parent,
                       website=data.website)
    session.add(org)
    session.flush()
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


# Missions ----------------------------------------------------------------------------------

def list_missions(session: Session, *, include_drafts: bool) -> list[Mission]:
    query = select(Mission).order_by(Mission.position, Mission.title)
    if not include_drafts:
        query = query.where(Mission.status == MissionStatus.PUBLISHED)
    return list(session.scalars(query.options(selectinload(Mission.outcomes))))


def get_mission(session: Session, *, slug: str, include_drafts: bool) -> Mission:
    mission = session.scalar(
        select(Mission).where(Mission.slug == slug).options(
            selectinload(Mission.outcomes).selectinload(Outcome.metrics),
            selectinload(Mission.board_members),
            selectinload(Mission.organisations),
        )
    )
    if mission is None or (not include_drafts and not mission.is_published):
        raise NotFound(f"no mission {slug!r}")
    return mission


def create_mission(session: Session, *, data: MissionIn, position: int | None = None) -> Mission:
    if session.scalar(select(Mission.id).where(Mission.slug == data.slug)):
        raise ValidationFailed([FieldError("slug", f"The slug {data.slug!r} is already used")])
    mission = Mission(**data.model_dump(), status=MissionStatus.DRAFT,
                      position=position if position is not None else 0)
    session.add(mission)
    session.flush()
    return mission


def update_mission(
    session: Session, *, mission: Mission, data: MissionIn, actor: User | None,
    reason: str | None,
) -> Mission:
    new = data.model_dump(exclude={"slug"})
    if data.slug != mission.slug:
        raise ValidationFailed([FieldError("slug", "A mission's slug cannot change: "
                                                   "its address is public")])
    changes = diff(mission, new)
    record_change(session, entity_type="mission", entity_id=mission.id, fields=changes,
                  actor=actor, reason=reason, guarded=MISSION_GUARDED,
                  published=mission.is_published, mission_id=mission.id)
    for key in changes:
        setattr(mission, key, new[key])
    session.flush()
    return mission


def set_mission_status(
    session: Session, *, mission: Mission, status: MissionStatus, actor: User | None,
    reason: str | None,
) -> Mission:
    if status == mission.status:
        return mission
    if status == MissionStatus.PUBLISHED:
        mission.status = status
        mission.published_at = mission.published_at or utcnow()
    else:
        # Withdrawing a published mission is itself a public change and needs a reason.
        record_change(session, entity_type="mission", entity_id=mission.id,
                      fields=diff(mission, {"status": status}), actor=actor, reason=reason,
                      guarded=MISSION_GUARDED, published=True, mission_id=mission.id)
        mission.status = status
    session.flush()
    return mission


def add_outcome(session: Session, *, mission: Mission, data: OutcomeIn) -> Outcome:
    if any(o.slug == data.slug for o in mission.outcomes):
        raise ValidationFailed([FieldError("slug", f"The mission already has an outcome "
                                                   f"{data.slug!r}")])
    outcome = Outcome(**data.model_dump(), position=len(mission.outcomes))
    mission.outcomes.append(outcome)
    session.flush()
    return outcome


def get_outcome(session: Session, *, mission: Mission, slug: str) -> Outcome:
    for outcome in mission.outcomes:
        if outcome.slug == slug:
            return outcome
    raise NotFound(f"no outcome {slug!r} in mission {mission.slug!r}")


def update_outcome(session: Session, *, outcome: Outcome, data: OutcomeIn) -> Outcome:
    for key, value in data.model_dump(exclude={"slug"}).items():
        setattr(outcome, key, value)
    session.flush()
    return outcome


def _check_board_roles(others: Sequence[BoardMember], data: BoardMemberIn) -> None:
    errors = []
    if data.is_chair and any(m.is_chair for m in others):
        errors.append(FieldError("is_chair", "The board already has a chair"))
    if data.is_accountable_lead and any(m.is_accountable_lead for m in others):
        errors.append(FieldError("is_accountable_lead",
                                 "The board already has an accountable lead: there is one"))
    if errors:
        raise ValidationFailed(errors)


def _set_member_fields(session: Session, member: BoardMember, data: BoardMemberIn) -> None:
    user_id = None
    if data.account_email:
        user_id = session.scalar(select(User.id).where(
            User.email == data.account_email.strip().lower()))
        if user_id is None:
            raise ValidationFailed([FieldError("account_email",
                                               "There is no account with that email address")])
    member.organisation = (get_organisation(session, slug=data.organisation_slug)
                           if data.organisation_slug else None)
    member.name, member.title, member.role = data.name, data.title, data.role
    member.is_chair, member.is_accountable_lead = data.is_chair, data.is_accountable_lead
    member.user_id = user_id


def add_board_member(session: Session, *, mission: Mission, data: BoardMemberIn) -> BoardMember:
    _check_board_roles(mission.board_members, data)
    member = BoardMember(position=len(mission.board_members))
    _set_member_fields(session, member, data)
    mission.board_members.append(member)
    session.flush()
    return member


def get_board_member(session: Session, *, mission: Mission, member_id: int) -> BoardMember:
    for member in mission.board_members:
        if member.id == member_id:
            return member
    raise NotFound(f"no board member {member_id} in mission {mission.slug!r}")


def update_board_member(
    session: Session, *, mission: Mission, member: BoardMember, data: BoardMemberIn
) -> BoardMember:
    _check_board_roles([m for m in mission.board_members if m.id != member.id], data)
    _set_member_fields(session, member, data)
    session.flush()
    return member


def remove_board_member(session: Session, *, mission: Mission, member_id: int) -> None:
    for member in mission.board_members:
        if member.id == member_id:
            mission.board_members.remove(member)
            session.flush()
            return
    raise NotFound(f"no board member {member_id} in mission {mission.slug!r}")


def add_contribution(
    session: Session, *, mission: Mission, data: ContributionIn
) -> MissionOrganisation:
    org = get_organisation(session, slug=data.organisation_slug)
    if any(c.organisation_id == org.id for c in mission.organisations):
        raise ValidationFailed([FieldError("organisation_slug",
                                           f"{org.name} already contributes to this mission")])
    link = MissionOrganisation(organisation=org, role=data.role)
    mission.organisations.append(link)
    session.flush()
    return link


def list_changes(
    session: Session, *, mission_id: int | None = None, metric_id: int | None = None,
    also_metric_ids: Collection[int] = (), limit: int = 500,
) -> list[ChangeRecord]:
    """Public change records, newest first: a mission's (with ``also_metric_ids``, its
    measures' too) or a metric's."""
    query = select(ChangeRecord).order_by(ChangeRecord.at.desc(), ChangeRecord.id.desc())
    if mission_id is not None and also_metric_ids:
        query = query.where(or_(ChangeRecord.mission_id == mission_id,
                                ChangeRecord.metric_id.in_(list(also_metric_ids))))
    elif mission_id is not None:
        query = query.where(ChangeRecord.mission_id == mission_id)
    if metric_id is not None:
        query = query.where(ChangeRecord.metric_id == metric_id)
    return list(session.scalars(query.limit(limit)))
