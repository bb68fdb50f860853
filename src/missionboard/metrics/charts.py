"""Vega-Lite specifications for metric charts (drawn in the browser by vega-embed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from missionboard.metrics.models import Metric, Observation
from missionboard.metrics.service import TargetView

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


def actuals_and_path(
    *, metric: Metric, observations: Sequence[Observation], target: TargetView | None
) -> dict[str, Any]:
    """Actual values (with confidence intervals where given) against the required path."""
    rows: list[dict[str, Any]] = [
        {"date": o.period_end.isoformat(), "value": o.value, "lower": o.lower, "upper": o.upper,
         "series": "Actual (illustrative)" if o.illustrative else "Actual",
         "period": o.period_label}
        for o in observations
    ]
    if target is not None:
        rows += [
            {"date": d.isoformat(), "value": v, "series": "Required path", "period": ""}
            for d, v in zip(target.path.dates, target.path.values, strict=True)
        ]
    series_domain = ["Actual", "Actual (illustrative)", "Required path"]
    colours = ["#1d70b8", "#b58840", "#505a5f"]
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "line", "point": True},
            "transform": [{"filter": "datum.series != 'Required path'"}],
            "encoding": {"color": {"field": "series", "type": "nominal",
                                   "scale": {"domain": series_domain, "range": colours},
                                   "title": None}},
        },
        {
            "mark": {"type": "line", "strokeDash": [6, 4]},
            "transform": [{"filter": "datum.series == 'Required path'"}],
            "encoding": {"color": {"field": "series", "type": "nominal",
                                   "scale": {"domain": series_domain, "range": colours},
                                   "title": None}},
        },
    ]
    if any(o.lower is not None and o.upper is not None for o in observations):
        layers.append({
            "mark": {"type": "rule"},
            "transform": [{"filter": "datum.lower != null && datum.upper != null"}],
            "encoding": {"y": {"field": "lower", "type": "quantitative"},
                         "y2": {"field": "upper"}, "color": {"value": "#1d70b8"}},
        })
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 300,
        "data": {"values": rows},
        "encoding": {
            "x": {"field": "date", "type": "temporal", "title": "Period end"},
            "y": {"field": "value", "type": "quantitative", "title": metric.unit,
                  "scale": {"zero": False}},
            "tooltip": [{"field": "series"}, {"field": "period", "title": "Period"},
                        {"field": "date", "type": "temporal"},
                        {"field": "value", "type": "quantitative", "format": ",.4~g"}],
        },
        "layer": layers,
    }
