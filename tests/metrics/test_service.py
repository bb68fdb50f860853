"""Metrics and targets: reasons for changes, required paths and status from the database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from missionboard.analytics.paths import TrackStatus
from missionboard.errors import ReasonRequired, ValidationFailed
from missionboard.metrics import service
from missionboard.metrics.schemas import MetricIn, MilestoneIn, TargetIn
from missionboard.missions.service import list_changes
from tests import factories


def _target_in(**changes: object) -> TargetIn:
    base: dict[str, object] = {
        "area_code": "E92000001", "title": "Reach the target", "baseline_value": 60.0,
        "baseline_period": "2024-07", "target_value": 90.0, "deadline": dt.date(2029, 3, 31),
        "horizon": "short"}
    base.update(changes)
    return TargetIn.model_validate(base)


def test_target_change_on_a_published_metric_needs_a_reason(session: Session) -> None:
    w = factories.world(session)
    with pytest.raises(ReasonRequired):
        service.update_target(session, target=w.target, data=_target_in(target_value=85.0),
                              actor=w.editor, reason=None)
    assert w.target.target_value == 90.0
    service.update_target(session, target=w.target, data=_target_in(
        target_value=85.0, milestones=[MilestoneIn(due=dt.date(2027, 3, 31), value=75)]),
        actor=w.editor, reason="Spending review")
    (change,) = list_changes(session, metric_id=w.metric.id)
    assert change.author_name == w.editor.name
    assert change.fields["target_value"] == {"old": 90.0, "new": 85.0}
    assert change.fields["milestones"] == {"old": "", "new": "2027-03-31: 75"}
    assert w.target.target_value == 85.0
    assert [m.value for m in w.target.milestones] == [75]


def test_rationale_only_change_needs_no_reason(session: Session) -> None:
    w = factories.world(session)
    service.update_target(session, target=w.target, data=_target_in(rationale="Why"),
                          actor=w.editor, reason=None)
    assert list_changes(session, metric_id=w.metric.id) == []


def test_metric_definition_change_is_recorded(session: Session) -> None:
    w = factories.world(session)
    data = MetricIn(slug=w.metric.slug, title=w.metric.title, definition="A new definition",
                    kind="proportion", unit="percent", polarity="higher_is_better",
                    frequency="monthly")
    with pytest.raises(ReasonRequired):
        service.update_metric(session, metric=w.metric, data=data, actor=w.editor, reason="")
    service.update_metric(session, metric=w.metric, data=data, actor=w.editor,
                          reason="ONS changed the survey")
    (change,) = list_changes(session, metric_id=w.metric.id)
    assert change.fields == {"definition": {"old": "What is counted", "new": "A new definition"}}


def test_target_view_uses_the_latest_actual_and_its_interval(session: Session) -> None:
    w = factories.world(session)
    view = service.target_view(session, target=w.target)
    assert view.latest is not None
    assert view.latest.period_label == "2025-07"
    # Path from 60 at 2024-07-31 to 90 at 2029-03-31 (1704 days); 2025-07-31 is day 365.
    assert view.assessment.required_value == pytest.approx(60 + 30 * 365 / 1704)
    assert view.assessment.status == TrackStatus.ON_TRACK  # 70 against about 66.4
    # 2025-10-31 is day 457: the path needs about 68.05.
    later = factories.observation(session, w.metric, w.area, "2025-10", 67.0, lower=66.0,
                                  upper=69.0)
    assert service.target_view(session, target=w.target).assessment.status == \
        TrackStatus.TOO_EARLY  # behind, but the interval reaches the path
    later.upper = 68.0
    session.flush()
    assert service.target_view(session, target=w.target).assessment.status == \
        TrackStatus.OFF_TRACK


def test_rate_metrics_need_a_base(session: Session) -> None:
    with pytest.raises(ValueError, match="rate per"):
        MetricIn(slug="r", title="R", definition="D", kind="rate", unit="per 100,000",
                 polarity="lower_is_better", frequency="annual")


def test_target_dates_are_checked(session: Session) -> None:
    with pytest.raises(ValueError, match="deadline"):
        _target_in(deadline=dt.date(2024, 1, 1))
    with pytest.raises(ValueError, match="between"):
        _target_in(milestones=[MilestoneIn(due=dt.date(2031, 1, 1), value=1)])
    w = factories.world(session)
    with pytest.raises(ValidationFailed):
        service.create_metric(session, data=MetricIn(
            slug=w.metric.slug, title="Dup", definition="D", kind="count", unit="n",
            polarity="neither", frequency="annual"))
