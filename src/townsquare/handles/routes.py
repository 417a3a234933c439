"""HTTP routes of Handles: the REST API (api.py) and the pages under Settings (pages.py)."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.handles import api, pages


def include(app: FastAPI) -> None:
    """Add Handles' routers to the app."""
    app.include_router(pages.router)
    app.include_router(api.router, prefix="/api/v1")
