"""Pages for citizens' panels: the public panel page, selection report, downloads and
registration form; and the organisers' pages (set-up, targets, addresses and invitations,
volunteers, the committed draw, replacements, recommendations and responses, personal data).

Personal data is shown only on the organisers' pages (editors of the panel's mission)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.errors import FieldError, ValidationFailed, validate
from missionboard.missions.models import Mission
from missionboard.panels import charts, selection, service
from missionboard.panels.models import (
    Panel,
    PanelStage,
    ResponseStatus,
    RunKind,
    SelectionRun,
    VolunteerStatus,
)
from missionboard.panels.schemas import CommitIn, FeatureIn, PanelIn
from missionboard.web.deps import (
    DB,
    CurrentUser,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)
from missionboard.web.mission_access import mission_for_new
from missionboard.web.uploads import csv_bytes, on_file, rows_of

router = APIRouter(dependencies=[Depends(csrf_protect)])

RESPONSE_LABELS = {
    ResponseStatus.ACCEPTED.value: "Accepted",
    ResponseStatus.ACCEPTED_IN_PART.value: "Accepted in part",
    ResponseStatus.NOT_ACCEPTED.value: "Not accepted",
    ResponseStatus.UNDER_CONSIDERATION.value: "Under consideration",
    "awaiting": "Awaiting a response",
    "overdue": "Response overdue",
}
STAGE_LABELS = {
    PanelStage.DRAFT: "Being set up",
    PanelStage.RECRUITING: "Recruiting: registration is open",
    PanelStage.CLOSED: "Registration closed: the draw is next",
    PanelStage.SELECTED: "Selected: the panel is meeting",
    PanelStage.REPORTED: "Reported: recommendations published",
}
DOWNLOADS = ("people.csv", "features.csv", "probabilities.csv", "selected.csv", "result.json")
_WHAT = "run this mission's citizens' panels"
#: A number in a path (a draw, an invitation round, a recommendation): a 32-bit integer.
Number = Annotated[int, Path(ge=0, lt=2**31)]


# Helpers -----------------------------------------------------------------------------------

def _panel(db: DB, user: User | None, slug: str) -> Panel:
    return service.get_panel(db, slug=slug, include_drafts=access.can_view_drafts(user))


def _editable(db: DB, user: User | None, slug: str) -> tuple[User, Panel]:
    user = access.require_user(user)
    panel = service.get_panel(db, slug=slug, include_drafts=True)
    access.require(access.can_edit_mission(user, panel.mission_id), _WHAT)
    return user, panel




def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()








def _public_context(db: DB, panel: Panel) -> dict[str, Any]:
    today = _today()
    items = service.recommendations(db, panel)
    on_panel = service.members(db, panel)
    runs = selection.runs(db, panel)
    return {
        "panel": panel, "stage_labels": STAGE_LABELS, "runs": runs,
        "pending": next((r for r in runs if r.is_pending), None),
        "drawn": [r for r in runs if r.is_drawn],
        "members": on_panel,
        "member_counts": service.feature_counts(panel, on_panel),
        "recommendations": items, "today": today,
        "counts": service.response_counts(items, today=today),
        "response_labels": RESPONSE_LABELS,
        "n_volunteers": service.count_volunteers(db, panel),
    }


# Public pages ------------------------------------------------------------------------------

@router.get("/panels", response_class=HTMLResponse)
def index(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "panels/index.html", {
        "panels": service.list_panels(db, include_drafts=access.can_view_drafts(user)),
        "stage_labels": STAGE_LABELS,
    }, user=user)


@router.get("/panels/{slug}", response_class=HTMLResponse)
def panel_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    panel = _panel(db, user, slug)
    return render(request, "panels/panel.html", {
        **_public_context(db, panel),
        "can_edit": access.can_edit_mission(user, panel.mission_id),
    }, user=user)


@router.get("/panels/{slug}/selection", response_class=HTMLResponse)
def selection_report(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    panel = _panel(db, user, slug)
    context = _public_context(db, panel)
    reports = []
    pool = service.volunteers(db, panel)
    for run in context["drawn"]:
        bins = selection.histogram(run.probabilities)
        in_pool = [v for v in pool if v.pseudonym in run.probabilities]
        chosen = set(run.selected) | (set(run.kept) if run.kind == RunKind.REPLACEMENT else set())
        reports.append({
            "run": run, "bins": bins,
            "chart": charts.probabilities(bins, minimum=run.min_probability,
                                          legacy_minimum=run.legacy_min_probability),
            "fit": selection.quota_fit(panel, pool=in_pool,
                                       on_panel=[v for v in pool if v.pseudonym in chosen]),
            "unselectable": sum(1 for p in run.probabilities.values() if p <= 0),
        })
    return render(request, "panels/selection.html", {**context, "reports": reports},
                  user=user)


@router.get("/panels/{slug}/runs/{number}/{name}")
def download(slug: str, number: Number, name: str, db: DB, user: CurrentUser) -> Response:
    """A run's published files. The inputs are public from the commitment; the results
    once it is drawn. None holds personal data."""
    panel = _panel(db, user, slug)
    run = selection.get_run(db, panel=panel, number=number)
    body, media = _published_file(run, name)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{slug}-run{number}-{name}"'})


def _published_file(run: SelectionRun, name: str) -> tuple[bytes, str]:
    from missionboard.errors import NotFound

    if name == "people.csv":
        return run.people_csv.encode("utf-8"), "text/csv; charset=utf-8"
    if name == "features.csv":
        return run.features_csv.encode("utf-8"), "text/csv; charset=utf-8"
    if name not in DOWNLOADS or not run.is_drawn:
        raise NotFound(f"No file {name!r} for this run")
    if name == "probabilities.csv":
        rows: list[list[Any]] = [["id", "probability", "selected"]]
        rows += [[p, repr(v), "yes" if p in run.selected else "no"]
                 for p, v in sorted(run.probabilities.items())]
        return csv_bytes(rows), "text/csv; charset=utf-8"
    if name == "selected.csv":
        return csv_bytes([["id"], *([p] for p in run.selected)]), "text/csv; charset=utf-8"
    return json.dumps(run_record(run), indent=1).encode("utf-8"), "application/json"


def run_record(run: SelectionRun) -> dict[str, Any]:
    """Everything published about a run, as ``missionboard panel select --json`` prints it
    plus the commitment."""
    return {
        "run": run.number, "kind": run.kind.value, "algorithm": run.algorithm,
        "version": run.version, "number": run.k, "household_rule": run.household_rule,
        "address_columns": run.address_columns, "id_column": "id",
        "commitment_sha256": run.commitment_sha256,
        "committed_at": run.committed_at.isoformat(),
        "seed": None if run.seed is None else int(run.seed),
        "drawn_at": run.drawn_at.isoformat() if run.drawn_at else None,
        "inputs_sha256": run.inputs_sha256, "selected": run.selected,
        "min_probability": run.min_probability,
        "legacy_min_probability": run.legacy_min_probability,
        "legacy_runs": run.legacy_runs, "probabilities": run.probabilities,
        "kept": run.kept, "replaced": run.replaced,
    }


# Registration (public, no sign-in) ---------------------------------------------------------

def _register_page(request: Request, user: User | None, panel: Panel,
                   values: dict[str, str], error: ValidationFailed | None = None) -> Response:
    context: dict[str, Any] = {"panel": panel, "values": values}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "panels/register.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/panels/{slug}/register", response_class=HTMLResponse)
def register_form(request: Request, slug: str, db: DB, user: CurrentUser,
                  code: str = "") -> Response:
    panel = _panel(db, user, slug)
    return _register_page(request, user, panel, {"code": code[:40]})


@router.post("/panels/{slug}/register", response_class=HTMLResponse)
async def register(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    panel = _panel(db, user, slug)
    values = await form_values(request)
    try:
        volunteer = service.register(db, panel=panel, values=values)
    except ValidationFailed as exc:
        return _register_page(request, user, panel, values, exc)
    return render(request, "panels/registered.html", {"panel": panel,
                                                      "pseudonym": volunteer.pseudonym},
                  user=user)


# Organisers: set-up ------------------------------------------------------------------------

def _panel_form(request: Request, user: User, mission: Mission, values: dict[str, Any], *,
                panel: Panel | None = None, error: ValidationFailed | None = None) -> Response:
    context: dict[str, Any] = {"mission": mission, "panel": panel, "values": values}
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "panels/panel_form.html", context, user=user,
                  status_code=422 if error else 200)


def _panel_data(values: dict[str, str]) -> dict[str, Any]:
    return {**values, "outcome_id": values.get("outcome_id") or None,
            "household_rule": values.get("household_rule") == "yes",
            "meets_from": values.get("meets_from") or None,
            "meets_until": values.get("meets_until") or None,
            "retention_until": values.get("retention_until") or None}


@router.get("/missions/{slug}/panels/new", response_class=HTMLResponse)
def new_panel(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _WHAT)
    retention = _today().replace(year=_today().year + 1, day=1)
    return _panel_form(request, user, mission, {"size": "30", "household_rule": "yes",
                                                "retention_until": retention.isoformat()})


@router.post("/missions/{slug}/panels/new", response_class=HTMLResponse)
async def create_panel(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, mission = mission_for_new(db, user, slug, _WHAT)
    values = await form_values(request)
    try:
        panel = service.create_panel(db, mission=mission,
                                     data=validate(PanelIn, _panel_data(values)))
    except ValidationFailed as exc:
        return _panel_form(request, user, mission, values, error=exc)
    flash(request, "Panel created. Set its features and targets next.")
    return RedirectResponse(f"/panels/{panel.slug}/manage", status_code=303)


@router.get("/panels/{slug}/edit", response_class=HTMLResponse)
def edit_panel(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = {"slug": panel.slug, "title": panel.title, "question": panel.question,
              "purpose": panel.purpose, "outcome_id": str(panel.outcome_id or ""),
              "size": str(panel.size), "household_rule": "yes" if panel.household_rule else "no",
              "retention_until": panel.retention_until.isoformat(),
              "meets_from": panel.meets_from.isoformat() if panel.meets_from else "",
              "meets_until": panel.meets_until.isoformat() if panel.meets_until else ""}
    return _panel_form(request, user, panel.mission, values, panel=panel)


@router.post("/panels/{slug}/edit", response_class=HTMLResponse)
async def save_panel(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = {**await form_values(request), "slug": slug}
    try:
        service.update_panel(db, panel=panel, data=validate(PanelIn, _panel_data(values)))
    except ValidationFailed as exc:
        return _panel_form(request, user, panel.mission, values, panel=panel, error=exc)
    flash(request, "Panel saved.")
    return RedirectResponse(f"/panels/{slug}/manage", status_code=303)


def _manage_page(request: Request, db: DB, user: User, panel: Panel, *,
                 error: ValidationFailed | None = None, values: dict[str, str] | None = None
                 ) -> Response:
    context: dict[str, Any] = {
        **_public_context(db, panel), "values": values or {},
        "addresses": service.count_addresses(db, panel),
        "rounds": service.invitation_rounds(db, panel),
        "quota_problems": service.quota_problems(panel),
        "next_kind": selection.next_kind(db, panel).value,
        "withdrawn_members": selection.to_replace(db, panel),
        "statuses": [s.value for s in ResponseStatus],
        "has_runs": service.has_runs(db, panel),
        "pool_counts": service.feature_counts(panel, [
            v for v in service.volunteers(db, panel) if v.status != VolunteerStatus.WITHDRAWN]),
    }
    if error is not None:
        context.update(form_errors(error.errors))
    return render(request, "panels/manage.html", context, user=user,
                  status_code=422 if error else 200)


@router.get("/panels/{slug}/manage", response_class=HTMLResponse)
def manage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    return _manage_page(request, db, user, panel)


def _done(request: Request, slug: str, message: str, anchor: str = "") -> Response:
    flash(request, message)
    return RedirectResponse(f"/panels/{slug}/manage{anchor}", status_code=303)


@router.post("/panels/{slug}/stage", response_class=HTMLResponse)
async def change_stage(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        stage = PanelStage(values.get("stage", ""))
    except ValueError:
        raise ValidationFailed([FieldError("stage", "Choose a stage")]) from None
    service.set_stage(db, panel=panel, stage=stage)
    return _done(request, slug, f"The panel is now: {STAGE_LABELS[stage].lower()}.")


# Organisers: features and census targets ---------------------------------------------------

def _parse_values(text: str) -> list[dict[str, Any]]:
    """``value | label | share`` lines (share as 0.49 or 49%)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        item: dict[str, Any] = {"value": parts[0], "label": parts[1] if len(parts) > 1
                                and parts[1] else parts[0]}
        if len(parts) > 2 and parts[2]:
            share = parts[2]
            item["share"] = (float(share[:-1]) / 100 if share.endswith("%")
                             and share[:-1].replace(".", "", 1).isdigit() else share)
        out.append(item)
    return out


@router.post("/panels/{slug}/features", response_class=HTMLResponse)
async def add_feature(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        data = validate(FeatureIn, {**values, "values": _parse_values(values.get("values", ""))})
        service.save_feature(db, panel=panel, data=data)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=exc, values=values)
    return _done(request, slug, f"Feature {data.name} saved with its targets.", "#features")


@router.post("/panels/{slug}/features/import", response_class=HTMLResponse)
async def import_features(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    form = await request.form()
    try:
        rows = rows_of(form.get("shares_file"), "shares_file")
        saved = service.import_shares(db, panel=panel, rows=rows)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=on_file(exc, "shares_file"))
    return _done(request, slug, f"Census figures imported for {len(saved)} features; the "
                                "targets follow from the shares.", "#features")


@router.post("/panels/{slug}/features/{name}/remove", response_class=HTMLResponse)
async def remove_feature(request: Request, slug: str, name: str, db: DB, user: CurrentUser
                         ) -> Response:
    user, panel = _editable(db, user, slug)
    service.remove_feature(db, panel=panel, name=name)
    return _done(request, slug, f"Feature {name} removed.", "#features")


@router.post("/panels/{slug}/quotas", response_class=HTMLResponse)
async def save_quotas(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    bounds = {v.id: (values.get(f"min-{v.id}", ""), values.get(f"max-{v.id}", ""))
              for f in panel.features for v in f.values
              if f"min-{v.id}" in values or f"max-{v.id}" in values}
    try:
        service.set_quotas(db, panel=panel, bounds=bounds)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=exc, values=values)
    return _done(request, slug, "Targets saved.", "#features")


# Organisers: addresses, invitations, volunteers --------------------------------------------

@router.post("/panels/{slug}/addresses", response_class=HTMLResponse)
async def import_addresses(request: Request, slug: str, db: DB, user: CurrentUser
                           ) -> Response:
    user, panel = _editable(db, user, slug)
    form = await request.form()
    try:
        rows = rows_of(form.get("address_file"), "address_file")
        added = service.import_addresses(db, panel=panel, rows=rows)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=on_file(exc, "address_file"))
    return _done(request, slug, f"{added:,} addresses added to the list.", "#invitations")


@router.post("/panels/{slug}/invitations", response_class=HTMLResponse)
async def draw_invitations(request: Request, slug: str, db: DB, user: CurrentUser
                           ) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        count = _whole(values.get("count", ""), "count", "the number of addresses to invite")
        seed_text = values.get("invitation_seed", "").strip()
        seed = (_whole(seed_text, "invitation_seed", "the seed", top=selection.MAX_SEED)
                if seed_text else None)
        round_ = service.draw_invitations(db, panel=panel, count=count, seed=seed,
                                          by_stratum=values.get("by_stratum") == "yes")
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=exc, values=values)
    return _done(request, slug, f"Invited {round_.requested:,} addresses (round "
                                f"{round_.number}, seed {round_.seed}). Download the letters.",
                 "#invitations")


def _whole(text: str, field: str, what: str, *, top: int = 10**7) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValidationFailed([FieldError(field, f"Enter {what} as a whole number")]
                               ) from None
    if not 0 <= number <= top:
        raise ValidationFailed([FieldError(field, f"Enter {what} from 0 to {top}")])
    return number


@router.get("/panels/{slug}/invitations/{number}/letters.csv")
def letters(request: Request, slug: str, number: Number, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    base = str(request.base_url).rstrip("/")
    rows = service.letters(db, panel=panel, round_number=number)
    body = csv_bytes([["reference", "line1", "line2", "town", "postcode", "code",
                  "registration_url"]] + [
        [r["reference"], r["line1"], r["line2"], r["town"], r["postcode"], r["code"],
         base + r["registration_path"]] for r in rows])
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{slug}-letters-round{number}.csv"',
        "Cache-Control": "no-store"})


@router.get("/panels/{slug}/volunteers", response_class=HTMLResponse)
def volunteers(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    response = render(request, "panels/volunteers.html", {
        "panel": panel, "volunteers": service.volunteers(db, panel),
        "labels": {(f.name, v.value): v.label for f in panel.features for v in f.values},
    }, user=user)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/panels/{slug}/volunteers/{pseudonym}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, slug: str, pseudonym: str, db: DB, user: CurrentUser
                   ) -> Response:
    user, panel = _editable(db, user, slug)
    service.withdraw(db, panel=panel, pseudonym=pseudonym)
    flash(request, f"{pseudonym} has withdrawn. Draw a replacement from the panel's page.")
    return RedirectResponse(f"/panels/{slug}/volunteers", status_code=303)


# Organisers: the verifiable draw -----------------------------------------------------------

def _draw_errors(exc: ValidationFailed) -> ValidationFailed:
    """Quotas that no panel can meet, shown beside the draw's form."""
    return ValidationFailed([FieldError("draw_quotas", e.message) if e.field == "quotas" else e
                             for e in exc.errors])


@router.post("/panels/{slug}/commit", response_class=HTMLResponse)
async def commit(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        data = validate(CommitIn, {**values, "commitment": values.get("commitment") or None})
        run = await run_in_threadpool(selection.commit, db, panel=panel, data=data)
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=_draw_errors(exc), values=values)
    return _done(request, slug, f"Draw {run.number} committed: the commitment "
                                f"{run.commitment_sha256[:12]}… and the inputs are published.",
                 "#selection")


@router.post("/panels/{slug}/draw", response_class=HTMLResponse)
async def draw(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        run = await run_in_threadpool(selection.draw, db, panel=panel,
                                      seed_text=values.get("seed", ""))
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=_draw_errors(exc), values=values)
    what = "members" if run.kind == RunKind.INITIAL else "replacements"
    flash(request, f"Drawn: {len(run.selected)} {what} with seed {run.seed}.")
    return RedirectResponse(f"/panels/{slug}/selection#run-{run.number}", status_code=303)


@router.post("/panels/{slug}/abandon", response_class=HTMLResponse)
async def abandon(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        run = selection.abandon(db, panel=panel, reason=values.get("reason", ""))
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=exc, values=values)
    return _done(request, slug, f"Draw {run.number} abandoned; the reason is published.",
                 "#selection")


@router.post("/panels/{slug}/purge", response_class=HTMLResponse)
async def purge(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, panel = _editable(db, user, slug)
    done = service.purge_personal_data(db, panel=panel)
    return _done(request, slug, f"Deleted the names and contact details of {done.volunteers:,} "
                                f"volunteers and {done.addresses:,} addresses.", "#personal-data")


# Organisers: recommendations and responses -------------------------------------------------

@router.post("/panels/{slug}/recommendations", response_class=HTMLResponse)
async def add_recommendation(request: Request, slug: str, db: DB, user: CurrentUser
                             ) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    try:
        item = service.add_recommendation(db, panel=panel,
                                          data=service.parse_recommendation(values))
    except ValidationFailed as exc:
        return _manage_page(request, db, user, panel, error=exc, values=values)
    return _done(request, slug, f"Recommendation {item.number} recorded.", "#recommendations")


@router.post("/panels/{slug}/recommendations/{number}/response", response_class=HTMLResponse)
async def respond(request: Request, slug: str, number: Number, db: DB, user: CurrentUser
                  ) -> Response:
    user, panel = _editable(db, user, slug)
    values = await form_values(request)
    item = service.get_recommendation(db, panel=panel, number=number)
    fields = ("status", "text", "published_on")
    try:
        service.respond(db, recommendation=item, data=service.parse_response(
            {f: values.get(f"{f}-{number}", "") for f in fields}))
    except ValidationFailed as exc:
        errors = [FieldError(f"{e.field}-{number}", e.message) for e in exc.errors]
        return _manage_page(request, db, user, panel, error=ValidationFailed(errors),
                            values=values)
    return _done(request, slug, f"Response to recommendation {number} saved.",
                 "#recommendations")
