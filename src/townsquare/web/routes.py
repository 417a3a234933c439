"""Where every capability's routers are included (pages, then the REST API)."""

from __future__ import annotations

from fastapi import FastAPI

from townsquare.channels import connected_routes
from townsquare.channels import routes as channel_routes
from townsquare.web import pages
from townsquare.workspaces import routes as workspace_routes


def include_routes(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.include_router(workspace_routes.pages)
    app.include_router(workspace_routes.invitation_pages)
    app.include_router(workspace_routes.api, prefix="/api/v1")
    app.include_router(channel_routes.pages)
    app.include_router(channel_routes.api, prefix="/api/v1")
    app.include_router(connected_routes.pages)
    app.include_router(connected_routes.api, prefix="/api/v1")

    # Capabilities: each adds its routers here.
    from townsquare.analytics import routes as analytics_routes
    from townsquare.links import routes as links_routes
    from townsquare.listening import routes as listening_routes

    analytics_routes.include(app)
    links_routes.include(app)
    listening_routes.include(app)

    from townsquare.reports import routes as reports_routes

    reports_routes.include(app)

    from townsquare.handles import routes as handles_routes
    from townsquare.maturity import routes as maturity_routes

    handles_routes.include(app)
    maturity_routes.include(app)

    from townsquare.publish import routes as publish_routes

    publish_routes.include(app)
