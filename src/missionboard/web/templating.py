"""The Jinja2 environment: autoescaped, with each domain's templates and GOV.UK Frontend's."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from markupsafe import Markup

_PACKAGE = Path(__file__).resolve().parent.parent
DOMAINS = ("web", "accounts", "missions", "metrics", "delivery", "stocktakes", "benchmarking",
           "deliberation", "panels", "trials", "councils", "volunteering", "partners")


def _number(value: float | int | None, places: int | None = None) -> str:
    if value is None:
        return ""
    if places is None:
        if float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.1f}"
    return f"{value:,.{places}f}"


def _date(value: dt.date | dt.datetime | str | None) -> str:
    """A date for people; ISO strings (as in frozen stocktake packs) are dates too."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return value.strftime("%-d %B %Y %H:%M UTC")
    return value.strftime("%-d %B %Y")


def _json_script(value: Any) -> Markup:
    """JSON safe to place inside a <script type="application/json"> element."""
    text = json.dumps(value, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for a script context


def _humanise(value: object) -> str:
    text = str(getattr(value, "value", value))
    return text.replace("_", " ").capitalize()


def _error_message(field_errors: dict[str, str] | None, name: str) -> dict[str, str] | None:
    """The ``errorMessage`` parameter of a GOV.UK form component, or None."""
    if field_errors and name in field_errors:
        return {"text": field_errors[name]}
    return None


def create_environment() -> Environment:
    loaders: list[Any] = [FileSystemLoader(str(_PACKAGE / d / "templates")) for d in DOMAINS]
    loaders.append(PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja",
                                                                  "templates")}))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["date"] = _date
    env.filters["json_script"] = _json_script
    env.filters["humanise"] = _humanise
    env.globals["err"] = _error_message
    return env
