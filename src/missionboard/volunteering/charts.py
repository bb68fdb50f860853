"""Vega-Lite specification for the public counts: volunteers' confirmed hours by mission, a
horizontal bar chart (the table beside it on the page holds the same numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from missionboard.delivery.charts import VEGA_LITE_SCHEMA


class _Row(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def hours_confirmed(self) -> float: ...

    @property
    def signed_up(self) -> int: ...


def hours_by_mission(rows: Sequence[_Row]) -> dict[str, Any]:
    values = [{"mission": r.name, "hours": round(r.hours_confirmed, 2), "people": r.signed_up}
              for r in rows]
    return {
        "$schema": VEGA_LITE_SCHEMA, "width": "container", "height": {"step": 32},
        "title": "Volunteers' confirmed hours, by mission",
        "data": {"values": values},
        "mark": {"type": "bar", "color": "#1d70b8"},
        "encoding": {
            "y": {"field": "mission", "type": "nominal", "title": None, "sort": None,
                  "axis": {"labelLimit": 320}},
            "x": {"field": "hours", "type": "quantitative", "title": "Hours confirmed"},
            "tooltip": [{"field": "mission", "title": "Mission"},
                        {"field": "hours", "type": "quantitative", "title": "Hours confirmed",
                         "format": ",.1f"},
                        {"field": "people", "type": "quantitative", "title": "People signed up",
                         "format": ","}]},
    }
