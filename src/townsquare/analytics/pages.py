"""Measure's web pages: dashboard, formats, best times, glossary, CSV exports.

Every figure on these pages comes from ``analytics.service`` (the same dicts the CLI prints
with ``--json`` and the API returns); the pages only choose, format and explain them, so
the web, the CLI and the API can never disagree. Each table can be downloaded as CSV by
adding ``format=csv`` to its page's address (``table=…`` picks the page's second table).

The format and best-time sections of the dashboard are loaded as htmx fragments (the same
routes, answering only the section when htmx asks), so the KPI table shows at once while
the bootstrap intervals are computed, with the progress bar running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from townsquare import exports
from townsquare.analytics import charts, kpis, service, tables
from townsquare.analytics.kpis import MIN_SLOT_POSTS
from townsquare.analytics.narrative import explain_formats, helpers, kpi_label, weekday_names
from townsquare.analytics.tables import NO_GROUPING
from townsquare.channels import service as channels
from townsquare.errors import TownsquareError, ValidationError
from townsquare.messages import Message
from townsquare.networks import get_network
from townsquare.web.chart_locale import localized as localized_chart
from townsquare.web.deps import DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.i18n import translations
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(include_in_schema=False)

DEFAULT_BY = "format"
DEFAULT_KPI = "engagement_rate_by_reach"
DEFAULT_METRIC = "interactions"


@dataclass
class Filters:
    """What the user chose in the filter bar, as typed; the service validates the rest."""

    channel: str
    by: str
    date_from: str
    date_to: str
    paid: str
    metric: str
    kpi: str
    compare: str = ""

    @property
    def grouping(self) -> str | None:
        return None if self.by == NO_GROUPING else self.by

    def query(self, **changes: str) -> str:
        values = {
            "channel": self.channel,
            "by": self.by,
            "from": self.date_from,
            "to": self.date_to,
            "paid": self.paid,
            "metric": self.metric,
            "kpi": self.kpi,
            "compare": self.compare,
        }
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value})


def read_filters(request: Request, first_channel: str) -> Filters:
    params = request.query_params
    by = params.get("by", DEFAULT_BY).strip() or DEFAULT_BY
    if by != NO_GROUPING and by not in service.GROUPINGS:
        # The groupings by name (msgids of terms.po), so that a French page lists them in French.
        choices = [Message(name) for name in (*service.GROUPINGS, NO_GROUPING)]
        raise ValidationError(
            "cannot group by '%(by)s': choose one of %(choices)s",
            params={"by": by, "choices": choices},
            field="by",
        )
    return Filters(
        channel=params.get("channel", "").strip() or first_channel,
        by=by,
        date_from=params.get("from", "").strip(),
        date_to=params.get("to", "").strip(),
        paid=params.get("paid", "all").strip() or "all",
        metric=params.get("metric", DEFAULT_METRIC).strip() or DEFAULT_METRIC,
        kpi=params.get("kpi", DEFAULT_KPI).strip() or DEFAULT_KPI,
        compare=params.get("compare", "").strip(),
    )


def csv_response(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": exports.content_disposition(f"{name}.csv")},
    )


def csv_convention(language: str) -> dict[str, Any]:
    """A page's spreadsheet convention: in French ``;``, decimal commas and French headers
    (KPI columns by their French label); in English the column ids, like the API."""
    gettext = translations(language).gettext
    suffixes = (("_mean_of_ratios", "Mean of ratios"), ("_ratio_of_sums", "Ratio of sums"))

    def kpi_column(column: str) -> str | None:
        for suffix, label in suffixes:
            name = column.removesuffix(suffix)
            if name != column and name in kpis.REGISTRY:
                return f"{kpi_label(name, language)} ({gettext(label).lower()})"
        return kpi_label(column, language) if column in kpis.REGISTRY else None

    return {
        "dialect": exports.dialect_for(language),
        "labels": exports.header_labels(language, gettext, kpi_column),
    }


class MeasurePage:
    """What every Measure page needs: the channels, the filters, the language, links."""

    def __init__(self, request: Request, session: Session, access: WorkspaceAccess) -> None:
        self.request = request
        self.access = access
        self.language: str = getattr(request.state, "language", "en")
        self.gettext: Callable[[str], str] = translations(self.language).gettext
        self.helpers = helpers(self.language, self.gettext)
        self.channels = channels.list_channels(session, access)
        self.choices = channel_choices(self.channels, self.gettext)
        self.base = f"/w/{access.workspace.slug}/measure"
        # A fragment for htmx's own requests (the dashboard's sections), never for a
        # boosted navigation, which wants the whole page.
        headers = request.headers
        self.fragment = headers.get("hx-request") == "true" and not headers.get("hx-boosted")
        self.csv = request.query_params.get("format", "").lower() == "csv"
        self.table = request.query_params.get("table", "")
        self.error: TownsquareError | None = None
        try:
            self.filters = read_filters(request, self.choices[0][0] if self.choices else "")
        except ValidationError as error:
            self.error = error
            self.filters = read_filters_default(self.choices)
        # The chosen channel's network when it gives no reach nor impressions (Mastodon,
        # Bluesky): the pages say so in words rather than leave the reader to guess.
        self.no_reach_network = next(
            (
                get_network(channel.network).label
                for (value, _label), channel in zip(self.choices, self.channels, strict=True)
                if value == self.filters.channel and channels.gives_no_reach(channel)
            ),
            None,
        )

    def context(self, **extra: Any) -> dict[str, Any]:
        values = dict(self.helpers)
        values.update(
            {
                "base": self.base,
                "ws": f"/w/{self.access.workspace.slug}",
                "channels": self.channels,
                "channel_choices": self.choices,
                "filters": self.filters,
                "groupings": (*service.GROUPINGS, NO_GROUPING),
                "paid_filters": service.PAID_FILTERS,
                "per_post_kpis": [kpi for kpi in kpis.KPIS if kpi.per_post],
                "summary_kpis": [kpis.REGISTRY[name] for name in kpis.SUMMARY_KPIS],
                "error": self.error,
                "no_reach_network": self.no_reach_network,
            }
        )
        values.update(extra)
        return values

    def csv_name(self, what: str) -> str:
        return "-".join(p for p in (self.access.workspace.slug, self.filters.channel, what) if p)

    def show(self, full: str, part: str, **extra: Any) -> Response:
        name = part if self.fragment else full
        status = 200
        error = extra.get("error", self.error)
        # htmx swaps only 2xx answers by default, so a fragment carries its error inside.
        if error is not None and not self.fragment:
            status = status_for(error)
        return render(self.request, name, self.context(**extra), status_code=status)

    def scope(self) -> dict[str, Any]:
        return {
            "date_from": self.filters.date_from or None,
            "date_to": self.filters.date_to or None,
            "paid": self.filters.paid,
        }


def read_filters_default(choices: list[tuple[str, str]]) -> Filters:
    first = choices[0][0] if choices else ""
    return Filters(first, DEFAULT_BY, "", "", "all", DEFAULT_METRIC, DEFAULT_KPI)


def channel_choices(
    channel_list: list[Any], gettext: Callable[[str], str] | None = None
) -> list[tuple[str, str]]:
    """(value, label) of each channel; a handle used on two networks is named
    ``network:handle``, the form the service accepts to tell them apart, and the label
    names the network and the handle (two channels may share a display name)."""
    handles = [channel.handle for channel in channel_list]
    return [
        (
            channel.handle
            if handles.count(channel.handle) == 1
            else f"{channel.network}:{channel.handle}",
            channels.channel_label(channel, gettext),
        )
        for channel in channel_list
    ]


@router.get("/w/{slug}/measure")
def dashboard(request: Request, session: DbSession, access: PageAccess) -> Response:
    page = MeasurePage(request, session, access)
    full = "analytics/dashboard.html"
    if page.error or not page.channels:
        return page.show(full, full, result=None)
    f = page.filters
    try:
        result = service.measure_kpis(session, access, f.channel, by=f.grouping, **page.scope())
        paid_result = None
        if f.by != "paid" and f.paid == "all":
            # Paid and organic apart, wherever it matters: the same KPIs split by the flag.
            paid_result = service.measure_kpis(
                session, access, f.channel, by="paid", **page.scope()
            )
    except TownsquareError as error:
        return page.show(full, full, result=None, error=error)
    if page.csv:
        source, grouping = (paid_result, "paid") if page.table == "paid" else (result, f.by)
        rows, columns = tables.kpi_rows((source or result)["groups"])
        text = tables.to_csv(rows, columns, **csv_convention(page.language))
        return csv_response(text, page.csv_name(f"kpis-by-{grouping}"))
    groups = result["groups"]
    chart = None
    chosen = kpis.REGISTRY.get(f.kpi) or kpis.REGISTRY[DEFAULT_KPI]
    if "kpi" not in request.query_params and not tables.has_figure(groups, chosen.name):
        # The default rate needs reach; a source without it (e.g. Live.csv) is charted on
        # the first KPI it does have, rather than on an empty chart.
        chartable = [kpis.REGISTRY[name] for name in kpis.SUMMARY_KPIS]
        chosen = next(
            (k for k in chartable if k.kind != "channel" and tables.has_figure(groups, k.name)),
            chosen,
        )
        f.kpi = chosen.name
    chart_missing = None
    if not tables.has_figure(groups, chosen.name):
        reasons = [g.get("missing", {}).get(chosen.name) for g in groups]
        chart_missing = next((r for r in reasons if r), "")
    elif chosen.kind != "channel":
        _ = page.gettext
        chart = localized_chart(
            charts.kpi_chart(
                [
                    {**group, "key": page.helpers["group_name"](f.by, group["key"])}
                    for group in groups
                ],
                chosen.name,
                kpi_label=kpi_label(chosen.name, page.language),
                group_label=page.helpers["grouping_label"](f.by),
                mean_label=_("Mean of ratios"),
                sums_label=_("Ratio of sums"),
                unit="%" if chosen.unit == "percent" else "",
            ),
            page.language,
        )
    shown_columns, unknown_columns = tables.split_unknown(
        groups, tables.kpi_columns(groups, f.grouping)
    )
    paid_columns, paid_unknown = (
        tables.split_unknown(
            paid_result["groups"], tables.kpi_columns(paid_result["groups"], "paid")
        )
        if paid_result
        else ([], [])
    )
    try:
        comparison = compare_periods(session, access, page)
    except TownsquareError as error:
        return page.show(full, full, result=None, error=error)
    return page.show(
        full,
        full,
        result=result,
        paid_result=paid_result,
        columns=shown_columns,
        unknown_columns=unknown_columns,
        default_kpis=tables.default_shown(shown_columns),
        paid_columns=paid_columns,
        paid_unknown=paid_unknown,
        comparison=comparison,
        chart=chart,
        chart_missing=chart_missing,
    )


def compare_periods(
    session: Session, access: WorkspaceAccess, page: MeasurePage
) -> dict[str, Any] | None:
    """ "Compare with": every KPI of the chosen days beside the previous period's or the same
    days a year before, from the same service (the reports' rows, the reports' rules)."""
    from townsquare.reports.periods import check_compare, comparison, parse_range
    from townsquare.reports.sections import Builder

    f = page.filters
    compare = check_compare(f.compare)
    if compare is None:
        return None
    if not (f.date_from and f.date_to):
        raise ValidationError(
            "choose the first and last day (From, To) to compare them with another period",
            field="compare",
        )
    current = parse_range(f"{f.date_from}..{f.date_to}")
    before = comparison(current, compare)
    assert before is not None
    now = service.measure_kpis(
        session, access, f.channel, date_from=current.start, date_to=current.end, paid=f.paid
    )
    then = service.measure_kpis(
        session, access, f.channel, date_from=before.start, date_to=before.end, paid=f.paid
    )
    builder = Builder(page.language, page.gettext)
    group = now["groups"][0] if now["groups"] else None
    old = then["groups"][0] if then["groups"] else None
    rows: list[dict[str, Any]] = []
    if group is not None:
        rows, _missing = builder.kpi_rows(kpis.SUMMARY_KPIS, group, old)
    return {
        "start": before.start.isoformat(),
        "end": before.end.isoformat(),
        "posts": now["posts"],
        "previous_posts": then["posts"],
        "rows": rows,
    }


@router.get("/w/{slug}/measure/formats")
def formats(request: Request, session: DbSession, access: PageAccess) -> Response:
    page = MeasurePage(request, session, access)
    full, part = "analytics/formats.html", "analytics/_formats.html"
    if page.error or not page.channels:
        return page.show(full, part, result=None)
    f = page.filters
    try:
        metric = kpis.get_kpi(f.metric, per_post=True)
        result = service.measure_formats(
            session, access, f.channel, metric=metric.name, **page.scope()
        )
    except TownsquareError as error:
        return page.show(full, part, result=None, error=error)
    if page.csv:
        key = "pairwise" if page.table == "pairwise" else "groups"
        first = ["a", "b", "p_value", "p_adjusted", "effect_size"] if key == "pairwise" else [
            "key", "n", "median", "mean", "ci_low", "ci_high", "small_sample"
        ]  # fmt: skip
        rows = result[key]
        columns = tables.columns_of(rows, first)
        text = tables.to_csv(rows, columns, **csv_convention(page.language))
        return csv_response(text, page.csv_name(f"formats-{key}-{metric.name}"))
    # Whether the ranking flips with the denominator: the same comparison on the other
    # kind of metric (a rate for a count, raw interactions for a rate).
    other = kpis.REGISTRY["engagement_rate_by_reach" if metric.unit == "count" else "interactions"]
    counterpart = service.measure_formats(
        session, access, f.channel, metric=other.name, **page.scope()
    )
    _ = page.gettext
    metric_text = kpi_label(metric.name, page.language)
    chart = None
    if result["groups"]:
        chart = localized_chart(
            charts.formats_chart(
                result,
                metric_label=metric_text + (" (%)" if metric.unit == "percent" else ""),
                format_label=_("Format"),
                median_label=_("median"),
                ci_label=_("95% CI"),
                small_label=_("small sample"),
                enough_label=_("enough posts"),
            ),
            page.language,
        )
    explanation = explain_formats(
        result,
        counterpart,
        metric_label=metric_text,
        counterpart_label=kpi_label(other.name, page.language),
        gettext=page.gettext,
        fmt=lambda value, unit: tables.number(value, unit, page.language),
        unit=metric.unit,
    )
    return page.show(full, part, result=result, metric=metric, chart=chart, explanation=explanation)


@router.get("/w/{slug}/measure/best-times")
def best_times(request: Request, session: DbSession, access: PageAccess) -> Response:
    page = MeasurePage(request, session, access)
    full, part = "analytics/best_times.html", "analytics/_best_times.html"
    if page.error or not page.channels:
        return page.show(full, part, result=None)
    f = page.filters
    try:
        metric = kpis.get_kpi(f.metric, per_post=True)
        result = service.measure_best_times(
            session, access, f.channel, metric=metric.name, **page.scope()
        )
    except TownsquareError as error:
        return page.show(full, part, result=None, error=error)
    if page.csv:
        key = page.table if page.table in ("recommended", "weekdays", "hours") else "cells"
        rows = result[key]
        first = {"weekdays": ["weekday"], "hours": ["hour"]}.get(key, ["weekday", "hour"])
        columns = tables.columns_of(rows, [*first, "n", "median", "ci_low", "ci_high"])
        text = tables.to_csv(rows, columns, **csv_convention(page.language))
        return csv_response(text, page.csv_name(f"best-times-{key}-{metric.name}"))
    _ = page.gettext
    chart = None
    if result["cells"]:
        chart = localized_chart(
            charts.best_times_heatmap(
                result["cells"],
                metric_label=kpi_label(metric.name, page.language)
                + (" (%)" if metric.unit == "percent" else ""),
                weekday_names=weekday_names(page.gettext),
                weekday_label=_("Weekday"),
                hour_label=_("Hour"),
                median_label=_("median"),
                recommended=result["recommended"],
            ),
            page.language,
        )
    return page.show(
        full, part, result=result, metric=metric, chart=chart, min_posts=MIN_SLOT_POSTS
    )


@router.get("/w/{slug}/measure/glossary")
def glossary(request: Request, session: DbSession, access: PageAccess) -> Response:
    entries = service.kpi_glossary()
    language = getattr(request.state, "language", "en")
    if request.query_params.get("format", "").lower() == "csv":
        columns = ["name", "label", "label_fr", "formula", "unit", "kind", "metrics", "source"]
        text = tables.to_csv(entries, [*columns, "description"], **csv_convention(language))
        return csv_response(text, f"{access.workspace.slug}-kpi-glossary")
    context = helpers(language, translations(language).gettext)
    context.update({"entries": entries, "base": f"/w/{access.workspace.slug}/measure"})
    return render(request, "analytics/glossary.html", context)
