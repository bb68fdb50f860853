"""The published inputs of a panel selection: ``sortition-algorithms``' CSV files, read and
hashed the same way by the application and by ``missionboard panel select``, so that anyone
holding the published files can re-run the draw and get the same panel.

- **people.csv**: one row per volunteer, an id column, one column per feature and any other
  columns (ignored unless named as address columns);
- **features.csv**: ``feature, value, min, max``, one row per value of each feature.

Every problem is reported with the file, the row (the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from missionboard.analytics.sortition import Quota

#: What the application publishes: the people file's id column and its household column.
ID_COLUMN = "id"
HOUSEHOLD_COLUMN = "household"


class InputError(ValueError):
    """A problem in the input files, naming the file, the row and the column."""


def _text(source: Path | bytes) -> str:
    raw = source.read_bytes() if isinstance(source, Path) else source
    return raw.decode("utf-8-sig")


def _name(source: Path | bytes, name: str | None) -> str:
    if name is not None:
        return name
    return source.name if isinstance(source, Path) else "the file"


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return [c.strip() for c in (reader.fieldnames or [])], rows


def read_features(source: Path | bytes, *, name: str | None = None) -> list[Quota]:
    """``feature, value, min, max`` rows (as ``sortition-algorithms`` reads them); the header
    is row 1."""
    from missionboard.analytics.sortition import Quota

    label = _name(source, name)
    columns, rows = _rows(_text(source))
    missing = [c for c in ("feature", "value", "min", "max") if c not in columns]
    if missing:
        raise InputError(f"{label} has no column {', '.join(missing)}")
    out = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows, start=2):
        feature, value = row["feature"].strip(), row["value"].strip()
        if not feature or not value:
            raise InputError(f"{label}, row {number}: feature and value must not be blank")
        bounds = []
        for column in ("min", "max"):
            try:
                bounds.append(int(row[column].strip()))
            except ValueError:
                raise InputError(f"{label}, row {number}, column {column!r}: "
                                 f"{row[column]!r} is not a whole number") from None
        if bounds[0] < 0 or bounds[1] < bounds[0]:
            raise InputError(f"{label}, row {number}: need 0 <= min <= max, "
                             f"not {bounds[0]} and {bounds[1]}")
        if (feature, value) in seen:
            raise InputError(f"{label}, row {number}: {feature}={value} appears twice")
        seen.add((feature, value))
        out.append(Quota(feature, value, bounds[0], bounds[1]))
    return out


def allowed_values(quotas: Sequence[Quota]) -> dict[str, set[str]]:
    """Each feature's values, from the features file."""
    allowed: dict[str, set[str]] = {}
    for q in quotas:
        allowed.setdefault(q.feature, set()).add(q.value)
    return allowed


def read_people(source: Path | bytes, *, features: dict[str, set[str]], id_column: str,
                address_columns: list[str], name: str | None = None
                ) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Each volunteer's value of every feature, and their household (the address columns
    joined), checked against the features file."""
    label = _name(source, name)
    columns, rows = _rows(_text(source))
    missing = [c for c in (id_column, *features, *address_columns) if c not in columns]
    if missing:
        raise InputError(f"{label} has no column {', '.join(missing)}")
    people: dict[str, dict[str, str]] = {}
    households = []
    for number, row in enumerate(rows, start=2):
        person = row[id_column].strip()
        if not person:
            raise InputError(f"{label}, row {number}, column {id_column!r}: blank id")
        if person in people:
            raise InputError(f"{label}, row {number}, column {id_column!r}: the id "
                             f"{person!r} appears twice")
        values = {}
        for feature, allowed in features.items():
            value = row[feature].strip()
            if value not in allowed:
                raise InputError(f"{label}, row {number}, column {feature!r}: {value!r} "
                                 "is not a value of that feature in the features file")
            values[feature] = value
        people[person] = values
        households.append("\x1f".join(row[c].strip().casefold() for c in address_columns))
    return people, households


def inputs_sha256(people: Path | bytes, features: Path | bytes, *, number: int, id_column: str,
                  address_columns: list[str], algorithm: str) -> str:
    """SHA-256 of everything the selection depends on except the seed: both files' bytes and
    the options, so that anyone holding the published inputs can check them."""
    digest = hashlib.sha256()
    for source in (people, features):
        raw = source.read_bytes() if isinstance(source, Path) else source
        digest.update(hashlib.sha256(raw).digest())
    digest.update(json.dumps({"number": number, "id_column": id_column,
                              "address_columns": address_columns, "algorithm": algorithm},
                             sort_keys=True).encode())
    return digest.hexdigest()


def write_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """CSV bytes as the application publishes them: UTF-8, ``\\n`` line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def seed_commitment(seed: int) -> str:
    """The published commitment to a seed: the SHA-256 of its decimal digits."""
    return hashlib.sha256(str(seed).encode("ascii")).hexdigest()
