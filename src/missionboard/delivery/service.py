"""Interventions, their effect estimates and the optimism adjustment.

Keyword-only functions; the caller owns the transaction (they flush, never commit).

**Optimism.** Appraisal estimates are systematically too high (HM Treasury, *The Green Book*,
supplementary guidance on optimism bias). For effects the best evidence is the drop from trial
to scale: behavioural interventions run at scale by government nudge units averaged 1.4
percentage points against 8.7 in published academic trials (DellaVigna and Linos,
*Econometrica* 90(1), 2022), a factor of 1.4 / 8.7 ≈ 0.16. By default an estimate's central
value and interval are multiplied by the factor for its evidence (``DEFAULT_OPTIMISM``); an
override needs a reason and is shown beside the default.

**No quiet re-basing.** On a published mission, a change to anything that moves the projected
chance of meeting a target (an intervention's timing, status, evidence, optimism override or
estimates; an overlap's terms) needs a reason and is kept in the public change record (see
:func:`missionboard.missions.service.record_change`), once for each published metric whose
projection it can move, so that it is shown on that metric's page as well as the mission's.
Additions are recorded too, but need no reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from missionboard.accounts.models import User
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
from missionboard.errors import FieldError, NotFound, ReasonRequired, ValidationFailed
from missionboard.metrics import service as metrics_service
from missionboard.metrics.models import (
    CounterfactualKind,
    Frequency,
    Metric,
    Observation,
    Polarity,
    Target,
)
from missionboard.missions.models import ChangeRecord, Mission, Organisation
from missionboard.missions.service import diff, record_change

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
            metric=metric, area=area, distribution=e.distribution,
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


# The public change record ------------------------------------------------------------------

#: Changes to these fields of an intervention of a published mission need a public reason:
#: they move the projection. ``effects`` stands for the estimates on published metrics.
INTERVENTION_GUARDED = ("status", "start", "lag_months", "ramp", "ramp_months", "persistence",
                        "half_life_months", "evidence_kind", "evidence_strength",
                        "optimism_override", "effects")
#: What the public record of an intervention added to a published mission says.
INTERVENTION_ADDED = ("title", "status", "start", "effects")
#: An overlap's terms: the pair, and the shared fraction or the interaction factor.
OVERLAP_GUARDED = ("terms",)
#: The reason kept with an addition made without one (an addition needs none).
NO_REASON_GIVEN = "Added; no reason given"


def _figure(number: float) -> str:
    """A number as typed: no exponent, no trailing zeros."""
    return f"{number:.10f}".rstrip("0").rstrip(".")


def _estimates(effects: Iterable[InterventionEffect]) -> dict[int, str]:
    """Each published metric's estimates, as one line of text for the public record.

    Estimates for draft metrics are left out: no published projection uses them.
    """
    lines: dict[int, list[str]] = {}
    for e in effects:
        if e.metric.is_published:
            lines.setdefault(e.metric.id, []).append(
                f"{e.metric.slug} {e.area.code} {e.distribution.value} {_figure(e.central)} "
                f"[{_figure(e.low)}, {_figure(e.high)}] at {_figure(e.interval_level * 100)}%")
    return {metric_id: "; ".join(sorted(found)) for metric_id, found in lines.items()}


def _keep_record(
    session: Session, *, entity_type: str, entity_id: int, mission: Mission,
    fields: Mapping[str, Any], by_metric: Mapping[int, Mapping[str, Any]],
    metric_ids: Iterable[int], actor: User | None, reason: str | None,
    guarded: Sequence[str],
) -> None:
    """Keep the public record of a change to a published mission's intervention or overlap.

    ``fields`` move the projection of every one of ``metric_ids`` (published metrics), so are
    recorded once for each, or once without a metric when there are none; ``by_metric`` holds
    the changes to one metric's projection only. Each record is then listed on its metric's
    page as well as the mission's. Raises :class:`ReasonRequired`, naming every guarded field
    changed, before recording anything.
    """
    if not mission.is_published:
        return
    every: list[int | None] = [*sorted(metric_ids)] or [None]
    records = {metric_id: dict(fields) for metric_id in every} if fields else {}
    for key in sorted(by_metric):
        records.setdefault(key, {}).update(by_metric[key])
    changed = list(dict.fromkeys(f for r in records.values() for f in r if f in guarded))
    if changed and not (reason and reason.strip()):
        raise ReasonRequired(changed)
    for metric_id, changes in records.items():
        record_change(session, entity_type=entity_type, entity_id=entity_id, fields=changes,
                      actor=actor, reason=reason, guarded=guarded, published=True,
                      mission_id=mission.id, metric_id=metric_id)


def _record_edit(
    session: Session, *, mission: Mission, intervention: Intervention, data: InterventionIn,
    effects: Sequence[InterventionEffect], actor: User | None, reason: str | None,
) -> None:
    changes = diff(intervention, {key: getattr(data, key) for key in INTERVENTION_GUARDED
                                  if key != "effects"})
    old, new = _estimates(intervention.effects), _estimates(effects)
    by_metric = {metric_id: {"effects": {"old": old.get(metric_id), "new": new.get(metric_id)}}
                 for metric_id in old.keys() | new.keys()
                 if old.get(metric_id) != new.get(metric_id)}
    _keep_record(session, entity_type="intervention", entity_id=intervention.id,
                 mission=mission, fields=changes, by_metric=by_metric,
                 metric_ids=old.keys() | new.keys(), actor=actor, reason=reason,
                 guarded=INTERVENTION_GUARDED)


def _record_addition(
    session: Session, *, mission: Mission, intervention: Intervention, actor: User | None,
    reason: str | None,
) -> None:
    fields = {"title": intervention.title, "status": intervention.status.value,
              "start": intervention.start.isoformat()}
    estimates = _estimates(intervention.effects)
    _keep_record(session, entity_type="intervention", entity_id=intervention.id,
                 mission=mission, fields={k: {"old": None, "new": v} for k, v in fields.items()},
                 by_metric={metric_id: {"effects": {"old": None, "new": text}}
                            for metric_id, text in estimates.items()},
                 metric_ids=estimates.keys(), actor=actor,
                 reason=reason if reason and reason.strip() else NO_REASON_GIVEN,
                 guarded=INTERVENTION_ADDED)


# Interventions and overlaps ----------------------------------------------------------------

def save_intervention(
    session: Session, *, mission: Mission, data: InterventionIn,
    intervention: Intervention | None = None, actor: User | None = None,
    reason: str | None = None,
) -> Intervention:
    """Create an intervention, or replace an existing one's fields, budgets and effects.

    Checks everything before changing anything: an unknown organisation, metric or area, or a
    slug already used in the mission, raises :class:`ValidationFailed` naming each field. On a
    published mission, a change to a field of :data:`INTERVENTION_GUARDED` raises
    :class:`ReasonRequired` without a reason, and is kept in the public change record with it;
    a new intervention is recorded too, with the reason if one is given.
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
    adding = intervention is None
    if intervention is None:
        intervention = Intervention(mission_id=mission.id)
        session.add(intervention)
    else:
        _record_edit(session, mission=mission, intervention=intervention, data=data,
                     effects=effects, actor=actor, reason=reason)
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
    if adding:
        _record_addition(session, mission=mission, intervention=intervention, actor=actor,
                         reason=reason)
        session.flush()
    return intervention


def _terms(first: Intervention, second: Intervention, *, shared_fraction: float,
           interaction: float | None) -> str:
    """An overlap as the public record shows it, the same from either side."""
    a, b = sorted((first, second), key=lambda i: i.id)
    how = (f"{_figure(shared_fraction * 100)}% of the smaller effect counted twice"
           if interaction is None else f"interaction factor {_figure(interaction)}")
    return f"‘{a.title}’ and ‘{b.title}’: {how}"


def _record_overlap(
    session: Session, *, overlap: InterventionOverlap, first: Intervention,
    second: Intervention, old: str | None, new: str | None, actor: User | None,
    reason: str | None,
) -> None:
    """Record an overlap's terms changing, for the metrics both interventions estimate."""
    if old == new:
        return
    shared = _estimates(first.effects).keys() & _estimates(second.effects).keys()
    _keep_record(session, entity_type="overlap", entity_id=overlap.id, mission=first.mission,
                 fields={"terms": {"old": old, "new": new}}, by_metric={},
                 metric_ids=shared, actor=actor, reason=reason, guarded=OVERLAP_GUARDED)


def set_overlap(
    session: Session, *, first: Intervention, second: Intervention,
    shared_fraction: float = 0.0, interaction: float | None = None, note: str = "",
    actor: User | None = None, reason: str | None = None,
) -> InterventionOverlap:
    """Declare that two interventions overlap (stored once per unordered pair).

    On a published mission, changing the terms of an overlap already declared needs a reason
    (:class:`ReasonRequired`); a new overlap needs none. Both are kept in the public change
    record; a change to the note alone is not.
    """
    if first.id == second.id:
        raise ValidationFailed([FieldError("second", "An intervention cannot overlap itself")])
    if not 0 <= shared_fraction <= 1:
        raise ValidationFailed([FieldError("shared_fraction",
                                           "The shared fraction must be between 0 and 1")])
    a, b = sorted((first.id, second.id))
    overlap = session.scalar(select(InterventionOverlap).where(
        InterventionOverlap.first_id == a, InterventionOverlap.second_id == b))
    new = _terms(first, second, shared_fraction=shared_fraction, interaction=interaction)
    if overlap is None:
        overlap = InterventionOverlap(first_id=a, second_id=b)
        session.add(overlap)
        old = None
        reason = reason if reason and reason.strip() else NO_REASON_GIVEN
    else:
        old = _terms(first, second, shared_fraction=overlap.shared_fraction,
                     interaction=overlap.interaction)
        _record_overlap(session, overlap=overlap, first=first, second=second, old=old, new=new,
                        actor=actor, reason=reason)
    overlap.shared_fraction, overlap.interaction, overlap.note = shared_fraction, interaction, note
    session.flush()
    if old is None:
        _record_overlap(session, overlap=overlap, first=first, second=second, old=None,
                        new=new, actor=actor, reason=reason)
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


def remove_overlap(
    session: Session, *, first: Intervention, second: Intervention,
    actor: User | None = None, reason: str | None = None,
) -> None:
    """Remove a declared overlap; on a published mission this needs a reason and is kept in
    the public change record."""
    overlap = get_overlap(session, first=first, second=second)
    _record_overlap(session, overlap=overlap, first=first, second=second,
                    old=_terms(first, second, shared_fraction=overlap.shared_fraction,
                               interaction=overlap.interaction),
                    new=None, actor=actor, reason=reason)
    session.delete(overlap)
    session.flush()


@dataclass(frozen=True)
class InterventionChange:
    """A public change record about one of a mission's interventions or overlaps."""

    record: ChangeRecord
    #: The intervention's title, or "Overlap" (an overlap's terms name the pair).
    subject: str
    #: The published metric whose projection it moves, if it was recorded for one.
    metric: Metric | None


def intervention_changes(session: Session, *, mission: Mission) -> list[InterventionChange]:
    """The public record of changes to the mission's interventions and overlaps, newest first."""
    records = session.scalars(
        select(ChangeRecord)
        .where(ChangeRecord.mission_id == mission.id,
               ChangeRecord.entity_type.in_(("intervention", "overlap")))
        .order_by(ChangeRecord.at.desc(), ChangeRecord.id.desc()))
    titles = {i.id: i.title for i in list_interventions(session, mission=mission)}
    return [
        InterventionChange(
            record=r,
            subject=(titles.get(r.entity_id, "An intervention")
                     if r.entity_type == "intervention" else "Overlap"),
            metric=session.get(Metric, r.metric_id) if r.metric_id is not None else None)
        for r in records
    ]


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


def change_titles(session: Session, *, mission_id: int | None = None,
                  metric_id: int | None = None) -> dict[str, str]:
    """Titles of the interventions in a mission's (or acting on a metric's) change records,
    keyed ``"intervention:<id>"``: the public record names what changed."""
    query = select(Intervention.id, Intervention.title)
    if mission_id is not None:
        query = query.where(Intervention.mission_id == mission_id)
    if metric_id is not None:
        query = query.where(Intervention.id.in_(select(InterventionEffect.intervention_id).where(
            InterventionEffect.metric_id == metric_id)))
    return {f"intervention:{i}": title for i, title in session.execute(query)}


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
