"""HTTP routes of Reports: the REST API (api.py), the pages and the share links (pages.py)."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.reports import api, pages


def include(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.include_router(pages.public)
    app.include_router(api.router, prefix="/api/v1")
