"""The demo adoption programme, on the opportunity mission: schools taking up the early
language programme (the intervention the demo trial tests), offered to every school from
December 2024, with 150 eligible schools in the demo trial's regions.

The uptake follows an S-curve over the two years since (earliest in the south, latest in the
north), with mixed fidelity and a few schools that adopted and stopped, so that the page has
a real curve, a projection and a list of the schools that have not adopted. Everything is
made up and labelled as such (``AdoptionProgramme.illustrative``); it comes from one seed, so
the demo is the same every time.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.delivery.models import Intervention
from missionboard.missions.models import Mission
from missionboard.trials import adoption
from missionboard.trials import demo as trial_demo
from missionboard.trials.adoption_models import AdoptionProgramme
from missionboard.trials.adoption_schemas import ProgrammeIn
from missionboard.trials.models import Trial

SLUG = "early-language-adoption"
SEED = 20241201
SCHOOLS = 150
OFFERED_ON = dt.date(2024, 12, 1)
#: The records run to this day (two years of uptake).
RECORDS_TO = dt.date(2026, 11, 27)
#: The share of schools that would adopt in the end, and the S-curve's midpoint (months from
#: the offer) and spread in each region.
CEILING = 0.85
MIDPOINT = {"south": 11.0, "midlands": 15.0, "north": 21.0}
SPREAD = 3.2
LOCAL_AUTHORITIES = 12
DAYS_PER_MONTH = 365.25 / 12


def _units() -> list[dict[str, str]]:
    regions = trial_demo.REGIONS
    return [{"unit_id": f"EL{i:03d}", "name": f"Illustrative primary school {i:03d}",
             "area": regions[i % len(regions)].capitalize(),
             "group": f"Illustrative local authority {1 + i % LOCAL_AUTHORITIES}"}
            for i in range(1, SCHOOLS + 1)]


def _records(rng: random.Random, units: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each school that would adopt does so at a month drawn from a logistic distribution
    around its region's midpoint; those drawn after the last day have not adopted yet. A
    few early adopters delivering it partly or minimally stop a while later."""
    horizon = (RECORDS_TO - OFFERED_ON).days / DAYS_PER_MONTH
    rows = []
    for unit in units:
        if rng.random() > CEILING:
            continue
        u = min(max(rng.random(), 1e-9), 1 - 1e-9)
        month = MIDPOINT[unit["area"].lower()] + SPREAD * math.log(u / (1 - u))
        if not 0 <= month < horizon:
            continue
        adopted = OFFERED_ON + dt.timedelta(days=int(month * DAYS_PER_MONTH))
        draw = rng.random()
        score = (rng.randint(80, 100) if draw < 0.55 else rng.randint(50, 79) if draw < 0.85
                 else rng.randint(20, 49))
        stopped = ""
        if score < 80 and month < horizon - 9 and rng.random() < 0.12:
            stopped = (adopted + dt.timedelta(days=rng.randint(120, 300))).isoformat()
        rows.append({"unit_id": unit["unit_id"], "adopted_on": adopted.isoformat(),
                     "fidelity_score": str(score), "stopped_on": stopped,
                     "source": "Illustrative: the provider's termly return",
                     "note": "Stopped when the trained teacher left" if stopped else ""})
    return rows


def load_adoption(session: Session, *, missions_by_slug: dict[str, Mission]
                  ) -> AdoptionProgramme:
    """Create the demo programme, its schools and their adoption. Flushes; never commits."""
    mission = missions_by_slug[trial_demo.MISSION]
    intervention = session.scalar(select(Intervention).where(
        Intervention.mission_id == mission.id, Intervention.slug == trial_demo.INTERVENTION))
    trial = session.scalar(select(Trial).where(Trial.slug == trial_demo.SLUG))
    programme = adoption.create_programme(session, mission=mission, data=ProgrammeIn(
        slug=SLUG, title="Early language programme in reception classes (illustrative)",
        unit_kind="school",
        description="Illustrative. Primary schools taking up twenty weeks of small-group oral "
                    "language teaching in reception, offered to every school from December "
                    "2024 on the evidence of earlier trials; the demo trial tests it again at "
                    "scale. Full fidelity means a trained teaching assistant delivering all "
                    "three sessions a week.",
        intervention_id=intervention.id if intervention else None,
        trial_id=trial.id if trial is not None and trial.mission_id == mission.id else None,
        offered_on=OFFERED_ON, target_percent=75, target_on=dt.date(2027, 9, 1)))
    programme.illustrative = True
    units = _units()
    adoption.import_units(session, programme=programme, rows=units)
    adoption.import_adoptions(session, programme=programme,
                              rows=_records(random.Random(SEED), units),  # noqa: S311
                              today=RECORDS_TO)
    session.flush()
    return programme
