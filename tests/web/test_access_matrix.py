"""Every write endpoint and every draft page, tried anonymously, with the wrong role and with
the right one. Anonymous callers are sent to sign in; wrong roles are refused and write
nothing; right roles succeed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from missionboard.accounts.models import AuditEntry, User
from missionboard.benchmarking.service import import_units
from missionboard.deliberation import service as deliberation
from missionboard.deliberation.models import ConversationStatus
from missionboard.deliberation.schemas import ConversationIn
from missionboard.delivery import service as delivery
from missionboard.delivery.models import Intervention, PlanItem
from missionboard.delivery.schemas import InterventionIn, PlanItemIn
from missionboard.missions.models import BoardMember
from missionboard.panels import selection as panel_selection
from missionboard.panels import service as panels
from missionboard.panels.models import SeedSource
from missionboard.panels.schemas import CommitIn, RecommendationIn
from missionboard.stocktakes import service as stocktakes
from missionboard.stocktakes.models import Action, Challenge, Risk, Stocktake
from missionboard.stocktakes.schemas import ActionIn, AnswerIn, ChallengeIn, RiskIn, StocktakeIn
from missionboard.trials import service as trials
from missionboard.trials.models import TrialStatus
from missionboard.trials.schemas import AllocationIn
from tests.factories import World
from tests.panels import builders as panel_builders
from tests.stocktakes.test_service import judgement_form
from tests.trials import adoption_builders
from tests.trials import builders as trial_builders
from tests.trials.results_builders import with_results
from tests.web.conftest import csrf_from, sign_in

Form = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Write:
    name: str
    path: Callable[[World], str]
    form: Form
    right: str  # an attribute of World: the user who may do it
    wrong: str  # a signed-in user who may not
    files: bool = False


def _mission_form(w: World) -> dict[str, Any]:
    return {"slug": "new-mission", "title": "A new mission", "ambition": "Bold",
            "horizon_year": "2035"}


def _metric_form(w: World) -> dict[str, Any]:
    return {"slug": "new-metric", "title": "New", "definition": "Counted", "kind": "count",
            "unit": "people", "polarity": "higher_is_better", "frequency": "annual",
            "outcomes": str(w.outcome.id)}


def _target_form(w: World) -> dict[str, Any]:
    return {"title": "T", "area_code": "E92000001", "baseline_value": "60",
            "baseline_period": "2024-07", "target_value": "80", "deadline": "2030-03-31",
            "horizon": "long", "shape": "linear", "milestones": "", "reason": "Because"}


@pytest.fixture(autouse=True)
def _interventions(session: Session, world: World) -> None:
    """Two interventions of the editors' mission, with a plan item and an overlap."""
    existing, partner = (
        delivery.save_intervention(session, mission=world.mission, data=InterventionIn(
            slug=slug, title=slug.title(), start=dt.date(2025, 1, 1),
            evidence_kind="pilot_trial", evidence_strength="moderate"))
        for slug in ("existing", "partner"))
    delivery.add_plan_item(session, intervention=existing, data=PlanItemIn(
        kind="milestone", title="Open", owner="Team", due=dt.date(2030, 1, 1)))
    delivery.set_overlap(session, first=existing, second=partner, shared_fraction=0.2)
    session.commit()


@pytest.fixture(autouse=True)
def _stocktakes(session: Session, world: World) -> None:
    """An issued stocktake with an action, an unissued one, a risk and an answered challenge."""
    issued, _ = (stocktakes.create_stocktake(session, mission=world.mission, data=StocktakeIn(
        title=title, meeting_on=dt.date(2025, 9, 10), as_of=dt.date(2025, 8, 31)))
        for title in ("Issued", "Upcoming"))
    stocktakes.issue_pack(session, stocktake=issued, actor=world.editor)
    stocktakes.add_action(session, stocktake=issued, data=ActionIn(
        title="Act", owner="Team", due=dt.date(2025, 12, 1)))
    stocktakes.save_risk(session, mission=world.mission, data=RiskIn(
        title="Risk", owner="Team", likelihood=2, impact=3, raised_on=dt.date(2025, 1, 1)))
    challenge = stocktakes.raise_challenge(session, mission=world.mission, actor=world.editor,
                                           data=ChallengeIn(question="Why?",
                                                            raised_on=dt.date(2025, 8, 1)))
    stocktakes.answer_challenge(session, challenge=challenge, actor=world.editor,
                                data=AnswerIn(answer="Because", answered_on=dt.date(2025, 8, 2)))
    session.commit()


@pytest.fixture(autouse=True)
def _units(session: Session, world: World) -> None:
    import_units(session, rows=[{"code": "U01", "name": "Unit one", "kind": "school"}])
    session.commit()


@pytest.fixture(autouse=True)
def _conversations(session: Session, world: World) -> None:
    """An open conversation with a statement waiting for moderation, and a draft one."""
    for slug in ("talk", "draft-talk"):
        conversation = deliberation.create_conversation(
            session, mission=world.mission, data=ConversationIn(
                slug=slug, title=slug.title(), question="What next?",
                participation="xid" if slug == "talk" else "anonymous"))
        deliberation.add_seed(session, conversation, "Buses should run every ten minutes.")
    talk = deliberation.get_conversation(session, slug="talk", include_drafts=True)
    deliberation.set_status(session, talk, ConversationStatus.OPEN)
    deliberation.register_xids(session, talk, ["person-1"])
    person = deliberation.join(session, talk, xid="person-1")
    deliberation.submit(session, talk, person, "Trams would be better than buses.")
    session.commit()


@pytest.fixture(autouse=True)
def _panels(request: pytest.FixtureRequest, session: Session, world: World) -> None:
    """Citizens' panels at each stage: a draft with targets and addresses, one with
    registration closed, one with a committed draw, and a drawn one with a recommendation.
    Built only for the panels' writes and pages (each takes a few hundred rows and a draw)."""
    params = getattr(request.node, "callspec", None)
    params = params.params if params is not None else {}
    write, page = params.get("write"), params.get("page")
    if not ((write is not None and "panel" in write.name)
            or (page is not None and "/panels/" in DRAFT_PAGES[page](world))):
        return
    draft = panel_builders.new_panel(session, world.mission, slug="draft-panel", size=4)
    panels.import_shares(session, panel=draft, rows=panel_builders.share_rows())
    panels.import_addresses(session, panel=draft, rows=panel_builders.address_rows(6))
    for slug in ("closed-panel", "pending-panel", "drawn-panel"):
        panel = panel_builders.with_pool(session, world.mission, slug=slug, size=4,
                                         volunteers=12, addresses=12)
        if slug != "closed-panel":
            panel_selection.commit(session, panel=panel, check=False,
                                   data=CommitIn(seed_source=SeedSource.APP))
        if slug == "drawn-panel":
            panel_selection.draw(session, panel=panel, legacy_runs=0)
            panels.add_recommendation(session, panel=panel, data=RecommendationIn(
                title="Open on Sundays", text="Clinics should open on Sundays.",
                made_on=dt.date(2026, 3, 1)))
    session.commit()


@pytest.fixture(autouse=True)
def _trials(request: pytest.FixtureRequest, session: Session, world: World) -> None:
    """Trials at each step: a draft with a draft plan, a registered one with a locked plan
    and units, one whose randomisation is committed and one allocated. Built only for the
    trials' writes and pages."""
    params = getattr(request.node, "callspec", None)
    params = params.params if params is not None else {}
    write = params.get("write")
    if not ((write is not None and write in TRIAL_WRITES) or "trial_page" in params):
        return
    draft = trial_builders.new_trial(session, world.mission, slug="draft-trial")
    trials.save_plan_draft(session, trial=draft, data=trial_builders.plan_data())
    for slug in ("registered-trial", "committed-trial", "allocated-trial"):
        trial = trial_builders.new_trial(session, world.mission, slug=slug,
                                         status=TrialStatus.REGISTERED)
        trials.save_plan_draft(session, trial=trial, data=trial_builders.plan_data())
        trials.lock_plan(session, trial=trial)
        trials.import_units(session, trial=trial, rows=trial_builders.unit_rows(4, 2))
    for slug in ("committed-trial", "allocated-trial"):
        trials.commit_allocation(session, trial=trials.get_trial(session, slug=slug),
                                 data=AllocationIn(seed_source=SeedSource.APP))
    trials.allocate(session, trial=trials.get_trial(session, slug="allocated-trial"))
    with_results(session, world.mission, slug="results-trial", schools=6, pupils=4)
    session.commit()


@pytest.fixture(autouse=True)
def _adoption(request: pytest.FixtureRequest, session: Session, world: World) -> None:
    """An adoption programme with its units. Built only for the adoption writes."""
    params = getattr(request.node, "callspec", None)
    params = params.params if params is not None else {}
    if params.get("write") not in ADOPTION_WRITES:
        return
    adoption_builders.new_programme(session, world.mission, slug="adopt", units=3)
    session.commit()


def _member(w: World) -> str:
    session = object_session(w.mission)
    assert session is not None
    panel = panels.get_panel(session, slug="drawn-panel")
    return panels.members(session, panel)[0].pseudonym


def _value_id(w: World) -> int:
    session = object_session(w.mission)
    assert session is not None
    return panels.get_panel(session, slug="draft-panel", include_drafts=True
                            ).features[0].values[0].id


def _panel_form(w: World) -> dict[str, Any]:
    return {"slug": "new-panel", "title": "New panel", "question": "What should change?",
            "size": "20", "household_rule": "yes", "retention_until": "2027-06-30"}


def _trial_form(w: World) -> dict[str, Any]:
    return {"slug": "new-trial", "title": "Tutoring", "question": "Does tutoring help?",
            "population": "Year 6 pupils", "owner": "Department for Education",
            "unit_kind": "individual", "design": "parallel",
            "arms": "control | Usual teaching | 1\ntutoring | Tutoring | 1",
            "outcomes": "maths | primary | Maths score"}


def _trial_plan_form(w: World) -> dict[str, Any]:
    return {"plan_outcomes": "maths | primary", "model": "difference_in_means",
            "multiple_testing": "none", "alpha": "0.05"}


def _conversation_form(w: World) -> dict[str, Any]:
    return {"slug": "new-talk", "title": "New talk", "question": "What should change?",
            "participation": "anonymous", "statement_cap": "3", "accept_statements": "yes",
            "premoderate": "yes"}


def _one(w: World, model: Any, where: Any = None) -> int:
    session = object_session(w.mission)
    assert session is not None
    query = select(model.id)
    return int(session.scalars(query.where(where) if where is not None else query).one())


def _stocktake_path(w: World, title: str = "Issued") -> str:
    return (f"/manage/missions/{w.mission.slug}/stocktakes/"
            f"{_one(w, Stocktake, Stocktake.title == title)}")


def _interventions_path(w: World) -> str:
    return f"/manage/missions/{w.mission.slug}/interventions"


def _plan_item_path(w: World) -> str:
    return f"{_interventions_path(w)}/existing/plan/{_one(w, PlanItem)}/edit"


def _intervention_form(w: World) -> dict[str, Any]:
    return {"slug": "new-intervention", "title": "A new intervention", "start": "2025-04-01",
            "status": "planned", "ramp": "step", "persistence": "permanent",
            "evidence_kind": "pilot_trial", "evidence_strength": "moderate",
            "budgets.0.year": "2025", "budgets.0.amount": "1000000",
            "effects.0.metric_slug": w.metric.slug, "effects.0.area_code": "E92000001",
            "effects.0.distribution": "normal", "effects.0.central": "5", "effects.0.low": "2",
            "effects.0.high": "8", "effects.0.interval_level": "80"}


def _plan_item_form(w: World) -> dict[str, Any]:
    return {"kind": "action", "title": "Agree funding", "owner": "Team", "due": "2030-01-01",
            "status": "in_progress"}


#: Not here, by design: taking part in a conversation (voting, by the page's form or by
#: ``POST /api/v1/conversations/{slug}/votes``, and writing a statement) is open to anyone in
#: an anonymous conversation, so it has no "sent to sign in" or "wrong role" case to try.
#: Its rules (drafts 404, closed 409, sign-in-only and invitation-only conversations 403)
#: are tested in tests/web/test_deliberation_pages.py and tests/web/test_deliberation_api.py.
#: Registering for a citizens' panel is open to anyone with an invitation code, likewise; its
#: rules are tested in tests/panels/test_service.py and tests/web/test_panels_pages.py.
WRITES = [
    Write("create mission", lambda w: "/manage/missions/new", _mission_form, "admin", "editor"),
    Write("edit mission", lambda w: f"/manage/missions/{w.mission.slug}/edit",
          lambda w: {**_mission_form(w), "title": "Renamed", "reason": "Clearer"},
          "editor", "other_editor"),
    Write("publish mission", lambda w: f"/manage/missions/{w.draft_mission.slug}/status",
          lambda w: {"status": "published"}, "editor", "other_editor"),
    Write("add outcome", lambda w: f"/manage/missions/{w.mission.slug}/outcomes/new",
          lambda w: {"slug": "second", "title": "Second outcome"}, "editor", "other_editor"),
    Write("edit outcome",
          lambda w: f"/manage/missions/{w.mission.slug}/outcomes/{w.outcome.slug}/edit",
          lambda w: {"title": "Renamed outcome"}, "editor", "other_editor"),
    Write("add board member", lambda w: f"/manage/missions/{w.mission.slug}/board",
          lambda w: {"name": "Chair", "role": "minister", "position": "chair"},
          "editor", "viewer"),
    Write("create metric", lambda w: "/manage/metrics/new", _metric_form, "editor",
          "other_editor"),
    Write("edit metric", lambda w: f"/manage/metrics/{w.metric.slug}/edit",
          lambda w: {"title": "Renamed", "definition": "Counted differently",
                     "kind": "proportion", "unit": "percent", "polarity": "higher_is_better",
                     "frequency": "monthly", "reason": "Methodology review",
                     "outcomes": str(w.outcome.id)},
          "editor", "publisher"),
    Write("publish metric", lambda w: f"/manage/metrics/{w.draft_metric.slug}/status",
          lambda w: {"status": "published"}, "editor", "other_editor"),
    Write("add target", lambda w: f"/manage/metrics/{w.metric.slug}/targets/new", _target_form,
          "editor", "publisher"),
    Write("edit target",
          lambda w: f"/manage/metrics/{w.metric.slug}/targets/{w.target.id}/edit",
          _target_form, "admin", "other_editor"),
    Write("upload observations", lambda w: "/manage/upload",
          lambda w: {"file": ("data.csv",
                              f"metric,area_code,period,value\n{w.metric.slug},E92000001,"
                              "2025-09,71\n", "text/csv")},
          "publisher", "other_editor", files=True),
    Write("create API token", lambda w: "/manage/tokens", lambda w: {"name": "pipeline"},
          "viewer", "viewer"),
    Write("create intervention", lambda w: f"{_interventions_path(w)}/new", _intervention_form,
          "editor", "other_editor"),
    Write("edit intervention", lambda w: f"{_interventions_path(w)}/existing/edit",
          lambda w: {**_intervention_form(w), "title": "Renamed", "reason": "Re-estimated"},
          "editor", "other_editor"),
    Write("add plan item", lambda w: f"{_interventions_path(w)}/existing/plan/new",
          _plan_item_form, "editor", "other_editor"),
    Write("edit plan item", _plan_item_path, _plan_item_form, "editor", "other_editor"),
    Write("set delivery chain", lambda w: f"{_interventions_path(w)}/existing/chain",
          lambda w: {"chain.0.role": "Minister", "chain.1.role": "Local teams"},
          "editor", "other_editor"),
    Write("declare overlap", lambda w: f"{_interventions_path(w)}/partner/overlaps",
          lambda w: {"second": "existing", "kind": "interaction", "interaction": "0.8",
                     "reason": "Modelled together"},
          "editor", "other_editor"),
    Write("edit overlap", lambda w: f"{_interventions_path(w)}/existing/overlaps/partner/edit",
          lambda w: {"kind": "shared", "shared_fraction": "40", "reason": "Surveyed"},
          "editor", "other_editor"),
    Write("schedule stocktake", lambda w: f"/manage/missions/{w.mission.slug}/stocktakes/new",
          lambda w: {"title": "Next", "meeting_on": "2026-01-10", "as_of": "2026-01-01"},
          "editor", "other_editor"),
    Write("edit stocktake", lambda w: f"{_stocktake_path(w)}/edit",
          lambda w: {"title": "Renamed", "meeting_on": "2025-09-11", "as_of": "2025-08-31"},
          "editor", "other_editor"),
    Write("issue pack", lambda w: f"{_stocktake_path(w, 'Upcoming')}/issue", lambda w: {},
          "editor", "other_editor"),
    Write("cancel stocktake", lambda w: f"{_stocktake_path(w, 'Upcoming')}/cancel",
          lambda w: {}, "editor", "other_editor"),
    Write("publish pack", lambda w: f"{_stocktake_path(w)}/publish", lambda w: {},
          "editor", "other_editor"),
    Write("record judgement", lambda w: f"{_stocktake_path(w)}/judgement",
          lambda w: judgement_form(), "editor", "other_editor"),
    Write("add decision", lambda w: f"{_stocktake_path(w)}/decisions",
          lambda w: {"text": "Decided"}, "editor", "other_editor"),
    Write("add action", lambda w: f"{_stocktake_path(w)}/actions",
          lambda w: {"title": "Do", "owner": "Team", "due": "2026-01-01"},
          "editor", "other_editor"),
    Write("update action",
          lambda w: f"/manage/missions/{w.mission.slug}/actions/{_one(w, Action)}",
          lambda w: {"status": "done", "completed_on": "2025-11-01"}, "editor", "other_editor"),
    Write("add risk", lambda w: f"/manage/missions/{w.mission.slug}/risks/new",
          lambda w: {"title": "New risk", "owner": "Team", "likelihood": "3", "impact": "3",
                     "raised_on": "2025-09-01", "status": "open"}, "editor", "other_editor"),
    Write("edit risk",
          lambda w: f"/manage/missions/{w.mission.slug}/risks/{_one(w, Risk)}/edit",
          lambda w: {"title": "Risk", "owner": "Team", "likelihood": "5", "impact": "3",
                     "raised_on": "2025-01-01", "status": "closed"}, "editor", "other_editor"),
    Write("raise challenge", lambda w: f"/manage/missions/{w.mission.slug}/challenges/new",
          lambda w: {"question": "How?", "raised_on": "2025-09-01"}, "editor", "viewer"),
    Write("answer challenge", lambda w: f"/manage/missions/{w.mission.slug}/challenges/"
          f"{_one(w, Challenge)}/answer",
          lambda w: {"answer": "Like this", "answered_on": "2025-09-02"}, "editor", "viewer"),
    Write("add practice note", lambda w: "/units/U01/notes",
          lambda w: {"title": "Tutoring", "body": "Ten minutes a day"}, "viewer", "nobody"),
    Write("define peer group", lambda w: "/manage/peer-groups",
          lambda w: {"name": "Chosen", "slug": "chosen", "kind": "list", "members": "U01"},
          "editor", "viewer"),
    Write("publish challenge", lambda w: f"/manage/missions/{w.mission.slug}/challenges/"
          f"{_one(w, Challenge)}/publish", lambda w: {}, "editor", "other_editor"),
    Write("start conversation", lambda w: f"/missions/{w.mission.slug}/conversations/new",
          _conversation_form, "editor", "other_editor"),
    Write("edit conversation", lambda w: "/conversations/talk/edit",
          lambda w: {**_conversation_form(w), "title": "Renamed"}, "editor", "other_editor"),
    Write("add seed statement", lambda w: "/conversations/talk/seeds",
          lambda w: {"text": "Cycle lanes need kerbs."}, "editor", "other_editor"),
    Write("moderate statement", lambda w: "/conversations/talk/statements/1/moderate",
          lambda w: {"state": "rejected", "reason": "Off topic"}, "editor", "viewer"),
    Write("open conversation", lambda w: "/conversations/draft-talk/status",
          lambda w: {"status": "open"}, "editor", "other_editor"),
    Write("register invitation ids", lambda w: "/conversations/talk/xids",
          lambda w: {"xids": "person-2\nperson-3"}, "admin", "viewer"),
    Write("recompute analysis", lambda w: "/conversations/talk/analyse", lambda w: {},
          "editor", "other_editor"),
    Write("set up panel", lambda w: f"/missions/{w.mission.slug}/panels/new", _panel_form,
          "editor", "other_editor"),
    Write("edit panel", lambda w: "/panels/drawn-panel/edit",
          lambda w: {**_panel_form(w), "slug": "drawn-panel", "size": "4",
                     "title": "Renamed"}, "editor", "other_editor"),
    Write("open panel registration", lambda w: "/panels/draft-panel/stage",
          lambda w: {"stage": "recruiting"}, "editor", "other_editor"),
    Write("add panel feature", lambda w: "/panels/draft-panel/features",
          lambda w: {"name": "tenure", "question": "Own or rent?",
                     "values": "own | Own | 0.64\nrent | Rent | 0.36"}, "editor", "other_editor"),
    Write("import panel census figures", lambda w: "/panels/draft-panel/features/import",
          lambda w: {"shares_file": ("census.csv", "feature,value,share\ntenure,own,0.64\n"
                                     "tenure,rent,0.36\n", "text/csv")},
          "editor", "other_editor", files=True),
    Write("remove panel feature", lambda w: "/panels/draft-panel/features/region/remove",
          lambda w: {}, "editor", "other_editor"),
    Write("set panel targets", lambda w: "/panels/draft-panel/quotas",
          lambda w: {f"min-{_value_id(w)}": "0", f"max-{_value_id(w)}": "2"},
          "editor", "other_editor"),
    Write("import panel addresses", lambda w: "/panels/draft-panel/addresses",
          lambda w: {"address_file": ("a.csv", "reference,line1,postcode\nZ1,1 Mill Lane,"
                                      "LS1 4AP\n", "text/csv")},
          "editor", "other_editor", files=True),
    Write("draw panel invitations", lambda w: "/panels/draft-panel/invitations",
          lambda w: {"count": "3"}, "editor", "other_editor"),
    Write("commit panel draw", lambda w: "/panels/closed-panel/commit",
          lambda w: {"seed_source": "app"}, "editor", "other_editor"),
    Write("draw panel", lambda w: "/panels/pending-panel/draw", lambda w: {},
          "editor", "other_editor"),
    Write("abandon panel draw", lambda w: "/panels/pending-panel/abandon",
          lambda w: {"reason": "Postponed"}, "editor", "other_editor"),
    Write("withdraw panel member",
          lambda w: f"/panels/drawn-panel/volunteers/{_member(w)}/withdraw", lambda w: {},
          "editor", "other_editor"),
    Write("record panel recommendation", lambda w: "/panels/drawn-panel/recommendations",
          lambda w: {"title": "More GPs", "text": "Train more GPs.", "made_on": "2026-03-02"},
          "editor", "other_editor"),
    Write("record panel response", lambda w: "/panels/drawn-panel/recommendations/1/response",
          lambda w: {"status-1": "accepted", "text-1": "We agree.",
                     "published_on-1": "2026-05-01"}, "editor", "other_editor"),
    Write("delete panel personal data", lambda w: "/panels/drawn-panel/purge", lambda w: {},
          "admin", "other_editor"),
    Write("remove overlap",
          lambda w: f"{_interventions_path(w)}/existing/overlaps/partner/remove",
          lambda w: {"reason": "Different people"}, "editor", "other_editor"),
]
TRIAL_WRITES = [
    Write("register trial", lambda w: f"/missions/{w.mission.slug}/trials/new", _trial_form,
          "editor", "other_editor"),
    Write("edit trial", lambda w: "/trials/draft-trial/edit",
          lambda w: {**_trial_form(w), "slug": "draft-trial", "title": "Renamed"},
          "editor", "other_editor"),
    Write("change trial status", lambda w: "/trials/draft-trial/status",
          lambda w: {"status": "registered"}, "editor", "other_editor"),
    Write("save trial plan", lambda w: "/trials/draft-trial/plan", _trial_plan_form,
          "editor", "other_editor"),
    Write("lock trial plan", lambda w: "/trials/draft-trial/plan/lock", lambda w: {},
          "admin", "other_editor"),
    Write("amend trial plan", lambda w: "/trials/registered-trial/plan/amend",
          lambda w: {**_trial_plan_form(w), "reason": "Simpler model"}, "editor", "viewer"),
    Write("upload trial units", lambda w: "/trials/registered-trial/units",
          lambda w: {"units_file": ("units.csv", "unit_id,cluster\nX1,S9\n", "text/csv")},
          "editor", "other_editor", files=True),
    Write("commit trial randomisation", lambda w: "/trials/registered-trial/commit",
          lambda w: {"seed_source": "app"}, "editor", "other_editor"),
    Write("allocate trial units", lambda w: "/trials/committed-trial/allocate", lambda w: {},
          "editor", "other_editor"),
    Write("load trial outcome data", lambda w: "/trials/allocated-trial/outcomes",
          lambda w: {"outcomes_file": ("outcomes.csv", "unit_id,outcome,value\nP0000,maths,"
                                       "101\n", "text/csv")},
          "editor", "other_editor", files=True),
    Write("use trial result as evidence", lambda w: "/trials/results-trial/results/evidence",
          lambda w: {"intervention_id": str(_one(w, Intervention, Intervention.slug == "existing")),
                     "analysis": "maths/tutoring", "metric_slug": w.metric.slug,
                     "area_code": "E92000001", "factor": "2", "interval_level": "80",
                     "factor_explanation": "Each pupil tutored at scale",
                     "reason": "The trial reported"},
          "editor", "other_editor"),
]
WRITES += TRIAL_WRITES
ADOPTION_WRITES = [
    Write("create adoption programme", lambda w: f"/missions/{w.mission.slug}/adoption/new",
          lambda w: {"slug": "new-adoption", "title": "Tutoring", "unit_kind": "school"},
          "editor", "other_editor"),
    Write("edit adoption programme", lambda w: "/adoption/adopt/edit",
          lambda w: {"title": "Renamed", "unit_kind": "school"}, "editor", "other_editor"),
    Write("upload adoption units", lambda w: "/adoption/adopt/units",
          lambda w: {"units_file": ("units.csv", "unit_id,name\nX1,School X\n", "text/csv")},
          "editor", "other_editor", files=True),
    Write("upload adoption records", lambda w: "/adoption/adopt/records",
          lambda w: {"records_file": ("records.csv", "unit_id,adopted_on,fidelity\n"
                                      "U001,2025-03-01,full\n", "text/csv")},
          "editor", "other_editor", files=True),
    Write("record one adoption", lambda w: "/adoption/adopt/adoptions",
          lambda w: {"unit_id": "U002", "adopted_on": "2025-04-01", "fidelity": "partial"},
          "admin", "viewer"),
]
WRITES += ADOPTION_WRITES


def _post(client: TestClient, write: Write, world: World) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    form = write.form(world)
    if write.files:
        return client.post(write.path(world), data={"csrf_token": token}, files=form)
    return client.post(write.path(world), data={**form, "csrf_token": token})


def _audit_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_anonymous_is_sent_to_sign_in(
    client: TestClient, world: World, session: Session, write: Write
) -> None:
    before = _audit_count(session)
    response = _post(client, write, world)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
    assert _audit_count(session) == before


@pytest.mark.parametrize("write", [w for w in WRITES if w.right != w.wrong],
                         ids=lambda w: w.name)
def test_wrong_role_is_refused(
    client: TestClient, world: World, session: Session, write: Write
) -> None:
    wrong: User = getattr(world, write.wrong)
    sign_in(client, wrong)
    before = _audit_count(session)
    response = _post(client, write, world)
    assert response.status_code in {403, 422}, response.text[:500]
    if response.status_code == 422:  # refused in the form, naming what is not theirs
        assert ("may not publish data" in response.text
                or "only to your missions" in response.text), response.text[:2000]
    assert _audit_count(session) == before


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_right_role_succeeds(
    client: TestClient, world: World, session: Session, write: Write
) -> None:
    sign_in(client, getattr(world, write.right))
    before = _audit_count(session)
    response = _post(client, write, world)
    assert response.status_code in {200, 303}, response.text[:2000]
    assert _audit_count(session) > before


DRAFT_PAGES: list[Callable[[World], str]] = [
    lambda w: f"/missions/{w.draft_mission.slug}",
    lambda w: f"/metrics/{w.draft_metric.slug}",
    lambda w: f"/metrics/{w.draft_metric.slug}/data.csv",
    lambda w: f"/metrics/{w.draft_metric.slug}/data.json",
    lambda w: "/conversations/draft-talk",
    lambda w: "/conversations/draft-talk/report",
    lambda w: "/conversations/draft-talk/moderation",
    lambda w: "/panels/draft-panel",
    lambda w: "/panels/draft-panel/selection",
    lambda w: "/panels/draft-panel/register",
]


@pytest.mark.parametrize("page", range(len(DRAFT_PAGES)))
@pytest.mark.parametrize(("who", "status"), [(None, 404), ("nobody", 404), ("viewer", 200),
                                              ("editor", 200), ("admin", 200)])
def test_draft_pages(
    client: TestClient, world: World, page: int, who: str | None, status: int
) -> None:
    if who is not None:
        sign_in(client, getattr(world, who))
    assert client.get(DRAFT_PAGES[page](world)).status_code == status


#: Draft trials are seen only by the editors of their mission (and admins), not by every
#: signed-in user who may see other drafts.
TRIAL_DRAFT_PAGES: list[Callable[[World], str]] = [
    lambda w: "/trials/draft-trial",
    lambda w: "/trials/draft-trial/registration.json",
    lambda w: "/trials/draft-trial/plans/1/plan.json",
    lambda w: "/trials/draft-trial/results",
    lambda w: "/trials/draft-trial/results.json",
    lambda w: "/trials/draft-trial/results.csv",
]


@pytest.mark.parametrize("trial_page", range(len(TRIAL_DRAFT_PAGES)))
@pytest.mark.parametrize(("who", "status"), [(None, 404), ("nobody", 404), ("viewer", 404),
                                              ("other_editor", 404), ("editor", 200),
                                              ("admin", 200)])
def test_trial_draft_pages(
    client: TestClient, world: World, trial_page: int, who: str | None, status: int
) -> None:
    if who is not None:
        sign_in(client, getattr(world, who))
    assert client.get(TRIAL_DRAFT_PAGES[trial_page](world)).status_code == status


def test_remove_board_member_matrix(client: TestClient, world: World, session: Session) -> None:
    sign_in(client, world.editor)
    token = csrf_from(client.get("/sign-in").text)
    client.post(f"/manage/missions/{world.mission.slug}/board",
                data={"csrf_token": token, "name": "Member", "role": "official",
                      "position": "member"})
    member = session.scalars(select(BoardMember)).one()
    path = f"/manage/missions/{world.mission.slug}/board/{member.id}/remove"
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, world.other_editor)
    token = csrf_from(client.get("/sign-in").text)
    assert client.post(path, data={"csrf_token": token}).status_code == 403
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, world.editor)
    token = csrf_from(client.get("/sign-in").text)
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    session.expire_all()
    assert session.scalars(select(BoardMember)).all() == []
