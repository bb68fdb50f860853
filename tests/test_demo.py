"""The demo: the UK's five missions and the Plan for Change milestones, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts import service as accounts
from missionboard.accounts.models import Role, RoleAssignment, User
from missionboard.analytics.paths import TrackStatus
from missionboard.benchmarking.models import Unit
from missionboard.config import get_settings
from missionboard.demo import DemoSummary, load_demo, metric_slug, read_milestones
from missionboard.metrics import service as metrics
from missionboard.metrics.models import (
    Area,
    Horizon,
    Metric,
    Milestone,
    Observation,
    ObservationRevision,
    ObservationStatus,
    PublicationStatus,
    Target,
)
from missionboard.missions import service as missions
from missionboard.missions.models import (
    BoardMember,
    BoardRole,
    ChangeRecord,
    ContributionRole,
    Mission,
    MissionOrganisation,
    Organisation,
    Outcome,
)
from missionboard.stocktakes.models import Stocktake
from missionboard.web.app import create_app

PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "chief@demo.example"

RHDI = "real-household-disposable-income-rhdi-per-person"
GDP = "gdp-per-capita"
HOMES = "net-additional-dwellings-cumulative-over-the-parliament"
NSIP = "decisions-on-nationally-significant-infrastructure-projects-cumulative"
RTT = "referral-to-treatment-percent-of-incomplete-pathways-waiting-under-18-weeks"
POLICING = "neighbourhood-policing-workforce-officers-pcsos-and-special-constables"
EYFS = "children-achieving-a-good-level-of-development-at-the-end-of-reception-eyfs-profile"
CLEAN = "share-of-great-britains-electricity-generation-from-clean-sources"

#: The published figures in the shared README: (metric, area, period label) → value.
REAL = {
    (RTT, "E92000001", "2024-07"): 58.8,
    (RTT, "E92000001", "2025-10"): 61.7,
    (EYFS, "E92000001", "AY2023-24"): 67.7,
    (EYFS, "E92000001", "AY2024-25"): 68.3,
    (POLICING, "K04000001", "2025-03-31"): 17175.0,
}
ENGLISH_REGIONS = {f"E1200000{i}" for i in range(1, 10)}
GSS = {"UK and its regions": "K02000001", "Great Britain": "K03000001",
       "England and Wales": "K04000001", "England": "E92000001"}


@pytest.fixture
def summary(session: Session) -> DemoSummary:
    return load_demo(session, admin_email=ADMIN_EMAIL, admin_password=PASSWORD)


def only_target(session: Session, slug: str) -> Target:
    (target,) = metrics.get_metric(session, slug=slug, include_drafts=False).targets
    return target


def test_the_csv_gives_the_slugs_the_tests_use() -> None:
    assert [metric_slug(r.metric) for r in read_milestones()] == [
        RHDI, GDP, HOMES, NSIP, RTT, POLICING, EYFS, CLEAN]


def test_five_published_missions_with_their_ambitions_outcomes_and_boards(
    session: Session, summary: DemoSummary
) -> None:
    ambitions = {r.mission: r.mission_ambition for r in read_milestones()}
    found = missions.list_missions(session, include_drafts=True)
    assert [m.slug for m in found] == [
        "economic-growth", "clean-energy", "safer-streets", "opportunity", "nhs"]
    assert summary.missions == 5
    for listed in found:
        mission = missions.get_mission(session, slug=listed.slug, include_drafts=False)
        assert mission.is_published
        assert mission.published_at is not None
        assert mission.ambition == ambitions[mission.slug]
        assert mission.ambition.startswith(mission.title + ":")
        assert 2 <= len(mission.outcomes) <= 4
        board = mission.board_members
        (chair,) = [m for m in board if m.is_chair]
        (lead,) = [m for m in board if m.is_accountable_lead]
        assert chair.name == "Prime Minister"
        assert lead.name.startswith(("Secretary of State", "Chancellor"))
        assert {BoardRole.MINISTER, BoardRole.OFFICIAL, BoardRole.LOCAL_GOVERNMENT,
                BoardRole.NON_EXECUTIVE} <= {m.role for m in board}
        assert all("Illustrative" in m.title for m in board if m.role == BoardRole.NON_EXECUTIVE)
        (lead_org,) = [c.organisation for c in mission.organisations
                       if c.role == ContributionRole.LEAD]
        assert lead.organisation == lead_org
        assert any(c.role == ContributionRole.CONTRIBUTOR for c in mission.organisations)
    horizons = {m.slug: m.horizon_year for m in found}
    assert horizons.pop("clean-energy") == 2030
    assert set(horizons.values()) == {2035}


def test_one_published_metric_and_target_per_csv_row(session: Session, summary: DemoSummary
                                                     ) -> None:
    rows = read_milestones()
    assert summary.metrics == summary.targets == len(rows) == 8
    for row in rows:
        metric = metrics.get_metric(session, slug=metric_slug(row.metric), include_drafts=False)
        assert metric.status == PublicationStatus.PUBLISHED
        assert (metric.title, metric.unit, metric.polarity) == (row.metric, row.unit,
                                                                row.polarity)
        assert metric.source == row.source_series
        assert metric.licence == "Open Government Licence v3.0"
        assert [o.mission.slug for o in metric.outcomes] == [row.mission]
        (target,) = metric.targets
        assert target.area.code == GSS[row.geography]
        assert target.deadline == row.deadline
        assert target.horizon == Horizon.SHORT
        assert target.title == row.milestone
        assert f"“{row.milestone}”" in target.rationale


#: Targets whose baselines are published, or defined (cumulative counts start at 0):
#: metric → (baseline, baseline period, target, deadline).
TARGETS = {
    RTT: (58.8, "2024-07", 92.0, dt.date(2029, 3, 31)),
    POLICING: (17175.0, "2025-03-31", 30175.0, dt.date(2029, 3, 31)),
    EYFS: (67.7, "AY2023-24", 75.0, dt.date(2028, 7, 31)),
    HOMES: (0.0, "2024-07", 1_500_000.0, dt.date(2029, 3, 31)),
    NSIP: (0.0, "2024-07", 150.0, dt.date(2029, 3, 31)),
}


def test_targets_with_published_or_defined_baselines(session: Session, summary: DemoSummary
                                                     ) -> None:
    for slug, expected in TARGETS.items():
        target = only_target(session, slug)
        assert (target.baseline_value, target.baseline_label, target.target_value,
                target.deadline) == expected, slug
        assert not target.baseline_illustrative, slug
    assert "17,175 + 13,000 = 30,175" in only_target(session, POLICING).rationale
    # "2023-24" in the CSV is an academic year, not a financial year.
    eyfs = only_target(session, EYFS)
    assert (eyfs.baseline_period_start, eyfs.baseline_period_end) == (
        dt.date(2023, 9, 1), dt.date(2024, 8, 31))


def test_blank_baselines_are_invented_and_marked_illustrative(
    session: Session, summary: DemoSummary
) -> None:
    for slug in (RHDI, GDP, CLEAN):
        target = only_target(session, slug)
        assert target.baseline_illustrative, slug
        assert "illustrative" in target.rationale, slug
    # "Higher than at the start of the Parliament": the target is the baseline itself.
    for slug in (RHDI, GDP):
        target = only_target(session, slug)
        assert target.target_value == target.baseline_value
        assert "higher than at the start of the Parliament" in target.rationale
    clean = only_target(session, CLEAN)
    assert (clean.target_value, clean.deadline) == (95.0, dt.date(2030, 12, 31))


def test_real_observations_are_not_illustrative_and_the_synthetic_ones_are(
    session: Session, summary: DemoSummary
) -> None:
    rows = session.execute(
        select(Metric.slug, Area.code, Observation.period_label, Observation.value,
               Observation.illustrative)
        .join(Metric, Observation.metric_id == Metric.id)
        .join(Area, Observation.area_id == Area.id)
    ).all()
    real = {(slug, code, label): value for slug, code, label, value, illustrative in rows
            if not illustrative}
    assert real == REAL
    assert summary.observations == len(rows) <= 3000
    assert summary.illustrative_observations == len(rows) - len(REAL)
    # Every metric has data; two have synthetic breakdowns for all of England's regions.
    assert {slug for slug, *_ in rows} == {metric_slug(r.metric) for r in read_milestones()}
    for slug in (RTT, EYFS):
        assert {code for s, code, *_ in rows if s == slug} >= ENGLISH_REGIONS


def test_rtt_is_monthly_between_the_two_published_figures(session: Session,
                                                          summary: DemoSummary) -> None:
    metric = metrics.get_metric(session, slug=RTT, include_drafts=False)
    england = metrics.get_area(session, code="E92000001")
    labels = [o.period_label for o in metrics.series(session, metric_id=metric.id,
                                                     area_id=england.id)]
    assert labels[0] == "2024-07"
    assert labels[-1] == "2025-10"
    assert len(labels) == 16 == len(set(labels))


def test_confidence_limits_bracket_their_values(session: Session, summary: DemoSummary
                                                ) -> None:
    limited = session.scalars(select(Observation).where(Observation.lower.is_not(None))).all()
    assert limited
    assert all(o.illustrative and o.lower is not None and o.upper is not None
               and o.lower <= o.value <= o.upper for o in limited)


def test_one_observation_keeps_its_earlier_value_as_a_revision(
    session: Session, summary: DemoSummary
) -> None:
    (revision,) = session.scalars(select(ObservationRevision)).all()
    observation = revision.observation
    assert observation.illustrative
    assert observation.status == ObservationStatus.REVISED
    assert revision.status == ObservationStatus.PROVISIONAL
    assert revision.value != observation.value
    assert revision.published_at < revision.superseded_at


def test_every_target_has_a_required_path_and_a_status_and_they_differ(
    session: Session, summary: DemoSummary
) -> None:
    statuses = {}
    for target in session.scalars(select(Target)):
        view = metrics.target_view(session, target=target)
        assert view.path.dates == (target.baseline_period_end, target.deadline)
        assert view.path.values == (target.baseline_value, target.target_value)
        assert view.latest is not None
        assert view.latest.period_end > target.baseline_period_end
        statuses[target.metric.slug] = view.assessment.status
    assert len(statuses) == 8
    assert set(statuses.values()) == set(TrackStatus)
    # The published figures put waiting times and school readiness behind their paths.
    assert statuses[RTT] == statuses[EYFS] == TrackStatus.OFF_TRACK


def test_areas_are_keyed_by_gss_codes_with_their_parents(session: Session,
                                                         summary: DemoSummary) -> None:
    parents = {a.code: a.parent.code if a.parent else None for a in metrics.list_areas(session)}
    assert parents == {
        "K02000001": None, "K03000001": "K02000001", "K04000001": "K03000001",
        "E92000001": "K04000001", "W92000004": "K04000001", "S92000003": "K03000001",
        "N92000002": "K02000001", **dict.fromkeys(ENGLISH_REGIONS, "E92000001"),
    }
    assert metrics.get_area(session, code="E12000003").name == "Yorkshire and The Humber"


def test_users_with_the_given_password_and_scoped_roles(session: Session,
                                                        summary: DemoSummary) -> None:
    nhs = missions.get_mission(session, slug="nhs", include_drafts=False)
    rtt = metrics.get_metric(session, slug=RTT, include_drafts=False)
    expected = {
        ADMIN_EMAIL: (Role.ADMIN, None, None),
        "viewer@demo.example": (Role.VIEWER, None, None),
        "editor@demo.example": (Role.MISSION_EDITOR, nhs.id, None),
        "publisher@demo.example": (Role.DATA_PUBLISHER, None, rtt.id),
        "lead@demo.example": (Role.VIEWER, None, None),
        "nonexec@demo.example": (Role.VIEWER, None, None),
    }
    for email, role in expected.items():
        user = accounts.authenticate(session, email=email, password=PASSWORD, ip="127.0.0.1",
                                     max_failures=5, window_seconds=900)
        assert user is not None, email
        assert [(r.role, r.mission_id, r.metric_id) for r in user.roles] == [role]


def table_counts(session: Session) -> dict[str, int]:
    models = (Organisation, Mission, Outcome, BoardMember, MissionOrganisation, ChangeRecord,
              Area, Metric, Target, Milestone, Observation, ObservationRevision, User,
              RoleAssignment)
    return {m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in models}


def test_loading_twice_changes_nothing(session: Session, summary: DemoSummary) -> None:
    assert summary.loaded
    before = table_counts(session)
    again = load_demo(session, admin_email=ADMIN_EMAIL, admin_password=PASSWORD)
    assert again == DemoSummary(loaded=False)
    assert table_counts(session) == before
    assert before["missions"] == 5
    assert before["observations"] == summary.observations


def test_the_demo_is_the_same_every_time(session: Session, summary: DemoSummary) -> None:
    def snapshot() -> list[tuple[object, ...]]:
        return [tuple(row) for row in session.execute(
            select(Metric.slug, Area.code, Observation.period_label, Observation.value,
                   Observation.lower, Observation.upper)
            .join(Metric, Observation.metric_id == Metric.id)
            .join(Area, Observation.area_id == Area.id)
            .order_by(Metric.slug, Area.code, Observation.period_end))]

    first = snapshot()
    session.rollback()  # back to before the fixture's load (the test's SAVEPOINT)
    assert session.scalar(select(func.count()).select_from(Mission)) == 0
    assert load_demo(session, admin_email=ADMIN_EMAIL, admin_password=PASSWORD) == summary
    assert snapshot() == first


def test_the_site_shows_the_demo(session: Session, summary: DemoSummary,
                                 session_factory: sessionmaker[Session]) -> None:
    session.commit()  # releases the SAVEPOINT; the outer test transaction still rolls back
    app = create_app(get_settings(secret_key="test-secret"), session_factory=session_factory)
    pages = ["/", "/metrics", *(f"/missions/{m}" for m in (
        "economic-growth", "clean-energy", "safer-streets", "opportunity", "nhs"))]
    pages += [f"/metrics/{metric_slug(r.metric)}" for r in read_milestones()]
    held = session.scalar(select(func.min(Stocktake.id)))
    pages += ["/missions/nhs/stocktakes", "/missions/nhs/challenges",
              f"/missions/nhs/stocktakes/{held}", f"/missions/nhs/stocktakes/{held}/pack.pdf"]
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        for page in pages:
            assert client.get(page).status_code == 200, page
        london = client.get(f"/metrics/{RTT}?area=E12000007")
    assert london.status_code == 200
    assert "Illustrative data" in london.text


def test_every_mission_has_interventions_with_illustrative_estimates(
    session: Session, summary: DemoSummary
) -> None:
    from missionboard.delivery.service import effects_on, list_interventions
    from missionboard.missions.service import list_missions

    assert summary.interventions == 14
    for mission in list_missions(session, include_drafts=False):
        interventions = list_interventions(session, mission=mission)
        assert interventions, mission.slug
        for intervention in interventions:
            assert intervention.effects, intervention.slug
            assert intervention.evidence_reference.startswith("Illustrative")
    rtt = only_target(session, RTT)
    assert len(effects_on(session, metric_id=rtt.metric_id, area_id=rtt.area_id)) == 4
    with_plans = [i for m in list_missions(session, include_drafts=False)
                  for i in list_interventions(session, mission=m) if i.plan]
    assert len(with_plans) == 2
    assert all(len(i.chain) >= 3 for i in with_plans)


def test_a_held_stocktake_with_frozen_pack_judgement_and_actions_followed_up(
    session: Session, summary: DemoSummary
) -> None:
    from missionboard.stocktakes import service as stocktakes

    assert summary.stocktakes == 3
    nhs = missions.get_mission(session, slug="nhs", include_drafts=False)
    upcoming, autumn, summer = stocktakes.list_stocktakes(session, mission=nhs)
    assert not upcoming.is_issued
    for held in (summer, autumn):
        assert held.pack is not None
        assert held.pack_sha256 == stocktakes.pack_digest(held.pack)
        assert held.judgement is not None
        assert held.actions
        assert held.issued_at is not None
        assert held.issued_at.date() < held.meeting_on
    assert autumn.pack is not None
    reported = {a["title"]: a["status"] for a in autumn.pack["last_actions"]}
    assert reported == {a.title: a.status.value for a in summer.actions}
    assert "done" in reported.values()
    assert "open" in reported.values()
    assert [h.judgement.overall.value for h in stocktakes.judgement_history(
        session, mission=nhs)] == ["amber_red", "amber_green"]
    draft = stocktakes.pack_of(session, upcoming)
    assert draft["previous"]["id"] == autumn.id
    assert [c["question"][:30] for c in draft["open_challenges"]] == [
        "How will the programme know wh"]
    (published,) = stocktakes.list_challenges(session, mission=nhs, published_only=True)
    assert published.answer
    assert nhs.judgements_public


def test_synthetic_unit_level_data_for_two_metrics(session: Session, tmp_path: Path) -> None:
    from missionboard.benchmarking import service as benchmarking
    from missionboard.benchmarking import store

    summary = load_demo(session, admin_email=ADMIN_EMAIL, admin_password=PASSWORD,
                        data_dir=tmp_path)
    assert summary.unit_rows == 120 * 24 + 300 * 5
    unit_metrics = benchmarking.list_unit_metrics(session, include_drafts=False)
    assert len(unit_metrics) == 2
    for unit_metric in unit_metrics:
        assert unit_metric.illustrative
        latest = store.cross_section(store.dataset_path(tmp_path, unit_metric.metric.slug))
        assert len(latest.units) in {120, 300}
        assert (latest.numerator <= latest.denominator).all()
    assert all(u.illustrative and u.name.startswith("Illustrative")
               for u in session.scalars(select(Unit)))
    again = load_demo(session, admin_email=ADMIN_EMAIL, admin_password=PASSWORD,
                      data_dir=tmp_path)
    assert not again.loaded


def test_the_demo_panel_is_recruited_selected_replaced_and_answered(
        session: Session, summary: DemoSummary, session_factory: sessionmaker[Session],
        tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from missionboard.cli import app as cli_app
    from missionboard.panels import selection
    from missionboard.panels import service as panels
    from missionboard.panels.models import PanelStage, RunKind, VolunteerStatus

    assert summary.panels == 1
    panel = panels.get_panel(session, slug="nhs-waiting-lists-panel")
    assert panel.mission.slug == "nhs"
    assert panel.stage == PanelStage.REPORTED
    assert panels.count_addresses(session, panel) == {"addresses": 400, "invited": 300}
    assert panels.count_volunteers(session, panel) == 150
    first, second = selection.runs(session, panel)
    assert (first.kind, first.k, first.pool_size) == (RunKind.INITIAL, 26, 150)
    assert (second.kind, second.k, len(second.replaced)) == (RunKind.REPLACEMENT, 1, 1)
    assert first.min_probability is not None
    assert first.legacy_min_probability is not None
    assert first.min_probability > first.legacy_min_probability
    members = panels.members(session, panel)
    assert len(members) == 26
    assert sum(m.status == VolunteerStatus.REPLACEMENT for m in members) == 1
    fit = selection.quota_fit(panel, pool=panels.volunteers(session, panel), on_panel=members)
    assert all(row["met"] for row in fit)
    items = panels.recommendations(session, panel)
    assert [r.response.status.value for r in items if r.response] == [
        "accepted", "accepted_in_part", "under_consideration"]
    session.commit()
    app = create_app(get_settings(secret_key="test-secret"), session_factory=session_factory)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        for page in ("/panels", "/panels/nhs-waiting-lists-panel", "/missions/nhs",
                     "/panels/nhs-waiting-lists-panel/selection"):
            assert client.get(page).status_code == 200, page
        for name in ("people.csv", "features.csv"):
            body = client.get(f"/panels/nhs-waiting-lists-panel/runs/1/{name}").content
            (tmp_path / name).write_bytes(body)
        published = client.get("/panels/nhs-waiting-lists-panel/runs/1/result.json").json()
    out = CliRunner().invoke(cli_app, [
        "panel", "select", "--people", str(tmp_path / "people.csv"), "--features",
        str(tmp_path / "features.csv"), "--number", "26", "--address-columns", "household",
        "--seed", str(published["seed"]), "--json"])
    assert out.exit_code == 0, out.output
    rerun = json.loads(out.stdout)
    assert rerun["selected"] == published["selected"]
    assert rerun["inputs_sha256"] == published["inputs_sha256"]


def test_the_demo_adoption_programme(session: Session, summary: DemoSummary,
                                     session_factory: sessionmaker[Session]) -> None:
    from missionboard.trials import adoption, adoption_demo
    from missionboard.trials.adoption_models import Fidelity

    programme = adoption.get_programme(session, slug=adoption_demo.SLUG)
    assert programme.illustrative
    assert programme.mission.slug == "opportunity"
    assert programme.trial is not None
    assert programme.trial.slug == "early-language-trial"
    assert programme.intervention is not None
    s = adoption.summary(session, programme, as_of=adoption_demo.RECORDS_TO)
    assert s.eligible == adoption_demo.SCHOOLS
    assert len(s.curve) == 24
    assert 0 < s.curve[0].adopting < s.curve[12].adopting < s.curve[-1].adopting < s.eligible
    assert s.stopped > 0
    assert all(s.fidelity[level] > 0 for level in Fidelity)
    assert s.non_adopters
    assert len({a.area for a in s.areas}) == 3
    assert s.projection.fitted
    session.commit()
    app = create_app(get_settings(secret_key="test-secret"), session_factory=session_factory)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get(f"/adoption/{adoption_demo.SLUG}")
        assert page.status_code == 200
        assert "Illustrative" in page.text
        assert f"/adoption/{adoption_demo.SLUG}" in client.get("/missions/opportunity").text
