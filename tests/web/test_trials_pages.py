"""Trials through the pages: a trial team's journey from registration to the locked plan,
the units and the seed commitment; the public register, its exports and the trial page;
drafts seen only by the mission's editors; outcome data refused before the plan is locked;
all-or-nothing uploads naming row and column."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.panels import published
from missionboard.trials import service
from missionboard.trials.models import AnalysisPlan, Trial, TrialExposure, TrialStatus
from tests.factories import World
from tests.trials import builders
from tests.web.conftest import check_page, csrf_from, sign_in


def _post(client: TestClient, path: str, data: dict[str, Any] | None = None,
          files: dict[str, Any] | None = None) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(path, data={**(data or {}), "csrf_token": token}, files=files)


def _csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _trial(session: Session, slug: str = "tutoring") -> Trial:
    session.expire_all()
    return session.scalars(select(Trial).where(Trial.slug == slug)).one()


TRIAL_FORM = {
    "slug": "tutoring", "title": "Small-group tutoring in Year 6",
    "question": "Does small-group tutoring raise Year 6 maths attainment?",
    "population": "Year 6 pupils in state primary schools", "owner": "Department for Education",
    "unit_kind": "cluster", "cluster_kind": "school", "design": "cluster",
    "arms": "control | Usual teaching | 1\ntutoring | Small-group tutoring | 1",
    "outcomes": "maths | primary | KS2 maths scaled score\n"
                "reading | secondary | KS2 reading scaled score",
    "planned_units": "2400", "planned_clusters": "80", "start_on": "2026-09-01",
    "end_on": "2027-07-20", "analysis_on": "2027-10-01", "cost_per_participant": "310",
    "ethics": "Approved (ref. 2026-041)", "data_sharing": "Aggregates published",
}
PLAN_FORM = {"plan_outcomes": "maths | primary\nreading | secondary", "model": "cluster_robust",
             "covariates": "prior", "subgroups": "fsm", "multiple_testing": "holm",
             "alpha": "0.05", "notes": "Two-sided tests."}


def test_a_trial_team_registers_plans_and_commits(client: TestClient, world: World,
                                                  session: Session) -> None:
    sign_in(client, world.editor)
    check_page(client.get(f"/missions/{world.mission.slug}/trials"))
    check_page(client.get(f"/missions/{world.mission.slug}/trials/new"))
    bad = _post(client, f"/missions/{world.mission.slug}/trials/new",
                {**TRIAL_FORM, "cluster_kind": "", "title": ""})
    html = check_page(bad, status=422)
    assert "There is a problem" in html
    assert "Enter title" in html
    assert "The cluster kind: say what a cluster is" in html
    made = _post(client, f"/missions/{world.mission.slug}/trials/new", TRIAL_FORM)
    assert made.status_code == 303
    assert made.headers["location"] == "/trials/tutoring/manage"
    check_page(client.get("/trials/tutoring/manage"))
    check_page(client.get("/trials/tutoring/edit"))
    assert "Small-group tutoring" in check_page(client.get("/trials/tutoring"))

    # The plan: a draft, then locked; outcome data is refused until then.
    refused = _post(client, "/trials/tutoring/outcomes", files={
        "outcomes_file": ("o.csv", "unit_id,outcome,value\nP0000,maths,101\n", "text/csv")})
    assert refused.status_code == 409
    assert "Lock the analysis plan" in refused.text
    bad_plan = _post(client, "/trials/tutoring/plan", {**PLAN_FORM, "plan_outcomes": "science |"
                                                                                       " primary"})
    assert "Not an outcome of this trial" in check_page(bad_plan, status=422)
    assert _post(client, "/trials/tutoring/plan", PLAN_FORM).status_code == 303
    assert "Lock the analysis plan" in check_page(client.get("/trials/tutoring/manage"))
    assert _post(client, "/trials/tutoring/plan/lock").status_code == 303
    plan = session.scalars(select(AnalysisPlan)).one()
    page = check_page(client.get("/trials/tutoring/manage"))
    assert plan.sha256 in page
    no_reason = _post(client, "/trials/tutoring/plan/amend", {**PLAN_FORM, "alpha": "0.01"})
    assert "Give the reason for the amendment" in check_page(no_reason, status=422)
    amended = _post(client, "/trials/tutoring/plan/amend",
                    {**PLAN_FORM, "alpha": "0.01", "reason": "The board asked for 1%"})
    assert amended.status_code == 303

    # Registration, the units (all or nothing) and the seed commitment.
    assert _post(client, "/trials/tutoring/status", {"status": "registered"}).status_code == 303
    rows = builders.unit_rows()
    rows[4] = {**rows[4], "covariate_prior": "n/a"}
    broken = _post(client, "/trials/tutoring/units",
                   files={"units_file": ("units.csv", _csv(rows), "text/csv")})
    assert "Row 6, column covariate_prior" in check_page(broken, status=422)
    assert service.count_units(session, _trial(session)) == 0
    rows[4] = {**rows[4], "covariate_prior": "100"}
    assert _post(client, "/trials/tutoring/units", files={
        "units_file": ("units.csv", _csv(rows), "text/csv")}).status_code == 303
    seed = 271828
    wrong = _post(client, "/trials/tutoring/commit", {"seed_source": "organiser",
                                                      "commitment": "abc"})
    assert "commitment" in check_page(wrong, status=422)
    assert _post(client, "/trials/tutoring/commit", {
        "seed_source": "organiser", "commitment": published.seed_commitment(seed),
        "seed_description": "Drawn from a hat at the board meeting"}).status_code == 303
    mismatch = _post(client, "/trials/tutoring/allocate", {"seed": str(seed + 1)})
    assert "does not match the published commitment" in check_page(mismatch, status=422)

    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    public = check_page(client.get("/trials/tutoring"))
    assert published.seed_commitment(seed) in public
    assert "Not revealed until the allocation" in public
    assert "Amendments to the analysis plan" in public
    assert "The board asked for 1%" in public
    versions = session.scalars(select(AnalysisPlan).order_by(AnalysisPlan.version)).all()
    for version in versions:
        assert version.sha256 in public
        body = client.get(f"/trials/tutoring/plans/{version.version}/plan.json").content
        assert hashlib.sha256(body).hexdigest() == version.sha256
    assert client.get("/trials/tutoring/allocation.csv").status_code == 303


def test_drafts_are_seen_only_by_the_missions_editors(client: TestClient, world: World,
                                                      session: Session) -> None:
    builders.new_trial(session, world.mission, slug="draft-trial")
    builders.new_trial(session, world.mission, slug="public-trial",
                       status=TrialStatus.REGISTERED)
    session.commit()
    for who in (None, world.viewer, world.other_editor):
        if who is not None:
            sign_in(client, who)
        assert client.get("/trials/draft-trial").status_code == 404
        index = check_page(client.get("/trials"))
        assert "/trials/public-trial" in index
        assert "/trials/draft-trial" not in index
    sign_in(client, world.editor)
    assert "draft: not public" in check_page(client.get("/trials/draft-trial"))
    assert "/trials/draft-trial" in check_page(client.get(f"/missions/{world.mission.slug}"
                                                          "/trials"))


def test_the_register_exports_registered_trials(client: TestClient, world: World,
                                                session: Session) -> None:
    builders.new_trial(session, world.mission, slug="draft-trial")
    trial = builders.new_trial(session, world.mission, slug="public-trial",
                               status=TrialStatus.RECRUITING)
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    plan = service.lock_plan(session, trial=trial)
    session.commit()
    sign_in(client, world.editor)  # even for an editor, drafts are not in the register
    rows = list(csv.DictReader(io.StringIO(client.get("/trials/register.csv").text)))
    assert [r["trial_id"] for r in rows] == ["public-trial"]
    assert rows[0]["recruitment_status"] == "recruiting"
    assert rows[0]["primary_outcomes"] == "KS2 maths scaled score"
    assert rows[0]["target_sample_size"] == "2400"
    assert rows[0]["analysis_plan_sha256"] == plan.sha256
    data = json.loads(client.get(f"/trials/register.json?mission={world.mission.slug}").text)
    assert [t["trial_id"] for t in data["trials"]] == ["public-trial"]
    assert data["trials"][0]["ethics_review"].startswith("Approved")
    record = client.get("/trials/public-trial/registration.json").json()
    assert record["sponsor"] == "Department for Education"
    assert client.get("/trials/register.json?mission=nowhere").status_code == 404


def test_a_draft_plan_is_not_downloadable_by_the_public(client: TestClient, world: World,
                                                        session: Session) -> None:
    trial = builders.new_trial(session, world.mission, status=TrialStatus.REGISTERED)
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    session.commit()
    assert client.get("/trials/tutoring/plans/1/plan.json").status_code == 404
    assert client.get("/trials/tutoring/plans/2/plan.json").status_code == 404
    assert client.get("/trials/tutoring/plans/99999999999/plan.json").status_code == 400
    sign_in(client, world.editor)
    assert client.get("/trials/tutoring/plans/1/plan.json").status_code == 200


@pytest.mark.parametrize("status", [TrialStatus.REGISTERED, TrialStatus.RECRUITING])
def test_stopping_a_trial_needs_a_reason(client: TestClient, world: World, session: Session,
                                         status: TrialStatus) -> None:
    builders.new_trial(session, world.mission, status=status)
    session.commit()
    sign_in(client, world.editor)
    html = check_page(_post(client, "/trials/tutoring/status", {"status": "stopped"}),
                      status=422)
    assert "Give the reason the trial stopped" in html
    assert _post(client, "/trials/tutoring/status", {"status": "stopped",
                                                     "stop_reason": "Schools withdrew"}
                 ).status_code == 303
    assert "Schools withdrew" in check_page(client.get("/trials/tutoring"))


def test_the_trial_page_shows_the_allocation_balance_and_drift(client: TestClient,
                                                                world: World,
                                                                session: Session) -> None:
    trial = builders.new_trial(session, world.mission, status=TrialStatus.REGISTERED)
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    service.lock_plan(session, trial=trial)
    service.import_units(session, trial=trial, rows=builders.unit_rows())
    builders.commit(session, trial)
    session.commit()

    sign_in(client, world.editor)
    done = _post(client, "/trials/tutoring/allocate", {"seed": str(builders.SEED)})
    assert done.status_code == 303
    manage = check_page(client.get("/trials/tutoring/manage"))
    assert "Download the allocation" in manage
    allocation = client.get("/trials/tutoring/allocation.csv")
    rows = list(csv.DictReader(io.StringIO(allocation.text)))
    assert len(rows) == 40
    assert {r["arm"] for r in rows} == {"control", "tutoring"}
    bad = _post(client, "/trials/tutoring/outcomes", files={"outcomes_file": (
        "o.csv", "unit_id,outcome,value\nP0000,maths,101\nP0001,maths,lots\n", "text/csv")})
    assert "Row 3, column value" in check_page(bad, status=422)
    assert _post(client, "/trials/tutoring/outcomes", files={"outcomes_file": (
        "o.csv", "unit_id,outcome,value\nP0000,maths,101\n", "text/csv")}).status_code == 303

    trial = _trial(session)
    service.set_status(session, trial=trial, status=TrialStatus.RECRUITING)
    for i in range(30):
        service.assign(session, trial=trial, unit_id=f"late-{i}")
    session.commit()
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    page = check_page(client.get("/trials/tutoring"))
    assert f"<code>{builders.SEED}</code>" in page
    assert "Balance of the covariates" in page
    assert "Cluster randomisation" in page
    assert "Units assigned so far, by arm" in page
    assert "Sample ratio mismatch" not in page
    assert "Outcome data loads and the plan in force at each" in page
    session.add_all(TrialExposure(trial_id=trial.id, unit_id=f"lost-{i}", arm="control")
                    for i in range(60))
    session.commit()
    assert "Sample ratio mismatch" in check_page(client.get("/trials/tutoring"))


def test_a_registered_trial_keeps_its_arms_through_the_form(client: TestClient, world: World,
                                                            session: Session) -> None:
    builders.new_trial(session, world.mission, status=TrialStatus.REGISTERED)
    session.commit()
    sign_in(client, world.editor)
    form = check_page(client.get("/trials/tutoring/edit"))
    assert "its arms, outcomes, design and unit of randomisation are fixed" in form
    assert 'name="arms"' in form
    values = dict(TRIAL_FORM, title="Tutoring in Year 6, renamed", end_on="2027-07-22")
    del values["slug"]
    saved = _post(client, "/trials/tutoring/edit", {
        **values, "arms": "control | Usual teaching | 1\ntutoring | Small-group tutoring | 1",
        "outcomes": "maths | primary | KS2 maths scaled score\n"
                    "reading | secondary | KS2 reading scaled score"})
    assert saved.status_code == 303, saved.text[:2000]
    assert _trial(session).title == "Tutoring in Year 6, renamed"
    changed = _post(client, "/trials/tutoring/edit", {
        **values, "arms": "control | Usual teaching | 2\ntutoring | Small-group tutoring | 1"})
    assert "arms and their ratio can no longer change" in check_page(changed, status=422)
    missing = _post(client, "/trials/tutoring/commit", {"seed_source": "organiser"})
    assert 'href="#commitment"' in check_page(missing, status=422)
