"""HTTP routes of Publish: the REST API (api.py); the web pages add theirs here."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.publish import api


def include(app: FastAPI) -> None:
    """Add Publish's routers to the app."""
    app.include_router(api.router, prefix="/api/v1")
