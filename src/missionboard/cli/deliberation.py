"""Commands for citizen deliberation: analyse a Pol.is export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from missionboard.cli import common

deliberation_app = typer.Typer(help="Citizen deliberation: opinion groups and common ground.",
                               no_args_is_help=True)


@deliberation_app.command("analyse")
def analyse_command(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, dir_okay=True,
                                           help="A Pol.is export folder (votes.csv, "
                                                "comments.csv).")],
    *,
    export_format: Annotated[str, typer.Option("--format", help="The export's format: polis.")]
    = "polis",
    k: Annotated[int | None, typer.Option("--k", min=2, max=5,
                                          help="Fix the number of groups.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the clustering.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Opinion groups, what represents each, and the common ground (the Pol.is method)."""
    import json

    from missionboard.analytics.deliberation import analyse
    from missionboard.analytics.polis_io import read_polis_export

    if export_format != "polis":
        raise common.fail(f"Unknown format {export_format!r}: the format is polis")
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
