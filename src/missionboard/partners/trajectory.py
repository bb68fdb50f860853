"""Counting a partner's measurable commitment in its mission's trajectory.

A measurable commitment (a target with a baseline, a target and a deadline, on one of the
mission's metrics) becomes an intervention whose full effect is ``target − baseline``, with the
optimism discount for its verification level (:data:`OPTIMISM_DISCOUNT`) applied through the
intervention's optimism override, so that the interventions page shows the discount with its
reason. The two are linked both ways: the commitment keeps the intervention's id, and the
intervention's evidence names the commitment's address.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.db.base import utcnow
from missionboard.delivery import service as delivery_service
from missionboard.delivery.models import (
    Distribution,
    EvidenceKind,
    EvidenceStrength,
    Intervention,
    InterventionStatus,
    Persistence,
    Ramp,
)
from missionboard.delivery.schemas import EffectIn, InterventionIn
from missionboard.errors import Conflict
from missionboard.metrics.models import Area, Metric
from missionboard.partners.models import Commitment, ModerationStatus, VerificationLevel

#: The share taken off a measurable pledge's effect when it is counted in the trajectory, by
#: how well it is verified. Self-reported pledges are discounted by half (the optimism the
#: Green Book's supplementary guidance warns of in appraisals is of this order for untested
#: plans); evidence halves the discount; independent verification removes it.
OPTIMISM_DISCOUNT: dict[VerificationLevel, float] = {
    VerificationLevel.SELF_REPORTED: 0.5,
    VerificationLevel.EVIDENCED: 0.25,
    VerificationLevel.INDEPENDENTLY_VERIFIED: 0.0,
}
def optimism_discount(commitment: Commitment) -> float:
    return OPTIMISM_DISCOUNT[commitment.verification]


def discount_reason(commitment: Commitment) -> str:
    level = commitment.verification.value.replace("_", " ")
    return (f"partner commitment #{commitment.id}, {level}: "
            f"{OPTIMISM_DISCOUNT[commitment.verification]:.0%} optimism discount")


def _months(start: dt.date, end: dt.date) -> int:
    return max(1, (end.year - start.year) * 12 + end.month - start.month)


def effect_area(commitment: Commitment, metric: Metric) -> Area | None:
    """Where the pledged change counts: the commitment's area, or the nearest area it lies
    within that has a target on the metric (homes built in a region add to the nation's
    total); without an area, the area of the metric's first target."""
    with_targets = {t.area_id for t in metric.targets}
    area, steps = commitment.area, 0
    while area is not None and steps < 10:  # deeper than any geography
        if area.id in with_targets:
            return area
        area, steps = area.parent, steps + 1
    if commitment.area is not None:
        return commitment.area
    return metric.targets[0].area if metric.targets else None


def countable_problems(commitment: Commitment) -> list[str]:
    """Why the commitment cannot be counted in the trajectory (empty when it can)."""
    problems = []
    if not commitment.is_measurable:
        problems.append("it is not a measurable target with a baseline, a target and a "
                        "deadline")
    if commitment.metric is None:
        problems.append("it is not on one of the mission’s metrics")
    elif effect_area(commitment, commitment.metric) is None:
        problems.append("it has no area, and its metric has no target to take one from")
    if commitment.moderation != ModerationStatus.APPROVED:
        problems.append("it has not been approved")
    if commitment.withdrawn_at is not None:
        problems.append("it has been withdrawn")
    if commitment.intervention_id is not None:
        problems.append("it is already counted")
    return problems


def count_in_trajectory(session: Session, *, commitment: Commitment, actor: User, site: str,
                        today: dt.date | None = None) -> Intervention:
    """Turn a measurable commitment into an intervention of its mission: full effect
    ``target − baseline`` on its metric and area, building up in a straight line from the
    start to the deadline, with the optimism discount for its verification level as the
    intervention's optimism override. Its 80% interval runs from no effect to twice the
    pledge. The two are linked both ways (the intervention's evidence names the
    commitment's address)."""
    today = today or utcnow().date()
    problems = countable_problems(commitment)
    if problems:
        raise Conflict("This commitment cannot be counted in the trajectory: "
                       + "; ".join(problems))
    metric, deadline = commitment.metric, commitment.deadline
    baseline, target = commitment.baseline, commitment.target
    area = effect_area(commitment, metric) if metric is not None else None
    if metric is None or deadline is None or baseline is None or target is None or area is None:
        raise Conflict("This commitment cannot be counted in the trajectory")
    effect = target - baseline
    strength = {VerificationLevel.SELF_REPORTED: EvidenceStrength.VERY_LIMITED,
                VerificationLevel.EVIDENCED: EvidenceStrength.LIMITED,
                VerificationLevel.INDEPENDENTLY_VERIFIED: EvidenceStrength.MODERATE}
    data = InterventionIn(
        slug=f"partner-commitment-{commitment.id}",
        title=f"{commitment.partner.name}: {commitment.title}"[:300],
        description=commitment.description,
        status=(InterventionStatus.IN_DELIVERY if commitment.start_on <= today
                else InterventionStatus.PLANNED),
        start=commitment.start_on, ramp=Ramp.LINEAR,
        ramp_months=_months(commitment.start_on, deadline), persistence=Persistence.PERMANENT,
        evidence_kind=EvidenceKind.EXPERT_JUDGEMENT,
        evidence_strength=strength[commitment.verification],
        evidence_reference=(("Illustrative: a" if commitment.illustrative else "A")
                            + f" public commitment by {commitment.partner.name}: "
                            f"{site}/commitments/{commitment.id}"),
        optimism_override=1.0 - optimism_discount(commitment),
        optimism_override_reason=discount_reason(commitment),
        effects=[EffectIn(metric_slug=metric.slug, area_code=area.code,
                          distribution=Distribution.NORMAL, central=effect,
                          low=min(0.0, 2 * effect), high=max(0.0, 2 * effect),
                          interval_level=0.8)])
    intervention = delivery_service.save_intervention(
        session, mission=commitment.mission, data=data, actor=actor,
        reason=f"Counted from the partner commitment #{commitment.id}")
    commitment.intervention = intervention
    session.flush()
    return intervention


def commitment_for_intervention(session: Session, *, intervention_id: int
                                ) -> Commitment | None:
    return session.scalar(select(Commitment).where(
        Commitment.intervention_id == intervention_id))
