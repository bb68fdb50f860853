"""Using a trial's result as the evidence for an intervention's effect on the mission's
trajectory.

The trial's estimate (one outcome, one treatment arm against control) is converted into the
metric's units by a factor the user states in words (for example "the programme would reach
45% of reception children in England, so the national rate moves by 0.45 × the effect"). The
intervention's estimate for that metric and area becomes a normal distribution centred on
factor × effect, with its interval recomputed at the estimate's ``interval_level`` from the
trial's SE and degrees of freedom (effect ± q·SE, q the t quantile on the trial's df, or the
normal quantile) and multiplied by the factor. The intervention's evidence becomes a pilot
trial, or an at-scale evaluation when the trial ran at scale, referenced by the trial's
address and the locked plan's SHA-256; the delivery model then applies its optimism discount
for that kind of evidence (:func:`missionboard.delivery.service.optimism`).

The change goes through :func:`missionboard.delivery.service.save_intervention`, so that on a
published mission it needs a public reason and is kept in the change record; the ORM audit
hook logs every row, and one summary entry says which trial the estimate came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts.models import User
from missionboard.delivery import service as delivery_service
from missionboard.delivery.models import (
    Distribution,
    EvidenceKind,
    Intervention,
    InterventionEffect,
)
from missionboard.delivery.schemas import EffectIn, InterventionIn
from missionboard.errors import FieldError, NotFound, ValidationFailed
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import Metric
from missionboard.panels.service import log_change
from missionboard.trials import service
from missionboard.trials.models import Trial
from missionboard.trials.results import OutcomeAnalysis, TrialResults
from missionboard.trials.results_schemas import EvidenceLinkIn


@dataclass(frozen=True, kw_only=True)
class EvidenceLink:
    """What was written, and what the delivery model will count of it."""

    intervention: Intervention
    effect: InterventionEffect
    evidence_kind: EvidenceKind
    optimism: delivery_service.OptimismAdjustment
    discounted_central: float
    discounted_low: float
    discounted_high: float


def candidate_metrics(trial: Trial) -> list[Metric]:
    """The metrics an estimate can be for: the mission's (those of its outcomes)."""
    found = {m.id: m for outcome in trial.mission.outcomes for m in outcome.metrics}
    return sorted(found.values(), key=lambda m: m.title)


def scaled_interval(analysis: OutcomeAnalysis, *, factor: float, level: float
                    ) -> tuple[float, float, float]:
    """The trial's effect × factor, with its interval at ``level`` (module docstring):
    (central, low, high), low ≤ high whatever the factor's sign."""
    e = analysis.estimate
    if e is None:
        raise ValueError("the analysis has no estimate")
    dist = stats.norm if e.df is None else stats.t(e.df)
    q = float(dist.ppf(0.5 + level / 2))
    ends = sorted(((e.effect - q * e.se) * factor, (e.effect + q * e.se) * factor))
    return e.effect * factor, ends[0], ends[1]


def reference(trial: Trial, *, base_url: str, plan_version: int, plan_sha256: str,
              analysis: OutcomeAnalysis, factor: float, explanation: str) -> str:
    """The evidence reference kept on the intervention: where the estimate came from (an
    illustrative trial's says so first)."""
    prefix = "Illustrative: " if trial.illustrative else ""
    return (f"{prefix}Trial {base_url}/trials/{trial.slug}/results, analysis plan version "
            f"{plan_version} (SHA-256 {plan_sha256}): {analysis.title}, "
            f"{analysis.arm_label} against {analysis.control_label}, × {factor:g} "
            f"({explanation.strip()})")


def _intervention_in(intervention: Intervention, *, effects: list[EffectIn],
                     evidence_kind: EvidenceKind, evidence_reference: str) -> InterventionIn:
    """The intervention as it is, with the new effects and evidence."""
    i = intervention
    return InterventionIn(
        slug=i.slug, title=i.title, description=i.description,
        owner_slug=i.owner.slug if i.owner else None,
        contributor_slugs=[o.slug for o in i.contributors], status=i.status, start=i.start,
        lag_months=i.lag_months, ramp=i.ramp, ramp_months=i.ramp_months,
        persistence=i.persistence, half_life_months=i.half_life_months,
        evidence_kind=evidence_kind, evidence_strength=i.evidence_strength,
        evidence_reference=evidence_reference, optimism_override=i.optimism_override,
        optimism_override_reason=i.optimism_override_reason,
        budgets={b.year: b.amount for b in i.budgets}, effects=effects)


def link_evidence(session: Session, *, trial: Trial, results: TrialResults,
                  data: EvidenceLinkIn, base_url: str = "", actor: User | None = None
                  ) -> EvidenceLink:
    """Make the trial's estimate the intervention's effect on the metric in the area
    (module docstring). Checks everything first: nothing is written on bad input."""
    errors: list[FieldError] = []
    intervention = session.get(Intervention, data.intervention_id)
    if intervention is None or intervention.mission_id != trial.mission_id:
        errors.append(FieldError("intervention_id", "Choose an intervention of this mission"))
    analysis = next((a for a in results.analyses
                     if a.outcome == data.outcome and a.arm == data.arm), None)
    if analysis is None or analysis.estimate is None:
        errors.append(FieldError("outcome", "Choose an outcome with an estimate"))
    metric = next((m for m in candidate_metrics(trial) if m.slug == data.metric_slug), None)
    if metric is None:
        errors.append(FieldError("metric_slug", "Choose one of the mission's metrics"))
    area = None
    try:
        area = metrics_service.get_area(session, code=data.area_code)
    except NotFound:
        errors.append(FieldError("area_code", f"There is no area {data.area_code!r}"))
    plan = service.locked_plan(session, trial)
    if plan is None:
        errors.append(FieldError("outcome", "The trial has no locked analysis plan"))
    if errors:
        raise ValidationFailed(errors)
    assert intervention is not None
    assert analysis is not None
    assert metric is not None
    assert plan is not None
    assert area is not None
    central, low, high = scaled_interval(analysis, factor=data.factor,
                                         level=data.interval_level)
    kind = EvidenceKind.AT_SCALE_EVALUATION if data.at_scale else EvidenceKind.PILOT_TRIAL
    new = EffectIn(metric_slug=metric.slug, area_code=area.code,
                   distribution=Distribution.NORMAL, central=central, low=low, high=high,
                   interval_level=data.interval_level)
    effects = [EffectIn(metric_slug=e.metric.slug, area_code=e.area.code,
                        distribution=e.distribution, central=e.central, low=e.low, high=e.high,
                        interval_level=e.interval_level)
               for e in intervention.effects
               if (e.metric.slug, e.area.code) != (metric.slug, area.code)]
    text = reference(trial, base_url=base_url, plan_version=plan.version,
                     plan_sha256=plan.sha256, analysis=analysis, factor=data.factor,
                     explanation=data.factor_explanation)
    with session.begin_nested():  # a refusal (no reason on a published mission) writes nothing
        delivery_service.save_intervention(
            session, mission=trial.mission, intervention=intervention,
            data=_intervention_in(intervention, effects=[*effects, new], evidence_kind=kind,
                                  evidence_reference=text),
            actor=actor, reason=data.reason.strip() or None)
        log_change(session, action="update", table=InterventionEffect.__tablename__,
                   row_id=intervention.id,
                   changes={"trial": trial.slug, "outcome": analysis.outcome,
                            "arm": analysis.arm, "metric": metric.slug, "area": area.code,
                            "factor": data.factor, "plan_sha256": plan.sha256},
                   summary=f"Trial {trial.slug}'s result used as the evidence for "
                           f"{intervention.slug}'s effect on {metric.slug} in {area.code}")
        session.flush()
    effect = session.scalar(select(InterventionEffect).where(
        InterventionEffect.intervention_id == intervention.id,
        InterventionEffect.metric_id == metric.id, InterventionEffect.area_id == area.id))
    assert effect is not None
    adjustment = delivery_service.optimism(intervention)
    return EvidenceLink(intervention=intervention, effect=effect, evidence_kind=kind,
                        optimism=adjustment,
                        discounted_central=effect.central * adjustment.factor,
                        discounted_low=effect.low * adjustment.factor,
                        discounted_high=effect.high * adjustment.factor)
