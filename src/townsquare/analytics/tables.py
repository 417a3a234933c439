"""Measure's results as tables: rows for the pages, CSV for downloads, numbers for readers.

The service returns nested dicts (the CLI's ``--json``). A page or a spreadsheet needs flat
rows; these functions flatten them without computing anything, so a downloaded CSV holds
the very figures the service returned (floats written with ``repr``, which round-trips).
Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from babel.numbers import format_decimal

from townsquare import exports
from townsquare.analytics import kpis

# Groupings where the audience growth rate means something (a property of the channel over
# time, not of a format or an hour): the service answers None elsewhere.
GROWTH_GROUPINGS = (None, "month")
NO_GROUPING = "none"  # ?by=none on the pages: one row for all the posts of the period


def is_rate(kpi: kpis.Kpi) -> bool:
    """Whether a KPI is reported over a group as a mean of ratios and a ratio of sums."""
    return kpi.kind in ("rate", "daily")


def number(value: Any, unit: str, language: str) -> str:
    """A figure as a reader expects it in their language; unknown is a dash, never 0.

    ``unit``: "percent" (values already in percent), "p" (a p-value), "p=" (a p-value with
    its "p =" or "p <"), anything else a count.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    if value != value:  # NaN
        return "—"
    if unit == "percent":
        # Two decimals, or up to four under 1 % so that small rates do not read as 0.00 %.
        pattern = "#,##0.00" if abs(value) >= 1 or value == 0 else "0.0###"
        text = format_decimal(value, format=pattern, locale=language)
        return f"{text}\u202f%" if language == "fr" else f"{text}%"
    if unit == "p=":  # a p-value in a sentence: "p = 0.014", "p < 0.001"
        shown = number(value, "p", language)
        return f"p {shown}" if shown.startswith("<") else f"p = {shown}"
    if unit == "p":
        if value < 0.001:
            return "< " + format_decimal(0.001, format="0.###", locale=language)
        return format_decimal(value, format="0.###", locale=language)
    if float(value).is_integer():
        return format_decimal(value, format="#,##0", locale=language)
    return format_decimal(value, format="#,##0.##", locale=language)


def kpi_cell(group: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One KPI of one ``measure_kpis`` group: its figures and, when unknown, why."""
    value = (group.get("kpis") or {}).get(name)
    reason = (group.get("missing") or {}).get(name)
    if isinstance(value, Mapping):
        return {
            "mean_of_ratios": value.get("mean_of_ratios"),
            "ratio_of_sums": value.get("ratio_of_sums"),
            "value": None,
            "n": value.get("n"),
            "reason": reason,
        }
    return {"mean_of_ratios": None, "ratio_of_sums": None, "value": value, "reason": reason}


def has_figure(groups: Sequence[Mapping[str, Any]], name: str) -> bool:
    """Whether any group has a known figure for the KPI ``name``."""
    for group in groups:
        cell = kpi_cell(group, name)
        if any(cell[key] is not None for key in ("mean_of_ratios", "ratio_of_sums", "value")):
            return True
    return False


def kpi_columns(groups: Sequence[Mapping[str, Any]], by: str | None) -> list[kpis.Kpi]:
    """The KPIs of the result in registry order; growth only where it has a meaning."""
    present = {name for group in groups for name in (group.get("kpis") or {})}
    return [
        kpi
        for kpi in kpis.KPIS
        if kpi.name in present and (kpi.kind != "channel" or by in GROWTH_GROUPINGS)
    ]


# The KPIs a KPI table shows before the reader chooses (the others are one click away).
DEFAULT_TABLE_KPIS = (
    "interactions",
    "engagement_rate_by_reach",
    "engagement_rate_by_impressions",
    "engagement_rate_by_followers",
    "click_through_rate",
    "audience_growth_rate",
)
MIN_DEFAULT_KPIS = 3


def split_unknown(
    groups: Sequence[Mapping[str, Any]], columns: Sequence[kpis.Kpi]
) -> tuple[list[kpis.Kpi], list[kpis.Kpi]]:
    """``columns`` as (with a figure in some group, unknown in every group): a column of
    dashes only says the inputs are missing, which one note says better."""
    known = [kpi for kpi in columns if has_figure(groups, kpi.name)]
    unknown = [kpi for kpi in columns if not has_figure(groups, kpi.name)]
    return known, unknown


def default_shown(columns: Sequence[kpis.Kpi]) -> set[str]:
    """The KPIs shown before the reader chooses: the default set, topped up in registry
    order when the data has fewer than ``MIN_DEFAULT_KPIS`` of them."""
    shown = [kpi.name for kpi in columns if kpi.name in DEFAULT_TABLE_KPIS]
    for kpi in columns:
        if len(shown) >= MIN_DEFAULT_KPIS:
            break
        if kpi.name not in shown:
            shown.append(kpi.name)
    return set(shown)


def kpi_rows(groups: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """``measure_kpis`` groups flattened, every KPI kept: a rate gives
    ``NAME_mean_of_ratios`` and ``NAME_ratio_of_sums`` columns, a number one ``NAME``."""
    columns = ["key", "posts", "paid_posts"]
    names = [kpi for kpi in kpis.KPIS if any(kpi.name in (g.get("kpis") or {}) for g in groups)]
    for kpi in names:
        if is_rate(kpi):
            columns += [f"{kpi.name}_mean_of_ratios", f"{kpi.name}_ratio_of_sums"]
        else:
            columns.append(kpi.name)
    rows = []
    for group in groups:
        row: dict[str, Any] = {key: group.get(key) for key in ("key", "posts", "paid_posts")}
        for kpi in names:
            cell = kpi_cell(group, kpi.name)
            if is_rate(kpi):
                row[f"{kpi.name}_mean_of_ratios"] = cell["mean_of_ratios"]
                row[f"{kpi.name}_ratio_of_sums"] = cell["ratio_of_sums"]
            else:
                row[kpi.name] = cell["value"]
        rows.append(row)
    return rows, columns


def columns_of(rows: Sequence[Mapping[str, Any]], first: Sequence[str]) -> list[str]:
    """``first``, then any other flat key the rows have (nested dicts are left out)."""
    columns = list(first)
    for row in rows:
        for key, value in row.items():
            if key not in columns and not isinstance(value, Mapping | list):
                columns.append(key)
    return columns


def to_csv(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    dialect: exports.CsvDialect = exports.ENGLISH,
    labels: Callable[[str], str] | None = None,
) -> str:
    """CSV text (RFC 4180, CRLF) with a header; unknown values are empty cells, not 0.

    Written by the product's one CSV writer (``townsquare.exports``): text that a
    spreadsheet would run as a formula (a post's text, a tag) is neutralised.
    """
    return exports.to_csv(columns, rows, dialect=dialect, labels=labels)
