"""The evidence summary on both backends: the security rating's rules (each cap able to
lower the rating), the primary effect in words with its cost, and using the result as the
evidence for an intervention's effect (the interval recomputed, the optimism discount shown,
nothing written on bad input)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.analytics import trial_power
from missionboard.analytics import trials as stats
from missionboard.delivery import service as delivery
from missionboard.delivery.models import EvidenceKind, Intervention, InterventionEffect
from missionboard.delivery.schemas import InterventionIn
from missionboard.errors import ValidationFailed
from missionboard.trials import evidence_link, results
from missionboard.trials.results import SampleDesign
from missionboard.trials.results_schemas import EvidenceLinkIn
from tests import factories
from tests.trials.results_builders import Built, with_results


@pytest.fixture
def world(session: Session) -> factories.World:
    return factories.world(session)


@pytest.fixture
def built(session: Session, world: factories.World) -> Built:
    return with_results(session, world.mission, effect=8.0, schools=16)


def _rating(session: Session, built: Built, *, design: SampleDesign,
            attrition: float, smd: float) -> results.SecurityRating:
    """The rating of the trial's results with the primary analysis's sample, the attrition
    and the baseline imbalance replaced."""
    found = results.trial_results(session, built.trial)
    primary = found.primary
    assert primary is not None
    allocated = {"control": 1000, "tutoring": 1000}
    analysed = {k: round(v * (1 - attrition)) for k, v in allocated.items()}
    flow = stats.consort_flow(enrolled=2000, allocated=allocated, followed_up=analysed,
                              analysed=analysed)
    changed = replace(found, analyses=tuple(replace(a, design=design) if a is primary else a
                                            for a in found.analyses),
                      flow=flow, max_abs_smd=smd)
    rating = results.security_rating(built.trial, changed)
    assert rating is not None
    return rating


LARGE = SampleDesign(n=20000, clusters=None, cluster_size=None, ratio=1.0, icc=0.0, r2=0.0)
SMALL = SampleDesign(n=200, clusters=None, cluster_size=None, ratio=1.0, icc=0.0, r2=0.0)
CLUSTERED = SampleDesign(n=1200, clusters=60, cluster_size=20.0, ratio=1.0, icc=0.15, r2=0.3)


@pytest.mark.parametrize(("design", "attrition", "smd", "padlocks"), [
    (LARGE, 0.05, 0.05, 5),   # nothing caps it
    (SMALL, 0.05, 0.05, 2),   # the MDES (about 0.40) caps it at 2
    (LARGE, 0.35, 0.05, 2),   # attrition over 30% caps it at 2
    (LARGE, 0.15, 0.05, 4),   # attrition over 10% caps it at 4
    (LARGE, 0.05, 0.15, 4),   # imbalance costs one padlock
    (SMALL, 0.45, 0.20, 0),   # MDES 2, attrition 1, less one for imbalance
    (LARGE, 0.55, 0.05, 0),   # attrition over 50%
])
def test_the_security_rating_takes_the_least_and_drops_one_for_imbalance(
        session: Session, built: Built, *, design: SampleDesign, attrition: float,
        smd: float, padlocks: int) -> None:
    rating = _rating(session, built, design=design, attrition=attrition, smd=smd)
    assert rating.padlocks == padlocks
    assert rating.text == f"{padlocks} of 5 padlocks"
    assert [r.criterion for r in rating.reasons] == [
        "Design", "Minimum detectable effect size", "Attrition", "Baseline imbalance"]
    assert rating.reasons[-1].padlocks == (-1 if smd > 0.1 else 0)
    expected = trial_power.continuous_mde(n_total=design.n, alpha=0.05, power=0.8).effect
    assert rating.mdes == pytest.approx(expected)


def test_the_mdes_of_a_cluster_sample(session: Session, built: Built) -> None:
    rating = _rating(session, built, design=CLUSTERED, attrition=0.0, smd=0.0)
    expected = trial_power.continuous_mde(clusters=60, cluster_size=20.0, icc=0.15, r2=0.3)
    assert rating.mdes == pytest.approx(expected.effect)
    mdes_reason = rating.reasons[1]
    assert mdes_reason.padlocks == (5 if expected.effect <= 0.2 else 4 if expected.effect
                                    <= 0.29 else 3 if expected.effect <= 0.39 else 2)


def test_the_sample_design_is_the_one_analysed(session: Session, built: Built) -> None:
    """The achieved clusters and the outcome's ICC (one-way ANOVA of the residuals from each
    arm's mean, computed here with a loop) feed the MDES."""
    found = results.trial_results(session, built.trial)
    primary = found.primary
    assert primary is not None
    assert primary.design is not None
    units = {u["unit_id"]: u for u in built.units}
    rows = [r for r in built.outcomes if r["outcome"] == "maths"]
    arm_values: dict[str, list[float]] = {}
    for r in rows:
        arm_values.setdefault(built.arms[r["unit_id"]], []).append(float(r["value"]))
    means = {k: float(np.mean(v)) for k, v in arm_values.items()}
    by_school: dict[str, list[float]] = {}
    for r in rows:
        by_school.setdefault(units[r["unit_id"]]["cluster"], []).append(
            float(r["value"]) - means[built.arms[r["unit_id"]]])
    n, g = len(rows), len(by_school)
    grand = sum(sum(v) for v in by_school.values()) / n
    msb = sum(len(v) * (np.mean(v) - grand) ** 2 for v in by_school.values()) / (g - 1)
    msw = sum(((np.array(v) - np.mean(v)) ** 2).sum() for v in by_school.values()) / (n - g)
    n0 = (n - sum(len(v) ** 2 for v in by_school.values()) / n) / (g - 1)
    icc = max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))
    assert primary.design.clusters == g
    assert primary.design.n == n
    assert primary.design.icc == pytest.approx(icc)
    summary = results.evidence_summary(session, built.trial, results=found)
    assert summary.security is not None
    assert summary.security.mdes == pytest.approx(results.mdes_of(primary.design))


def test_the_summary_says_the_effect_in_words_with_its_cost(session: Session,
                                                           built: Built) -> None:
    summary = results.evidence_summary(session, built.trial)
    primary = summary.primary
    assert primary is not None
    assert primary.estimate is not None
    e = primary.estimate
    assert e.ci_low > 0  # a large simulated effect
    assert summary.significant
    assert summary.headline.startswith("In schools with the small-group tutoring, "
                                       "KS2 maths scaled score was")
    assert f"{e.effect:.1f} higher" in summary.headline
    assert f"95% CI {e.ci_low:.1f} to {e.ci_high:.1f}" in summary.headline
    assert summary.cost_per_effect == pytest.approx(310.0 / e.effect)
    assert summary.intervention is None


def _existing(session: Session, world: factories.World) -> Intervention:
    return delivery.save_intervention(session, mission=world.mission, data=InterventionIn(
        slug="tutoring-programme", title="National tutoring", start=dt.date(2025, 1, 1),
        evidence_kind="expert_judgement", evidence_strength="limited",
        effects=[{"metric_slug": world.metric.slug, "area_code": "E92000001", "central": 1,
                  "low": 0, "high": 2}]))


def _link(world: factories.World, intervention: Intervention, **changes: object
          ) -> EvidenceLinkIn:
    data: dict[str, object] = {
        "intervention_id": intervention.id, "outcome": "maths", "arm": "tutoring",
        "metric_slug": world.metric.slug, "area_code": "E92000001", "factor": 0.25,
        "factor_explanation": "A quarter of pupils would be tutored at scale",
        "interval_level": 0.8, "reason": "The trial reported"}
    data.update(changes)
    return EvidenceLinkIn.model_validate(data)


@pytest.mark.parametrize(("at_scale", "kind"), [(False, EvidenceKind.PILOT_TRIAL),
                                                (True, EvidenceKind.AT_SCALE_EVALUATION)])
def test_a_result_becomes_the_interventions_effect(
        session: Session, world: factories.World, built: Built, at_scale: bool,
        kind: EvidenceKind) -> None:
    intervention = _existing(session, world)
    built.trial.intervention_id = intervention.id
    session.flush()
    found = results.trial_results(session, built.trial)
    link = evidence_link.link_evidence(session, trial=built.trial, results=found,
                                       data=_link(world, intervention, at_scale=at_scale),
                                       base_url="https://example.org")
    primary = found.primary
    assert primary is not None
    assert primary.estimate is not None
    e = primary.estimate
    q = float(scipy_stats.t(e.df).ppf(0.9))
    (effect,) = session.scalars(select(InterventionEffect).where(
        InterventionEffect.intervention_id == intervention.id)).all()  # replaced, not added
    assert effect.central == pytest.approx(e.effect * 0.25)
    assert effect.low == pytest.approx((e.effect - q * e.se) * 0.25)
    assert effect.high == pytest.approx((e.effect + q * e.se) * 0.25)
    assert effect.interval_level == 0.8
    assert intervention.evidence_kind == kind
    assert "https://example.org/trials/tutoring/results" in intervention.evidence_reference
    assert str(found.plan_sha256) in intervention.evidence_reference
    share = delivery.DEFAULT_OPTIMISM[kind]
    assert link.optimism.factor == share
    assert link.discounted_central == pytest.approx(effect.central * share)
    session.expire_all()
    summary = results.evidence_summary(session, built.trial)
    (scaled,) = summary.at_scale
    assert scaled.from_this_trial
    assert scaled.factor == share
    assert scaled.discounted_central == pytest.approx(e.effect * 0.25 * share)


def test_a_negative_factor_keeps_the_interval_in_order(session: Session,
                                                      world: factories.World,
                                                      built: Built) -> None:
    intervention = _existing(session, world)
    found = results.trial_results(session, built.trial)
    link = evidence_link.link_evidence(session, trial=built.trial, results=found,
                                       data=_link(world, intervention, factor=-2))
    assert link.effect.low <= link.effect.central <= link.effect.high
    assert link.effect.central < 0


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("change", "field"), [
    ({"metric_slug": "draft-metric"}, "metric_slug"),   # not one of the mission's metrics
    ({"area_code": "X99999999"}, "area_code"),
    ({"outcome": "science"}, "outcome"),
    ({"reason": ""}, "reason"),                          # the mission is published
    ({"other_mission": True}, "intervention_id"),
])
def test_bad_input_writes_nothing(session: Session, world: factories.World, built: Built,
                                  change: dict[str, object], field: str) -> None:
    intervention = _existing(session, world)
    change = dict(change)  # the parameter is shared by both backends' runs
    if change.pop("other_mission", False):
        other = factories.mission(session, "elsewhere")
        intervention = delivery.save_intervention(session, mission=other, data=InterventionIn(
            slug="elsewhere", title="Elsewhere", start=dt.date(2025, 1, 1),
            evidence_kind="expert_judgement", evidence_strength="limited"))
    session.flush()
    before = (_count(session, InterventionEffect), _count(session, AuditEntry),
              intervention.evidence_kind, intervention.evidence_reference)
    found = results.trial_results(session, built.trial)
    with pytest.raises(ValidationFailed) as caught:
        evidence_link.link_evidence(session, trial=built.trial, results=found,
                                    data=_link(world, intervention, **change))
    assert [e.field for e in caught.value.errors] == [field]
    session.flush()
    assert (_count(session, InterventionEffect), _count(session, AuditEntry),
            intervention.evidence_kind, intervention.evidence_reference) == before


@pytest.mark.parametrize("factor", [0, float("inf")])
def test_the_factor_must_be_a_number_other_than_zero(factor: float) -> None:
    with pytest.raises(ValueError, match="other than 0"):
        EvidenceLinkIn(intervention_id=1, outcome="maths", arm="tutoring", metric_slug="m",
                       area_code="E92000001", factor=factor, factor_explanation="x")
