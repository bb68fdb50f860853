"""Who may see and change partners' records: the choke points every partners page and API
endpoint goes through.

- A partner's *verified* staff act for it (its details, its commitments, their reports);
  nobody else's staff can. Administrators may act for any partner.
- An administrator, or an editor of the commitment's mission, moderates a commitment and sets
  its verification level; only an administrator moderates a partner or verifies its staff.
- The public sees approved partners and approved commitments on published missions.
"""

from __future__ import annotations

from collections.abc import Set

from missionboard.accounts import access
from missionboard.accounts.models import Role, User
from missionboard.partners.models import Commitment, Partner


def can_act_for(user: User | None, partner: Partner, staff_of: Set[int]) -> bool:
    """Edit the partner and its commitments: its verified staff (``staff_of`` holds the ids
    of the partners the user is a verified member of) and administrators."""
    if user is None:
        return False
    if access.is_admin(user):
        return True
    return partner.id in staff_of


def can_moderate(user: User | None, commitment: Commitment) -> bool:
    """Approve or reject a commitment, set its verification, count it in the trajectory:
    an administrator or an editor of its mission."""
    if user is None:
        return False
    return access.can_edit_mission(user, commitment.mission_id)


def can_see_partner(user: User | None, partner: Partner, staff_of: Set[int]) -> bool:
    """Approved partners are public; the others are seen by their staff, administrators and
    mission editors (who moderate their commitments)."""
    if partner.is_public:
        return True
    if can_act_for(user, partner, staff_of):
        return True
    return is_moderator(user)


def is_moderator(user: User | None) -> bool:
    """Moderates something: an administrator or an editor of any mission."""
    if user is None:
        return False
    if access.is_admin(user):
        return True
    return any(a.role == Role.MISSION_EDITOR for a in user.roles)


def can_see_commitment(user: User | None, commitment: Commitment, staff_of: Set[int]) -> bool:
    """Public commitments are seen by everyone; the others by the partner's staff, the
    mission's editors and administrators."""
    if commitment.is_public:
        return True
    if can_act_for(user, commitment.partner, staff_of):
        return True
    return can_moderate(user, commitment)
