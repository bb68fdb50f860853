"""Vega-Lite specifications for partners' commitments: a tile-grid map of the UK's nations and
English regions (positions defined here: no geometry is downloaded) and a commitment's progress
against the straight line to its pledge. Each is shown beside a table of the same data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA
from missionboard.partners.models import CommitmentKind
from missionboard.partners.register import Totals

#: Each tile: the area's GSS code → (column, row, short label). Roughly where each nation and
#: English region lies, one square each, as in the ONS's and the BBC's tile maps.
TILES: dict[str, tuple[int, int, str]] = {
    "S92000003": (2, 0, "Scot"),
    "N92000002": (0, 1, "NI"),
    "E12000001": (3, 1, "NE"),
    "E12000002": (2, 2, "NW"),
    "E12000003": (3, 2, "Y&H"),
    "W92000004": (1, 3, "Wales"),
    "E12000005": (2, 3, "WM"),
    "E12000004": (3, 3, "EM"),
    "E12000006": (4, 3, "East"),
    "E12000009": (1, 4, "SW"),
    "E12000008": (2, 4, "SE"),
    "E12000007": (3, 4, "Lon"),
}
TILE_NAMES: dict[str, str] = {
    "S92000003": "Scotland", "N92000002": "Northern Ireland", "E12000001": "North East",
    "E12000002": "North West", "E12000003": "Yorkshire and The Humber", "W92000004": "Wales",
    "E12000005": "West Midlands", "E12000004": "East Midlands", "E12000006": "East of England",
    "E12000009": "South West", "E12000008": "South East", "E12000007": "London",
}
_STEP = 64


def tile_values(by_area: Sequence[Totals]) -> list[dict[str, Any]]:
    """One record per tile, with the commitments tied to that area (zero where none)."""
    found = {t.code: t for t in by_area}
    values = []
    for code, (col, row, short) in TILES.items():
        t = found.get(code)
        values.append({"code": code, "name": TILE_NAMES[code], "short": short, "col": col,
                       "row": row, "commitments": t.commitments if t else 0,
                       "pledged_money": t.pledged_money if t else 0.0,
                       "delivered_money": t.delivered_money if t else 0.0})
    return values


def tile_map(by_area: Sequence[Totals]) -> dict[str, Any]:
    """Commitments by nation and English region, as a grid of equal squares shaded by the
    number of commitments. The labels are decorative (the table carries the names)."""
    values = tile_values(by_area)
    top = max((v["commitments"] for v in values), default=0)
    x = {"field": "col", "type": "ordinal", "axis": None}
    y = {"field": "row", "type": "ordinal", "axis": None}
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "description": "Tile map of the UK's nations and English regions, each square shaded "
                       "by the number of partners' commitments tied to it",
        "width": {"step": _STEP}, "height": {"step": _STEP},
        "data": {"values": values},
        "config": {"view": {"stroke": None}},
        "layer": [
            {"mark": {"type": "rect", "stroke": "#ffffff", "strokeWidth": 3},
             "encoding": {
                 "x": x, "y": y,
                 "color": {"field": "commitments", "type": "quantitative",
                           "title": "Commitments",
                           "scale": {"domain": [0, max(top, 1)],
                                     "range": ["#f3f2f1", "#003078"]},
                           "legend": {"orient": "bottom", "direction": "horizontal"}},
                 "tooltip": [{"field": "name", "title": "Area"},
                             {"field": "commitments", "title": "Commitments"},
                             {"field": "pledged_money", "title": "Money pledged (£)",
                              "format": ",.0f"},
                             {"field": "delivered_money", "title": "Money spent (£)",
                              "format": ",.0f"}]}},
            {"mark": {"type": "text", "fontSize": 12, "fontWeight": "bold", "aria": False},
             "encoding": {
                 "x": x, "y": y, "text": {"field": "short"},
                 "color": {"condition": {"test": f"datum.commitments > {top / 2}",
                                         "value": "#ffffff"},
                           "value": "#0b0c0c"}}},
        ],
    }


def progress_spec(*, kind: CommitmentKind, unit: str, start_on: dt.date,
                  deadline: dt.date | None, baseline: float | None, pledge: float | None,
                  points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The reported level (a target) or the running total (money, hours) at each report, and
    the straight line from the start to the pledge at the deadline. ``points`` have ``date``
    and ``value``."""
    axis = {CommitmentKind.MONEY: "Money spent so far (£)",
            CommitmentKind.TIME: "Hours given so far"}.get(kind, unit or "Value")
    reported = [{"date": p["date"], "value": p["value"], "series": "Reported"}
                for p in points]
    layers: list[dict[str, Any]] = []
    domain, colours, dashes = ["Reported"], ["#1d70b8"], [[1, 0]]
    if deadline is not None and pledge is not None:
        start = baseline if baseline is not None else 0.0
        path = [{"date": start_on.isoformat(), "value": start, "series": "Straight line to "
                                                                           "the pledge"},
                {"date": deadline.isoformat(), "value": pledge, "series": "Straight line to "
                                                                          "the pledge"}]
        domain.append("Straight line to the pledge")
        colours.append("#505a5f")
        dashes.append([6, 4])
        layers.append({"data": {"values": path}, "mark": {"type": "line"},
                       "encoding": {"x": {"field": "date", "type": "temporal"},
                                    "y": {"field": "value", "type": "quantitative"}}})
    colour = {"field": "series", "type": "nominal", "title": None,
              "scale": {"domain": domain, "range": colours}, "legend": {"orient": "bottom"}}
    dash = {"field": "series", "type": "nominal", "legend": None,
            "scale": {"domain": domain, "range": dashes}}
    for layer in layers:
        layer["encoding"].update(color=colour, strokeDash=dash)
    layers.append({"data": {"values": reported}, "mark": {"type": "line", "point": True},
                   "encoding": {
                       "x": {"field": "date", "type": "temporal", "title": None},
                       "y": {"field": "value", "type": "quantitative", "title": axis,
                             "scale": {"zero": False}},
                       "color": colour, "strokeDash": dash,
                       "tooltip": [{"field": "date", "type": "temporal", "title": "Period end",
                                    "format": "%-d %B %Y"},
                                   {"field": "value", "type": "quantitative", "title": axis,
                                    "format": ",.4~f"}]}})
    return {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 260,
            "description": f"{axis} at each progress report, and the straight line from the "
                           "start to the pledge at the deadline",
            "layer": layers}
