"""Commands for citizens' panels: select a panel from a pool of volunteers by LEXIMIN."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Annotated

import typer

from missionboard.cli import common
from missionboard.panels.published import (
    InputError,
    allowed_values,
    inputs_sha256,
    read_features,
    read_people,
)

__all__ = ["InputError", "inputs_sha256", "panel_app", "read_features", "read_people"]

panel_app = typer.Typer(help="Citizens' panels: fair selection by lottery.", no_args_is_help=True)

ALGORITHMS = ("leximin", "legacy")
#: Draws used to estimate the legacy method's selection probabilities.
LEGACY_RUNS = 1_000


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
        allowed = allowed_values(quotas)
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
                probabilities = legacy_probabilities(pool, quotas, number, LEGACY_RUNS, seed,
                                                     households=rule)
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


@panel_app.command("purge")
def purge_command(
    today: Annotated[str | None, typer.Option(
        help="Treat this date (YYYY-MM-DD) as today; default: today in UTC.")] = None,
    database_url: common.DatabaseOption = None,
) -> None:
    """Delete the names, contact details and addresses of every panel whose retention date
    has passed (run it daily). Pseudonyms, answers and the draws stay, so that the published
    draws remain checkable."""
    from missionboard.panels import service

    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise common.fail(f"--today {today!r} is not a date like 2027-03-31") from None
    with common.unit_of_work(common.settings(database_url)) as session:
        purged = service.purge_due(session, today=day)
    for p in purged:
        common.console.print(f"{p.panel}: deleted the personal data of {p.volunteers:,} "
                             f"volunteers and {p.addresses:,} addresses.")
    if not purged:
        common.console.print(f"No panel's retention date is before {day.isoformat()}.")
