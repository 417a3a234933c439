"""Listen's Vega-Lite specs, shared by the Listen pages and the reports (pure: no I/O)."""

from __future__ import annotations

from typing import Any


def volume_spec(volume: dict[str, Any], count_label: str) -> dict[str, Any]:
    """A line per watch of its mentions per day (``figures.volume_by_day``)."""
    values = [
        {"date": day, "watch": watch["name"], "mentions": count}
        for watch in volume["watches"]
        for day, count in zip(volume["days"], watch["counts"], strict=True)
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container",
        "height": 220,
        "data": {"values": values},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "date", "type": "temporal", "timeUnit": "yearmonthdate", "title": None},
            "y": {"field": "mentions", "type": "quantitative", "title": count_label},
            "color": {"field": "watch", "type": "nominal", "title": None},
        },
    }
