"""Bulk import of observations from CSV, Parquet or API records: all or nothing.

Every row is checked before anything is written; any problem raises
:class:`~missionboard.errors.ValidationFailed` listing every error with its row and column,
and nothing is written. A clean input is then written set-based, in the caller's transaction:

* a key (metric, area, period) not yet in ``observations`` is inserted;
* a key whose value, numerator, denominator, lower, upper and (where the input gives one)
  status are all exactly equal is left alone ("unchanged");
* any other existing key is revised: its old values are kept in ``observation_revisions`` and
  the observation takes the new ones.

So importing the same file twice changes nothing the second time. Each import records an
``import_batches`` row and one summary ``audit_log`` entry (the ORM audit hook does not see
Core writes). The function flushes, never commits.

Speed comes from never making a Python object per row: DuckDB reads the file, the checks are
numpy operations over arrays (metric slugs, area codes and periods map through dicts of their
few distinct values), and the rows reach the database through a temporary staging table
(PostgreSQL ``COPY``; SQLite ``executemany`` on the session's own connection) that a handful
of ``INSERT ... SELECT`` / ``UPDATE ... FROM`` statements join to ``observations``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.analytics.periods import PeriodError, parse_period
from missionboard.db.base import UTCDateTime, utcnow
from missionboard.errors import FieldError, ValidationFailed
from missionboard.metrics.models import (
    Area,
    ImportBatch,
    Metric,
    Observation,
    ObservationRevision,
    ObservationStatus,
)

REQUIRED_COLUMNS = ("metric", "area_code", "period", "value")
OPTIONAL_COLUMNS = ("numerator", "denominator", "lower", "upper", "status")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
NUMERIC_COLUMNS = ("value", "numerator", "denominator", "lower", "upper")
SOURCES = frozenset({"cli", "upload", "api"})
STAGE_CHUNK_ROWS = 100_000
"""Rows per chunk sent to the staging table; ``progress`` is called after each chunk."""

_STATUSES = frozenset(s.value for s in ObservationStatus)
_COLUMN_ORDER = {name: i for i, name in enumerate(COLUMNS)}
_LOOKUP_CHUNK = 1000
_SHOW_MAX = 60
_CSV_LINE_ERROR = re.compile(r"CSV Error on Line: (\d+)")
_CSV_COUNT_ERROR = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")

_STAGING = Table(
    "import_staging",
    MetaData(),
    Column("metric_id", Integer),
    Column("area_id", Integer),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("period_label", String),
    *(Column(name, Float) for name in NUMERIC_COLUMNS),
    Column("status", String),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_STAGED_COLUMNS = tuple(c.name for c in _STAGING.columns)
# SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg forgets it once closed).
_ROWCOUNT = {"preserve_rowcount": True}


@dataclass(frozen=True)
class ImportResult:
    """What one import did: ``rows == inserted + revised + unchanged``."""

    batch_id: int
    rows: int
    inserted: int
    revised: int
    unchanged: int


def import_observations(
    session: Session,
    *,
    path: Path,
    source: str = "cli",
    user_id: int | None = None,
    filename: str | None = None,
    allowed_metric_ids: set[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import a ``.csv`` or ``.parquet`` file of observations, all or nothing.

    Columns: ``metric`` (slug), ``area_code``, ``period`` (see
    :func:`~missionboard.analytics.periods.parse_period`), ``value``; optionally
    ``numerator``, ``denominator``, ``lower``, ``upper`` and ``status``. CSV rows are numbered
    as a spreadsheet shows them (the header is row 1); Parquet rows from 1. ``filename`` is
    the name to record and show (an upload's original name); it defaults to ``path.name``.
    ``allowed_metric_ids``, when given, limits the metrics the file may contain.
    ``progress(done, total)`` is called as rows are staged for writing.

    A row states the whole observation: an optional number column that is absent or blank
    means "none" and is stored (and compared) as NULL. A status that is absent or blank is
    not compared: new rows get "final", revised rows "revised".
    """
    _check_source(source)
    name = filename or path.name
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise ValidationFailed([FieldError(
            "file", f"{_show(name)} is not a CSV or Parquet file: its name must end in .csv "
                    "or .parquet")])
    if not path.is_file():
        raise ValidationFailed([FieldError("file", f"{_show(name)} does not exist")])
    with duckdb.connect(":memory:") as con:
        if suffix == ".csv":
            table = _read_csv(con, path=path, name=name)
            row_of = _csv_row_numbers(path)
        else:
            table = _read_parquet(con, path=path, name=name)
            row_of = _counting_from(1)
    staged = _validate(session, table=table, row_of=row_of,
                       allowed_metric_ids=allowed_metric_ids, empty_message="The file has no rows")
    return _write(session, staged=staged, source=source, user_id=user_id, filename=name,
                  sha256=_file_sha256(path), progress=progress)


def import_records(
    session: Session,
    *,
    records: Sequence[Mapping[str, object]],
    source: str = "api",
    user_id: int | None = None,
    allowed_metric_ids: set[int] | None = None,
) -> ImportResult:
    """Import observations given as mappings with the file columns as keys (rows from 1).

    The same rules as :func:`import_observations`; the batch's SHA-256 is that of the
    records' canonical JSON (sorted keys, no spaces).
    """
    _check_source(source)
    if not records:
        raise ValidationFailed([FieldError("records", "There are no records")])
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    _check_columns(list(names))
    columns = {
        name: pa.array([_record_text(record.get(name)) for record in records], pa.string())
        for name in names
    }
    with duckdb.connect(":memory:") as con:
        table = _normalise(con.from_arrow(pa.table(columns)), originals=list(names),
                           names=list(names))
    staged = _validate(session, table=table, row_of=_counting_from(1),
                       allowed_metric_ids=allowed_metric_ids,
                       empty_message="There are no records")
    canonical = json.dumps([dict(r) for r in records], sort_keys=True, separators=(",", ":"),
                           default=str)
    return _write(session, staged=staged, source=source, user_id=user_id, filename="records",
                  sha256=hashlib.sha256(canonical.encode()).hexdigest(), progress=None)


# -- reading -------------------------------------------------------------------------------


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValidationFailed([FieldError(
            "source", f"source {_show(source)} is not one of {', '.join(sorted(SOURCES))}")])


def _show(value: object) -> str:
    text = str(value)
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return f'"{text}"'


def _record_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as exactly this float
    return str(value)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_columns(names: list[str]) -> None:
    """Raise for unknown, unnamed, repeated or missing columns."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            errors.append(FieldError("file", f"Column {position} has no name"))
        elif name not in _COLUMN_ORDER:
            errors.append(FieldError(name, (
                f"Unknown column {_show(name)}: the columns are metric, area_code, period, "
                "value and, optionally, numerator, denominator, lower, upper, status")))
        elif name in seen:
            errors.append(FieldError(name, f"The column {_show(name)} appears more than once"))
        seen.add(name)
    errors.extend(
        FieldError(name, f"The required column {_show(name)} is missing")
        for name in REQUIRED_COLUMNS if name not in seen
    )
    if errors:
        raise ValidationFailed(errors)


def _read_error(exc: duckdb.Error, name: str, kind: str) -> ValidationFailed:
    text = str(exc)
    line = _CSV_LINE_ERROR.search(text)
    counts = _CSV_COUNT_ERROR.search(text)
    if line and counts:
        expected, found = counts.groups()
        return ValidationFailed([FieldError("file", (
            f"Row {line.group(1)} has {found} values but the header has {expected} columns"),
            row=int(line.group(1)))])
    first = text.splitlines()[0] if text else type(exc).__name__
    return ValidationFailed([FieldError("file", f"{_show(name)} is not a readable {kind} "
                                                f"file: {first}")])


def _read_csv(con: duckdb.DuckDBPyConnection, *, path: Path, name: str) -> pa.Table:
    # The header is read here, not sniffed: DuckDB's sniffer may skip rows it dislikes.
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed(
            [FieldError("file", f"{_show(name)} is not a UTF-8 CSV file: {exc}")]) from None
    if header is None:
        raise ValidationFailed([FieldError("file", f"{_show(name)} is empty")])
    names = [h.strip().lower() for h in header]
    _check_columns(names)
    try:
        rel = con.read_csv(
            str(path), header=True, auto_detect=False, columns=dict.fromkeys(names, "VARCHAR"),
            delimiter=",", quotechar='"', escapechar='"', encoding="utf-8",
        )
        return _normalise(rel, originals=names, names=names)
    except duckdb.Error as exc:
        raise _read_error(exc, name, "CSV") from None


def _read_parquet(con: duckdb.DuckDBPyConnection, *, path: Path, name: str) -> pa.Table:
    try:
        rel = con.read_parquet(str(path))
        originals = list(rel.columns)
        names = [c.strip().lower() for c in originals]
        _check_columns(names)
        return _normalise(rel, originals=originals, names=names)
    except duckdb.Error as exc:
        raise _read_error(exc, name, "Parquet") from None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normalise(
    rel: duckdb.DuckDBPyRelation, *, originals: list[str], names: list[str]
) -> pa.Table:
    """Text columns as text; each number column parsed (``TRY_CAST``) beside its text."""
    exprs: list[str] = []
    for original, column in zip(originals, names, strict=True):
        src = _ident(original)
        if column in NUMERIC_COLUMNS:
            exprs.append(f"TRY_CAST({src} AS DOUBLE) AS {column}")
        exprs.append(f"CAST({src} AS VARCHAR) AS {_text_column(column)}")
    return rel.project(", ".join(exprs)).to_arrow_table()


def _text_column(column: str) -> str:
    return f"{column}__text" if column in NUMERIC_COLUMNS else column


# -- validation ----------------------------------------------------------------------------


def _counting_from(first: int) -> Callable[[int], int]:
    """Row numbers for data rows numbered consecutively from ``first``."""
    return lambda index: index + first


def _csv_row_numbers(path: Path) -> Callable[[int], int]:
    """Row numbers as a spreadsheet shows them (the header is row 1), blank lines included.

    DuckDB skips empty lines, so data row *i* is not always row *i* + 2. The file is read
    again only when an error is reported.
    """
    numbers: list[int] = []

    def row_of(index: int) -> int:
        if not numbers:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                records = [n for n, rec in enumerate(csv.reader(handle), start=1) if rec]
            numbers.extend(records[1:] or [0])  # the first non-empty record is the header
        return numbers[index] if index < len(numbers) else index + 2

    return row_of


class _Errors:
    """Errors collected row by row, reported in row then column order."""

    def __init__(self, row_of: Callable[[int], int]) -> None:
        self.row = row_of
        self._items: list[tuple[int, int, str, str]] = []

    def add(self, index: int, column: str, message: str) -> None:
        self._items.append((index, _COLUMN_ORDER.get(column, 0), column, message))

    def add_rows(self, rows: npt.NDArray[np.intp], column: str, messages: Iterable[str]) -> None:
        """Add ``messages`` (one per row, in order) on ``rows``."""
        for index, message in zip(rows.tolist(), messages, strict=True):
            self.add(index, column, message)

    def raise_if_any(self) -> None:
        if self._items:
            self._items.sort()
            raise ValidationFailed([
                FieldError(column, message, row=self.row(index))
                for index, _, column, message in self._items
            ])


@dataclass(frozen=True)
class _Codes:
    """A text column as distinct values and, per row, the index of its value."""

    values: list[str | None]
    index: npt.NDArray[np.intp]

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> _Codes:
        distinct = pc.unique(column)
        index = pc.index_in(column, value_set=distinct, skip_nulls=False)
        return cls(values=[None if v is None else v.strip() for v in distinct.to_pylist()],
                   index=np.asarray(index.to_numpy(), dtype=np.intp))

    def per_row(self, per_value: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return per_value[self.index]

    def check(
        self, errors: _Errors, column: str, messages: list[str | None]
    ) -> None:
        """Report ``messages[i]`` (where not None) on every row holding distinct value i."""
        bad = np.array([m is not None for m in messages], dtype=bool)
        rows = np.flatnonzero(bad[self.index])
        errors.add_rows(rows, column, (str(messages[i]) for i in self.index[rows].tolist()))


def _ids_by(
    session: Session, column: Any, id_column: Any, keys: set[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start:start + _LOOKUP_CHUNK]
        found.update((k, int(i)) for k, i in session.execute(
            select(column, id_column).where(column.in_(chunk))))
    return found


def _metric_ids(
    session: Session, codes: _Codes, errors: _Errors, allowed: set[int] | None
) -> npt.NDArray[np.int64]:
    found = _ids_by(session, Metric.slug, Metric.id, {v for v in codes.values if v})
    ids: list[int] = []
    messages: list[str | None] = []
    for slug in codes.values:
        metric_id = found.get(slug, -1) if slug else -1
        ids.append(metric_id)
        if not slug:
            messages.append("Enter a metric slug")
        elif metric_id < 0:
            messages.append(f"There is no metric with the slug {_show(slug)}")
        elif allowed is not None and metric_id not in allowed:
            messages.append(f"You may not publish data for metric {_show(slug)}")
        else:
            messages.append(None)
    codes.check(errors, "metric", messages)
    return codes.per_row(np.array(ids, dtype=np.int64))


def _area_ids(session: Session, codes: _Codes, errors: _Errors) -> npt.NDArray[np.int64]:
    found = _ids_by(session, Area.code, Area.id, {v for v in codes.values if v})
    ids = [found.get(code, -1) if code else -1 for code in codes.values]
    messages = [
        "Enter an area code" if not code
        else f"There is no area with the code {_show(code)}" if area_id < 0
        else None
        for code, area_id in zip(codes.values, ids, strict=True)
    ]
    codes.check(errors, "area_code", messages)
    return codes.per_row(np.array(ids, dtype=np.int64))


@dataclass(frozen=True)
class _Periods:
    """Per row: the canonical period number (-1 if bad), first and last day, and label."""

    ids: npt.NDArray[np.int64]
    start: npt.NDArray[np.datetime64]
    end: npt.NDArray[np.datetime64]
    label: pa.Array


def _periods(codes: _Codes, errors: _Errors) -> _Periods:
    canonical: dict[tuple[dt.date, dt.date], int] = {}
    ids: list[int] = []
    starts: list[dt.date] = []
    ends: list[dt.date] = []
    labels: list[str | None] = []
    messages: list[str | None] = []
    for text in codes.values:
        try:
            if not text:
                raise PeriodError("Enter a period, like 2024, 2024-Q3 or 2024-07")
            period = parse_period(text)
        except PeriodError as exc:
            messages.append(str(exc))
            ids.append(-1)
            starts.append(dt.date.min)
            ends.append(dt.date.min)
            labels.append(None)
            continue
        messages.append(None)
        ids.append(canonical.setdefault((period.start, period.end), len(canonical)))
        starts.append(period.start)
        ends.append(period.end)
        labels.append(period.label)
    codes.check(errors, "period", messages)
    index = pa.array(codes.index, pa.int64())
    return _Periods(
        ids=codes.per_row(np.array(ids, dtype=np.int64)),
        start=codes.per_row(np.array(starts, dtype="datetime64[D]")),
        end=codes.per_row(np.array(ends, dtype="datetime64[D]")),
        label=pc.take(pa.array(labels, pa.string()), index),
    )


def _statuses(codes: _Codes, errors: _Errors) -> pa.Array:
    values: list[str | None] = []
    messages: list[str | None] = []
    for text in codes.values:
        status = text.lower() if text else None
        values.append(status if status in _STATUSES else None)
        messages.append(
            None if status is None or status in _STATUSES
            else f"status {_show(text)} is not one of provisional, final, revised")
    codes.check(errors, "status", messages)
    return pc.take(pa.array(values, pa.string()), pa.array(codes.index, pa.int64()))


@dataclass(frozen=True)
class _Numbers:
    """The number columns present: parsed floats, valid-number masks and the original text."""

    values: dict[str, npt.NDArray[np.float64]]
    valid: dict[str, npt.NDArray[np.bool_]]
    texts: dict[str, pa.ChunkedArray]

    def shown(self, column: str, rows: npt.NDArray[np.intp]) -> list[str]:
        """The text of ``column`` on each of ``rows``, quoted for a message."""
        return [_show(t) for t in
                pc.take(self.texts[column], pa.array(rows, pa.int64())).to_pylist()]


def _numbers(table: pa.Table, errors: _Errors) -> _Numbers:
    numbers = _Numbers(values={}, valid={}, texts={})
    for column in NUMERIC_COLUMNS:
        if column not in table.column_names:
            continue
        text = table[_text_column(column)]
        number = np.asarray(pc.fill_null(table[column], np.nan).to_numpy(), dtype=np.float64)
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
        blank_np = np.asarray(blank.to_numpy(), dtype=np.bool_)
        finite = np.isfinite(number)
        numbers.values[column] = number
        numbers.valid[column] = finite
        numbers.texts[column] = text
        bad = np.flatnonzero(~blank_np & ~finite)
        shown = numbers.shown(column, bad)
        errors.add_rows(bad, column, [f"{column} {text} is not a number" for text in shown])
        if column == "value":
            blank_rows = np.flatnonzero(blank_np)
            errors.add_rows(blank_rows, column, ["Enter a value"] * blank_rows.size)
    _check_bounds(numbers, errors)
    return numbers


def _check_bounds(numbers: _Numbers, errors: _Errors) -> None:
    values, valid = numbers.values, numbers.valid
    if "denominator" in values:
        rows = np.flatnonzero(valid["denominator"] & (values["denominator"] <= 0))
        den = numbers.shown("denominator", rows)
        errors.add_rows(rows, "denominator",
                        [f"denominator {text} must be greater than 0" for text in den])
    for bound, outside in (("lower", np.greater), ("upper", np.less)):
        if bound not in values:
            continue
        rows = np.flatnonzero(
            valid[bound] & valid["value"] & outside(values[bound], values["value"]))
        limit, value = numbers.shown(bound, rows), numbers.shown("value", rows)
        relation = "greater" if bound == "lower" else "less"
        errors.add_rows(rows, bound, [
            f"{bound} {a} is {relation} than the value {b}"
            for a, b in zip(limit, value, strict=True)])


def _check_duplicates(
    errors: _Errors,
    *,
    metric_ids: npt.NDArray[np.int64],
    area_ids: npt.NDArray[np.int64],
    period_ids: npt.NDArray[np.int64],
    describe: Callable[[int], str],
) -> None:
    rows = np.flatnonzero((metric_ids >= 0) & (area_ids >= 0) & (period_ids >= 0))
    if rows.size < 2:
        return
    key = np.zeros(rows.size, dtype=np.int64)
    for part in (metric_ids[rows], area_ids[rows], period_ids[rows]):
        distinct, dense = np.unique(part, return_inverse=True)
        key = key * len(distinct) + dense.reshape(-1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    firsts = first[inverse.reshape(-1)]
    for j in np.flatnonzero(firsts != np.arange(rows.size)).tolist():
        index, earlier = int(rows[j]), int(rows[firsts[j]])
        errors.add(index, "period", (
            f"This row repeats row {errors.row(earlier)}: both are "
            f"{describe(index)}"))


def _validate(
    session: Session,
    *,
    table: pa.Table,
    row_of: Callable[[int], int],
    allowed_metric_ids: set[int] | None,
    empty_message: str,
) -> pa.Table:
    """Check every row; raise with every error, or return the rows ready for staging."""
    n = table.num_rows
    if n == 0:
        raise ValidationFailed([FieldError("file", empty_message)])
    session.flush()
    errors = _Errors(row_of)
    metric_codes = _Codes.of(table["metric"])
    area_codes = _Codes.of(table["area_code"])
    period_codes = _Codes.of(table["period"])
    metric_ids = _metric_ids(session, metric_codes, errors, allowed_metric_ids)
    area_ids = _area_ids(session, area_codes, errors)
    periods = _periods(period_codes, errors)
    numbers = _numbers(table, errors)
    status = (_statuses(_Codes.of(table["status"]), errors) if "status" in table.column_names
              else pa.nulls(n, pa.string()))

    def describe(i: int) -> str:
        return (f"metric {_show(metric_codes.values[metric_codes.index[i]])}, area "
                f"{_show(area_codes.values[area_codes.index[i]])} and period "
                f"{_show(periods.label[i].as_py())}")

    _check_duplicates(errors, metric_ids=metric_ids, area_ids=area_ids, period_ids=periods.ids,
                      describe=describe)
    errors.raise_if_any()

    def number(column: str) -> pa.Array:
        if column not in numbers.values:
            return pa.nulls(n, pa.float64())
        return pa.array(numbers.values[column], pa.float64(), mask=~numbers.valid[column])

    return pa.table({
        "metric_id": pa.array(metric_ids, pa.int64()),
        "area_id": pa.array(area_ids, pa.int64()),
        "period_start": pa.array(periods.start, pa.date32()),
        "period_end": pa.array(periods.end, pa.date32()),
        "period_label": periods.label,
        **{column: number(column) for column in NUMERIC_COLUMNS},
        "status": status,
    })


# -- writing -------------------------------------------------------------------------------


def _stage_postgresql(
    conn: Connection, staged: pa.Table, progress: Callable[[int, int], None] | None
) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    options = pa_csv.WriteOptions(include_header=False)
    done, total = 0, staged.num_rows
    statement = f"COPY import_staging ({', '.join(_STAGED_COLUMNS)}) FROM STDIN (FORMAT csv)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in staged.to_batches(max_chunksize=STAGE_CHUNK_ROWS):
            # Arrow writes floats as their shortest round-trip text: PostgreSQL reads back
            # exactly the same doubles.
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
            done += batch.num_rows
            if progress is not None:
                progress(done, total)
    conn.exec_driver_sql("ANALYZE import_staging")


def _stage_sqlite(
    conn: Connection, staged: pa.Table, progress: Callable[[int, int], None] | None
) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    statement = str(insert(_STAGING).compile(dialect=conn.dialect))
    done, total = 0, staged.num_rows
    cursor = driver.cursor()
    try:
        for batch in staged.to_batches(max_chunksize=STAGE_CHUNK_ROWS):
            columns = [
                # SQLAlchemy keeps SQLite dates as ISO text; Arrow formats them the same way.
                pc.cast(batch.column(name), pa.string()).to_pylist()
                if name in {"period_start", "period_end"} else batch.column(name).to_pylist()
                for name in _STAGED_COLUMNS
            ]
            cursor.executemany(statement, zip(*columns, strict=True))
            done += batch.num_rows
            if progress is not None:
                progress(done, total)
    finally:
        cursor.close()


def _stage(
    conn: Connection, staged: pa.Table, progress: Callable[[int, int], None] | None
) -> None:
    backend = conn.dialect.name
    if backend not in {"postgresql", "sqlite"}:
        raise NotImplementedError(f"bulk import supports PostgreSQL and SQLite, not {backend}")
    drop = ("DROP TABLE IF EXISTS pg_temp.import_staging" if backend == "postgresql"
            else "DROP TABLE IF EXISTS temp.import_staging")
    conn.exec_driver_sql(drop)
    _STAGING.create(conn)
    if backend == "postgresql":
        _stage_postgresql(conn, staged, progress)
    else:
        _stage_sqlite(conn, staged, progress)


def _apply(conn: Connection, *, batch_id: int, now: dt.datetime) -> tuple[int, int]:
    """Write the staged rows; return (inserted, revised)."""
    obs = cast(Table, Observation.__table__)
    s = _STAGING.c
    o = obs.c
    same_key = and_(o.metric_id == s.metric_id, o.area_id == s.area_id,
                    o.period_start == s.period_start, o.period_end == s.period_end)
    changed = not_(and_(
        o.value == s.value,
        *(o[name].is_not_distinct_from(s[name]) for name in NUMERIC_COLUMNS[1:]),
        or_(s.status.is_(None), o.status == s.status),
    ))
    when = literal(now, UTCDateTime())
    batch = literal(batch_id, Integer())

    # 1. keep the values about to be replaced (published when the observation last changed)
    kept = (o.value, o.numerator, o.denominator, o.lower, o.upper, o.status, o.release_date,
            o.illustrative)
    revised = conn.execute(insert(ObservationRevision).from_select(
        [c.name for c in kept] + ["observation_id", "published_at", "superseded_at",
                                  "superseded_by_batch_id"],
        select(*kept, o.id, o.updated_at, when, batch)
        .select_from(_STAGING.join(obs, same_key)).where(changed),
    ), execution_options=_ROWCOUNT).rowcount
    # 2. replace them (skipped when nothing changed: it would join every staged row again)
    updated = revised and conn.execute(
        update(obs).where(same_key, changed).values(
            {**{name: s[name] for name in NUMERIC_COLUMNS},
             "status": func.coalesce(s.status, ObservationStatus.REVISED.value),
             # Imported values are real data, even where they replace illustrative ones.
             "illustrative": literal(False),
             "updated_at": when, "import_batch_id": batch})
    ).rowcount
    if updated != revised:
        raise RuntimeError(f"import revised {revised} observations but updated {updated}")
    # 3. add the new keys
    new_columns = ("metric_id", "area_id", "period_start", "period_end", "period_label",
                   *NUMERIC_COLUMNS)
    inserted = conn.execute(insert(Observation).from_select(
        [*new_columns, "status", "illustrative", "import_batch_id", "updated_at"],
        select(*(s[name] for name in new_columns),
               func.coalesce(s.status, ObservationStatus.FINAL.value),
               literal(False), batch, when)
        .where(~exists().where(same_key)),
    ), execution_options=_ROWCOUNT).rowcount
    return int(inserted), int(revised)


def _write(
    session: Session,
    *,
    staged: pa.Table,
    source: str,
    user_id: int | None,
    filename: str,
    sha256: str,
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    session.flush()
    conn = session.connection()
    now = utcnow()
    rows = staged.num_rows
    batch_id = conn.execute(insert(ImportBatch).values(
        at=now, user_id=user_id, source=source, filename=filename[:300], sha256=sha256,
        rows=rows, inserted=0, revised=0, unchanged=0,
    ).returning(ImportBatch.id)).scalar_one()
    _stage(conn, staged, progress)
    inserted, revised = _apply(conn, batch_id=batch_id, now=now)
    _STAGING.drop(conn)
    unchanged = rows - inserted - revised
    counts = {"rows": rows, "inserted": inserted, "revised": revised, "unchanged": unchanged}
    conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(counts))
    conn.execute(insert(AuditEntry).values(
        at=now, actor_id=session.info.get("actor_id"), ip=session.info.get("ip"),
        action="import", table_name="observations", row_id=None,
        changes={"batch_id": batch_id, "source": source, "filename": filename, **counts},
        summary=(f"Imported {rows:,} rows from {filename} (batch {batch_id}): "
                 f"{inserted:,} new, {revised:,} revised, {unchanged:,} unchanged"),
    ))
    # Observations the session already holds are stale now: reload them on next access.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Observation | ObservationRevision):
            session.expire(obj)
    return ImportResult(batch_id=batch_id, rows=rows, inserted=inserted, revised=revised,
                        unchanged=unchanged)
