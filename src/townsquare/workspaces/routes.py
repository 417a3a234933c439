"""HTTP routes of workspaces: the web pages (pages.py) and the REST API (api.py)."""

from __future__ import annotations

from townsquare.workspaces.api import router as api
from townsquare.workspaces.invitation_pages import router as invitation_pages
from townsquare.workspaces.pages import router as pages

__all__ = ["api", "invitation_pages", "pages"]
