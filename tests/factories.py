"""Build test data through the services, as the application does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import Role, User
from missionboard.analytics.periods import parse_period
from missionboard.metrics import service as metrics
from missionboard.metrics.models import Area, Metric, Observation, PublicationStatus, Target
from missionboard.metrics.schemas import AreaIn, MetricIn, TargetIn
from missionboard.missions import service as missions
from missionboard.missions.models import Mission, MissionStatus, Outcome
from missionboard.missions.schemas import MissionIn, OutcomeIn

PASSWORD = "correct horse battery staple"


def user(session: Session, email: str, *roles: tuple[Role, int | None, int | None]) -> User:
    return accounts.create_user(session, email=email, name=email.split("@", maxsplit=1)[0].title(),
                                password=PASSWORD, roles=roles)


def mission(session: Session, slug: str, *, published: bool = True) -> Mission:
    m = missions.create_mission(session, data=MissionIn(
        slug=slug, title=f"Mission {slug}", ambition=f"The ambition of {slug}",
        horizon_year=2035))
    if published:
        missions.set_mission_status(session, mission=m, status=MissionStatus.PUBLISHED,
                                    actor=None, reason=None)
    return m


def outcome(session: Session, m: Mission, slug: str = "main") -> Outcome:
    return missions.add_outcome(session, mission=m, data=OutcomeIn(slug=slug,
                                                                   title=f"Outcome {slug}"))


def area(session: Session, code: str = "E92000001", name: str = "England") -> Area:
    return metrics.create_area(session, data=AreaIn(code=code, name=name, level="nation"))


def metric(session: Session, slug: str, outcomes: list[Outcome], *, published: bool = True
           ) -> Metric:
    m = metrics.create_metric(session, data=MetricIn(
        slug=slug, title=f"Metric {slug}", definition="What is counted", kind="proportion",
        unit="percent", polarity="higher_is_better", frequency="monthly"), outcomes=outcomes)
    if published:
        metrics.set_metric_status(session, metric=m, status=PublicationStatus.PUBLISHED,
                                  actor=None, reason=None)
    return m


def target(session: Session, m: Metric, *, area_code: str = "E92000001",
           baseline: float = 60.0, value: float = 90.0,
           baseline_period: str = "2024-07", deadline: dt.date = dt.date(2029, 3, 31)) -> Target:
    return metrics.create_target(session, metric=m, data=TargetIn(
        area_code=area_code, title="Reach the target", baseline_value=baseline,
        baseline_period=baseline_period, target_value=value, deadline=deadline,
        horizon="short"))


def observation(session: Session, m: Metric, a: Area, period: str, value: float,
                **extra: object) -> Observation:
    p = parse_period(period)
    o = Observation(metric_id=m.id, area_id=a.id, period_start=p.start, period_end=p.end,
                    period_label=p.label, value=value, **extra)
    session.add(o)
    session.flush()
    return o


@dataclass
class World:
    """A small, realistic setup: one published and one draft of each thing."""

    mission: Mission
    draft_mission: Mission
    outcome: Outcome
    draft_outcome: Outcome
    metric: Metric
    draft_metric: Metric
    area: Area
    target: Target
    admin: User
    editor: User
    other_editor: User
    publisher: User
    viewer: User
    nobody: User


def world(session: Session) -> World:
    pub = mission(session, "published-mission")
    draft = mission(session, "draft-mission", published=False)
    other = mission(session, "other-mission")
    out = outcome(session, pub)
    draft_out = outcome(session, draft)
    outcome(session, other)
    eng = area(session)
    met = metric(session, "published-metric", [out])
    draft_met = metric(session, "draft-metric", [draft_out], published=False)
    tgt = target(session, met)
    observation(session, met, eng, "2024-07", 60.0)
    observation(session, met, eng, "2025-07", 70.0, lower=65.0, upper=75.0)
    return World(
        mission=pub, draft_mission=draft, outcome=out, draft_outcome=draft_out, metric=met,
        draft_metric=draft_met, area=eng, target=tgt,
        admin=user(session, "admin@example.org", (Role.ADMIN, None, None)),
        editor=user(session, "editor@example.org", (Role.MISSION_EDITOR, pub.id, None),
                    (Role.MISSION_EDITOR, draft.id, None)),
        other_editor=user(session, "other@example.org", (Role.MISSION_EDITOR, other.id, None)),
        publisher=user(session, "publisher@example.org", (Role.DATA_PUBLISHER, None, met.id)),
        viewer=user(session, "viewer@example.org", (Role.VIEWER, None, None)),
        nobody=user(session, "nobody@example.org"),
    )
