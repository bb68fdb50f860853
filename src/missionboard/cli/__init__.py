"""The ``missionboard`` command line: each command a thin layer over the services."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session

from missionboard.accounts.models import Role
from missionboard.cli import benchmark, common, deliberation, panel, trial, volunteering
from missionboard.errors import DomainError, ValidationFailed

app = typer.Typer(help="Missionboard: missions, metrics and targets, in the open.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
import_app = typer.Typer(help="Load data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(benchmark.benchmark_app, name="benchmark")
app.add_typer(deliberation.deliberation_app, name="deliberation")
app.add_typer(panel.panel_app, name="panel")
app.add_typer(trial.trial_app, name="trial")
app.add_typer(volunteering.postcodes_app, name="postcodes")
app.add_typer(volunteering.volunteering_app, name="volunteering")
import_app.command("units")(benchmark.import_units)
import_app.command("unit-data")(benchmark.import_unit_data)

console, err_console = common.console, common.err_console
DatabaseOption = common.DatabaseOption
_settings, _unit_of_work, _fail = common.settings, common.unit_of_work, common.fail
_print_errors, _read_csv = common.print_errors, common.read_csv


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or upgrade the schema to the latest migration."""
    from missionboard.db import migrate

    settings = _settings(database_url)
    migrate.upgrade(url=settings.database_url)
    console.print(f"Database at {_redact(settings.database_url)} is up to date.")


@db_app.command("check")
def db_check(database_url: DatabaseOption = None) -> None:
    """Fail if the models and the migrations have drifted apart."""
    from alembic.util.exc import CommandError

    from missionboard.db import migrate

    try:
        migrate.check(url=_settings(database_url).database_url)
    except CommandError as exc:
        raise _fail(str(exc)) from None
    console.print("The models match the migrations.")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Their email address (the sign-in name).")],
    name: Annotated[str, typer.Option(help="Their name, as shown on changes they make.")],
    role: Annotated[list[str] | None, typer.Option(
        help="admin, viewer, mission_editor[:MISSION] or data_publisher[:METRIC]; repeatable.",
    )] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create a user. Without --password-stdin you are asked for the password."""
    from missionboard.accounts import service

    password = _read_password(from_stdin=password_stdin)
    settings = _settings(database_url)
    with _unit_of_work(settings) as session:
        try:
            roles = [_parse_role(session, r) for r in (role or [])]
            user = service.create_user(session, email=email, name=name, password=password,
                                       roles=roles)
        except ValidationFailed as exc:
            raise _fail("; ".join(e.message for e in exc.errors)) from None
        except DomainError as exc:
            raise _fail(exc.detail) from None
        console.print(f"Created {user.email} with roles: "
                      f"{', '.join(role or []) or 'none (can sign in, sees public pages)'}.")


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Option(help="The user's email address.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Set a user's password (for example the demo administrator's)."""
    from missionboard.accounts import service

    password = _read_password(from_stdin=password_stdin)
    try:
        with _unit_of_work(_settings(database_url)) as session:
            service.set_password(session, email=email, password=password)
    except DomainError as exc:
        raise _fail(exc.detail) from None
    console.print(f"Password set for {email}.")


def _parse_role(session: Session, text: str) -> tuple[Role, int | None, int | None]:
    from missionboard.errors import FieldError
    from missionboard.metrics import service as metrics_service
    from missionboard.missions import service as missions_service

    name, _, scope = text.partition(":")
    try:
        role = Role(name)
    except ValueError:
        raise ValidationFailed([FieldError("role", f"unknown role {name!r}")]) from None
    if not scope:
        return role, None, None
    if role == Role.MISSION_EDITOR:
        mission = missions_service.get_mission(session, slug=scope, include_drafts=True)
        return role, mission.id, None
    if role == Role.DATA_PUBLISHER:
        metric = metrics_service.get_metric(session, slug=scope, include_drafts=True)
        return role, None, metric.id
    raise ValidationFailed([FieldError("role", f"{name} takes no scope")])


@import_app.command("observations")
def import_observations(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A CSV or Parquet file.")],
    database_url: DatabaseOption = None,
) -> None:
    """Import observations, all or nothing: on any error nothing is written."""
    from missionboard.metrics.importer import import_observations as run_import

    settings = _settings(database_url)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=False) as progress:
        task = progress.add_task(f"Importing {file.name}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            with _unit_of_work(settings) as session:
                result = run_import(session, path=file, source="cli", filename=file.name,
                                    progress=report)
        except ValidationFailed as exc:
            progress.stop()
            _print_errors(exc)
            raise typer.Exit(code=1) from None
    console.print(f"Imported {result.rows:,} rows from {file.name}: {result.inserted:,} new, "
                  f"{result.revised:,} revised, {result.unchanged:,} unchanged "
                  f"(batch {result.batch_id}).")


@import_app.command("areas")
def import_areas(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A CSV file: code, name, level, parent_code.")],
    database_url: DatabaseOption = None,
) -> None:
    """Add or update areas (e.g. ONS GSS codes), all or nothing."""
    from missionboard.metrics import service

    settings = _settings(database_url)
    try:
        with _unit_of_work(settings) as session:
            added, updated = service.import_areas(session, rows=_read_csv(file))
    except ValidationFailed as exc:
        _print_errors(exc)
        raise typer.Exit(code=1) from None
    console.print(f"Areas from {file.name}: {added} added, {updated} updated.")


@import_app.command("organisations")
def import_organisations(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="A CSV file: slug, name, kind, parent_slug, website.")],
    database_url: DatabaseOption = None,
) -> None:
    """Add organisations (departments, public bodies, councils, partners), all or nothing."""
    from missionboard.errors import FieldError, validate_rows
    from missionboard.missions import service
    from missionboard.missions.schemas import OrganisationIn

    settings = _settings(database_url)
    try:
        rows = validate_rows(OrganisationIn, _read_csv(file))
        with _unit_of_work(settings) as session:
            for number, row in enumerate(rows, start=2):
                try:
                    service.create_organisation(session, data=row)
                except DomainError as exc:
                    raise ValidationFailed([FieldError("slug", exc.detail, row=number)]) from None
    except ValidationFailed as exc:
        _print_errors(exc)
        raise typer.Exit(code=1) from None
    console.print(f"Organisations from {file.name}: {len(rows)} added.")


@app.command()
def pack(
    mission: Annotated[str, typer.Argument(help="The mission's short name, e.g. nhs.")],
    stocktake: Annotated[int | None, typer.Option(
        help="The stocktake's number (default: the latest meeting).")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write the pack as a PDF here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the pack as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """A stocktake's pack: the issued one as frozen, or a draft from the live data."""
    import json

    from missionboard.missions import service as missions
    from missionboard.stocktakes import pdf as pdf_render
    from missionboard.stocktakes import service as stocktakes

    with _unit_of_work(_settings(database_url)) as session:
        try:
            found = missions.get_mission(session, slug=mission, include_drafts=True)
            chosen = (stocktakes.get_stocktake(session, mission=found, stocktake_id=stocktake)
                      if stocktake is not None
                      else next(iter(stocktakes.list_stocktakes(session, mission=found)), None))
        except DomainError as exc:
            raise _fail(exc.detail) from None
        if chosen is None:
            raise _fail(f"The mission {mission!r} has no stocktakes yet")
        with console.status("Reading the pack" if chosen.is_issued else "Building the pack"):
            content = stocktakes.pack_of(session, chosen)
            issued = None if chosen.issued_at is None else {
                "at": chosen.issued_at.isoformat(), "by": chosen.issued_by,
                "sha256": chosen.pack_sha256}
            meeting = stocktakes.meeting_record(chosen, with_judgement=True)
            body = pdf_render.render_pack(content, issued=issued, meeting=meeting) if pdf else b""
        state = (f"issued {chosen.issued_at:%Y-%m-%d}, SHA-256 {chosen.pack_sha256}"
                 if chosen.issued_at else "draft, built from the live data")
    if pdf:
        pdf.write_bytes(body)
        err_console.print(f"Wrote {pdf} ({len(body):,} bytes): {chosen.title}, {state}.")
    if as_json:
        print(json.dumps(content, indent=1, ensure_ascii=False))  # noqa: T201
    elif not pdf:
        console.print(f"[bold]{chosen.title}[/] ({state}). Use --pdf FILE or --json.")


@app.command()
def trajectory(
    mission: Annotated[str, typer.Argument(help="The mission's short name, e.g. nhs.")],
    draws: Annotated[int, typer.Option(min=100, max=1_000_000,
                                       help="Monte Carlo draws.")] = 10_000,
    seed: Annotated[int | None, typer.Option(help="Default: each target's id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Does the strategy add up? Each target's projection from the mission's interventions."""
    import json

    from missionboard.delivery import service as delivery
    from missionboard.missions import service as missions

    with _unit_of_work(_settings(database_url)) as session:
        try:
            found = missions.get_mission(session, slug=mission, include_drafts=True)
        except DomainError as exc:
            raise _fail(exc.detail) from None
        targets = [t for o in found.outcomes for m in o.metrics for t in m.targets]
        results = []
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task("Projecting targets", total=len(targets))
            for target in dict.fromkeys(targets):
                results.append(delivery.trajectory_out(
                    delivery.trajectory(session, target=target, draws=draws, seed=seed)))
                progress.advance(task)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in results], indent=1))  # noqa: T201
        return
    for r in results:
        table = Table(title=f"{r.metric} ({r.area_code}): {r.target_value:,g} by {r.deadline}",
                      caption=f"Counterfactual: {r.counterfactual}; {r.draws:,} draws")
        table.add_column("Intervention")
        table.add_column("Mean effect at the deadline", justify="right")
        table.add_column("Counted", justify="right")
        table.add_column("Sensitivity", justify="right")
        for c in r.contributions:
            table.add_row(c.title, f"{c.mean_effect_at_deadline:,.1f}",
                          f"{c.optimism_factor:.0%}", f"{c.sensitivity * 100:+.1f} points")
        console.print(table)
        needed = (f"{r.additional_effect_needed:,.1f} more"
                  if r.additional_effect_needed > 0 else "nothing more: it adds up")
        console.print(f"Chance of meeting the target: [bold]{r.probability:.1%}[/]; expected "
                      f"gap {r.expected_gap:,.1f}; for an {r.required_probability:.0%} "
                      f"chance: {needed}.\n")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the web application (the schema must be up to date: `missionboard db upgrade`)."""
    import uvicorn

    from missionboard.web.app import create_app
    from missionboard.web.server import settle_heap

    settings = _settings(database_url)
    application = create_app(settings)
    settle_heap()
    console.print(f"Serving Missionboard on http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    database_url: DatabaseOption = None,
    serve_too: Annotated[bool, typer.Option("--serve/--no-serve",
                                            help="Serve the site after loading.")] = True,
) -> None:
    """Create ./missionboard.db, load the UK's five missions, and serve the site."""
    import os

    from missionboard.db import migrate
    from missionboard.demo import load_demo

    settings = _settings(database_url)
    migrate.upgrade(url=settings.database_url)
    password = os.environ.get("MISSIONBOARD_DEMO_PASSWORD") or secrets.token_urlsafe(12)
    with _unit_of_work(settings) as session:
        summary = load_demo(session, admin_email="admin@example.org", admin_password=password,
                            data_dir=settings.data_dir)
    if summary.loaded:
        console.print(f"Loaded the demo into {_redact(settings.database_url)}: "
                      f"{summary.missions} missions, {summary.metrics} metrics, "
                      f"{summary.targets} targets, {summary.observations} observations "
                      f"({summary.illustrative_observations} illustrative); "
                      f"{summary.unit_rows:,} rows of illustrative unit-level data in "
                      f"{settings.data_dir}; {summary.conversations} conversation with "
                      f"illustrative votes; {summary.panels} citizens' panel with illustrative "
                      "volunteers.")
        console.print(f"Sign in as [bold]admin@example.org[/] with the password "
                      f"[bold]{password}[/] (also editor@, publisher@, viewer@, lead@ and "
                      "nonexec@example.org).")
    else:
        console.print("The demo is already loaded; its sign-in details were printed the first "
                      "time. Reset a password with `missionboard users set-password "
                      "--email admin@example.org`, or use a new, empty database.")
    if serve_too:
        serve(host=host, port=port, database_url=settings.database_url)


def main() -> None:
    app()
