"""Load the public register of commitments and the volunteering pages of a real server on
PostgreSQL at a constant rate, and print the latency percentiles.

    .venv/bin/python benchmarks/mobilisation_load.py [--database-url URL] [--reuse]
        [--rate 200] [--duration 30] [--warmup 10] [--workers 2] [--groups a,b]

Target (issue "mobilisation register", item 8): the register's public pages and API answer
with **p95 under 200 ms** with 100,000 commitments and 1,000,000 volunteer sign-ups in
PostgreSQL, under **200 requests a second** over loopback.

**Data.** Builds a fresh database (``missionboard_load`` on the local server, dropped and
created; ``--database-url`` for another) with the migrations and the demo
(:func:`missionboard.demo.load_demo`: the five missions, their outcomes, metrics and areas,
the demo partners and opportunities), then adds, with PostgreSQL ``COPY`` and a seeded RNG:
``--partners`` approved partners (and 2.5% more pending or rejected), ``--commitments``
commitments of every kind, spread over the missions, outcomes, metrics, areas and the
partners' sectors (most approved, some pending, rejected or withdrawn), with progress reports
and the stored assessment computed by :func:`missionboard.partners.status.assess` from them
(so every status, lapsed included, comes out as the application would derive it); unit
postcode centroids across Great Britain (stored as ``missionboard postcodes import`` stores
them); ``--opportunities`` published opportunities placed on them (and 5% closed and 2% drafts),
with tags; ``--signups`` sign-ups (places, then the waiting list) and confirmed, logged and
rejected hours, after which the opportunities' counters are set from the rows. Then
``VACUUM ANALYZE``. ``--reuse`` keeps a database that already holds the data.

**Server.** ``python -m uvicorn --factory missionboard.web.server:app --workers 2 --loop uvloop
--http httptools`` on 127.0.0.1 and a free port: the application as ``missionboard serve``
builds it (``create_app`` on the environment's settings, the settled heap, the background
analyser of conversations), in uvicorn's multi-process mode, one worker per core.

**Load.** A separate process sends ``--rate`` requests a second at fixed intervals (an open
model: each request is sent at its scheduled time whether or not earlier ones have been
answered, over as many keep-alive HTTP/1.1 connections as that takes; raw asyncio streams on
uvloop, see :class:`Connections`). The
latency of a request runs from its *scheduled* send time to the end of its response, so time
spent queueing anywhere, the client included, counts (no coordinated omission). After
``--warmup`` seconds, ``--duration`` seconds are measured. The URLs are drawn (seeded) from a
mix of the public register's pages (with and without filters, deep pages), commitments',
partners' pages, the API's lists and details, the volunteering search by postcode and radius,
opportunities' pages and the impact page (see ``MIX``). Any status but 2xx is an error.

Prints, per group of URLs and overall, p50, p95, p99 and max; the rate achieved; the errors;
how late the client sent its requests (it keeps up when the sends went out at the rate and
on time); the CPU the server, this database's PostgreSQL backends and the client used. Exits
non-zero unless every group's p95 and the overall p95 are under ``--target-ms``, there were
no errors and the client kept up.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import math
import multiprocessing
import multiprocessing.queues
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machine import describe  # benchmarks/machine.py

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/missionboard_load"
ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SEED = 20261129
PAGE_SIZE = 50  # the register's page (partners.register.PAGE_SIZE)


# The data ---------------------------------------------------------------------------------

#: Postcode areas of Great Britain: approximate centre (degrees), spread (degrees), the
#: region's or nation's GSS code, and a weight roughly in proportion to population.
POSTCODE_AREAS: tuple[tuple[str, float, float, float, str, int], ...] = (
    ("AB", 57.15, -2.30, 0.35, "S92000003", 3), ("B", 52.48, -1.89, 0.10, "E12000005", 8),
    ("BA", 51.30, -2.40, 0.15, "E12000009", 2), ("BB", 53.75, -2.40, 0.10, "E12000002", 2),
    ("BD", 53.80, -1.80, 0.08, "E12000003", 3), ("BH", 50.75, -1.90, 0.10, "E12000009", 3),
    ("BL", 53.58, -2.45, 0.06, "E12000002", 2), ("BN", 50.85, -0.20, 0.15, "E12000008", 4),
    ("BR", 51.40, 0.03, 0.05, "E12000007", 2), ("BS", 51.45, -2.60, 0.12, "E12000009", 5),
    ("CA", 54.70, -3.00, 0.30, "E12000002", 2), ("CB", 52.20, 0.15, 0.12, "E12000006", 3),
    ("CF", 51.50, -3.25, 0.15, "W92000004", 4), ("CH", 53.20, -2.95, 0.12, "E12000002", 3),
    ("CM", 51.75, 0.45, 0.15, "E12000006", 4), ("CO", 51.90, 0.90, 0.12, "E12000006", 2),
    ("CT", 51.28, 1.10, 0.10, "E12000008", 2), ("CV", 52.40, -1.50, 0.12, "E12000005", 4),
    ("CW", 53.10, -2.45, 0.10, "E12000002", 2), ("DD", 56.47, -2.95, 0.12, "S92000003", 2),
    ("DE", 52.92, -1.50, 0.15, "E12000004", 4), ("DG", 55.07, -3.60, 0.25, "S92000003", 1),
    ("DH", 54.78, -1.60, 0.08, "E12000001", 2), ("DL", 54.50, -1.60, 0.15, "E12000001", 2),
    ("DN", 53.55, -1.00, 0.20, "E12000003", 4), ("DT", 50.72, -2.45, 0.12, "E12000009", 1),
    ("DY", 52.48, -2.10, 0.06, "E12000005", 2), ("E", 51.53, -0.03, 0.04, "E12000007", 6),
    ("EC", 51.52, -0.10, 0.01, "E12000007", 1), ("EH", 55.93, -3.20, 0.15, "S92000003", 5),
    ("EX", 50.75, -3.60, 0.25, "E12000009", 3), ("FK", 56.05, -3.90, 0.15, "S92000003", 2),
    ("G", 55.86, -4.25, 0.10, "S92000003", 7), ("GL", 51.85, -2.20, 0.15, "E12000009", 3),
    ("GU", 51.25, -0.70, 0.15, "E12000008", 4), ("HG", 54.00, -1.55, 0.08, "E12000003", 1),
    ("HP", 51.75, -0.60, 0.10, "E12000008", 2), ("HR", 52.05, -2.75, 0.12, "E12000005", 1),
    ("HU", 53.75, -0.35, 0.10, "E12000003", 2), ("IP", 52.10, 1.15, 0.15, "E12000006", 3),
    ("IV", 57.50, -4.30, 0.40, "S92000003", 1), ("KA", 55.60, -4.55, 0.12, "S92000003", 2),
    ("KY", 56.15, -3.15, 0.12, "S92000003", 2), ("L", 53.41, -2.95, 0.08, "E12000002", 5),
    ("LA", 54.05, -2.75, 0.15, "E12000002", 2), ("LD", 52.25, -3.40, 0.15, "W92000004", 1),
    ("LE", 52.63, -1.15, 0.15, "E12000004", 5), ("LL", 53.10, -3.80, 0.25, "W92000004", 3),
    ("LN", 53.20, -0.50, 0.15, "E12000004", 2), ("LS", 53.80, -1.55, 0.08, "E12000003", 5),
    ("LU", 51.88, -0.42, 0.06, "E12000006", 2), ("M", 53.48, -2.24, 0.08, "E12000002", 8),
    ("ME", 51.35, 0.55, 0.10, "E12000008", 3), ("MK", 52.05, -0.75, 0.10, "E12000008", 2),
    ("ML", 55.78, -3.95, 0.10, "S92000003", 2), ("N", 51.57, -0.12, 0.04, "E12000007", 5),
    ("NE", 55.00, -1.65, 0.12, "E12000001", 5), ("NG", 52.98, -1.15, 0.15, "E12000004", 5),
    ("NN", 52.30, -0.85, 0.15, "E12000004", 3), ("NP", 51.65, -3.00, 0.12, "W92000004", 3),
    ("NR", 52.65, 1.25, 0.20, "E12000006", 3), ("NW", 51.55, -0.20, 0.04, "E12000007", 4),
    ("OX", 51.75, -1.30, 0.15, "E12000008", 3), ("PA", 55.85, -4.60, 0.15, "S92000003", 2),
    ("PE", 52.55, -0.10, 0.25, "E12000006", 4), ("PH", 56.50, -3.60, 0.30, "S92000003", 1),
    ("PL", 50.40, -4.20, 0.15, "E12000009", 2), ("PO", 50.82, -1.10, 0.12, "E12000008", 4),
    ("PR", 53.75, -2.75, 0.10, "E12000002", 2), ("RG", 51.45, -1.00, 0.12, "E12000008", 3),
    ("S", 53.38, -1.45, 0.10, "E12000003", 5), ("SA", 51.70, -4.10, 0.25, "W92000004", 3),
    ("SE", 51.47, -0.05, 0.04, "E12000007", 6), ("SK", 53.40, -2.15, 0.08, "E12000002", 3),
    ("SN", 51.55, -1.80, 0.15, "E12000009", 2), ("SO", 50.92, -1.40, 0.10, "E12000008", 3),
    ("SR", 54.90, -1.40, 0.05, "E12000001", 1), ("ST", 52.98, -2.15, 0.12, "E12000005", 3),
    ("SW", 51.46, -0.17, 0.04, "E12000007", 6), ("SY", 52.70, -2.90, 0.25, "E12000005", 2),
    ("TA", 51.00, -3.10, 0.15, "E12000009", 2), ("TD", 55.60, -2.60, 0.20, "S92000003", 1),
    ("TN", 51.10, 0.30, 0.15, "E12000008", 3), ("TQ", 50.45, -3.60, 0.10, "E12000009", 1),
    ("TR", 50.25, -5.10, 0.15, "E12000009", 1), ("TS", 54.57, -1.25, 0.08, "E12000001", 3),
    ("WA", 53.40, -2.60, 0.08, "E12000002", 2), ("WC", 51.52, -0.12, 0.01, "E12000007", 1),
    ("WF", 53.68, -1.45, 0.08, "E12000003", 2), ("WR", 52.20, -2.20, 0.12, "E12000005", 2),
    ("WV", 52.60, -2.12, 0.06, "E12000005", 2), ("YO", 54.00, -1.00, 0.25, "E12000003", 3),
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
PLACES = ("Northfield", "Ashford", "Riverside", "Westgate", "Kingsmead", "Hillcrest", "Brookside",
          "Meadowbank", "Harbourside", "Eastleigh", "Oakwood", "Stonebridge", "Millbrook",
          "Fairview", "Greenhill", "Highfield", "Lakeside", "Moorland", "Parkside", "Southgate")
PARTNER_WORDS = {
    "business": ("Builders", "Energy", "Foods", "Logistics", "Digital", "Engineering"),
    "trade_union": ("Workers' Union", "Teachers' Association", "Nurses' Union"),
    "charity": ("Trust", "Foundation", "Aid", "Support"),
    "social_enterprise": ("Community Interest Company", "Co-operative", "Works"),
    "community_group": ("Residents' Association", "Community Group", "Friends"),
    "university": ("University", "College"),
    "faith_group": ("Parish", "Mosque Trust", "Gurdwara", "Synagogue Trust"),
    "public_body": ("Council", "Health Board", "Fire Service"),
}
TAGS = ("befriending", "health", "older-people", "education", "reading", "mentoring",
        "environment", "outdoors", "energy", "advice", "children", "young-people", "events",
        "digital-skills", "food", "housing", "first-aid", "sport", "arts", "driving")
FIRST_NAMES = ("Amira", "Ben", "Chloe", "Dev", "Efua", "Finn", "Grace", "Harun", "Isla",
               "Jamal", "Kai", "Lena", "Malik", "Niamh", "Owen", "Priya", "Quinn", "Rosa")
LAST_NAMES = ("Example", "Sample", "Placeholder", "Specimen", "Testperson", "Demo")


@dataclass(frozen=True)
class Sizes:
    partners: int
    commitments: int
    opportunities: int
    signups: int
    postcodes: int


@dataclass
class Base:
    """What the demo left in the database that the generated rows refer to."""

    missions: list[int]
    outcomes: dict[int, list[int]]
    metrics: dict[int, list[int]]
    areas: list[int]
    admin: int
    next_id: dict[str, int]


def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(url: str) -> None:
    """Drop and create the database named in ``url`` (through the server's ``postgres``
    database)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"give the database a plain name, not {name!r}")
    admin = _conninfo(parsed.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def has_data(url: str, sizes: Sizes) -> bool:
    import psycopg

    try:
        with psycopg.connect(_conninfo(url)) as conn:
            commitments = conn.execute("select count(*) from commitments").fetchone()
            signups = conn.execute("select count(*) from volunteer_signups").fetchone()
    except psycopg.Error:
        return False
    return bool(commitments and signups and commitments[0] >= sizes.commitments
                and signups[0] >= sizes.signups)


def load_demo(url: str) -> None:
    """The schema and the demo (missions, outcomes, metrics, areas, demo partners…)."""
    import secrets

    from missionboard.db import migrate
    from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
    from missionboard.demo import load_demo as load

    migrate.upgrade(url=url)
    engine = create_db_engine(url)
    with unit_of_work(create_session_factory(engine)) as session:
        load(session, admin_email="admin@example.org", admin_password=secrets.token_urlsafe(16))
    engine.dispose()


def read_base(conn: Any) -> Base:
    from psycopg import sql

    missions = [r[0] for r in conn.execute(
        "select id from missions where status = 'published' order by position, id")]
    outcomes: dict[int, list[int]] = {m: [] for m in missions}
    for outcome, mission in conn.execute("select id, mission_id from outcomes order by id"):
        outcomes.setdefault(mission, []).append(outcome)
    metrics: dict[int, list[int]] = {m: [] for m in missions}
    for metric, mission in conn.execute(
            "select distinct mo.metric_id, o.mission_id from metric_outcomes mo "
            "join outcomes o on o.id = mo.outcome_id join metrics m on m.id = mo.metric_id "
            "where m.status = 'published' order by 1"):
        metrics.setdefault(mission, []).append(metric)
    areas = [r[0] for r in conn.execute("select id from areas order by id")]
    admin = conn.execute("select id from users where email = 'admin@example.org'").fetchone()[0]
    next_id = {}
    for table in ("partners", "commitments", "commitment_reports", "volunteer_opportunities",
                  "volunteer_opportunity_tags", "volunteer_signups", "volunteer_hours"):
        next_id[table] = conn.execute(sql.SQL("select coalesce(max(id), 0) + 1 from {}")
                                      .format(sql.Identifier(table))).fetchone()[0]
    return Base(missions, outcomes, metrics, areas, admin, next_id)


def _text(value: Any) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return str(value)


def copy_rows(conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              *, advance: Callable[[int], None], chunk: int = 5_000) -> int:
    """``COPY table (columns) FROM STDIN`` in text format, ``chunk`` rows a write."""
    from psycopg import sql

    n = 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        lines: list[str] = []
        for row in rows:
            lines.append("\t".join(map(_text, row)))
            if len(lines) >= chunk:
                copy.write("\n".join(lines) + "\n")
                advance(len(lines))
                n += len(lines)
                lines = []
        if lines:
            copy.write("\n".join(lines) + "\n")
            advance(len(lines))
            n += len(lines)
    return n


def _lognormal_counts(rng: random.Random, n: int, total: int, sigma: float) -> list[int]:
    """``n`` counts summing to ``total``, in proportion to lognormal weights."""
    weights = [rng.lognormvariate(0.0, sigma) for _ in range(n)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in rng.sample(range(n), total - sum(counts)):
        counts[i] += 1
    return counts


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Partners and commitments

PARTNER_COLUMNS = ("id", "slug", "name", "kind", "sector", "size", "description", "website",
                   "web_domain", "company_number", "charity_number", "union_number",
                   "moderation", "moderation_note", "moderated_at", "moderated_by_id",
                   "illustrative", "created_at", "updated_at")


def partner_rows(rng: random.Random, base: Base, count: int, now: dt.datetime
                 ) -> list[tuple[Any, ...]]:
    from missionboard.partners.models import PartnerKind, PartnerSize, Sector

    kinds = list(PartnerKind)
    kind_weights = [40, 5, 20, 10, 12, 4, 5, 4]
    rows = []
    extra = max(1, count // 40)  # 2.5% more: pending or rejected, not public
    for i in range(count + extra):
        pid = base.next_id["partners"] + i
        kind = rng.choices(kinds, kind_weights)[0]
        name = f"{rng.choice(PLACES)} {rng.choice(PARTNER_WORDS[kind.value])} {i + 1}"
        slug = _slug(name)
        moderation = "approved" if i < count else rng.choice(("pending", "pending", "rejected"))
        created = now - dt.timedelta(days=rng.randint(30, 900))
        rows.append((
            pid, slug, name, kind.value, rng.choice(list(Sector)).value,
            rng.choice(list(PartnerSize)).value,
            f"{name} works with its community on the missions.", f"https://{slug}.example.org",
            f"{slug}.example.org",
            f"{rng.randint(0, 99_999_999):08d}" if kind == PartnerKind.BUSINESS else "",
            str(rng.randint(200_000, 1_199_999)) if kind == PartnerKind.CHARITY else "",
            f"{rng.randint(100, 999)}T" if kind == PartnerKind.TRADE_UNION else "",
            moderation, "Not an organisation we can verify" if moderation == "rejected" else "",
            created + dt.timedelta(days=2) if moderation != "pending" else None,
            base.admin if moderation != "pending" else None, False, created, created))
    return rows


COMMITMENT_COLUMNS = (
    "id", "partner_id", "mission_id", "outcome_id", "metric_id", "area_id", "title",
    "description", "kind", "unit", "baseline", "target", "start_on", "deadline",
    "pledged_money", "pledged_hours", "in_kind", "schedule", "verification", "moderation",
    "moderation_note", "moderated_at", "moderated_by_id", "listed", "withdrawn_at",
    "withdrawn_reason",
    "intervention_id", "assessment", "report_due_on", "last_report_on", "latest_value",
    "delivered_money", "delivered_hours", "reports_count", "illustrative", "created_at",
    "updated_at")
REPORT_COLUMNS = ("id", "commitment_id", "period_end", "value", "money_spent", "hours_given",
                  "completed", "narrative", "evidence_url", "evidence_description",
                  "verification", "author_id", "created_at")
TITLES = {
    "action": ("Run {n} community workshops", "Open our sites to {n} apprentices",
               "Publish a plan to cut waiting lists", "Set up a local skills hub"),
    "target": ("Retrofit {n} homes", "Cut sickness absence to {n}%", "Train {n} people"),
    "money": ("Invest £{n},000 in local projects", "Fund {n} bursaries"),
    "time": ("Give {n} staff volunteering days", "Mentor {n} young people"),
    "in_kind": ("Lend meeting rooms to {n} groups", "Donate {n} laptops"),
}


@dataclass
class _Commitment:
    """One commitment being generated, with its reports."""

    row: list[Any]
    reports: list[tuple[Any, ...]] = field(default_factory=list)


def _reports_for(rng: random.Random, terms: Any, today: dt.date) -> list[Any]:
    """Progress reports as a partner might file them: never, every period until now, for a
    while and then no more (these lapse), or now and then."""
    from missionboard.partners.models import CommitmentKind
    from missionboard.partners.status import Report, add_months

    step = terms.schedule.months
    periods = []
    day = add_months(terms.start_on, step)
    while day <= today:
        periods.append(day)
        day = add_months(day, step)
    habit = rng.random()
    if habit < 0.20 or not periods:
        kept: list[dt.date] = []
    elif habit < 0.75:
        kept = periods
    elif habit < 0.90:
        kept = periods[:rng.randint(1, len(periods))]
    else:
        kept = [p for p in periods if rng.random() < 0.5]
    kept = kept[-6:]
    pace = rng.uniform(0.4, 1.4)
    reports = []
    span = max(1, ((terms.deadline or add_months(terms.start_on, 24)) - terms.start_on).days)
    for n, period_end in enumerate(kept, start=1):
        share = min(1.2, pace * (period_end - terms.start_on).days / span)
        value = money = hours = None
        completed = False
        if terms.kind == CommitmentKind.TARGET:
            value = round(terms.baseline + (terms.target - terms.baseline) * share, 2)
        elif terms.kind == CommitmentKind.MONEY:
            money = round(terms.pledged_money * share / len(kept), 2)
        elif terms.kind == CommitmentKind.TIME:
            hours = round(terms.pledged_hours * share / len(kept), 1)
        else:
            completed = n == len(kept) and rng.random() < 0.25
        reports.append(Report(period_end=period_end, value=value, money_spent=money,
                              hours_given=hours, completed=completed))
    return reports


def _moderation(rng: random.Random, partner: str, *, kept: bool) -> str:
    """A commitment's moderation as the service allows it: a pending partner's commitments
    are pending or rejected (approving one approves the partner); a rejected partner's too,
    unless it was rejected after its commitments were approved (``kept``)."""
    if partner == "approved" or kept:
        return rng.choices(("approved", "pending", "rejected"), [92, 5, 3])[0]
    return rng.choices(("pending", "rejected"), [80, 20])[0]


def commitment_rows(rng: random.Random, base: Base, partners: dict[int, str], count: int,
                    now: dt.datetime) -> Iterator[_Commitment]:
    """``count`` commitments of ``partners`` (id → moderation), with their reports and the
    stored assessment the service would keep (:func:`missionboard.partners.status.assess`);
    three rejected partners keep approved commitments (rejected after approval)."""
    partner_ids = list(partners)
    kept = set([p for p in partner_ids if partners[p] == "rejected"][:3])
    from missionboard.partners.models import CommitmentKind, ReportingSchedule, VerificationLevel
    from missionboard.partners.status import Terms, add_months, assess

    today = now.date()
    per_partner = _lognormal_counts(rng, len(partner_ids), count, 0.8)
    owners = [p for p, n in zip(partner_ids, per_partner, strict=True) for _ in range(n)]
    rng.shuffle(owners)
    kinds = list(CommitmentKind)
    schedules = list(ReportingSchedule)
    levels = list(VerificationLevel)
    report_id = base.next_id["commitment_reports"]
    mission_weights = [rng.uniform(0.5, 1.5) for _ in base.missions]
    for i, partner in enumerate(owners):
        cid = base.next_id["commitments"] + i
        kind = rng.choices(kinds, [30, 20, 20, 15, 15])[0]
        mission = rng.choices(base.missions, mission_weights)[0]
        start = today - dt.timedelta(days=rng.randint(0, 1100))
        schedule = rng.choices(schedules, [15, 50, 20, 15])[0]
        deadline = (add_months(start, rng.randint(6, 60))
                    if kind == CommitmentKind.TARGET or rng.random() < 0.7 else None)
        n = rng.choice((5, 10, 12, 20, 25, 40, 50, 100, 120, 250, 500))
        baseline = target = money = hours = None
        unit = in_kind = ""
        if kind == CommitmentKind.TARGET:
            baseline, target, unit = 0.0, float(n), "homes retrofitted"
        elif kind == CommitmentKind.MONEY:
            money = float(n * 1000)
        elif kind == CommitmentKind.TIME:
            hours = float(n * 8)
        elif kind == CommitmentKind.IN_KIND:
            in_kind = f"{n} laptops, refurbished, with a year's support"
        withdrawn = rng.random() < 0.03
        terms = Terms(kind=kind, start_on=start, schedule=schedule, baseline=baseline,
                      target=target, deadline=deadline, pledged_money=money,
                      pledged_hours=hours, withdrawn=withdrawn)
        reports = _reports_for(rng, terms, today)
        a = assess(terms, reports)
        moderation = _moderation(rng, partners[partner], kept=partner in kept)
        created = dt.datetime.combine(start, dt.time(9), tzinfo=dt.UTC)
        outcomes = base.outcomes.get(mission) or [None]
        metrics = base.metrics.get(mission) or [None]
        title = rng.choice(TITLES[kind.value]).format(n=n)
        item = _Commitment(row=[
            cid, partner, mission, rng.choice(outcomes) if rng.random() < 0.6 else None,
            rng.choice(metrics) if kind == CommitmentKind.TARGET else None,
            rng.choice(base.areas) if rng.random() < 0.7 else None, title,
            f"{title}, reported on {schedule.value.replace('_', '-')}.", kind.value, unit,
            baseline, target, start, deadline, money, hours, in_kind, schedule.value,
            rng.choices(levels, [70, 20, 10])[0].value, moderation,
            "Not about this mission" if moderation == "rejected" else "",
            created + dt.timedelta(days=3) if moderation != "pending" else None,
            base.admin if moderation != "pending" else None,
            moderation == "approved" and partners[partner] == "approved",
            (created + dt.timedelta(days=rng.randint(30, 300))) if withdrawn else None,
            "Our funding ended" if withdrawn else "", None, a.status.value, a.report_due_on,
            a.last_report_on, a.latest_value, round(a.delivered_money, 2), a.delivered_hours,
            len(reports), False, created, created])
        for r in reports:
            item.reports.append((
                report_id, cid, r.period_end, r.value, r.money_spent, r.hours_given,
                r.completed, "Progress this period, as planned.",
                f"https://example.org/evidence/{report_id}" if rng.random() < 0.3 else "",
                "", rng.choices(levels, [80, 15, 5])[0].value, None,
                dt.datetime.combine(r.period_end, dt.time(17), tzinfo=dt.UTC)))
            report_id += 1
        yield item


# Postcodes, opportunities, sign-ups and hours

def postcode_rows(rng: random.Random, count: int) -> list[tuple[str, str, bool, float, float,
                                                                 str]]:
    """``count`` unit postcodes across Great Britain (postcode, outward, is_unit, latitude,
    longitude, area code), as the postcode import stores them."""
    weights = [a[5] for a in POSTCODE_AREAS]
    districts: dict[str, tuple[float, float, str]] = {}
    seen: set[str] = set()
    rows = []
    while len(rows) < count:
        area, lat, lon, spread, region, _ = rng.choices(POSTCODE_AREAS, weights)[0]
        outward = f"{area}{rng.randint(1, 9 if area in ('EC', 'WC') else 30)}"
        if outward not in districts:
            districts[outward] = (lat + rng.gauss(0, spread), lon + rng.gauss(0, spread * 1.6),
                                  region)
        d_lat, d_lon, region = districts[outward]
        inward = (f"{rng.randint(0, 9)}{rng.choice(_INWARD_LETTERS)}"
                  f"{rng.choice(_INWARD_LETTERS)}")
        postcode = f"{outward} {inward}"
        if postcode in seen:
            continue
        seen.add(postcode)
        rows.append((postcode, outward, True, round(d_lat + rng.gauss(0, 0.01), 6),
                     round(d_lon + rng.gauss(0, 0.016), 6), region))
    return rows


OPPORTUNITY_COLUMNS = (
    "id", "slug", "mission_id", "partner_id", "public_body", "title", "description", "mode",
    "address", "postcode", "latitude", "longitude", "area_code", "starts_on", "ends_on",
    "time_kind", "hours", "time_note", "accessibility", "dbs_check", "minimum_age", "capacity",
    "waitlist", "status", "moderation_note", "submitted_at", "published_at", "closed_at",
    "retention_months", "retain_until", "personal_data_deleted_at", "signed_up", "waitlisted",
    "hours_confirmed", "illustrative", "created_by", "created_at", "updated_at")
ROLES = ("Befriending volunteer", "Reading helper", "Tree planting day", "Food bank driver",
         "Home energy adviser", "Hospital welcome volunteer", "Youth club helper",
         "Digital skills buddy", "Park clean-up", "Street Watch volunteer")


@dataclass(frozen=True)
class _Opportunity:
    id: int
    status: str
    capacity: int | None
    waitlist: bool
    dbs: bool
    minimum_age: int | None
    published_at: dt.datetime


def opportunity_rows(rng: random.Random, base: Base, *, partner_ids: Sequence[int],
                     postcodes: Sequence[tuple[Any, ...]], count: int, now: dt.datetime
                     ) -> tuple[list[tuple[Any, ...]], list[_Opportunity]]:
    today = now.date()
    rows, plans = [], []
    closed, drafts = count // 20, count // 50
    for i in range(count + closed + drafts):
        oid = base.next_id["volunteer_opportunities"] + i
        status = "published" if i < count else "closed" if i < count + closed else "draft"
        mode = rng.choices(("in_person", "hybrid", "online"), [75, 12, 13])[0]
        place = rng.choice(postcodes) if mode != "online" else None
        partner = rng.choice(partner_ids) if rng.random() < 0.7 else None
        role = rng.choice(ROLES)
        town = place[1] if place else "online"
        published = (now - dt.timedelta(days=rng.randint(1, 700), minutes=rng.randint(0, 1439))
                     if status != "draft" else None)
        capacity = None if rng.random() < 0.4 else rng.choice((5, 10, 20, 40, 80, 150, 400))
        waitlist = rng.random() < 0.7
        dbs = rng.choices(("none", "basic", "enhanced"), [60, 20, 20])[0]
        minimum_age = rng.choice((None, None, 16, 18))
        closed_at = now - dt.timedelta(days=rng.randint(1, 200)) if status == "closed" else None
        ends_on = (None if rng.random() < 0.6 else today + dt.timedelta(days=rng.randint(7, 365)))
        if closed_at is not None:
            ends_on = closed_at.date()
        rows.append((
            oid, f"{_slug(role)}-{oid}", rng.choice(base.missions), partner,
            "" if partner else f"{rng.choice(PLACES)} Council", f"{role} ({town})",
            f"{role}: join a friendly team near you. Training and expenses provided.", mode,
            f"{rng.randint(1, 200)} High Street" if place else "", place[0] if place else "",
            place[3] if place else None, place[4] if place else None, place[5] if place else "",
            published.date() if published else None, ends_on,
            rng.choice(("one_off", "regular")), float(rng.choice((1, 2, 3, 4, 6))),
            "Weekday mornings", "Step-free access; tell us what you need.", dbs, minimum_age,
            capacity, waitlist, status, "", published, published, closed_at, 12,
            (closed_at.date() + dt.timedelta(days=365)) if closed_at else None, None, 0, 0,
            0.0, False, base.admin, published or now, published or now))
        if status != "draft":
            plans.append(_Opportunity(oid, status, capacity, waitlist, dbs != "none",
                                      minimum_age, published or now))
    return rows, plans


def tag_rows(rng: random.Random, base: Base, opportunities: Sequence[tuple[Any, ...]]
             ) -> list[tuple[int, int, str]]:
    rows, tid = [], base.next_id["volunteer_opportunity_tags"]
    for o in opportunities:
        for tag in rng.sample(TAGS, rng.randint(1, 3)):
            rows.append((tid, o[0], tag))
            tid += 1
    return rows


SIGNUP_COLUMNS = ("id", "opportunity_id", "status", "name", "email", "phone", "postcode",
                  "note", "dbs_acknowledged", "age_confirmed", "consented_at", "token_sha256",
                  "created_at", "promoted_at")
HOURS_COLUMNS = ("id", "signup_id", "opportunity_id", "worked_on", "hours", "note", "status",
                 "logged_at", "decided_at", "decided_by")


def _allocate(rng: random.Random, plans: Sequence[_Opportunity], total: int) -> list[int]:
    """Sign-ups per opportunity, summing to ``total``; none beyond the capacity where there
    is no waiting list."""
    counts = _lognormal_counts(rng, len(plans), total, 1.0)
    room = [i for i, p in enumerate(plans) if p.capacity is None or p.waitlist]
    spare = 0
    for i, p in enumerate(plans):
        if p.capacity is not None and not p.waitlist and counts[i] > p.capacity:
            spare += counts[i] - p.capacity
            counts[i] = p.capacity
    for i in rng.choices(room, k=spare):
        counts[i] += 1
    return counts


def signup_rows(rng: random.Random, base: Base, *, plans: Sequence[_Opportunity],
                counts: Sequence[int], postcodes: Sequence[tuple[Any, ...]], now: dt.datetime,
                hours_out: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The sign-ups (places first, then the waiting list, oldest first) and, into
    ``hours_out``, the hours some of the people with a place logged."""
    sid, hid = base.next_id["volunteer_signups"], base.next_id["volunteer_hours"]
    for plan, n in zip(plans, counts, strict=True):
        span = max(60.0, (now - plan.published_at).total_seconds())
        offsets = sorted(rng.uniform(0, span) for _ in range(n))
        places = n if plan.capacity is None else min(n, plan.capacity)
        for k, offset in enumerate(offsets):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            created = plan.published_at + dt.timedelta(seconds=offset)
            status = "signed_up" if k < places else "waitlisted"
            yield (sid, plan.id, status, f"{first} {last}",
                   f"{first}.{last}.{sid}@example.org".lower(),
                   f"07700 900{rng.randint(0, 999):03d}", rng.choice(postcodes)[0],
                   "", plan.dbs, plan.minimum_age is not None, created,
                   hashlib.sha256(f"{SEED}:{sid}".encode()).hexdigest(), created, None)
            if status == "signed_up" and rng.random() < 0.08:
                for _ in range(rng.randint(1, 3)):
                    worked = min(now, created + dt.timedelta(days=rng.randint(1, 60)))
                    state = rng.choices(("confirmed", "logged", "rejected"), [75, 20, 5])[0]
                    hours_out.append((hid, sid, plan.id, worked.date(),
                                      float(rng.choice((1, 2, 2.5, 3, 4, 6))), "", state,
                                      worked, worked if state != "logged" else None, None))
                    hid += 1
            sid += 1


COUNTERS = """
update volunteer_opportunities o set
    signed_up = coalesce(s.signed_up, 0), waitlisted = coalesce(s.waitlisted, 0),
    hours_confirmed = coalesce(h.hours, 0)
from volunteer_opportunities o2
left join (select opportunity_id, count(*) filter (where status = 'signed_up') signed_up,
                  count(*) filter (where status = 'waitlisted') waitlisted
           from volunteer_signups group by opportunity_id) s on s.opportunity_id = o2.id
left join (select opportunity_id, sum(hours) hours from volunteer_hours
           where status = 'confirmed' group by opportunity_id) h on h.opportunity_id = o2.id
where o.id = o2.id and o.id >= %s
"""


def generate(url: str, sizes: Sizes, seed: int) -> None:
    """Add the partners, commitments, reports, postcodes, opportunities, tags, sign-ups and
    hours with COPY, set the counters, and VACUUM ANALYZE."""
    import psycopg
    from psycopg import sql
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from missionboard.db.base import utcnow

    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    with psycopg.connect(_conninfo(url)) as conn, Progress(
            TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn()) as progress:
        base = read_base(conn)

        def task(name: str, total: int) -> Callable[[int], None]:
            tid = progress.add_task(name, total=total)
            return lambda n: progress.advance(tid, n)

        partners = partner_rows(rng, base, sizes.partners, now)
        copy_rows(conn, "partners", PARTNER_COLUMNS, partners,
                  advance=task("partners", len(partners)))
        approved = [p[0] for p in partners if p[12] == "approved"]
        everyone = [p[0] for p in partners]
        copy_rows(conn, "partner_areas", ("partner_id", "area_id"),
                  ((p, a) for p in everyone for a in rng.sample(base.areas, rng.randint(1, 2))),
                  advance=task("partner areas", 0))
        # Most commitments are by approved partners; a few by pending or rejected ones.
        commitments = list(commitment_rows(rng, base, {p[0]: p[12] for p in partners},
                                           sizes.commitments, now))
        copy_rows(conn, "commitments", COMMITMENT_COLUMNS, (c.row for c in commitments),
                  advance=task("commitments", sizes.commitments))
        reports = [r for c in commitments for r in c.reports]
        copy_rows(conn, "commitment_reports", REPORT_COLUMNS, reports,
                  advance=task("progress reports", len(reports)))
        postcodes = postcode_rows(rng, sizes.postcodes)
        copy_rows(conn, "postcode_centroids",
                  ("postcode", "outward", "is_unit", "latitude", "longitude", "area_code"),
                  postcodes, advance=task("postcode centroids", len(postcodes)))
        opportunities, plans = opportunity_rows(rng, base, partner_ids=approved,
                                                postcodes=postcodes, count=sizes.opportunities,
                                                now=now)
        copy_rows(conn, "volunteer_opportunities", OPPORTUNITY_COLUMNS, opportunities,
                  advance=task("opportunities", len(opportunities)))
        tags = tag_rows(rng, base, opportunities)
        copy_rows(conn, "volunteer_opportunity_tags", ("id", "opportunity_id", "tag"), tags,
                  advance=task("opportunity tags", len(tags)))
        hours: list[tuple[Any, ...]] = []
        counts = _allocate(rng, plans, sizes.signups)
        copy_rows(conn, "volunteer_signups", SIGNUP_COLUMNS,
                  signup_rows(rng, base, plans=plans, counts=counts, postcodes=postcodes,
                              now=now, hours_out=hours),
                  advance=task("sign-ups", sizes.signups))
        copy_rows(conn, "volunteer_hours", HOURS_COLUMNS, hours,
                  advance=task("hours", len(hours)))
        counters = task("counters, sequences", 1)
        conn.execute(COUNTERS, (base.next_id["volunteer_opportunities"],))
        for table in base.next_id:
            conn.execute(sql.SQL("select setval(pg_get_serial_sequence({}, 'id'), "
                                 "(select max(id) from {}))").format(
                                     sql.Literal(table), sql.Identifier(table)))
        conn.commit()
        counters(1)
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        started = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.monotonic() - started:.1f} s")


def describe_data(url: str) -> list[str]:
    """What the database holds, for the printout (counted, not assumed)."""
    import psycopg
    from psycopg import sql

    from missionboard.db.base import utcnow

    today = utcnow().date()
    with psycopg.connect(_conninfo(url)) as conn:
        def count(table: str, status: str = "", column: str = "status") -> int:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(table))
            if status:
                query += sql.SQL(" where {} = {}").format(sql.Identifier(column),
                                                         sql.Literal(status))
            return int(conn.execute(query).fetchone()[0])

        statuses = conn.execute(
            "select case when assessment in ('withdrawn', 'achieved') then assessment "
            "when report_due_on < %s then 'lapsed' "
            "when deadline is not null and deadline < %s then 'behind' else assessment end s, "
            "count(*) from commitments group by 1 order by 2 desc", (today, today)).fetchall()
        public = conn.execute(PUBLIC_COUNT).fetchone()[0]
        wrong = conn.execute(
            "select count(*) from volunteer_opportunities o where signed_up <> (select count(*) "
            "from volunteer_signups s where s.opportunity_id = o.id and s.status = 'signed_up') "
            "or waitlisted <> (select count(*) from volunteer_signups s where "
            "s.opportunity_id = o.id and s.status = 'waitlisted')").fetchone()[0]
        return [
            f"partners: {count('partners'):,} "
            f"({count('partners', 'approved', 'moderation'):,} approved)",
            f"commitments: {count('commitments'):,} ({public:,} public); by status today: "
            + ", ".join(f"{s} {n:,}" for s, n in statuses),
            f"progress reports: {count('commitment_reports'):,}; "
            f"postcode centroids: {count('postcode_centroids'):,}",
            f"opportunities: {count('volunteer_opportunities'):,} "
            f"({count('volunteer_opportunities', 'published'):,} published); "
            f"sign-ups: {count('volunteer_signups'):,}; "
            f"hours rows: {count('volunteer_hours'):,}",
            f"opportunities whose counters differ from their sign-ups: {wrong}",
        ]


PUBLIC_COUNT = ("select count(*) from commitments c join partners p on p.id = c.partner_id "
                "join missions m on m.id = c.mission_id where c.moderation = 'approved' "
                "and p.moderation = 'approved' and m.status = 'published'")


# The mix of URLs --------------------------------------------------------------------------

@dataclass(frozen=True)
class Catalogue:
    """What the URLs are drawn from (public things only: anything else would be a 404)."""

    commitments: list[int]
    partners: list[str]
    opportunities: list[str]
    postcodes: list[str]
    outward_codes: list[str]
    missions: list[str]
    areas: list[str]
    tags: list[str]


def catalogue(url: str, rng: random.Random) -> Catalogue:
    import psycopg

    with psycopg.connect(_conninfo(url)) as conn:
        def column(sql: str) -> list[Any]:
            return [r[0] for r in conn.execute(sql)]

        ids = column(PUBLIC_COUNT.replace("count(*)", "c.id"))
        partners = column("select slug from partners where moderation = 'approved'")
        opportunities = column(
            "select o.slug from volunteer_opportunities o join missions m on m.id = o.mission_id "
            "left join partners p on p.id = o.partner_id where o.status in ('published', "
            "'closed') and m.status = 'published' and (p.id is null or p.moderation = "
            "'approved')")
        postcodes = column("select postcode from postcode_centroids where is_unit "
                           "order by postcode")
        return Catalogue(
            commitments=ids, partners=partners, opportunities=opportunities,
            postcodes=rng.sample(postcodes, min(5000, len(postcodes))),
            outward_codes=sorted({p.split()[0] for p in postcodes}),
            missions=column("select slug from missions where status = 'published'"),
            areas=column("select code from areas where level in ('country', 'region')"),
            tags=column("select distinct tag from volunteer_opportunity_tags order by 1"))


def _register_filters(rng: random.Random, cat: Catalogue) -> dict[str, str]:
    from missionboard.partners.models import (
        CommitmentKind,
        CommitmentStatus,
        Sector,
        VerificationLevel,
    )

    choices: dict[str, Callable[[], str]] = {
        "mission": lambda: rng.choice(cat.missions),
        "kind": lambda: rng.choice(list(CommitmentKind)).value,
        "status": lambda: rng.choice(list(CommitmentStatus)).value,
        "sector": lambda: rng.choice(list(Sector)).value,
        "area": lambda: rng.choice(cat.areas),
        "verification": lambda: rng.choice(list(VerificationLevel)).value,
        "partner": lambda: rng.choice(cat.partners),
    }
    keys = rng.sample(sorted(choices), rng.choice((1, 1, 2, 2, 3)))
    return {k: choices[k]() for k in keys}


def _query(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(params) if params else ""


def _last_page(cat: Catalogue) -> int:
    return max(1, math.ceil(len(cat.commitments) / PAGE_SIZE))


#: Group → (weight, URL maker). The weights are shares of the requests (they sum to 100).
MIX: dict[str, tuple[int, Callable[[random.Random, Catalogue], str]]] = {
    "register: first page": (8, lambda r, c: "/commitments"),
    "register: filtered": (12, lambda r, c: "/commitments" + _query(_register_filters(r, c))),
    "register: deep page": (6, lambda r, c: "/commitments" + _query(
        {"page": r.randint(2, _last_page(c))})),
    "register: filtered, page 2-5": (3, lambda r, c: "/commitments" + _query(
        {**_register_filters(r, c), "page": r.randint(2, 5)})),
    "commitment page": (13, lambda r, c: f"/commitments/{r.choice(c.commitments)}"),
    "partners index": (3, lambda r, c: "/partners" + _query(
        {"page": r.randint(1, max(1, len(c.partners) // PAGE_SIZE))})),
    "partner page": (8, lambda r, c: f"/partners/{r.choice(c.partners)}"),
    "API: commitments list": (8, lambda r, c: "/api/v1/commitments" + _query(
        {**(_register_filters(r, c) if r.random() < 0.5 else {}),
         "offset": r.choice((0, 0, 100, 1000, r.randint(0, len(c.commitments))))})),
    "API: commitment": (8, lambda r, c: f"/api/v1/commitments/{r.choice(c.commitments)}"),
    "API: partners": (2, lambda r, c: "/api/v1/partners" + _query(
        {"offset": r.randint(0, len(c.partners))})),
    "volunteer search": (12, lambda r, c: "/volunteer" + _query({
        "postcode": r.choice(c.postcodes) if r.random() < 0.8 else r.choice(c.outward_codes),
        "radius": r.choice((1, 3, 5, 10, 10, 25, 50)),
        **({"tag": r.choice(c.tags)} if r.random() < 0.2 else {}),
        **({"page": 2} if r.random() < 0.1 else {})})),
    "API: volunteering search": (4, lambda r, c: "/api/v1/volunteering/opportunities" + _query(
        {"postcode": r.choice(c.postcodes), "radius_miles": r.choice((3, 10, 25))})),
    "opportunity page": (8, lambda r, c: f"/volunteer/opportunities/{r.choice(c.opportunities)}"),
    "impact page": (3, lambda r, c: "/volunteer/impact"),
    "API: volunteering summary": (2, lambda r, c: "/api/v1/volunteering/summary"),
}


def schedule(rng: random.Random, cat: Catalogue, *, rate: float, seconds: float,
             groups: Sequence[str]) -> list[tuple[float, str, str]]:
    """(offset in seconds, group, path) for every request, at fixed intervals."""
    weights = [MIX[g][0] for g in groups]
    out = []
    for i in range(int(rate * seconds)):
        group = rng.choices(groups, weights)[0]
        out.append((i / rate, group, MIX[group][1](rng, cat)))
    return out


# The server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MISSIONBOARD_DATABASE_URL": url,
           "MISSIONBOARD_SECRET_KEY": "benchmark-secret-key-not-for-production",
           "MISSIONBOARD_NODE_MODULES": str(ROOT / "node_modules")}
    command = [str(VENV_BIN / "python"), "-m", "uvicorn", "--factory",
               "missionboard.web.server:app", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning", "--backlog", "4096"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at once (exit code {server.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/partners?limit=1",
                                        timeout=5) as answer:
                if answer.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    stop(server)
    raise SystemExit("the server did not answer within 90 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server (uvicorn finishes the requests in flight); whatever is left of its
    process group after 30 s is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _cpu_seconds(pids: set[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _tree(root: int) -> set[int]:
    """The process and its descendants (uvicorn's workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _postgres_pids(url: str) -> set[int]:
    """The PostgreSQL backends serving this database (not other people's)."""
    import psycopg

    with psycopg.connect(_conninfo(url)) as conn:
        return {r[0] for r in conn.execute(
            "select pid from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid()")}


# The load ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    """One request: its group, when it was due and sent, when its answer ended, and the
    status (or the exception's name)."""

    group: str
    due: float
    sent: float
    done: float
    status: str


class Connections:
    """Keep-alive HTTP/1.1 connections to the server over loopback, for GET requests: one
    request at a time on each, the most recently used idle one first, a new one when none is
    idle. One idle for longer than ``fresh`` seconds is closed rather than reused (uvicorn
    closes idle connections after 5 s). Raw asyncio streams: a client library would spend
    several times the CPU of a request's parsing, on the machine that also runs the server.
    """

    def __init__(self, port: int, *, fresh: float = 2.0) -> None:
        self.port, self.fresh = port, fresh
        self.idle: list[tuple[float, Any, Any]] = []
        self.opened = 0

    async def _connection(self) -> tuple[Any, Any]:
        import asyncio

        now = time.monotonic()
        while self.idle:
            at, reader, writer = self.idle.pop()
            if now - at < self.fresh:
                return reader, writer
            writer.close()
        self.opened += 1
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str) -> int:
        """GET ``path``; the status (the body is read in full and dropped)."""
        reader, writer = await self._connection()
        try:
            writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            if b"transfer-encoding: chunked" in lower:
                while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            else:
                start = lower.find(b"content-length:")
                if start < 0:
                    raise ValueError("a response without a length")
                await reader.readexactly(int(lower[start + 15:lower.index(b"\r\n", start)]))
        except BaseException:
            writer.close()
            raise
        if b"connection: close" in lower:
            writer.close()
        else:
            self.idle.append((time.monotonic(), reader, writer))
        return status

    def close(self) -> None:
        for _, _, writer in self.idle:
            writer.close()


async def _one(client: Connections, group: str, path: str, due: float, out: list[Sent]
               ) -> None:
    sent = time.monotonic()
    try:
        status = str(await client.get(path))
    except Exception as exc:  # every failure is counted, by its name
        status = type(exc).__name__
    out.append(Sent(group, due, sent, time.monotonic(), status))


async def _drive(port: int, plan: Sequence[tuple[float, str, str]], start_at: float
                 ) -> tuple[list[Sent], int]:
    """Send each request at its time; the requests and the connections opened."""
    import asyncio

    out: list[Sent] = []
    client = Connections(port)
    tasks = set()
    for offset, group, path in plan:
        due = start_at + offset
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(_one(client, group, path, due, out))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    client.close()
    return out, client.opened


def client_process(port: int, plan: list[tuple[float, str, str]], start_at: float,
                   out: multiprocessing.queues.Queue[tuple[list[Sent], int, float]]) -> None:
    import uvloop

    started = time.process_time()
    sent, opened = uvloop.run(_drive(port, plan, start_at))
    out.put((sent, opened, time.process_time() - started))


# Reporting --------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in [0, 1]) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def report(measured: Sequence[Sent], groups: Sequence[str], target: float) -> bool:
    """Print the table; True when every group's p95 and the overall p95 are under
    ``target`` seconds."""
    print(f"\n{'group':<32} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8}  p95 < {target * 1000:.0f} ms")
    fast = True
    for name in [*groups, "overall"]:
        rows = [s for s in measured if name in ("overall", s.group)]
        latency = [s.done - s.due for s in rows]
        errors = sum(1 for s in rows if not s.status.startswith("2"))
        p95 = percentile(latency, 0.95)
        ok = bool(rows) and p95 < target
        fast &= ok
        print(f"{name:<32} {len(rows):>8,} {errors:>6} {_ms(percentile(latency, 0.5))} "
              f"{_ms(p95)} {_ms(percentile(latency, 0.99))} {_ms(max(latency, default=math.nan))}"
              f"  {'yes' if ok else 'NO'}")
    return fast


def main() -> None:  # noqa: PLR0915 - one linear script: data, server, load, report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="the benchmark's database (dropped and created unless --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database when it already holds the data")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--target-ms", type=float, default=200.0, help="the p95 to beat")
    parser.add_argument("--groups", default="",
                        help="only these groups of URLs, comma-separated (default: the mix)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=5_000)
    parser.add_argument("--signups", type=int, default=1_000_000)
    parser.add_argument("--postcodes", type=int, default=50_000,
                        help="unit postcode centroids (the searches' origins and the places)")
    args = parser.parse_args()
    groups = [g.strip() for g in args.groups.split(",") if g.strip()] or list(MIX)
    unknown = set(groups) - set(MIX)
    if unknown:
        raise SystemExit(f"unknown groups {sorted(unknown)}; the groups are {list(MIX)}")
    sizes = Sizes(args.partners, args.commitments, args.opportunities, args.signups,
                  args.postcodes)

    print(f"machine: {describe()}")
    url = args.database_url
    if args.reuse and has_data(url, sizes):
        print("reusing the data already in the database")
    else:
        started = time.monotonic()
        fresh_database(url)
        load_demo(url)
        print(f"schema and demo: {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        generate(url, sizes, args.seed)
        print(f"generated in {time.monotonic() - started:.1f} s")
    for line in describe_data(url):
        print(line)

    rng = random.Random(args.seed)
    cat = catalogue(url, rng)
    plan = schedule(rng, cat, rate=args.rate, seconds=args.warmup + args.duration,
                    groups=groups)
    print(f"uvicorn, {args.workers} worker(s), uvloop + httptools; one client process "
          f"(keep-alive HTTP/1.1 on asyncio streams, uvloop), {args.rate:g} requests/s at fixed "
          f"intervals; warm-up "
          f"{args.warmup:g} s, measured {args.duration:g} s")
    port = free_port()
    server = start_server(url, port, args.workers)
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.queues.Queue[tuple[list[Sent], int, float]] = context.Queue()
    start_at = time.monotonic() + 2.0
    measure_from = start_at + args.warmup
    stop_at = measure_from + args.duration
    client = context.Process(target=client_process, args=(port, plan, start_at, queue))
    try:
        client.start()
        time.sleep(max(0.0, measure_from - time.monotonic()))
        server_pids, postgres = _tree(server.pid), _postgres_pids(url)
        before = (_cpu_seconds(server_pids), _cpu_seconds(postgres))
        time.sleep(max(0.0, stop_at - time.monotonic()))
        after = (_cpu_seconds(server_pids), _cpu_seconds(postgres))
        sent, opened, client_cpu = queue.get(timeout=args.duration + args.warmup + 180)
        client.join()
    finally:
        if client.is_alive():
            client.terminate()
        stop(server)

    measured = [s for s in sent if measure_from <= s.due < stop_at]
    fast = report(measured, groups, args.target_ms / 1000)
    errors: dict[str, int] = {}
    for s in measured:
        if not s.status.startswith("2"):
            key = f"{s.group}: {s.status}"
            errors[key] = errors.get(key, 0) + 1
    lag = [s.sent - s.due for s in measured]
    sent_in_window = sum(1 for s in measured if s.sent < stop_at)
    done_in_window = sum(1 for s in sent if measure_from <= s.done < stop_at)
    send_rate = sent_in_window / args.duration
    kept_up = send_rate >= 0.99 * args.rate and percentile(lag, 0.99) < 0.010
    print(f"\nscheduled {len(measured):,} requests in the measured {args.duration:g} s "
          f"({len(measured) / args.duration:.1f}/s); sent in the window: {sent_in_window:,} "
          f"({send_rate:.1f}/s); answers completed in the window: {done_in_window:,} "
          f"({done_in_window / args.duration:.1f}/s)")
    print(f"client send lag behind schedule: p50 {percentile(lag, 0.5) * 1000:.2f} ms, "
          f"p99 {percentile(lag, 0.99) * 1000:.2f} ms, max {max(lag, default=0) * 1000:.2f} ms;"
          f" client CPU {client_cpu / (args.warmup + args.duration):.2f} cores (whole run); "
          f"{opened:,} connections opened")
    print(f"client kept up (sent at >= 99% of the rate, p99 lag < 10 ms): "
          f"{'yes' if kept_up else 'NO'}")
    print(f"CPU in the measured window: server {(after[0] - before[0]) / args.duration:.2f} "
          f"cores, PostgreSQL (this database's backends) "
          f"{(after[1] - before[1]) / args.duration:.2f} cores")
    print(f"errors (non-2xx or failed): {sum(errors.values())}"
          + ("".join(f"\n  {k}: {n}" for k, n in sorted(errors.items())) if errors else ""))
    load = os.getloadavg()
    print(f"load average after the run: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    ok = fast and not errors and kept_up
    print(f"{'PASS' if ok else 'FAIL'}: p95 under {args.target_ms:g} ms for every group and "
          f"overall, no errors, the client kept up, at {args.rate:g} requests/s")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
