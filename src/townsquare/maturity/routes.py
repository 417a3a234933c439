"""HTTP routes of Maturity: the REST API (api.py) and the pages under Settings (pages.py)."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    """Add Maturity's routers to the app."""
