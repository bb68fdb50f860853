"""The verifiable selection of a panel, and of replacements when members drop out.

1. **Commit.** Registration is closed; the pool is frozen into the published inputs
   (``people.csv``: pseudonym, answers, household pseudonym; ``features.csv``: the quotas) and
   their hash; the seed's SHA-256 is published. The seed is either made and held by the
   application (shown only at the draw) or held by the organisers (only its hash is entered).
2. **Draw.** The seed is revealed and checked against the commitment; LEXIMIN runs on the
   published files, read by the same functions as ``missionboard panel select``, and one
   panel is drawn with :meth:`Selection.draw`. Anyone can re-run the command on the published
   files with the seed and get the same panel.

A replacement run selects ``k − kept`` people from the volunteers not on the panel, with every
quota shifted by the continuing members (``min − kept``, ``max − kept``, floored at 0), so
that the panel as a whole meets the original quotas again.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import missionboard
from missionboard.analytics.sortition import InfeasibleQuotas, Quota
from missionboard.db.base import utcnow
from missionboard.errors import Conflict, FieldError, NotFound, ValidationFailed
from missionboard.panels import published
from missionboard.panels.models import (
    Invitation,
    Panel,
    PanelStage,
    RunKind,
    SeedSource,
    SelectionRun,
    Volunteer,
    VolunteerStatus,
)
from missionboard.panels.schemas import CommitIn
from missionboard.panels.service import feature_counts, log_change, members

ALGORITHM = "leximin"
#: Draws used to estimate the legacy method's selection probabilities for the comparison.
LEGACY_RUNS = 1_000
#: The largest seed (``missionboard panel select --seed`` takes it, NumPy seeds with it).
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Inputs:
    """What a run is computed from: the published files and the options."""

    people_csv: bytes
    features_csv: bytes
    k: int
    household_rule: bool
    quotas: list[Quota]
    kept: list[str]
    replaced: list[str]
    pool_size: int

    @property
    def address_columns(self) -> list[str]:
        return [published.HOUSEHOLD_COLUMN] if self.household_rule else []

    def sha256(self) -> str:
        return published.inputs_sha256(self.people_csv, self.features_csv, number=self.k,
                                       id_column=published.ID_COLUMN,
                                       address_columns=self.address_columns,
                                       algorithm=ALGORITHM)


@dataclass(frozen=True)
class Outcome:
    """A draw's result, computed from the published files."""

    selected: tuple[str, ...]
    probabilities: dict[str, float]
    min_probability: float
    unselectable: tuple[str, ...]
    legacy_min_probability: float | None
    inputs_sha256: str
    seconds: float


# Runs --------------------------------------------------------------------------------------

def runs(session: Session, panel: Panel) -> list[SelectionRun]:
    return list(session.scalars(select(SelectionRun).where(
        SelectionRun.panel_id == panel.id).order_by(SelectionRun.number)))


def pending_run(session: Session, panel: Panel) -> SelectionRun | None:
    return session.scalar(select(SelectionRun).where(
        SelectionRun.panel_id == panel.id, SelectionRun.drawn_at.is_(None),
        SelectionRun.abandoned_at.is_(None)))


def get_run(session: Session, *, panel: Panel, number: int) -> SelectionRun:
    found = session.scalar(select(SelectionRun).where(SelectionRun.panel_id == panel.id,
                                                      SelectionRun.number == number))
    if found is None:
        raise NotFound(f"No selection run {number} for this panel")
    return found


def _initial_drawn(session: Session, panel: Panel) -> bool:
    return session.scalar(select(func.count()).select_from(SelectionRun).where(
        SelectionRun.panel_id == panel.id, SelectionRun.kind == RunKind.INITIAL,
        SelectionRun.drawn_at.is_not(None))) != 0


def next_kind(session: Session, panel: Panel) -> RunKind:
    return RunKind.REPLACEMENT if _initial_drawn(session, panel) else RunKind.INITIAL


def to_replace(session: Session, panel: Panel) -> list[str]:
    """Members who withdrew and whom no replacement draw has replaced yet."""
    already = {p for r in runs(session, panel) if r.drawn_at for p in r.replaced}
    left = session.scalars(select(Volunteer.pseudonym).where(
        Volunteer.panel_id == panel.id, Volunteer.status == VolunteerStatus.WITHDRAWN,
        Volunteer.selected_run_id.is_not(None)).order_by(Volunteer.pseudonym)).all()
    return [p for p in left if p not in already]


# The published inputs ----------------------------------------------------------------------

def build_inputs(session: Session, panel: Panel) -> Inputs:
    """Freeze the pool and the quotas into the files a run publishes.

    Initial: every registered volunteer, the panel's quotas, k members. Replacement: the
    volunteers not on the panel (and, under the household rule, not in a member's household),
    quotas shifted by the continuing members, and the places left.
    """
    features = panel.features
    if not features:
        raise Conflict("The panel has no features to select on")
    kind = next_kind(session, panel)
    quotas = [Quota(f.name, v.value, v.min, v.max) for f in features for v in f.values]
    kept: list[Volunteer] = []
    replaced: list[str] = []
    if kind == RunKind.INITIAL:
        if panel.stage != PanelStage.CLOSED:
            raise Conflict("Close registration before committing the draw: the pool must "
                           "not change once the commitment is published")
        pool_status: tuple[VolunteerStatus, ...] = (VolunteerStatus.REGISTERED,)
        k = panel.size
    else:
        kept = members(session, panel)
        k = panel.size - len(kept)
        if k <= 0:
            raise Conflict("The panel is full: mark the members who have dropped out as "
                           "withdrawn first")
        counts: dict[tuple[str, str], int] = {}
        for person in kept:
            for name, value in person.answers.items():
                counts[(name, value)] = counts.get((name, value), 0) + 1
        quotas = [Quota(q.feature, q.value, max(0, q.min - counts.get((q.feature, q.value), 0)),
                        max(0, q.max - counts.get((q.feature, q.value), 0))) for q in quotas]
        pool_status = (VolunteerStatus.RESERVE, VolunteerStatus.REGISTERED)
        replaced = to_replace(session, panel)
    rows = session.execute(select(Volunteer, Invitation.household).join(
        Invitation, Invitation.id == Volunteer.invitation_id).where(
        Volunteer.panel_id == panel.id, Volunteer.status.in_(pool_status)).order_by(
        Volunteer.pseudonym)).all()
    kept_households = {v.invitation.household for v in kept} if panel.household_rule else set()
    pool = [(v, h) for v, h in rows if h not in kept_households]
    if len(pool) < k:
        raise Conflict(f"Only {len(pool)} volunteers are available for {k} places")
    names = [f.name for f in features]
    header = [published.ID_COLUMN, *names]
    if panel.household_rule:
        header.append(published.HOUSEHOLD_COLUMN)
    people_rows = [[v.pseudonym, *(v.answers.get(n, "") for n in names),
                    *([h] if panel.household_rule else [])] for v, h in pool]
    return Inputs(
        people_csv=published.write_csv(header, people_rows),
        features_csv=published.write_csv(["feature", "value", "min", "max"],
                                         [[q.feature, q.value, q.min, q.max] for q in quotas]),
        k=k, household_rule=panel.household_rule, quotas=quotas,
        kept=sorted(v.pseudonym for v in kept), replaced=replaced, pool_size=len(pool))


def describe_infeasible(exc: InfeasibleQuotas) -> str:
    hints = "; ".join(f"{r.quota.feature}={r.quota.value}: from {r.quota.min}–{r.quota.max} "
                      f"to {r.min}–{r.max}" for r in exc.relaxations)
    return (f"No panel can meet these quotas from the volunteers available: {exc}"
            + (f". The smallest change that would: {hints}" if hints else ""))


def check_feasible(inputs: Inputs) -> None:
    """Raise :class:`ValidationFailed` naming the quotas when no panel can meet them."""
    from missionboard.analytics.sortition import check

    quotas = published.read_features(inputs.features_csv, name="features.csv")
    pool, households = published.read_people(
        inputs.people_csv, features=published.allowed_values(quotas),
        id_column=published.ID_COLUMN, address_columns=inputs.address_columns,
        name="people.csv")
    try:
        check(pool, quotas, inputs.k, households=households if inputs.household_rule else None)
    except InfeasibleQuotas as exc:
        raise ValidationFailed([FieldError("quotas", describe_infeasible(exc))]) from None


def select_from_published(people_csv: bytes, features_csv: bytes, *, k: int,
                          household_rule: bool, seed: int,
                          legacy_runs: int = LEGACY_RUNS) -> Outcome:
    """The draw exactly as ``missionboard panel select --people people.csv --features
    features.csv --number k --seed S [--address-columns household]`` makes it, plus the legacy
    method's smallest probability (estimated from ``legacy_runs`` draws) for comparison."""
    from missionboard.analytics.sortition import legacy_probabilities, leximin

    started = time.perf_counter()
    columns = [published.HOUSEHOLD_COLUMN] if household_rule else []
    quotas = published.read_features(features_csv, name="features.csv")
    pool, households = published.read_people(
        people_csv, features=published.allowed_values(quotas), id_column=published.ID_COLUMN,
        address_columns=columns, name="people.csv")
    rule = households if columns else None
    selection = leximin(pool, quotas, k, households=rule, seed=seed)
    chosen = selection.draw(seed)
    legacy_min = None
    if legacy_runs > 0:
        try:
            legacy_p = legacy_probabilities(pool, quotas, k, legacy_runs, seed, households=rule)
        except InfeasibleQuotas:
            legacy_p = None
        unselectable = set(selection.unselectable)
        selectable = [p for person, p in (legacy_p or {}).items() if person not in unselectable]
        legacy_min = min(selectable) if selectable else None
    return Outcome(
        selected=tuple(sorted(chosen)), probabilities=selection.probabilities,
        min_probability=selection.min_probability, unselectable=selection.unselectable,
        legacy_min_probability=legacy_min,
        inputs_sha256=published.inputs_sha256(people_csv, features_csv, number=k,
                                              id_column=published.ID_COLUMN,
                                              address_columns=columns, algorithm=ALGORITHM),
        seconds=time.perf_counter() - started)


# Commit, draw, abandon ---------------------------------------------------------------------

def commit(session: Session, *, panel: Panel, data: CommitIn, check: bool = True
           ) -> SelectionRun:
    """Freeze the inputs and publish the commitment to the seed (initial or replacement
    draw, whichever is next). With ``check``, quotas no panel can meet are refused first."""
    if pending_run(session, panel) is not None:
        raise Conflict("A draw is already committed: draw it (or abandon it) first")
    if panel.stage == PanelStage.REPORTED:
        raise Conflict("The panel has reported: no more replacements can be drawn")
    kind = next_kind(session, panel)
    inputs = build_inputs(session, panel)
    if check:
        check_feasible(inputs)
    held = None
    if data.seed_source == SeedSource.APP:
        seed = secrets.randbelow(MAX_SEED)
        held, commitment = str(seed), published.seed_commitment(seed)
    else:
        assert data.commitment is not None
        commitment = data.commitment
    number = (session.scalar(select(func.max(SelectionRun.number)).where(
        SelectionRun.panel_id == panel.id)) or 0) + 1
    run = SelectionRun(
        panel_id=panel.id, number=number, kind=kind, seed_source=data.seed_source,
        seed_description=data.seed_description.strip(), commitment_sha256=commitment,
        committed_at=utcnow(), held_seed=held,
        people_csv=inputs.people_csv.decode("utf-8"),
        features_csv=inputs.features_csv.decode("utf-8"), inputs_sha256=inputs.sha256(),
        algorithm=ALGORITHM, version=missionboard.__version__, k=inputs.k,
        household_rule=inputs.household_rule,
        quotas=[{"feature": q.feature, "value": q.value, "min": q.min, "max": q.max}
                for q in inputs.quotas],
        kept=inputs.kept, replaced=inputs.replaced, pool_size=inputs.pool_size)
    session.add(run)
    session.flush()
    return run


def parse_seed(text: str, *, commitment: str) -> int:
    """The organisers' seed, checked against the published commitment."""
    text = text.strip()
    if not re.fullmatch(r"\d{1,19}", text) or int(text) > MAX_SEED:
        raise ValidationFailed([FieldError("seed", "Enter the seed: a whole number from 0 to "
                                                   f"{MAX_SEED}")])
    seed = int(text)
    if published.seed_commitment(seed) != commitment:
        raise ValidationFailed([FieldError(
            "seed", "This seed does not match the published commitment: its SHA-256 is "
                    f"{published.seed_commitment(seed)}, the commitment is {commitment}")])
    return seed


def draw(session: Session, *, panel: Panel, seed_text: str = "",
         legacy_runs: int = LEGACY_RUNS) -> SelectionRun:
    """Reveal the seed, run LEXIMIN on the published inputs and draw the panel (or the
    replacements); the volunteers' statuses follow."""
    run = pending_run(session, panel)
    if run is None:
        raise Conflict("No draw is committed: commit one first")
    if run.seed_source == SeedSource.APP:
        assert run.held_seed is not None
        seed = int(run.held_seed)
    else:
        seed = parse_seed(seed_text, commitment=run.commitment_sha256)
    try:
        outcome = select_from_published(run.people_csv.encode("utf-8"),
                                        run.features_csv.encode("utf-8"), k=run.k,
                                        household_rule=run.household_rule, seed=seed,
                                        legacy_runs=legacy_runs)
    except InfeasibleQuotas as exc:
        raise ValidationFailed([FieldError("quotas", describe_infeasible(exc))]) from None
    if outcome.inputs_sha256 != run.inputs_sha256:  # the stored files were altered
        raise Conflict("The stored inputs no longer match their published hash")
    run.seed, run.held_seed, run.drawn_at = str(seed), None, utcnow()
    run.probabilities = outcome.probabilities
    run.min_probability = outcome.min_probability
    run.legacy_min_probability = outcome.legacy_min_probability
    run.legacy_runs = legacy_runs
    run.selected = list(outcome.selected)
    run.seconds = outcome.seconds
    chosen = set(outcome.selected)
    pool = session.scalars(select(Volunteer).where(
        Volunteer.panel_id == panel.id,
        Volunteer.pseudonym.in_(list(outcome.probabilities)))).all()
    for person in pool:
        if person.pseudonym in chosen:
            person.selected_run_id = run.id
            if person.status != VolunteerStatus.WITHDRAWN:  # left after the commitment:
                person.status = (VolunteerStatus.SELECTED  # the next draw replaces them
                                 if run.kind == RunKind.INITIAL else VolunteerStatus.REPLACEMENT)
        elif person.status == VolunteerStatus.REGISTERED:
            person.status = VolunteerStatus.RESERVE
    panel.stage = PanelStage.SELECTED if panel.stage == PanelStage.CLOSED else panel.stage
    log_change(session, action="draw", table=Volunteer.__tablename__, row_id=panel.id,
         changes={"run": run.number, "selected": sorted(chosen)},
         summary=f"Drew {len(chosen)} for panel {panel.slug} (run {run.number})")
    session.flush()
    return run


def abandon(session: Session, *, panel: Panel, reason: str) -> SelectionRun:
    """Give up a committed draw (say, the ceremony's seed was lost), publicly, with a reason;
    an application-held seed is revealed so that anyone can see what it would have drawn."""
    run = pending_run(session, panel)
    if run is None:
        raise Conflict("No draw is committed")
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "Give the reason: it is published with "
                                                     "the abandoned commitment")])
    run.abandoned_at, run.abandoned_reason = utcnow(), reason.strip()
    if run.held_seed is not None:
        run.seed, run.held_seed = run.held_seed, None
    session.flush()
    return run


# Reports -----------------------------------------------------------------------------------

def quota_fit(panel: Panel, *, pool: Sequence[Volunteer], on_panel: Sequence[Volunteer]
              ) -> list[dict[str, Any]]:
    """Per feature value: census share, target range, how many in the pool and on the panel,
    and whether the panel meets the target."""
    in_pool, selected = feature_counts(panel, pool), feature_counts(panel, on_panel)
    rows = []
    for feature in panel.features:
        for v in feature.values:
            n = selected.get((feature.name, v.value), 0)
            rows.append({"feature": feature.name, "question": feature.question,
                         "value": v.value, "label": v.label, "share": v.share, "min": v.min,
                         "max": v.max, "pool": in_pool.get((feature.name, v.value), 0),
                         "selected": n, "met": v.min <= n <= v.max})
    return rows


def histogram(probabilities: dict[str, float], *, bins: int = 10) -> list[dict[str, Any]]:
    """How many volunteers have a selection probability in each of ``bins`` equal ranges up
    to the largest probability (volunteers at 0 counted apart)."""
    values = list(probabilities.values())
    top = max(values, default=0.0)
    if top <= 0:
        return []
    width = top / bins
    counts = [0] * bins
    zero = 0
    for p in values:
        if p <= 0:
            zero += 1
            continue
        counts[min(int(p / width), bins - 1)] += 1
    out = [{"from": 0.0, "to": 0.0, "label": "0 (cannot be selected)", "count": zero}] if zero \
        else []
    out += [{"from": i * width, "to": (i + 1) * width,
             "label": f"{i * width:.1%}–{(i + 1) * width:.1%}", "count": c}
            for i, c in enumerate(counts)]
    return out

