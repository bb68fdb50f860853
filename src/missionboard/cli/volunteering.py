"""Commands for volunteering: load postcode centroids (the ONS Postcode Directory, OS
Code-Point Open or any CSV in their style), look a postcode up, and the daily purge of
volunteers' personal data."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from missionboard.cli import common
from missionboard.errors import ValidationFailed

postcodes_app = typer.Typer(help="Postcode centroids: where postcodes are.",
                            no_args_is_help=True)
volunteering_app = typer.Typer(help="Volunteering: opportunities and sign-ups.",
                               no_args_is_help=True)

Column = Annotated[str | None, typer.Option(help="A header name, or a column number (from 1) "
                                                 "with --no-header.")]


def _count_rows(file: Path) -> int:
    with file.open("rb") as handle:
        return sum(1 for _ in handle)


@postcodes_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A CSV file of postcodes and their places.")],
    *,
    postcode_column: Annotated[str, typer.Option(
        help="The postcode (a unit postcode or an outward code).")] = "pcds",
    latitude_column: Column = "lat",
    longitude_column: Column = "long",
    easting_column: Annotated[str | None, typer.Option(
        help="OS National Grid easting (with --northing-column, instead of latitude and "
             "longitude; converted to WGS84).")] = None,
    northing_column: Annotated[str | None, typer.Option(
        help="OS National Grid northing.")] = None,
    area_column: Annotated[str | None, typer.Option(
        help="An area code to count opportunities by (the ONSPD's rgn for regions, oslaua "
             "for local authorities).")] = None,
    header: Annotated[bool, typer.Option(
        "--header/--no-header", help="Whether the first line names the columns (Code-Point "
                                     "Open's files have no header).")] = True,
    database_url: common.DatabaseOption = None,
) -> None:
    """Load postcode centroids, all or nothing, replacing those already loaded.

    The defaults read the ONS Postcode Directory (pcds, lat, long). For OS Code-Point Open:
    --no-header --postcode-column 1 --easting-column 3 --northing-column 4. Rows published
    without a place are skipped and counted.
    """
    from missionboard.volunteering.postcodes import Columns, import_postcodes

    grid = easting_column is not None or northing_column is not None
    columns = Columns(postcode=postcode_column,
                      latitude=None if grid else latitude_column,
                      longitude=None if grid else longitude_column,
                      easting=easting_column, northing=northing_column, area=area_column)
    total = max(0, _count_rows(file) - (1 if header else 0))
    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeRemainingColumn(),
                        console=common.err_console, transient=True)
    if total == 0:
        raise common.fail(f"{file.name} has no rows")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle, progress, \
                common.unit_of_work(common.settings(database_url)) as session:
            reader = csv.reader(handle)
            names = next(reader) if header else None
            task = progress.add_task(f"Reading {file.name}", total=total)
            result = import_postcodes(session, rows=reader, header=names, columns=columns,
                                      progress=lambda n: progress.advance(task, n))
    except ValidationFailed as exc:
        common.print_errors(exc)
        raise typer.Exit(code=1) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise common.fail(f"{file.name} is not a UTF-8 CSV file: {exc}") from None
    common.console.print(
        f"Loaded {result.rows:,} postcodes from {file.name}: {result.units:,} unit postcodes "
        f"and {result.outward_codes:,} outward codes"
        + (f"; skipped {result.skipped:,} without a place." if result.skipped else "."))


@postcodes_app.command("lookup")
def lookup_command(
    postcode: Annotated[str, typer.Argument(help="A unit postcode or an outward code.")],
    database_url: common.DatabaseOption = None,
) -> None:
    """Where a postcode is (falling back to its outward code)."""
    from missionboard.volunteering.postcodes import locate

    try:
        with common.unit_of_work(common.settings(database_url)) as session:
            place = locate(session, postcode)
    except ValidationFailed as exc:
        raise common.fail(exc.errors[0].message) from None
    how = "" if place.precise else " (the outward code's centre: the full postcode is unknown)"
    common.console.print(f"{place.postcode}: {place.latitude:.6f}, {place.longitude:.6f}"
                         + (f", area {place.area_code}" if place.area_code else "") + how)


@volunteering_app.command("purge")
def purge_command(
    today: Annotated[str | None, typer.Option(
        help="Treat this date (YYYY-MM-DD) as today; default: today in UTC.")] = None,
    database_url: common.DatabaseOption = None,
) -> None:
    """The daily job: close opportunities whose end date has passed, then delete the
    volunteers' personal data (sign-ups, contact details, logged hours) of every opportunity
    whose retention date is before today. The anonymous counts stay."""
    from missionboard import mail
    from missionboard.volunteering import signups

    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise common.fail(f"--today {today!r} is not a date like 2027-03-31") from None
    with common.unit_of_work(common.settings(database_url)) as session:
        report = signups.purge_due(session, today=day)
        emails = mail.purge_sent(session, today=day)
    for slug in report.closed:
        common.console.print(f"{slug}: closed (its end date has passed).")
    for p in report.purged:
        common.console.print(f"{p.opportunity}: deleted the personal data of {p.signups:,} "
                             f"sign-ups and {p.hours:,} logged hours.")
    if not report.purged:
        common.console.print(f"No opportunity's retention date is before {day.isoformat()}.")
    common.console.print(f"Deleted {emails:,} emails sent more than {mail.KEEP_SENT_DAYS} days "
                         "ago from the outbox.")
