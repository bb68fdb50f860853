"""Trials: the register, the locked analysis plan and its amendments, the units and their
committed randomisation, assignment as cases arrive with the sample-ratio check, outcome data
loads, and the classification of analyses as pre-specified or exploratory.

The randomisation algorithms are :mod:`missionboard.analytics.randomisation`'s; this module
only stores what goes in and what comes out. The seed commitment reuses the panels' helpers
(:func:`missionboard.panels.published.seed_commitment` and
:func:`missionboard.panels.selection.parse_seed`), so a trial's allocation is checked exactly
as a panel's draw is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from missionboard.analytics import randomisation
from missionboard.db.base import utcnow
from missionboard.errors import Conflict, FieldError, NotFound, ValidationFailed
from missionboard.missions.models import Mission
from missionboard.panels import published
from missionboard.panels.models import SeedSource
from missionboard.panels.selection import MAX_SEED, parse_seed
from missionboard.panels.service import log_change
from missionboard.trials.models import (
    AnalysisModel,
    AnalysisPlan,
    OutcomeLoad,
    OutcomeRole,
    OutcomeValue,
    Trial,
    TrialAllocation,
    TrialArm,
    TrialExposure,
    TrialOutcome,
    TrialStatus,
    TrialUnit,
    UnitKind,
)
from missionboard.trials.schemas import AllocationIn, PlanIn, RegistrationOut, TrialIn

#: Column prefixes of the units file: ``stratum_<name>`` and ``covariate_<name>``.
STRATUM_PREFIX = "stratum_"
COVARIATE_PREFIX = "covariate_"
UNIT_COLUMNS = ("unit_id", "cluster")
OUTCOME_COLUMNS = ("unit_id", "outcome", "value")
#: The most rows one upload may carry.
MAX_ROWS = 200_000
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
#: Arms are compared with a p-value below this before the page warns of a sample ratio
#: mismatch (the usual threshold for SRM checks, which run continually).
SRM_MIN_UNITS = 20


# The register ------------------------------------------------------------------------------

def list_trials(session: Session, *, mission: Mission | None = None) -> list[Trial]:
    """Every trial (drafts too: the caller decides who may see which), newest first."""
    query = select(Trial).order_by(Trial.created_at.desc(), Trial.id.desc())
    if mission is not None:
        query = query.where(Trial.mission_id == mission.id)
    return list(session.scalars(query))


def get_trial(session: Session, *, slug: str) -> Trial:
    trial = session.scalar(select(Trial).where(Trial.slug == slug))
    if trial is None:
        raise NotFound(f"No trial {slug!r}")
    return trial


def create_trial(session: Session, *, mission: Mission, data: TrialIn) -> Trial:
    if session.scalar(select(Trial.id).where(Trial.slug == data.slug)):
        raise ValidationFailed([FieldError("slug", f"The short name {data.slug!r} is taken")])
    trial = Trial(mission=mission, slug=data.slug, status=TrialStatus.DRAFT)
    _apply(session, trial, data)
    session.add(trial)
    session.flush()
    return trial


def update_trial(session: Session, *, trial: Trial, data: TrialIn) -> Trial:
    """Change the registration. Once registered, the arms, the outcomes, the unit of
    randomisation and the design are fixed (a change is a new trial); the rest can change
    and the audit log keeps each edit."""
    if data.slug != trial.slug:
        raise ValidationFailed([FieldError("slug", "The short name cannot change")])
    if trial.status != TrialStatus.DRAFT:
        fixed = []
        if [(a.key, a.label, a.ratio) for a in data.arms] != [
                (a.key, a.label, a.ratio) for a in trial.arms]:
            fixed.append(FieldError("arms", "The trial is registered: its arms and their "
                                            "ratio can no longer change"))
        if [(o.key, o.title, o.role) for o in data.outcomes] != [
                (o.key, o.title, o.role) for o in trial.outcomes]:
            fixed.append(FieldError("outcomes", "The trial is registered: its outcomes can "
                                                "no longer change (amend the analysis plan)"))
        if data.unit_kind != trial.unit_kind or data.design != trial.design:
            fixed.append(FieldError("design", "The trial is registered: its design and unit "
                                              "of randomisation can no longer change"))
        if fixed:
            raise ValidationFailed(fixed)
    _apply(session, trial, data)
    session.flush()
    return trial


def _apply(session: Session, trial: Trial, data: TrialIn) -> None:
    mission = trial.mission
    if data.intervention_id is not None:
        from missionboard.delivery.models import Intervention

        found = session.get(Intervention, data.intervention_id)
        if found is None or found.mission_id != mission.id:
            raise ValidationFailed([FieldError("intervention_id",
                                               "Choose an intervention of this mission")])
    trial.title, trial.question = data.title, data.question
    trial.population, trial.comparator = data.population, data.comparator.strip()
    trial.intervention_id = data.intervention_id
    trial.unit_kind, trial.design = data.unit_kind, data.design
    trial.cluster_kind = data.cluster_kind.strip() if data.unit_kind == UnitKind.CLUSTER else ""
    trial.planned_units, trial.planned_clusters = data.planned_units, data.planned_clusters
    trial.start_on, trial.end_on, trial.analysis_on = data.start_on, data.end_on, data.analysis_on
    trial.owner, trial.ethics = data.owner, data.ethics.strip()
    trial.data_sharing = data.data_sharing.strip()
    trial.cost_per_participant = data.cost_per_participant
    if trial.status != TrialStatus.DRAFT:
        return
    for old in [*trial.arms, *trial.outcomes]:  # deleted explicitly: the audit log has them
        session.delete(old)
    if trial.id is not None:
        session.flush()
        session.expire(trial, ["arms", "outcomes"])
    trial.arms = [TrialArm(key=a.key, label=a.label, ratio=a.ratio, position=i)
                  for i, a in enumerate(data.arms)]
    trial.outcomes = [TrialOutcome(key=o.key, title=o.title, role=o.role, position=i)
                      for i, o in enumerate(data.outcomes)]


STATUS_MOVES: dict[TrialStatus, tuple[TrialStatus, ...]] = {
    TrialStatus.DRAFT: (TrialStatus.REGISTERED,),
    TrialStatus.REGISTERED: (TrialStatus.RECRUITING, TrialStatus.STOPPED),
    TrialStatus.RECRUITING: (TrialStatus.ANALYSING, TrialStatus.STOPPED),
    TrialStatus.ANALYSING: (TrialStatus.FINISHED, TrialStatus.STOPPED),
    TrialStatus.FINISHED: (),
    TrialStatus.STOPPED: (),
}


def set_status(session: Session, *, trial: Trial, status: TrialStatus, reason: str = ""
               ) -> Trial:
    """Register the trial (it becomes public), open recruitment, move to analysis, finish,
    or stop it early (with a public reason). A registered trial never returns to draft."""
    if status not in STATUS_MOVES[trial.status]:
        raise Conflict(f"A trial that is {trial.status.value} cannot become {status.value}")
    if status == TrialStatus.STOPPED and not reason.strip():
        raise ValidationFailed([FieldError("reason", "Give the reason the trial stopped: it "
                                                     "is published")])
    trial.status = status
    if status == TrialStatus.REGISTERED:
        trial.registered_at = utcnow()
    if status == TrialStatus.STOPPED:
        trial.status_reason = reason.strip()
    session.flush()
    return trial


# The analysis plan -------------------------------------------------------------------------

def canonical_json(content: Mapping[str, Any]) -> str:
    """The plan as hashed: keys sorted, no spaces, UTF-8 (non-ASCII kept as is)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plans(session: Session, trial: Trial) -> list[AnalysisPlan]:
    """Every version of the plan, oldest first."""
    return list(session.scalars(select(AnalysisPlan).where(
        AnalysisPlan.trial_id == trial.id).order_by(AnalysisPlan.version)))


def current_plan(session: Session, trial: Trial) -> AnalysisPlan | None:
    """The latest version: a draft, or the plan in force."""
    return session.scalar(select(AnalysisPlan).where(AnalysisPlan.trial_id == trial.id)
                          .order_by(AnalysisPlan.version.desc()).limit(1))


def locked_plan(session: Session, trial: Trial) -> AnalysisPlan | None:
    """The plan in force: the latest locked version, if any."""
    return session.scalar(select(AnalysisPlan).where(
        AnalysisPlan.trial_id == trial.id, AnalysisPlan.locked_at.is_not(None))
        .order_by(AnalysisPlan.version.desc()).limit(1))


def get_plan(session: Session, *, trial: Trial, version: int) -> AnalysisPlan:
    found = session.scalar(select(AnalysisPlan).where(AnalysisPlan.trial_id == trial.id,
                                                      AnalysisPlan.version == version))
    if found is None:
        raise NotFound(f"No version {version} of this trial's analysis plan")
    return found


def _plan_content(trial: Trial, data: PlanIn) -> dict[str, Any]:
    registered = {o.key for o in trial.outcomes}
    unknown = [o.key for o in data.outcomes if o.key not in registered]
    if unknown:
        raise ValidationFailed([FieldError("outcomes", "Not an outcome of this trial: "
                                                       + ", ".join(unknown))])
    content = data.model_dump(mode="json")
    if not content["education"]:  # absent unless set: older plans keep their hashes
        del content["education"]
    return content


def _set_content(plan: AnalysisPlan, content: dict[str, Any]) -> None:
    plan.content = content
    plan.canonical = canonical_json(content)
    plan.sha256 = sha256_of(plan.canonical)


def save_plan_draft(session: Session, *, trial: Trial, data: PlanIn,
                    author_id: int | None = None) -> AnalysisPlan:
    """Write (or rewrite) the draft plan. Once a version is locked, changes are
    amendments (:func:`amend_plan`), each with a reason."""
    if locked_plan(session, trial) is not None:
        raise Conflict("The analysis plan is locked: amend it, giving the reason")
    content = _plan_content(trial, data)
    plan = current_plan(session, trial)
    if plan is None:
        plan = AnalysisPlan(trial_id=trial.id, version=1, author_id=author_id)
        session.add(plan)
    plan.author_id = author_id
    _set_content(plan, content)
    session.flush()
    return plan


def lock_plan(session: Session, *, trial: Trial) -> AnalysisPlan:
    """Lock the draft: its canonical JSON, SHA-256 and the time are fixed and published."""
    plan = current_plan(session, trial)
    if plan is None:
        raise Conflict("Write the analysis plan before locking it")
    if plan.is_locked:
        raise Conflict("The analysis plan is already locked")
    if sha256_of(plan.canonical) != plan.sha256 or canonical_json(plan.content) != plan.canonical:
        raise Conflict("The stored plan no longer matches its hash")
    plan.locked_at = utcnow()
    session.flush()
    return plan


def amend_plan(session: Session, *, trial: Trial, data: PlanIn, reason: str,
               author_id: int | None = None) -> AnalysisPlan:
    """A new version of a locked plan, locked when made, with its public reason."""
    previous = locked_plan(session, trial)
    if previous is None:
        raise Conflict("The analysis plan is not locked yet: edit the draft instead")
    errors = []
    if not reason.strip():
        errors.append(FieldError("reason", "Give the reason for the amendment: it is "
                                           "published with the new version"))
    content = _plan_content(trial, data)
    if canonical_json(content) == previous.canonical:
        errors.append(FieldError("plan", "The amendment does not change the plan"))
    if errors:
        raise ValidationFailed(errors)
    plan = AnalysisPlan(trial_id=trial.id, version=previous.version + 1, reason=reason.strip(),
                        author_id=author_id, locked_at=utcnow())
    _set_content(plan, content)
    session.add(plan)
    session.flush()
    return plan


def plan_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The plan's top-level fields that differ between two versions."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@dataclass(frozen=True)
class AnalysisClass:
    """Whether an analysis was in the plan in force when its outcome's data was loaded."""

    pre_specified: bool
    plan_version: int
    plan_sha256: str
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return "pre-specified" if self.pre_specified else "exploratory"


def classify_analysis(session: Session, *, trial: Trial, outcome: str, model: AnalysisModel,
                      covariates: Sequence[str] = (), subgroup: str | None = None
                      ) -> AnalysisClass:
    """Pre-specified when the plan locked at the time the outcome's data was first loaded
    names this outcome, this model, covariates among its own and (for a subgroup analysis)
    this subgroup; exploratory otherwise, with the reasons."""
    loads = session.scalars(select(OutcomeLoad).where(OutcomeLoad.trial_id == trial.id)
                            .order_by(OutcomeLoad.number)).all()
    first = next((load for load in loads if outcome in load.outcomes), None)
    if first is None:
        raise Conflict(f"No data for the outcome {outcome!r} has been loaded")
    plan = session.get(AnalysisPlan, first.plan_id)
    assert plan is not None
    content = plan.content
    reasons = []
    if outcome not in {o["key"] for o in content["outcomes"]}:
        reasons.append(f"the outcome {outcome!r} is not in the plan")
    if model.value != content["model"]:
        reasons.append(f"the plan's model is {content['model']}, not {model.value}")
    extra = sorted(set(covariates) - set(content["covariates"]))
    if extra:
        reasons.append("covariates not in the plan: " + ", ".join(extra))
    if subgroup is not None and subgroup not in content["subgroups"]:
        reasons.append(f"the subgroup {subgroup!r} is not in the plan")
    return AnalysisClass(pre_specified=not reasons, plan_version=plan.version,
                         plan_sha256=plan.sha256, reasons=tuple(reasons))


# Units -------------------------------------------------------------------------------------

def count_units(session: Session, trial: Trial) -> int:
    return int(session.scalar(select(func.count()).select_from(TrialUnit).where(
        TrialUnit.trial_id == trial.id)) or 0)


def units(session: Session, trial: Trial) -> list[TrialUnit]:
    return list(session.scalars(select(TrialUnit).where(TrialUnit.trial_id == trial.id)
                                .order_by(TrialUnit.unit_id)))


def _finite(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def import_units(session: Session, *, trial: Trial, rows: Sequence[Mapping[str, str]]) -> int:
    """Add units to randomise, all or nothing: ``unit_id``; ``cluster`` (needed in a cluster
    trial); ``stratum_<name>`` and ``covariate_<name>`` columns (covariates are numbers).
    Every problem names its row (the header is row 1) and column. Refused once the
    randomisation is committed."""
    if allocation(session, trial) is not None:
        raise Conflict("The randomisation is committed: the units are fixed")
    if not rows:
        raise ValidationFailed([FieldError("file", "The file has no rows")])
    if len(rows) > MAX_ROWS:
        raise ValidationFailed([FieldError("file", f"The file has more than {MAX_ROWS:,} rows")])
    strata, covariates = _unit_columns(trial, list(rows[0]))
    known = set(session.scalars(select(TrialUnit.unit_id).where(TrialUnit.trial_id == trial.id)))
    errors: list[FieldError] = []
    seen: set[str] = set()
    records = []
    for number, row in enumerate(rows, start=2):
        unit_id = (row.get("unit_id") or "").strip()
        cluster = (row.get("cluster") or "").strip()
        errors += _unit_id_errors(unit_id, number, known=known, seen=seen)
        seen.add(unit_id)
        if trial.unit_kind == UnitKind.CLUSTER and not cluster:
            errors.append(FieldError("cluster", f"Enter the unit's {trial.cluster_kind}",
                                     row=number))
        if len(cluster) > 100:
            errors.append(FieldError("cluster", "Longer than 100 characters", row=number))
        stratum_values = {}
        for column in strata:
            text = (row.get(column) or "").strip()
            if not text or len(text) > 100:
                errors.append(FieldError(column, "Enter a value of up to 100 characters",
                                         row=number))
            stratum_values[column.removeprefix(STRATUM_PREFIX)] = text
        covariate_values = {}
        for column in covariates:
            value = _finite((row.get(column) or "").strip())
            if value is None:
                errors.append(FieldError(column, f"{row.get(column) or ''!r} is not a number",
                                         row=number))
                continue
            covariate_values[column.removeprefix(COVARIATE_PREFIX)] = value
        records.append({"trial_id": trial.id, "unit_id": unit_id, "cluster": cluster,
                        "strata": stratum_values, "covariates": covariate_values, "arm": None})
    if errors:
        raise ValidationFailed(errors)
    session.execute(insert(TrialUnit), records)
    log_change(session, action="import", table=TrialUnit.__tablename__, row_id=trial.id,
               changes={"added": len(records)},
               summary=f"Uploaded {len(records)} units to trial {trial.slug}")
    session.flush()
    return len(records)


def _unit_columns(trial: Trial, columns: list[str]) -> tuple[list[str], list[str]]:
    """The units file's stratum and covariate columns; an error for any other unknown one."""
    errors: list[FieldError] = []
    if "unit_id" not in columns:
        errors.append(FieldError("unit_id", "The file has no column 'unit_id'", row=1))
    if trial.unit_kind == UnitKind.CLUSTER and "cluster" not in columns:
        errors.append(FieldError("cluster", f"The file has no column 'cluster' (the "
                                            f"{trial.cluster_kind} of each unit)", row=1))
    strata: list[str] = []
    covariates: list[str] = []
    for column in columns:
        name = column.removeprefix(STRATUM_PREFIX).removeprefix(COVARIATE_PREFIX)
        if column in UNIT_COLUMNS:
            continue
        if column.startswith((STRATUM_PREFIX, COVARIATE_PREFIX)) and _NAME.match(name):
            (strata if column.startswith(STRATUM_PREFIX) else covariates).append(column)
            continue
        errors.append(FieldError(column or "(blank)", "Unknown column: use unit_id, cluster, "
                                 "stratum_<name> or covariate_<name> (lower-case)", row=1))
    if errors:
        raise ValidationFailed(errors)
    return strata, covariates


def _unit_id_errors(unit_id: str, row: int, *, known: set[str], seen: set[str]
                    ) -> list[FieldError]:
    if not unit_id:
        return [FieldError("unit_id", "Enter the unit's id", row=row)]
    if len(unit_id) > 100:
        return [FieldError("unit_id", "Longer than 100 characters", row=row)]
    if unit_id in known:
        return [FieldError("unit_id", f"{unit_id!r} is already uploaded", row=row)]
    if unit_id in seen:
        return [FieldError("unit_id", f"{unit_id!r} appears twice", row=row)]
    return []


def units_sha256(items: Sequence[TrialUnit]) -> str:
    """The SHA-256 of the units as randomised: ids, clusters, strata and covariates, in
    order of id, as canonical JSON."""
    ordered = sorted(items, key=lambda u: u.unit_id)
    return sha256_of(canonical_json({"units": [[u.unit_id, u.cluster, u.strata, u.covariates]
                                               for u in ordered]}))


# The randomisation -------------------------------------------------------------------------

def allocation(session: Session, trial: Trial) -> TrialAllocation | None:
    return session.scalar(select(TrialAllocation).where(TrialAllocation.trial_id == trial.id))


def commit_allocation(session: Session, *, trial: Trial, data: AllocationIn) -> TrialAllocation:
    """Publish the commitment to the seed and freeze the units, before anything is
    allocated. The trial must be registered (so that the commitment is public)."""
    if trial.status not in (TrialStatus.REGISTERED, TrialStatus.RECRUITING):
        raise Conflict("Register the trial first: the commitment must be public before the "
                       "allocation")
    if allocation(session, trial) is not None:
        raise Conflict("The randomisation is already committed")
    items = units(session, trial)
    if len(items) < len(trial.arms):
        raise Conflict(f"Upload at least {len(trial.arms)} units before committing")
    errors = _option_errors(trial, items, data)
    if errors:
        raise ValidationFailed(errors)
    held = None
    if data.seed_source == SeedSource.APP:
        seed = secrets.randbelow(MAX_SEED)
        held, commitment = str(seed), published.seed_commitment(seed)
    else:
        assert data.commitment is not None
        commitment = data.commitment
    found = TrialAllocation(
        trial_id=trial.id, seed_source=data.seed_source,
        seed_description=data.seed_description.strip(), commitment_sha256=commitment,
        committed_at=utcnow(), units_sha256=units_sha256(items), units=len(items),
        options={"stratify": data.stratify, "block_size": data.block_size,
                 "balance_threshold": data.balance_threshold},
        held_seed=held)
    session.add(found)
    session.flush()
    return found


def _option_errors(trial: Trial, items: Sequence[TrialUnit], data: AllocationIn
                   ) -> list[FieldError]:
    """Options the randomisation would refuse, found before anything is committed."""
    errors = []
    if data.stratify and not any(u.strata for u in items):
        errors.append(FieldError("stratify", "The units have no stratum_ columns to "
                                             "stratify by"))
    total = sum(a.ratio for a in trial.arms)
    if data.block_size is not None and data.block_size % total:
        errors.append(FieldError("block_size", f"The block size must be a multiple of {total} "
                                               "(the allocation ratio's total)"))
    if data.balance_threshold is not None and not any(u.covariates for u in items):
        errors.append(FieldError("balance_threshold", "The units have no covariate_ columns "
                                                      "to balance"))
    if data.stratify and trial.unit_kind == UnitKind.CLUSTER:
        seen: dict[str, dict[str, str]] = {}
        split = sorted({u.cluster for u in items if seen.setdefault(u.cluster, u.strata)
                        != u.strata})
        if split:
            errors.append(FieldError("stratify", "Each cluster must lie in one stratum; these "
                                                 "do not: " + ", ".join(split[:5])))
    return errors


def allocate(session: Session, *, trial: Trial, seed_text: str = "") -> TrialAllocation:
    """Reveal the seed (checked against the commitment), randomise the frozen units with
    :func:`missionboard.analytics.randomisation.randomise`, and store each unit's arm and
    the balance table."""
    found = allocation(session, trial)
    if found is None:
        raise Conflict("Commit to a seed first")
    if found.is_allocated:
        raise Conflict("The units are already allocated")
    if found.seed_source == SeedSource.APP:
        assert found.held_seed is not None
        seed = int(found.held_seed)
    else:
        seed = parse_seed(seed_text, commitment=found.commitment_sha256)
    items = units(session, trial)
    if units_sha256(items) != found.units_sha256:
        raise Conflict("The units no longer match their committed hash")
    try:
        result = _randomise(trial, items, seed=seed, options=found.options)
    except ValueError as exc:  # e.g. no allocation within the attempts meets the threshold
        raise Conflict(f"The units cannot be allocated with these options: {exc}") from None
    for unit in items:
        unit.arm = result.arms[unit.unit_id]
    found.seed, found.held_seed, found.allocated_at = str(seed), None, utcnow()
    found.method, found.attempts = result.method, result.attempts
    smd = result.max_abs_smd
    found.max_abs_smd = None if smd is None or not math.isfinite(smd) else smd
    found.balance = [_plain_row(row) for row in result.balance]
    session.flush()
    return found


def _randomise(trial: Trial, items: Sequence[TrialUnit], *, seed: int,
               options: Mapping[str, Any]) -> randomisation.Allocation:
    """The library's allocation of the units in order of id (as hashed at the commitment):
    clusters in a cluster trial, the strata combined into one label when stratifying."""
    ids = [u.unit_id for u in items]
    covariate_names = sorted({name for u in items for name in u.covariates})
    strata = ({u.unit_id: "|".join(f"{k}={v}" for k, v in sorted(u.strata.items()))
               for u in items} if options.get("stratify") else None)
    clusters = ({u.unit_id: u.cluster for u in items}
                if trial.unit_kind == UnitKind.CLUSTER else None)
    covariates = ({name: [float(u.covariates.get(name, math.nan)) for u in items]
                   for name in covariate_names} or None)
    return randomisation.randomise(
        ids, arms=[a.key for a in trial.arms], ratio=[a.ratio for a in trial.arms], seed=seed,
        strata=strata, block_size=options.get("block_size"), clusters=clusters,
        covariates=covariates, balance_threshold=options.get("balance_threshold"))


def _plain_row(row: randomisation.BalanceRow) -> dict[str, Any]:
    """A balance row as JSON: numbers that are not finite become null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in dataclasses.asdict(row).items()}


def arm_counts(session: Session, trial: Trial) -> dict[str, dict[str, int]]:
    """Per arm: allocated units, their clusters, and exposures logged by the API."""
    out = {a.key: {"units": 0, "clusters": 0, "exposures": 0} for a in trial.arms}
    for arm, n, clusters in session.execute(
            select(TrialUnit.arm, func.count(), func.count(func.distinct(TrialUnit.cluster)))
            .where(TrialUnit.trial_id == trial.id, TrialUnit.arm.is_not(None))
            .group_by(TrialUnit.arm)):
        if arm in out:
            out[arm]["units"], out[arm]["clusters"] = int(n), int(clusters)
    for arm, n in session.execute(select(TrialExposure.arm, func.count()).where(
            TrialExposure.trial_id == trial.id).group_by(TrialExposure.arm)):
        if arm in out:
            out[arm]["exposures"] = int(n)
    return out


# Assignment as cases arrive ----------------------------------------------------------------

def assign(session: Session, *, trial: Trial, unit_id: str) -> tuple[TrialExposure, bool]:
    """The unit's arm, from the trial's key and the unit's id (stable: the same unit always
    gets the same arm), and its exposure logged once. Returns the exposure and whether this
    call logged it. Only while the trial is recruiting."""
    if trial.status != TrialStatus.RECRUITING:
        raise Conflict(f"The trial is {trial.status.value}, not recruiting: no assignments")
    existing = _exposure(session, trial, unit_id)
    if existing is not None:
        return existing, False
    arm = randomisation.assign_arm(unit_id, trial_key=trial.slug,
                                   arms=[a.key for a in trial.arms],
                                   ratio=[a.ratio for a in trial.arms])
    exposure = TrialExposure(trial_id=trial.id, unit_id=unit_id, arm=arm,
                             exposed_at=utcnow())
    try:
        with session.begin_nested():
            session.add(exposure)
    except IntegrityError:  # the same unit assigned at the same moment by another request
        found = _exposure(session, trial, unit_id)
        if found is None:
            raise
        return found, False
    return exposure, True


def _exposure(session: Session, trial: Trial, unit_id: str) -> TrialExposure | None:
    return session.scalar(select(TrialExposure).where(TrialExposure.trial_id == trial.id,
                                                      TrialExposure.unit_id == unit_id))


@dataclass(frozen=True)
class RatioCheck:
    """The exposures by arm against the planned ratio, and the sample-ratio-mismatch test."""

    counts: dict[str, int]
    expected: dict[str, float]
    chi2: float
    df: int
    p_value: float
    mismatch: bool


def ratio_check(session: Session, trial: Trial) -> RatioCheck | None:
    """The sample-ratio-mismatch check of the exposures, once there are enough of them."""
    counts = {arm: n["exposures"] for arm, n in arm_counts(session, trial).items()}
    total = sum(counts.values())
    if total < SRM_MIN_UNITS or len(counts) < 2:
        return None
    keys = [a.key for a in trial.arms]
    ratio = [a.ratio for a in trial.arms]
    result = randomisation.sample_ratio_mismatch([counts[k] for k in keys], ratio)
    return RatioCheck(counts=counts, expected=dict(zip(keys, result.expected, strict=True)),
                      chi2=result.chi2, df=result.df, p_value=result.p_value,
                      mismatch=result.mismatch)


# Outcome data ------------------------------------------------------------------------------

def outcome_loads(session: Session, trial: Trial) -> list[OutcomeLoad]:
    return list(session.scalars(select(OutcomeLoad).where(OutcomeLoad.trial_id == trial.id)
                                .order_by(OutcomeLoad.number)))


def load_outcomes(session: Session, *, trial: Trial, rows: Sequence[Mapping[str, str]]
                  ) -> OutcomeLoad:
    """Load outcome values, all or nothing: ``unit_id, outcome, value`` rows for units that
    have an arm (allocated or assigned), for the trial's registered outcomes. Refused until
    the analysis plan is locked; the load records the plan version in force."""
    plan = locked_plan(session, trial)
    if plan is None:
        raise Conflict("Lock the analysis plan before loading outcome data: the plan must be "
                       "fixed before anyone sees the outcomes")
    if not rows:
        raise ValidationFailed([FieldError("file", "The file has no rows")])
    if len(rows) > MAX_ROWS:
        raise ValidationFailed([FieldError("file", f"The file has more than {MAX_ROWS:,} rows")])
    missing = [c for c in OUTCOME_COLUMNS if c not in rows[0]]
    if missing:
        raise ValidationFailed([FieldError(c, f"The file has no column {c!r}", row=1)
                                for c in missing])
    outcomes = {o.key for o in trial.outcomes}
    with_arm = set(session.scalars(select(TrialUnit.unit_id).where(
        TrialUnit.trial_id == trial.id, TrialUnit.arm.is_not(None))))
    with_arm |= set(session.scalars(select(TrialExposure.unit_id).where(
        TrialExposure.trial_id == trial.id)))
    loaded = {(unit, outcome) for unit, outcome in session.execute(
        select(OutcomeValue.unit_id, OutcomeValue.outcome).where(
            OutcomeValue.trial_id == trial.id))}
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    records = []
    for number, row in enumerate(rows, start=2):
        unit_id = (row.get("unit_id") or "").strip()
        outcome = (row.get("outcome") or "").strip()
        value = _finite((row.get("value") or "").strip())
        if unit_id not in with_arm:
            errors.append(FieldError("unit_id", f"{unit_id!r} is not a unit of this trial "
                                                "with an arm", row=number))
        if outcome not in outcomes:
            errors.append(FieldError("outcome", f"{outcome!r} is not an outcome of this "
                                                "trial", row=number))
        if value is None:
            errors.append(FieldError("value", f"{row.get('value') or ''!r} is not a number",
                                     row=number))
        key = (unit_id, outcome)
        if key in loaded:
            errors.append(FieldError("unit_id", f"{outcome} for {unit_id!r} is already loaded",
                                     row=number))
        elif key in seen:
            errors.append(FieldError("unit_id", f"{outcome} for {unit_id!r} appears twice",
                                     row=number))
        seen.add(key)
        records.append({"trial_id": trial.id, "unit_id": unit_id, "outcome": outcome,
                        "value": value})
    if errors:
        raise ValidationFailed(errors)
    number = (session.scalar(select(func.max(OutcomeLoad.number)).where(
        OutcomeLoad.trial_id == trial.id)) or 0) + 1
    load = OutcomeLoad(trial_id=trial.id, number=number, loaded_at=utcnow(), plan_id=plan.id,
                       plan_version=plan.version, plan_sha256=plan.sha256,
                       outcomes=sorted({r["outcome"] for r in records}), rows=len(records))
    session.add(load)
    session.flush()
    session.execute(insert(OutcomeValue), [{**r, "load_id": load.id} for r in records])
    log_change(session, action="import", table=OutcomeValue.__tablename__, row_id=trial.id,
               changes={"load": number, "rows": len(records)},
               summary=f"Loaded {len(records)} outcome values for trial {trial.slug} under "
                       f"plan version {plan.version}")
    session.flush()
    return load


# The register's export ---------------------------------------------------------------------

def registration_record(session: Session, trial: Trial, *, base_url: str = "") -> RegistrationOut:
    """The trial as the WHO Trial Registration Data Set and ISRCTN ask for it."""
    plan = locked_plan(session, trial)
    unit = ("individual" if trial.unit_kind == UnitKind.INDIVIDUAL
            else f"cluster ({trial.cluster_kind})")
    return RegistrationOut(
        trial_id=trial.slug, url=f"{base_url}/trials/{trial.slug}",
        registered_at=trial.registered_at, public_title=trial.title,
        scientific_question=trial.question, sponsor=trial.owner, mission=trial.mission.title,
        intervention_tested=trial.intervention.title if trial.intervention else None,
        population=trial.population, design=trial.design, unit_of_randomisation=unit,
        interventions=[f"{a.label} ({a.key})" for a in trial.arms],
        comparator=trial.comparator,
        allocation_ratio=" : ".join(str(a.ratio) for a in trial.arms),
        primary_outcomes=[o.title for o in trial.outcomes if o.role == OutcomeRole.PRIMARY],
        secondary_outcomes=[o.title for o in trial.outcomes if o.role == OutcomeRole.SECONDARY],
        target_sample_size=trial.planned_units, target_clusters=trial.planned_clusters,
        date_of_first_enrolment=trial.start_on, date_of_completion=trial.end_on,
        date_of_planned_analysis=trial.analysis_on, recruitment_status=trial.status,
        ethics_review=trial.ethics, ipd_sharing_statement=trial.data_sharing,
        cost_per_participant=trial.cost_per_participant,
        analysis_plan_sha256=plan.sha256 if plan else None,
        analysis_plan_locked_at=plan.locked_at if plan else None,
        illustrative=trial.illustrative)


def registration_rows(records: Sequence[RegistrationOut]) -> list[list[str]]:
    """The records as CSV rows (a header first; lists joined by "; ")."""
    header = list(RegistrationOut.model_fields)
    rows = [header]
    for record in records:
        data = record.model_dump(mode="json")
        rows.append(["; ".join(v) if isinstance(v, list) else "" if v is None else str(v)
                     for v in (data[k] for k in header)])
    return rows
