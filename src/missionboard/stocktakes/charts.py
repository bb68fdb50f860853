"""Vega-Lite specifications for stocktakes: a pack's fan chart and the judgement timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA, fan_spec
from missionboard.stocktakes.framework import RATING_LABELS
from missionboard.stocktakes.models import Rating

RATING_COLOURS = {Rating.GREEN: "#00703c", Rating.AMBER_GREEN: "#85994b",
                  Rating.AMBER_RED: "#f47738", Rating.RED: "#d4351c"}


def pack_fan(row: Mapping[str, Any]) -> dict[str, Any]:
    """A headline target's projection as frozen in the pack, against its required path."""
    bands = [{"date": b["month"], **{k: b[k] for k in ("p10", "p25", "p50", "p75", "p90")}}
             for b in row["fan"]]
    return fan_spec(bands, path=row["path"], unit=row["unit"], height=220)


def judgement_timeline(points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The overall judgement at each stocktake: ``points`` have ``date`` and ``rating``."""
    order = list(Rating)
    values = [{"date": p["date"], "rating": RATING_LABELS[Rating(p["rating"])],
               "level": len(order) - order.index(Rating(p["rating"]))} for p in points]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 160,
        "data": {"values": values},
        "layer": [
            {"mark": {"type": "line", "color": "#b1b4b6"}},
            {"mark": {"type": "point", "filled": True, "size": 160, "opacity": 1},
             "encoding": {"color": {
                 "field": "rating", "type": "nominal", "title": "Likelihood of delivery",
                 "scale": {"domain": [RATING_LABELS[r] for r in order],
                           "range": [RATING_COLOURS[r] for r in order]}}}},
        ],
        "encoding": {
            "x": {"field": "date", "type": "temporal", "title": "Stocktake",
                  "scale": {"padding": 16}, "axis": {"format": "%b %Y", "tickCount": "month"}},
            "y": {"field": "level", "type": "quantitative", "title": None,
                  "scale": {"domain": [0.5, len(order) + 0.5]},
                  "axis": {"values": list(range(1, len(order) + 1)),
                           "labelExpr": "['', 'Red', 'Amber-red', 'Amber-green', "
                                        "'Green'][datum.value]"}},
        },
    }
