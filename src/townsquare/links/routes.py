"""HTTP routes of Links: the REST API (api.py) and the web pages (pages.py).

The redirector itself (``GET /{slug}``) is not here: it is a separate ASGI app
(redirector.py) mounted by host name in ``townsquare serve`` or run alone by
``townsquare serve-links``.
"""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.links import api, pages


def include(app: FastAPI) -> None:
    """Add Links' routers to the app."""
    app.include_router(pages.router)
    app.include_router(api.router, prefix="/api/v1")
