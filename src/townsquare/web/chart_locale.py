"""Numbers and dates of Vega-Lite charts in the page's language (pure: no I/O).

Vega-Lite reads ``config.locale`` (a d3-format ``number`` locale and a d3-time-format
``time`` locale) for every axis, label and tooltip of the chart; here both are built from
babel's CLDR data, so a French chart writes ``1 000``, ``2,5`` and ``1 déc. 2026`` the way
the French tables beside it do (analytics/tables.py), and the PDF reports (vl-convert) draw
the same spec the same way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from babel import Locale

# d3's own English locale is the default: no config needed.
_DEFAULT = "en"


@cache
def vega_locale(language: str) -> dict[str, Any] | None:
    """``{"number": …, "time": …}`` for ``language``, or None for English."""
    if language == _DEFAULT:
        return None
    locale = Locale.parse(language)
    symbols = locale.number_symbols.get("latn", {})
    days = locale.days["format"]
    months = locale.months["format"]
    # CLDR orders weekdays Monday (0) … Sunday (6); d3 wants Sunday first.
    order = [6, 0, 1, 2, 3, 4, 5]
    return {
        "number": {
            "decimal": symbols.get("decimal", "."),
            "thousands": symbols.get("group", ","),
            "grouping": [3],
            "currency": ["", "\u00a0€"],
            "percent": "\u202f%",
        },
        "time": {
            "dateTime": "%A %e %B %Y à %X" if language == "fr" else "%x, %X",
            "date": "%d/%m/%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": [str(days["wide"][index]) for index in order],
            "shortDays": [str(days["abbreviated"][index]) for index in order],
            "months": [str(months["wide"][number]) for number in range(1, 13)],
            "shortMonths": [str(months["abbreviated"][number]) for number in range(1, 13)],
        },
    }


def localized(spec: dict[str, Any] | None, language: str) -> dict[str, Any] | None:
    """The Vega-Lite ``spec`` with the number and date conventions of ``language``."""
    if spec is None:
        return None
    locale = vega_locale(language)
    if locale is not None:
        spec.setdefault("config", {})["locale"] = locale
    return spec
