"""Vega-Lite specifications for a conversation: the opinion map and participation over time.
Groups are told apart by shape as well as colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA

GROUP_COLOURS = ["#1d70b8", "#d4351c", "#00703c", "#f47738", "#912b88"]
GROUP_SHAPES = ["circle", "square", "triangle-up", "diamond", "cross"]


def group_label(group: int | None) -> str:
    """Groups are numbered from 0 in the analysis and lettered for people: A, B, C…"""
    return "Not grouped" if group is None else f"Group {chr(ord('A') + group)}"


def opinion_map(result: Mapping[str, Any], *, you: tuple[float, float] | None = None
                ) -> dict[str, Any]:
    """Participants (a sample) on the map's two axes, coloured and shaped by group, with each
    group's centre labelled."""
    plan = result.get("map") or {}
    groups = sorted({int(g["id"]) for g in plan.get("groups", [])})
    labels = [group_label(g) for g in groups]
    points = [{"x": p["x"], "y": p["y"], "group": group_label(p.get("group"))}
              for p in plan.get("participants", []) if p.get("group") is not None]
    centres = [{"x": g["x"], "y": g["y"], "group": group_label(int(g["id"])),
                "label": f"{group_label(int(g['id']))} ({g['size']})"}
               for g in plan.get("groups", [])]
    colour = {"field": "group", "type": "nominal", "title": "Opinion group",
              "scale": {"domain": labels, "range": GROUP_COLOURS[:len(labels)]}}
    layers: list[dict[str, Any]] = [
        {"data": {"values": points}, "mark": {"type": "point", "filled": True, "opacity": 0.35,
                                              "size": 30},
         "encoding": {"x": {"field": "x", "type": "quantitative", "axis": None},
                      "y": {"field": "y", "type": "quantitative", "axis": None},
                      "color": colour,
                      "shape": {"field": "group", "type": "nominal",
                                "scale": {"domain": labels,
                                          "range": GROUP_SHAPES[:len(labels)]},
                                "legend": None}}},
        {"data": {"values": centres}, "mark": {"type": "text", "fontSize": 14,
                                               "fontWeight": "bold", "dy": -12},
         "encoding": {"x": {"field": "x", "type": "quantitative"},
                      "y": {"field": "y", "type": "quantitative"},
                      "text": {"field": "label"}, "color": colour}},
    ]
    if you is not None:
        layers.append({"data": {"values": [{"x": you[0], "y": you[1], "label": "You"}]},
                       "mark": {"type": "point", "shape": "diamond", "size": 200,
                                "filled": True, "color": "#0b0c0c"},
                       "encoding": {"x": {"field": "x", "type": "quantitative"},
                                    "y": {"field": "y", "type": "quantitative"},
                                    "tooltip": {"field": "label"}}})
    return {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 320,
            "title": "Opinion map: people near each other voted alike", "layer": layers}


def participation(days: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Votes cast each day, with new participants as a second line."""
    values = []
    for day in days:
        values.append({"date": str(day["date"]), "count": day["votes"], "series": "Votes"})
        values.append({"date": str(day["date"]), "count": day["participants"],
                       "series": "New participants"})
    return {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 220,
            "data": {"values": values},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": {"field": "date", "type": "temporal", "title": "Day"},
                "y": {"field": "count", "type": "quantitative", "title": "Count"},
                "color": {"field": "series", "type": "nominal", "title": None,
                          "scale": {"range": ["#1d70b8", "#f47738"]}},
                "strokeDash": {"field": "series", "type": "nominal", "legend": None}}}
