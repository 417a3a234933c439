"""The radar chart of the eight competencies, as a Vega-Lite spec built with Altair.

Vega-Lite has no polar line mark, so each score is placed at its angle here (plain
trigonometry, no figure computed: the radius is the score) and drawn as a closed line over
rings at 25, 50, 75 and 100. Like ``analytics/charts.py``, the spec is a plain dict the
browser draws with vega-embed and a report can render with vl-convert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt

SIZE = 380
RINGS = (25, 50, 75, 100)
LABEL_RADIUS = 1.22
COLOURS = ("#1e6bb8", "#d81b60")


def _point(index: int, count: int, radius: float) -> tuple[float, float]:
    # The first competency at the top, then clockwise.
    angle = math.pi / 2 - 2 * math.pi * index / count
    return round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6)


def radar_chart(
    series: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    labels: dict[str, str],
    *,
    score_label: str,
) -> dict[str, Any]:
    """``series`` is ``[(name, competencies)]`` (one for an assessment, two to compare);
    ``competencies`` the assessment's ``[{"id", "score", "stage"}]``; ``labels`` the
    translated name of each competency."""
    ids = list(labels)
    count = len(ids)
    grid: list[dict[str, Any]] = []
    for ring in RINGS:
        for index in range(count + 1):
            x, y = _point(index % count, count, ring / 100)
            grid.append({"ring": ring, "order": index, "x": x, "y": y})
    spokes = []
    names = []
    for index, cid in enumerate(ids):
        x, y = _point(index, count, 1.0)
        lx, ly = _point(index, count, LABEL_RADIUS)
        spokes.append({"x": 0, "y": 0, "x2": x, "y2": y})
        names.append({"x": lx, "y": ly, "label": labels[cid]})
    shapes: list[dict[str, Any]] = []
    for name, competencies in series:
        scores = {item["id"]: item["score"] for item in competencies}
        for index in range(count + 1):
            cid = ids[index % count]
            x, y = _point(index % count, count, float(scores.get(cid, 0)) / 100)
            shapes.append(
                {
                    "series": name,
                    "order": index,
                    "x": x,
                    "y": y,
                    "competency": labels[cid],
                    "score": scores.get(cid, 0),
                }
            )
    domain = [-1.45, 1.45]
    x_enc = alt.X("x:Q", scale=alt.Scale(domain=domain), axis=None)
    y_enc = alt.Y("y:Q", scale=alt.Scale(domain=domain), axis=None)
    rings = (
        alt.Chart(alt.Data(values=grid))
        .mark_line(color="#cfd8dc", strokeWidth=1)
        .encode(x=x_enc, y=y_enc, detail="ring:N", order="order:Q")
    )
    axes = (
        alt.Chart(alt.Data(values=spokes))
        .mark_rule(color="#cfd8dc")
        .encode(x=x_enc, y=y_enc, x2="x2:Q", y2="y2:Q")
    )
    text = (
        alt.Chart(alt.Data(values=names))
        .mark_text(fontSize=11, color="#263238")
        .encode(x=x_enc, y=y_enc, text="label:N")
    )
    series_names = [name for name, _ in series]
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=series_names, range=list(COLOURS[: len(series_names)])),
        legend=alt.Legend(orient="top"),
    )
    lines = (
        alt.Chart(alt.Data(values=shapes))
        .mark_line(point=True, strokeWidth=2.5)
        .encode(
            x=x_enc,
            y=y_enc,
            order="order:Q",
            color=colour,
            tooltip=[
                alt.Tooltip("series:N", title=" "),
                alt.Tooltip("competency:N", title=" "),
                alt.Tooltip("score:Q", title=score_label, format=".1f"),
            ],
        )
    )
    layered = alt.layer(rings, axes, text, lines).properties(width=SIZE, height=SIZE)
    spec: dict[str, Any] = layered.to_dict()
    spec.setdefault("config", {})["view"] = {"stroke": None}
    return spec
