"""Time the all-or-nothing observation import at scale, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/import_observations.py [--rows 1000000]
        [--backends sqlite,postgresql] [--workdir DIR]

Generates ``--rows`` observations (20 metrics x 300 areas x as many months as needed) as CSV
and Parquet, builds a fresh database per backend with the migrations, adds the metrics and
areas, then times ``import_observations`` in one unit of work each (commit included) for:
a first import, a re-import of the same CSV (all unchanged), the same rows as Parquet (all
unchanged) and a CSV where 10% of the values changed (revisions). PostgreSQL comes from
``MISSIONBOARD_BENCH_POSTGRES_URL`` (default: the local server); the database
``missionboard_bench`` on it is dropped and created.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from machine import describe  # benchmarks/machine.py
from missionboard.db import migrate
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.metrics.importer import ImportResult, import_observations
from missionboard.metrics.models import (
    Area,
    Frequency,
    Metric,
    MetricKind,
    Observation,
    ObservationRevision,
    Polarity,
)

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "missionboard_bench"
METRICS = 20
AREAS = 300
FIRST_YEAR = 2000


@dataclass(frozen=True)
class Files:
    csv: Path
    parquet: Path
    changed_csv: Path
    changed_rows: int


def machine() -> str:
    return describe(f"SQLite {sqlite3.sqlite_version}")


def generate(rows: int, directory: Path) -> Files:
    """Realistic monthly data: a rate per 100 with numerator, denominator and interval."""
    rng = np.random.default_rng(20240701)
    months = -(-rows // (METRICS * AREAS))
    index = np.arange(rows)
    metric = index // (AREAS * months)
    area = (index // months) % AREAS
    month = index % months
    years, month_of_year = FIRST_YEAR + month // 12, month % 12 + 1
    period = np.char.add(np.char.add(years.astype(str), "-"),
                         np.char.zfill(month_of_year.astype(str), 2))
    denominator = rng.integers(5_000, 400_000, rows).astype(np.float64)
    numerator = np.floor(denominator * rng.uniform(0.01, 0.25, rows))
    value = numerator / denominator * 100  # full-precision doubles, as a pipeline sends them
    half_width = np.round(196 * np.sqrt(value / 100 * (1 - value / 100) / denominator), 3)
    status = np.where(month >= months - 3, "provisional", "final")
    table = pa.table({
        "metric": pa.array(np.char.add("metric-", metric.astype(str))),
        "area_code": pa.array(np.char.add("E0", (6_000_001 + area).astype(str))),
        "period": pa.array(period),
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "lower": value - half_width,
        "upper": value + half_width,
        "status": pa.array(status),
    })
    files = Files(csv=directory / "observations.csv",
                  parquet=directory / "observations.parquet",
                  changed_csv=directory / "observations_changed.csv",
                  changed_rows=rows // 10)
    pa_csv.write_csv(table, files.csv)
    pq.write_table(table, files.parquet)
    changed = np.zeros(rows, dtype=bool)
    changed[rng.choice(rows, files.changed_rows, replace=False)] = True
    new_value = np.where(changed, value * 1.01, value)
    changed_table = table.set_column(3, "value", pa.array(new_value)).set_column(
        6, "lower", pa.array(np.minimum(value - half_width, new_value))).set_column(
        7, "upper", pa.array(np.maximum(value + half_width, new_value)))
    pa_csv.write_csv(changed_table, files.changed_csv)
    return files


def fresh_postgres() -> str:
    admin_url = make_url(os.environ.get("MISSIONBOARD_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.dispose()
    return admin_url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def seed(url: str) -> None:
    engine = create_db_engine(url)
    with unit_of_work(create_session_factory(engine)) as session:
        session.add_all(
            Metric(slug=f"metric-{m}", title=f"Metric {m}", definition="A benchmark rate",
                   kind=MetricKind.RATE, rate_per=100, unit="per 100",
                   polarity=Polarity.LOWER_IS_BETTER, frequency=Frequency.MONTHLY)
            for m in range(METRICS))
        session.add_all(
            Area(code=f"E0{6_000_001 + a}", name=f"Area {a}", level="local_authority")
            for a in range(AREAS))
    engine.dispose()


@contextmanager
def timer() -> Iterator[list[float]]:
    out: list[float] = []
    start = time.perf_counter()
    yield out
    out.append(time.perf_counter() - start)


def run_one(url: str, label: str, path: Path) -> ImportResult:
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    staged_at: list[float] = []
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done in (total, min(total, 100_000)):
            staged_at.append(time.perf_counter() - start)

    with timer() as elapsed, unit_of_work(factory) as session:
        result = import_observations(session, path=path, progress=progress)
    with factory() as session:
        count = session.scalar(select(func.count()).select_from(Observation))
        revisions = session.scalar(select(func.count()).select_from(ObservationRevision))
    engine.dispose()
    seconds = elapsed[0]
    print(f"  {label:<34} {seconds:7.2f} s {result.rows / seconds:>11,.0f} rows/s   "
          f"inserted {result.inserted:,}, revised {result.revised:,}, "
          f"unchanged {result.unchanged:,}; table {count:,} rows, {revisions:,} revisions; "
          f"read+checked+first chunk staged at {staged_at[0]:.1f} s, "
          f"all staged at {staged_at[-1]:.1f} s")
    return result


def bench(backend: str, files: Files, workdir: Path) -> None:
    if backend == "sqlite":
        database = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{database}"
    else:
        url = fresh_postgres()
    migrate.upgrade(url=url)
    seed(url)
    engine = create_db_engine(url)
    with engine.connect() as conn:
        version = conn.exec_driver_sql(
            "select sqlite_version()" if backend == "sqlite" else "show server_version"
        ).scalar()
    engine.dispose()
    print(f"{backend} {version}")
    first = run_one(url, "first import (CSV)", files.csv)
    assert first.inserted == first.rows
    again = run_one(url, "re-import, same CSV", files.csv)
    assert again.unchanged == again.rows
    parquet = run_one(url, "re-import, same rows as Parquet", files.parquet)
    assert parquet.unchanged == parquet.rows
    changed = run_one(url, "10% of values changed (CSV)", files.changed_csv)
    assert changed.revised == files.changed_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the files and the SQLite database")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        files = generate(args.rows, workdir)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f} s: "
              f"CSV {files.csv.stat().st_size / 1e6:.0f} MB, "
              f"Parquet {files.parquet.stat().st_size / 1e6:.0f} MB")
        for backend in backends:
            bench(backend, files, workdir)


if __name__ == "__main__":
    main()
