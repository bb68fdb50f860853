"""The "what works" library: the evidence summaries of a mission's finished trials, with the
security of each finding, its cost, and how far what it tested has been adopted.

A trial enters the library once it is analysing, finished or stopped and its primary outcome
has an estimate; the library never shows draft trials (the caller passes what its viewer may
see)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from missionboard.trials import adoption, results
from missionboard.trials.adoption_models import AdoptionProgramme
from missionboard.trials.models import Trial, TrialStatus

#: Trials whose results may be in the library: those with data being or done analysing.
REPORTING = (TrialStatus.ANALYSING, TrialStatus.FINISHED, TrialStatus.STOPPED)


@dataclass(frozen=True)
class Adoption:
    """A programme spreading what a trial tested, and its coverage today."""

    slug: str
    title: str
    adopting: int
    eligible: int

    @property
    def share(self) -> float | None:
        return self.adopting / self.eligible if self.eligible else None


@dataclass(frozen=True)
class Entry:
    trial: Trial
    summary: results.EvidenceSummary
    adoption: tuple[Adoption, ...]

    @property
    def padlocks(self) -> int:
        return self.summary.security.padlocks if self.summary.security is not None else 0

    @property
    def direction(self) -> str:
        """"positive", "negative" or "unclear" (the interval includes no effect)."""
        primary = self.summary.primary
        if primary is None or primary.estimate is None or not self.summary.significant:
            return "unclear"
        return "positive" if primary.estimate.effect > 0 else "negative"


def entries(session: Session, trials: Sequence[Trial], *, min_padlocks: int = 0,
            direction: str = "", programmes: Sequence[AdoptionProgramme] = ()
            ) -> list[Entry]:
    """The library's entries among ``trials``: the most secure findings first.

    ``direction`` keeps only "positive", "negative" or "unclear" findings; ``programmes``
    are the adoption programmes the viewer may see (matched to trials by their trial)."""
    by_trial: dict[int, list[AdoptionProgramme]] = {}
    for programme in programmes:
        if programme.trial_id is not None:
            by_trial.setdefault(programme.trial_id, []).append(programme)
    found: list[Entry] = []
    for trial in trials:
        if trial.status not in REPORTING:
            continue
        summary = results.evidence_summary(session, trial)
        if not summary.has_results:
            continue
        spread = []
        for programme in by_trial.get(trial.id, []):
            coverage = adoption.summary(session, programme)
            spread.append(Adoption(slug=programme.slug, title=programme.title,
                                   adopting=coverage.adopting, eligible=coverage.eligible))
        entry = Entry(trial=trial, summary=summary, adoption=tuple(spread))
        if entry.padlocks < min_padlocks or (direction and entry.direction != direction):
            continue
        found.append(entry)
    found.sort(key=lambda e: (-e.padlocks, e.trial.title.lower(), e.trial.id))
    return found


CSV_HEADER = ("trial", "title", "mission", "status", "finding", "direction", "padlocks",
              "eef_months", "cost_per_participant", "intervention", "adopting", "eligible",
              "illustrative")


def csv_rows(found: Sequence[Entry], *, base_url: str = "") -> list[list[object]]:
    rows: list[list[object]] = [list(CSV_HEADER)]
    for e in found:
        rows.append([
            f"{base_url}/trials/{e.trial.slug}", e.trial.title, e.summary.mission,
            e.trial.status.value, e.summary.headline, e.direction, e.padlocks,
            "" if e.summary.months is None else e.summary.months,
            "" if e.summary.cost_per_participant is None else e.summary.cost_per_participant,
            e.summary.intervention or "",
            sum(a.adopting for a in e.adoption) if e.adoption else "",
            sum(a.eligible for a in e.adoption) if e.adoption else "",
            "yes" if e.trial.illustrative else "no",
        ])
    return rows
