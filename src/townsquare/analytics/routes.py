"""HTTP routes of this capability (pages and REST API)."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    """Add this capability's routers to the app."""
