"""Use cases for channels; every query is scoped by the caller's workspace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.errors import Conflict, NotFound, ValidationError
from townsquare.messages import Message
from townsquare.networks import get_network, network_names
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

CHANNEL_STATUSES = ("active", "needs_reconnection", "disabled")


# Networks whose APIs give no reach and no impressions for an account's posts (see the
# connectors' module docs): Measure says so in words, and rates there are by followers.
NO_REACH_NETWORKS = frozenset({"mastodon", "bluesky"})


def gives_no_reach(channel: Any) -> bool:
    """Whether ``channel``'s network never gives reach nor impressions."""
    return str(getattr(channel, "network", "")) in NO_REACH_NETWORKS


def _clean_handle(handle: str) -> str:
    clean = validation.non_empty(handle, field="handle")
    if any(ch.isspace() for ch in clean):
        raise ValidationError(
            "handle %(handle)r contains spaces: remove them",
            params={"handle": handle},
            field="handle",
        )
    return clean


def channel_label(channel: Any, gettext: Callable[[str], str] | None = None) -> str:
    """How a channel is told apart in menus: its name with the network and the handle
    (two channels may share a name, never a network and a handle). ``gettext`` translates
    the network's label ("Web page")."""
    try:
        network = get_network(channel.network).label
    except ValidationError:
        network = channel.network
    if gettext is not None:
        network = gettext(network)
    if channel.display_name and channel.display_name != channel.handle:
        return f"{channel.display_name} ({network} · {channel.handle})"
    return f"{channel.handle} ({network})"


def _clean_name(display_name: str | None) -> str | None:
    name = validation.no_nul((display_name or "").strip(), field="display_name")
    if len(name) > 200:
        raise ValidationError(
            "display_name is too long: at most 200 characters", field="display_name"
        )
    return name or None


def add_channel(
    session: Session,
    access: WorkspaceAccess,
    *,
    network: str,
    handle: str,
    display_name: str | None = None,
    timezone: str | None = None,
    credentials: dict[str, Any] | None = None,
    box: CredentialsBox | None = None,
) -> Channel:
    """Add a channel (admin or owner). Credentials are sealed with ``box`` before storing."""
    access.require(Role.ADMIN, "add channels")
    info = get_network(network)
    clean_handle = _clean_handle(handle)
    clean_timezone = validation.timezone(timezone or access.workspace.timezone)
    if credentials and box is None:
        raise ValueError("credentials given without a CredentialsBox to seal them")
    existing = session.scalar(
        select(Channel.id).where(
            Channel.workspace_id == access.workspace_id,
            Channel.network == info.name,
            Channel.handle == clean_handle,
        )
    )
    if existing is not None:
        raise Conflict(
            "this workspace already has the %(label)s channel '%(handle)s'",
            params={"label": Message(info.label), "handle": clean_handle},
            field="handle",
        )
    channel = Channel(
        workspace_id=access.workspace_id,
        network=info.name,
        handle=clean_handle,
        display_name=_clean_name(display_name),
        timezone=clean_timezone,
        credentials_encrypted=box.seal(credentials) if credentials and box else None,
        status="active",
    )
    session.add(channel)
    audit.record(
        session,
        "channel.added",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{info.name}:{clean_handle}",
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "channel '%(handle)s' already exists",
            params={"handle": clean_handle},
            field="handle",
        ) from None
    return channel


def list_channels(session: Session, access: WorkspaceAccess) -> list[Channel]:
    query = (
        select(Channel)
        .where(Channel.workspace_id == access.workspace_id)
        .order_by(Channel.network, Channel.handle)
    )
    return list(session.scalars(query))


def get_channel(session: Session, access: WorkspaceAccess, channel_id: int) -> Channel:
    channel = session.scalar(
        select(Channel).where(Channel.id == channel_id, Channel.workspace_id == access.workspace_id)
    )
    if channel is None:
        raise NotFound(
            "no channel with id %(channel_id)s in this workspace",
            params={"channel_id": channel_id},
            field="channel",
        )
    return channel


def get_channel_by_handle(session: Session, access: WorkspaceAccess, handle: str) -> Channel:
    """The channel called ``handle`` in the workspace (the CLI's ``--channel H``).

    A handle used on two networks is ambiguous; ``network:handle`` picks one.
    """
    # Only a known network name before the first colon is a prefix: a Mastodon handle may
    # carry a port (@brand@127.0.0.1:8931).
    prefix, colon, rest = handle.partition(":")
    if colon and prefix.strip().lower() in network_names():
        network, bare = prefix, rest
    else:
        network, bare = "", handle
    query = select(Channel).where(
        Channel.workspace_id == access.workspace_id, Channel.handle == bare.strip()
    )
    if network:
        query = query.where(Channel.network == network.strip().lower())
    matches = list(session.scalars(query))
    if not matches:
        raise NotFound(
            "no channel '%(handle)s' in workspace '%(slug)s': list them with `townsquare channel "
            "list --workspace %(slug)s`",
            params={"handle": handle, "slug": access.workspace.slug},
            field="channel",
        )
    if len(matches) > 1:
        choices = ", ".join(f"{c.network}:{c.handle}" for c in matches)
        raise ValidationError(
            "channel '%(handle)s' exists on several networks: write one of %(choices)s",
            params={"handle": handle, "choices": choices},
            field="channel",
        )
    return matches[0]


def update_channel(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    *,
    display_name: str | None = None,
    timezone: str | None = None,
    status: str | None = None,
    credentials: dict[str, Any] | None = None,
    box: CredentialsBox | None = None,
) -> Channel:
    access.require(Role.ADMIN, "change channels")
    channel = get_channel(session, access, channel_id)
    if display_name is not None:
        channel.display_name = _clean_name(display_name)
    if timezone is not None:
        channel.timezone = validation.timezone(timezone)
    if status is not None:
        if status not in CHANNEL_STATUSES:
            raise ValidationError(
                "unknown status %(status)r: choose one of %(choices)s",
                params={"status": status, "choices": ", ".join(CHANNEL_STATUSES)},
                field="status",
            )
        channel.status = status
    if credentials is not None:
        if box is None:
            raise ValueError("credentials given without a CredentialsBox to seal them")
        channel.credentials_encrypted = box.seal(credentials)
        channel.status = "active"
    audit.record(
        session,
        "channel.updated",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{channel.network}:{channel.handle}",
    )
    session.commit()
    return channel


def delete_channel(session: Session, access: WorkspaceAccess, channel_id: int) -> None:
    access.require(Role.ADMIN, "delete channels")
    channel = get_channel(session, access, channel_id)
    audit.record(
        session,
        "channel.deleted",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{channel.network}:{channel.handle}",
    )
    session.delete(channel)
    session.commit()


def channel_credentials(channel: Channel, box: CredentialsBox) -> dict[str, Any] | None:
    """Decrypted credentials, for connectors only; never returned by the API."""
    if channel.credentials_encrypted is None:
        return None
    return box.open(channel.credentials_encrypted)
