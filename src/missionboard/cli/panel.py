"""Commands for citizens' panels: select a panel from a pool of volunteers by LEXIMIN."""

from __future__ import annotations

import csv
import hashlib
import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from missionboard.cli import common

if TYPE_CHECKING:
    from missionboard.analytics.sortition import Quota

panel_app = typer.Typer(help="Citizens' panels: fair selection by lottery.", no_args_is_help=True)

ALGORITHMS = ("leximin", "legacy")
#: Draws used to estimate the legacy method's selection probabilities.
LEGACY_RUNS = 1_000


class InputError(ValueError):
    """A problem in the input files, naming the file, the row and the column."""


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return [c.strip() for c in (reader.fieldnames or [])], rows


def read_features(path: Path) -> list[Quota]:
    """``feature, value, min, max`` rows (as ``sortition-algorithms`` reads them); the header
    is row 1."""
    from missionboard.analytics.sortition import Quota

    columns, rows = _rows(path)
    missing = [c for c in ("feature", "value", "min", "max") if c not in columns]
    if missing:
        raise InputError(f"{path.name} has no column {', '.join(missing)}")
    out = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows, start=2):
        feature, value = row["feature"].strip(), row["value"].strip()
        if not feature or not value:
            raise InputError(f"{path.name}, row {number}: feature and value must not be blank")
        bounds = []
        for column in ("min", "max"):
            try:
                bounds.append(int(row[column].strip()))
            except ValueError:
                raise InputError(f"{path.name}, row {number}, column {column!r}: "
                                 f"{row[column]!r} is not a whole number") from None
        if bounds[0] < 0 or bounds[1] < bounds[0]:
            raise InputError(f"{path.name}, row {number}: need 0 <= min <= max, "
                             f"not {bounds[0]} and {bounds[1]}")
        if (feature, value) in seen:
            raise InputError(f"{path.name}, row {number}: {feature}={value} appears twice")
        seen.add((feature, value))
        out.append(Quota(feature, value, bounds[0], bounds[1]))
    return out


def read_people(path: Path, *, features: dict[str, set[str]], id_column: str,
                address_columns: list[str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Each volunteer's value of every feature, and their household (the address columns
    joined), checked against the features file."""
    columns, rows = _rows(path)
    missing = [c for c in (id_column, *features, *address_columns) if c not in columns]
    if missing:
        raise InputError(f"{path.name} has no column {', '.join(missing)}")
    people: dict[str, dict[str, str]] = {}
    households = []
    for number, row in enumerate(rows, start=2):
        person = row[id_column].strip()
        if not person:
            raise InputError(f"{path.name}, row {number}, column {id_column!r}: blank id")
        if person in people:
            raise InputError(f"{path.name}, row {number}, column {id_column!r}: the id "
                             f"{person!r} appears twice")
        values = {}
        for feature, allowed in features.items():
            value = row[feature].strip()
            if value not in allowed:
                raise InputError(f"{path.name}, row {number}, column {feature!r}: {value!r} "
                                 "is not a value of that feature in the features file")
            values[feature] = value
        people[person] = values
        households.append("\x1f".join(row[c].strip().casefold() for c in address_columns))
    return people, households


def inputs_sha256(people: Path, features: Path, *, number: int, id_column: str,
                  address_columns: list[str], algorithm: str) -> str:
    """SHA-256 of everything the selection depends on except the seed: both files' bytes and
    the options, so that anyone holding the published inputs can check them."""
    digest = hashlib.sha256()
    for path in (people, features):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps({"number": number, "id_column": id_column,
                              "address_columns": address_columns, "algorithm": algorithm},
                             sort_keys=True).encode())
    return digest.hexdigest()


@panel_app.command("select")
def select_command(
    *,
    people: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                         help="Volunteers: an id column and one column per "
                                              "feature.")],
    features: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                           help="Quotas: feature, value, min, max.")],
    number: Annotated[int, typer.Option(min=1, help="The panel's size.")],
    id_column: Annotated[str, typer.Option(help="The people file's id column.")] = "id",
    address_columns: Annotated[str, typer.Option(
        help="Comma-separated columns that together give a household: at most one member "
             "per household.")] = "",
    algorithm: Annotated[str, typer.Option(help="leximin, or legacy (the greedy method, "
                                                "for comparison).")] = "leximin",
    seed: Annotated[int | None, typer.Option(help="The draw's seed; publish its hash before "
                                                  "the draw. Random when not given.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Select a panel: every volunteer's selection probability, then one draw."""
    from missionboard.analytics.sortition import (
        InfeasibleQuotas,
        legacy,
        legacy_probabilities,
        leximin,
    )

    if algorithm not in ALGORITHMS:
        raise common.fail(f"Unknown algorithm {algorithm!r}: choose leximin or legacy")
    addresses = [c.strip() for c in address_columns.split(",") if c.strip()]
    if seed is None:
        seed = secrets.randbelow(2**63)
    try:
        quotas = read_features(features)
        allowed: dict[str, set[str]] = {}
        for q in quotas:
            allowed.setdefault(q.feature, set()).add(q.value)
        pool, households = read_people(people, features=allowed, id_column=id_column,
                                       address_columns=addresses)
        rule = households if addresses else None
        with common.err_console.status(f"Selecting {number} from {len(pool):,} volunteers"):
            if algorithm == "leximin":
                selection = leximin(pool, quotas, number, households=rule, seed=seed)
                probabilities = selection.probabilities
                minimum = selection.min_probability
                chosen = selection.draw(seed)
            else:
                probabilities = legacy_probabilities(pool, quotas, number, LEGACY_RUNS, seed)
                minimum = min(probabilities.values())
                chosen = legacy(pool, quotas, number, households=rule, seed=seed)
    except InputError as exc:
        raise common.fail(str(exc)) from None
    except InfeasibleQuotas as exc:
        hints = "; ".join(f"{r.quota.feature}={r.quota.value}: [{r.min}, {r.max}]"
                          for r in exc.relaxations)
        raise common.fail(f"The quotas cannot be met: {exc}"
                          + (f". Smallest relaxation: {hints}" if hints else "")) from None
    result = {
        "algorithm": algorithm, "selected": sorted(chosen),
        "probabilities": probabilities, "min_probability": minimum, "seed": seed,
        "inputs_sha256": inputs_sha256(people, features, number=number, id_column=id_column,
                                       address_columns=addresses, algorithm=algorithm),
    }
    if as_json:
        print(json.dumps(result, indent=1, ensure_ascii=False))  # noqa: T201
        return
    common.console.print(f"{algorithm}: {len(chosen)} selected from {len(pool):,}; the "
                         f"smallest selection probability is {minimum:.4f}.")
    common.console.print(f"Seed {seed}; inputs SHA-256 {result['inputs_sha256']}.")
    common.console.print("Selected: " + ", ".join(sorted(chosen)))
