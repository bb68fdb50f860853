"""Vega-Lite specifications for comparing units: the funnel plot, a unit's SPC chart and its
spine chart. Colours are not red/amber/green: being outside a limit is a reason to look, not
a verdict (as FunnelPlotR's colours deliberately avoid RAG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from missionboard.analytics.spc import XmRChart
from missionboard.benchmarking.compare import Comparison
from missionboard.delivery.charts import VEGA_LITE_SCHEMA

BANDS = {2: "Better than expected (99.8%)", 1: "Better than expected (95%)",
         0: "As expected", -1: "Worse than expected (95%)", -2: "Worse than expected (99.8%)"}
BAND_COLOURS = {2: "#1d70b8", 1: "#5694ca", 0: "#b1b4b6", -1: "#f499be", -2: "#912b88"}


CAUSES = ["Common cause", "Special cause: improvement high",
          "Special cause: improvement low", "Special cause: concern high",
          "Special cause: concern low", "Special cause: neither high",
          "Special cause: neither low"]
CAUSE_COLOURS = ["#b1b4b6", "#1d70b8", "#1d70b8", "#f47738", "#f47738", "#912b88", "#912b88"]


def funnel_chart(comparison: Comparison, names: Mapping[str, str], *, multiplier: float
                 ) -> dict[str, Any]:
    """Every unit's value against its denominator, with the 95% and 99.8% limits."""
    limits = comparison.limits
    lines = []
    for j, level in enumerate(limits.levels):
        label = f"{level * 100:g}% limits"
        for side, values in (("lower", limits.lower[j]), ("upper", limits.upper[j])):
            lines += [{"x": float(x), "value": float(v) * multiplier, "limit": label,
                       "side": f"{label} {side}"}
                      for x, v in zip(limits.x, values, strict=True)]
    centre = [{"x": float(x), "value": limits.centre * multiplier, "limit": "Centre",
               "side": "centre"} for x in (limits.x[0], limits.x[-1])]
    points = [{"unit": names.get(r.code, r.code), "code": r.code, "x": r.denominator,
               "value": r.value * multiplier, "band": BANDS[r.better]}
              for r in comparison.rows]
    x = {"field": "x", "type": "quantitative", "title": comparison.unit_metric.denominator_label,
         "scale": {"type": "log"}}
    y = {"field": "value", "type": "quantitative", "title": comparison.unit_metric.metric.unit,
         "scale": {"zero": False}}
    return {
        "$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 360,
        "layer": [
            {"data": {"values": lines + centre}, "mark": {"type": "line", "strokeWidth": 1},
             "encoding": {"x": x, "y": y, "detail": {"field": "side"},
                          "strokeDash": {"field": "limit", "type": "nominal", "title": None,
                                         "scale": {"domain": ["Centre", "95% limits",
                                                              "99.8% limits"],
                                                   "range": [[1, 0], [4, 3], [1, 2]]}},
                          "color": {"value": "#505a5f"}}},
            {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 40},
             "encoding": {"x": x, "y": y,
                          "color": {"field": "band", "type": "nominal", "title": None,
                                    "scale": {"domain": list(BANDS.values()),
                                              "range": list(BAND_COLOURS.values())}},
                          "tooltip": [{"field": "unit", "title": "Unit"},
                                      {"field": "value", "title": "Value", "format": ",.2f"},
                                      {"field": "x", "title": "Denominator", "format": ",.0f"},
                                      {"field": "band", "title": "Compared with peers"}]}},
        ],
    }


def spc_chart(periods: Sequence[str], chart: XmRChart, *, multiplier: float, unit: str
              ) -> dict[str, Any]:
    """The unit's values with the mean, process limits and special causes marked."""
    points = [{"period": periods[p.period], "value": p.value * multiplier,
               "cause": ("Special cause: " + p.variation.replace("_", " ")) if p.special_cause
               else "Common cause"} for p in chart.points]
    rules = [{"y": v * multiplier, "line": name} for name, v in
             (("Mean", chart.mean), ("Upper process limit", chart.upper),
              ("Lower process limit", chart.lower))]
    x = {"field": "period", "type": "ordinal", "title": None, "sort": list(periods)}
    return {
        "$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 220,
        "layer": [
            {"data": {"values": rules}, "mark": {"type": "rule", "strokeDash": [4, 3]},
             "encoding": {"y": {"field": "y", "type": "quantitative"},
                          "color": {"value": "#505a5f"}}},
            {"data": {"values": points}, "mark": {"type": "line", "color": "#b1b4b6"},
             "encoding": {"x": x, "y": {"field": "value", "type": "quantitative",
                                        "title": unit, "scale": {"zero": False}}}},
            {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 50},
             "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"},
                          "color": {"field": "cause", "type": "nominal", "title": None,
                                    "scale": {"domain": CAUSES, "range": CAUSE_COLOURS}},
                          "tooltip": [{"field": "period"}, {"field": "value", "format": ",.2f"},
                                      {"field": "cause"}]}},
        ],
    }


def spine_chart(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per metric: the range of units (worst to best), the middle half, the centre and this
    unit, each as a percentile of its peers (0 worst, 100 best)."""
    return {
        "$schema": VEGA_LITE_SCHEMA, "width": "container", "height": max(90, 36 * len(rows)),
        "data": {"values": list(rows)},
        "encoding": {"y": {"field": "metric", "type": "nominal", "title": None,
                           "axis": {"labelLimit": 260}}},
        "layer": [
            {"mark": {"type": "bar", "color": "#f3f2f1", "height": 14},
             "encoding": {"x": {"datum": 0, "type": "quantitative",
                                "scale": {"domain": [0, 100]},
                                "title": "Position among peers (0 worst, 100 best)"},
                          "x2": {"datum": 100}}},
            {"mark": {"type": "bar", "color": "#b1b4b6", "height": 14},
             "encoding": {"x": {"datum": 25, "type": "quantitative"}, "x2": {"datum": 75}}},
            {"mark": {"type": "tick", "color": "#0b0c0c", "thickness": 2, "size": 20},
             "encoding": {"x": {"datum": 50, "type": "quantitative"}}},
            {"mark": {"type": "point", "filled": True, "size": 120},
             "encoding": {"x": {"field": "position", "type": "quantitative"},
                          "color": {"field": "band", "type": "nominal", "title": None,
                                    "scale": {"domain": list(BANDS.values()),
                                              "range": list(BAND_COLOURS.values())}},
                          "tooltip": [{"field": "metric"}, {"field": "value_text",
                                                            "title": "Value"},
                                      {"field": "band", "title": "Compared with peers"}]}},
        ],
    }
