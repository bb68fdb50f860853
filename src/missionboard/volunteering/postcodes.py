"""Postcode centroids: the import of the ONS Postcode Directory (or OS Code-Point Open, or any
CSV in their style), and the lookup of a postcode's place, falling back from the unit
postcode to its outward code.

Nothing is downloaded: the directory is a file the deployment loads with
``missionboard postcodes import``. The import is all or nothing; every error names its row
and column, and rows the directories publish without a location (the ONSPD's latitude
99.999999, Code-Point Open's zero grid reference) are skipped and counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from missionboard.errors import FieldError, ValidationFailed
from missionboard.panels.service import log_change
from missionboard.volunteering.geo import Postcode, grid_to_wgs84, parse_postcode
from missionboard.volunteering.models import PostcodeCentroid

#: The ONSPD's latitude for a postcode with no grid reference.
NO_LOCATION_LATITUDE = 99.999999
#: Generous bounds of the UK, the Isle of Man and the Channel Islands (WGS84, degrees).
LATITUDE_RANGE = (49.0, 61.0)
LONGITUDE_RANGE = (-8.7, 2.0)
#: The National Grid's extent (metres).
EASTING_RANGE = (0.0, 700_000.0)
NORTHING_RANGE = (0.0, 1_300_000.0)
BATCH = 5_000
#: Errors reported before the import stops reading.
MAX_ERRORS = 50


@dataclass(frozen=True)
class Columns:
    """Where the values are: header names, or 1-based column numbers for a file without a
    header (as Code-Point Open's). Give latitude and longitude, or easting and northing."""

    postcode: str = "pcds"
    latitude: str | None = "lat"
    longitude: str | None = "long"
    easting: str | None = None
    northing: str | None = None
    #: An optional area code (an ONS GSS code: ``rgn`` for regions, ``oslaua`` for local
    #: authorities), used for public counts by area.
    area: str | None = None

    @property
    def grid(self) -> bool:
        return self.easting is not None or self.northing is not None


@dataclass(frozen=True)
class ImportResult:
    rows: int
    units: int
    outward_codes: int
    skipped: int


def _positions(columns: Columns, header: Sequence[str] | None) -> dict[str, int]:
    wanted: dict[str, str | None] = {"postcode": columns.postcode, "area": columns.area}
    if columns.grid:
        wanted |= {"easting": columns.easting, "northing": columns.northing}
        if columns.easting is None or columns.northing is None:
            raise ValidationFailed([FieldError("easting", "Give both the easting and the "
                                                          "northing columns")])
    else:
        wanted |= {"latitude": columns.latitude, "longitude": columns.longitude}
        if columns.latitude is None or columns.longitude is None:
            raise ValidationFailed([FieldError("latitude", "Give both the latitude and the "
                                                           "longitude columns")])
    out: dict[str, int] = {}
    errors = []
    names = [h.strip() for h in header] if header is not None else None
    for key, column in wanted.items():
        if column is None:
            continue
        if names is None:
            if not column.isdigit() or int(column) < 1:
                errors.append(FieldError(column, f"The file has no header: give the {key} "
                                                 "column as a number (1 for the first)"))
                continue
            out[key] = int(column) - 1
        elif column in names:
            out[key] = names.index(column)
        else:
            errors.append(FieldError(column, f"The file has no column {column!r} (for the "
                                             f"{key})", row=1))
    if errors:
        raise ValidationFailed(errors)
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def import_postcodes(session: Session, *, rows: Iterable[Sequence[str]],
                     header: Sequence[str] | None, columns: Columns,
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Add or replace postcode centroids from CSV rows, all or nothing.

    ``header`` is the file's header (None when it has none; then ``columns`` are numbers).
    Rows are numbered as in the file. Unit postcodes and outward codes may be mixed. Any
    error raises :class:`ValidationFailed` with every error found (up to ``MAX_ERRORS``);
    rows already written in this transaction are then rolled back by the caller.
    ``progress`` is called with the number of rows read since its last call."""
    reader = _Reader(_positions(columns, header), columns)
    batch: list[dict[str, Any]] = []
    pending = 0
    for number, row in enumerate(rows, start=2 if header is not None else 1):
        pending += 1
        if progress is not None and pending >= BATCH:
            progress(pending)
            pending = 0
        item = reader.read(row, number)
        if len(reader.errors) >= MAX_ERRORS:
            break
        if item is not None and not reader.errors:
            batch.append(item)
            if len(batch) >= BATCH:
                _upsert(session, batch)
                batch = []
    if progress is not None and pending:
        progress(pending)
    if reader.errors:
        raise ValidationFailed(reader.errors[:MAX_ERRORS])
    if batch:
        _upsert(session, batch)
    if reader.units + reader.outward == 0:
        raise ValidationFailed([FieldError("file", "The file has no postcodes with a place")])
    log_change(session, action="import", table=PostcodeCentroid.__tablename__, row_id="",
               changes={"units": reader.units, "outward_codes": reader.outward,
                        "skipped": reader.skipped},
               summary=f"Imported {reader.units + reader.outward} postcode centroids")
    session.flush()
    return ImportResult(rows=reader.units + reader.outward, units=reader.units,
                        outward_codes=reader.outward, skipped=reader.skipped)


class _Reader:
    """Reads rows into centroids, collecting the errors and the counts."""

    def __init__(self, at: dict[str, int], columns: Columns) -> None:
        self.at, self.columns = at, columns
        self.width = max(at.values()) + 1
        self.errors: list[FieldError] = []
        self.seen: set[str] = set()
        self.units = self.outward = self.skipped = 0

    def error(self, column: str | None, message: str, row: int) -> None:
        self.errors.append(FieldError(column or "row", message, row=row))

    def read(self, row: Sequence[str], number: int) -> dict[str, Any] | None:
        """The row as a centroid to write; None for a blank row, a row without a place
        (counted as skipped) or one with errors."""
        if not any(cell.strip() for cell in row):
            return None
        named = self._named(row, number)
        if named is None:
            return None
        found, area = named
        place = self._grid(row, number) if self.columns.grid else self._degrees(row, number)
        if place is None:
            return None
        if found.text in self.seen:
            self.error(self.columns.postcode, f"{found.text} appears twice", number)
            return None
        if place is _NO_PLACE:
            self.skipped += 1
            return None
        self.seen.add(found.text)
        if found.is_unit:
            self.units += 1
        else:
            self.outward += 1
        return {"postcode": found.text, "outward": found.outward, "is_unit": found.is_unit,
                "area_code": area, "latitude": place[0], "longitude": place[1]}

    def _named(self, row: Sequence[str], number: int) -> tuple[Postcode, str] | None:
        """The row's postcode and area code, or None after an error."""
        if len(row) < self.width:
            self.error("row", f"The row has {len(row)} columns; {self.width} are needed",
                       number)
            return None
        text = row[self.at["postcode"]].strip()
        found = parse_postcode(text)
        if found is None:
            self.error(self.columns.postcode, f"{text!r} is not a UK postcode or outward code",
                       number)
            return None
        area = row[self.at["area"]].strip() if "area" in self.at else ""
        if len(area) > 20:
            self.error(self.columns.area, "An area code is at most 20 characters", number)
            return None
        return found, area

    def _numbers(self, row: Sequence[str], number: int,
                 keys: tuple[tuple[str, tuple[float, float], str], ...]
                 ) -> list[float] | None:
        values = []
        for key, bounds, outside in keys:
            name, text = getattr(self.columns, key), row[self.at[key]].strip()
            value = _number(text)
            if value is None:
                self.error(name, f"{text!r} is not a number", number)
            elif not bounds[0] <= value <= bounds[1]:
                self.error(name, f"{value:g} is outside {outside} ({bounds[0]:g} to "
                                 f"{bounds[1]:g})", number)
            else:
                values.append(value)
        return values if len(values) == len(keys) else None

    def _grid(self, row: Sequence[str], number: int) -> tuple[float, float] | None:
        values = self._numbers(row, number, (("easting", EASTING_RANGE, "the National Grid"),
                                             ("northing", NORTHING_RANGE,
                                              "the National Grid")))
        if values is None:
            return None
        if values == [0.0, 0.0]:  # Code-Point Open: no grid reference
            return _NO_PLACE
        return grid_to_wgs84(values[0], values[1])

    def _degrees(self, row: Sequence[str], number: int) -> tuple[float, float] | None:
        lat = _number(row[self.at["latitude"]].strip())
        if lat is not None and abs(lat - NO_LOCATION_LATITUDE) < 1e-9:  # ONSPD: no place
            return _NO_PLACE
        values = self._numbers(row, number, (("latitude", LATITUDE_RANGE, "the UK"),
                                             ("longitude", LONGITUDE_RANGE, "the UK")))
        return None if values is None else (values[0], values[1])


#: A row the directory publishes without a place.
_NO_PLACE = (math.nan, math.nan)


def _upsert(session: Session, batch: list[dict[str, Any]]) -> None:
    """Insert the centroids, replacing those already known (a new edition of the directory
    moves some)."""
    rows = batch
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PostcodeCentroid).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[PostcodeCentroid.postcode],
        set_={c: getattr(statement.excluded, c)
              for c in ("outward", "is_unit", "latitude", "longitude", "area_code")})
    session.execute(statement)


def count_centroids(session: Session) -> dict[str, int]:
    rows = session.execute(select(PostcodeCentroid.is_unit, func.count()).group_by(
        PostcodeCentroid.is_unit)).all()
    counts = {bool(unit): int(n) for unit, n in rows}
    return {"units": counts.get(True, 0), "outward_codes": counts.get(False, 0)}


# Lookup ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """Where a postcode is. ``postcode`` is what was matched: the unit postcode, or its
    outward code when only that is known (``precise`` is then false)."""

    postcode: str
    latitude: float
    longitude: float
    area_code: str
    precise: bool


def locate(session: Session, text: str, *, field: str = "postcode") -> Location:
    """The place of a unit postcode or outward code: the unit postcode's centroid; else its
    outward code's row; else the mean of the outward code's unit postcodes. An unknown or
    malformed postcode is a :class:`ValidationFailed` on ``field``."""
    found = parse_postcode(text)
    if found is None:
        raise ValidationFailed([FieldError(field, "Enter a real UK postcode, like SW1A 1AA, "
                                                  "or the first half of one, like SW1A")])
    if found.is_unit:
        unit = session.get(PostcodeCentroid, found.text)
        if unit is not None:
            return Location(unit.postcode, unit.latitude, unit.longitude, unit.area_code, True)
    outward = session.get(PostcodeCentroid, found.outward)
    if outward is not None:
        return Location(outward.postcode, outward.latitude, outward.longitude,
                        outward.area_code, not found.is_unit)
    n, lat, lon = session.execute(select(
        func.count(), func.avg(PostcodeCentroid.latitude), func.avg(PostcodeCentroid.longitude))
        .where(PostcodeCentroid.outward == found.outward)).one()
    if not n:
        raise ValidationFailed([FieldError(field, f"We do not know where {found.text} is: "
                                                  "check the postcode")])
    area = session.scalar(
        select(PostcodeCentroid.area_code).where(PostcodeCentroid.outward == found.outward)
        .group_by(PostcodeCentroid.area_code)
        .order_by(func.count().desc(), PostcodeCentroid.area_code).limit(1)) or ""
    return Location(found.outward, float(lat), float(lon), area, not found.is_unit)
