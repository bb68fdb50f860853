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


def _read_columns(file: Path, columns: dict[str, str | None]) -> dict[str, list[object]]:
    """The named columns of a CSV or Parquet file, all or nothing: a missing column or a
    value that is not a number is an error naming the row and column."""
    import duckdb

    from missionboard.errors import FieldError

    suffix = file.suffix.lower()
    with duckdb.connect(":memory:") as con:
        if suffix == ".csv":
            relation = con.read_csv(str(file), header=True, all_varchar=True)
        elif suffix == ".parquet":
            relation = con.read_parquet(str(file))
        else:
            raise ValidationFailed([FieldError("file", "Give a .csv or .parquet file")])
        missing = [c for c in columns.values() if c is not None and c not in relation.columns]
        if missing:
            raise ValidationFailed([FieldError(c, f"The file has no ‘{c}’ column")
                                    for c in missing])
        data = relation.fetchnumpy()
    return {key: list(data[name]) for key, name in columns.items() if name is not None}


def _numbers(values: list[object], column: str, *, first_row: int = 2) -> list[float]:
    import math

    from missionboard.errors import FieldError

    out, errors = [], []
    for row, value in enumerate(values, start=first_row):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            errors.append(FieldError(column, "Give a number", row=row))
        out.append(number)
    if errors:
        raise ValidationFailed(errors[:50])
    return out


def _json_number(value: float) -> float | None:
    import math

    return None if not math.isfinite(value) else round(float(value), 10)


@benchmark_app.command("funnel")
def funnel_command(
    file: InputFile,
    *,
    statistic: Annotated[str, typer.Option(
        help="proportion, rate or ratio (ratio: numerator observed, denominator expected).")],
    numerator: Annotated[str, typer.Option(help="The numerator's column.")],
    denominator: Annotated[str, typer.Option(help="The denominator's column.")],
    unit: Annotated[str | None, typer.Option(help="The column naming each unit "
                                                  "(default: the row number).")] = None,
    method: Annotated[str, typer.Option(
        help="phe, exact, shmi or spiegelhalter.")] = "spiegelhalter",
    overdispersion: Annotated[str | None, typer.Option(
        help="none, multiplicative or additive (default: the method's own).")] = None,
    trim: Annotated[float, typer.Option(help="Fraction robustified at each end.")] = 0.1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which units lie beyond the funnel's 95% and 99.8% limits?"""
    import json

    from rich.table import Table

    from missionboard.analytics.funnel import funnel

    try:
        columns = _read_columns(file, {"numerator": numerator, "denominator": denominator,
                                       "unit": unit})
        first = 2 if file.suffix.lower() == ".csv" else 1
        num = _numbers(columns["numerator"], numerator, first_row=first)
        den = _numbers(columns["denominator"], denominator, first_row=first)
        names = [str(u) for u in columns.get("unit", range(first, first + len(num)))]
        result = funnel(num, den, statistic=statistic, method=method,  # type: ignore[arg-type]
                        overdispersion=overdispersion, trim=trim)  # type: ignore[arg-type]
    except ValidationFailed as exc:
        common.print_errors(exc)
        raise typer.Exit(code=1) from None
    except ValueError as exc:
        raise common.fail(str(exc)) from None
    units = [{"unit": name, "value": _json_number(v), "z": _json_number(z), "significance": s}
             for name, v, z, s in zip(names, result.value.tolist(), result.z_adjusted.tolist(),
                                      result.significance.tolist(), strict=True)]
    if as_json:
        print(json.dumps({  # noqa: T201
            "statistic": result.statistic, "method": result.method,
            "centre": _json_number(result.centre), "phi": _json_number(result.phi),
            "tau2": _json_number(result.tau2), "units": units}, indent=1))
        return
    table = Table(title=f"{file.name}: {statistic}, {method} (centre {result.centre:.6g}, "
                        f"φ {result.phi:.4g}, τ² {result.tau2:.4g})")
    for heading in ("Unit", "Value", "z", "Significance"):
        table.add_column(heading)
    for u in units:
        if u["significance"] != "not_significant":
            table.add_row(str(u["unit"]), f"{u['value']:.6g}", f"{u['z']:.3f}"
                          if u["z"] is not None else "", str(u["significance"]))
    common.console.print(table)
    common.console.print(f"{sum(u['significance'] != 'not_significant' for u in units)} of "
                         f"{len(units)} units beyond a limit.")


@benchmark_app.command("spc")
def spc_command(
    file: InputFile,
    *,
    value: Annotated[str, typer.Option(help="The value's column.")],
    period: Annotated[str | None, typer.Option(help="The period's column (default: the row "
                                                    "number); rows must be in time order.")]
    = None,
    improvement: Annotated[str, typer.Option(help="up or down: which way is better.")] = "up",
    target: Annotated[float | None, typer.Option(help="For the assurance icon.")] = None,
    screen_outliers: Annotated[bool, typer.Option(
        "--screen-outliers/--no-screen-outliers",
        help="Drop moving ranges ≥ 3.267·MR̄ before the limits (off: as the Excel tool).")]
    = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """An XmR chart with the Making Data Count rules and icons."""
    import json

    from missionboard.analytics.spc import xmr_chart

    try:
        columns = _read_columns(file, {"value": value, "period": period})
        first = 2 if file.suffix.lower() == ".csv" else 1
        values = _numbers(columns["value"], value, first_row=first)
        periods = [str(p) for p in columns.get("period", range(first, first + len(values)))]
        chart = xmr_chart(values, improvement=improvement,  # type: ignore[arg-type]
                          target=target, screen_outliers=screen_outliers)
    except ValidationFailed as exc:
        common.print_errors(exc)
        raise typer.Exit(code=1) from None
    except ValueError as exc:
        raise common.fail(str(exc)) from None
    if as_json:
        print(json.dumps(chart.to_dict(periods=periods), indent=1))  # noqa: T201
        return
    common.console.print(f"Mean {chart.mean:.4g}; process limits {chart.lower:.4g} to "
                         f"{chart.upper:.4g}; variation: {chart.variation_icon}; assurance: "
                         f"{chart.assurance_icon or 'no target'}.")
    special = [p for p in chart.points if p.special_cause]
    for p in special:
        common.console.print(f"  {periods[p.period]}: {p.value:g} ({p.rule})")
