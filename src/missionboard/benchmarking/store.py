"""Unit-level observations: one Parquet file per metric, written all or nothing, read with
DuckDB.

A file has one row per unit and period: ``unit`` (the unit's code), ``period`` (its label, as
the importer accepts: 2024, 2024-Q3, 2024-07, 2024-25 …), ``period_end`` (a date),
``numerator`` and ``denominator`` (for a ratio: observed and expected), sorted by unit then
period. Loading checks every row first and names the row and column at fault; the file in
place is replaced only when everything is valid, so a failed load changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt

from missionboard.analytics.periods import PeriodError, parse_period
from missionboard.errors import FieldError, ValidationFailed

REQUIRED = ("unit", "period", "numerator", "denominator")
#: At most this many errors are reported from one file.
MAX_ERRORS = 50


def dataset_path(data_dir: Path, metric_slug: str) -> Path:
    return data_dir / "units" / f"{metric_slug}.parquet"


def _stage(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = con.read_csv(str(path), header=True, all_varchar=True)
    elif suffix == ".parquet":
        raw = con.read_parquet(str(path))
    else:
        raise ValidationFailed([FieldError(
            "file", f"{path.name} is not a CSV or Parquet file: its name must end in .csv or "
                    ".parquet")])
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ValidationFailed([FieldError(c, f"The file has no ‘{c}’ column") for c in missing])
    con.register("raw", raw)
    con.execute("""
        CREATE TEMP TABLE staged AS
        SELECT row_number() OVER () + ? AS row, trim(CAST(unit AS VARCHAR)) AS unit,
               trim(CAST(period AS VARCHAR)) AS period,
               TRY_CAST(numerator AS DOUBLE) AS numerator,
               TRY_CAST(denominator AS DOUBLE) AS denominator
        FROM raw""", [1 if suffix == ".csv" else 0])


_CHECKS = (
    ("unit", "SELECT row FROM staged WHERE unit IS NULL OR unit = '' ORDER BY row LIMIT ?",
     "Give the unit's code"),
    ("unit", "SELECT row FROM staged WHERE unit <> '' AND unit NOT IN (SELECT code FROM known) "
             "ORDER BY row LIMIT ?", "No unit has this code: load the units first"),
    ("numerator", "SELECT row FROM staged WHERE numerator IS NULL OR NOT isfinite(numerator) "
                  "OR numerator < 0 ORDER BY row LIMIT ?",
     "The numerator must be a number of 0 or more"),
    ("denominator", "SELECT row FROM staged WHERE denominator IS NULL "
                    "OR NOT isfinite(denominator) OR denominator <= 0 ORDER BY row LIMIT ?",
     "The denominator must be a number above 0"),
    ("period", "SELECT max(row) FROM staged GROUP BY unit, period HAVING count(*) > 1 "
               "ORDER BY 1 LIMIT ?", "This unit already has a row for this period"),
)
_PROPORTION_CHECK = (
    "numerator", "SELECT row FROM staged WHERE numerator > denominator AND denominator > 0 "
                 "ORDER BY row LIMIT ?",
    "A proportion's numerator cannot exceed its denominator")


def _row_errors(con: duckdb.DuckDBPyConnection, known_units: Collection[str],
                proportion: bool) -> list[FieldError]:
    con.register("known", _codes_table(known_units))
    errors: list[FieldError] = []
    for column, query, message in (*_CHECKS, *([_PROPORTION_CHECK] if proportion else [])):
        rows = con.execute(query, [MAX_ERRORS]).fetchall()
        errors += [FieldError(column, message, row=int(r[0])) for r in rows]
    return errors


def _codes_table(codes: Collection[str]) -> object:
    import pyarrow as pa

    return pa.table({"code": pa.array(sorted(codes), type=pa.string())})


def _period_ends(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str], list[FieldError]]:
    ends: dict[str, str] = {}
    errors: list[FieldError] = []
    for label, row in con.execute(
            "SELECT period, min(row) FROM staged GROUP BY period ORDER BY 2").fetchall():
        try:
            period = parse_period(label or "")
        except PeriodError as exc:
            errors.append(FieldError("period", str(exc), row=int(row)))
            continue
        ends[label] = period.end.isoformat()
    return ends, errors


@dataclass(frozen=True)
class LoadResult:
    rows: int
    units: int
    periods: int
    path: Path


def load_unit_observations(
    *, source: Path, target: Path, known_units: Collection[str], proportion: bool
) -> LoadResult:
    """Check every row of ``source`` (CSV or Parquet), then replace ``target`` with it."""
    with duckdb.connect(":memory:") as con:
        _stage(con, source)
        errors = _row_errors(con, known_units, proportion)
        ends, period_errors = _period_ends(con)
        errors = sorted(errors + period_errors, key=lambda e: (e.row or 0, e.field))
        if errors:
            raise ValidationFailed(errors[:MAX_ERRORS])
        con.register("ends", _ends_table(ends))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".parquet", dir=target.parent)
        os.close(fd)
        temp = Path(name)
        try:
            con.sql("""
                SELECT s.unit, s.period, CAST(e.period_end AS DATE) AS period_end,
                       s.numerator, s.denominator
                FROM staged s JOIN ends e ON e.period = s.period
                ORDER BY s.unit, period_end""").write_parquet(str(temp), compression="zstd")
            counts = con.execute("SELECT count(*), count(DISTINCT unit), count(DISTINCT period) "
                                 "FROM staged").fetchone()
            temp.replace(target)
        finally:
            temp.unlink(missing_ok=True)
    assert counts is not None
    return LoadResult(rows=int(counts[0]), units=int(counts[1]), periods=int(counts[2]),
                      path=target)


def _ends_table(ends: dict[str, str]) -> object:
    import pyarrow as pa

    return pa.table({"period": pa.array(list(ends), type=pa.string()),
                     "period_end": pa.array(list(ends.values()), type=pa.string())})


# Reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cross:
    """Every unit's value for one period: the input to a funnel plot."""

    period: str
    period_end: str
    units: tuple[str, ...]
    numerator: npt.NDArray[np.float64]
    denominator: npt.NDArray[np.float64]


def periods(path: Path) -> list[tuple[str, str]]:
    """The file's periods as (label, end date), oldest first."""
    with duckdb.connect(":memory:") as con:
        rows = con.execute("SELECT period, CAST(period_end AS VARCHAR) FROM read_parquet(?) "
                           "GROUP BY ALL ORDER BY 2", [str(path)]).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def cross_section(path: Path, *, period: str | None = None,
                  units: Sequence[str] | None = None) -> Cross:
    """Every unit's numerator and denominator for ``period`` (default: the latest), optionally
    only for ``units`` (a peer group)."""
    with duckdb.connect(":memory:") as con:
        con.register("obs", con.read_parquet(str(path)))
        if period is None:
            rows = con.execute("SELECT period, CAST(period_end AS VARCHAR) FROM obs "
                               "ORDER BY period_end DESC LIMIT 1").fetchall()
        else:
            rows = con.execute("SELECT period, CAST(period_end AS VARCHAR) FROM obs "
                               "WHERE period = ? LIMIT 1", [period]).fetchall()
        found = rows[0] if rows else None
        if found is None:
            raise ValidationFailed([FieldError("period", f"No data for the period {period}")])
        query = "SELECT unit, numerator, denominator FROM obs WHERE period = ?"
        params: list[object] = [found[0]]
        if units is not None:
            con.register("peers", _codes_table(units))
            query += " AND unit IN (SELECT code FROM peers)"
        data = con.execute(query + " ORDER BY unit", params).fetchnumpy()
    return Cross(period=str(found[0]), period_end=str(found[1]),
                 units=tuple(str(u) for u in data["unit"]),
                 numerator=np.asarray(data["numerator"], dtype=np.float64),
                 denominator=np.asarray(data["denominator"], dtype=np.float64))


def unit_series(path: Path, unit: str) -> list[tuple[str, str, float, float]]:
    """One unit's (period, period end, numerator, denominator), oldest first."""
    with duckdb.connect(":memory:") as con:
        rows = con.execute(
            "SELECT period, CAST(period_end AS VARCHAR), numerator, denominator "
            "FROM read_parquet(?) WHERE unit = ? ORDER BY period_end", [str(path), unit]
        ).fetchall()
    return [(str(p), str(e), float(n), float(d)) for p, e, n, d in rows]


@dataclass(frozen=True)
class Panel:
    """Every unit's numerator and denominator in every period: periods × units, NaN where a
    unit has no value; periods oldest first, units in code order."""

    periods: tuple[str, ...]
    period_ends: tuple[str, ...]
    units: tuple[str, ...]
    numerator: npt.NDArray[np.float64]
    denominator: npt.NDArray[np.float64]


def panel(path: Path, *, units: Sequence[str] | None = None) -> Panel:
    """The whole file (or only ``units``, a peer group) as a :class:`Panel`."""
    with duckdb.connect(":memory:") as con:
        relation = con.read_parquet(str(path))
        if units is not None:
            con.register("peers", _codes_table(units))
            relation = relation.join(con.table("peers"), "unit = code")
        data = relation.select("unit, period, CAST(period_end AS VARCHAR) AS period_end, "
                               "numerator, denominator").fetchnumpy()
    ends = {str(p): str(e) for p, e in zip(data["period"], data["period_end"], strict=True)}
    periods = tuple(sorted(ends, key=lambda p: ends[p]))
    codes = tuple(sorted({str(u) for u in data["unit"]}))
    row = {p: i for i, p in enumerate(periods)}
    column = {u: i for i, u in enumerate(codes)}
    numerator = np.full((len(periods), len(codes)), np.nan)
    denominator = np.full((len(periods), len(codes)), np.nan)
    rows = np.array([row[str(p)] for p in data["period"]], dtype=np.int64)
    columns = np.array([column[str(u)] for u in data["unit"]], dtype=np.int64)
    numerator[rows, columns] = data["numerator"]
    denominator[rows, columns] = data["denominator"]
    return Panel(periods=periods, period_ends=tuple(ends[p] for p in periods), units=codes,
                 numerator=numerator, denominator=denominator)
