"""Vega-Lite specifications for trajectories: the fan chart and the waterfall."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from missionboard.delivery.service import TrajectoryView
from missionboard.metrics.models import Observation
from missionboard.metrics.service import TargetView

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


def fan_chart(view: TrajectoryView, *, required: TargetView,
              actuals: Sequence[Observation]) -> dict[str, Any]:
    """The projection's 10–90% and 25–75% bands and median, the required path and actuals."""
    p = view.projection
    q = {level: p.quantile(level) for level in (0.1, 0.25, 0.5, 0.75, 0.9)}
    bands = [
        {"date": d.isoformat(), "p10": float(q[0.1][t]), "p25": float(q[0.25][t]),
         "p50": float(q[0.5][t]), "p75": float(q[0.75][t]), "p90": float(q[0.9][t])}
        for t, d in enumerate(view.months)
    ]
    path = [{"date": d.isoformat(), "value": v}
            for d, v in zip(required.path.dates, required.path.values, strict=True)]
    actual = [{"date": o.period_end.isoformat(), "value": o.value} for o in actuals]
    return fan_spec(bands, path=path, actuals=actual, unit=required.target.metric.unit)


def fan_spec(bands: Sequence[Mapping[str, Any]], *, path: Sequence[Mapping[str, Any]],
             actuals: Sequence[Mapping[str, Any]] = (), unit: str, height: int = 300
             ) -> dict[str, Any]:
    """A fan chart from plain data: ``bands`` have ``date`` and ``p10``…``p90``; ``path`` and
    ``actuals`` have ``date`` and ``value``."""
    lines = [{**p, "series": "Required path"} for p in path]
    lines += [{"date": b["date"], "value": b["p50"], "series": "Projection (median)"}
              for b in bands]
    points = [{**a, "series": "Actual"} for a in actuals]
    domain = ["Projection (median)", "Required path"] + (["Actual"] if points else [])
    colours = ["#1d70b8", "#505a5f", "#d4351c"][:len(domain)]
    colour = {"field": "series", "type": "nominal", "title": None,
              "scale": {"domain": domain, "range": colours}}
    x = {"field": "date", "type": "temporal", "title": None}
    layers: list[dict[str, Any]] = [
        {"data": {"values": list(bands)}, "mark": {"type": "area", "opacity": 0.2,
                                                   "color": "#1d70b8"},
         "encoding": {"x": x, "y": {"field": "p10", "type": "quantitative", "title": unit,
                                    "scale": {"zero": False}},
                      "y2": {"field": "p90"}}},
        {"data": {"values": list(bands)}, "mark": {"type": "area", "opacity": 0.35,
                                                   "color": "#1d70b8"},
         "encoding": {"x": x, "y": {"field": "p25", "type": "quantitative"},
                      "y2": {"field": "p75"}}},
        {"data": {"values": lines}, "mark": {"type": "line"},
         "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"},
                      "color": colour,
                      "strokeDash": {"field": "series", "type": "nominal", "legend": None,
                                     "scale": {"domain": domain[:2],
                                               "range": [[1, 0], [6, 4]]}}}},
    ]
    if points:
        layers.append({"data": {"values": points}, "mark": {"type": "point", "filled": True},
                       "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"},
                                    "color": colour}})
    return {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": height,
            "layer": layers}


def waterfall(view: TrajectoryView) -> dict[str, Any]:
    """Each intervention's mean contribution at the deadline, as horizontal bars."""
    rows = [{"intervention": i.title, "contribution": float(c)}
            for i, c in zip(view.interventions, view.projection.contributions, strict=True)]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "data": {"values": rows},
        "mark": {"type": "bar", "color": "#1d70b8"},
        "encoding": {
            "y": {"field": "intervention", "type": "nominal", "sort": "-x", "title": None,
                  "axis": {"labelLimit": 320}},
            "x": {"field": "contribution", "type": "quantitative",
                  "title": f"Mean effect at the deadline ({view.target.metric.unit})"},
        },
    }
