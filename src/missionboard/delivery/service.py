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

import calendar
import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from missionboard.analytics.projection import (
    Counterfactual,
    Projection,
    distribution,
    fit_counterfactual,
    project,
)
from missionboard.analytics.projection import InterventionEffect as ProjectedEffect
from missionboard.delivery.models import (
    ChainLink,
    EvidenceKind,
    Intervention,
    InterventionBudget,
    InterventionEffect,
    InterventionOverlap,
    PlanItem,
    PlanItemStatus,
)
from missionboard.delivery.schemas import (
    ChainLinkIn,
    ContributionOut,
    FanPointOut,
    InterventionIn,
    PlanItemIn,
    TrajectoryOut,
)
from missionboard.errors import FieldError, NotFound, ValidationFailed
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import (
    CounterfactualKind,
    Frequency,
    Observation,
    Polarity,
    Target,
)
from missionboard.missions.models import Mission, Organisation

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


def _effects(session: Session, data: InterventionIn
             ) -> tuple[list[InterventionEffect], list[FieldError]]:
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
    return effects, errors


def _organisations(session: Session, slugs: Sequence[str | None]) -> dict[str, Organisation]:
    wanted = {s for s in slugs if s}
    if not wanted:
        return {}
    found = session.scalars(select(Organisation).where(Organisation.slug.in_(wanted)))
    return {o.slug: o for o in found}


def _unknown_organisation(field: str, slug: str) -> FieldError:
    return FieldError(field, f"There is no organisation {slug!r}: choose one from the list")


def save_intervention(
    session: Session, *, mission: Mission, data: InterventionIn,
    intervention: Intervention | None = None,
) -> Intervention:
    """Create an intervention, or replace an existing one's fields, budgets and effects.

    Checks everything before changing anything: an unknown organisation, metric or area, or a
    slug already used in the mission, raises :class:`ValidationFailed` naming each field.
    """
    errors: list[FieldError] = []
    duplicate = session.scalar(select(Intervention.id).where(
        Intervention.mission_id == mission.id, Intervention.slug == data.slug))
    if duplicate is not None and (intervention is None or duplicate != intervention.id):
        errors.append(FieldError("slug", f"The slug {data.slug!r} is already used"))
    organisations = _organisations(session, [data.owner_slug, *data.contributor_slugs])
    if data.owner_slug and data.owner_slug not in organisations:
        errors.append(_unknown_organisation("owner_slug", data.owner_slug))
    errors += [_unknown_organisation("contributor_slugs", s)
               for s in data.contributor_slugs if s not in organisations]
    effects, effect_errors = _effects(session, data)
    if errors or effect_errors:
        raise ValidationFailed(errors + effect_errors)
    if intervention is None:
        intervention = Intervention(mission_id=mission.id)
        session.add(intervention)
    fields = data.model_dump(exclude={"owner_slug", "contributor_slugs", "budgets", "effects"})
    for key, value in fields.items():
        setattr(intervention, key, value)
    intervention.owner = organisations[data.owner_slug] if data.owner_slug else None
    intervention.contributors = [organisations[s] for s in dict.fromkeys(data.contributor_slugs)]
    # The old rows go first: a budget for the same year or an estimate for the same metric and
    # area would otherwise break the unique constraints, as inserts are flushed before deletes.
    intervention.budgets, intervention.effects = [], []
    session.flush()
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


def get_overlap(session: Session, *, first: Intervention, second: Intervention
                ) -> InterventionOverlap:
    a, b = sorted((first.id, second.id))
    overlap = session.scalar(select(InterventionOverlap).where(
        InterventionOverlap.first_id == a, InterventionOverlap.second_id == b))
    if overlap is None:
        raise NotFound(f"no overlap declared between {first.slug!r} and {second.slug!r}")
    return overlap


def remove_overlap(session: Session, *, first: Intervention, second: Intervention) -> None:
    session.delete(get_overlap(session, first=first, second=second))
    session.flush()


def overlaps_of(session: Session, *, intervention: Intervention
                ) -> list[tuple[Intervention, InterventionOverlap]]:
    """The intervention's declared overlaps, each with the other intervention of the pair."""
    overlaps = session.scalars(select(InterventionOverlap).where(
        (InterventionOverlap.first_id == intervention.id)
        | (InterventionOverlap.second_id == intervention.id)))
    pairs = []
    for overlap in overlaps:
        other_id = overlap.second_id if overlap.first_id == intervention.id else overlap.first_id
        pairs.append((session.get_one(Intervention, other_id), overlap))
    return sorted(pairs, key=lambda pair: pair[0].title)


def effects_on(session: Session, *, metric_id: int, area_id: int) -> list[InterventionEffect]:
    """Every intervention's estimate for one metric and area (the inputs to a projection)."""
    return list(session.scalars(
        select(InterventionEffect)
        .where(InterventionEffect.metric_id == metric_id, InterventionEffect.area_id == area_id)
        .options(selectinload(InterventionEffect.intervention))
        .order_by(InterventionEffect.id)
    ))


# Delivery plans and chains ----------------------------------------------------------------

#: An item not started this close to its due date is at risk.
AT_RISK_WITHIN = dt.timedelta(days=30)


class PlanState(enum.StrEnum):
    """Where a plan item stands, derived from its status and dates."""

    DONE = "done"
    DROPPED = "dropped"
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def plan_state(item: PlanItem, *, today: dt.date) -> PlanState:
    """Done or dropped as recorded; otherwise overdue once the due date has passed, at risk
    when it falls within :data:`AT_RISK_WITHIN` and work has not started, else on track."""
    if item.status == PlanItemStatus.DONE:
        return PlanState.DONE
    if item.status == PlanItemStatus.DROPPED:
        return PlanState.DROPPED
    if item.due < today:
        return PlanState.OVERDUE
    if item.status == PlanItemStatus.NOT_STARTED and item.due - today <= AT_RISK_WITHIN:
        return PlanState.AT_RISK
    return PlanState.ON_TRACK


def add_plan_item(session: Session, *, intervention: Intervention, data: PlanItemIn
                  ) -> PlanItem:
    item = PlanItem(**data.model_dump())
    intervention.plan.append(item)
    session.flush()
    return item


def get_plan_item(session: Session, *, intervention: Intervention, item_id: int) -> PlanItem:
    item = session.get(PlanItem, item_id)
    if item is None or item.intervention_id != intervention.id:
        raise NotFound(f"no plan item {item_id} for intervention {intervention.slug!r}")
    return item


def update_plan_item(session: Session, *, item: PlanItem, data: PlanItemIn) -> PlanItem:
    for key, value in data.model_dump().items():
        setattr(item, key, value)
    session.flush()
    return item


def set_chain(session: Session, *, intervention: Intervention, links: Sequence[ChainLinkIn]
              ) -> list[ChainLink]:
    """Replace the delivery chain: the accountable lead first, the front line last.

    An unknown organisation raises :class:`ValidationFailed` naming ``chain.<i>.organisation_slug``.
    """
    organisations = _organisations(session, [link.organisation_slug for link in links])
    errors = [_unknown_organisation(f"chain.{i}.organisation_slug", link.organisation_slug)
              for i, link in enumerate(links)
              if link.organisation_slug and link.organisation_slug not in organisations]
    if errors:
        raise ValidationFailed(errors)
    chain = [
        ChainLink(position=i, role=link.role,
                  organisation=(organisations[link.organisation_slug]
                                if link.organisation_slug else None))
        for i, link in enumerate(links)
    ]
    intervention.chain = []
    session.flush()
    intervention.chain = chain
    session.flush()
    return chain


def plan_summary(interventions: Sequence[Intervention], *, today: dt.date
                 ) -> dict[PlanState, int]:
    """How many plan items are in each state, across the interventions."""
    counts = dict.fromkeys(PlanState, 0)
    for intervention in interventions:
        for item in intervention.plan:
            counts[plan_state(item, today=today)] += 1
    return counts


# Trajectories --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrajectoryView:
    """A target's projection: period t is the month ``months[t]`` (0 is the baseline's)."""

    target: Target
    months: tuple[dt.date, ...]
    interventions: tuple[Intervention, ...]
    optimism: tuple[OptimismAdjustment, ...]
    counterfactual: str
    projection: Projection

    def at(self, t: int) -> dt.date:
        return self.months[t]


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _overlap_factors(session: Session, effects: Sequence[InterventionEffect]) -> list[float]:
    """Each effect's share that adds: a declared overlap discounts the smaller of the pair."""
    by_intervention = {e.intervention_id: i for i, e in enumerate(effects)}
    factors = [1.0] * len(effects)
    if len(effects) < 2:
        return factors
    ids = list(by_intervention)
    overlaps = session.scalars(select(InterventionOverlap).where(
        InterventionOverlap.first_id.in_(ids), InterventionOverlap.second_id.in_(ids)))
    for overlap in overlaps:
        a, b = by_intervention[overlap.first_id], by_intervention[overlap.second_id]
        if overlap.interaction is not None:
            factors[a] *= overlap.interaction
            factors[b] *= overlap.interaction
            continue
        smaller = a if abs(effects[a].central) <= abs(effects[b].central) else b
        factors[smaller] *= 1.0 - overlap.shared_fraction
    return [min(1.0, max(0.0, f)) for f in factors]


def _counterfactual(target: Target, history: Sequence[float]) -> tuple[Counterfactual, str]:
    """The target's declared counterfactual, or one fitted to the monthly history."""
    if target.counterfactual == CounterfactualKind.LINEAR:
        per_year = target.counterfactual_slope_per_year or 0.0
        return (Counterfactual(level=target.baseline_value, slope=per_year / 12),
                f"a declared trend of {per_year:+,g} a year from the baseline")
    if target.counterfactual == CounterfactualKind.FITTED:
        if target.metric.frequency == Frequency.MONTHLY and len(history) >= 12:
            fitted = fit_counterfactual(list(history)[-36:], kind="linear")
            # The fit's period 0 follows its last value; ours is that value's month.
            return (replace(fitted, level=fitted.level - fitted.slope),
                    f"a linear trend fitted to the {min(len(history), 36)} months to the "
                    "baseline, with its uncertainty")
        return (Counterfactual(level=target.baseline_value),
                "flat at the baseline: too little monthly history to fit a trend")
    return Counterfactual(level=target.baseline_value), "flat at the baseline (declared)"


def trajectory(
    session: Session, *, target: Target, draws: int = 10_000, seed: int | None = None
) -> TrajectoryView:
    """Project the target's metric monthly from its baseline to its deadline.

    Counterfactual: the target's declared one (flat, or a linear trend per year from the
    baseline), or a linear trend fitted to up to 36 months of history to the baseline (at
    least 12). Effects: every intervention's estimate for this metric and area, adjusted for
    optimism and overlaps; an intervention that started before the baseline counts from the
    baseline on. Seeded by the target's id unless ``seed`` is given, so a page shows the same
    figures every time.
    """
    baseline_month = target.baseline_period_end
    periods = _months_between(baseline_month, target.deadline) + 1
    months = tuple(_month_end(baseline_month.year + (baseline_month.month - 1 + t) // 12,
                              (baseline_month.month - 1 + t) % 12 + 1) for t in range(periods))
    history = session.scalars(
        select(Observation.value)
        .where(Observation.metric_id == target.metric_id,
               Observation.area_id == target.area_id,
               Observation.period_end <= target.baseline_period_end)
        .order_by(Observation.period_end)
    ).all()
    counterfactual, described = _counterfactual(target, history)
    rows = effects_on(session, metric_id=target.metric_id, area_id=target.area_id)
    overlap = _overlap_factors(session, rows)
    adjustments = [optimism(e.intervention) for e in rows]
    effects = [
        ProjectedEffect(
            effect=distribution(e.distribution.value, central=e.central, low=e.low,
                                high=e.high, level=e.interval_level),
            start=_months_between(baseline_month, e.intervention.start),
            lag=e.intervention.lag_months, ramp=e.intervention.ramp.value,
            ramp_periods=max(1, e.intervention.ramp_months),
            persistence=e.intervention.persistence.value,
            half_life=e.intervention.half_life_months, overlap=overlap[i],
            optimism=adjustments[i].factor,
        )
        for i, e in enumerate(rows)
    ]
    direction = target.target_value - target.baseline_value
    higher = direction > 0 or (direction == 0 and target.metric.polarity
                               != Polarity.LOWER_IS_BETTER)
    result = project(counterfactual=counterfactual, effects=effects, periods=periods,
                     target_value=target.target_value, target_period=periods - 1,
                     higher_is_better=higher, seed=target.id if seed is None else seed,
                     draws=draws)
    return TrajectoryView(target=target, months=months,
                          interventions=tuple(e.intervention for e in rows),
                          optimism=tuple(adjustments), counterfactual=described,
                          projection=result)


def trajectory_out(view: TrajectoryView) -> TrajectoryOut:
    """The projection as plain data (the API and the CLI's JSON)."""
    p = view.projection
    q = {level: p.quantile(level) for level in (0.1, 0.25, 0.5, 0.75, 0.9)}
    return TrajectoryOut(
        target_id=view.target.id, metric=view.target.metric.slug,
        area_code=view.target.area.code, target_value=view.target.target_value,
        deadline=view.target.deadline, counterfactual=view.counterfactual, draws=p.draws,
        probability=p.probability, expected_gap=p.expected_gap,
        required_probability=p.required_probability,
        additional_effect_needed=p.additional_effect_needed,
        fan=[FanPointOut(month=m, p10=q[0.1][t], p25=q[0.25][t], p50=q[0.5][t],
                         p75=q[0.75][t], p90=q[0.9][t], mean=float(p.mean[t]))
             for t, m in enumerate(view.months)],
        contributions=[
            ContributionOut(intervention=view.interventions[i].slug,
                            title=view.interventions[i].title,
                            mean_effect_at_deadline=float(p.contributions[i]),
                            optimism_factor=view.optimism[i].factor,
                            sensitivity=float(p.sensitivity[i]))
            for i in p.sensitivity_ranking
        ],
    )
