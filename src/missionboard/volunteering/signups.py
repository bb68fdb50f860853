"""Sign-ups: the public form's spam protection, signing up with consent (a place, the waiting
list, or a kind refusal of a duplicate), the volunteer's private link, the hours they log and
their organiser confirms, withdrawal, the organisers' view of their volunteers (messages, the
CSV export) and the deletion of personal data on the retention date.

Personal data (``volunteer_signups``, ``volunteer_hours``) is written only with Core
statements, never through the ORM's unit of work, so that the audit hook does not copy it
into the audit log; organisers' changes to it are logged here as summaries without personal
values. Citizens' own actions (signing up, logging hours, withdrawing) are not audited, as
votes are not: the record is the row itself, deleted with the data.

The counters on the opportunity (people signed up, on the waiting list, hours confirmed) are
changed by single ``UPDATE … SET n = n + 1`` statements: a place is taken only if
``signed_up < capacity`` in that statement, so two people cannot take the last place at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.errors import (
    Conflict,
    FieldError,
    NotFound,
    TooManyAttempts,
    ValidationFailed,
    validate,
)
from missionboard.mail import queue_email
from missionboard.panels.service import log_change
from missionboard.volunteering.models import (
    Audience,
    DbsCheck,
    HoursLog,
    HoursStatus,
    Opportunity,
    OpportunityMessage,
    OpportunityStatus,
    Signup,
    SignupAttempt,
    SignupStatus,
)
from missionboard.volunteering.schemas import HoursIn, MessageIn, SignupIn
from missionboard.volunteering.service import add_months, retention_notice, utc_today

#: Spam protection of the public forms: the fewest seconds a person takes to fill one in,
#: the oldest form accepted, and the submissions allowed per client address and per email
#: address in the window (counted in the database, so every worker sees them).
MIN_FILL_SECONDS = 3.0
MAX_FORM_AGE = dt.timedelta(days=1)
RATE_WINDOW = dt.timedelta(hours=1)
MAX_PER_IP = 10
MAX_PER_EMAIL = 3
#: Attempts are deleted by the purge once older than this.
ATTEMPT_RETENTION = dt.timedelta(days=2)
#: Hours may be logged for days up to this far back.
HOURS_LOOKBACK = dt.timedelta(days=366)


# Spam protection --------------------------------------------------------------------------

def keyed_hash(secret: str, value: str) -> str:
    """A keyed SHA-256 (HMAC) of ``value``: an address or email is never stored for the rate
    limits, and the hash cannot be reversed by trying every address without the key."""
    return hmac.new(secret.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def form_stamp(secret: str, *, now: dt.datetime | None = None) -> str:
    """A signed timestamp for a public form, to tell how long it took to fill in."""
    seconds = int((now or utcnow()).timestamp())
    return f"{seconds}.{keyed_hash(secret, f'volunteer-form:{seconds}')[:32]}"


def form_age(secret: str, stamp: str, *, now: dt.datetime | None = None) -> float | None:
    """Seconds since the form was shown, or None if the stamp was not made here."""
    seconds, _, signature = stamp.partition(".")
    if not seconds.isdigit() or len(seconds) > 12:
        return None
    expected = keyed_hash(secret, f"volunteer-form:{seconds}")[:32]
    if not hmac.compare_digest(signature, expected):
        return None
    return (now or utcnow()).timestamp() - int(seconds)


def check_form_timing(secret: str, stamp: str, *, now: dt.datetime | None = None) -> None:
    """Refuse a form sent faster than a person could fill it in, or one far too old."""
    age = form_age(secret, stamp, now=now)
    if age is None or age > MAX_FORM_AGE.total_seconds():
        raise ValidationFailed([FieldError("form", "The form has expired: check your "
                                                   "details and send it again")])
    if age < MIN_FILL_SECONDS:
        raise ValidationFailed([FieldError("form", "The form was sent too quickly: check "
                                                   "your details and send it again")])


def record_attempt(session: Session, *, ip_hash: str, email_hash: str = "",
                   now: dt.datetime | None = None, max_per_ip: int = MAX_PER_IP,
                   max_per_email: int = MAX_PER_EMAIL) -> None:
    """Count one submission against the client's address and the email address, refusing
    it when either has had its fill within the window."""
    now = now or utcnow()
    since = now - RATE_WINDOW
    by_ip = session.scalar(select(func.count()).select_from(SignupAttempt).where(
        SignupAttempt.ip_hash == ip_hash, SignupAttempt.at > since)) or 0
    by_email = session.scalar(select(func.count()).select_from(SignupAttempt).where(
        SignupAttempt.email_hash == email_hash, SignupAttempt.at > since)) if email_hash else 0
    if by_ip >= max_per_ip or (by_email or 0) >= max_per_email:
        raise TooManyAttempts("Too many forms have been sent from here or for this email "
                              "address. Wait an hour, then try again.")
    session.execute(insert(SignupAttempt).values(at=now, ip_hash=ip_hash,
                                                 email_hash=email_hash))


# Sign-ups ---------------------------------------------------------------------------------

def new_token() -> tuple[str, str]:
    """A secret for a private link, and its SHA-256 (all that is stored)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignupOutcome:
    """What happened: ``signed_up`` or ``waitlisted`` (with the place in the queue), a
    ``duplicate`` (already signed up: told by email), or ``discarded`` (a bot's)."""

    result: str
    position: int | None = None


def _agreement_errors(opportunity: Opportunity, *, consent_store: bool, consent_contact: bool,
                      dbs_acknowledged: bool, age_confirmed: bool) -> list[FieldError]:
    """Both consents, and the DBS and age confirmations where the role needs them."""
    errors = []
    if not consent_store:
        errors.append(FieldError("consent_store", "Tick the box to agree to us keeping your "
                                                  "details"))
    if not consent_contact:
        errors.append(FieldError("consent_contact", "Tick the box to agree to the organiser "
                                                    "contacting you"))
    if opportunity.dbs_check != DbsCheck.NONE and not dbs_acknowledged:
        errors.append(FieldError("dbs_acknowledged", "Tick the box to say you understand a "
                                                     "criminal-records check is needed"))
    if opportunity.minimum_age and not age_confirmed:
        errors.append(FieldError("age_confirmed", f"Tick the box to confirm you are "
                                                  f"{opportunity.minimum_age} or over"))
    return errors


_FIELD_MESSAGES = {
    "name": "Enter your full name (200 characters or fewer)",
    "email": "Enter an email address like name@example.com",
    "phone": "Enter a phone number like 01632 960 001",
    "postcode": "Enter a UK postcode, like SW1A 1AA",
    "note": "Write 2,000 characters or fewer",
}


def parse_signup(values: Mapping[str, str], opportunity: Opportunity) -> SignupIn:
    """The public form's values, checked, with every problem reported at once in the
    words of the form."""
    data = {
        "name": values.get("name", ""), "email": values.get("email", ""),
        "phone": values.get("phone", ""), "postcode": values.get("postcode", ""),
        "note": values.get("note", "")}
    flags = {k: values.get(k) == "yes" for k in ("consent_store", "consent_contact",
                                                 "dbs_acknowledged", "age_confirmed")}
    errors = []
    for key, text in data.items():
        try:
            SignupIn.model_validate({"name": "x", "email": "x@example.org", key: text})
        except ValueError:
            errors.append(FieldError(key, _FIELD_MESSAGES[key]))
    errors += _agreement_errors(opportunity, **flags)
    if errors:
        raise ValidationFailed(errors)
    return validate(SignupIn, {**data, **flags})


def sign_up_from_form(session: Session, *, opportunity: Opportunity, values: Mapping[str, str],
                      secret: str, client: str, site: str,
                      now: dt.datetime | None = None) -> SignupOutcome:
    """The public sign-up form: the honeypot (a bot's submission is discarded, with the same
    answer a person gets), the fill time, the rate limits, then :func:`sign_up`."""
    now = now or utcnow()
    if values.get("website", "").strip():
        record_attempt(session, ip_hash=keyed_hash(secret, client), now=now)
        return SignupOutcome("discarded")
    check_form_timing(secret, values.get("started", ""), now=now)
    email = values.get("email", "").strip().lower()
    record_attempt(session, ip_hash=keyed_hash(secret, client),
                   email_hash=keyed_hash(secret, email) if email else "", now=now)
    data = parse_signup(values, opportunity)
    if not opportunity.is_open:
        raise Conflict("This opportunity is not taking sign-ups")
    return sign_up(session, opportunity=opportunity, data=data, site=site, now=now)


def sign_up(session: Session, *, opportunity: Opportunity, data: SignupIn, site: str,
            now: dt.datetime | None = None) -> SignupOutcome:
    """Sign a person up: both consents, and the DBS and age confirmations where the role
    needs them. A place if one is free; else the waiting list, if it has one. The volunteer
    is emailed their private link (through the outbox). A second sign-up with the same email
    address changes nothing: the address is told, by email, that it is already signed up."""
    now = now or utcnow()
    if not opportunity.is_open:
        raise Conflict("This opportunity is not taking sign-ups")
    errors = _agreement_errors(
        opportunity, consent_store=data.consent_store, consent_contact=data.consent_contact,
        dbs_acknowledged=data.dbs_acknowledged, age_confirmed=data.age_confirmed)
    if errors:
        raise ValidationFailed(errors)
    existing = session.scalar(select(Signup.id).where(Signup.opportunity_id == opportunity.id,
                                                      Signup.email == data.email))
    if existing is not None:
        _email_duplicate(session, opportunity, data.email, site)
        return SignupOutcome("duplicate")
    token, digest = new_token()
    try:
        with session.begin_nested():
            status = _take_place(session, opportunity)
            session.execute(insert(Signup).values(
                opportunity_id=opportunity.id, status=status, name=data.name, email=data.email,
                phone=data.phone, postcode=data.postcode, note=data.note.strip(),
                dbs_acknowledged=data.dbs_acknowledged, age_confirmed=data.age_confirmed,
                consented_at=now, token_sha256=digest, created_at=now))
    except IntegrityError:  # the same address at the same moment from another request
        session.expire(opportunity)
        _email_duplicate(session, opportunity, data.email, site)
        return SignupOutcome("duplicate")
    session.expire(opportunity, ["signed_up", "waitlisted"])
    position = None
    if status == SignupStatus.WAITLISTED:
        position = waitlist_position(session, opportunity, token_sha256=digest)
    queue_email(session, to=data.email, subject=_subject(opportunity, status),
                body=_welcome(opportunity, data.name, status, position,
                              f"{site}/volunteer/manage/{token}"))
    return SignupOutcome(status.value, position)


def _take_place(session: Session, opportunity: Opportunity) -> SignupStatus:
    """A place, taken atomically if one is free; else the waiting list; else refused."""
    taken = _rows(session.execute(
        update(Opportunity).where(Opportunity.id == opportunity.id, or_(
            Opportunity.capacity.is_(None), Opportunity.signed_up < Opportunity.capacity))
        .values(signed_up=Opportunity.signed_up + 1)
        .execution_options(synchronize_session=False)))
    if taken == 1:
        return SignupStatus.SIGNED_UP
    if not opportunity.waitlist:
        raise Conflict("This opportunity is full, and it has no waiting list")
    session.execute(update(Opportunity).where(Opportunity.id == opportunity.id)
                    .values(waitlisted=Opportunity.waitlisted + 1)
                    .execution_options(synchronize_session=False))
    return SignupStatus.WAITLISTED


def waitlist_position(session: Session, opportunity: Opportunity, *, token_sha256: str
                      ) -> int | None:
    me = session.execute(select(Signup.id, Signup.created_at, Signup.status).where(
        Signup.token_sha256 == token_sha256)).one_or_none()
    if me is None or me.status != SignupStatus.WAITLISTED:
        return None
    ahead = session.scalar(select(func.count()).select_from(Signup).where(
        Signup.opportunity_id == opportunity.id, Signup.status == SignupStatus.WAITLISTED,
        or_(Signup.created_at < me.created_at,
            (Signup.created_at == me.created_at) & (Signup.id < me.id)))) or 0
    return int(ahead) + 1


def _subject(opportunity: Opportunity, status: SignupStatus) -> str:
    if status == SignupStatus.WAITLISTED:
        return f"You are on the waiting list: {opportunity.title}"
    return f"You have signed up: {opportunity.title}"


def _welcome(opportunity: Opportunity, name: str, status: SignupStatus, position: int | None,
             link: str) -> str:
    if status == SignupStatus.WAITLISTED:
        first = (f"The opportunity is full, so you are number {position} on its waiting "
                 "list. We will email you if a place comes up.")
    else:
        first = (f"You have a place. {opportunity.organiser_name} will contact you about what "
                 "happens next.")
    return (
        f"Dear {name},\n\nThank you for signing up to volunteer: {opportunity.title}.\n\n"
        f"{first}\n\nThis is your private link. Use it to log the hours you volunteer and to "
        f"withdraw. Do not share it: anyone with it can change your sign-up.\n\n{link}\n\n"
        f"Only {opportunity.organiser_name} (and the service's administrators) can see your "
        f"details. They are deleted when you withdraw, and otherwise "
        f"{retention_notice(opportunity)}.\n")


def _email_duplicate(session: Session, opportunity: Opportunity, email: str, site: str
                     ) -> None:
    queue_email(session, to=email, subject=f"You are already signed up: {opportunity.title}",
                body=(f"Someone, probably you, tried to sign up again for "
                      f"{opportunity.title} with this email address. You are already signed "
                      "up, so nothing has changed.\n\nTo log hours or withdraw, use the "
                      "private link in the email we sent when you signed up. If you have "
                      f"lost it, ask for a new one: {site}/volunteer/new-link\n"))


def signup_for_token(session: Session, *, token: str) -> Signup:
    found = session.scalar(select(Signup).where(Signup.token_sha256 == token_hash(token)))
    if found is None:
        raise NotFound("This link is not valid: you may have withdrawn, the opportunity's "
                       "details may have been deleted, or a newer link replaced it")
    return found


def send_new_links(session: Session, *, email: str, site: str) -> int:
    """A new private link for each of this address's sign-ups, by email (old links stop
    working). Returns how many; the page says the same whatever the answer, so that it does
    not tell who has signed up."""
    email = email.strip().lower()
    found = session.execute(select(Signup.id, Opportunity.title).join(Opportunity).where(
        Signup.email == email)).all()
    for signup_id, title in found:
        token, digest = new_token()
        session.execute(update(Signup).where(Signup.id == signup_id)
                        .values(token_sha256=digest)
                        .execution_options(synchronize_session=False))
        queue_email(session, to=email, subject=f"Your new link: {title}",
                    body=(f"Here is a new private link for your sign-up to {title}. Your old "
                          f"link no longer works.\n\n{site}/volunteer/manage/{token}\n"))
    return len(found)


def request_new_links(session: Session, *, values: Mapping[str, str], secret: str,
                      client: str, site: str, now: dt.datetime | None = None) -> None:
    """The "lost your link?" form: the same spam protection as the sign-up form."""
    now = now or utcnow()
    if values.get("website", "").strip():
        record_attempt(session, ip_hash=keyed_hash(secret, client), now=now)
        return
    check_form_timing(secret, values.get("started", ""), now=now)
    email = values.get("email", "").strip().lower()
    if not email or "@" not in email or len(email) > 320:
        raise ValidationFailed([FieldError("email", "Enter the email address you signed up "
                                                    "with")])
    record_attempt(session, ip_hash=keyed_hash(secret, client),
                   email_hash=keyed_hash(secret, email), now=now)
    send_new_links(session, email=email, site=site)


# The volunteer's own changes ---------------------------------------------------------------

def hours_of(session: Session, signup: Signup) -> list[HoursLog]:
    return list(session.scalars(select(HoursLog).where(HoursLog.signup_id == signup.id)
                                .order_by(HoursLog.worked_on.desc(), HoursLog.id.desc())))


def parse_hours(values: Mapping[str, str]) -> HoursIn:
    """The hours form's values, checked, in the words of the form."""
    errors = []
    try:
        worked_on = dt.date.fromisoformat(values.get("worked_on", "").strip())
    except ValueError:
        errors.append(FieldError("worked_on", "Enter the day as a date, like 2027-03-31"))
    try:
        hours = float(values.get("hours", "").strip())
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 24:
        errors.append(FieldError("hours", "Enter the hours as a number from 0.25 to 24, like "
                                          "2 or 1.5"))
    if len(values.get("note", "")) > 1000:
        errors.append(FieldError("note", "Write 1,000 characters or fewer"))
    if errors:
        raise ValidationFailed(errors)
    return HoursIn(worked_on=worked_on, hours=hours, note=values.get("note", ""))


def log_hours(session: Session, *, signup: Signup, data: HoursIn,
              today: dt.date | None = None) -> None:
    """Hours the volunteer did, for the organiser to confirm. Only with a place (not from
    the waiting list), for a day not in the future and within the last year."""
    today = today or utc_today()
    if signup.status != SignupStatus.SIGNED_UP:
        raise Conflict("You are on the waiting list: you can log hours once you have a place")
    if data.worked_on > today:
        raise ValidationFailed([FieldError("worked_on", "The day cannot be in the future")])
    if data.worked_on < today - HOURS_LOOKBACK:
        raise ValidationFailed([FieldError("worked_on", "Log hours within a year of doing "
                                                        "them")])
    session.execute(insert(HoursLog).values(
        signup_id=signup.id, opportunity_id=signup.opportunity_id, worked_on=data.worked_on,
        hours=data.hours, note=data.note.strip(), status=HoursStatus.LOGGED,
        logged_at=utcnow()))


def withdraw(session: Session, *, signup: Signup, site: str = "") -> None:
    """The volunteer withdraws: their sign-up, personal data and logged hours are deleted
    (hours already confirmed stay in the anonymous count). A freed place goes to the first
    on the waiting list."""
    _delete_signup(session, signup, site=site)


def _delete_signup(session: Session, signup: Signup, *, site: str) -> None:
    opportunity = signup.opportunity
    counter = (Opportunity.signed_up if signup.status == SignupStatus.SIGNED_UP
               else Opportunity.waitlisted)
    session.execute(delete(HoursLog).where(HoursLog.signup_id == signup.id))
    session.execute(delete(Signup).where(Signup.id == signup.id))
    session.execute(update(Opportunity).where(Opportunity.id == opportunity.id)
                    .values({counter: func.max(counter - 1, 0) if _is_sqlite(session)
                             else func.greatest(counter - 1, 0)})
                    .execution_options(synchronize_session=False))
    session.expunge(signup)
    session.expire(opportunity, ["signed_up", "waitlisted"])
    fill_from_waitlist(session, opportunity, site=site)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def fill_from_waitlist(session: Session, opportunity: Opportunity, *, site: str = "") -> int:
    """Give free places to the waiting list, first come first served, and email each.

    Each promotion takes a place the way a sign-up does (one ``UPDATE`` that succeeds only
    while there is room), then moves the first person still waiting; if another request moved
    that person first, the place is handed back and the filling stops."""
    moved = 0
    while opportunity.status == OpportunityStatus.PUBLISHED and _move_counters(
            session, opportunity, into_place=True):
        first = session.execute(select(Signup.id, Signup.email, Signup.name).where(
            Signup.opportunity_id == opportunity.id, Signup.status == SignupStatus.WAITLISTED)
            .order_by(Signup.created_at, Signup.id).limit(1)).one_or_none()
        promoted = first is not None and _rows(session.execute(
            update(Signup).where(Signup.id == first.id, Signup.status == SignupStatus.WAITLISTED)
            .values(status=SignupStatus.SIGNED_UP, promoted_at=utcnow())
            .execution_options(synchronize_session=False))) == 1
        if first is None or not promoted:
            _move_counters(session, opportunity, into_place=False)
            break
        queue_email(session, to=first.email, subject=f"A place for you: {opportunity.title}",
                    body=(f"Dear {first.name},\n\nA place has come up and it is yours: "
                          f"{opportunity.title}. {opportunity.organiser_name} will contact "
                          "you about what happens next. Use the private link we sent you to "
                          "log your hours or to withdraw."
                          + (f" If you have lost it: {site}/volunteer/new-link" if site
                             else "") + "\n"))
        moved += 1
    session.expire(opportunity, ["signed_up", "waitlisted"])
    return moved


def _move_counters(session: Session, opportunity: Opportunity, *, into_place: bool) -> bool:
    """One person from the waiting list into a place (only if there is room and someone is
    waiting), or back; whether the counters moved."""
    if into_place:
        statement = update(Opportunity).where(
            Opportunity.id == opportunity.id, Opportunity.waitlisted > 0,
            or_(Opportunity.capacity.is_(None), Opportunity.signed_up < Opportunity.capacity)
        ).values(signed_up=Opportunity.signed_up + 1, waitlisted=Opportunity.waitlisted - 1)
    else:
        statement = update(Opportunity).where(Opportunity.id == opportunity.id).values(
            signed_up=Opportunity.signed_up - 1, waitlisted=Opportunity.waitlisted + 1)
    return _rows(session.execute(statement.execution_options(synchronize_session=False))) == 1


def _rows(result: Any) -> int:
    """The rows an UPDATE or DELETE changed."""
    return int(result.rowcount)


# Organisers --------------------------------------------------------------------------------

def signups(session: Session, opportunity: Opportunity, *,
            status: SignupStatus | None = None, limit: int | None = None, offset: int = 0
            ) -> list[Signup]:
    """The sign-ups, places first then the waiting list, each in order of arrival."""
    query = select(Signup).where(Signup.opportunity_id == opportunity.id)
    if status is not None:
        query = query.where(Signup.status == status)
    query = query.order_by(Signup.status, Signup.created_at, Signup.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def hours_by_signup(session: Session, opportunity: Opportunity, signup_ids: Sequence[int]
                    ) -> dict[int, dict[str, float]]:
    """Per sign-up: hours logged (awaiting), confirmed and rejected."""
    out: dict[int, dict[str, float]] = {}
    if not signup_ids:
        return out
    for signup_id, status, total in session.execute(
            select(HoursLog.signup_id, HoursLog.status, func.sum(HoursLog.hours))
            .where(HoursLog.opportunity_id == opportunity.id,
                   HoursLog.signup_id.in_(signup_ids))
            .group_by(HoursLog.signup_id, HoursLog.status)):
        out.setdefault(signup_id, {})[HoursStatus(status).value] = float(total or 0)
    return out


def pending_hours(session: Session, opportunity: Opportunity) -> list[tuple[HoursLog, str]]:
    """Hours awaiting the organiser's decision, with the volunteer's name, oldest first."""
    return [(h, name) for h, name in session.execute(
        select(HoursLog, Signup.name).join(Signup, Signup.id == HoursLog.signup_id).where(
            HoursLog.opportunity_id == opportunity.id, HoursLog.status == HoursStatus.LOGGED)
        .order_by(HoursLog.logged_at, HoursLog.id))]


def decide_hours(session: Session, *, opportunity: Opportunity, hours_id: int, confirm: bool,
                 user: User | None) -> HoursLog:
    """Confirm (counted in public) or reject hours a volunteer logged."""
    found = session.get(HoursLog, hours_id)
    if found is None or found.opportunity_id != opportunity.id:
        raise NotFound(f"No hours {hours_id} logged for this opportunity")
    if found.status != HoursStatus.LOGGED:
        raise Conflict(f"These hours are already {found.status.value}")
    status = HoursStatus.CONFIRMED if confirm else HoursStatus.REJECTED
    session.execute(update(HoursLog).where(HoursLog.id == hours_id,
                                           HoursLog.status == HoursStatus.LOGGED)
                    .values(status=status, decided_at=utcnow(),
                            decided_by=user.id if user else None)
                    .execution_options(synchronize_session=False))
    if confirm:
        session.execute(update(Opportunity).where(Opportunity.id == opportunity.id).values(
            hours_confirmed=Opportunity.hours_confirmed + found.hours)
            .execution_options(synchronize_session=False))
        session.expire(opportunity, ["hours_confirmed"])
    log_change(session, action="update", table=HoursLog.__tablename__, row_id=hours_id,
               changes={"status": {"old": "logged", "new": status.value},
                        "hours": found.hours},
               summary=f"{status.value.capitalize()} {found.hours:g} hours logged for "
                       f"{opportunity.slug}")
    session.refresh(found)
    return found


def remove_signup(session: Session, *, opportunity: Opportunity, signup_id: int) -> None:
    """The organiser removes someone (for example after a failed check): the same deletion
    as a withdrawal."""
    found = session.get(Signup, signup_id)
    if found is None or found.opportunity_id != opportunity.id:
        raise NotFound(f"No sign-up {signup_id} for this opportunity")
    status = found.status
    _delete_signup(session, found, site="")
    log_change(session, action="delete", table=Signup.__tablename__, row_id=signup_id,
               changes={"status": status.value},
               summary=f"Removed a volunteer ({status.value}) from {opportunity.slug}")


def recipients(session: Session, opportunity: Opportunity, audience: Audience
               ) -> list[tuple[str, str]]:
    query = select(Signup.email, Signup.name).where(Signup.opportunity_id == opportunity.id)
    if audience == Audience.SIGNED_UP:
        query = query.where(Signup.status == SignupStatus.SIGNED_UP)
    elif audience == Audience.WAITLISTED:
        query = query.where(Signup.status == SignupStatus.WAITLISTED)
    return [(email, name) for email, name in session.execute(query.order_by(Signup.id))]


def send_message(session: Session, *, opportunity: Opportunity, data: MessageIn,
                 author: User | None) -> OpportunityMessage:
    """Email the opportunity's volunteers (one email each, through the outbox); the message
    is kept with the opportunity."""
    if opportunity.personal_data_deleted_at is not None:
        raise Conflict("The volunteers' details have been deleted")
    people = recipients(session, opportunity, data.audience)
    if not people:
        raise ValidationFailed([FieldError("audience", "Nobody is in this group yet")])
    sender = author.name if author else opportunity.organiser_name
    for email, name in people:
        queue_email(session, to=email, subject=f"{data.subject} ({opportunity.title})",
                    body=(f"Dear {name},\n\n{data.body}\n\n{sender}, for "
                          f"{opportunity.organiser_name}\n\nYou are getting this because "
                          f"you signed up to volunteer: {opportunity.title}.\n"))
    message = OpportunityMessage(opportunity_id=opportunity.id, audience=data.audience,
                                 subject=data.subject, body=data.body, recipients=len(people),
                                 sent_at=utcnow(), author_id=author.id if author else None)
    session.add(message)
    session.flush()
    return message


def messages(session: Session, opportunity: Opportunity) -> list[OpportunityMessage]:
    return list(session.scalars(select(OpportunityMessage).where(
        OpportunityMessage.opportunity_id == opportunity.id)
        .order_by(OpportunityMessage.sent_at.desc(), OpportunityMessage.id.desc())))


EXPORT_COLUMNS = ("name", "email", "phone", "postcode", "status", "signed_up_at",
                  "dbs_acknowledged", "note", "hours_logged", "hours_confirmed")


def export_rows(session: Session, *, opportunity: Opportunity) -> list[list[Any]]:
    """The sign-ups as CSV rows, with a header: the one export with personal data, for the
    organisers only. Logged in the audit log (who, when, how many rows; no personal data)."""
    people = signups(session, opportunity)
    hours = hours_by_signup(session, opportunity, [s.id for s in people])
    rows: list[list[Any]] = [list(EXPORT_COLUMNS)]
    for s in people:
        mine = hours.get(s.id, {})
        rows.append([s.name, s.email, s.phone, s.postcode, s.status.value,
                     s.created_at.isoformat(timespec="seconds"),
                     "yes" if s.dbs_acknowledged else "no", s.note,
                     f"{mine.get('logged', 0.0):g}", f"{mine.get('confirmed', 0.0):g}"])
    log_change(session, action="export", table=Signup.__tablename__, row_id=opportunity.id,
               changes={"rows": len(people)},
               summary=f"Exported {len(people)} sign-ups of {opportunity.slug} (CSV)")
    session.flush()
    return rows


@dataclass(frozen=True)
class Counts:
    signed_up: int
    waitlisted: int
    hours_confirmed: float


def recount(session: Session, opportunity: Opportunity) -> Counts:
    """The counters as the rows give them (before any deletion of personal data)."""
    by_status: dict[SignupStatus, int] = dict(session.execute(
        select(Signup.status, func.count()).where(Signup.opportunity_id == opportunity.id)
        .group_by(Signup.status)).all())
    hours = session.scalar(select(func.coalesce(func.sum(HoursLog.hours), 0.0)).where(
        HoursLog.opportunity_id == opportunity.id, HoursLog.status == HoursStatus.CONFIRMED))
    return Counts(int(by_status.get(SignupStatus.SIGNED_UP, 0)),
                  int(by_status.get(SignupStatus.WAITLISTED, 0)), float(hours or 0.0))


# Personal data -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Purged:
    opportunity: str
    signups: int
    hours: int


@dataclass(frozen=True)
class PurgeReport:
    closed: list[str]
    purged: list[Purged]
    attempts: int


def purge_personal_data(session: Session, *, opportunity: Opportunity) -> Purged:
    """Delete every sign-up and logged hour of the opportunity. Its counters (people signed
    up, hours confirmed) and the organisers' messages stay."""
    hours = _rows(session.execute(delete(HoursLog).where(
        HoursLog.opportunity_id == opportunity.id)))
    people = _rows(session.execute(delete(Signup).where(
        Signup.opportunity_id == opportunity.id)))
    opportunity.personal_data_deleted_at = utcnow()
    log_change(session, action="purge", table=Signup.__tablename__, row_id=opportunity.id,
               changes={"signups": people, "hours": hours},
               summary=f"Deleted the volunteers' personal data of {opportunity.slug}")
    session.flush()
    return Purged(opportunity.slug, people, hours)


def purge_due(session: Session, *, today: dt.date) -> PurgeReport:
    """The daily job: close published opportunities whose end date has passed (keeping
    their data ``retention_months`` from that date), delete the personal data of every
    opportunity whose retention date is before ``today``, and delete rate-limit records
    older than two days."""
    closed = []
    for o in session.scalars(select(Opportunity).where(
            Opportunity.status == OpportunityStatus.PUBLISHED, Opportunity.ends_on < today)
            .order_by(Opportunity.id)):
        assert o.ends_on is not None
        o.status = OpportunityStatus.CLOSED
        o.closed_at = dt.datetime.combine(o.ends_on, dt.time(23, 59, 59), tzinfo=dt.UTC)
        o.retain_until = add_months(o.ends_on, o.retention_months)
        closed.append(o.slug)
    session.flush()
    due = list(session.scalars(select(Opportunity).where(
        Opportunity.retain_until < today, Opportunity.personal_data_deleted_at.is_(None),
        Opportunity.status == OpportunityStatus.CLOSED).order_by(Opportunity.id)))
    purged = [purge_personal_data(session, opportunity=o) for o in due]
    cutoff = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC) - ATTEMPT_RETENTION
    attempts = _rows(session.execute(delete(SignupAttempt).where(SignupAttempt.at < cutoff)))
    return PurgeReport(closed, purged, attempts)
