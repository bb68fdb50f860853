"""Pages for the adoption tracker: a mission's programmes, a programme's public page (the
diffusion curve with its table, coverage by area, fidelity, the units that have not adopted,
the projection) and its download; the editors' pages (the programme, its units, adoption
records uploaded or entered one by one); and the read API (``api_router``, included in
``/api/v1``).

A programme is public when its mission is published; otherwise only the mission's editors
(and admins) see it, as with draft trials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.missions import service as missions_service
from missionboard.missions.models import Mission
from missionboard.trials import adoption as service
from missionboard.trials import service as trials_service
from missionboard.trials.adoption_charts import diffusion_spec
from missionboard.trials.adoption_models import AdoptionProgramme, Fidelity
from missionboard.trials.adoption_schemas import (
    AdoptionIn,
    AdoptionOut,
    CoverageOut,
    CurvePointOut,
    ProgrammeIn,
    ProjectionOut,
)
from missionboard.web import api as public_api
from missionboard.web.api import Caller, problem_responses
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
from missionboard.web.uploads import csv_bytes, on_file, rows_of

router = APIRouter(dependencies=[Depends(csrf_protect)])

FIDELITY_LABELS = {
    Fidelity.FULL: "Full: delivered as tested",
    Fidelity.PARTIAL: "Partial: some parts missing or changed",
    Fidelity.MINIMAL: "Minimal: in name more than in practice",
}
_WHAT = "track adoption for this mission"


# Helpers -----------------------------------------------------------------------------------



def _programme(db: DB, user: User | None, slug: str) -> AdoptionProgramme:
    programme = service.get_programme(db, slug=slug)
    if not can_see(user, programme):
        raise NotFound(f"No adoption programme {slug!r}")
    return programme


def _editable(db: DB, user: User | None, slug: str) -> tuple[User, AdoptionProgramme]:
    user = access.require_user(user)
    programme = service.get_programme(db, slug=slug)
    access.require(access.can_edit_mission(user, programme.mission_id), _WHAT)
    return user, programme




def _target_label(programme: AdoptionProgramme) -> str:
    if programme.target_share is None:
        return ""
    label = f"Target: {programme.target_share:.0%}"
    if programme.target_on is not None:
        label += f" by {programme.target_on:%B %Y}"
    return label


def _public_context(db: DB, user: User | None, programme: AdoptionProgramme
                    ) -> dict[str, Any]:
    summary = service.summary(db, programme)
    trial = programme.trial
    return {
        "programme": programme, "summary": summary, "fidelity_labels": FIDELITY_LABELS,
        "trial": trial if trial is not None and (
            trial.is_public or access.can_edit_mission(user, trial.mission_id)) else None,
        "target_label": _target_label(programme),
        "spec": diffusion_spec(summary, target_share=programme.target_share,
                               target_label=_target_label(programme)),
    }


# Public pages ------------------------------------------------------------------------------

@router.get("/missions/{slug}/adoption", response_class=HTMLResponse)
def mission_programmes(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    mission = missions_service.get_mission(db, slug=slug,
                                           include_drafts=access.can_view_drafts(user))
    programmes = [p for p in service.list_programmes(db, mission=mission) if can_see(user, p)]
    return render(request, "trials/adoption_index.html", {
        "mission": mission, "programmes": programmes,
        "summaries": {p.id: service.summary(db, p) for p in programmes},
        "can_edit": access.can_edit_mission(user, mission.id),
    }, user=user)


@router.get("/adoption/{slug}", response_class=HTMLResponse)
def programme_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    programme = _programme(db, user, slug)
    return render(request, "trials/adoption.html", {
        **_public_context(db, user, programme),
        "can_edit": access.can_edit_mission(user, programme.mission_id),
    }, user=user)


@router.get("/adoption/{slug}/adoption.csv")
def adoption_csv(slug: str, db: DB, user: CurrentUser) -> Response:
    """Every eligible unit with its adoption and its status today."""
    programme = _programme(db, user, slug)
    return Response(csv_bytes(service.adoption_rows(db, programme)),
                    media_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition": f'attachment; filename="{slug}-adoption.csv"'})


# Editors: the programme --------------------------------------------------------------------

def _programme_data(values: dict[str, str]) -> dict[str, Any]:
    optional = ("intervention_id", "trial_id", "offered_on", "target_percent", "target_on")
    return {**values, **{k: values.get(k) or None for k in optional}}


def _programme_values(programme: AdoptionProgramme) -> dict[str, str]:
    def text(value: object) -> str:
        return "" if value is None else str(value)

    share = programme.target_share
    return {
        "slug": programme.slug, "title": programme.title, "unit_kind": programme.unit_kind,
        "description": programme.description,
        "intervention_id": text(programme.intervention_id),
        "trial_id": text(programme.trial_id), "offered_on": text(programme.offered_on),
        "target_percent": "" if share is None else f"{share * 100:g}",
        "target_on": text(programme.target_on),
    }


def _programme_form(request: Request, db: DB, user: User, mission: Mission,
                    values: dict[str, Any], *, programme: AdoptionProgramme | None = None,
                    error: ValidationFailed | None = None) -> Response:
    from missionboard.delivery import service as delivery_service

    context: dict[str, Any] = {
        "mission": mission, "programme": programme, "values": values,
        "interventions": delivery_service.list_interventions(db, mission=mission),
        "trials": trials_service.list_trials(db, mission=mission),
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "trials/adoption_form.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/missions/{slug}/adoption/new", response_class=HTMLResponse)
def new_programme(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _WHAT)
    return _programme_form(request, db, user, mission, {})


@router.post("/missions/{slug}/adoption/new", response_class=HTMLResponse)
async def create_programme(request: Request, slug: str, db: DB, user: CurrentUser
                           ) -> Response:
    user, mission = mission_for_new(db, user, slug, _WHAT)
    values = await form_values(request)
    try:
        programme = service.create_programme(
            db, mission=mission, data=validate(ProgrammeIn, _programme_data(values)))
    except ValidationFailed as exc:
        return _programme_form(request, db, user, mission, values, error=exc)
    flash(request, "Adoption programme saved. Upload the units eligible to adopt it.")
    return RedirectResponse(f"/adoption/{programme.slug}/manage", status_code=303)


@router.get("/adoption/{slug}/edit", response_class=HTMLResponse)
def edit_programme(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, programme = _editable(db, user, slug)
    return _programme_form(request, db, user, programme.mission, _programme_values(programme),
                           programme=programme)


@router.post("/adoption/{slug}/edit", response_class=HTMLResponse)
async def save_programme(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, programme = _editable(db, user, slug)
    values = {**await form_values(request), "slug": slug}
    try:
        service.update_programme(db, programme=programme,
                                 data=validate(ProgrammeIn, _programme_data(values)))
    except ValidationFailed as exc:
        return _programme_form(request, db, user, programme.mission, values,
                               programme=programme, error=exc)
    flash(request, "Adoption programme saved.")
    return RedirectResponse(f"/adoption/{slug}/manage", status_code=303)


# Editors: units and adoption records -------------------------------------------------------

def _manage_page(request: Request, db: DB, user: User, programme: AdoptionProgramme, *,
                 error: ValidationFailed | None = None, values: dict[str, str] | None = None
                 ) -> Response:
    context: dict[str, Any] = {
        "programme": programme, "summary": service.summary(db, programme),
        "n_units": service.count_units(db, programme), "fidelity_labels": FIDELITY_LABELS,
        "values": values or {},
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "trials/adoption_manage.html", context, user=user,
                  status_code=422 if error else 200)


def _done(request: Request, slug: str, message: str, anchor: str = "") -> Response:
    flash(request, message)
    return RedirectResponse(f"/adoption/{slug}/manage{anchor}", status_code=303)


@router.get("/adoption/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, programme = _editable(db, user, slug)
    return _manage_page(request, db, user, programme)


@router.post("/adoption/{slug}/units", response_class=HTMLResponse)
async def import_units(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, programme = _editable(db, user, slug)
    form = await request.form()
    try:
        rows = rows_of(form.get("units_file"), "units_file")
        done = service.import_units(db, programme=programme, rows=rows)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, programme, error=on_file(exc, "units_file"))
    return _done(request, slug, f"{done.added:,} units added and {done.updated:,} updated.",
                 "#units")


@router.post("/adoption/{slug}/records", response_class=HTMLResponse)
async def import_records(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, programme = _editable(db, user, slug)
    form = await request.form()
    try:
        rows = rows_of(form.get("records_file"), "records_file")
        done = service.import_adoptions(db, programme=programme, rows=rows)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, programme,
                            error=on_file(exc, "records_file"))
    return _done(request, slug, f"{done.added:,} adoption records added and {done.updated:,} "
                                "updated.", "#records")


@router.post("/adoption/{slug}/adoptions", response_class=HTMLResponse)
async def record_adoption(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, programme = _editable(db, user, slug)
    values = await form_values(request)
    optional = ("fidelity", "fidelity_score", "stopped_on")
    try:
        data = validate(AdoptionIn, {**values, **{k: values.get(k) or None for k in optional}})
        record = service.record_adoption(db, programme=programme, data=data)
    except ValidationFailed as exc:  # a missing fidelity is shown against its radios
        errors = [FieldError("fidelity", "Give the fidelity: a level, or a score from 0 to 100")
                  if e.field == "fidelity_score" and not values.get("fidelity_score") else e
                  for e in exc.errors]
        return _manage_page(request, db, user, programme, error=ValidationFailed(errors),
                            values=values)
    return _done(request, slug, f"Adoption recorded for {record.unit.name}.", "#one")


# The public API (included in /api/v1) ------------------------------------------------------

api_router = APIRouter(tags=["adoption"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(
        {404: "No such adoption programme (or its mission is not published)"}, *codes)


@api_router.get("/adoption/{slug}", response_model=AdoptionOut, responses=_problems(404))
def api_programme(request: Request, slug: str, db: public_api.DB, caller: Caller
                  ) -> AdoptionOut:
    """An adoption programme: its coverage today, the diffusion curve (the share of eligible
    units adopting at each month's end, and at full fidelity) and the S-curve projection,
    which is a projection on the present trend, not a forecast."""
    programme = _programme(db, caller, slug)
    s = service.summary(db, programme)
    p = s.projection
    fit = p.fit
    base = str(request.base_url).rstrip("/").removesuffix("/api/v1")
    return AdoptionOut(
        slug=programme.slug, url=f"{base}/adoption/{programme.slug}", title=programme.title,
        mission=programme.mission.slug, unit_kind=programme.unit_kind,
        intervention=programme.intervention.title if programme.intervention else None,
        trial=(programme.trial.slug if programme.trial is not None
               and (programme.trial.is_public
                    or access.can_edit_mission(caller, programme.mission_id)) else None),
        offered_on=programme.offered_on, target_share=programme.target_share,
        target_on=programme.target_on, illustrative=programme.illustrative,
        coverage=CoverageOut(
            as_of=s.as_of, eligible=s.eligible, adopting=s.adopting, share=s.share,
            full_fidelity=s.full_fidelity, full_fidelity_share=s.full_fidelity_share,
            stopped=s.stopped, never_adopted=s.never_adopted,
            median_months_to_adopt=s.median_months_to_adopt),
        curve=[CurvePointOut(month=c.month, on=c.on, adopting=c.adopting, share=c.share,
                             full_fidelity=c.full_fidelity,
                             full_fidelity_share=c.full_fidelity_share) for c in s.curve],
        projection=ProjectionOut(
            fitted=p.fitted, reason=p.reason, ceiling=fit.ceiling if fit else None,
            rate_per_month=fit.rate if fit else None, midpoint_on=p.midpoint_on,
            target_share=p.target_share, target_reached_on=p.target_reached_on, note=p.note))
