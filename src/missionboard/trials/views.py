"""Pages for trials: the public register, a mission's trials, a trial's page (registration,
the locked analysis plan with its amendments, the seed commitment and allocation, the balance
table, the sample-ratio check) and the register's export; the editors' pages (registration,
plan, units, commitment, allocation, outcome data); and the trials part of the public JSON
API (``api_router``, included in ``/api/v1``): the register and assignment as cases arrive.

Drafts are seen only by the editors of the trial's mission (and admins)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.trials import service
from missionboard.trials.models import (
    AnalysisModel,
    MultipleTesting,
    Trial,
    TrialDesign,
    TrialStatus,
    UnitKind,
)
from missionboard.trials.schemas import (
    AllocationIn,
    AssignIn,
    AssignOut,
    PlanIn,
    RegisterOut,
    RegistrationOut,
    TrialIn,
)
from missionboard.web import api as public_api
from missionboard.web.api import Caller, TokenUser, problem_responses
from missionboard.web.deps import (
    DB,
    CurrentUser,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)
from missionboard.web.mission_access import can_see, mission_for_new
from missionboard.web.uploads import base_url, csv_bytes, on_file, rows_of

router = APIRouter(dependencies=[Depends(csrf_protect)])

STATUS_LABELS = {
    TrialStatus.DRAFT: "Draft: not yet registered",
    TrialStatus.REGISTERED: "Registered",
    TrialStatus.RECRUITING: "Recruiting",
    TrialStatus.ANALYSING: "Analysing",
    TrialStatus.FINISHED: "Finished",
    TrialStatus.STOPPED: "Stopped early",
}
DESIGN_LABELS = {
    TrialDesign.PARALLEL: "Parallel groups",
    TrialDesign.STRATIFIED: "Stratified or blocked",
    TrialDesign.CLUSTER: "Cluster randomised",
    TrialDesign.STEPPED_WEDGE: "Stepped wedge",
    TrialDesign.FACTORIAL: "Factorial",
}
MODEL_LABELS = {
    AnalysisModel.DIFFERENCE_IN_MEANS: "Difference in means",
    AnalysisModel.ANCOVA: "ANCOVA (adjusted for baseline covariates)",
    AnalysisModel.CUPED: "CUPED (variance reduction with pre-period data)",
    AnalysisModel.CLUSTER_ROBUST: "Regression with cluster-robust standard errors",
}
TESTING_LABELS = {
    MultipleTesting.NONE: "None",
    MultipleTesting.HOLM: "Holm (family-wise error rate)",
    MultipleTesting.BH: "Benjamini–Hochberg (false discovery rate)",
}
STATUS_ACTIONS = {
    TrialStatus.REGISTERED: "Register the trial (it becomes public)",
    TrialStatus.RECRUITING: "Open recruitment",
    TrialStatus.ANALYSING: "Close recruitment and analyse",
    TrialStatus.FINISHED: "Mark as finished",
    TrialStatus.STOPPED: "Stop the trial early",
}
_WHAT = "run this mission's trials"
#: A plan version in a path: a 32-bit integer.
Number = Annotated[int, Path(ge=0, lt=2**31)]


# Helpers -----------------------------------------------------------------------------------



def _trial(db: DB, user: User | None, slug: str) -> Trial:
    trial = service.get_trial(db, slug=slug)
    if not can_see(user, trial):
        raise NotFound(f"No trial {slug!r}")
    return trial


def _editable(db: DB, user: User | None, slug: str) -> tuple[User, Trial]:
    user = access.require_user(user)
    trial = service.get_trial(db, slug=slug)
    access.require(access.can_edit_mission(user, trial.mission_id), _WHAT)
    return user, trial












def _plan_history(db: DB, trial: Trial) -> list[dict[str, Any]]:
    """Each locked version with the fields its amendment changed."""
    out = []
    previous: dict[str, Any] | None = None
    for plan in service.plans(db, trial):
        if not plan.is_locked:
            continue
        changed = service.plan_changes(previous, plan.content) if previous is not None else []
        out.append({"plan": plan, "changed": changed})
        previous = plan.content
    return out


def _public_context(db: DB, trial: Trial) -> dict[str, Any]:
    return {
        "trial": trial, "status_labels": STATUS_LABELS, "design_labels": DESIGN_LABELS,
        "model_labels": MODEL_LABELS, "testing_labels": TESTING_LABELS,
        "plan": service.locked_plan(db, trial), "history": _plan_history(db, trial),
        "allocation": service.allocation(db, trial), "arm_counts": service.arm_counts(db, trial),
        "ratio_check": service.ratio_check(db, trial), "loads": service.outcome_loads(db, trial),
        "n_units": service.count_units(db, trial),
    }


# The public register -----------------------------------------------------------------------

@router.get("/trials", response_class=HTMLResponse)
def index(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "trials/index.html", {
        "trials": [t for t in service.list_trials(db) if can_see(user, t)],
        "status_labels": STATUS_LABELS, "design_labels": DESIGN_LABELS, "mission": None,
    }, user=user)


def _register(request: Request, db: DB, mission: str | None) -> list[RegistrationOut]:
    """The registered trials (never drafts), for the export."""
    found = None
    if mission is not None:
        found = missions_service.get_mission(db, slug=mission, include_drafts=False)
    return [service.registration_record(db, t, base_url=base_url(request))
            for t in service.list_trials(db, mission=found) if t.is_public]


@router.get("/trials/register.csv")
def register_csv(request: Request, db: DB, mission: str | None = None) -> Response:
    """The register in the WHO Trial Registration Data Set's terms, one trial a row."""
    body = csv_bytes(service.registration_rows(_register(request, db, mission)))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="missionboard-trials.csv"'})


@router.get("/trials/register.json")
def register_json(request: Request, db: DB, mission: str | None = None) -> Response:
    records = [r.model_dump(mode="json") for r in _register(request, db, mission)]
    return Response(json.dumps({"trials": records}, indent=1, ensure_ascii=False),
                    media_type="application/json", headers={
                        "Content-Disposition": 'attachment; filename="missionboard-trials.json"'})


@router.get("/missions/{slug}/trials", response_class=HTMLResponse)
def mission_trials(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    return render(request, "trials/index.html", {
        "trials": [t for t in service.list_trials(db, mission=mission) if can_see(user, t)],
        "status_labels": STATUS_LABELS, "design_labels": DESIGN_LABELS, "mission": mission,
        "can_edit": access.can_edit_mission(user, mission.id),
    }, user=user)


@router.get("/trials/{slug}", response_class=HTMLResponse)
def trial_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    from missionboard.trials import adoption

    trial = _trial(db, user, slug)
    return render(request, "trials/trial.html", {
        **_public_context(db, trial), "can_edit": access.can_edit_mission(user, trial.mission_id),
        "adoption_programmes": [p for p in adoption.list_programmes(db, trial=trial)
                                if p.is_public
                                or access.can_edit_mission(user, p.mission_id)],
    }, user=user)


@router.get("/trials/{slug}/registration.json")
def registration(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    trial = _trial(db, user, slug)
    record = service.registration_record(db, trial, base_url=base_url(request))
    return Response(record.model_dump_json(indent=1), media_type="application/json")


@router.get("/trials/{slug}/plans/{version}/plan.json")
def plan_json(slug: str, version: Number, db: DB, user: CurrentUser) -> Response:
    """A version of the analysis plan exactly as hashed: its SHA-256 is the one published.
    A draft is shown only to the editors."""
    trial = _trial(db, user, slug)
    plan = service.get_plan(db, trial=trial, version=version)
    if not plan.is_locked and not access.can_edit_mission(user, trial.mission_id):
        raise NotFound(f"No version {version} of this trial's analysis plan")
    return Response(plan.canonical.encode("utf-8"), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{slug}-plan-v{version}.json"'})


@router.get("/trials/{slug}/allocation.csv")
def allocation_csv(slug: str, db: DB, user: CurrentUser) -> Response:
    """Each unit's arm (for the editors: unit ids may identify people)."""
    user, trial = _editable(db, user, slug)
    rows: list[list[Any]] = [["unit_id", "cluster", "arm"]]
    rows += [[u.unit_id, u.cluster, u.arm or ""] for u in service.units(db, trial)]
    return Response(csv_bytes(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{slug}-allocation.csv"',
        "Cache-Control": "no-store"})


# Editors: registration ---------------------------------------------------------------------

def _lines(text: str) -> list[list[str]]:
    return [[p.strip() for p in line.split("|")] for line in text.splitlines() if line.strip()]


def _trial_data(values: dict[str, str]) -> dict[str, Any]:
    arms = [{"key": p[0], "label": p[1] if len(p) > 1 else "",
             **({"ratio": p[2]} if len(p) > 2 and p[2] else {})}
            for p in _lines(values.get("arms", ""))]
    outcomes = [{"key": p[0], "role": p[1] if len(p) > 1 else "",
                 "title": p[2] if len(p) > 2 else ""} for p in _lines(values.get("outcomes", ""))]
    optional = ("intervention_id", "planned_units", "planned_clusters", "start_on", "end_on",
                "analysis_on", "cost_per_participant")
    return {**values, **{k: values.get(k) or None for k in optional}, "arms": arms,
            "outcomes": outcomes}


def _trial_values(trial: Trial) -> dict[str, str]:
    def text(value: object) -> str:
        return "" if value is None else str(value)

    return {
        "slug": trial.slug, "title": trial.title, "question": trial.question,
        "population": trial.population, "comparator": trial.comparator,
        "intervention_id": text(trial.intervention_id), "unit_kind": trial.unit_kind.value,
        "cluster_kind": trial.cluster_kind, "design": trial.design.value,
        "planned_units": text(trial.planned_units),
        "planned_clusters": text(trial.planned_clusters), "start_on": text(trial.start_on),
        "end_on": text(trial.end_on), "analysis_on": text(trial.analysis_on),
        "owner": trial.owner, "ethics": trial.ethics, "data_sharing": trial.data_sharing,
        "cost_per_participant": text(trial.cost_per_participant),
        "arms": "\n".join(f"{a.key} | {a.label} | {a.ratio}" for a in trial.arms),
        "outcomes": "\n".join(f"{o.key} | {o.role.value} | {o.title}" for o in trial.outcomes),
    }


def _trial_form(request: Request, db: DB, user: User, mission: Mission,
                values: dict[str, Any], *, trial: Trial | None = None,
                error: ValidationFailed | None = None) -> Response:
    from missionboard.delivery import service as delivery_service

    context: dict[str, Any] = {
        "mission": mission, "trial": trial, "values": values, "design_labels": DESIGN_LABELS,
        "interventions": delivery_service.list_interventions(db, mission=mission),
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "trials/trial_form.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/missions/{slug}/trials/new", response_class=HTMLResponse)
def new_trial(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _WHAT)
    return _trial_form(request, db, user, mission, {
        "unit_kind": "individual", "design": "parallel",
        "arms": "control | Usual practice | 1\ntreatment | The intervention | 1"})


@router.post("/missions/{slug}/trials/new", response_class=HTMLResponse)
async def create_trial(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _WHAT)
    values = await form_values(request)
    try:
        trial = service.create_trial(db, mission=mission,
                                     data=validate(TrialIn, _trial_data(values)))
    except ValidationFailed as exc:
        return _trial_form(request, db, user, mission, values, error=exc)
    flash(request, "Trial saved as a draft. Write its analysis plan, then register it.")
    return RedirectResponse(f"/trials/{trial.slug}/manage", status_code=303)


@router.get("/trials/{slug}/edit", response_class=HTMLResponse)
def edit_trial(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    return _trial_form(request, db, user, trial.mission, _trial_values(trial), trial=trial)


@router.post("/trials/{slug}/edit", response_class=HTMLResponse)
async def save_trial(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = {**await form_values(request), "slug": slug}
    try:
        service.update_trial(db, trial=trial, data=validate(TrialIn, _trial_data(values)))
    except ValidationFailed as exc:
        return _trial_form(request, db, user, trial.mission, values, trial=trial, error=exc)
    flash(request, "Trial saved.")
    return RedirectResponse(f"/trials/{slug}/manage", status_code=303)


# Editors: the management page --------------------------------------------------------------

def _plan_values(db: DB, trial: Trial) -> dict[str, str]:
    plan = service.current_plan(db, trial)
    if plan is None:
        return {"plan_outcomes": "\n".join(f"{o.key} | {o.role.value}" for o in trial.outcomes),
                "model": (AnalysisModel.CLUSTER_ROBUST if trial.unit_kind == UnitKind.CLUSTER
                          else AnalysisModel.DIFFERENCE_IN_MEANS).value,
                "multiple_testing": "none", "alpha": "0.05"}
    c = plan.content
    return {"plan_outcomes": "\n".join(f"{o['key']} | {o['role']}" for o in c["outcomes"]),
            "model": c["model"], "covariates": ", ".join(c["covariates"]),
            "subgroups": ", ".join(c["subgroups"]), "multiple_testing": c["multiple_testing"],
            "alpha": str(c["alpha"]), "notes": c["notes"],
            "education": "yes" if c.get("education") else ""}


def _manage_page(request: Request, db: DB, user: User, trial: Trial, *,
                 error: ValidationFailed | None = None, values: dict[str, str] | None = None
                 ) -> Response:
    context: dict[str, Any] = {
        **_public_context(db, trial),
        "values": {**_plan_values(db, trial), **(values or {})},
        "current": service.current_plan(db, trial),
        "moves": [(s, STATUS_ACTIONS[s]) for s in service.STATUS_MOVES[trial.status]],
        "can_stop": TrialStatus.STOPPED in service.STATUS_MOVES[trial.status],
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "trials/manage.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/trials/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    return _manage_page(request, db, user, trial)


def _done(request: Request, slug: str, message: str, anchor: str = "") -> Response:
    flash(request, message)
    return RedirectResponse(f"/trials/{slug}/manage{anchor}", status_code=303)


@router.post("/trials/{slug}/status", response_class=HTMLResponse)
async def change_status(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = await form_values(request)
    try:
        status = TrialStatus(values.get("status", ""))
    except ValueError:
        raise ValidationFailed([FieldError("status", "Choose a status")]) from None
    try:
        service.set_status(db, trial=trial, status=status,
                           reason=values.get("stop_reason", ""))
    except ValidationFailed as exc:  # the reason's box is "stop_reason" (the plan has one)
        errors = [FieldError("stop_reason" if e.field == "reason" else e.field, e.message)
                  for e in exc.errors]
        return _manage_page(request, db, user, trial, error=ValidationFailed(errors),
                            values=values)
    return _done(request, slug, f"The trial is now: {STATUS_LABELS[status].lower()}.")


# Editors: the analysis plan ----------------------------------------------------------------

def _names(text: str) -> list[str]:
    return [n.strip() for n in text.replace("\n", ",").split(",") if n.strip()]


def _plan_data(values: dict[str, str]) -> PlanIn:
    outcomes = [{"key": p[0], "role": p[1] if len(p) > 1 else ""}
                for p in _lines(values.get("plan_outcomes", ""))]
    return validate(PlanIn, {
        "outcomes": outcomes, "model": values.get("model", ""),
        "covariates": _names(values.get("covariates", "")),
        "subgroups": _names(values.get("subgroups", "")),
        "multiple_testing": values.get("multiple_testing") or "none",
        "alpha": values.get("alpha") or "0.05", "notes": values.get("notes", "").strip(),
        "education": values.get("education") == "yes"})


def _plan_errors(exc: ValidationFailed) -> ValidationFailed:
    """The plan's outcomes are typed in the ``plan_outcomes`` box; other problems go to it
    too when they concern the plan as a whole."""
    renamed = {"outcomes": "plan_outcomes", "form": "plan_outcomes", "plan": "plan_outcomes"}
    return ValidationFailed([FieldError(renamed.get(e.field, e.field), e.message, e.row)
                             for e in exc.errors])


@router.post("/trials/{slug}/plan", response_class=HTMLResponse)
async def save_plan(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = await form_values(request)
    try:
        service.save_plan_draft(db, trial=trial, data=_plan_data(values), author_id=user.id)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, trial, error=_plan_errors(exc), values=values)
    return _done(request, slug, "Draft analysis plan saved. Lock it before any outcome data "
                                "is loaded.", "#plan")


@router.post("/trials/{slug}/plan/lock", response_class=HTMLResponse)
async def lock_plan(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    plan = service.lock_plan(db, trial=trial)
    return _done(request, slug, f"Analysis plan locked: SHA-256 {plan.sha256[:12]}…", "#plan")


@router.post("/trials/{slug}/plan/amend", response_class=HTMLResponse)
async def amend_plan(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = await form_values(request)
    try:
        plan = service.amend_plan(db, trial=trial, data=_plan_data(values),
                                  reason=values.get("reason", ""), author_id=user.id)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, trial, error=_plan_errors(exc), values=values)
    return _done(request, slug, f"Amendment recorded as version {plan.version}.", "#plan")


# Editors: units, the commitment and the allocation -----------------------------------------

@router.post("/trials/{slug}/units", response_class=HTMLResponse)
async def import_units(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    form = await request.form()
    try:
        rows = rows_of(form.get("units_file"), "units_file")
        added = service.import_units(db, trial=trial, rows=rows)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, trial, error=on_file(exc, "units_file"))
    return _done(request, slug, f"{added:,} units uploaded.", "#randomisation")


@router.post("/trials/{slug}/commit", response_class=HTMLResponse)
async def commit(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = await form_values(request)
    try:
        data = validate(AllocationIn, {
            **values, "commitment": values.get("commitment") or None,
            "stratify": values.get("stratify") == "yes",
            "block_size": values.get("block_size") or None,
            "balance_threshold": values.get("balance_threshold") or None})
        found = service.commit_allocation(db, trial=trial, data=data)
    except ValidationFailed as exc:  # the form's own rule is about the commitment's box
        errors = [FieldError("commitment" if e.field == "form" else e.field, e.message)
                  for e in exc.errors]
        return _manage_page(request, db, user, trial, error=ValidationFailed(errors),
                            values=values)
    return _done(request, slug, f"Seed commitment {found.commitment_sha256[:12]}… published; "
                                "the units are frozen.", "#randomisation")


@router.post("/trials/{slug}/allocate", response_class=HTMLResponse)
async def allocate(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = await form_values(request)
    try:
        found = service.allocate(db, trial=trial, seed_text=values.get("seed", ""))
    except ValidationFailed as exc:
        return _manage_page(request, db, user, trial, error=exc, values=values)
    return _done(request, slug, f"{found.units:,} units allocated with seed {found.seed}.",
                 "#randomisation")


@router.post("/trials/{slug}/outcomes", response_class=HTMLResponse)
async def load_outcomes(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    form = await request.form()
    try:
        rows = rows_of(form.get("outcomes_file"), "outcomes_file")
        load = service.load_outcomes(db, trial=trial, rows=rows)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, trial, error=on_file(exc, "outcomes_file"))
    return _done(request, slug, f"{load.rows:,} outcome values loaded under plan version "
                                f"{load.plan_version}.", "#outcome-data")


# The public API (included in /api/v1) ------------------------------------------------------

def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses({
        401: "The API token is missing, unknown or revoked",
        403: "The token's user may not run this trial",
        404: "No such trial (or not registered)",
        409: "The trial is not recruiting",
        422: "The input has errors",
    }, *codes)


api_router = APIRouter(tags=["trials"])


def _api_trial(db: public_api.DB, caller: User | None, slug: str) -> Trial:
    trial = service.get_trial(db, slug=slug)
    if not can_see(caller, trial):
        raise NotFound(f"No trial {slug!r}")
    return trial


@api_router.get("/trials", response_model=RegisterOut, responses=_problems(404))
def api_register(request: Request, db: public_api.DB, caller: Caller,
                 mission: str | None = None) -> RegisterOut:
    """The trial register: every registered trial, in the WHO Trial Registration Data Set's
    terms (drafts too for a token of their mission's editors)."""
    found = None
    if mission is not None:
        found = missions_service.get_mission(db, slug=mission,
                                             include_drafts=access.can_view_drafts(caller))
    base = base_url(request).removesuffix("/api/v1")
    return RegisterOut(items=[service.registration_record(db, t, base_url=base)
                              for t in service.list_trials(db, mission=found)
                              if can_see(caller, t)])


@api_router.get("/trials/{slug}", response_model=RegistrationOut, responses=_problems(404))
def api_trial(request: Request, slug: str, db: public_api.DB, caller: Caller) -> RegistrationOut:
    trial = _api_trial(db, caller, slug)
    return service.registration_record(db, trial,
                                       base_url=base_url(request).removesuffix("/api/v1"))


@api_router.post("/trials/{slug}/assign", response_model=AssignOut,
                 responses=_problems(401, 403, 404, 409, 422))
def api_assign(slug: str, body: AssignIn, db: public_api.DB, user: TokenUser) -> AssignOut:
    """The arm of a unit arriving in the service, and its exposure logged.

    The arm depends only on the trial and the unit's id (SHA-256 based), so the same unit
    always gets the same arm, and a repeated call logs nothing new (``first_exposure`` is
    false). Needs a token whose user edits the trial's mission, and a recruiting trial.
    """
    trial = _api_trial(db, user, slug)
    access.require(access.can_edit_mission(user, trial.mission_id), "assign units in this trial")
    exposure, created = service.assign(db, trial=trial, unit_id=body.unit_id)
    return AssignOut(trial=trial.slug, unit_id=exposure.unit_id, arm=exposure.arm,
                     first_exposure=created, exposed_at=exposure.exposed_at)
