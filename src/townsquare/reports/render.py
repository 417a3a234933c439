"""A report's document rendered: HTML, PDF (WeasyPrint), XLSX and CSV (the data appendix).

Charts are the Vega-Lite specs of ``analytics.charts`` turned into SVG by vl-convert (no
browser), given a fixed width (the pages let them follow their card's width) and embedded
as images, so the HTML file and the PDF carry the same vectors and need nothing else.
"""

from __future__ import annotations

import base64
import copy
import io
import zipfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from townsquare.analytics import tables

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHART_WIDTH = 460
FORMATS = ("html", "pdf", "xlsx", "csv")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}
EXTENSIONS = {"html": "html", "pdf": "pdf", "xlsx": "xlsx", "csv": "zip"}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


LOCALES: dict[str, Any] = {"fr": "fr-FR", "en": "en-US"}


def chart_svg(spec: Mapping[str, Any], language: str = "en") -> str:
    """The chart as SVG text (vl-convert), at the report's column width, numbers on its
    axes in the reader's format."""
    import vl_convert

    fixed = copy.deepcopy(dict(spec))
    if not isinstance(fixed.get("width"), int | float):
        fixed["width"] = CHART_WIDTH
    svg: str = vl_convert.vegalite_to_svg(fixed, format_locale=LOCALES.get(language, "en-US"))
    return svg


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def attach_charts(document: dict[str, Any], language: str = "en") -> list[str]:
    """Render every chart of the document to SVG in place; returns the SVGs, in order."""
    svgs: list[str] = []
    for section in document["sections"]:
        holders = [*section.get("channels", []), section.get("listening") or {}]
        for channel in holders:
            chart = channel.get("chart")
            if chart and chart.get("spec"):
                svg = chart_svg(chart["spec"], language)
                chart["svg"] = svg
                chart["uri"] = _svg_uri(svg)
                chart["number"] = len(svgs) + 1
                svgs.append(svg)
    return svgs


def html(context: Mapping[str, Any], gettext: Any, *, for_print: bool = False) -> str:
    env = environment()
    template = env.get_template("reports/document.html")
    return template.render(
        {
            **context,
            "for_print": for_print,
            "_": gettext.gettext,
            "gettext": gettext.gettext,
            "ngettext": gettext.ngettext,
        }
    )


def pdf(document_html: str) -> bytes:
    """The PDF of a report's HTML. WeasyPrint may read ``data:`` URIs only: a report embeds
    all it shows, and an address in an uploaded SVG logo or in a post must never make the
    server fetch anything (SSRF)."""
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    out: bytes = HTML(
        string=document_html, base_url=str(TEMPLATES), url_fetcher=fetcher
    ).write_pdf()
    return out


# --- the data appendix --------------------------------------------------------------------


def appendix(figures: Mapping[str, Any]) -> list[tuple[str, list[str], list[dict[str, Any]]]]:
    """(name, columns, rows) of every table of the report, figures as the services gave them."""
    out: list[tuple[str, list[str], list[dict[str, Any]]]] = []
    for channel in figures["channels"]:
        handle = channel["handle"]
        for key, label in (
            ("kpis", "kpis"),
            ("previous", "kpis-comparison"),
            ("by_month", "months"),
        ):
            result = channel.get(key)
            if result:
                rows, columns = tables.kpi_rows(result["groups"])
                out.append((f"{handle}-{label}", columns, rows))
        formats = channel.get("formats")
        if formats:
            first = ["key", "n", "median", "mean", "ci_low", "ci_high", "small_sample"]
            out.append(
                (
                    f"{handle}-formats",
                    tables.columns_of(formats["groups"], first),
                    formats["groups"],
                )
            )
        best = channel.get("best_times")
        if best:
            first = ["weekday", "hour", "n", "median", "ci_low", "ci_high"]
            out.append(
                (f"{handle}-best-times", tables.columns_of(best["cells"], first), best["cells"])
            )
        posts = channel.get("posts")
        if posts:
            rows = [{"rank": "top", **p} for p in posts["top"]] + [
                {"rank": "bottom", **p} for p in posts["bottom"]
            ]
            columns = ["rank", "published_at", "format", "value", "permalink", "text"]
            out.append((f"{handle}-posts-{posts['metric']}", columns, rows))
    links = figures.get("links")
    if links:
        out.append(("links-by-day", ["date", "human", "bot", "unique_visitors"], links["by_day"]))
        rows = [
            {
                "campaign": c["campaign"],
                "links": c["links"],
                "human": c["clicks"]["human"],
                "bot": c["clicks"]["bot"],
                "click_through_rate": c["click_through_rate"],
            }
            for c in links["campaigns"]
        ]
        out.append(("campaigns", ["campaign", "links", "human", "bot", "click_through_rate"], rows))
    return out


def csv_zip(figures: Mapping[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, columns, rows in appendix(figures):
            archive.writestr(f"{_safe(name)}.csv", tables.to_csv(rows, columns))
    return buffer.getvalue()


def xlsx(figures: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    used: set[str] = set()
    for name, columns, rows in appendix(figures):
        title = _sheet_title(name, used)
        sheet = book.create_sheet(title)
        sheet.append(columns)
        for row in rows:
            sheet.append([_cell(row.get(column)) for column in columns])
    if not book.sheetnames:
        book.create_sheet("empty").append(["no table: the report has no figures"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return None
    return value


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _sheet_title(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:28] or "table"
    title, index = base, 2
    while title in used:
        title = f"{base[:26]}{index}"
        index += 1
    used.add(title)
    return title
