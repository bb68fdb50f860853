"""Partners, their staff, commitments and progress reports, moderation, verification, and
counting a measurable commitment in the mission's trajectory. Keyword-only functions; they
flush, never commit (the caller owns the transaction; queued email goes out after it).

**Staff.** Registering an organisation (or asking to join one) creates an account and an
unverified membership, and queues a one-time link to the address given. Following the link
confirms the address; when its domain is the organisation's declared web domain (or a
subdomain of it) the member is verified there and then, otherwise an administrator verifies.
Only verified members act for a partner (:func:`member_partner_ids`).

**Moderation.** A new partner and each new commitment are pending (not public) until an
administrator, or an editor of the commitment's mission, approves them; approving a commitment
of a pending partner approves the partner too (the moderator has vetted it). A change to the
terms of a public commitment needs a reason and is kept in the mission's public change record
under the partner's name (never a member of staff's).

Counting a measurable commitment in the mission's trajectory is in
:mod:`missionboard.partners.trajectory`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from missionboard.accounts import access as accounts_access
from missionboard.accounts import service as accounts_service
from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ReasonRequired,
    TooManyAttempts,
    ValidationFailed,
)
from missionboard.mail import queue_email
from missionboard.metrics.models import Area, Metric
from missionboard.missions import service as missions_service
from missionboard.missions.models import ChangeRecord, Mission, Outcome
from missionboard.partners import status as rules
from missionboard.partners.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    MemberVerification,
    ModerationStatus,
    Partner,
    PartnerMember,
    ProgressReport,
    RegistrationAttempt,
    VerificationLevel,
)
from missionboard.partners.schemas import CommitmentIn, PartnerIn, PersonIn, ReportIn
from missionboard.partners.trajectory import OPTIMISM_DISCOUNT, discount_reason

#: How long a verification link works.
TOKEN_LIFETIME = dt.timedelta(days=7)
#: The public registration and join forms: at most this many a client address, and this many
#: for one email address, in the window.
RATE_WINDOW = dt.timedelta(hours=1)
MAX_PER_IP = 5
MAX_PER_EMAIL = 3
#: Public email providers: an organisation cannot declare one as its own domain (anyone could
#: then verify themselves as its staff).
PUBLIC_MAIL_DOMAINS = frozenset({
    "aol.com", "btinternet.com", "gmail.com", "gmx.com", "googlemail.com", "hotmail.co.uk",
    "hotmail.com", "icloud.com", "live.co.uk", "live.com", "mail.com", "me.com",
    "msn.com", "outlook.com", "proton.me", "protonmail.com", "sky.com", "talktalk.net",
    "virginmedia.com", "yahoo.co.uk", "yahoo.com",
})
#: Changes to these terms of a public commitment need a public reason.
GUARDED_TERMS = ("title", "kind", "unit", "baseline", "target", "start_on", "deadline",
                 "pledged_money", "pledged_hours", "in_kind", "schedule", "metric_id",
                 "outcome_id", "area_id")
_SLUG_CLEAN = re.compile(r"[^a-z0-9]+")


# Staff --------------------------------------------------------------------------------------

def member_partner_ids(session: Session, user: User | None) -> set[int]:
    """The ids of the partners ``user`` is a verified member of (none for anonymous)."""
    if user is None:
        return set()
    return set(session.scalars(
        select(PartnerMember.partner_id).where(
            PartnerMember.user_id == user.id,
            PartnerMember.verified,
        )))


def memberships(session: Session, *, user: User) -> list[PartnerMember]:
    """The user's memberships, verified or not, with their partners."""
    return list(session.scalars(
        select(PartnerMember).where(PartnerMember.user_id == user.id)
        .options(selectinload(PartnerMember.partner)).order_by(PartnerMember.id)))


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def domain_matches(email: str, web_domain: str) -> bool:
    """The address is on the organisation's domain, or a subdomain of it."""
    if not web_domain:
        return False
    domain = email_domain(email)
    return domain == web_domain or domain.endswith("." + web_domain)


def keyed_hash(secret: str, value: str) -> str:
    """An HMAC-SHA-256 of ``value``: rate limits count without keeping addresses."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_attempt(session: Session, *, secret: str, client: str, email: str = "",
                   now: dt.datetime | None = None) -> None:
    """Count one submission of a public form, refusing it when the client's address or the
    email address has had its fill in the window (:class:`TooManyAttempts`)."""
    now = now or utcnow()
    since = now - RATE_WINDOW
    ip_hash = keyed_hash(secret, f"ip:{client}")
    email_hash = keyed_hash(secret, f"email:{email.strip().lower()}") if email.strip() else ""
    by_ip = session.scalar(select(func.count()).select_from(RegistrationAttempt).where(
        RegistrationAttempt.ip_hash == ip_hash, RegistrationAttempt.at > since)) or 0
    by_email = (session.scalar(select(func.count()).select_from(RegistrationAttempt).where(
        RegistrationAttempt.email_hash == email_hash, RegistrationAttempt.at > since)) or 0
        if email_hash else 0)
    if by_ip >= MAX_PER_IP or by_email >= MAX_PER_EMAIL:
        raise TooManyAttempts("Too many forms have been sent from here or for this email "
                              "address. Wait an hour, then try again.")
    session.execute(insert(RegistrationAttempt).values(at=now, ip_hash=ip_hash,
                                                       email_hash=email_hash))


def _account(session: Session, *, person: PersonIn, user: User | None) -> User:
    """The signed-in user, or a new account for the person."""
    if user is not None:
        return user
    try:
        return accounts_service.create_user(session, email=person.email,
                                            name=person.person_name, password=person.password)
    except Conflict:
        raise ValidationFailed([FieldError(
            "email", "There is already an account with this email address: sign in, then "
                     "come back to this page")]) from None
    except ValidationFailed as exc:
        raise ValidationFailed([FieldError("person_name" if e.field == "name" else e.field,
                                           e.message) for e in exc.errors]) from None


def _invite(session: Session, *, member: PartnerMember, email: str, site: str,
            now: dt.datetime) -> str:
    """Give the member a new one-time link and queue it; return the token."""
    token = secrets.token_urlsafe(32)
    member.token_sha256 = _token_hash(token)
    member.token_expires_at = now + TOKEN_LIFETIME
    partner = member.partner
    automatic = domain_matches(email, partner.web_domain)
    then = (f"Your address is on {partner.web_domain}, so following the link also verifies "
            f"you as staff of {partner.name}." if automatic else
            f"An administrator will then check that you work for {partner.name} before you "
            "can act for it.")
    queue_email(session, to=email, subject=f"Confirm your email address for {partner.name}",
                body=(f"You asked to act for {partner.name} on Missionboard.\n\n"
                      f"Confirm your email address by following this link within "
                      f"{TOKEN_LIFETIME.days} days:\n\n{site}/partners/verify/{token}\n\n"
                      f"{then}\n\nIf this was not you, ignore this email."))
    return token


def _membership(session: Session, *, partner: Partner, user: User, job_title: str,
                site: str, now: dt.datetime) -> tuple[PartnerMember, str]:
    existing = session.scalar(select(PartnerMember).where(
        PartnerMember.partner_id == partner.id, PartnerMember.user_id == user.id))
    if existing is not None and existing.verified_at is not None:
        raise Conflict(f"You are already verified as staff of {partner.name}")
    member = existing or PartnerMember(partner=partner, user_id=user.id)
    member.job_title = job_title.strip()
    session.add(member)
    session.flush()
    return member, _invite(session, member=member, email=user.email, site=site, now=now)


def check_partner(session: Session, *, data: PartnerIn) -> tuple[list[Area], list[FieldError]]:
    errors: list[FieldError] = []
    if data.web_domain in PUBLIC_MAIL_DOMAINS:
        errors.append(FieldError("web_domain", "Give your organisation’s own email domain, not "
                                               "a public email provider’s"))
    codes = list(dict.fromkeys(c.strip() for c in data.area_codes if c.strip()))
    areas = list(session.scalars(select(Area).where(Area.code.in_(codes)))) if codes else []
    unknown = set(codes) - {a.code for a in areas}
    if unknown:
        errors.append(FieldError("area_codes", "Choose the areas from the list"))
    return sorted(areas, key=lambda a: a.code), errors


def unique_slug(session: Session, name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = _SLUG_CLEAN.sub("-", ascii_name.lower()).strip("-")[:80] or "partner"
    taken = set(session.scalars(select(Partner.slug).where(
        (Partner.slug == base) | Partner.slug.like(f"{base}-%"))))
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


@dataclass(frozen=True)
class Registration:
    partner: Partner
    member: PartnerMember
    #: The one-time link's token (it is also in the queued email).
    token: str


def register_partner(session: Session, *, data: PartnerIn, person: PersonIn,
                     user: User | None, site: str, illustrative: bool = False,
                     now: dt.datetime | None = None) -> Registration:
    """A new organisation (pending moderation) with the person as an unverified member; an
    account is created for them unless they are signed in."""
    now = now or utcnow()
    areas, errors = check_partner(session, data=data)
    if errors:
        raise ValidationFailed(errors)
    account = _account(session, person=person, user=user)
    partner = Partner(slug=unique_slug(session, data.name), illustrative=illustrative,
                      **data.model_dump(exclude={"area_codes"}))
    partner.areas = areas
    session.add(partner)
    session.flush()
    member, token = _membership(session, partner=partner, user=account,
                                job_title=person.job_title, site=site, now=now)
    return Registration(partner, member, token)


def join_partner(session: Session, *, partner: Partner, person: PersonIn, user: User | None,
                 site: str, now: dt.datetime | None = None) -> Registration:
    """Ask to act for an existing organisation: an unverified membership and a link."""
    now = now or utcnow()
    account = _account(session, person=person, user=user)
    member, token = _membership(session, partner=partner, user=account,
                                job_title=person.job_title, site=site, now=now)
    return Registration(partner, member, token)


def confirm_email(session: Session, *, token: str, now: dt.datetime | None = None
                  ) -> PartnerMember:
    """Follow a one-time link: the address is confirmed, and the member verified when it is
    on the organisation's domain. The link then stops working."""
    now = now or utcnow()
    member = session.scalar(select(PartnerMember).where(
        PartnerMember.token_sha256 == _token_hash(token)))
    if (member is None or member.token_expires_at is None
            or member.token_expires_at < now):
        raise NotFound("This link has expired or has already been used. Ask to join the "
                       "organisation again to get a new one.")
    member.token_sha256 = None
    member.token_expires_at = None
    member.email_confirmed_at = now
    if member.verified_at is None and domain_matches(member.user.email,
                                                     member.partner.web_domain):
        member.verified_at = now
        member.verified_by = MemberVerification.EMAIL_DOMAIN
    session.flush()
    return member


def verify_member(session: Session, *, member: PartnerMember, actor: User,
                  now: dt.datetime | None = None) -> PartnerMember:
    """An administrator verifies a member of staff."""
    if not accounts_access.is_admin(actor):
        raise PermissionDenied("Only an administrator can verify a partner’s staff")
    if member.verified_at is None:
        member.verified_at = now or utcnow()
        member.verified_by = MemberVerification.ADMINISTRATOR
        member.verified_by_id = actor.id
        session.flush()
    return member


def remove_member(session: Session, *, member: PartnerMember) -> None:
    """End a membership (an administrator, or the member leaving)."""
    session.delete(member)
    session.flush()


def get_member(session: Session, *, partner: Partner, member_id: int) -> PartnerMember:
    member = session.get(PartnerMember, member_id)
    if member is None or member.partner_id != partner.id:
        raise NotFound(f"No member {member_id} of {partner.name}")
    return member


def members_awaiting(session: Session) -> list[PartnerMember]:
    """Unverified members, oldest first, for the administrators' queue."""
    return list(session.scalars(
        select(PartnerMember).where(PartnerMember.verified_at.is_(None))
        .options(selectinload(PartnerMember.partner), selectinload(PartnerMember.user))
        .order_by(PartnerMember.created_at, PartnerMember.id)))


# Partners ----------------------------------------------------------------------------------

def get_partner(session: Session, *, slug: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.slug == slug)
                             .options(selectinload(Partner.areas)))
    if partner is None:
        raise NotFound(f"No partner {slug!r}")
    return partner


def update_partner(session: Session, *, partner: Partner, data: PartnerIn) -> Partner:
    areas, errors = check_partner(session, data=data)
    if errors:
        raise ValidationFailed(errors)
    for key, value in data.model_dump(exclude={"area_codes"}).items():
        setattr(partner, key, value)
    partner.areas = areas
    session.flush()
    return partner


def moderate_partner(session: Session, *, partner: Partner, approve: bool, note: str,
                     actor: User, now: dt.datetime | None = None) -> Partner:
    """An administrator approves (public from now) or rejects (with a note for its staff)."""
    if not accounts_access.is_admin(actor):
        raise PermissionDenied("Only an administrator can approve or reject a partner")
    if not approve and not note.strip():
        raise ValidationFailed([FieldError("note", "Say why it is rejected: its staff see "
                                                   "this")])
    partner.moderation = ModerationStatus.APPROVED if approve else ModerationStatus.REJECTED
    partner.moderation_note = note.strip()
    partner.moderated_at = now or utcnow()
    partner.moderated_by_id = actor.id
    session.flush()
    refresh_listed(session, partner=partner)
    return partner


def refresh_listed(session: Session, *, partner: Partner) -> None:
    """Set ``Commitment.listed`` (approved, and the partner approved) on every commitment of
    the partner, after it or one of them was moderated. The register lists by this flag
    (:mod:`missionboard.partners.register`); every change of moderation goes through here."""
    session.flush()
    listed = (Commitment.moderation == ModerationStatus.APPROVED
              if partner.moderation == ModerationStatus.APPROVED else false())
    session.execute(update(Commitment).where(Commitment.partner_id == partner.id)
                    .values(listed=listed).execution_options(synchronize_session="fetch"))


def list_partners(session: Session, *, public_only: bool = True, limit: int = 50,
                  offset: int = 0, kind: str | None = None, sector: str | None = None
                  ) -> tuple[list[Partner], int]:
    """Partners by name, a page at a time, with the total (counted in SQL)."""
    query = select(Partner)
    if public_only:
        query = query.where(Partner.moderation == ModerationStatus.APPROVED)
    if kind:
        query = query.where(Partner.kind == kind)
    if sector:
        query = query.where(Partner.sector == sector)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.options(selectinload(Partner.areas))
                                .order_by(Partner.name, Partner.id).limit(limit).offset(offset)))
    return rows, total


def pending_partners(session: Session) -> list[Partner]:
    return list(session.scalars(
        select(Partner).where(Partner.moderation == ModerationStatus.PENDING)
        .options(selectinload(Partner.areas)).order_by(Partner.created_at, Partner.id)))


def partner_commitments(session: Session, *, partner: Partner, public_only: bool
                        ) -> list[Commitment]:
    query = select(Commitment).where(Commitment.partner_id == partner.id)
    found = list(session.scalars(query.order_by(Commitment.id.desc())))
    return [c for c in found if c.is_public] if public_only else found


# Commitments -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resolved:
    """A commitment's references, found."""

    mission: Mission
    outcome: Outcome | None
    metric: Metric | None
    area: Area | None


def check_terms(session: Session, *, data: CommitmentIn, mission: Mission | None = None
                ) -> Resolved:
    """The references found and the terms checked for the kind; every problem at once."""
    errors: list[FieldError] = []
    if mission is None:
        try:
            mission = missions_service.get_mission(session, slug=data.mission_slug,
                                                   include_drafts=False)
        except NotFound:
            raise ValidationFailed([FieldError("mission_slug", "Choose a mission from the "
                                                               "list")]) from None
    outcome = next((o for o in mission.outcomes if o.slug == data.outcome_slug), None)
    if data.outcome_slug and outcome is None:
        errors.append(FieldError("outcome_slug", "Choose one of the mission’s outcomes"))
    metric = None
    if data.metric_slug:
        metric = session.scalar(select(Metric).where(Metric.slug == data.metric_slug))
        if (metric is None or not metric.is_published
                or mission.id not in {o.mission_id for o in metric.outcomes}):
            errors.append(FieldError("metric_slug", "Choose one of the mission’s metrics"))
            metric = None
    area = None
    if data.area_code:
        area = session.scalar(select(Area).where(Area.code == data.area_code))
        if area is None:
            errors.append(FieldError("area_code", "Choose an area from the list"))
    errors += _kind_errors(data)
    if data.deadline is not None and data.deadline <= data.start_on:
        errors.append(FieldError("deadline", "The deadline must be after the start"))
    if errors:
        raise ValidationFailed(errors)
    return Resolved(mission, outcome, metric, area)


def _kind_errors(data: CommitmentIn) -> list[FieldError]:
    errors = []
    if data.kind == CommitmentKind.TARGET:
        for name, label in (("baseline", "the baseline"), ("target", "the target"),
                            ("deadline", "the deadline")):
            if getattr(data, name) is None:
                errors.append(FieldError(name, f"A measurable target needs {label}"))
        if not data.unit.strip():
            errors.append(FieldError("unit", "Say what is measured, for example homes "
                                             "retrofitted"))
        if data.baseline is not None and data.target == data.baseline:
            errors.append(FieldError("target", "The target must differ from the baseline"))
    if data.kind == CommitmentKind.MONEY and not data.pledged_money:
        errors.append(FieldError("pledged_money", "A pledge of money needs the amount in "
                                                  "pounds"))
    if data.kind == CommitmentKind.TIME and not data.pledged_hours:
        errors.append(FieldError("pledged_hours", "A pledge of people’s time needs the "
                                                  "number of hours"))
    if data.kind == CommitmentKind.IN_KIND and not data.in_kind.strip():
        errors.append(FieldError("in_kind", "Describe the resources pledged"))
    return errors


def _terms(data: CommitmentIn, found: Resolved) -> dict[str, Any]:
    return {
        "outcome_id": found.outcome.id if found.outcome else None,
        "metric_id": found.metric.id if found.metric else None,
        "area_id": found.area.id if found.area else None,
        "title": data.title, "description": data.description.strip(), "kind": data.kind,
        "unit": data.unit.strip(), "baseline": data.baseline, "target": data.target,
        "start_on": data.start_on, "deadline": data.deadline,
        "pledged_money": data.pledged_money, "pledged_hours": data.pledged_hours,
        "in_kind": data.in_kind.strip(), "schedule": data.schedule,
    }


def create_commitment(session: Session, *, partner: Partner, data: CommitmentIn,
                      illustrative: bool = False) -> Commitment:
    """A new commitment, pending moderation."""
    found = check_terms(session, data=data)
    commitment = Commitment(partner=partner, mission=found.mission, illustrative=illustrative,
                            **_terms(data, found))
    session.add(commitment)
    refresh_progress(commitment)
    session.flush()
    return commitment


def _author_name(commitment: Commitment, actor: User, staff_of: Iterable[int]) -> str:
    """Who the public record names: the partner for its staff (never the person), the
    official otherwise."""
    if commitment.partner_id in set(staff_of):
        return f"{commitment.partner.name} (partner)"
    return actor.name


def update_commitment(session: Session, *, commitment: Commitment, data: CommitmentIn,
                      actor: User, staff_of: Iterable[int], reason: str | None = None
                      ) -> Commitment:
    """Change a commitment's terms (its mission stays). On a public commitment a change to
    :data:`GUARDED_TERMS` needs a reason, kept in the mission's public change record."""
    found = check_terms(session, data=data, mission=commitment.mission)
    new = _terms(data, found)
    changes = missions_service.diff(commitment, {k: new[k] for k in GUARDED_TERMS})
    if commitment.is_public and changes:
        if not (reason and reason.strip()):
            raise ReasonRequired(list(changes))
        session.add(ChangeRecord(
            entity_type="commitment", entity_id=commitment.id,
            mission_id=commitment.mission_id, metric_id=commitment.metric_id,
            author_id=actor.id, author_name=_author_name(commitment, actor, staff_of),
            reason=reason.strip(), fields=changes))
    for key, value in new.items():
        setattr(commitment, key, value)
    refresh_progress(commitment)
    session.flush()
    return commitment


def commitment_changes(session: Session, *, commitment: Commitment) -> list[ChangeRecord]:
    return list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.entity_type == "commitment",
                                   ChangeRecord.entity_id == commitment.id)
        .order_by(ChangeRecord.at.desc(), ChangeRecord.id.desc())))


def withdraw_commitment(session: Session, *, commitment: Commitment, reason: str,
                        now: dt.datetime | None = None) -> Commitment:
    """The partner withdraws it: it stays public, marked withdrawn, with the reason."""
    if commitment.withdrawn_at is not None:
        raise Conflict("This commitment has already been withdrawn")
    if not reason.strip():
        raise ValidationFailed([FieldError("withdrawn_reason", "Say why it is withdrawn: "
                                                               "this is public")])
    commitment.withdrawn_at = now or utcnow()
    commitment.withdrawn_reason = reason.strip()
    refresh_progress(commitment)
    session.flush()
    return commitment


def get_commitment(session: Session, *, commitment_id: int) -> Commitment:
    found = session.get(Commitment, commitment_id)
    if found is None:
        raise NotFound(f"No commitment {commitment_id}")
    return found


def moderate_commitment(session: Session, *, commitment: Commitment, approve: bool, note: str,
                        actor: User, now: dt.datetime | None = None) -> Commitment:
    """Approve (public from now; a pending partner is approved with it) or reject (with a
    note for the partner's staff). The caller checks that ``actor`` may moderate."""
    now = now or utcnow()
    if not approve and not note.strip():
        raise ValidationFailed([FieldError("note", "Say why it is rejected: the partner’s "
                                                   "staff see this")])
    commitment.moderation = ModerationStatus.APPROVED if approve else ModerationStatus.REJECTED
    commitment.moderation_note = note.strip()
    commitment.moderated_at = now
    commitment.moderated_by_id = actor.id
    partner = commitment.partner
    if approve and partner.moderation == ModerationStatus.PENDING:
        partner.moderation = ModerationStatus.APPROVED
        partner.moderated_at = now
        partner.moderated_by_id = actor.id
    session.flush()
    refresh_listed(session, partner=partner)
    return commitment


def pending_commitments(session: Session, *, mission_ids: Iterable[int] | None
                        ) -> list[Commitment]:
    """Commitments awaiting moderation, oldest first: of these missions (None: every one)."""
    query = select(Commitment).where(Commitment.moderation == ModerationStatus.PENDING)
    if mission_ids is not None:
        query = query.where(Commitment.mission_id.in_(list(mission_ids)))
    return list(session.scalars(query.order_by(Commitment.created_at, Commitment.id)))


def set_verification(session: Session, *, commitment: Commitment, level: VerificationLevel,
                     actor: User) -> Commitment:
    """Set how well the commitment is verified (the caller checks ``actor`` may). The
    intervention it was counted as, if any, takes the new optimism discount, recorded in the
    public change record."""
    if commitment.verification == level:
        return commitment
    old = commitment.verification
    commitment.verification = level
    intervention = commitment.intervention
    if intervention is not None:
        factor = 1.0 - OPTIMISM_DISCOUNT[level]
        missions_service.record_change(
            session, entity_type="intervention", entity_id=intervention.id,
            fields={"optimism_override": {"old": intervention.optimism_override,
                                          "new": factor}},
            actor=actor, reason=(f"The partner commitment’s verification changed from "
                                 f"{old.value.replace('_', ' ')} to "
                                 f"{level.value.replace('_', ' ')}"),
            guarded=("optimism_override",), published=commitment.mission.is_published,
            mission_id=commitment.mission_id, metric_id=commitment.metric_id)
        intervention.optimism_override = factor
        intervention.optimism_override_reason = discount_reason(commitment)
    session.flush()
    return commitment


# Progress reports --------------------------------------------------------------------------

def terms_of(commitment: Commitment) -> rules.Terms:
    return rules.Terms(
        kind=commitment.kind, start_on=commitment.start_on, schedule=commitment.schedule,
        baseline=commitment.baseline, target=commitment.target, deadline=commitment.deadline,
        pledged_money=commitment.pledged_money, pledged_hours=commitment.pledged_hours,
        withdrawn=commitment.withdrawn_at is not None)


def reports_of(commitment: Commitment) -> list[rules.Report]:
    return [rules.Report(period_end=r.period_end, value=r.value, money_spent=r.money_spent,
                         hours_given=r.hours_given, completed=r.completed)
            for r in commitment.reports]


def refresh_progress(commitment: Commitment) -> rules.Assessment:
    """Store what the status and the register's sums rest on, from the terms and reports."""
    assessment = rules.assess(terms_of(commitment), reports_of(commitment))
    commitment.assessment = assessment.status
    commitment.report_due_on = assessment.report_due_on
    commitment.last_report_on = assessment.last_report_on
    commitment.latest_value = assessment.latest_value
    commitment.delivered_money = round(assessment.delivered_money, 2)
    commitment.delivered_hours = assessment.delivered_hours
    commitment.reports_count = len(commitment.reports)
    return assessment


def current_status(commitment: Commitment, *, today: dt.date) -> CommitmentStatus:
    """The status today, from the stored assessment (what the register filters on)."""
    return rules.status_on(
        rules.Assessment(status=commitment.assessment, report_due_on=commitment.report_due_on,
                         last_report_on=commitment.last_report_on,
                         latest_value=commitment.latest_value,
                         delivered_money=commitment.delivered_money,
                         delivered_hours=commitment.delivered_hours,
                         progress=None, expected=None),
        deadline=commitment.deadline, today=today)


def progress(commitment: Commitment) -> float | None:
    """The share of the pledge delivered, for a target, money or time pledge."""
    return rules.progress_of(terms_of(commitment), latest_value=commitment.latest_value,
                             money=commitment.delivered_money,
                             hours=commitment.delivered_hours)


def _report_errors(commitment: Commitment, data: ReportIn, today: dt.date) -> list[FieldError]:
    errors = []
    if data.period_end > today:
        errors.append(FieldError("period_end", "The period cannot end in the future"))
    if data.period_end < commitment.start_on:
        errors.append(FieldError("period_end", "The period must end on or after the "
                                               "commitment’s start, "
                                               f"{commitment.start_on:%-d %B %Y}"))
    return errors + missing_measures(commitment, value=data.value,
                                     money_spent=data.money_spent,
                                     hours_given=data.hours_given)


def missing_measures(commitment: Commitment, *, value: object, money_spent: object,
                     hours_given: object) -> list[FieldError]:
    """The figure a report on this kind of commitment must give, if it is missing."""
    errors = []
    if commitment.kind == CommitmentKind.TARGET and value is None:
        errors.append(FieldError("value", f"Enter the {commitment.unit or 'value'} at the end "
                                          "of the period"))
    if commitment.kind == CommitmentKind.MONEY and money_spent is None:
        errors.append(FieldError("money_spent", "Enter the money spent in the period, in "
                                                "pounds (0 if none)"))
    if commitment.kind == CommitmentKind.TIME and hours_given is None:
        errors.append(FieldError("hours_given", "Enter the hours given in the period (0 if "
                                                "none)"))
    return errors


def add_report(session: Session, *, commitment: Commitment, data: ReportIn,
               author: User | None, today: dt.date | None = None) -> ProgressReport:
    """A progress report on a commitment that is not withdrawn; the status is refreshed."""
    today = today or utcnow().date()
    if commitment.withdrawn_at is not None:
        raise Conflict("This commitment has been withdrawn: it takes no more reports")
    if commitment.moderation == ModerationStatus.REJECTED:
        raise Conflict("This commitment was rejected: it takes no reports")
    errors = _report_errors(commitment, data, today)
    if errors:
        raise ValidationFailed(errors)
    report = ProgressReport(author_id=author.id if author else None,
                            **data.model_dump())
    commitment.reports.append(report)
    session.flush()
    refresh_progress(commitment)
    session.flush()
    return report


def get_report(commitment: Commitment, report_id: int) -> ProgressReport:
    found = next((r for r in commitment.reports if r.id == report_id), None)
    if found is None:
        raise NotFound(f"No report {report_id} on commitment {commitment.id}")
    return found


def set_report_verification(session: Session, *, report: ProgressReport,
                            level: VerificationLevel) -> ProgressReport:
    report.verification = level
    session.flush()
    return report


# Reading helpers for pages -----------------------------------------------------------------

def staff_members(partner: Partner) -> Sequence[PartnerMember]:
    """The partner's members (for its own staff and administrators only)."""
    return partner.members
