"""Pages for moderators: the queue of new partners, commitments and staff awaiting a decision;
approving or rejecting; setting how well a commitment or report is verified; counting a
measurable commitment in the mission's trajectory; and the administrators' view of the mail
outbox.

An administrator moderates everything; a mission's editors moderate the commitments to their
mission (and, in approving one, its new partner). Only administrators verify staff."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access as accounts_access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, ValidationFailed
from missionboard.mail import list_outbox
from missionboard.missions import service as missions_service
from missionboard.partners import access, service, trajectory
from missionboard.partners.models import Commitment, VerificationLevel
from missionboard.partners.views import LABELS, commitment_context
from missionboard.web.deps import (
    DB,
    CurrentUser,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)
from missionboard.web.uploads import base_url

router = APIRouter(dependencies=[Depends(csrf_protect)])


def _moderating(db: DB, user: User | None, commitment_id: int) -> tuple[User, Commitment]:
    user = accounts_access.require_user(user)
    commitment = service.get_commitment(db, commitment_id=commitment_id)
    accounts_access.require(access.can_moderate(user, commitment),
                            "moderate this mission’s commitments")
    return user, commitment


def _admin(user: User | None, what: str) -> User:
    user = accounts_access.require_user(user)
    accounts_access.require(accounts_access.is_admin(user), what)
    return user


def _level(values: dict[str, str]) -> VerificationLevel:
    try:
        return VerificationLevel(values.get("verification", ""))
    except ValueError:
        raise ValidationFailed([FieldError("verification", "Choose a verification level")]
                               ) from None


def _decision(values: dict[str, str]) -> bool:
    decision = values.get("decision", "")
    if decision not in ("approve", "reject"):
        raise ValidationFailed([FieldError("decision", "Choose approve or reject")])
    return decision == "approve"


@router.get("/partners/moderation", response_class=HTMLResponse)
def queue(request: Request, db: DB, user: CurrentUser) -> Response:
    user = accounts_access.require_user(user)
    accounts_access.require(access.is_moderator(user), "moderate partners’ commitments")
    admin = accounts_access.is_admin(user)
    missions = missions_service.list_missions(db, include_drafts=True)
    editable = [m.id for m in missions if accounts_access.can_edit_mission(user, m.id)]
    return render(request, "partners/moderation.html", {
        **LABELS, "is_admin": admin,
        "partners": service.pending_partners(db) if admin else [],
        "members": service.members_awaiting(db) if admin else [],
        "commitments": service.pending_commitments(db, mission_ids=None if admin else editable),
    }, user=user)


@router.post("/partners/{slug}/moderate", response_class=HTMLResponse)
async def moderate_partner(request: Request, slug: str, db: DB, user: CurrentUser
                           ) -> Response:
    user = _admin(user, "approve or reject partners")
    partner = service.get_partner(db, slug=slug)
    values = await form_values(request)
    service.moderate_partner(db, partner=partner, approve=_decision(values),
                             note=values.get("note", ""), actor=user)
    flash(request, f"{partner.name} is {partner.moderation.value}.")
    return RedirectResponse("/partners/moderation", status_code=303)


@router.post("/partners/{slug}/members/{member_id}/verify", response_class=HTMLResponse)
async def verify_member(request: Request, slug: str, member_id: int, db: DB,
                        user: CurrentUser) -> Response:
    user = _admin(user, "verify partners’ staff")
    partner = service.get_partner(db, slug=slug)
    member = service.get_member(db, partner=partner, member_id=member_id)
    service.verify_member(db, member=member, actor=user)
    flash(request, f"The member of staff is verified: they can now act for {partner.name}.")
    back = (await form_values(request)).get("back")
    return RedirectResponse(f"/partners/{slug}/manage" if back == "manage"
                            else "/partners/moderation", status_code=303)


@router.post("/commitments/{commitment_id}/moderate", response_class=HTMLResponse)
async def moderate_commitment(request: Request, commitment_id: int, db: DB, user: CurrentUser
                              ) -> Response:
    user, commitment = _moderating(db, user, commitment_id)
    values = await form_values(request)
    try:
        service.moderate_commitment(db, commitment=commitment, approve=_decision(values),
                                    note=values.get("note", ""), actor=user)
    except ValidationFailed as exc:
        return render(request, "partners/commitment.html", {
            **commitment_context(db, user, commitment), "values": values,
            **form_errors(exc.errors)}, user=user, status_code=422)
    flash(request, f"The commitment is {commitment.moderation.value}.")
    return RedirectResponse(f"/commitments/{commitment_id}", status_code=303)


@router.post("/commitments/{commitment_id}/verification", response_class=HTMLResponse)
async def set_verification(request: Request, commitment_id: int, db: DB, user: CurrentUser
                           ) -> Response:
    user, commitment = _moderating(db, user, commitment_id)
    level = _level(await form_values(request))
    service.set_verification(db, commitment=commitment, level=level, actor=user)
    flash(request, f"Verification set to: {LABELS['verification_labels'][level].lower()}.")
    return RedirectResponse(f"/commitments/{commitment_id}", status_code=303)


@router.post("/commitments/{commitment_id}/reports/{report_id}/verification",
             response_class=HTMLResponse)
async def set_report_verification(request: Request, commitment_id: int, report_id: int,
                                  db: DB, user: CurrentUser) -> Response:
    user, commitment = _moderating(db, user, commitment_id)
    report = service.get_report(commitment, report_id)
    level = _level(await form_values(request))
    service.set_report_verification(db, report=report, level=level)
    flash(request, f"The report is now: {LABELS['verification_labels'][level].lower()}.")
    return RedirectResponse(f"/commitments/{commitment_id}#reports", status_code=303)


@router.post("/commitments/{commitment_id}/count", response_class=HTMLResponse)
def count_in_trajectory(request: Request, commitment_id: int, db: DB, user: CurrentUser
                        ) -> Response:
    user, commitment = _moderating(db, user, commitment_id)
    intervention = trajectory.count_in_trajectory(db, commitment=commitment, actor=user,
                                                  site=base_url(request))
    flash(request, f"Counted in the trajectory as the intervention ‘{intervention.title}’, "
                   f"with a {trajectory.optimism_discount(commitment):.0%} optimism discount.")
    return RedirectResponse(f"/commitments/{commitment_id}#trajectory", status_code=303)


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox(request: Request, db: DB, user: CurrentUser, page: int = 1) -> Response:
    """The emails the application has queued (this release sends none itself)."""
    user = _admin(user, "read the outbox")
    page = max(1, min(page, 10_000))
    messages = list_outbox(db, limit=51, offset=(page - 1) * 50)
    return render(request, "partners/outbox.html", {
        "messages": messages[:50], "page": page, "has_next": len(messages) > 50,
    }, user=user)
