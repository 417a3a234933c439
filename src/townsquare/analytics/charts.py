"""Vega-Lite chart specs for Measure, built with Altair from the analyses' JSON results.

Each function takes the exact dict that ``analytics.service`` returns (the CLI's ``--json``
contract) plus the already-translated labels, and returns a plain Vega-Lite spec (a dict).
The browser draws it with the vendored vega-embed; reports can render the same spec with
vl-convert, so a chart means the same thing on screen and on paper.

These functions compute nothing: every number drawn is a number of the result, so a chart
can never disagree with the table next to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from townsquare.analytics.kpis import MIN_SLOT_POSTS

if TYPE_CHECKING:
    # Altair takes ~0.35 s to import: every CLI process would pay it (reports import this
    # module); the functions that build a chart import it themselves.
    import altair as alt

# Wide enough for a desktop column, narrow enough not to scroll on a laptop; "container"
# lets the chart follow the width of its card.
WIDTH = "container"
ROW_HEIGHT = 28


# Axis figures for humans: thousands grouped, at most four significant digits, no trailing
# zeros (12,500 not 12500.000; 2.5 not 2.50). The page's locale sets the separators.
HUMAN_NUMBER = ",.4~r"
# Labels of a nominal axis (formats, months, weekdays…): upright while they fit, slanted
# when there are many, and cut with an ellipsis rather than running into each other.
UPRIGHT_LABELS = 6
LABEL_LIMIT = 110


def group_axis(keys: Sequence[str]) -> alt.Axis:
    """An axis whose labels never overlap, however many groups (12 months on a phone)."""
    import altair as alt

    if len(keys) <= UPRIGHT_LABELS:
        return alt.Axis(labelAngle=0, labelLimit=LABEL_LIMIT)
    return alt.Axis(labelAngle=-45, labelAlign="right", labelLimit=LABEL_LIMIT)


def _finite(value: Any) -> float | None:
    """A drawable number, or None for unknown values (never drawn as zero)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    return None


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    spec["width"] = WIDTH
    spec.setdefault("config", {})["view"] = {"stroke": None}
    return spec


def kpi_chart(
    groups: Sequence[Mapping[str, Any]],
    kpi: str,
    *,
    kpi_label: str,
    group_label: str,
    mean_label: str,
    sums_label: str,
    unit: str = "",
) -> dict[str, Any]:
    """Bars of one KPI per group, the two aggregations side by side.

    ``groups`` is ``measure_kpis(...)["groups"]``. A rate has a ``mean_of_ratios`` and a
    ``ratio_of_sums`` bar, labelled, because they differ a lot and neither is "the" rate;
    a plain number has one bar. Unknown values leave the bar out.
    """
    import altair as alt

    rows: list[dict[str, Any]] = []
    for group in groups:
        value = (group.get("kpis") or {}).get(kpi)
        key = str(group.get("key"))
        posts = group.get("posts")
        if isinstance(value, Mapping):
            for variant, label in (("mean_of_ratios", mean_label), ("ratio_of_sums", sums_label)):
                number = _finite(value.get(variant))
                if number is not None:
                    rows.append({"key": key, "variant": label, "value": number, "posts": posts})
        else:
            number = _finite(value)
            if number is not None:
                rows.append({"key": key, "variant": kpi_label, "value": number, "posts": posts})
    title = f"{kpi_label} ({unit})" if unit else kpi_label
    order = [str(group.get("key")) for group in groups]
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar().encode(
        x=alt.X("key:N", title=group_label, sort=order, axis=group_axis(order)),
        xOffset=alt.XOffset("variant:N"),
        y=alt.Y("value:Q", title=title, axis=alt.Axis(format=HUMAN_NUMBER, tickCount=5)),
        color=alt.Color("variant:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[
            alt.Tooltip("key:N", title=group_label),
            alt.Tooltip("variant:N", title=kpi_label),
            alt.Tooltip("value:Q", title=title, format=",.4~f"),
            alt.Tooltip("posts:Q", title="n"),
        ],
    )
    return _spec(bars.properties(height=260))


def formats_chart(
    result: Mapping[str, Any],
    *,
    metric_label: str,
    format_label: str,
    median_label: str,
    ci_label: str,
    small_label: str,
    enough_label: str,
) -> dict[str, Any]:
    """Median per format with its bootstrap 95% CI as a bar, n written beside it.

    ``result`` is ``measure_formats(...)``. Formats are sorted by median, highest first;
    small samples are drawn in a paler colour and say so in the legend and tooltip.
    """
    import altair as alt

    rows: list[dict[str, Any]] = []
    for group in result.get("groups", []):
        median = _finite(group.get("median"))
        if median is None:
            continue
        low = _finite(group.get("ci_low"))
        high = _finite(group.get("ci_high"))
        rows.append(
            {
                "key": str(group.get("key")),
                "n": group.get("n"),
                "median": median,
                "ci_low": low if low is not None else median,
                "ci_high": high if high is not None else median,
                "sample": small_label if group.get("small_sample") else enough_label,
            }
        )
    order = [row["key"] for row in sorted(rows, key=lambda row: -row["median"])]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("key:N", title=format_label, sort=order),
        tooltip=[
            alt.Tooltip("key:N", title=format_label),
            alt.Tooltip("n:Q", title="n"),
            alt.Tooltip("median:Q", title=median_label, format=",.4~f"),
            alt.Tooltip("ci_low:Q", title=f"{ci_label} ↓", format=",.4~f"),
            alt.Tooltip("ci_high:Q", title=f"{ci_label} ↑", format=",.4~f"),
            alt.Tooltip("sample:N", title=" "),
        ],
    )
    colour = alt.Color(
        "sample:N",
        title=None,
        legend=alt.Legend(orient="top"),
        scale=alt.Scale(domain=[enough_label, small_label], range=["#1e6bb8", "#b0bec5"]),
    )
    interval = base.mark_rule(strokeWidth=3).encode(
        x=alt.X(
            "ci_low:Q",
            title=f"{metric_label} — {median_label}, {ci_label}",
            axis=alt.Axis(format=HUMAN_NUMBER, tickCount=5),
        ),
        x2="ci_high:Q",
        color=colour,
    )
    point = base.mark_point(filled=True, size=90).encode(x="median:Q", color=colour)
    label = base.mark_text(align="left", dx=6, dy=-9, fontSize=11).encode(
        x="ci_high:Q", text=alt.Text("n:Q", format="d")
    )
    layered = alt.layer(interval, point, label).properties(height=max(ROW_HEIGHT * len(rows), 60))
    return _spec(layered)


def best_times_heatmap(
    cells: Sequence[Mapping[str, Any]],
    *,
    metric_label: str,
    weekday_names: Sequence[str],
    weekday_label: str,
    hour_label: str,
    median_label: str,
    recommended: Sequence[Mapping[str, Any]] = (),
    min_posts: int = MIN_SLOT_POSTS,
) -> dict[str, Any]:
    """Weekday (ISO, 1 = Monday) × hour cells coloured by the median, n written in each.

    Only medians are drawn, never sums: a summed total only shows how often one posted at
    that time. Empty cells stay blank (no post, no evidence); cells with fewer than
    ``min_posts`` posts (too few to be recommended) are faded. Recommended slots get a frame.
    """
    import altair as alt

    picked = {(slot.get("weekday"), slot.get("hour")) for slot in recommended}
    rows: list[dict[str, Any]] = []
    for cell in cells:
        weekday = cell.get("weekday")
        if not isinstance(weekday, int) or not 1 <= weekday <= 7:
            continue
        rows.append(
            {
                "day": weekday_names[weekday - 1],
                "weekday": weekday,
                "hour": cell.get("hour"),
                "n": cell.get("n"),
                "median": _finite(cell.get("median")),
                "ci_low": _finite(cell.get("ci_low")),
                "ci_high": _finite(cell.get("ci_high")),
                "recommended": (weekday, cell.get("hour")) in picked,
                "few": not isinstance(cell.get("n"), int) or cell["n"] < min_posts,
            }
        )
    # A cell of two posts can have an extreme median; letting it set the colour scale would
    # wash out every cell with real evidence. The scale stops at the largest median of the
    # cells with enough posts to be recommended (clamped), and the others are drawn faded.
    solid = [row["median"] for row in rows if row["median"] is not None and not row["few"]]
    scale = (
        alt.Scale(scheme="blues", domainMin=0, domainMax=max(solid), clamp=True)
        if solid
        else (alt.Scale(scheme="blues"))
    )
    hours = list(range(24))
    base = alt.Chart(alt.Data(values=rows)).encode(
        # Every third hour labelled: 24 labels do not fit a phone's width, 8 do.
        x=alt.X(
            "hour:O",
            title=hour_label,
            scale=alt.Scale(domain=hours),
            axis=alt.Axis(labelAngle=0, values=hours[::3], labelOverlap=True),
        ),
        y=alt.Y("day:O", title=weekday_label, scale=alt.Scale(domain=list(weekday_names))),
    )
    tooltip = [
        alt.Tooltip("day:O", title=weekday_label),
        alt.Tooltip("hour:O", title=hour_label),
        alt.Tooltip("n:Q", title="n"),
        alt.Tooltip("median:Q", title=median_label, format=",.4~f"),
        alt.Tooltip("ci_low:Q", title="CI ↓", format=",.4~f"),
        alt.Tooltip("ci_high:Q", title="CI ↑", format=",.4~f"),
    ]
    heat = base.mark_rect().encode(
        color=alt.Color(
            "median:Q",
            title=f"{metric_label} ({median_label})",
            scale=scale,
            legend=alt.Legend(orient="top", gradientLength=220, titleLimit=600),
        ),
        opacity=alt.condition("datum.few", alt.value(0.45), alt.value(1.0)),
        tooltip=tooltip,
    )
    frame = (
        base.transform_filter("datum.recommended")
        .mark_rect(fill=None, stroke="#d81b60", strokeWidth=2.5)
        .encode(tooltip=tooltip)
    )
    # White figures on the darkest cells so n stays readable on the whole scale.
    dark = f"datum.median > {0.6 * max(solid)!r} && !datum.few" if solid else "false"
    counts = base.mark_text(fontSize=9).encode(
        text=alt.Text("n:Q", format="d"),
        color=alt.condition(dark, alt.value("white"), alt.value("#263238")),
    )
    layered = alt.layer(heat, frame, counts).properties(height=ROW_HEIGHT * 7)
    return _spec(layered)
