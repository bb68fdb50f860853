"""Vega-Lite specifications for the mobilisation dashboard: the running total of each series
at the end of each month or quarter, as a line (two series on one chart are told apart by dash
as well as colour), with the latest total written at the end of each line. Each chart is shown
beside a table of the same figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA
from missionboard.partners.dashboard import Series

COLOURS = ["#1d70b8", "#00703c"]
DASHES = [[1, 0], [6, 3]]
#: The axis title of each unit, and the prefix of its amounts.
AXES = {"money": ("Running total (£)", "£"), "hours": ("Running total (hours)", ""),
        "people": ("Running total (people)", ""),
        "commitments": ("Running total (commitments)", "")}


def running_total_spec(series: Sequence[Series], *, by: str, description: str
                       ) -> dict[str, Any]:
    """One line per series: the running total at the end of each period (the current
    period to today)."""
    names = [s.title for s in series]
    unit = series[0].unit
    axis_title, prefix = AXES[unit]
    suffix = " (£)" if prefix else ""
    values = [{"on": p.period.to.isoformat(), "period": p.period.label, "series": s.title,
               "total": round(p.total, 2), "added": round(p.added, 2)}
              for s in series for p in s.points]
    ends = [{"on": s.points[-1].period.to.isoformat(), "series": s.title,
             "total": round(s.points[-1].total, 2)} for s in series if s.points]
    colour = {"field": "series", "type": "nominal", "title": None,
              "scale": {"domain": names, "range": COLOURS[:len(names)]},
              "legend": {"orient": "bottom"} if len(names) > 1 else None}
    x = {"field": "on", "type": "temporal", "title": "Month" if by == "month" else "Quarter",
         "axis": {"format": "%b %Y", "labelAngle": 0, "tickCount": 6}}
    y = {"field": "total", "type": "quantitative", "title": axis_title,
         "axis": {"format": "~s"}, "scale": {"zero": True}}
    return {
        "$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 240,
        "description": description,
        "layer": [
            {"data": {"values": values},
             "mark": {"type": "line", "point": True, "strokeWidth": 2},
             "encoding": {
                 "x": x, "y": y, "color": colour,
                 "strokeDash": {"field": "series", "type": "nominal", "legend": None,
                                "scale": {"domain": names, "range": DASHES[:len(names)]}},
                 "tooltip": [{"field": "series", "title": "Series"},
                             {"field": "period", "title": "Period"},
                             {"field": "added", "type": "quantitative",
                              "title": f"Added in the period{suffix}", "format": ",.0f"},
                             {"field": "total", "type": "quantitative",
                              "title": f"Running total{suffix}", "format": ",.0f"}]}},
            # The latest total, written at the end of each line: decorative (the table has
            # it), so hidden from assistive technology.
            {"data": {"values": ends},
             "transform": [{"calculate": f"'{prefix}' + format(datum.total, ',.0f')",
                            "as": "label"}],
             "mark": {"type": "text", "align": "right", "dy": -10, "fontSize": 12,
                      "fontWeight": "bold", "aria": False},
             "encoding": {"x": x, "y": y, "color": colour, "text": {"field": "label"}}},
        ],
    }
