"""Vega-Lite specification for a trial's results: the forest plot of every estimate, each
with its interval and a dashed line at no effect. Each row has its own scale, as outcomes
are in their own units (binary outcomes in percentage points)."""

from __future__ import annotations

from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA
from missionboard.trials.results import TrialResults

COLOUR = "#1d70b8"
ZERO = "#505a5f"


def forest_rows(results: TrialResults) -> list[dict[str, Any]]:
    """One row per estimate: the label, the effect and its interval in display units."""
    rows = []
    several_arms = len({a.arm for a in results.analyses}) > 1
    for order, a in enumerate(results.analyses):
        if a.estimate is None:
            continue
        scale = 100.0 if a.kind == "binary" else 1.0
        label = a.title + (f" ({a.arm_label})" if several_arms else "")
        rows.append({"label": label, "order": order, "role": a.role.value,
                     "effect": a.estimate.effect * scale, "low": a.estimate.ci_low * scale,
                     "high": a.estimate.ci_high * scale,
                     "unit": "percentage points" if a.kind == "binary" else "outcome units",
                     "analysis": a.classification.label})
    return rows


def forest_spec(results: TrialResults) -> dict[str, Any]:
    level = next((a.estimate.level for a in results.analyses if a.estimate), 0.95)
    interval = f"{level:.0%} CI"
    point_tooltip = [{"field": "label", "title": "Outcome"},
                     {"field": "effect", "title": "Effect", "format": ".3~f"},
                     {"field": "low", "title": f"{interval} from", "format": ".3~f"},
                     {"field": "high", "title": "to", "format": ".3~f"},
                     {"field": "unit", "title": "Units"},
                     {"field": "analysis", "title": "Analysis"}]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "title": f"Effect of each outcome with its {interval}",
        "data": {"values": forest_rows(results)},
        "facet": {"row": {"field": "label", "type": "nominal", "sort": {"field": "order"},
                          "title": None,
                          "header": {"labelAngle": 0, "labelAlign": "left",
                                     "labelLimit": 320}}},
        "spec": {
            "width": 440, "height": 36,
            "layer": [
                {"mark": {"type": "rule", "strokeDash": [4, 3], "color": ZERO, "aria": False},
                 "encoding": {"x": {"datum": 0}}},
                {"mark": {"type": "rule", "strokeWidth": 2, "color": COLOUR},
                 "encoding": {"x": {"field": "low", "type": "quantitative",
                                    "title": "Effect (percentage points for shares)"},
                              "x2": {"field": "high"}}},
                {"mark": {"type": "point", "filled": True, "size": 90, "shape": "square",
                          "color": COLOUR},
                 "encoding": {"x": {"field": "effect", "type": "quantitative"},
                              "tooltip": point_tooltip}},
            ]},
        "resolve": {"scale": {"x": "independent"}},
    }
