"""Citizens' panels: setting up, the features and census targets, the address list and the
invitation lottery, registration, withdrawals, recommendations and responses, and the
deletion of personal data.

The verifiable selection (commit, draw, replacements) is :mod:`missionboard.panels.selection`.
Personal-data tables are not audited row by row (see :mod:`missionboard.accounts.audit`):
each change to them is logged here as a summary without personal values.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.db.base import utcnow
from missionboard.errors import (
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
    validate,
    validate_rows,
)
from missionboard.missions.models import Mission
from missionboard.panels.models import (
    FeatureValue,
    GovernmentResponse,
    Invitation,
    InvitationRound,
    Panel,
    PanelAddress,
    PanelFeature,
    PanelStage,
    Recommendation,
    ResponseStatus,
    SelectionRun,
    Volunteer,
    VolunteerStatus,
)
from missionboard.panels.schemas import (
    FeatureIn,
    FeatureShareRow,
    PanelIn,
    RecommendationIn,
    ResponseIn,
    ValueIn,
)

#: Letters and digits that cannot be mistaken for one another when typed from a letter.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
#: Registrations one invitation admits when the household rule is off.
MAX_PER_INVITATION = 5
#: Members (selected or replacement) count as on the panel.
MEMBER_STATUSES = (VolunteerStatus.SELECTED, VolunteerStatus.REPLACEMENT)
ADDRESS_COLUMNS = ("reference", "line1", "line2", "town", "postcode", "stratum")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def log_change(session: Session, *, action: str, table: str, row_id: object, summary: str,
         changes: dict[str, Any] | None = None) -> None:
    """A summary audit entry for a change to a personal-data table (no personal values)."""
    session.add(AuditEntry(actor_id=session.info.get("actor_id"), ip=session.info.get("ip"),
                           action=action, table_name=table, row_id=str(row_id),
                           changes=changes or {}, summary=summary))


def _token(length: int, rng: random.Random | None = None) -> str:
    """A random code; from ``secrets`` unless a seeded ``rng`` is given (the demo only)."""
    choose = rng.choice if rng is not None else secrets.choice
    return "".join(choose(CODE_ALPHABET) for _ in range(length))


# Panels ------------------------------------------------------------------------------------

def list_panels(session: Session, *, mission: Mission | None = None,
                include_drafts: bool = False) -> list[Panel]:
    query = select(Panel).order_by(Panel.created_at.desc(), Panel.id)
    if mission is not None:
        query = query.where(Panel.mission_id == mission.id)
    found = list(session.scalars(query))
    return found if include_drafts else [p for p in found if p.is_public]


def get_panel(session: Session, *, slug: str, include_drafts: bool = False) -> Panel:
    panel = session.scalar(select(Panel).where(Panel.slug == slug))
    if panel is None or not (include_drafts or panel.is_public):
        raise NotFound(f"No citizens' panel {slug!r}")
    return panel


def create_panel(session: Session, *, mission: Mission, data: PanelIn) -> Panel:
    if session.scalar(select(Panel.id).where(Panel.slug == data.slug)):
        raise ValidationFailed([FieldError("slug", f"The short name {data.slug!r} is taken")])
    panel = Panel(mission=mission, slug=data.slug)
    _apply(session, panel, data, resized=False)
    session.add(panel)
    session.flush()
    return panel


def update_panel(session: Session, *, panel: Panel, data: PanelIn) -> Panel:
    if data.slug != panel.slug:
        raise ValidationFailed([FieldError("slug", "The short name cannot change")])
    if data.size != panel.size and has_runs(session, panel):
        raise ValidationFailed([FieldError("size", "A draw has been committed: the panel's "
                                                   "size can no longer change")])
    if data.household_rule != panel.household_rule and panel.stage != PanelStage.DRAFT:
        raise ValidationFailed([FieldError("household_rule", "Registration has opened: the "
                                                             "household rule can no longer "
                                                             "change")])
    _apply(session, panel, data, resized=data.size != panel.size)
    session.flush()
    return panel


def _apply(session: Session, panel: Panel, data: PanelIn, *, resized: bool) -> None:
    if data.outcome_id is not None and data.outcome_id not in {o.id for o in
                                                               panel.mission.outcomes}:
        raise ValidationFailed([FieldError("outcome_id", "Choose an outcome of this mission")])
    panel.title, panel.question = data.title, data.question
    panel.purpose = data.purpose.strip()
    panel.outcome_id = data.outcome_id
    panel.size, panel.household_rule = data.size, data.household_rule
    panel.retention_until = data.retention_until
    panel.meets_from, panel.meets_until = data.meets_from, data.meets_until
    if resized:  # targets follow the shares at the new size
        for feature in panel.features:
            for v in feature.values:
                if v.share is not None:
                    v.min, v.max = default_bounds(v.share, data.size)


STAGE_MOVES: dict[PanelStage, tuple[PanelStage, ...]] = {
    PanelStage.DRAFT: (PanelStage.RECRUITING,),
    PanelStage.RECRUITING: (PanelStage.CLOSED, PanelStage.DRAFT),
    PanelStage.CLOSED: (PanelStage.RECRUITING,),
    PanelStage.SELECTED: (PanelStage.REPORTED,),
    PanelStage.REPORTED: (PanelStage.SELECTED,),
}


def set_stage(session: Session, *, panel: Panel, stage: PanelStage) -> None:
    """Open registration, close it (freezing the pool for the draw), reopen it (only before
    a draw is committed), or mark the panel as reported (once it has recommendations)."""
    if stage not in STAGE_MOVES[panel.stage]:
        raise Conflict(f"A panel that is {panel.stage.value} cannot become {stage.value}")
    if stage == PanelStage.RECRUITING and len(panel.features) == 0:
        raise Conflict("Set the features and their targets before opening registration")
    if stage == PanelStage.RECRUITING and has_runs(session, panel):
        raise Conflict("A draw has been committed on the registered pool: registration "
                       "cannot reopen")
    if stage == PanelStage.DRAFT and count_volunteers(session, panel):
        raise Conflict("People have registered: close registration instead")
    if stage == PanelStage.REPORTED and not recommendations(session, panel):
        raise Conflict("Record the panel's recommendations first")
    panel.stage = stage
    if stage == PanelStage.RECRUITING:
        panel.registration_opened_at = panel.registration_opened_at or utcnow()
        panel.registration_closed_at = None
    elif stage == PanelStage.CLOSED:
        panel.registration_closed_at = utcnow()
    session.flush()


def has_runs(session: Session, panel: Panel) -> bool:
    return session.scalar(select(func.count()).select_from(SelectionRun).where(
        SelectionRun.panel_id == panel.id, SelectionRun.abandoned_at.is_(None))) != 0


# Features and census targets ---------------------------------------------------------------

def default_bounds(share: float, k: int) -> tuple[int, int]:
    """The quota a census share gives a panel of ``k``: floor and ceiling of share·k."""
    exact = share * k
    nearest = round(exact)
    if math.isclose(exact, nearest, abs_tol=1e-9):  # 0.25 × 40 is 10, not 10 to 11
        return nearest, nearest
    return math.floor(exact), math.ceil(exact)


def _editable_features(panel: Panel) -> None:
    if panel.stage != PanelStage.DRAFT:
        raise Conflict("Registration has opened: the features and their values are fixed "
                       "(the quotas can still change until the draw is committed)")


def save_feature(session: Session, *, panel: Panel, data: FeatureIn) -> PanelFeature:
    """Add a feature with its values, or replace the one with the same name."""
    _editable_features(panel)
    feature = next((f for f in panel.features if f.name == data.name), None)
    if feature is None:
        feature = PanelFeature(name=data.name, position=len(panel.features))
        panel.features.append(feature)
    feature.question, feature.source = data.question, data.source.strip()
    for old in list(feature.values):  # deleted explicitly, so that the audit log has them
        session.delete(old)
    session.flush()
    session.expire(feature, ["values"])
    for i, v in enumerate(data.values):
        low, high = default_bounds(v.share, panel.size) if v.share is not None else (
            0, panel.size)
        feature.values.append(FeatureValue(value=v.value, label=v.label, share=v.share,
                                           position=i, min=low, max=high))
    session.flush()
    return feature


def remove_feature(session: Session, *, panel: Panel, name: str) -> None:
    _editable_features(panel)
    feature = next((f for f in panel.features if f.name == name), None)
    if feature is None:
        raise NotFound(f"No feature {name!r}")
    for value in feature.values:  # deleted explicitly, so that the audit log has them
        session.delete(value)
    session.delete(feature)
    session.flush()
    session.expire(panel, ["features"])


def _share(text: str) -> str:
    text = text.strip()
    if text.endswith("%"):
        try:
            return str(float(text[:-1]) / 100)
        except ValueError:
            return text
    return text


def import_shares(session: Session, *, panel: Panel, rows: Sequence[Mapping[str, str]]
                  ) -> list[PanelFeature]:
    """Census figures as ``feature, value, share`` rows (``label`` and ``question`` optional),
    all or nothing; each feature's shares must add up to 1 (within 0.5 points). Features
    named in the file are replaced; targets are set from the shares."""
    _editable_features(panel)
    if not rows:
        raise ValidationFailed([FieldError("file", "The file has no rows")])
    missing = [c for c in ("feature", "value", "share") if c not in rows[0]]
    if missing:
        raise ValidationFailed([FieldError(c, f"The file has no column {c!r}", row=1)
                                for c in missing])
    cleaned = [{**r, "share": _share(r.get("share") or "")} for r in rows]
    parsed = validate_rows(FeatureShareRow, cleaned)
    errors: list[FieldError] = []
    grouped: dict[str, list[tuple[int, FeatureShareRow]]] = {}
    for number, row in enumerate(parsed, start=2):
        seen = grouped.setdefault(row.feature, [])
        if any(r.value == row.value for _, r in seen):
            errors.append(FieldError("value", f"{row.feature}={row.value} appears twice",
                                     row=number))
        seen.append((number, row))
    for name, items in grouped.items():
        total = sum(r.share for _, r in items)
        if abs(total - 1) > 0.005:
            errors.append(FieldError("share", f"The shares of {name!r} add up to "
                                              f"{total:.3f}, not 1", row=items[-1][0]))
        if len(items) < 2:
            errors.append(FieldError("value", f"{name!r} needs at least two values",
                                     row=items[0][0]))
    if errors:
        raise ValidationFailed(errors)
    saved = []
    for name, items in grouped.items():
        existing = next((f for f in panel.features if f.name == name), None)
        question = next((r.question for _, r in items if r.question), None) or (
            existing.question if existing else f"Which best describes your {name}?")
        saved.append(save_feature(session, panel=panel, data=FeatureIn(
            name=name, question=question, source=existing.source if existing else "",
            values=[ValueIn(value=r.value, label=r.label or r.value.replace("_", " "),
                            share=r.share) for _, r in items])))
    return saved


def set_quotas(session: Session, *, panel: Panel, bounds: Mapping[int, tuple[str, str]]
               ) -> None:
    """Set each value's target range (min and max members) by value id; errors are named
    ``min-<id>`` and ``max-<id>``. Refused once a draw is committed."""
    if has_runs(session, panel):
        raise Conflict("A draw has been committed: the quotas are fixed")
    errors: list[FieldError] = []
    values = {v.id: v for f in panel.features for v in f.values}
    parsed: dict[int, tuple[int, int]] = {}
    for value_id, (low_text, high_text) in bounds.items():
        value = values.get(value_id)
        if value is None:
            raise NotFound(f"No value {value_id} on this panel")
        numbers = []
        for field, text in (("min", low_text), ("max", high_text)):
            try:
                n = int(text.strip())
            except ValueError:
                errors.append(FieldError(f"{field}-{value_id}",
                                         f"The {field} for {value.label} must be a whole number"))
                continue
            if not 0 <= n <= panel.size:
                errors.append(FieldError(f"{field}-{value_id}", f"The {field} for "
                                         f"{value.label} must be between 0 and {panel.size}"))
                continue
            numbers.append(n)
        if len(numbers) == 2:
            if numbers[0] > numbers[1]:
                errors.append(FieldError(f"max-{value_id}", f"The max for {value.label} "
                                                            "must not be below its min"))
            parsed[value_id] = (numbers[0], numbers[1])
    if errors:
        raise ValidationFailed(errors)
    problems = quota_problems(panel, bounds=parsed)
    if problems:  # checked before anything changes: the page re-displays in this transaction
        raise ValidationFailed([FieldError("quotas", p) for p in problems])
    for value_id, (low, high) in parsed.items():
        values[value_id].min, values[value_id].max = low, high
    session.flush()


def quota_problems(panel: Panel, *, bounds: Mapping[int, tuple[int, int]] | None = None
                   ) -> list[str]:
    """Quotas no panel of this size can meet, feature by feature (with ``bounds``, as they
    would be with these new ranges by value id)."""
    new = bounds or {}
    out = []
    for feature in panel.features:
        ranges = [new.get(v.id, (v.min, v.max)) for v in feature.values]
        low = sum(r[0] for r in ranges)
        high = sum(r[1] for r in ranges)
        if low > panel.size:
            out.append(f"The minimums for {feature.name} add up to {low}, more than the "
                       f"panel's {panel.size} members")
        if high < panel.size:
            out.append(f"The maximums for {feature.name} add up to {high}, fewer than the "
                       f"panel's {panel.size} members")
    return out


# Addresses and the invitation lottery -------------------------------------------------------

def import_addresses(session: Session, *, panel: Panel, rows: Sequence[Mapping[str, str]]
                     ) -> int:
    """Add addresses, all or nothing: ``reference, line1, postcode`` are needed; ``line2``,
    ``town`` and ``stratum`` are optional. Every error names its row and column."""
    if panel.personal_data_deleted_at is not None:
        raise Conflict("This panel's personal data has been deleted")
    if not rows:
        raise ValidationFailed([FieldError("file", "The file has no rows")])
    missing = [c for c in ("reference", "line1", "postcode") if c not in rows[0]]
    if missing:
        raise ValidationFailed([FieldError(c, f"The file has no column {c!r}", row=1)
                                for c in missing])
    known = set(session.scalars(select(PanelAddress.reference).where(
        PanelAddress.panel_id == panel.id)))
    errors: list[FieldError] = []
    seen: set[str] = set()
    limits = {"reference": 60, "line1": 200, "line2": 200, "town": 100, "stratum": 100}
    cleaned: list[dict[str, str]] = []
    for number, row in enumerate(rows, start=2):
        item = {c: (row.get(c) or "").strip() for c in ADDRESS_COLUMNS}
        item["postcode"] = re.sub(r"\s+", " ", item["postcode"].upper())
        for column in ("reference", "line1", "postcode"):
            if not item[column]:
                errors.append(FieldError(column, f"Enter the {column}", row=number))
        for column, limit in limits.items():
            if len(item[column]) > limit:
                errors.append(FieldError(column, f"Longer than {limit} characters",
                                         row=number))
        if item["postcode"] and not _POSTCODE.match(item["postcode"]):
            errors.append(FieldError("postcode", f"{item['postcode']!r} is not a UK postcode",
                                     row=number))
        reference = item["reference"]
        if reference in known:
            errors.append(FieldError("reference", f"{reference!r} is already on the list",
                                     row=number))
        elif reference in seen:
            errors.append(FieldError("reference", f"{reference!r} appears twice",
                                     row=number))
        seen.add(reference)
        cleaned.append(item)
    if errors:
        raise ValidationFailed(errors)
    session.add_all(PanelAddress(panel_id=panel.id, **item) for item in cleaned)
    log_change(session, action="import", table=PanelAddress.__tablename__, row_id=panel.id,
         changes={"added": len(cleaned)},
         summary=f"Imported {len(cleaned)} addresses for panel {panel.slug}")
    session.flush()
    return len(cleaned)


def count_addresses(session: Session, panel: Panel) -> dict[str, int]:
    total = session.scalar(select(func.count()).select_from(PanelAddress).where(
        PanelAddress.panel_id == panel.id)) or 0
    invited = session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.panel_id == panel.id)) or 0
    return {"addresses": int(total), "invited": int(invited)}


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Split ``n`` across strata in proportion to their sizes (largest remainders; ties in
    the strata's order), never more than a stratum holds."""
    total = sum(sizes.values())
    exact = {s: n * size / total for s, size in sizes.items()} if total else {}
    out = {s: min(math.floor(x), sizes[s]) for s, x in exact.items()}
    order = sorted(exact, key=lambda s: (-(exact[s] - math.floor(exact[s])), s))
    while sum(out.values()) < n:
        grew = False
        for s in order:
            if sum(out.values()) >= n:
                break
            if out[s] < sizes[s]:
                out[s] += 1
                grew = True
        if not grew:
            break
    return out


def draw_invitations(session: Session, *, panel: Panel, count: int, by_stratum: bool = False,
                     seed: int | None = None, rng: random.Random | None = None
                     ) -> InvitationRound:
    """Invite ``count`` addresses not yet invited, uniformly at random (or in proportion to
    each stratum's share of them), with a recorded seed: anyone with the address list and the
    seed can repeat the draw. Codes come from a secure random source, not from the seed
    (``rng`` replaces it for the demo, to make it the same every time)."""
    if panel.personal_data_deleted_at is not None:
        raise Conflict("This panel's personal data has been deleted")
    if panel.stage not in (PanelStage.DRAFT, PanelStage.RECRUITING):
        raise Conflict("Registration has closed: no more invitations can be sent")
    invited = select(Invitation.address_id).where(Invitation.panel_id == panel.id)
    available = session.execute(select(PanelAddress.id, PanelAddress.stratum).where(
        PanelAddress.panel_id == panel.id, PanelAddress.id.not_in(invited)).order_by(
        PanelAddress.id)).all()
    if count < 1:
        raise ValidationFailed([FieldError("count", "Invite at least one address")])
    if count > len(available):
        raise ValidationFailed([FieldError("count", f"Only {len(available)} addresses have "
                                                    "not been invited yet")])
    seed = secrets.randbelow(2**63) if seed is None else seed
    generator = np.random.default_rng(seed)
    chosen: list[int] = []
    if by_stratum:
        strata: dict[str, list[int]] = {}
        for address_id, stratum in available:
            strata.setdefault(stratum, []).append(address_id)
        shares = allocate({s: len(ids) for s, ids in sorted(strata.items())}, count)
        for stratum in sorted(strata):
            ids = strata[stratum]
            picks = generator.choice(len(ids), size=shares[stratum], replace=False)
            chosen += [ids[int(i)] for i in np.sort(picks)]
    else:
        picks = generator.choice(len(available), size=count, replace=False)
        chosen = [available[int(i)][0] for i in np.sort(picks)]
    number = (session.scalar(select(func.max(InvitationRound.number)).where(
        InvitationRound.panel_id == panel.id)) or 0) + 1
    round_ = InvitationRound(panel_id=panel.id, number=number, seed=seed, requested=count,
                             from_addresses=len(available), by_stratum=by_stratum)
    session.add(round_)
    session.flush()
    used = set(session.scalars(select(Invitation.household).where(
        Invitation.panel_id == panel.id)))
    for address_id in chosen:
        household = "H" + _token(7, rng)
        while household in used:
            household = "H" + _token(7, rng)
        used.add(household)
        session.add(Invitation(panel_id=panel.id, round_id=round_.id, address_id=address_id,
                               code=_token(CODE_LENGTH, rng), household=household))
    session.flush()
    return round_


def invitation_rounds(session: Session, panel: Panel) -> list[InvitationRound]:
    return list(session.scalars(select(InvitationRound).where(
        InvitationRound.panel_id == panel.id).order_by(InvitationRound.number)))


def letters(session: Session, *, panel: Panel, round_number: int) -> list[dict[str, str]]:
    """The mail-merge rows of one round's letters: address, code and registration link."""
    found = session.scalar(select(InvitationRound).where(
        InvitationRound.panel_id == panel.id, InvitationRound.number == round_number))
    if found is None:
        raise NotFound(f"No invitation round {round_number}")
    if panel.personal_data_deleted_at is not None:
        raise Conflict("This panel's personal data has been deleted")
    rows = session.execute(select(Invitation, PanelAddress).join(
        PanelAddress, PanelAddress.id == Invitation.address_id).where(
        Invitation.round_id == found.id).order_by(PanelAddress.reference)).all()
    return [{"reference": a.reference, "line1": a.line1, "line2": a.line2, "town": a.town,
             "postcode": a.postcode, "code": i.code,
             "registration_path": f"/panels/{panel.slug}/register?code={i.code}"}
            for i, a in rows]


# Registration ------------------------------------------------------------------------------

def normalise_code(text: str) -> str:
    return re.sub(r"[\s-]+", "", text).upper()


def register(session: Session, *, panel: Panel, values: Mapping[str, str],
             rng: random.Random | None = None) -> Volunteer:
    """Register a volunteer from the public form: a valid invitation code (once per
    invitation under the household rule), a name, an email address or phone number, explicit
    consent, and an answer to every feature question. Every problem is reported at once."""
    if panel.stage != PanelStage.RECRUITING:
        raise Conflict("Registration for this panel is not open")
    code = normalise_code(values.get("code", ""))
    invitation, errors = _check_code(session, panel, code)
    errors += _person_errors(values)
    answers = {}
    for feature in panel.features:
        answer = values.get(f"answer-{feature.name}", "")
        if answer not in {v.value for v in feature.values}:
            errors.append(FieldError(f"answer-{feature.name}",
                                     f"Answer the question: {feature.question}"))
        answers[feature.name] = answer
    if errors:
        raise ValidationFailed(errors)
    assert invitation is not None
    taken = set(session.scalars(select(Volunteer.pseudonym).where(
        Volunteer.panel_id == panel.id)))
    pseudonym = "V" + _token(6, rng)
    while pseudonym in taken:
        pseudonym = "V" + _token(6, rng)
    volunteer = Volunteer(panel_id=panel.id, invitation_id=invitation.id, pseudonym=pseudonym,
                          name=values.get("name", "").strip(),
                          email=values.get("email", "").strip(),
                          phone=values.get("phone", "").strip(),
                          answers=answers, consented_at=utcnow())
    session.add(volunteer)
    session.flush()
    return volunteer


def _check_code(session: Session, panel: Panel, code: str
                ) -> tuple[Invitation | None, list[FieldError]]:
    if not code:
        return None, [FieldError("code", "Enter the code from your invitation letter")]
    invitation = session.scalar(select(Invitation).where(
        Invitation.panel_id == panel.id, Invitation.code == code))
    if invitation is None:
        return None, [FieldError("code", "This code does not match an invitation to this "
                                         "panel: check it against your letter")]
    used = session.scalar(select(func.count()).select_from(Volunteer).where(
        Volunteer.invitation_id == invitation.id)) or 0
    cap = 1 if panel.household_rule else MAX_PER_INVITATION
    if used < cap:
        return invitation, []
    return invitation, [FieldError("code", "Someone at this address has already registered "
                                           "with this code: one person per household may "
                                           "register" if cap == 1 else
                                   f"{cap} people have already registered with this code")]


def _person_errors(values: Mapping[str, str]) -> list[FieldError]:
    errors = []
    name = values.get("name", "").strip()
    if not name:
        errors.append(FieldError("name", "Enter your name"))
    elif len(name) > 200:
        errors.append(FieldError("name", "Your name must be 200 characters or fewer"))
    email = values.get("email", "").strip()
    phone_text = values.get("phone", "").strip()
    digits = re.sub(r"[^\d]", "", phone_text)
    if email and (len(email) > 320 or not _EMAIL.match(email)):
        errors.append(FieldError("email", "Enter an email address like name@example.com"))
    if phone_text and (not 10 <= len(digits) <= 15 or len(phone_text) > 40):
        errors.append(FieldError("phone", "Enter a phone number like 01632 960 001"))
    if not email and not phone_text:
        errors.append(FieldError("email", "Enter an email address or a phone number so that "
                                          "we can tell you whether you were selected"))
    if values.get("consent") != "yes":
        errors.append(FieldError("consent", "Tick the box to agree to how we use your "
                                            "details"))
    return errors


def volunteers(session: Session, panel: Panel, *, status: VolunteerStatus | None = None
               ) -> list[Volunteer]:
    query = select(Volunteer).where(Volunteer.panel_id == panel.id)
    if status is not None:
        query = query.where(Volunteer.status == status)
    return list(session.scalars(query.order_by(Volunteer.registered_at, Volunteer.id)))


def count_volunteers(session: Session, panel: Panel) -> int:
    return int(session.scalar(select(func.count()).select_from(Volunteer).where(
        Volunteer.panel_id == panel.id)) or 0)


def members(session: Session, panel: Panel) -> list[Volunteer]:
    """The panel as it stands: selected members and replacements."""
    return list(session.scalars(select(Volunteer).where(
        Volunteer.panel_id == panel.id, Volunteer.status.in_(MEMBER_STATUSES)).order_by(
        Volunteer.pseudonym)))


def get_volunteer(session: Session, *, panel: Panel, pseudonym: str) -> Volunteer:
    found = session.scalar(select(Volunteer).where(Volunteer.panel_id == panel.id,
                                                   Volunteer.pseudonym == pseudonym))
    if found is None:
        raise NotFound(f"No volunteer {pseudonym!r} on this panel")
    return found


def withdraw(session: Session, *, panel: Panel, pseudonym: str) -> Volunteer:
    """A member (or a volunteer in the pool) drops out. Members are replaced by a
    replacement draw; volunteers in the pool simply leave it."""
    volunteer = get_volunteer(session, panel=panel, pseudonym=pseudonym)
    if volunteer.status == VolunteerStatus.WITHDRAWN:
        raise Conflict(f"{pseudonym} has already withdrawn")
    before = volunteer.status
    volunteer.status, volunteer.withdrawn_at = VolunteerStatus.WITHDRAWN, utcnow()
    log_change(session, action="update", table=Volunteer.__tablename__, row_id=volunteer.id,
         changes={"status": {"old": before.value, "new": "withdrawn"}},
         summary=f"Volunteer {pseudonym} withdrew from panel {panel.slug}")
    session.flush()
    return volunteer


def feature_counts(panel: Panel, people: Sequence[Volunteer]) -> dict[tuple[str, str], int]:
    """How many of these people have each feature value."""
    counts: Counter[tuple[str, str]] = Counter()
    for person in people:
        for feature, value in person.answers.items():
            counts[(feature, value)] += 1
    return dict(counts)


# Personal data -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Purged:
    panel: str
    volunteers: int
    addresses: int


def purge_personal_data(session: Session, *, panel: Panel) -> Purged:
    """Blank every name, email address, phone number and address line of this panel.
    Pseudonyms, answers, households' pseudonyms and the selection runs stay, so the published
    draws remain checkable."""
    people = volunteers(session, panel)
    for v in people:
        v.name = v.email = v.phone = ""
    addresses = list(session.scalars(select(PanelAddress).where(
        PanelAddress.panel_id == panel.id)))
    for a in addresses:
        a.line1 = a.line2 = a.town = a.postcode = ""
    panel.personal_data_deleted_at = utcnow()
    log_change(session, action="purge", table=Volunteer.__tablename__, row_id=panel.id,
         changes={"volunteers": len(people), "addresses": len(addresses)},
         summary=f"Deleted the personal data of panel {panel.slug}")
    session.flush()
    return Purged(panel=panel.slug, volunteers=len(people), addresses=len(addresses))


def purge_due(session: Session, *, today: dt.date) -> list[Purged]:
    """Delete the personal data of every panel whose retention date is before ``today``."""
    due = session.scalars(select(Panel).where(Panel.retention_until < today,
                                              Panel.personal_data_deleted_at.is_(None))
                          .order_by(Panel.id))
    return [purge_personal_data(session, panel=p) for p in due]


# Recommendations and responses -------------------------------------------------------------

def recommendations(session: Session, panel: Panel) -> list[Recommendation]:
    return list(session.scalars(select(Recommendation).where(
        Recommendation.panel_id == panel.id).order_by(Recommendation.number)))


def get_recommendation(session: Session, *, panel: Panel, number: int) -> Recommendation:
    found = session.scalar(select(Recommendation).where(Recommendation.panel_id == panel.id,
                                                        Recommendation.number == number))
    if found is None:
        raise NotFound(f"No recommendation {number} from this panel")
    return found


def add_recommendation(session: Session, *, panel: Panel, data: RecommendationIn
                       ) -> Recommendation:
    if panel.stage not in (PanelStage.SELECTED, PanelStage.REPORTED):
        raise Conflict("The panel has not been selected yet")
    if data.response_due is not None and data.response_due < data.made_on:
        raise ValidationFailed([FieldError("response_due", "The response cannot be due "
                                                           "before the recommendation")])
    number = (session.scalar(select(func.max(Recommendation.number)).where(
        Recommendation.panel_id == panel.id)) or 0) + 1
    recommendation = Recommendation(panel_id=panel.id, number=number, title=data.title,
                                    text=data.text, support=data.support.strip(),
                                    made_on=data.made_on, response_due=data.response_due)
    session.add(recommendation)
    session.flush()
    return recommendation


def respond(session: Session, *, recommendation: Recommendation, data: ResponseIn
            ) -> GovernmentResponse:
    """Record (or revise) the government's response to a recommendation."""
    if data.published_on is not None and data.published_on < recommendation.made_on:
        raise ValidationFailed([FieldError("published_on", "The response cannot be published "
                                                           "before the recommendation")])
    response = recommendation.response
    if response is None:
        response = GovernmentResponse(status=data.status, text=data.text,
                                      published_on=data.published_on)
        recommendation.response = response
    else:
        response.status, response.text = data.status, data.text
        response.published_on = data.published_on
    session.flush()
    return response


def response_counts(items: Sequence[Recommendation], *, today: dt.date) -> dict[str, int]:
    """Recommendations by the status of their response, plus ``awaiting`` and ``overdue``."""
    counts = {s.value: 0 for s in ResponseStatus}
    counts["awaiting"] = counts["overdue"] = 0
    for r in items:
        if r.response is None or r.response.published_on is None:
            counts["awaiting"] += 1
        else:
            counts[r.response.status.value] += 1
        if r.is_overdue(today):
            counts["overdue"] += 1
    return counts


def parse_recommendation(values: Mapping[str, str]) -> RecommendationIn:
    return validate(RecommendationIn, {**values, "response_due": values.get("response_due")
                                       or None})


def parse_response(values: Mapping[str, str]) -> ResponseIn:
    return validate(ResponseIn, {**values, "published_on": values.get("published_on") or None})
