"""Pages and REST API of channels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from townsquare.channels import connect, service
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.schemas import ChannelCreate, ChannelOut, ChannelUpdate, channel_out
from townsquare.errors import NotFound, PermissionDenied, TownsquareError
from townsquare.networks import known_networks
from townsquare.networks.connectors import is_connectable
from townsquare.validation import DbId
from townsquare.web import flash
from townsquare.web.deps import ApiAccess, AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

pages = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
api = APIRouter(tags=["channels"])


def channel_name(channel: Any) -> str:
    """How a channel is named in messages: its name, then network and handle."""
    label = f"{channel.network}:{channel.handle}"
    return f"{channel.display_name} ({label})" if channel.display_name else label


def credentials_box(settings: AppSettings) -> CredentialsBox:
    return CredentialsBox(settings.resolved_credentials_key())


Box = Annotated[CredentialsBox, Depends(credentials_box)]


def _channels_page(
    request: Request,
    session: DbSession,
    access: WorkspaceAccess,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "channels/list.html",
        {
            "channels": service.list_channels(session, access),
            "networks": known_networks(),
            "error": error,
            "form": form or {},
        },
        status_code=status_for(error) if error else 200,
    )


@pages.get("/w/{slug}/channels")
def channels_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _channels_page(request, session, access)


@pages.post("/w/{slug}/channels")
def channels_add(
    request: Request,
    session: DbSession,
    access: PageAccess,
    network: Annotated[str, Form()] = "",
    handle: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    try:
        channel = service.add_channel(
            session,
            access,
            network=network,
            handle=handle,
            display_name=display_name or None,
            timezone=timezone or None,
        )
    except TownsquareError as error:
        return _channels_page(
            request,
            session,
            access,
            error,
            {
                "network": network,
                "handle": handle,
                "display_name": display_name,
                "timezone": timezone,
            },
        )
    return flash.redirect(
        f"/w/{access.workspace.slug}/channels", "channel.added", name=channel_name(channel)
    )


def _edit_page(
    request: Request,
    access: WorkspaceAccess,
    channel: Any,
    form: dict[str, str],
    error: TownsquareError | None = None,
) -> Response:
    return render(
        request,
        "channels/edit.html",
        {"channel": channel, "form": form, "error": error},
        status_code=status_for(error) if error else 200,
    )


@pages.get("/w/{slug}/channels/{channel_id}/edit")
def channels_edit_page(
    request: Request, session: DbSession, access: PageAccess, channel_id: DbId
) -> Response:
    access.require(Role.ADMIN, "change channels")
    channel = service.get_channel(session, access, channel_id)
    form = {"display_name": channel.display_name or "", "timezone": channel.timezone}
    return _edit_page(request, access, channel, form)


@pages.post("/w/{slug}/channels/{channel_id}/edit")
def channels_edit(
    request: Request,
    session: DbSession,
    access: PageAccess,
    channel_id: DbId,
    display_name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """Rename a channel or change its time zone (the network and handle stay)."""
    try:
        channel = service.update_channel(
            session, access, channel_id, display_name=display_name, timezone=timezone
        )
    except TownsquareError as error:
        session.rollback()
        if isinstance(error, NotFound | PermissionDenied):
            raise
        channel = service.get_channel(session, access, channel_id)
        form = {"display_name": display_name, "timezone": timezone}
        return _edit_page(request, access, channel, form, error)
    return flash.redirect(
        f"/w/{access.workspace.slug}/channels", "channel.saved", name=channel_name(channel)
    )


@pages.post("/w/{slug}/channels/{channel_id}/delete")
def channels_delete(
    request: Request, session: DbSession, access: PageAccess, channel_id: DbId
) -> Response:
    try:
        name = channel_name(service.get_channel(session, access, channel_id))
        service.delete_channel(session, access, channel_id)
    except TownsquareError as error:
        return _channels_page(request, session, access, error)
    return flash.redirect(f"/w/{access.workspace.slug}/channels", "channel.removed", name=name)


@api.get("/workspaces/{workspace}/channels", response_model=list[ChannelOut])
def api_channels(session: DbSession, access: ApiAccess) -> list[ChannelOut]:
    return [channel_out(c) for c in service.list_channels(session, access)]


@api.post("/workspaces/{workspace}/channels", response_model=ChannelOut, status_code=201)
def api_add_channel(
    body: ChannelCreate, session: DbSession, access: ApiAccess, box: Box, settings: AppSettings
) -> ChannelOut:
    if body.credentials and is_connectable(body.network.strip().lower()):
        connected, _account = connect.connect_channel(
            session,
            access,
            settings,
            box,
            network=body.network,
            handle=body.handle,
            credentials=body.credentials,
            check=body.check,
            display_name=body.display_name,
            timezone=body.timezone,
            sync_interval_minutes=body.sync_interval_minutes,
        )
        return channel_out(connected)
    channel = service.add_channel(
        session,
        access,
        network=body.network,
        handle=body.handle,
        display_name=body.display_name,
        timezone=body.timezone,
        credentials=body.credentials,
        box=box if body.credentials else None,
    )
    return channel_out(channel)


@api.get("/workspaces/{workspace}/channels/{channel_id}", response_model=ChannelOut)
def api_channel(channel_id: DbId, session: DbSession, access: ApiAccess) -> ChannelOut:
    return channel_out(service.get_channel(session, access, channel_id))


@api.patch("/workspaces/{workspace}/channels/{channel_id}", response_model=ChannelOut)
def api_update_channel(
    channel_id: DbId, body: ChannelUpdate, session: DbSession, access: ApiAccess, box: Box
) -> ChannelOut:
    channel = service.update_channel(
        session,
        access,
        channel_id,
        display_name=body.display_name,
        timezone=body.timezone,
        status=body.status,
        credentials=body.credentials,
        box=box,
    )
    return channel_out(channel)


@api.delete("/workspaces/{workspace}/channels/{channel_id}", status_code=204)
def api_delete_channel(channel_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    service.delete_channel(session, access, channel_id)
    return Response(status_code=204)
