"""Interventions, their effect estimates and the optimism adjustment.

Keyword-only functions; the caller owns the transaction (they flush, never commit).

**Optimism.** Appraisal estimates are systematically too high (HM Treasury, *The Green Book*,
supplementary guidance on optimism bias). For effects the best evidence is the drop from trial
to scale: behavioural interventions run at scale by government nudge units averaged 1.4
percentage points against 8.7 in published academic trials (DellaVigna and Linos,
*Econometrica* 90(1), 2022), a factor of 1.4 / 8.7 ≈ 0.16. By default an estimate's central
value and interval are multiplied by the factor for its evidence (``DEFAULT_OPTIMISM``); an
override needs a reason and is shown beside the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from missionboard.delivery.models import (
    EvidenceKind,
    Intervention,
    InterventionBudget,
    InterventionEffect,
    InterventionOverlap,
)
from missionboard.delivery.schemas import InterventionIn
from missionboard.errors import FieldError, NotFound, ValidationFailed
from missionboard.metrics import service as metrics_service
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission

#: The share of an estimated effect expected to survive at scale, by the estimate's evidence.
DEFAULT_OPTIMISM: dict[EvidenceKind, float] = {
    EvidenceKind.AT_SCALE_EVALUATION: 1.0,
    EvidenceKind.PILOT_TRIAL: 0.5,
    EvidenceKind.ACADEMIC_TRIAL: round(1.4 / 8.7, 2),  # DellaVigna and Linos (2022)
    EvidenceKind.EXPERT_JUDGEMENT: 0.1,
}


@dataclass(frozen=True)
class OptimismAdjustment:
    factor: float
    default: float
    overridden: bool
    reason: str


def optimism(intervention: Intervention) -> OptimismAdjustment:
    """The factor applied to the intervention's estimates, and where it comes from."""
    default = DEFAULT_OPTIMISM[intervention.evidence_kind]
    if intervention.optimism_override is not None:
        return OptimismAdjustment(intervention.optimism_override, default, True,
                                  intervention.optimism_override_reason)
    return OptimismAdjustment(default, default, False,
                              f"default for {intervention.evidence_kind.value.replace('_', ' ')}")


def list_interventions(session: Session, *, mission: Mission) -> list[Intervention]:
    return list(session.scalars(
        select(Intervention).where(Intervention.mission_id == mission.id)
        .options(selectinload(Intervention.effects), selectinload(Intervention.budgets),
                 selectinload(Intervention.contributors))
        .order_by(Intervention.start, Intervention.title)
    ))


def get_intervention(session: Session, *, mission: Mission, slug: str) -> Intervention:
    found = session.scalar(select(Intervention).where(Intervention.mission_id == mission.id,
                                                      Intervention.slug == slug))
    if found is None:
        raise NotFound(f"no intervention {slug!r} in mission {mission.slug!r}")
    return found


def _effects(session: Session, data: InterventionIn) -> list[InterventionEffect]:
    effects, errors = [], []
    for i, e in enumerate(data.effects):
        try:
            metric = metrics_service.get_metric(session, slug=e.metric_slug, include_drafts=True)
            area = metrics_service.get_area(session, code=e.area_code)
        except NotFound as exc:
            errors.append(FieldError(f"effects.{i}", exc.detail))
            continue
        effects.append(InterventionEffect(
            metric_id=metric.id, area_id=area.id, distribution=e.distribution,
            central=e.central, low=e.low, high=e.high, interval_level=e.interval_level))
    if errors:
        raise ValidationFailed(errors)
    return effects


def save_intervention(
    session: Session, *, mission: Mission, data: InterventionIn,
    intervention: Intervention | None = None,
) -> Intervention:
    """Create an intervention, or replace an existing one's fields, budgets and effects."""
    duplicate = session.scalar(select(Intervention.id).where(
        Intervention.mission_id == mission.id, Intervention.slug == data.slug))
    if duplicate is not None and (intervention is None or duplicate != intervention.id):
        raise ValidationFailed([FieldError("slug", f"The slug {data.slug!r} is already used")])
    owner = (missions_service.get_organisation(session, slug=data.owner_slug)
             if data.owner_slug else None)
    contributors = [missions_service.get_organisation(session, slug=s)
                    for s in data.contributor_slugs]
    effects = _effects(session, data)
    if intervention is None:
        intervention = Intervention(mission_id=mission.id)
        session.add(intervention)
    fields = data.model_dump(exclude={"owner_slug", "contributor_slugs", "budgets", "effects"})
    for key, value in fields.items():
        setattr(intervention, key, value)
    intervention.owner = owner
    intervention.contributors = contributors
    intervention.budgets = [InterventionBudget(year=y, amount=a)
                            for y, a in sorted(data.budgets.items())]
    intervention.effects = effects
    session.flush()
    return intervention


def set_overlap(
    session: Session, *, first: Intervention, second: Intervention,
    shared_fraction: float = 0.0, interaction: float | None = None, note: str = "",
) -> InterventionOverlap:
    """Declare that two interventions overlap (stored once per unordered pair)."""
    if first.id == second.id:
        raise ValidationFailed([FieldError("second", "An intervention cannot overlap itself")])
    if not 0 <= shared_fraction <= 1:
        raise ValidationFailed([FieldError("shared_fraction",
                                           "The shared fraction must be between 0 and 1")])
    a, b = sorted((first.id, second.id))
    overlap = session.scalar(select(InterventionOverlap).where(
        InterventionOverlap.first_id == a, InterventionOverlap.second_id == b))
    if overlap is None:
        overlap = InterventionOverlap(first_id=a, second_id=b)
        session.add(overlap)
    overlap.shared_fraction, overlap.interaction, overlap.note = shared_fraction, interaction, note
    session.flush()
    return overlap


def effects_on(session: Session, *, metric_id: int, area_id: int) -> list[InterventionEffect]:
    """Every intervention's estimate for one metric and area (the inputs to a projection)."""
    return list(session.scalars(
        select(InterventionEffect)
        .where(InterventionEffect.metric_id == metric_id, InterventionEffect.area_id == area_id)
        .options(selectinload(InterventionEffect.intervention))
        .order_by(InterventionEffect.id)
    ))
