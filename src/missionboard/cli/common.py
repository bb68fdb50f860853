"""What every command shares: consoles, settings, one transaction, errors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from missionboard.config import Settings, get_settings
from missionboard.errors import ValidationFailed

console = Console()
err_console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides MISSIONBOARD_DATABASE_URL.")
]


def settings(database_url: str | None, **overrides: object) -> Settings:
    if database_url:
        overrides["database_url"] = database_url
    return get_settings(**overrides)


@contextmanager
def unit_of_work(settings: Settings) -> Iterator[Session]:
    """One transaction on a fresh engine, disposed of afterwards."""
    from missionboard.db import session as db_session

    engine = db_session.create_db_engine(settings.database_url)
    try:
        with db_session.unit_of_work(db_session.create_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {message}")
    return typer.Exit(code=1)


def print_errors(exc: ValidationFailed) -> None:
    table = Table(title=f"{len(exc.errors)} error(s): nothing was imported", width=100)
    table.add_column("Row", justify="right")
    table.add_column("Column")
    table.add_column("Problem")
    for error in exc.errors:
        table.add_row("" if error.row is None else str(error.row), error.field, error.message)
    err_console.print(table)


def read_csv(file: Path) -> list[dict[str, str]]:
    with file.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))
