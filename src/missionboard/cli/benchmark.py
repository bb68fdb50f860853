"""Commands for frontline units: load units and unit-level data; funnel plots and SPC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from missionboard.benchmarking.models import Statistic
from missionboard.cli import common
from missionboard.errors import DomainError, ValidationFailed

benchmark_app = typer.Typer(help="Compare frontline units fairly: funnel plots and SPC.",
                            no_args_is_help=True)

InputFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                           help="A CSV or Parquet file.")]


def import_units(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="A CSV file: code, name, kind, area_code, then any numeric attribute columns.")],
    database_url: common.DatabaseOption = None,
) -> None:
    """Add or update frontline units (schools, trusts, forces …), all or nothing."""
    from missionboard.benchmarking import service

    try:
        with common.unit_of_work(common.settings(database_url)) as session:
            added, updated = service.import_units(session, rows=common.read_csv(file))
    except ValidationFailed as exc:
        common.print_errors(exc)
        raise typer.Exit(code=1) from None
    common.console.print(f"Units from {file.name}: {added} added, {updated} updated.")


def import_unit_data(
    file: InputFile,
    *,
    metric: Annotated[str, typer.Option(help="The metric's short name.")],
    statistic: Annotated[Statistic, typer.Option(help="How numerator and denominator make "
                                                      "each unit's value.")],
    numerator_label: Annotated[str, typer.Option(help="What the numerator counts.")],
    denominator_label: Annotated[str, typer.Option(help="What the denominator counts.")],
    multiplier: Annotated[float, typer.Option(help="e.g. 100 for per cent, 100000 for rates "
                                                   "per 100,000.")] = 1.0,
    database_url: common.DatabaseOption = None,
) -> None:
    """Load a metric's unit-level data (unit, period, numerator, denominator), replacing what
    was there, all or nothing."""
    from missionboard.benchmarking import service
    from missionboard.benchmarking.schemas import UnitMetricIn
    from missionboard.metrics import service as metrics_service

    settings = common.settings(database_url)
    try:
        data = UnitMetricIn(statistic=statistic, multiplier=multiplier,
                            numerator_label=numerator_label,
                            denominator_label=denominator_label)
        with common.unit_of_work(settings) as session, common.console.status(
                f"Checking and loading {file.name}"):
            found = metrics_service.get_metric(session, slug=metric, include_drafts=True)
            loaded = service.load_unit_data(session, metric=found, data=data, source=file,
                                            data_dir=settings.data_dir)
    except ValidationFailed as exc:
        common.print_errors(exc)
        raise typer.Exit(code=1) from None
    except DomainError as exc:
        raise common.fail(exc.detail) from None
    common.console.print(f"Loaded {loaded.rows:,} rows of unit-level data for {metric}.")
