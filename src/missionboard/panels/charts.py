"""Vega-Lite specifications for a panel's selection report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from missionboard.delivery.charts import VEGA_LITE_SCHEMA


def probabilities(bins: Sequence[Mapping[str, Any]], *, minimum: float | None,
                  legacy_minimum: float | None) -> dict[str, Any]:
    """How many volunteers have each range of selection probability, with the smallest
    probability under LEXIMIN and under the legacy method marked."""
    values = [{"range": b["label"], "count": b["count"], "order": i}
              for i, b in enumerate(bins)]
    layers: list[dict[str, Any]] = [{
        "data": {"values": values},
        "mark": {"type": "bar", "color": "#1d70b8"},
        "encoding": {
            "x": {"field": "range", "type": "ordinal", "sort": {"field": "order"},
                  "title": "Chance of selection"},
            "y": {"field": "count", "type": "quantitative", "title": "Volunteers"},
            "tooltip": [{"field": "range", "title": "Chance"},
                        {"field": "count", "title": "Volunteers"}]}}]
    return {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 240,
            "title": _title(minimum, legacy_minimum), "layer": layers}


def _title(minimum: float | None, legacy_minimum: float | None) -> str:
    if minimum is None:
        return "Volunteers by chance of selection"
    text = f"Smallest chance: {minimum:.1%} (LEXIMIN)"
    if legacy_minimum is not None:
        text += f", {legacy_minimum:.1%} (legacy method)"
    return text
