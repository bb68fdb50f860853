"""Vega-Lite specification for a council's balance: each sector's share of the current members
as a bar, the limit on one sector's share as a dashed rule. A sector over the limit, or needed
by the remit and missing, says so in its label as well as in its colour."""

from __future__ import annotations

from typing import Any

from missionboard.councils.service import Balance
from missionboard.delivery.charts import VEGA_LITE_SCHEMA

WITHIN = "Within the limit"
OVER = "Over the limit"
MISSING = "Needed by the remit, missing"
STATES = [WITHIN, OVER, MISSING]
COLOURS = ["#1d70b8", "#d4351c", "#505a5f"]
LIMIT = "#505a5f"


def sector_label(share_label: str, *, over: bool, missing: bool) -> str:
    if over:
        return f"{share_label} (over the limit)"
    if missing:
        return f"{share_label} (needed, none)"
    return share_label


def balance_spec(found: Balance) -> dict[str, Any]:
    values: list[dict[str, Any]] = [
        {"sector": sector_label(s.label, over=s.over_limit, missing=s.missing),
         "members": s.members, "share": s.share or 0.0, "order": i,
         "state": OVER if s.over_limit else MISSING if s.missing else WITHIN}
        for i, s in enumerate(found.sectors)]
    limit = f"Limit: {found.max_share:.0%}"
    top = max([found.max_share, *(s.share or 0.0 for s in found.sectors)])
    return {
        "$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 28 * len(values),
        "title": f"Share of the {found.members} current members by sector",
        "layer": [
            {"data": {"values": values},
             "mark": {"type": "bar"},
             "encoding": {
                 "y": {"field": "sector", "type": "nominal", "sort": {"field": "order"},
                       "title": None, "axis": {"labelLimit": 260}},
                 "x": {"field": "share", "type": "quantitative", "title": "Share of members",
                       "scale": {"domain": [0, min(1.0, top + 0.05)]},
                       "axis": {"format": ".0%"}},
                 "color": {"field": "state", "type": "nominal", "title": None,
                           "scale": {"domain": STATES, "range": COLOURS},
                           "legend": {"orient": "bottom"}},
                 "tooltip": [{"field": "sector", "title": "Sector"},
                             {"field": "members", "title": "Members"},
                             {"field": "share", "title": "Share", "format": ".0%"}]}},
            {"data": {"values": [{"limit": found.max_share, "label": limit}]},
             "mark": {"type": "rule", "strokeDash": [6, 3], "strokeWidth": 2, "color": LIMIT,
                      "aria": False},
             "encoding": {"x": {"field": "limit", "type": "quantitative"}}},
            {"data": {"values": [{"limit": found.max_share, "label": limit}]},
             "mark": {"type": "text", "align": "left", "dx": 4, "y": -6, "color": LIMIT,
                      "aria": False},
             "encoding": {"x": {"field": "limit", "type": "quantitative"},
                          "text": {"field": "label"}}},
        ],
    }
