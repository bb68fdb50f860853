"""Commands for citizen deliberation: analyse a Pol.is export; import and export Pol.is
conversations; re-analyse conversations (once, or as a worker process)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from missionboard.cli import common

FormatOption = Annotated[str, typer.Option("--format", help="The export's format: polis.")]

deliberation_app = typer.Typer(help="Citizen deliberation: opinion groups and common ground.",
                               no_args_is_help=True)


def _polis_only(export_format: str) -> None:
    if export_format != "polis":
        raise common.fail(f"Unknown format {export_format!r}: the format is polis")


@deliberation_app.command("analyse")
def analyse_command(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, dir_okay=True,
                                           help="A Pol.is export folder (votes.csv, "
                                                "comments.csv).")],
    *,
    export_format: FormatOption = "polis",
    k: Annotated[int | None, typer.Option("--k", min=2, max=5,
                                          help="Fix the number of groups.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the clustering.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Opinion groups, what represents each, and the common ground (the Pol.is method)."""
    import json

    from missionboard.analytics.deliberation import analyse
    from missionboard.analytics.polis_io import read_polis_export

    _polis_only(export_format)
    try:
        export = read_polis_export(folder)
        with common.err_console.status(f"Analysing {folder.name}"):
            result = analyse(export.votes, k=k, seed=seed,
                             moderated_out=export.moderated_out, meta=export.meta)
    except (ValueError, OSError) as exc:
        raise common.fail(str(exc)) from None
    if as_json:
        print(json.dumps(result.to_json(), indent=1, ensure_ascii=False))  # noqa: T201
        return
    grouped = sum(g is not None for g in result.participants.values())
    common.console.print(f"{folder.name}: {len(result.participants):,} participants, "
                         f"{grouped:,} in {result.k} groups.")
    for group in result.groups:
        top = ", ".join(f"{r.statement} ({r.direction})" for r in group.representative[:5])
        common.console.print(f"  Group {group.id}: {group.size} people; representative: {top}")
    common.console.print("Common ground (agree): " + ", ".join(
        str(c.statement) for c in result.consensus.agree[:5]))


@deliberation_app.command("import")
def import_command(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, dir_okay=True,
                                           help="A Pol.is export folder.")],
    *,
    mission: Annotated[str, typer.Option(help="The mission the conversation belongs to.")],
    slug: Annotated[str | None, typer.Option(
        help="The conversation's slug (default: from the folder's name).")] = None,
    title: Annotated[str | None, typer.Option(
        help="The conversation's title (default: the export's topic).")] = None,
    export_format: FormatOption = "polis",
    database_url: common.DatabaseOption = None,
) -> None:
    """Import a Pol.is conversation, all or nothing, then analyse it afresh."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from missionboard.deliberation.polis import import_conversation
    from missionboard.deliberation.worker import analyse_conversation
    from missionboard.errors import DomainError, ValidationFailed
    from missionboard.missions.service import get_mission

    _polis_only(export_format)
    settings = common.settings(database_url)
    try:
        with common.unit_of_work(settings) as session:
            target = get_mission(session, slug=mission, include_drafts=True)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=common.err_console) as progress:
                task = progress.add_task(f"Importing the votes of {folder.name}", total=None)

                def report(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                summary = import_conversation(session, folder, mission=target, slug=slug,
                                              title=title, progress=report)
            conversation_id, conversation_slug = (summary.conversation.id,
                                                  summary.conversation.slug)
    except ValidationFailed as exc:
        common.err_console.print(f"{len(exc.errors)} error(s): nothing was imported")
        for error in exc.errors:
            where = error.field if error.row is None else f"{error.field}, row {error.row}"
            common.err_console.print(f"  {where}: {error.message}", markup=False,
                                     highlight=False)
        raise typer.Exit(code=1) from None
    except DomainError as exc:
        raise common.fail(exc.detail) from None
    common.console.print(
        f"Imported {folder.name} as {conversation_slug} (mission {mission}): "
        f"{summary.statements:,} statements ({summary.accepted:,} accepted, "
        f"{summary.rejected:,} moderated out, {summary.pending:,} unmoderated), "
        f"{summary.participants:,} participants, {summary.votes:,} votes.")
    with common.err_console.status(f"Analysing {conversation_slug}"):
        outcome = analyse_conversation(settings.database_url, conversation_id, cold=True)
    if outcome is not None:
        common.console.print(f"Analysed: {outcome.k} groups, {outcome.n_grouped:,} people "
                             f"grouped ({outcome.seconds:.1f} s).")


@deliberation_app.command("export")
def export_command(
    slug: Annotated[str, typer.Argument(help="The conversation's slug.")],
    folder: Annotated[Path, typer.Argument(file_okay=False, dir_okay=True,
                                           help="The folder to write (created if need be).")],
    *,
    export_format: FormatOption = "polis",
    database_url: common.DatabaseOption = None,
) -> None:
    """Write a conversation as a Pol.is export: votes, comments, participants-votes (with the
    latest analysis's groups) and summary."""
    from missionboard.deliberation import service
    from missionboard.deliberation.polis import export_conversation
    from missionboard.errors import DomainError

    _polis_only(export_format)
    try:
        with common.unit_of_work(common.settings(database_url)) as session:
            conversation = service.get_conversation(session, slug=slug, include_drafts=True)
            export_conversation(session, conversation, folder)
    except DomainError as exc:
        raise common.fail(exc.detail) from None
    except (OSError, ValueError) as exc:
        raise common.fail(str(exc)) from None
    common.console.print(f"Wrote {slug} to {folder} in Pol.is's format.")


@deliberation_app.command("recompute")
def recompute_command(
    slug: Annotated[str | None, typer.Argument(
        help="Only this conversation, whether or not it is due.")] = None,
    *,
    cold: Annotated[bool, typer.Option(
        "--cold", help="Start afresh, without the last run's state (with --loop: every run).",
    )] = False,
    loop: Annotated[bool, typer.Option(
        "--loop", help="Run forever, analysing conversations as votes arrive (a worker "
                       "process; set MISSIONBOARD_DELIBERATION_WORKER=false for the web app)."
    )] = False,
    interval: Annotated[float | None, typer.Option(
        min=0.0, help="Seconds between passes with --loop (default: "
                      "MISSIONBOARD_DELIBERATION_INTERVAL_SECONDS, 5).")] = None,
    database_url: common.DatabaseOption = None,
) -> None:
    """Analyse the conversations with new votes or moderation since their last analysis."""
    from sqlalchemy import select

    from missionboard.deliberation import service
    from missionboard.deliberation.models import Conversation
    from missionboard.deliberation.worker import BackgroundAnalyser, analyse_conversation, due
    from missionboard.errors import DomainError

    settings = common.settings(database_url)
    if loop:
        if slug is not None:
            raise common.fail("Give a conversation or --loop, not both")
        analyser = BackgroundAnalyser(
            settings.database_url, cold=cold,
            interval=settings.deliberation_interval_seconds if interval is None else interval)
        common.err_console.print("Analysing conversations as votes arrive; Ctrl-C stops.")
        try:
            analyser.run_forever()
        except KeyboardInterrupt:
            analyser.stop()
        return
    try:
        with common.unit_of_work(settings) as session:
            ids = ([service.get_conversation(session, slug=slug, include_drafts=True).id]
                   if slug is not None else due(session))
            slugs = dict(session.execute(select(Conversation.id, Conversation.slug)
                                         .where(Conversation.id.in_(ids))).all())
    except DomainError as exc:
        raise common.fail(exc.detail) from None
    if not ids:
        common.console.print("No conversation is due for analysis.")
    for conversation_id in ids:
        with common.err_console.status(f"Analysing {slugs[conversation_id]}"):
            outcome = analyse_conversation(settings.database_url, conversation_id, cold=cold)
        if outcome is None:
            common.console.print(f"{slugs[conversation_id]}: being analysed elsewhere.")
            continue
        common.console.print(
            f"{slugs[conversation_id]}: {outcome.n_votes:,} votes, {outcome.k} groups, "
            f"{outcome.n_grouped:,} people grouped ({'warm' if outcome.warm else 'cold'}, "
            f"{outcome.seconds:.1f} s).")
