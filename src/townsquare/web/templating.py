"""Jinja2 templates shared by every capability, with translations and the CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from townsquare import __version__
from townsquare.channels.connect import needing_reconnection
from townsquare.channels.service import channel_label
from townsquare.web import flash
from townsquare.web.chart_locale import vega_locale
from townsquare.web.i18n import LANGUAGES, translator

PACKAGE_DIR = Path(__file__).resolve().parent.parent

# Each capability keeps its templates in its own package, under a folder named after it
# (e.g. links/templates/links/index.html is rendered as "links/index.html").
TEMPLATE_DIRS = [
    PACKAGE_DIR / "web" / "templates",
    PACKAGE_DIR / "workspaces" / "templates",
    PACKAGE_DIR / "channels" / "templates",
    PACKAGE_DIR / "analytics" / "templates",
    PACKAGE_DIR / "links" / "templates",
    PACKAGE_DIR / "listening" / "templates",
    PACKAGE_DIR / "handles" / "templates",
    PACKAGE_DIR / "maturity" / "templates",
    PACKAGE_DIR / "reports" / "templates",
    PACKAGE_DIR / "publish" / "templates",
]

environment = Environment(
    loader=FileSystemLoader([str(path) for path in TEMPLATE_DIRS if path.exists()]),
    autoescape=select_autoescape(["html", "xml"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["version"] = __version__
environment.globals["languages"] = LANGUAGES
# "Brand (Mastodon · @brand@mastodon.social)": channel menus tell same-named channels apart.
environment.globals["channel_label"] = channel_label
environment.globals["channels_needing_reconnection"] = needing_reconnection
# Suggestions for every time-zone field (the _forms.html timezone_field datalist).
environment.globals["timezones"] = sorted(
    zone for zone in available_timezones() if "/" in zone or zone == "UTC"
)


def local_time(moment: datetime | None, zone: str | None, language: str) -> str:
    """A stored (UTC) time in the time zone ``zone`` (the workspace's or channel's), in the
    reader's language, with the zone named: ``2 déc. 2026, 09:30 (Europe/Paris)``."""
    from babel.dates import format_datetime

    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    text = format_datetime(moment.astimezone(tz), "medium", tzinfo=tz, locale=language)
    return f"{text} ({zone or 'UTC'})"


def weekday_name(number: int, language: str) -> str:
    """The day of ISO number ``number`` (1 = Monday) by name: ``mardi``, ``Tuesday``."""
    from babel.dates import get_day_names

    return str(get_day_names("wide", locale=language)[(int(number) - 1) % 7])


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render template ``name`` in the request's language with the common context."""
    language = getattr(request.state, "language", "en")
    tr = translator(language)
    values: dict[str, Any] = {
        "request": request,
        "language": language,
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "access": getattr(request.state, "access", None),
        # _() also translates a Message (an error's) with its values.
        "_": tr,
        "gettext": tr,
        "ngettext": tr.ngettext,
        "local_time": lambda moment, zone: local_time(moment, zone, language),
        "weekday_name": lambda number: weekday_name(number, language),
        "vega_locale": vega_locale(language),
    }
    # A success message left by the redirect that brought the reader here (web/flash.py),
    # shown once on the next whole page (not on an htmx fragment, which has no place for it).
    waiting = None if request.headers.get("hx-request") else flash.pending(request)
    if waiting is not None:
        values["flash_notice"] = flash.text(tr, *waiting)
    values.update(context or {})
    template = environment.get_template(name)
    html = template.render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if waiting is not None:
        flash.clear(response)
    return response
