"""HTTP routes of Publish: the REST API (api.py), the web pages (composer and post,
calendar and attention, settings) and the public iCalendar feed."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.publish import api, composer_pages, ical_routes, pages, settings_pages


def include(app: FastAPI) -> None:
    """Add Publish's routers to the app."""
    app.include_router(api.router, prefix="/api/v1")
    # The composer's fixed paths (/publish/new, /publish/count) before the post's.
    app.include_router(composer_pages.router)
    app.include_router(pages.router)
    app.include_router(settings_pages.router)
    app.include_router(ical_routes.router)
