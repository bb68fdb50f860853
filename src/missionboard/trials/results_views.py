"""Pages for a trial's results: the results page (the evidence summary, the forest plot with
its table of estimates, the CONSORT flow, the balance table and the subgroups) and its JSON
and CSV downloads, public once the trial is registered; and the editors' form that uses a
result as the evidence for an intervention's effect on the mission's trajectory.

Drafts are seen only by the editors of the trial's mission (and admins), as on the trial's
own page."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from missionboard.accounts import access
from missionboard.accounts.models import User
from missionboard.delivery import service as delivery_service
from missionboard.delivery.models import EvidenceKind
from missionboard.errors import FieldError, NotFound, ValidationFailed, validate
from missionboard.metrics import service as metrics_service
from missionboard.trials import evidence_link, results, service
from missionboard.trials.models import Trial
from missionboard.trials.results_charts import forest_spec
from missionboard.trials.results_schemas import EvidenceLinkIn
from missionboard.trials.views import MODEL_LABELS, STATUS_LABELS, TESTING_LABELS
from missionboard.web.deps import (
    DB,
    CurrentUser,
    csrf_protect,
    flash,
    form_errors,
    form_values,
    render,
)
from missionboard.web.uploads import base_url

router = APIRouter(dependencies=[Depends(csrf_protect)])

_WHAT = "use this trial's results as evidence"
EVIDENCE_LABELS = {
    EvidenceKind.PILOT_TRIAL: "a pilot trial",
    EvidenceKind.AT_SCALE_EVALUATION: "an at-scale evaluation",
    EvidenceKind.ACADEMIC_TRIAL: "an academic trial",
    EvidenceKind.EXPERT_JUDGEMENT: "expert judgement",
}


def _trial(db: DB, user: User | None, slug: str) -> Trial:
    """The public sees registered trials of published missions; drafts only the editors."""
    trial = service.get_trial(db, slug=slug)
    if not (trial.is_public or access.can_edit_mission(user, trial.mission_id)):
        raise NotFound(f"No trial {slug!r}")
    return trial


def _editable(db: DB, user: User | None, slug: str) -> tuple[User, Trial]:
    user = access.require_user(user)
    trial = service.get_trial(db, slug=slug)
    access.require(access.can_edit_mission(user, trial.mission_id), _WHAT)
    return user, trial




@router.get("/trials/{slug}/results", response_class=HTMLResponse)
def results_page(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    trial = _trial(db, user, slug)
    found = results.trial_results(db, trial)
    return render(request, "trials/results.html", {
        "trial": trial, "results": found,
        "summary": results.evidence_summary(db, trial, results=found),
        "forest": forest_spec(found), "status_labels": STATUS_LABELS,
        "model_labels": MODEL_LABELS, "testing_labels": TESTING_LABELS,
        "evidence_labels": EVIDENCE_LABELS,
        "can_edit": access.can_edit_mission(user, trial.mission_id),
    }, user=user)


def _finite(value: Any) -> Any:
    """The value with every number that is not finite replaced by null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


@router.get("/trials/{slug}/results.json")
def results_json(slug: str, db: DB, user: CurrentUser) -> Response:
    trial = _trial(db, user, slug)
    found = results.trial_results(db, trial)
    body = results.results_json(found, results.evidence_summary(db, trial, results=found))
    return Response(json.dumps(_finite(body), indent=1, allow_nan=False),
                    media_type="application/json", headers={
                        "Content-Disposition": f'attachment; filename="{slug}-results.json"'})


@router.get("/trials/{slug}/results.csv")
def results_csv(slug: str, db: DB, user: CurrentUser) -> Response:
    trial = _trial(db, user, slug)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(
        results.csv_rows(results.trial_results(db, trial)))
    return Response(buffer.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="{slug}-results.csv"'})


# Editors: the result as the evidence for an intervention's effect --------------------------

def _link_defaults(trial: Trial, found: results.TrialResults) -> dict[str, str]:
    primary = found.primary
    return {
        "intervention_id": "" if trial.intervention_id is None else str(trial.intervention_id),
        "analysis": f"{primary.outcome}/{primary.arm}" if primary else "",
        "area_code": "", "interval_level": "80",
    }


def _link_form(request: Request, db: DB, user: User, trial: Trial, *,
               found: results.TrialResults, values: dict[str, str],
               errors: list[FieldError] | None = None) -> Response:
    context: dict[str, Any] = {
        "trial": trial, "results": found, "values": values,
        "estimated": [a for a in found.analyses if a.estimate is not None],
        "interventions": delivery_service.list_interventions(db, mission=trial.mission),
        "metrics": evidence_link.candidate_metrics(trial),
        "areas": metrics_service.list_areas(db),
        "discounts": [(EVIDENCE_LABELS[k], delivery_service.DEFAULT_OPTIMISM[k])
                      for k in (EvidenceKind.PILOT_TRIAL, EvidenceKind.AT_SCALE_EVALUATION)],
        "published": trial.mission.is_published,
    }
    if errors:
        context.update(form_errors(errors))
    return render(request, "trials/evidence_link.html", context, user=user,
                  status_code=422 if errors else 200)


@router.get("/trials/{slug}/results/evidence", response_class=HTMLResponse)
def evidence_form(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    found = results.trial_results(db, trial)
    return _link_form(request, db, user, trial, found=found,
                      values=_link_defaults(trial, found))


def _number(values: dict[str, str], name: str, message: str, errors: list[FieldError],
            *, scale: float = 1.0) -> float | None:
    text = values.get(name, "").strip().replace(",", "")
    try:
        number = float(text) / scale
    except ValueError:
        errors.append(FieldError(name, message))
        return None
    if not math.isfinite(number):
        errors.append(FieldError(name, message))
        return None
    return number


def _link_data(values: dict[str, str]) -> EvidenceLinkIn:
    errors: list[FieldError] = []
    outcome, _, arm = values.get("analysis", "").partition("/")
    factor = _number(values, "factor", "Enter the conversion factor as a number, for example "
                                       "0.45", errors)
    level = _number(values, "interval_level", "Enter the interval as a percentage between 1 "
                                              "and 99, for example 80", errors, scale=100)
    if level is not None and not 0 < level < 1:
        errors.append(FieldError("interval_level", "Enter the interval as a percentage "
                                                   "between 1 and 99, for example 80"))
        level = None
    data = {"intervention_id": values.get("intervention_id") or None, "outcome": outcome,
            "arm": arm, "metric_slug": values.get("metric_slug", ""),
            "area_code": values.get("area_code", ""), "factor": factor,
            "factor_explanation": values.get("factor_explanation", ""),
            "interval_level": level if level is not None else 0.8,
            "at_scale": values.get("at_scale") == "yes", "reason": values.get("reason", "")}
    try:
        parsed = validate(EvidenceLinkIn, data)
    except ValidationFailed as exc:
        errors += [e for e in exc.errors
                   if not (e.field in ("factor", "interval_level")
                           and any(p.field == e.field for p in errors))]
    if errors:
        raise ValidationFailed(_on_form(errors))
    return parsed


def _on_form(errors: list[FieldError]) -> list[FieldError]:
    """Errors against the form's fields: the outcome and arm are one choice, ``analysis``."""
    renamed = {"outcome": "analysis", "arm": "analysis"}
    messages = {"intervention_id": "Choose an intervention of this mission",
                "analysis": "Choose the result to use", "metric_slug": "Choose a metric",
                "area_code": "Choose an area",
                "factor_explanation": "Say in words how the factor converts the trial's "
                                      "effect into the metric's units"}
    out: list[FieldError] = []
    for e in errors:
        name = renamed.get(e.field, e.field)
        if any(o.field == name for o in out):
            continue
        message = e.message
        if name in messages and (message.startswith(("Enter ", "The ")) or name == "analysis"):
            message = messages[name]
        out.append(FieldError(name, message))
    return out


@router.post("/trials/{slug}/results/evidence", response_class=HTMLResponse)
async def use_as_evidence(request: Request, slug: str, db: DB, user: CurrentUser) -> Response:
    user, trial = _editable(db, user, slug)
    values = await form_values(request)
    found = results.trial_results(db, trial)
    try:
        link = evidence_link.link_evidence(db, trial=trial, results=found,
                                           data=_link_data(values), base_url=base_url(request),
                                           actor=user)
    except ValidationFailed as exc:
        return _link_form(request, db, user, trial, found=found, values=values,
                          errors=_on_form(exc.errors))
    e, o = link.effect, link.optimism
    level = f"{e.interval_level:.0%}"
    flash(request, (
        f"‘{link.intervention.title}’ now takes its effect on {e.metric.title} in "
        f"{e.area.name} from this trial: {e.central:.3g} ({level} interval {e.low:.3g} to "
        f"{e.high:.3g}). As evidence from {EVIDENCE_LABELS[link.evidence_kind]}, the "
        f"trajectory counts {o.factor:.0%} of it ({o.reason}): {link.discounted_central:.3g} "
        f"({link.discounted_low:.3g} to {link.discounted_high:.3g})."))
    return RedirectResponse(f"/trials/{slug}/results#mission", status_code=303)
