"""Pages and REST API of connected channels: connect, check, sync, OAuth, disconnect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from townsquare.channels import connect, oauth, service
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.tasks import enqueue_sync
from townsquare.config import Settings
from townsquare.errors import AuthenticationError, TownsquareError, ValidationError
from townsquare.networks.connectors import is_connectable
from townsquare.networks.mastodon import SCOPES
from townsquare.networks.registry import get_network
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

pages = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
api = APIRouter(tags=["channels"])


def _box(settings: AppSettings) -> CredentialsBox:
    return CredentialsBox(settings.resolved_credentials_key())


Box = Annotated[CredentialsBox, Depends(_box)]


def _base_url(request: Request, settings: Settings) -> str:
    return (settings.base_url or str(request.base_url)).rstrip("/")


# --- API ---------------------------------------------------------------------------------


class OAuthStartIn(BaseModel):
    instance_url: str | None = Field(
        default=None, description="Default: the instance of the channel's handle"
    )


class DisconnectIn(BaseModel):
    delete_posts: bool = Field(default=False, description="Also delete posts and metrics")


@api.post("/workspaces/{workspace}/channels/{channel_id}/check")
def api_check(
    channel_id: DbId, session: DbSession, access: ApiAccess, settings: AppSettings, box: Box
) -> dict[str, Any]:
    """``{"ok", "account": {"handle", "display_name", "followers"}, "error"}``."""
    return connect.check_channel(session, access, channel_id, settings, box).as_json()


@api.post("/workspaces/{workspace}/channels/{channel_id}/sync")
def api_sync(
    channel_id: DbId,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    box: Box,
    full: bool = False,
) -> dict[str, Any]:
    """``{"posts_fetched", "posts_new", "snapshots_written", "followers"}``."""
    report = connect.sync_channel(session, access, channel_id, settings, box, full=full)
    return report.as_json()


@api.post("/workspaces/{workspace}/channels/{channel_id}/oauth/start")
def api_oauth_start(
    channel_id: DbId,
    request: Request,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    box: Box,
    body: OAuthStartIn | None = None,
) -> dict[str, object]:
    """``{"authorize_url", "pkce", "scopes"}``: send the user's browser to authorize_url."""
    started = oauth.start(
        session,
        access,
        channel_id,
        settings,
        box,
        base_url=_base_url(request, settings),
        instance_url=body.instance_url if body else None,
    )
    return started.as_json()


@api.post("/workspaces/{workspace}/channels/{channel_id}/disconnect")
def api_disconnect(
    channel_id: DbId,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    box: Box,
    body: DisconnectIn | None = None,
) -> dict[str, Any]:
    """``{"revoked", "posts_deleted"}``."""
    result = connect.disconnect_channel(
        session,
        access,
        channel_id,
        settings,
        box,
        delete_posts=bool(body and body.delete_posts),
    )
    return result.as_json()


@api.get("/workspaces/{workspace}/channels/{channel_id}/health")
def api_health(channel_id: DbId, session: DbSession, access: ApiAccess) -> dict[str, Any]:
    return connect.health(service.get_channel(session, access, channel_id))


# --- pages -------------------------------------------------------------------------------


def _page(
    request: Request,
    session: DbSession,
    access: WorkspaceAccess,
    channel_id: DbId,
    *,
    error: TownsquareError | None = None,
    notice: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    channel = service.get_channel(session, access, channel_id)
    return render(
        request,
        "channels/detail.html",
        {
            "channel": channel,
            "network": get_network(channel.network),
            "connectable": is_connectable(channel.network),
            "health": connect.health(channel),
            "scopes": SCOPES,
            "error": error,
            "notice": notice,
            "form": form or {},
        },
        status_code=status_for(error) if error else 200,
    )


def _back(access: WorkspaceAccess, channel_id: DbId, notice: str = "") -> RedirectResponse:
    query = f"?notice={notice}" if notice else ""
    return RedirectResponse(
        f"/w/{access.workspace.slug}/channels/{channel_id}{query}", status_code=303
    )


def _attempt(
    request: Request,
    session: DbSession,
    access: WorkspaceAccess,
    channel_id: DbId,
    action: Callable[[], Response],
    *,
    form: dict[str, str] | None = None,
) -> Response:
    """Run a page's action; a TownsquareError rolls back and shows the channel page with
    the error (and the form as it was given), with the error's status code."""
    try:
        return action()
    except TownsquareError as error:
        session.rollback()
        return _page(request, session, access, channel_id, error=error, form=form)


@pages.get("/w/{slug}/channels/{channel_id}")
def channel_page(
    request: Request, session: DbSession, access: PageAccess, channel_id: DbId, notice: str = ""
) -> Response:
    return _page(request, session, access, channel_id, notice=notice or None)


@pages.get("/w/{slug}/channels/{channel_id}/progress")
def channel_progress(
    request: Request, session: DbSession, access: PageAccess, channel_id: DbId
) -> Response:
    """The health fragment the channel page polls while a sync is queued or running."""
    channel = service.get_channel(session, access, channel_id)
    return render(
        request,
        "channels/_health.html",
        {
            "channel": channel,
            "connectable": is_connectable(channel.network),
            "health": connect.health(channel),
        },
    )


@pages.post("/w/{slug}/channels/{channel_id}/connect")
def channel_connect(
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
    box: Box,
    channel_id: DbId,
    instance_url: Annotated[str, Form()] = "",
    access_token: Annotated[str, Form()] = "",
    identifier: Annotated[str, Form()] = "",
    app_password: Annotated[str, Form()] = "",
    service_url: Annotated[str, Form()] = "",
) -> Response:
    """Paste a token (Mastodon) or an app password (Bluesky): checked, then stored."""

    def action() -> Response:
        access.require(Role.ADMIN, "connect channels")
        channel = service.get_channel(session, access, channel_id)
        credentials: dict[str, str]
        if channel.network == "mastodon":
            credentials = {"instance_url": instance_url, "access_token": access_token}
        else:
            credentials = {
                "identifier": identifier or channel.handle,
                "app_password": app_password,
            }
            if service_url.strip():
                credentials["service_url"] = service_url.strip()
        account, stored = connect.check_account(channel.network, credentials, settings)
        if not connect.same_handle(channel.network, channel.handle, account.handle):
            raise ValidationError(
                "these credentials belong to %(found)s, not %(handle)s",
                params={"found": account.handle, "handle": channel.handle},
                field="handle",
            )
        service.update_channel(session, access, channel_id, credentials=stored, box=box)
        connect.record_account(session, channel, account)
        return _back(access, channel_id, "connected")

    form = {"instance_url": instance_url, "identifier": identifier, "service_url": service_url}
    return _attempt(request, session, access, channel_id, action, form=form)


@pages.post("/w/{slug}/channels/{channel_id}/oauth")
def channel_oauth(
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
    box: Box,
    channel_id: DbId,
    oauth_instance_url: Annotated[str, Form()] = "",
) -> Response:
    def action() -> Response:
        started = oauth.start(
            session,
            access,
            channel_id,
            settings,
            box,
            base_url=_base_url(request, settings),
            instance_url=oauth_instance_url.strip() or None,
        )
        return RedirectResponse(started.authorize_url, status_code=303)

    return _attempt(request, session, access, channel_id, action)


@pages.get("/w/{slug}/channels/{channel_id}/callback")
def channel_callback(
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
    box: Box,
    channel_id: DbId,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    def action() -> Response:
        if error or not code:
            raise AuthenticationError(
                "the instance did not authorize townsquare (%(reason)s): start again",
                params={"reason": error or "no code"},
                field="code",
            )
        oauth.finish(
            session,
            access,
            channel_id,
            settings,
            box,
            code=code,
            state=state,
            base_url=_base_url(request, settings),
        )
        return _back(access, channel_id, "connected")

    return _attempt(request, session, access, channel_id, action)


@pages.post("/w/{slug}/channels/{channel_id}/sync")
def channel_sync(
    request: Request,
    session: DbSession,
    access: PageAccess,
    channel_id: DbId,
    full: Annotated[str, Form()] = "",
) -> Response:
    """Queue the sync (the job queue runs it); the page then follows its progress."""

    def action() -> Response:
        connect.queue_sync(session, access, channel_id, enqueue_sync, full=bool(full))
        return _back(access, channel_id, "queued")

    return _attempt(request, session, access, channel_id, action)


@pages.post("/w/{slug}/channels/{channel_id}/disconnect")
def channel_disconnect(
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
    box: Box,
    channel_id: DbId,
    delete_posts: Annotated[str, Form()] = "",
) -> Response:
    def action() -> Response:
        connect.disconnect_channel(
            session, access, channel_id, settings, box, delete_posts=bool(delete_posts)
        )
        return _back(access, channel_id, "disconnected")

    return _attempt(request, session, access, channel_id, action)
