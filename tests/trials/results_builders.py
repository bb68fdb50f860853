"""Trials with outcome data, built through the services, and the raw rows they were built
from, so that tests can compute the expected results independently."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from missionboard.missions.models import Mission
from missionboard.trials import service
from missionboard.trials.models import Trial, TrialStatus
from tests.trials import builders


@dataclass
class Built:
    trial: Trial
    units: list[dict[str, str]]
    outcomes: list[dict[str, str]]
    arms: dict[str, str]


def unit_rows(schools: int, pupils: int, *, seed: int = 7) -> list[dict[str, str]]:
    """Pupils in schools with a free-school-meals stratum and a prior attainment score."""
    rng = random.Random(seed)
    return [{"unit_id": f"P{s:02d}{p:02d}", "cluster": f"S{s:02d}",
             "stratum_fsm": ("yes", "no")[(s + p) % 2],
             "covariate_prior": f"{rng.gauss(100, 10):.1f}"}
            for s in range(schools) for p in range(pupils)]


def outcome_rows(units: list[dict[str, str]], arms: dict[str, str], *,
                 outcomes: dict[str, str], effect: float = 3.0, missing: float = 0.0,
                 seed: int = 11, treated: str = "tutoring") -> list[dict[str, str]]:
    """Each unit's outcomes: ``outcomes`` maps a key to ``continuous`` or ``binary``; some
    units (``missing`` of them) have none."""
    rng = random.Random(seed)
    schools: dict[str, float] = {}
    rows = []
    for unit in units:
        if rng.random() < missing:
            continue
        school = schools.setdefault(unit["cluster"], rng.gauss(0, 3))
        lift = effect if arms[unit["unit_id"]] == treated else 0.0
        for key, kind in outcomes.items():
            score = (0.6 * float(unit["covariate_prior"]) + 40 + school + lift
                     + rng.gauss(0, 8))
            value = f"{score:.2f}" if kind == "continuous" else ("1" if score > 100 else "0")
            rows.append({"unit_id": unit["unit_id"], "outcome": key, "value": value})
    return rows


def with_results(session: Session, mission: Mission, *, slug: str = "tutoring",
                 schools: int = 12, pupils: int = 10, plan: dict[str, Any] | None = None,
                 outcomes: dict[str, str] | None = None, missing: float = 0.05,
                 effect: float = 3.0, trial: dict[str, Any] | None = None,
                 seed: int = 11) -> Built:
    """A registered trial, its plan locked, its units allocated and its outcomes loaded."""
    made = builders.new_trial(session, mission, slug=slug, status=TrialStatus.REGISTERED,
                              **(trial or {}))
    service.save_plan_draft(session, trial=made, data=builders.plan_data(**(plan or {})))
    service.lock_plan(session, trial=made)
    units = unit_rows(schools, pupils)
    service.import_units(session, trial=made, rows=units)
    builders.commit(session, made)
    service.allocate(session, trial=made, seed_text=str(builders.SEED))
    arms = {u.unit_id: u.arm or "" for u in service.units(session, made)}
    rows = outcome_rows(units, arms, outcomes=outcomes or {"maths": "continuous",
                                                           "reading": "continuous"},
                        effect=effect, missing=missing, seed=seed,
                        treated=made.arms[1].key)
    service.load_outcomes(session, trial=made, rows=rows)
    return Built(trial=made, units=units, outcomes=rows, arms=arms)
