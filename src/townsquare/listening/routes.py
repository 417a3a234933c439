"""HTTP routes of Listen: the REST API (api.py) and the web pages (pages.py)."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.listening import api, pages, stream_pages


def include(app: FastAPI) -> None:
    """Add Listen's routers to the app."""
    app.include_router(pages.router)
    app.include_router(stream_pages.router)
    app.include_router(api.router, prefix="/api/v1")
