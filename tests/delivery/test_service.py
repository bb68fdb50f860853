"""Interventions: estimates, optimism adjustment, overlaps and the public record of their
changes, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.delivery import service
from missionboard.delivery.models import EvidenceKind, InterventionStatus
from missionboard.delivery.schemas import InterventionIn
from missionboard.errors import NotFound, ReasonRequired, ValidationFailed
from missionboard.metrics.models import CounterfactualKind
from missionboard.missions.models import ChangeRecord
from missionboard.missions.schemas import OrganisationIn
from missionboard.missions.service import create_organisation
from tests import factories


def _data(**changes: Any) -> InterventionIn:
    base: dict[str, Any] = {
        "slug": "more-scanners", "title": "More diagnostic scanners", "start": dt.date(2025, 4, 1),
        "lag_months": 3, "ramp": "linear", "ramp_months": 12, "evidence_kind": "pilot_trial",
        "evidence_strength": "moderate", "owner_slug": "dhsc", "budgets": {2025: 1.5e8},
        "effects": [{"metric_slug": "published-metric", "area_code": "E92000001",
                     "central": 2.0, "low": 1.0, "high": 3.0, "interval_level": 0.9}],
    }
    base.update(changes)
    return InterventionIn.model_validate(base)


def test_save_and_read_back(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    saved = service.save_intervention(session, mission=w.mission, data=_data())
    (listed,) = service.list_interventions(session, mission=w.mission)
    assert listed is saved
    assert saved.owner is not None
    assert saved.owner.slug == "dhsc"
    assert saved.status == InterventionStatus.PLANNED
    assert [(b.year, b.amount) for b in saved.budgets] == [(2025, 1.5e8)]
    (effect,) = service.effects_on(session, metric_id=w.metric.id, area_id=w.area.id)
    assert (effect.central, effect.low, effect.high, effect.interval_level) == (2, 1, 3, 0.9)

    again = service.save_intervention(session, mission=w.mission, intervention=saved,
                                      data=_data(effects=[], budgets={}),
                                      reason="Withdrawn pending evaluation")
    assert again.effects == []
    assert again.budgets == []
    with pytest.raises(ValidationFailed):
        service.save_intervention(session, mission=w.mission, data=_data())  # same slug


def test_optimism_defaults_and_override(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    trial = service.save_intervention(session, mission=w.mission,
                                      data=_data(evidence_kind="academic_trial"))
    adjustment = service.optimism(trial)
    assert adjustment.factor == pytest.approx(1.4 / 8.7, abs=0.005)  # DellaVigna & Linos
    assert not adjustment.overridden
    ordered = [service.DEFAULT_OPTIMISM[k] for k in (
        EvidenceKind.AT_SCALE_EVALUATION, EvidenceKind.PILOT_TRIAL,
        EvidenceKind.ACADEMIC_TRIAL, EvidenceKind.EXPERT_JUDGEMENT)]
    assert ordered == sorted(ordered, reverse=True)  # weaker evidence, bigger discount

    overridden = service.save_intervention(session, mission=w.mission, data=_data(
        slug="scaled", evidence_kind="academic_trial", optimism_override=0.5,
        optimism_override_reason="Run at scale in Wales with the same effect"))
    adjustment = service.optimism(overridden)
    assert (adjustment.factor, adjustment.overridden) == (0.5, True)
    assert adjustment.default == service.DEFAULT_OPTIMISM[EvidenceKind.ACADEMIC_TRIAL]


def test_input_rules() -> None:
    with pytest.raises(ValidationError, match="needs a reason"):
        _data(optimism_override=0.5)
    with pytest.raises(ValidationError, match="half-life"):
        _data(persistence="decay")
    with pytest.raises(ValidationError, match="length in months"):
        _data(ramp_months=0)
    with pytest.raises(ValidationError, match="low ≤ central ≤ high"):
        _data(effects=[{"metric_slug": "m", "area_code": "E", "central": 5, "low": 1,
                        "high": 3}])
    with pytest.raises(ValidationError, match="above 0"):
        _data(effects=[{"metric_slug": "m", "area_code": "E", "distribution": "lognormal",
                        "central": 1, "low": 0, "high": 3}])


def test_unknown_metric_and_overlaps(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    with pytest.raises(ValidationFailed) as exc:
        service.save_intervention(session, mission=w.mission, data=_data(effects=[
            {"metric_slug": "no-such-metric", "area_code": "E92000001", "central": 1,
             "low": 0, "high": 2}]))
    assert exc.value.errors[0].field == "effects.0"
    a = service.save_intervention(session, mission=w.mission, data=_data())
    b = service.save_intervention(session, mission=w.mission, data=_data(slug="second"))
    first = service.set_overlap(session, first=b, second=a, shared_fraction=0.3)
    again = service.set_overlap(session, first=a, second=b, shared_fraction=0.4,
                                reason="Fewer shared patients than thought")
    assert first is again
    assert (again.first_id, again.second_id, again.shared_fraction) == (
        min(a.id, b.id), max(a.id, b.id), 0.4)
    with pytest.raises(ValidationFailed):
        service.set_overlap(session, first=a, second=a)


def _records(session: Session) -> list[ChangeRecord]:
    session.flush()
    return list(session.scalars(select(ChangeRecord).order_by(ChangeRecord.id)))


def _effect(metric: str, central: float, low: float, high: float) -> dict[str, Any]:
    return {"metric_slug": metric, "area_code": "E92000001", "central": central, "low": low,
            "high": high}


def test_a_published_estimate_changes_only_with_a_reason_kept_in_public(
    session: Session
) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    saved = service.save_intervention(session, mission=w.mission, data=_data(), actor=w.editor)
    # Adding an intervention needs no reason, but is recorded for the metric it moves.
    (added,) = _records(session)
    assert (added.entity_type, added.entity_id, added.mission_id, added.metric_id) == (
        "intervention", saved.id, w.mission.id, w.metric.id)
    assert (added.reason, added.author_name) == (service.NO_REASON_GIVEN, w.editor.name)
    assert added.fields == {
        "title": {"old": None, "new": "More diagnostic scanners"},
        "status": {"old": None, "new": "planned"},
        "start": {"old": None, "new": "2025-04-01"},
        "effects": {"old": None, "new": "published-metric E92000001 normal 2 [1, 3] at 90%"}}

    bigger = [{**_effect("published-metric", 4, 2, 6), "interval_level": 0.9}]
    for reason in (None, "  "):
        with pytest.raises(ReasonRequired) as exc:
            service.save_intervention(session, mission=w.mission, intervention=saved,
                                      data=_data(effects=bigger), actor=w.editor, reason=reason)
        assert exc.value.errors[0].field == "reason"
        assert "(effects)" in exc.value.errors[0].message
    assert len(_records(session)) == 1  # nothing recorded, and nothing changed
    session.expire_all()
    assert [(e.central, e.low, e.high) for e in saved.effects] == [(2, 1, 3)]

    service.save_intervention(session, mission=w.mission, intervention=saved,
                              data=_data(effects=bigger), actor=w.editor,
                              reason="The pilot's final evaluation")
    changed = _records(session)[-1]
    assert changed.fields == {"effects": {
        "old": "published-metric E92000001 normal 2 [1, 3] at 90%",
        "new": "published-metric E92000001 normal 4 [2, 6] at 90%"}}
    assert (changed.entity_id, changed.mission_id, changed.metric_id) == (
        saved.id, w.mission.id, w.metric.id)
    assert (changed.reason, changed.author_id) == ("The pilot's final evaluation", w.editor.id)

    # Timing and the optimism override are guarded too...
    with pytest.raises(ReasonRequired, match=r"\(start, optimism_override\)"):
        service.save_intervention(session, mission=w.mission, intervention=saved, data=_data(
            effects=bigger, start=dt.date(2026, 4, 1), optimism_override=0.8,
            optimism_override_reason="Scaled up in Wales"))
    # ...the title and the evidence reference are not.
    service.save_intervention(session, mission=w.mission, intervention=saved, data=_data(
        effects=bigger, title="Scanners", evidence_reference="The final report"))
    assert len(_records(session)) == 2
    assert (saved.title, saved.start) == ("Scanners", dt.date(2025, 4, 1))


def test_a_change_is_recorded_for_each_published_metric_it_moves(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    second = factories.metric(session, "second-metric", [w.outcome])
    first_effect = _effect("published-metric", 2, 1, 3)
    saved = service.save_intervention(session, mission=w.mission, data=_data(effects=[
        first_effect, _effect("second-metric", 5, 4, 6), _effect("draft-metric", 1, 0, 2)]))
    added = _records(session)
    assert sorted(r.metric_id or 0 for r in added) == sorted([w.metric.id, second.id])
    assert "draft-metric" not in str([r.fields for r in added])

    # An estimate for a draft metric moves no published projection: no reason, no record.
    service.save_intervention(session, mission=w.mission, intervention=saved, data=_data(
        effects=[first_effect, _effect("second-metric", 5, 4, 6),
                 _effect("draft-metric", 1.5, 0, 2)]))
    assert len(_records(session)) == 2

    # A later start moves both metrics' projections; a new estimate only the second's.
    service.save_intervention(session, mission=w.mission, intervention=saved, data=_data(
        start=dt.date(2026, 4, 1), effects=[first_effect, _effect("second-metric", 7, 6, 8),
                                            _effect("draft-metric", 1.5, 0, 2)]),
        reason="The contract was signed late")
    start = {"old": "2025-04-01", "new": "2026-04-01"}
    assert {r.metric_id: r.fields for r in _records(session)[2:]} == {
        w.metric.id: {"start": start},
        second.id: {"start": start, "effects": {
            "old": "second-metric E92000001 normal 5 [4, 6] at 80%",
            "new": "second-metric E92000001 normal 7 [6, 8] at 80%"}}}


def test_overlaps_on_a_published_mission_are_recorded(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    a = service.save_intervention(session, mission=w.mission, data=_data())
    b = service.save_intervention(session, mission=w.mission,
                                  data=_data(slug="second", title="Mobile scanners"))
    before = len(_records(session))
    overlap = service.set_overlap(session, first=b, second=a, shared_fraction=0.3,
                                  actor=w.editor)
    declared = _records(session)[-1]
    shared = ("‘More diagnostic scanners’ and ‘Mobile scanners’: 30% of the smaller effect "
              "counted twice")  # the same from either side
    assert declared.fields == {"terms": {"old": None, "new": shared}}
    assert (declared.entity_type, declared.entity_id, declared.mission_id,
            declared.metric_id, declared.reason) == (
        "overlap", overlap.id, w.mission.id, w.metric.id, service.NO_REASON_GIVEN)

    with pytest.raises(ReasonRequired, match=r"\(terms\)"):
        service.set_overlap(session, first=a, second=b, interaction=0.8)
    with pytest.raises(ReasonRequired):
        service.remove_overlap(session, first=a, second=b)
    session.expire_all()
    assert (overlap.shared_fraction, overlap.interaction) == (0.3, None)
    assert len(_records(session)) == before + 1
    service.set_overlap(session, first=a, second=b, shared_fraction=0.3, note="Same patients")
    assert len(_records(session)) == before + 1  # the note alone moves nothing

    service.set_overlap(session, first=a, second=b, interaction=0.8, note="Same patients",
                        actor=w.editor, reason="Modelled together")
    changed = _records(session)[-1]
    interaction = "‘More diagnostic scanners’ and ‘Mobile scanners’: interaction factor 0.8"
    assert changed.fields == {"terms": {"old": shared, "new": interaction}}
    assert changed.reason == "Modelled together"

    service.remove_overlap(session, first=b, second=a, actor=w.editor,
                           reason="They no longer reach the same people")
    removed = _records(session)[-1]
    assert removed.fields == {"terms": {"old": interaction, "new": None}}
    assert (removed.entity_id, removed.metric_id) == (overlap.id, w.metric.id)
    with pytest.raises(NotFound):
        service.get_overlap(session, first=a, second=b)


def test_drafts_need_no_reason_and_keep_no_record(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    saved = service.save_intervention(session, mission=w.draft_mission, data=_data(
        effects=[_effect("draft-metric", 2, 1, 3)]))
    service.save_intervention(session, mission=w.draft_mission, intervention=saved, data=_data(
        start=dt.date(2027, 1, 1), optimism_override=0.9, optimism_override_reason="Scaled",
        effects=[_effect("draft-metric", 9, 8, 10), _effect("published-metric", 1, 0, 2)]))
    other = service.save_intervention(session, mission=w.draft_mission,
                                      data=_data(slug="other", effects=[]))
    service.set_overlap(session, first=saved, second=other, shared_fraction=0.5)
    service.set_overlap(session, first=saved, second=other, interaction=0.5)
    service.remove_overlap(session, first=saved, second=other)
    assert _records(session) == []
    assert (saved.start, sorted(e.central for e in saved.effects)) == (
        dt.date(2027, 1, 1), [1, 9])


def test_trajectory_matches_the_closed_form_for_one_certain_step(session: Session) -> None:
    """Flat counterfactual at 60 plus one normal step effect, adjusted for optimism:
    P(meet 90) = 1 − Φ((90 − 60 − f·μ) / (f·σ)), σ from the 90% interval."""
    from scipy.stats import norm

    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    service.save_intervention(session, mission=w.mission, data=_data(
        start=dt.date(2024, 8, 1), lag_months=0, ramp="step", ramp_months=0,
        evidence_kind="at_scale_evaluation",
        effects=[{"metric_slug": "published-metric", "area_code": "E92000001",
                  "central": 28.0, "low": 20.0, "high": 36.0, "interval_level": 0.9}]))
    view = service.trajectory(session, target=w.target, draws=40_000, seed=7)
    sigma = 8.0 / norm.ppf(0.95)
    expected = 1 - norm.cdf((90 - 60 - 28) / sigma)
    p = view.projection
    assert p.probability == pytest.approx(expected, abs=4 * (expected * (1 - expected)
                                                             / 40_000) ** 0.5)
    assert p.expected_gap == pytest.approx(2.0, abs=0.2)
    assert view.months[0] == dt.date(2024, 7, 31)
    assert view.months[-1] == dt.date(2029, 3, 31)
    assert p.contributions[0] == pytest.approx(28.0, rel=0.02)
    same = service.trajectory(session, target=w.target, draws=40_000, seed=7)
    assert same.projection.probability == p.probability
    out = service.trajectory_out(view)
    assert out.fan[-1].p10 <= out.fan[-1].p50 <= out.fan[-1].p90
    assert [c.intervention for c in out.contributions] == ["more-scanners"]


def test_declared_trend_and_optimism_move_the_projection(session: Session) -> None:
    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    flat = service.trajectory(session, target=w.target, draws=2_000, seed=1)
    assert flat.projection.mean[-1] == pytest.approx(60.0)
    w.target.counterfactual = CounterfactualKind.LINEAR
    w.target.counterfactual_slope_per_year = 2.4
    session.flush()
    trend = service.trajectory(session, target=w.target, draws=2_000, seed=1)
    months = len(trend.months) - 1
    assert trend.projection.mean[-1] == pytest.approx(60.0 + 0.2 * months)
    service.save_intervention(session, mission=w.mission, data=_data(
        start=dt.date(2024, 8, 1), ramp="step", ramp_months=0, lag_months=0,
        evidence_kind="expert_judgement",
        effects=[{"metric_slug": "published-metric", "area_code": "E92000001",
                  "central": 10.0, "low": 10.0, "high": 10.0}]))
    adjusted = service.trajectory(session, target=w.target, draws=2_000, seed=1)
    # Expert judgement counts 10%: a certain 10-point estimate adds 1 point.
    assert adjusted.projection.mean[-1] == pytest.approx(60.0 + 0.2 * months + 1.0)


def test_plan_states_follow_status_and_dates(session: Session) -> None:
    from missionboard.delivery.schemas import ChainLinkIn, PlanItemIn

    w = factories.world(session)
    create_organisation(session, data=OrganisationIn(slug="dhsc", name="DHSC",
                                                     kind="central_department"))
    intervention = service.save_intervention(session, mission=w.mission, data=_data())
    today = dt.date(2026, 6, 1)

    def item(due: dt.date, status: str = "not_started", done: dt.date | None = None
             ) -> service.PlanState:
        added = service.add_plan_item(session, intervention=intervention, data=PlanItemIn(
            kind="action", title="Do it", owner="Someone", due=due, status=status,
            completed_on=done))
        return service.plan_state(added, today=today)

    assert item(dt.date(2026, 5, 31)) == service.PlanState.OVERDUE
    assert item(dt.date(2026, 5, 31), "in_progress") == service.PlanState.OVERDUE
    assert item(dt.date(2026, 5, 1), "done", dt.date(2026, 5, 2)) == service.PlanState.DONE
    assert item(dt.date(2026, 5, 1), "dropped") == service.PlanState.DROPPED
    assert item(dt.date(2026, 7, 1)) == service.PlanState.AT_RISK  # 30 days, not started
    assert item(dt.date(2026, 7, 1), "in_progress") == service.PlanState.ON_TRACK
    assert item(dt.date(2026, 7, 2)) == service.PlanState.ON_TRACK
    summary = service.plan_summary([intervention], today=today)
    assert summary[service.PlanState.OVERDUE] == 2
    assert sum(summary.values()) == 7
    with pytest.raises(ValidationError, match="completion date"):
        PlanItemIn(kind="milestone", title="T", owner="O", due=today, status="done")

    chain = service.set_chain(session, intervention=intervention, links=[
        ChainLinkIn(organisation_slug="dhsc", role="Accountable lead"),
        ChainLinkIn(role="Front line")])
    assert [(c.position, c.role) for c in chain] == [(0, "Accountable lead"), (1, "Front line")]
    again = service.set_chain(session, intervention=intervention, links=[
        ChainLinkIn(role="Only link")])
    assert [c.role for c in intervention.chain] == [c.role for c in again] == ["Only link"]
