"""The demo: the UK's five missions and the Plan for Change milestones.

:func:`load_demo` loads organisations, areas, the five missions with their outcomes and boards,
one metric and target per milestone, observations, interventions, stocktakes and users, through
the same service functions the application uses. It flushes and never commits: the caller owns
the transaction.

The content comes from the package's ``demo_data`` folder: ``uk_missions_milestones.csv`` (the
milestones, their metrics, baselines and targets) and ``uk_missions.toml`` (organisations,
areas, outcomes, boards and metric definitions). Observations are real where a published
figure is known (listed in the TOML) and synthetic otherwise; synthetic values are marked
``illustrative`` and come from a fixed seed, so the demo is the same every time. The missions'
horizon years are a demo choice (see the TOML): 2030 for clean power, 2035 for the others.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.accounts import service as accounts
from missionboard.accounts.models import Role
from missionboard.analytics.periods import parse_period
from missionboard.benchmarking.demo import load_unit_data
from missionboard.councils.demo import load_councils
from missionboard.deliberation.demo import load_conversation
from missionboard.metrics import service as metrics
from missionboard.metrics.models import (
    Area,
    Frequency,
    Horizon,
    Metric,
    MetricKind,
    Observation,
    ObservationRevision,
    ObservationStatus,
    Polarity,
    PublicationStatus,
)
from missionboard.metrics.schemas import AreaIn, MetricIn, TargetIn
from missionboard.missions import service as missions
from missionboard.missions.models import Mission, MissionStatus
from missionboard.missions.schemas import (
    BoardMemberIn,
    ContributionIn,
    MissionIn,
    OrganisationIn,
    OutcomeIn,
)
from missionboard.panels.demo import load_panel
from missionboard.partners.demo import load_partners
from missionboard.stocktakes.demo import editor_for, load_stocktakes
from missionboard.trials.adoption_demo import load_adoption
from missionboard.trials.demo import load_trial
from missionboard.volunteering.demo import load_volunteering

#: The demo is taken to be loaded when this mission exists.
MARKER_MISSION = "nhs"
#: The seed of every synthetic series (the Plan for Change was published on 5 December 2024).
SEED = 20241205
#: Cumulative counts start here: the Parliament elected on 4 July 2024.
START_OF_PARLIAMENT = "2024-07"
END_OF_PARLIAMENT = dt.date(2029, 3, 31)
LICENCE = "Open Government Licence v3.0"
#: The CSV's geography column, as ONS GSS codes.
GEOGRAPHY_CODES = {
    "UK and its regions": "K02000001",
    "Great Britain": "K03000001",
    "England and Wales": "K04000001",
    "England": "E92000001",
}
UK, ENGLAND, ENGLAND_AND_WALES, GREAT_BRITAIN = "K02000001", "E92000001", "K04000001", "K03000001"
ENGLISH_REGIONS = tuple(f"E1200000{i}" for i in range(1, 10))

_DATA = files("missionboard") / "demo_data"
_MILESTONES_FILE = "uk_missions_milestones.csv"
_CONTENT_FILE = "uk_missions.toml"


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`load_demo` added; all counts are 0 when the demo was already there."""

    loaded: bool
    missions: int = 0
    metrics: int = 0
    targets: int = 0
    observations: int = 0
    illustrative_observations: int = 0
    interventions: int = 0
    stocktakes: int = 0
    unit_rows: int = 0
    conversations: int = 0
    panels: int = 0


# The milestones CSV --------------------------------------------------------------------------

@dataclass(frozen=True)
class MilestoneRow:
    """One row of ``uk_missions_milestones.csv``: a milestone and its metric."""

    mission: str
    mission_ambition: str
    milestone: str
    metric: str
    unit: str
    polarity: Polarity
    geography: str
    baseline_value: str
    baseline_period: str
    target_value: str
    deadline: dt.date
    source_series: str
    source: str


def read_milestones() -> list[MilestoneRow]:
    """The rows of the packaged milestones CSV."""
    text = (_DATA / _MILESTONES_FILE).read_text(encoding="utf-8")
    return [
        MilestoneRow(
            mission=r["mission"], mission_ambition=r["mission_ambition"],
            milestone=r["milestone"], metric=r["metric"], unit=r["unit"],
            polarity=Polarity(r["polarity"]), geography=r["geography"],
            baseline_value=r["baseline_value"].strip(),
            baseline_period=r["baseline_period"].strip(), target_value=r["target_value"].strip(),
            deadline=dt.date.fromisoformat(r["deadline"]), source_series=r["source_series"],
            source=r["source"],
        )
        for r in csv.DictReader(io.StringIO(text))
    ]


def metric_slug(name: str) -> str:
    """A metric's slug from its name: ``"GDP per capita"`` → ``"gdp-per-capita"``."""
    text = name.lower().replace("%", " percent ").replace("'", "").replace("’", "")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    while len(slug) > 100:
        slug = slug.rsplit("-", 1)[0]
    return slug


# The descriptive content (TOML), checked by the services' own input schemas ------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _MissionContent(_Strict):
    slug: str
    horizon_year: int
    outcomes: list[OutcomeIn]
    contributors: list[ContributionIn]
    board: list[BoardMemberIn]


class _RealObservation(_Strict):
    area: str
    period: str
    value: float


class _InventedBaseline(_Strict):
    value: float
    period: str


class _MetricContent(_Strict):
    outcome: str
    kind: MetricKind
    frequency: Frequency
    definition: str
    methodology: str
    source_url: str | None = None
    cumulative: bool = False
    invented_baseline: _InventedBaseline | None = None
    real: list[_RealObservation] = []


class _Content(_Strict):
    organisations: list[OrganisationIn]
    areas: list[AreaIn]
    missions: list[_MissionContent]
    metrics: dict[str, _MetricContent]


def _read_content() -> _Content:
    return _Content.model_validate(tomllib.loads((_DATA / _CONTENT_FILE).read_text("utf-8")))


# Loading -------------------------------------------------------------------------------------

def load_demo(session: Session, *, admin_email: str, admin_password: str,
              data_dir: Path | None = None) -> DemoSummary:
    """Load the demo through the services, unless it is already there (then do nothing).

    Creates an admin with the given email and password, and a viewer, a mission editor (for
    ``nhs``) and a data publisher (for the waiting-times metric) with the same password at
    ``viewer@``, ``editor@`` and ``publisher@`` the admin's domain; ``lead@`` and ``nonexec@``
    are linked to the NHS board's accountable lead and non-executive member (see
    :mod:`missionboard.stocktakes.demo`). With ``data_dir``, it also writes synthetic
    unit-level data for two metrics there (:mod:`missionboard.benchmarking.demo`). Flushes;
    never commits.
    """
    if session.scalar(select(Mission.id).where(Mission.slug == MARKER_MISSION)) is not None:
        return DemoSummary(loaded=False)
    content = _read_content()
    rows = read_milestones()
    _check(content, rows)
    for org in content.organisations:
        missions.create_organisation(session, data=org)
    areas = {a.code: metrics.create_area(session, data=a) for a in content.areas}
    by_slug = {
        m.slug: _create_mission(session, content=m, row=_first_row(rows, m.slug), position=i)
        for i, m in enumerate(content.missions)
    }
    created: list[Metric] = []
    observations: list[Observation] = []
    for row in rows:
        spec = content.metrics[metric_slug(row.metric)]
        metric = _create_metric(session, row=row, spec=spec, mission=by_slug[row.mission])
        created.append(metric)
        observations += _add_observations(session, metric=metric, row=row, spec=spec,
                                          areas=areas)
    session.flush()
    interventions = _create_interventions(session, missions_by_slug=by_slug)
    # Published once complete, so that setting up the demo is not itself on the public record.
    for mission in by_slug.values():
        missions.set_mission_status(session, mission=mission, status=MissionStatus.PUBLISHED,
                                    actor=None, reason=None)
    rtt = next(m for m in created if m.slug == RTT_SLUG)
    _create_users(session, email=admin_email, password=admin_password,
                  mission=by_slug[MARKER_MISSION], metric=rtt)
    unit_rows = 0
    if data_dir is not None:
        unit_rows = load_unit_data(session, metrics={m.slug: m for m in created},
                                   data_dir=data_dir)
    domain = admin_email.strip().lower().rpartition("@")[2]
    # Before the stocktakes, so that the NHS mission's packs carry the council's section.
    load_councils(session, missions_by_slug=by_slug, email_domain=domain,
                  password=admin_password)
    stocktakes = load_stocktakes(session, missions_by_slug=by_slug,
                                 editor=editor_for(session, email=f"editor@{domain}"),
                                 email_domain=domain, password=admin_password)
    load_conversation(session, missions_by_slug=by_slug,
                      moderator=editor_for(session, email=f"editor@{domain}"))
    load_panel(session, missions_by_slug=by_slug)
    load_trial(session, missions_by_slug=by_slug)
    load_adoption(session, missions_by_slug=by_slug)
    # Before volunteering, whose opportunities are run by the demo partners.
    load_partners(session, missions_by_slug=by_slug,
                  admin=editor_for(session, email=admin_email.strip().lower()),
                  email_domain=domain, password=admin_password)
    # Last: the volunteering demo gives opportunities to the demo partners where they exist.
    load_volunteering(session, missions_by_slug=by_slug)
    return DemoSummary(
        loaded=True, missions=len(by_slug), metrics=len(created),
        targets=sum(len(m.targets) for m in created), observations=len(observations),
        illustrative_observations=sum(o.illustrative for o in observations),
        interventions=interventions, stocktakes=stocktakes, unit_rows=unit_rows,
        conversations=1, panels=1,
    )


def _create_interventions(session: Session, *, missions_by_slug: Mapping[str, Mission]) -> int:
    """The illustrative interventions in ``interventions.toml``, through the service."""
    from missionboard.delivery import service as delivery
    from missionboard.delivery.models import Intervention
    from missionboard.delivery.schemas import ChainLinkIn, InterventionIn, PlanItemIn

    data = tomllib.loads((_DATA / "interventions.toml").read_text(encoding="utf-8"))
    saved: dict[str, Intervention] = {}
    for item in data["interventions"]:
        spec = dict(item)
        mission = missions_by_slug[spec.pop("mission")]
        spec["owner_slug"] = spec.pop("owner")
        spec["contributor_slugs"] = spec.pop("contributors", [])
        spec["budgets"] = {int(k): v for k, v in spec.pop("budgets", {}).items()}
        spec["effects"] = [
            {"metric_slug": e["metric"], "area_code": e["area"], "central": e["central"],
             "low": e["low"], "high": e["high"], "interval_level": e["level"]}
            for e in spec.pop("effects")
        ]
        spec["evidence_reference"] = ("Illustrative estimate for the demonstration, not an "
                                      "official figure.")
        saved[spec["slug"]] = delivery.save_intervention(
            session, mission=mission, data=InterventionIn.model_validate(spec))
    for plan in data.get("plans", []):
        intervention = saved[plan["intervention"]]
        delivery.set_chain(session, intervention=intervention, links=[
            ChainLinkIn(organisation_slug=link.get("organisation"), role=link["role"])
            for link in plan["chain"]])
        for item in plan["items"]:
            delivery.add_plan_item(session, intervention=intervention,
                                   data=PlanItemIn.model_validate(item))
    return len(data["interventions"])


def _check(content: _Content, rows: Sequence[MilestoneRow]) -> None:
    """Fail early, with a clear message, if the CSV and the TOML do not fit together."""
    problems = []
    csv_missions = {r.mission for r in rows}
    toml_missions = {m.slug for m in content.missions}
    if csv_missions != toml_missions or MARKER_MISSION not in toml_missions:
        problems.append(f"missions: CSV {sorted(csv_missions)}, TOML {sorted(toml_missions)}")
    slugs = [metric_slug(r.metric) for r in rows]
    same_metrics = sorted(slugs) == sorted(content.metrics) == sorted(_SERIES)
    if not same_metrics or RTT_SLUG not in slugs:
        problems.append(f"metrics: CSV {sorted(slugs)}, TOML {sorted(content.metrics)}, "
                        f"synthetic series {sorted(_SERIES)}")
    if unknown := {r.geography for r in rows} - set(GEOGRAPHY_CODES):
        problems.append(f"geographies without a code: {sorted(unknown)}")
    if problems:
        raise ValueError("the demo's data files disagree: " + "; ".join(problems))


def _first_row(rows: Sequence[MilestoneRow], mission: str) -> MilestoneRow:
    return next(r for r in rows if r.mission == mission)


def _create_mission(
    session: Session, *, content: _MissionContent, row: MilestoneRow, position: int
) -> Mission:
    title = row.mission_ambition.split(":", 1)[0].strip()
    mission = missions.create_mission(session, position=position, data=MissionIn(
        slug=content.slug, title=title, ambition=row.mission_ambition,
        horizon_year=content.horizon_year))
    for outcome in content.outcomes:
        missions.add_outcome(session, mission=mission, data=outcome)
    for contribution in content.contributors:
        missions.add_contribution(session, mission=mission, data=contribution)
    for member in content.board:
        missions.add_board_member(session, mission=mission, data=member)
    return mission


def _create_metric(
    session: Session, *, row: MilestoneRow, spec: _MetricContent, mission: Mission
) -> Metric:
    outcome = missions.get_outcome(session, mission=mission, slug=spec.outcome)
    metric = metrics.create_metric(session, outcomes=[outcome], data=MetricIn(
        slug=metric_slug(row.metric), title=row.metric, definition=spec.definition,
        methodology=spec.methodology, kind=spec.kind, unit=row.unit, polarity=row.polarity,
        frequency=spec.frequency, geography_level=row.geography, source=row.source_series,
        source_url=spec.source_url, licence=LICENCE))
    metrics.set_metric_status(session, metric=metric, status=PublicationStatus.PUBLISHED,
                              actor=None, reason=None)
    metrics.create_target(session, metric=metric, data=_target_for(row, spec))
    return metric


def _create_users(
    session: Session, *, email: str, password: str, mission: Mission, metric: Metric
) -> None:
    admin = accounts.create_user(session, email=email, name="Demo administrator",
                                 password=password, roles=[(Role.ADMIN, None, None)])
    domain = admin.email.rpartition("@")[2]
    others: list[tuple[str, str, Role, int | None, int | None]] = [
        ("viewer", "Demo viewer", Role.VIEWER, None, None),
        ("editor", f"Demo mission editor ({mission.title})", Role.MISSION_EDITOR, mission.id,
         None),
        ("publisher", "Demo data publisher (waiting times)", Role.DATA_PUBLISHER, None,
         metric.id),
    ]
    for local, name, role, mission_id, metric_id in others:
        accounts.create_user(session, email=f"{local}@{domain}", name=name, password=password,
                             roles=[(role, mission_id, metric_id)])


# Targets -------------------------------------------------------------------------------------

_PLUS = re.compile(r"^baseline \+ ([\d,]+(?:\.\d+)?)$")
_HIGHER_THAN_START = "higher than at the start of the Parliament"


def _with_commas(text: str) -> str:
    """Write numbers of five or more digits with thousands separators (years stay as they are)."""
    return re.sub(r"\d{5,}", lambda m: f"{int(m.group()):,}", text)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _baseline(row: MilestoneRow, spec: _MetricContent) -> tuple[float, str, bool, str]:
    """The baseline value, its period, whether it is illustrative, and a sentence on it."""
    if spec.cumulative:
        pace = _with_commas(f" For comparison, the pace before the milestone: "
                            f"{row.baseline_value} ({row.baseline_period}).")
        pace = pace if row.baseline_value else ""
        return (0.0, START_OF_PARLIAMENT, False,
                "The count runs from the start of the Parliament (July 2024), so the baseline "
                "is 0." + pace)
    if row.baseline_value:
        period = row.baseline_period
        if spec.frequency == Frequency.ACADEMIC_YEAR and re.fullmatch(r"\d{4}-\d{2}", period):
            period = "AY" + period  # "2023-24" would otherwise read as a financial year
        return (float(row.baseline_value), period, False,
                f"The baseline is the published figure ({parse_period(period).label}).")
    if spec.invented_baseline is None:
        raise ValueError(f"{row.metric!r} has no baseline in the CSV and none invented")
    return (spec.invented_baseline.value, spec.invented_baseline.period, True,
            "The baseline is illustrative: the demo's source gives none, so the demo "
            "invented a plausible value.")


def _target_value(text: str, baseline: float) -> tuple[float, str]:
    if text == _HIGHER_THAN_START:
        return baseline, ("The milestone asks for a value higher than at the start of the "
                          "Parliament, so the target value is the baseline itself: the "
                          "required path is flat and any rise meets it.")
    if m := _PLUS.match(text):
        extra = float(m.group(1).replace(",", ""))
        return baseline + extra, (f"The target is the baseline plus {_number(extra)}: "
                                  f"{_number(baseline)} + {_number(extra)} = "
                                  f"{_number(baseline + extra)}.")
    return float(text), ""


#: Declared counterfactuals (change per year with no new action) for the trajectories. The
#: house-building pace is the published "just over 200,000 a year"; the others are
#: illustrative.
_COUNTERFACTUAL_PER_YEAR = {
    "net-additional-dwellings-cumulative-over-the-parliament": 200_000.0,
    "decisions-on-nationally-significant-infrastructure-projects-cumulative": 15.0,
    "share-of-great-britains-electricity-generation-from-clean-sources": 2.0,
}


def _target_for(row: MilestoneRow, spec: _MetricContent) -> TargetIn:
    """The target for a CSV row, with a rationale that quotes the milestone."""
    baseline, period, illustrative, baseline_note = _baseline(row, spec)
    value, value_note = _target_value(row.target_value, baseline)
    deadline_note = (
        "The deadline is the end of the Parliament, taken here as 31 March 2029."
        if row.deadline == END_OF_PARLIAMENT
        else f"The deadline is {row.deadline.day} {row.deadline:%B %Y}."
    )
    rationale = " ".join(part for part in (
        f"Milestone from {row.source}: “{row.milestone}”.", deadline_note, baseline_note,
        value_note) if part)
    slope = _COUNTERFACTUAL_PER_YEAR.get(metric_slug(row.metric))
    return TargetIn(
        area_code=GEOGRAPHY_CODES[row.geography], title=row.milestone,
        baseline_value=baseline, baseline_period=period, target_value=value,
        deadline=row.deadline, horizon=Horizon.SHORT, rationale=rationale,
        baseline_illustrative=illustrative,
        counterfactual="linear" if slope is not None else "flat",
        counterfactual_slope_per_year=slope,
    )


# Observations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Revision:
    """An earlier published value of an observation, later replaced."""

    value: float
    released: dt.date
    replaced: dt.date


@dataclass(frozen=True)
class _Point:
    area: str
    period: str
    value: float
    lower: float | None = None
    upper: float | None = None
    illustrative: bool = True
    revision: _Revision | None = None


@dataclass(frozen=True)
class _Context:
    """What a synthetic series is built around: the real figures and the target's baseline."""

    real: Mapping[tuple[str, str], float]
    baseline: float


_Series = Callable[[np.random.Generator, _Context], list[_Point]]


def _add_observations(
    session: Session, *, metric: Metric, row: MilestoneRow, spec: _MetricContent,
    areas: Mapping[str, Area],
) -> list[Observation]:
    real = [_Point(r.area, r.period, r.value, illustrative=False) for r in spec.real]
    context = _Context(real={(p.area, parse_period(p.period).label): p.value for p in real},
                       baseline=metric.targets[0].baseline_value)
    rng = np.random.default_rng([SEED, zlib.crc32(metric.slug.encode())])
    points = real + _SERIES[metric.slug](rng, context)
    observations = [_observation(metric, p, areas) for p in points]
    keys = {(o.area_id, o.period_start, o.period_end) for o in observations}
    if len(keys) != len(observations):
        raise ValueError(f"two observations of {row.metric!r} share an area and period")
    session.add_all(observations)
    return observations


def _observation(metric: Metric, point: _Point, areas: Mapping[str, Area]) -> Observation:
    period = parse_period(point.period)
    obs = Observation(
        metric_id=metric.id, area_id=areas[point.area].id, period_start=period.start,
        period_end=period.end, period_label=period.label, value=point.value,
        lower=point.lower, upper=point.upper, status=ObservationStatus.FINAL,
        illustrative=point.illustrative,
    )
    if point.revision is not None:
        rev = point.revision
        obs.status = ObservationStatus.REVISED
        obs.release_date = rev.replaced
        obs.updated_at = _morning(rev.replaced)
        obs.revisions.append(ObservationRevision(
            value=rev.value, status=ObservationStatus.PROVISIONAL, release_date=rev.released,
            published_at=_morning(rev.released), superseded_at=_morning(rev.replaced)))
    return obs


def _morning(day: dt.date) -> dt.datetime:
    """07:00 UK summer time, when official statistics are released."""
    return dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=dt.UTC)


def _months(first: str, last: str) -> list[str]:
    start, end = parse_period(first).start, parse_period(last).start
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    return [f"{start.year + (start.month - 1 + k) // 12}-{(start.month - 1 + k) % 12 + 1:02d}"
            for k in range(count)]


def _quarters(first: str, last: str) -> list[str]:
    start, end = parse_period(first).start, parse_period(last).start
    count = ((end.year - start.year) * 12 + end.month - start.month) // 3 + 1
    q0 = start.year * 4 + (start.month - 1) // 3
    return [f"{(q0 + k) // 4}-Q{(q0 + k) % 4 + 1}" for k in range(count)]


def _since_start_of_parliament(quarter: str) -> str:
    """The period from the start of the Parliament to the end of ``quarter``."""
    start = parse_period(START_OF_PARLIAMENT).start
    return f"{start.isoformat()}/{parse_period(quarter).end.isoformat()}"


def _regional(
    rng: np.random.Generator, periods: Sequence[str], national: np.ndarray, *,
    spread: float, noise: float,
) -> list[_Point]:
    """Synthetic values for England's nine regions around a national series (1 decimal)."""
    offsets = rng.normal(0.0, spread, len(ENGLISH_REGIONS))
    offsets -= offsets.mean()
    values = (national[:, None] + offsets[None, :]
              + rng.normal(0.0, noise, (len(periods), len(ENGLISH_REGIONS))))
    return [_Point(code, period, round(float(values[i, j]), 1))
            for i, period in enumerate(periods) for j, code in enumerate(ENGLISH_REGIONS)]


def _rhdi(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """UK, quarterly from the baseline quarter: a rise, then a fall to just below the start,
    with ±1% limits, so the status is "too early to tell"."""
    quarters = _quarters("2024-Q2", "2025-Q3")
    change = np.array([0.0, 0.5, 0.4, -0.2, -0.3, -0.8]) + rng.normal(0.0, 0.05, len(quarters))
    change[0] = 0.0
    values = np.round(ctx.baseline * np.cumprod(1 + change / 100))
    return [_Point(UK, q, float(v), lower=float(np.round(v * 0.99)),
                   upper=float(np.round(v * 1.01)))
            for q, v in zip(quarters, values, strict=True)]


def _gdp_per_head(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """UK, quarterly, growing slowly; the 2025 Q2 first estimate was revised up."""
    quarters = _quarters("2024-Q2", "2025-Q3")
    growth = rng.normal(0.2, 0.1, len(quarters))
    growth[0] = 0.0
    values = np.round(ctx.baseline * np.cumprod(1 + growth / 100))
    points = []
    for q, v in zip(quarters, values, strict=True):
        revision = (_Revision(float(v) - 12, dt.date(2025, 8, 14), dt.date(2025, 9, 30))
                    if q == "2025-Q2" else None)
        points.append(_Point(UK, q, float(v), revision=revision))
    return points


def _homes(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """England, running totals since July 2024 at about 200,000 homes a year."""
    quarters = _quarters("2024-Q3", "2025-Q3")
    totals = np.round(np.cumsum(rng.normal(50_000, 3_000, len(quarters))), -1)
    return [_Point(ENGLAND, _since_start_of_parliament(q), float(t))
            for q, t in zip(quarters, totals, strict=True)]


def _nsip(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """England and Wales, running totals of decisions since July 2024."""
    quarters = _quarters("2024-Q3", "2025-Q3")
    totals = np.cumsum(rng.poisson(10, len(quarters)))
    return [_Point(ENGLAND_AND_WALES, _since_start_of_parliament(q), float(t))
            for q, t in zip(quarters, totals, strict=True)]


def _rtt(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """England, monthly between the two published figures, with a winter dip; and England's
    regions for every month (ONS regions: NHS England publishes by its own regions)."""
    months = _months("2024-07", "2025-10")
    first, last = ctx.real[(ENGLAND, months[0])], ctx.real[(ENGLAND, months[-1])]
    winter = np.array([{12: -0.6, 1: -0.5, 2: -0.2}.get(int(m[5:]), 0.0) for m in months])
    national = np.linspace(first, last, len(months)) + winter
    national += rng.normal(0.0, 0.15, len(months))
    national[[0, -1]] = first, last
    between = [_Point(ENGLAND, m, round(float(v), 1))
               for m, v in zip(months[1:-1], national[1:-1], strict=True)]
    return between + _regional(rng, months, national, spread=2.0, noise=0.3)


def _policing(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """England and Wales, snapshots at 31 March and 30 September around the baseline."""
    dates = ["2024-03-31", "2024-09-30", "2025-09-30"]
    values = ctx.baseline + np.array([-320.0, -150.0, 2100.0]) + rng.normal(0.0, 60.0, 3)
    return [_Point(ENGLAND_AND_WALES, d, float(np.round(v)))
            for d, v in zip(dates, values, strict=True)]


def _eyfs(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """England's regions around the two published England figures."""
    years = ["AY2023-24", "AY2024-25"]
    national = np.array([ctx.real[(ENGLAND, y)] for y in years])
    return _regional(rng, years, national, spread=1.5, noise=0.2)


def _clean_power(rng: np.random.Generator, ctx: _Context) -> list[_Point]:
    """Great Britain, quarterly: windy winters, calm summers, a slow upward trend."""
    quarters = _quarters("2024-Q1", "2025-Q3")
    season = np.array([4.0, -2.0, -4.0, 2.0])[[int(q[-1]) - 1 for q in quarters]]
    trend = 1.2 * (np.arange(len(quarters)) - 1.5) / 4
    values = ctx.baseline + season + trend + rng.normal(0.0, 0.4, len(quarters))
    return [_Point(GREAT_BRITAIN, q, round(float(v), 1))
            for q, v in zip(quarters, values, strict=True)]


RTT_SLUG = "referral-to-treatment-percent-of-incomplete-pathways-waiting-under-18-weeks"

#: The synthetic series of each metric, by the metric's slug.
_SERIES: dict[str, _Series] = {
    "real-household-disposable-income-rhdi-per-person": _rhdi,
    "gdp-per-capita": _gdp_per_head,
    "net-additional-dwellings-cumulative-over-the-parliament": _homes,
    "decisions-on-nationally-significant-infrastructure-projects-cumulative": _nsip,
    RTT_SLUG: _rtt,
    "neighbourhood-policing-workforce-officers-pcsos-and-special-constables": _policing,
    "children-achieving-a-good-level-of-development-at-the-end-of-reception-eyfs-profile": _eyfs,
    "share-of-great-britains-electricity-generation-from-clean-sources": _clean_power,
}
