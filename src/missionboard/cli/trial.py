"""Commands for trials: analyse a trial's data, plan its size, randomise its units.

Input errors (a missing column, a treatment not coded 0/1, an unreadable file) end with a
one-line message naming the column and row, and exit code 2.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from missionboard.cli import common

trial_app = typer.Typer(help="Trials: analyse, plan and randomise.", no_args_is_help=True)

INPUT_ERROR = 2


def _fail(message: str) -> NoReturn:
    common.err_console.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=INPUT_ERROR)


def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _read_columns(file: Path, columns: list[str]) -> dict[str, Any]:
    """The named columns of a CSV or Parquet file as numpy arrays, read by DuckDB."""
    import duckdb

    reader = "read_parquet" if file.suffix.lower() in (".parquet", ".pq") else "read_csv_auto"
    connection = duckdb.connect()
    try:
        # S608: ``reader`` is one of two literals, the path a bound parameter and the
        # columns quoted identifiers.
        relation = connection.sql(f"SELECT * FROM {reader}(?)",  # noqa: S608
                                  params=[str(file)])
        present = relation.columns
        for column in columns:
            if column not in present:
                _fail(f"{file.name} has no column {column!r} (columns: {', '.join(present)})")
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in dict.fromkeys(columns))
        arrays: dict[str, Any] = connection.sql(
            f"SELECT {quoted} FROM {reader}(?)",  # noqa: S608
            params=[str(file)]).fetchnumpy()
    except duckdb.Error as exc:
        _fail(f"cannot read {file.name}: {str(exc).splitlines()[0]}")
    finally:
        connection.close()
    return arrays


def _numbers(arrays: dict[str, Any], column: str, *, csv_rows: bool) -> Any:
    import numpy as np

    values = arrays[column]
    mask = np.ma.getmaskarray(values) if np.ma.isMaskedArray(values) else None
    if mask is not None and mask.any():
        _fail(f"column {column!r} is empty at row {_row(int(np.argmax(mask)), csv_rows)}")
    data = np.ma.getdata(values)
    if data.dtype.kind not in "biuf":
        _fail(f"column {column!r} must be numbers: found {data[0]!r} at row "
              f"{_row(0, csv_rows)}")
    return data.astype(np.float64)


def _row(index: int, csv_rows: bool) -> int:
    """A 0-based data index as the file's row number (CSV: after the header line)."""
    return index + 2 if csv_rows else index + 1


@trial_app.command("analyse")
def analyse_command(
    *,
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet file, one row per unit.")],
    outcome: Annotated[str, typer.Option(help="The outcome column.")],
    treatment: Annotated[str, typer.Option(help="The treatment column, coded 0/1.")],
    cluster: Annotated[str | None, typer.Option(
        help="The cluster column (the unit of randomisation).")] = None,
    covariates: Annotated[str | None, typer.Option(
        help="Comma-separated baseline covariates (ANCOVA).")] = None,
    cuped: Annotated[str | None, typer.Option(
        help="The outcome's pre-period column (CUPED).")] = None,
    method: Annotated[str | None, typer.Option(
        help="difference, ancova, cuped, risk_difference or odds_ratio (default: from the "
             "options).")] = None,
    se: Annotated[str | None, typer.Option(
        help="welch, pooled, hc1, hc2, cr1 or cr2 (default: welch, hc2 with covariates, "
             "cr2 with clusters).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The treatment effect with its standard error, interval and p-value."""
    from missionboard.analytics.trials import TrialInputError, analyse, cluster_codes

    if not file.is_file():
        _fail(f"cannot read {file}: no such file")
    extra = _columns(covariates)
    wanted = [outcome, treatment, *([cluster] if cluster else []), *extra,
              *([cuped] if cuped else [])]
    arrays = _read_columns(file, wanted)
    csv_rows = file.suffix.lower() not in (".parquet", ".pq")
    columns = {name: _numbers(arrays, name, csv_rows=csv_rows)
               for name in dict.fromkeys([outcome, treatment, *extra,
                                          *([cuped] if cuped else [])])}
    labels = None
    if cluster:
        import numpy as np

        raw = arrays[cluster]
        if np.ma.isMaskedArray(raw) and np.ma.getmaskarray(raw).any():
            _fail(f"column {cluster!r} is empty at row "
                  f"{_row(int(np.argmax(np.ma.getmaskarray(raw))), csv_rows)}")
        labels = np.ma.getdata(raw)
    names = {"outcome": outcome, "treatment": treatment, "clusters": cluster or "",
             "covariates": ",".join(extra), "cuped_pre": cuped or ""}
    try:
        if labels is not None:
            cluster_codes(labels, labels.shape[0])
        import numpy as np

        result = analyse(
            columns[outcome], columns[treatment], clusters=labels,
            covariates=np.column_stack([columns[c] for c in extra]) if extra else None,
            cuped_pre=columns[cuped] if cuped else None,
            method=method,  # type: ignore[arg-type]
            se=se)  # type: ignore[arg-type]
    except TrialInputError as exc:
        column = names.get(exc.field)  # None for options such as --se or --method
        message = str(exc)
        if exc.row is not None:
            message = message.replace(f"at row {exc.row}", f"at row {_row(exc.row, csv_rows)}")
        _fail(f"{message} (column {column!r})" if column else message)
    if as_json:
        out = result.to_dict()
        print(json.dumps(out, indent=1, allow_nan=False,  # noqa: T201
                         default=str) if _finite(out) else json.dumps(_nulls(out), indent=1))
        return
    table = Table(title=f"{result.method} on {outcome} ({file.name})")
    table.add_column("Effect", justify="right")
    table.add_column("SE", justify="right")
    table.add_column(f"{result.level:.0%} interval", justify="right")
    table.add_column("p", justify="right")
    table.add_column("Treated / control", justify="right")
    table.add_column("Clusters", justify="right")
    table.add_column("SE type (df)")
    df = "normal" if result.df is None else f"{result.df:,.1f}"
    table.add_row(f"{result.effect:,.4g}", f"{result.se:,.4g}",
                  f"{result.ci_low:,.4g} to {result.ci_high:,.4g}", f"{result.p_value:.3g}",
                  f"{result.n_treated:,} / {result.n_control:,}",
                  "—" if result.n_clusters is None else f"{result.n_clusters:,}",
                  f"{result.variance} ({df})")
    common.console.print(table)


def _finite(out: dict[str, object]) -> bool:
    return all(not isinstance(v, float) or math.isfinite(v) for v in out.values())


def _nulls(out: dict[str, object]) -> dict[str, object]:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in out.items()}


@trial_app.command("power")
def power_command(
    *,
    outcome: Annotated[str, typer.Option(help="continuous or binary.")] = "continuous",
    effect: Annotated[float | None, typer.Option(
        help="The effect to detect (outcome units; for binary outcomes the treated rate is "
             "control rate + effect). Given: solve for the sample size; omitted: the MDE.")
    ] = None,
    n: Annotated[int | None, typer.Option(
        help="Units enrolled in total (individual designs, for the MDE).")] = None,
    clusters: Annotated[int | None, typer.Option(
        help="Clusters in total (cluster designs, for the MDE).")] = None,
    cluster_size: Annotated[int | None, typer.Option(help="Units per cluster.")] = None,
    icc: Annotated[float, typer.Option(help="Intra-cluster correlation.")] = 0.0,
    sd: Annotated[float, typer.Option(help="The outcome's SD (continuous).")] = 1.0,
    control_rate: Annotated[float | None, typer.Option(
        help="The control arm's rate (binary).")] = None,
    r2: Annotated[float, typer.Option(help="Share of variance a baseline covariate explains.")
                  ] = 0.0,
    attrition: Annotated[float, typer.Option(help="Share of units lost before analysis.")
                         ] = 0.0,
    ratio: Annotated[float, typer.Option(help="Allocation ratio treated : control.")] = 1.0,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    power: Annotated[float, typer.Option(help="Target power.")] = 0.8,
    one_sided: Annotated[bool, typer.Option("--one-sided", help="A one-sided test.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Minimum detectable effect (without --effect) or sample size (with --effect)."""
    from dataclasses import asdict

    from missionboard.analytics import trial_power as tp

    sides = 1 if one_sided else 2
    common_args: dict[str, Any] = {"attrition": attrition, "ratio": ratio, "alpha": alpha,
                                   "power": power, "sides": sides, "icc": icc}
    design: dict[str, Any] = ({"clusters": clusters, "cluster_size": cluster_size}
                              if clusters is not None or cluster_size is not None
                              else {"n_total": n})
    try:
        if outcome == "continuous":
            if effect is None:
                result = tp.continuous_mde(sd=sd, r2=r2, **design, **common_args)
            else:
                result = tp.continuous_sample_size(effect=effect, sd=sd, r2=r2,
                                                   cluster_size=cluster_size, **common_args)
        elif outcome == "binary":
            if control_rate is None:
                _fail("a binary outcome needs --control-rate")
            if effect is None:
                result = tp.binary_mde(control_rate=control_rate, **design, **common_args)
            else:
                result = tp.binary_sample_size(control_rate=control_rate,
                                               treated_rate=control_rate + effect,
                                               cluster_size=cluster_size, **common_args)
        else:
            _fail(f"--outcome must be continuous or binary, not {outcome!r}")
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(asdict(result), indent=1))  # noqa: T201
        return
    solved = "sample size" if effect is not None else "minimum detectable effect"
    table = Table(title=f"{outcome.capitalize()} outcome: {solved}")
    table.add_column("Quantity")
    table.add_column("Value", justify="right")
    rows = [("Effect", f"{result.effect:,.4g}"),
            ("Treated / control (enrolled)", f"{result.n_treated:,} / {result.n_control:,}")]
    if result.clusters_treated is not None:
        rows.append(("Clusters treated / control",
                     f"{result.clusters_treated:,} / {result.clusters_control:,}"))
    rows += [("Design effect", f"{result.design_effect:.3f}"), ("Power", f"{result.power:.3f}"),
             ("Alpha (sides)", f"{result.alpha} ({result.sides})")]
    for name, value in rows:
        table.add_row(name, value)
    common.console.print(table)


def _read_units(file: Path, columns: list[str]) -> list[dict[str, str]]:
    if not file.is_file():
        _fail(f"cannot read {file}: no such file")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        _fail(f"cannot read {file.name}: {exc}")
    header = list(rows[0]) if rows else []
    for column in columns:
        if column not in header:
            _fail(f"{file.name} has no column {column!r} (columns: {', '.join(header)})")
    return rows


@trial_app.command("randomise")
def randomise_command(
    *,
    units: Annotated[Path, typer.Argument(help="A CSV file, one row per unit.")],
    id_column: Annotated[str, typer.Option(help="The units' id column.")],
    strata: Annotated[str | None, typer.Option(help="Comma-separated stratum columns.")] = None,
    cluster: Annotated[str | None, typer.Option(help="The cluster column.")] = None,
    arms: Annotated[str, typer.Option(help="Comma-separated arms, control first.")
                    ] = "control,treatment",
    ratio: Annotated[str | None, typer.Option(help="e.g. 1,1 or 2,1 (default: equal).")
                     ] = None,
    block_size: Annotated[int | None, typer.Option(help="Permuted block size.")] = None,
    seed: Annotated[int | None, typer.Option(
        help="The seed; publish it before the draw. Random when not given.")] = None,
    balance_threshold: Annotated[float | None, typer.Option(
        help="Re-randomise until every |SMD| is below this.")] = None,
    covariates: Annotated[str | None, typer.Option(
        help="Comma-separated numeric columns for the balance table.")] = None,
    max_attempts: Annotated[int, typer.Option(help="Re-randomisation attempts.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Allocate units to arms from a seed, and print the allocation and balance table."""
    import secrets

    from missionboard.analytics.randomisation import randomise

    strata_columns, covariate_columns = _columns(strata), _columns(covariates)
    rows = _read_units(units, [id_column, *strata_columns, *([cluster] if cluster else []),
                               *covariate_columns])
    arm_names = _columns(arms)
    try:
        weights = [int(r) for r in _columns(ratio)] if ratio else [1] * len(arm_names)
    except ValueError:
        _fail(f"--ratio {ratio!r} must be whole numbers like 2,1")
    values: dict[str, list[float]] = {c: [] for c in covariate_columns}
    for number, row in enumerate(rows, start=2):
        for column in covariate_columns:
            try:
                values[column].append(float(row[column]))
            except ValueError:
                _fail(f"column {column!r} must be numbers: found {row[column]!r} at row "
                      f"{number}")
    if seed is None:
        seed = secrets.randbelow(2**63)
    try:
        allocation = randomise(
            [row[id_column] for row in rows], seed=seed, arms=arm_names, ratio=weights,
            strata=[tuple(row[c] for c in strata_columns) for row in rows]
            if strata_columns else None,
            clusters=[row[cluster] for row in rows] if cluster else None,
            block_size=block_size, covariates=values or None,
            balance_threshold=balance_threshold, max_attempts=max_attempts)
    except ValueError as exc:
        _fail(str(exc))
    balance = [{"covariate": r.covariate, "arm": r.arm, "mean": r.mean,
                "control_mean": r.control_mean, "smd": r.smd} for r in allocation.balance]
    if as_json:
        print(json.dumps({"seed": allocation.seed, "method": allocation.method,  # noqa: T201
                          "attempts": allocation.attempts, "counts": allocation.counts(),
                          "max_abs_smd": allocation.max_abs_smd, "balance": balance,
                          "arms": allocation.arms}, indent=1, ensure_ascii=False))
        return
    counts = ", ".join(f"{arm} {count:,}" for arm, count in allocation.counts().items())
    common.console.print(f"{allocation.method} randomisation, seed {allocation.seed}, "
                         f"{allocation.attempts} attempt(s): {counts}.")
    table = Table(title="Allocation")
    table.add_column(id_column)
    table.add_column("Arm")
    for unit, arm in allocation.arms.items():
        table.add_row(unit, arm)
    common.console.print(table)
    if balance:
        balance_view = Table(title="Balance (standardised mean differences against "
                                   f"{allocation.arm_names[0]})")
        for heading in ("Covariate", "Arm", "Mean", "Control mean", "SMD"):
            balance_view.add_column(heading, justify="left" if heading in ("Covariate", "Arm")
                                    else "right")
        for r in allocation.balance:
            balance_view.add_row(r.covariate, r.arm, f"{r.mean:,.4g}", f"{r.control_mean:,.4g}",
                                 f"{r.smd:+.3f}")
        common.console.print(balance_view)
