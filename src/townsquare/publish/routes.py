"""HTTP routes of Publish: the web pages (composer and post, calendar and attention,
settings), the public iCalendar feed, and the REST API (api.py, pcore's) when present."""

from __future__ import annotations

import importlib.util

from fastapi import FastAPI

from townsquare.publish import composer_pages, ical_routes, pages, settings_pages


def include(app: FastAPI) -> None:
    """Add Publish's routers to the app."""
    # The composer's fixed paths (/publish/new, /publish/count) before the post's.
    app.include_router(composer_pages.router)
    app.include_router(pages.router)
    app.include_router(settings_pages.router)
    app.include_router(ical_routes.router)
    if importlib.util.find_spec("townsquare.publish.api") is not None:
        api = importlib.import_module("townsquare.publish.api")
        app.include_router(api.router, prefix="/api/v1")
