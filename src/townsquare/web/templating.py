"""Jinja2 templates shared by every capability, with translations and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from townsquare import __version__
from townsquare.channels.connect import needing_reconnection
from townsquare.web.i18n import LANGUAGES, translations

PACKAGE_DIR = Path(__file__).resolve().parent.parent

# Each capability keeps its templates in its own package, under a folder named after it
# (e.g. links/templates/links/index.html is rendered as "links/index.html").
TEMPLATE_DIRS = [
    PACKAGE_DIR / "web" / "templates",
    PACKAGE_DIR / "workspaces" / "templates",
    PACKAGE_DIR / "channels" / "templates",
    PACKAGE_DIR / "analytics" / "templates",
    PACKAGE_DIR / "links" / "templates",
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
environment.globals["channels_needing_reconnection"] = needing_reconnection
# Suggestions for every time-zone field (the _forms.html timezone_field datalist).
environment.globals["timezones"] = sorted(
    zone for zone in available_timezones() if "/" in zone or zone == "UTC"
)


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
    gettext = translations(language)
    values: dict[str, Any] = {
        "request": request,
        "language": language,
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "access": getattr(request.state, "access", None),
        "_": gettext.gettext,
        "gettext": gettext.gettext,
        "ngettext": gettext.ngettext,
    }
    values.update(context or {})
    template = environment.get_template(name)
    html = template.render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
