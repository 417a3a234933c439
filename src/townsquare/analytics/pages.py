"""Measure's web pages: dashboard, formats, best times, glossary, CSV exports.

Every figure on these pages comes from ``analytics.service`` (the same dicts the CLI prints
with ``--json`` and the API returns); the pages only choose, format and explain them, so
the web, the CLI and the API can never disagree. Each table can be downloaded as CSV by
adding ``?format=csv`` to its page's address (``&table=…`` picks a second table).

The format and best-time sections of the dashboard are loaded as htmx fragments (the same
routes, answering only the section when the request comes from htmx), so the KPI table shows
at once while the slower bootstrap intervals are computed, with the progress bar running.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from townsquare.analytics import charts, kpis, service
from townsquare.analytics.narrative import explain_formats, weekday_names
from townsquare.channels import service as channels
from townsquare.errors import TownsquareError, ValidationError
from townsquare.web.deps import DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.i18n import translations
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(include_in_schema=False)

DEFAULT_KPI = "engagement_rate_by_reach"
DEFAULT_METRIC = "interactions"


@dataclass
class Filters:
    """What the user chose in the filter bar; strings as typed, validated by the service."""

    channel: str
    by: str
    date_from: str
    date_to: str
    paid: str
    metric: str
    kpi: str

    def query(self, **changes: str) -> str:
        values = {
            "channel": self.channel,
            "by": self.by,
            "from": self.date_from,
            "to": self.date_to,
            "paid": self.paid,
            "metric": self.metric,
            "kpi": self.kpi,
        }
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value})


def _filters(request: Request, channel_list: Sequence[Any]) -> Filters:
    params = request.query_params
    channel = params.get("channel", "").strip()
    if not channel and channel_list:
        channel = channel_list[0].handle
    by = params.get("by", "format").strip() or "format"
    if by not in service.GROUPINGS:
        raise ValidationError(
            f"cannot group by '{by}': choose one of {', '.join(service.GROUPINGS)}", field="by"
        )
    paid = params.get("paid", "all").strip() or "all"
    if paid not in service.PAID_FILTERS:
        raise ValidationError(
            f"unknown paid filter '{paid}': choose one of {', '.join(service.PAID_FILTERS)}",
            field="paid",
        )
    return Filters(
        channel=channel,
        by=by,
        date_from=params.get("from", "").strip(),
        date_to=params.get("to", "").strip(),
        paid=paid,
        metric=params.get("metric", DEFAULT_METRIC).strip() or DEFAULT_METRIC,
        kpi=params.get("kpi", DEFAULT_KPI).strip() or DEFAULT_KPI,
    )


# --- formatting ---------------------------------------------------------------------------


def number(value: Any, unit: str, language: str) -> str:
    """A figure as a reader expects it in their language; unknown is a dash, never 0."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    if value != value:  # NaN
        return "—"
    if unit == "percent":
        text = format_decimal(value, format="#,##0.00", locale=language)
        return f"{text}\u202f%" if language == "fr" else f"{text}%"
    if unit == "p":
        if value < 0.001:
            return "< " + format_decimal(0.001, format="0.###", locale=language)
        return format_decimal(value, format="0.###", locale=language)
    if float(value).is_integer():
        return format_decimal(value, format="#,##0", locale=language)
    return format_decimal(value, format="#,##0.##", locale=language)


def kpi_parts(value: Any) -> dict[str, Any]:
    """One KPI cell of ``measure_kpis`` as ``{mean_of_ratios, ratio_of_sums, value, reason}``.

    The contract gives a rate as a dict of its two averages and anything else as a number.
    """
    if isinstance(value, Mapping):
        return {
            "rate": "mean_of_ratios" in value or "ratio_of_sums" in value,
            "mean_of_ratios": value.get("mean_of_ratios"),
            "ratio_of_sums": value.get("ratio_of_sums"),
            "value": value.get("value", value.get("mean")),
            "n": value.get("n"),
            "reason": value.get("reason"),
        }
    return {"rate": False, "value": value, "reason": None, "n": None}


def kpi_columns(groups: Sequence[Mapping[str, Any]]) -> list[tuple[kpis.Kpi, bool]]:
    """The KPIs present in the result, in registry order, each flagged rate or not."""
    present: dict[str, bool] = {}
    for group in groups:
        for name, value in (group.get("kpis") or {}).items():
            present[name] = present.get(name, False) or kpi_parts(value)["rate"]
    ordered = [kpi for kpi in kpis.KPIS if kpi.name in present]
    return [(kpi, present[kpi.name]) for kpi in ordered]


def kpi_label(kpi: kpis.Kpi | None, name: str, language: str) -> str:
    if kpi is None:
        return name
    return kpi.label_fr if language == "fr" and kpi.label_fr else kpi.label


def helpers(language: str, gettext: Callable[[str], str]) -> dict[str, Any]:
    """Formatting and naming functions the templates call, in the reader's language."""
    _ = gettext
    days = weekday_names(gettext)
    groupings = {
        "format": _("Format"),
        "weekday": _("Weekday"),
        "hour": _("Hour"),
        "month": _("Month"),
        "paid": _("Paid or organic"),
    }
    paid = {"all": _("All posts"), "organic": _("Organic only"), "paid": _("Paid only")}
    kinds = {"paid": _("Paid"), "organic": _("Organic"), "unknown": _("Unknown")}

    def group_name(by: str, key: Any) -> str:
        if by == "weekday" and isinstance(key, int) and 1 <= key <= 7:
            return days[key - 1]
        if by == "hour" and isinstance(key, int):
            return f"{key:02d}:00"
        if by == "paid":
            if isinstance(key, bool):
                key = "paid" if key else "organic"
            return kinds.get(str(key).lower(), str(key))
        return str(key)

    def group_rule(entry: Mapping[str, Any]) -> str:
        if entry.get("kind") == "rate" or entry.get("kind") == "daily":
            return _("mean of ratios and ratio of sums, both shown")
        if entry.get("kind") == "channel":
            return _("one figure for the channel over the period")
        return _("mean per post (medians in formats and best times)")

    def slot_evidence(slot: Mapping[str, Any]) -> str:
        text = slot.get("evidence") or slot.get("reason") or ""
        return text if isinstance(text, str) else str(text)

    return {
        "num": lambda value, unit="count": number(value, unit, language),
        "label": lambda name: kpi_label(kpis.REGISTRY.get(name), name, language),
        "kpi_parts": kpi_parts,
        "weekday_names": days,
        "grouping_label": lambda by: groupings.get(by, by),
        "paid_label": lambda value: paid.get(value, value),
        "unit_label": lambda unit: _("percent (%)") if unit == "percent" else _("count"),
        "group_name": group_name,
        "group_rule": group_rule,
        "slot_evidence": slot_evidence,
    }


# --- CSV ----------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    # Numbers exactly as the service computed them (repr round-trips a float); unknown empty.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    return value


def csv_response(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], name: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def kpi_rows(groups: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """``measure_kpis`` groups flattened: a rate gives ``NAME_mean_of_ratios`` and
    ``NAME_ratio_of_sums`` columns, a number one ``NAME`` column."""
    columns = ["key", "posts"]
    for kpi, is_rate in kpi_columns(groups):
        if is_rate:
            columns += [f"{kpi.name}_mean_of_ratios", f"{kpi.name}_ratio_of_sums"]
        else:
            columns.append(kpi.name)
    rows = []
    for group in groups:
        row: dict[str, Any] = {"key": group.get("key"), "posts": group.get("posts")}
        for name, value in (group.get("kpis") or {}).items():
            parts = kpi_parts(value)
            if parts["rate"]:
                row[f"{name}_mean_of_ratios"] = parts["mean_of_ratios"]
                row[f"{name}_ratio_of_sums"] = parts["ratio_of_sums"]
            else:
                row[name] = parts["value"]
        rows.append(row)
    return rows, columns


def _columns_of(rows: Sequence[Mapping[str, Any]], first: Sequence[str]) -> list[str]:
    columns = list(first)
    for row in rows:
        columns += [
            key
            for key, value in row.items()
            if key not in columns and not isinstance(value, Mapping)
        ]
    return columns


# --- pages --------------------------------------------------------------------------------


class _Page:
    """What every Measure page needs: the channels, the filters, the language, links."""

    def __init__(self, request: Request, session: Session, access: WorkspaceAccess) -> None:
        self.request = request
        self.session = session
        self.access = access
        self.language: str = getattr(request.state, "language", "en")
        self.gettext: Callable[[str], str] = translations(self.language).gettext
        self.channels = channels.list_channels(session, access)
        self.base = f"/w/{access.workspace.slug}/measure"
        self.fragment = request.headers.get("hx-request") == "true" and not request.headers.get(
            "hx-boosted"
        )
        self.csv = request.query_params.get("format", "").lower() == "csv"
        self.table = request.query_params.get("table", "")
        self.filters = _filters(request, self.channels)

    def context(self, **extra: Any) -> dict[str, Any]:
        values = helpers(self.language, self.gettext)
        values.update(
            {
                "base": self.base,
                "ws": f"/w/{self.access.workspace.slug}",
                "channels": self.channels,
                "filters": self.filters,
                "groupings": service.GROUPINGS,
                "paid_filters": service.PAID_FILTERS,
                "per_post_kpis": [kpi for kpi in kpis.KPIS if kpi.per_post],
                "summary_kpis": [kpis.REGISTRY[name] for name in kpis.SUMMARY_KPIS],
            }
        )
        values.update(extra)
        return values

    def csv_name(self, what: str) -> str:
        parts = [self.access.workspace.slug, self.filters.channel, what]
        return "-".join(part.replace(":", "_").replace("@", "") for part in parts if part)

    def page(self, full: str, part: str, **extra: Any) -> Response:
        name = part if self.fragment else full
        return render(self.request, name, self.context(**extra))

    def failed(self, full: str, part: str, error: TownsquareError) -> Response:
        name = part if self.fragment else full
        status = status_for(error)
        # htmx only swaps 2xx answers by default; the fragment carries its error inside.
        code = 200 if self.fragment else status
        return render(self.request, name, self.context(error=error), status_code=code)

    def query_args(self) -> dict[str, Any]:
        return {
            "date_from": self.filters.date_from or None,
            "date_to": self.filters.date_to or None,
            "paid": self.filters.paid,
        }


def _setup(request: Request, session: Session, access: WorkspaceAccess) -> _Page | Response:
    try:
        return _Page(request, session, access)
    except ValidationError as error:
        page_error = error
    return render(
        request,
        "analytics/dashboard.html",
        {"error": page_error, "channels": [], "base": f"/w/{access.workspace.slug}/measure"},
        status_code=status_for(page_error),
    )


@router.get("/w/{slug}/measure")
def dashboard(request: Request, session: DbSession, access: PageAccess) -> Response:
    page = _setup(request, session, access)
    if isinstance(page, Response):
        return page
    full = "analytics/dashboard.html"
    if not page.channels:
        return page.page(full, full, result=None, paid_result=None)
    f = page.filters
    try:
        result = service.measure_kpis(session, access, f.channel, by=f.by, **page.query_args())
        paid_result = None
        if f.by != "paid" and f.paid == "all":
            # Paid and organic apart, wherever it matters: the same KPIs split by the flag.
            paid_result = service.measure_kpis(
                session, access, f.channel, by="paid", **page.query_args()
            )
    except TownsquareError as error:
        return page.failed(full, full, error)
    if page.csv:
        source = paid_result if page.table == "paid" and paid_result else result
        rows, columns = kpi_rows(source.get("groups", []))
        grouping = "paid" if source is paid_result else f.by
        return csv_response(rows, columns, page.csv_name(f"kpis-by-{grouping}"))
    groups = result.get("groups", [])
    chart = None
    if groups:
        registry = kpis.REGISTRY.get(f.kpi) or kpis.REGISTRY[DEFAULT_KPI]
        _ = page.gettext
        chart = charts.kpi_chart(
            groups,
            registry.name,
            kpi_label=kpi_label(registry, registry.name, page.language),
            group_label=_(f.by.capitalize()),
            mean_label=_("Mean of ratios"),
            sums_label=_("Ratio of sums"),
            unit="%" if registry.unit == "percent" else "",
        )
    return page.page(
        full,
        full,
        result=result,
        paid_result=paid_result,
        columns=kpi_columns(groups),
        paid_columns=kpi_columns(paid_result.get("groups", [])) if paid_result else [],
        chart=chart,
    )


@router.get("/w/{slug}/measure/formats")
def formats(request: Request, session: DbSession, access: PageAccess) -> Response:
    page = _setup(request, session, access)
    if isinstance(page, Response):
        return page
    full, part = "analytics/formats.html", "analytics/_formats.html"
    if not page.channels:
        return page.page(full, part, result=None)
    f = page.filters
    try:
        metric = kpis.get_kpi(f.metric, per_post=True)
        result = service.measure_formats(
            session, access, f.channel, metric=metric.name, **page.query_args()
        )
        # The ranking may flip with the denominator: compare with the counterpart metric.
        other = "engagement_rate_by_reach" if metric.unit == "count" else "interactions"
        counterpart = service.measure_formats(
            session, access, f.channel, metric=other, **page.query_args()
        )
    except TownsquareError as error:
        return page.failed(full, part, error)
    if page.csv:
        if page.table == "pairwise":
            pairs = result.get("pairwise", [])
            columns = _columns_of(pairs, ["a", "b", "p_value", "p_adjusted", "effect_size"])
            return csv_response(pairs, columns, page.csv_name(f"formats-pairwise-{metric.name}"))
        groups = result.get("groups", [])
        columns = _columns_of(
            groups, ["key", "n", "median", "mean", "ci_low", "ci_high", "small_sample"]
        )
        return csv_response(groups, columns, page.csv_name(f"formats-{metric.name}"))
    _ = page.gettext
    metric_text = kpi_label(metric, metric.name, page.language)
    other_kpi = kpis.REGISTRY[counterpart.get("metric", "interactions")]
    chart = None
    if result.get("groups"):
        chart = charts.formats_chart(
            result,
            metric_label=metric_text + (" (%)" if metric.unit == "percent" else ""),
            format_label=_("Format"),
            median_label=_("median"),
            ci_label=_("95% CI"),
            small_label=_("small sample"),
            enough_label=_("enough posts"),
        )
    explanation = explain_formats(
        result,
        counterpart,
        metric_label=metric_text,
        counterpart_label=kpi_label(other_kpi, other_kpi.name, page.language),
        gettext=page.gettext,
        fmt=lambda value, unit: number(value, unit, page.language),
        unit=metric.unit,
    )
    return page.page(full, part, result=result, metric=metric, chart=chart, explanation=explanation)


@router.get("/w/{slug}/measure/best-times")
def best_times(request: Request, session: DbSession, access: PageAccess) -> Response:
    page = _setup(request, session, access)
    if isinstance(page, Response):
        return page
    full, part = "analytics/best_times.html", "analytics/_best_times.html"
    if not page.channels:
        return page.page(full, part, result=None)
    f = page.filters
    try:
        metric = kpis.get_kpi(f.metric, per_post=True)
        result = service.measure_best_times(
            session, access, f.channel, metric=metric.name, **page.query_args()
        )
    except TownsquareError as error:
        return page.failed(full, part, error)
    if page.csv:
        key = "recommended" if page.table == "recommended" else "cells"
        rows = result.get(key, [])
        columns = _columns_of(rows, ["weekday", "hour", "n", "median", "ci_low", "ci_high"])
        return csv_response(rows, columns, page.csv_name(f"best-times-{key}-{metric.name}"))
    _ = page.gettext
    chart = None
    if result.get("cells"):
        metric_text = kpi_label(metric, metric.name, page.language)
        chart = charts.best_times_heatmap(
            result["cells"],
            metric_label=metric_text + (" (%)" if metric.unit == "percent" else ""),
            weekday_names=weekday_names(page.gettext),
            weekday_label=_("Weekday"),
            hour_label=_("Hour"),
            median_label=_("median"),
            recommended=result.get("recommended", []),
        )
    return page.page(full, part, result=result, metric=metric, chart=chart)


@router.get("/w/{slug}/measure/glossary")
def glossary(request: Request, session: DbSession, access: PageAccess) -> Response:
    entries = service.kpi_glossary()
    if request.query_params.get("format", "").lower() == "csv":
        columns = ["name", "label", "label_fr", "formula", "unit", "kind", "metrics", "source"]
        columns += ["description"]
        return csv_response(entries, columns, f"{access.workspace.slug}-kpi-glossary")
    language = getattr(request.state, "language", "en")
    context = helpers(language, translations(language).gettext)
    context.update({"entries": entries, "base": f"/w/{access.workspace.slug}/measure"})
    return render(request, "analytics/glossary.html", context)
