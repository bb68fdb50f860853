"""Who may do what with volunteering opportunities: the choke points every page and the API
go through.

- The **organisers** of an opportunity are the verified staff of its partner; for one a public
  body runs, the editors of its mission. Only organisers (and admins) see the people who
  signed up, confirm their hours, message them and export them.
- The **moderators** are the mission's editors (and admins): they publish what organisers
  submit, return it, or take it down. Moderating gives no sight of personal data.
- The public sees published and closed opportunities on published missions, and only counts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import access
from missionboard.accounts.models import Role, User
from missionboard.missions.models import Mission
from missionboard.partners.models import Partner
from missionboard.partners.service import member_partner_ids
from missionboard.volunteering.models import Opportunity


def partner_ids(session: Session, user: User | None) -> set[int]:
    """The partners ``user`` is verified staff of."""
    if user is None or not user.is_active:
        return set()
    return set(member_partner_ids(session, user))


def can_organise(session: Session, user: User | None, opportunity: Opportunity) -> bool:
    if user is None:
        return False
    if access.is_admin(user):
        return True
    if opportunity.partner_id is not None:
        return opportunity.partner_id in partner_ids(session, user)
    return access.can_edit_mission(user, opportunity.mission_id)


def can_moderate(user: User | None, opportunity: Opportunity) -> bool:
    return access.can_edit_mission(user, opportunity.mission_id)


def can_see(session: Session, user: User | None, opportunity: Opportunity) -> bool:
    if opportunity.is_public:
        return True
    if can_moderate(user, opportunity):
        return True
    return can_organise(session, user, opportunity)


def can_post(session: Session, user: User | None, mission: Mission,
             partner_id: int | None) -> bool:
    """Post an opportunity on ``mission`` for the partner (None: for a public body)."""
    if user is None:
        return False
    if partner_id is None:
        return access.can_edit_mission(user, mission.id)
    if access.is_admin(user):
        return True
    if not mission.is_published:
        return False
    return partner_id in partner_ids(session, user)


def posting_partners(session: Session, user: User | None, mission: Mission) -> list[Partner]:
    """The partners ``user`` may post for on ``mission``, by name."""
    if user is None:
        return []
    if access.is_admin(user):
        return list(session.scalars(select(Partner).order_by(Partner.name)))
    ids = partner_ids(session, user) if mission.is_published else set()
    if not ids:
        return []
    return list(session.scalars(select(Partner).where(Partner.id.in_(ids))
                                .order_by(Partner.name)))


def can_post_on(session: Session, user: User | None, mission: Mission) -> bool:
    """Post anything at all on ``mission``: for a public body, or for a partner."""
    return can_post(session, user, mission, None) or bool(
        posting_partners(session, user, mission))


def edited_mission_ids(user: User | None) -> set[int] | None:
    """The missions ``user`` edits; None for all of them (an admin, an unscoped editor)."""
    if user is None:
        return set()
    if access.is_admin(user):
        return None
    ids: set[int] = set()
    for assignment in user.roles:
        if assignment.role != Role.MISSION_EDITOR:
            continue
        if assignment.mission_id is None and assignment.metric_id is None:
            return None
        if assignment.mission_id is not None:
            ids.add(assignment.mission_id)
    return ids
