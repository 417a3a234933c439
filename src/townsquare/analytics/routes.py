"""HTTP routes of Measure: the REST API (api.py), import routes and the web pages (pages.py)."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.analytics import api, import_routes, pages


def include(app: FastAPI) -> None:
    """Add Measure's routers to the app."""
    app.include_router(pages.router)
    app.include_router(import_routes.pages)
    app.include_router(api.router, prefix="/api/v1")
    app.include_router(import_routes.api, prefix="/api/v1")
