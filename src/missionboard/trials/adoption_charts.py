"""Vega-Lite specification for an adoption programme: the diffusion curve (the share of
eligible units adopting each month, and at full fidelity), the S-curve projection dashed, and
the target share as a rule. Series are told apart by dash as well as colour."""

from __future__ import annotations

from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA
from missionboard.trials.adoption import AdoptionSummary

ADOPTING = "Adopting"
FULL = "Adopting at full fidelity"
PROJECTED = "Projection (S-curve fit)"
SERIES = [ADOPTING, FULL, PROJECTED]
COLOURS = ["#1d70b8", "#00703c", "#505a5f"]
DASHES = [[1, 0], [6, 3], [2, 3]]


def diffusion_spec(summary: AdoptionSummary, *, target_share: float | None,
                   target_label: str = "") -> dict[str, Any]:
    values: list[dict[str, Any]] = []
    for p in summary.curve:
        values.append({"on": p.on.isoformat(), "share": p.share, "series": ADOPTING})
        values.append({"on": p.on.isoformat(), "share": p.full_fidelity_share, "series": FULL})
    values += [{"on": day.isoformat(), "share": share, "series": PROJECTED}
               for day, share in summary.projection.path]
    layers: list[dict[str, Any]] = [{
        "data": {"values": values},
        "mark": {"type": "line", "strokeWidth": 2},
        "encoding": {
            "x": {"field": "on", "type": "temporal", "title": "Month"},
            "y": {"field": "share", "type": "quantitative", "title": "Share of eligible units",
                  "scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}},
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {"domain": SERIES, "range": COLOURS},
                      "legend": {"orient": "bottom"}},
            "strokeDash": {"field": "series", "type": "nominal", "legend": None,
                           "scale": {"domain": SERIES, "range": DASHES}},
            "tooltip": [{"field": "series", "title": "Series"},
                        {"field": "on", "type": "temporal", "title": "Month",
                         "format": "%B %Y"},
                        {"field": "share", "type": "quantitative", "title": "Share",
                         "format": ".1%"}]}}]
    if target_share is not None:
        label = target_label or f"Target: {target_share:.0%}"
        layers.append({
            "data": {"values": [{"target": target_share, "label": label}]},
            "mark": {"type": "rule", "color": "#d4351c", "strokeWidth": 2},
            "encoding": {"y": {"field": "target", "type": "quantitative"},
                         "tooltip": {"field": "label"}}})
        layers.append({
            "data": {"values": [{"target": target_share, "label": label}]},
            "mark": {"type": "text", "align": "left", "dx": 4, "dy": -8, "color": "#d4351c",
                     "x": 0},
            "encoding": {"y": {"field": "target", "type": "quantitative"},
                         "text": {"field": "label"}}})
    return {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 320,
            "title": "Share of eligible units adopting, by month", "layer": layers}
