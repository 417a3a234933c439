"""Connected channels: connect (checked first), check, sync, disconnect, health, alerts.

Every use case is scoped by the caller's workspace; connectors are called with plain
credentials and what they return is stored here, never by them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from townsquare.analytics.models import ChannelSnapshot, Post
from townsquare.channels import service
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.sync import (
    Progress,
    SyncReport,
    cancel_reservation,
    next_sync_after,
    reserve,
    run_sync,
)
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError, TownsquareError, ValidationError
from townsquare.i18n import catalogs
from townsquare.messages import translate
from townsquare.networks.base import Account, Connector
from townsquare.networks.connectors import connector_for, is_connectable
from townsquare.networks.registry import get_network
from townsquare.workspaces import audit
from townsquare.workspaces.models import Membership, User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

logger = logging.getLogger(__name__)


def same_handle(network: str, given: str, found: str) -> bool:
    def clean(value: str) -> str:
        return value.strip().lstrip("@").lower()

    if network == "mastodon":
        return clean(given) == clean(found)
    return clean(given) == clean(found) or given.startswith("did:")


def check_account(
    network: str,
    credentials: dict[str, Any],
    settings: Settings,
) -> tuple[Account, dict[str, Any]]:
    """The account behind ``credentials`` and the credentials to store (a connector may
    add to them, e.g. a Bluesky session)."""
    connector = connector_for(network, credentials, settings)
    try:
        account = connector.check()
        stored = connector.updated_credentials() or credentials
    finally:
        connector.close()
    return account, stored


def connect_channel(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    box: CredentialsBox,
    *,
    network: str,
    handle: str,
    credentials: dict[str, Any],
    check: bool = True,
    display_name: str | None = None,
    timezone: str | None = None,
    sync_interval_minutes: int | None = None,
) -> tuple[Channel, Account | None]:
    """Add a connected channel: the account is checked first; on failure nothing is stored."""
    access.require(Role.ADMIN, "connect channels")
    info = get_network(network)
    if not is_connectable(info.name):
        connector_for(info.name, credentials, settings)  # raises the clear error
    interval = _clean_interval(sync_interval_minutes)
    account: Account | None = None
    stored = credentials
    if check:
        account, stored = check_account(info.name, credentials, settings)
        if not same_handle(info.name, handle, account.handle):
            raise ValidationError(
                "these credentials belong to %(found)s, not %(handle)s: give "
                "--handle %(found)s or the credentials of %(handle)s",
                params={"found": account.handle, "handle": handle},
                field="handle",
            )
    channel = service.add_channel(
        session,
        access,
        network=info.name,
        handle=handle,
        display_name=display_name or (account.display_name if account else None),
        timezone=timezone,
        credentials=stored,
        box=box,
    )
    if interval is not None:
        channel.sync_interval_minutes = interval
    if account is not None:
        _remember_account(channel, account)
    channel.next_sync_at = utcnow()  # the first sync (full history) as soon as possible
    session.commit()
    return channel, account


def _clean_interval(minutes: int | None) -> int | None:
    if minutes is None:
        return None
    if not 5 <= minutes <= 24 * 60:
        raise ValidationError(
            "sync interval %(minutes)s min is out of range: give 5 to 1440 minutes",
            params={"minutes": minutes},
            field="sync_interval_minutes",
        )
    return minutes


def set_sync_interval(
    session: Session, access: WorkspaceAccess, channel_id: int, minutes: int
) -> Channel:
    access.require(Role.ADMIN, "change channels")
    channel = service.get_channel(session, access, channel_id)
    channel.sync_interval_minutes = _clean_interval(minutes) or channel.sync_interval_minutes
    channel.next_sync_at = next_sync_after(channel, utcnow())
    session.commit()
    return channel


def record_account(session: Session, channel: Channel, account: Account) -> None:
    """After new credentials were checked and stored: remember the account, sync soon."""
    _remember_account(channel, account)
    channel.status, channel.status_reason = "active", None
    channel.next_sync_at = utcnow()
    session.commit()


def _remember_account(channel: Channel, account: Account) -> None:
    channel.account_id = account.external_id
    channel.avatar_url = account.avatar_url
    channel.followers = account.followers


def _no_credentials(channel: Channel) -> ValidationError:
    return ValidationError(
        "channel %(handle)s has no credentials: connect it first "
        "(townsquare channel add … --credentials-stdin, or the channel page)",
        params={"handle": channel.handle},
        field="channel",
    )


def _require_syncable(channel: Channel) -> None:
    if channel.status == "needs_reconnection":
        raise AuthenticationError(
            "channel %(handle)s needs reconnection (%(reason)s): give it new credentials first",
            params={"handle": channel.handle, "reason": channel.status_reason},
            field="channel",
        )
    if channel.credentials_encrypted is None:
        raise _no_credentials(channel)


def _connector(channel: Channel, settings: Settings, box: CredentialsBox) -> Connector:
    credentials = service.channel_credentials(channel, box)
    if credentials is None:
        raise _no_credentials(channel)
    return connector_for(channel.network, credentials, settings)


@dataclass
class CheckResult:
    ok: bool
    account: Account | None
    error: str | None
    failure: TownsquareError | None = None  # what went wrong, for an exit code or status

    def as_json(self) -> dict[str, Any]:
        account = None
        if self.account is not None:
            account = {
                "handle": self.account.handle,
                "display_name": self.account.display_name,
                "followers": self.account.followers,
            }
        return {"ok": self.ok, "account": account, "error": self.error}


def check_channel(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    settings: Settings,
    box: CredentialsBox,
) -> CheckResult:
    """Ask the network whether the stored credentials still work; record the answer."""
    access.require(Role.EDITOR, "check channels")
    channel = service.get_channel(session, access, channel_id)
    connector = _connector(channel, settings, box)
    try:
        account = connector.check()
        refreshed = connector.updated_credentials()
    except AuthenticationError as error:
        mark_needs_reconnection(session, channel, error.message, settings)
        return CheckResult(False, None, error.message, error)
    except TownsquareError as error:
        channel.last_error = error.message
        channel.last_error_at = utcnow()
        session.commit()
        return CheckResult(False, None, error.message, error)
    finally:
        connector.close()
    _remember_account(channel, account)
    if refreshed is not None:
        channel.credentials_encrypted = box.seal(refreshed)
    if channel.status == "needs_reconnection":
        channel.status, channel.status_reason = "active", None
    channel.rate_limit = connector.rate_limit.as_json()
    session.commit()
    return CheckResult(True, account, None)


def sync_channel(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    settings: Settings,
    box: CredentialsBox,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Sync one channel now (editors and above)."""
    access.require(Role.EDITOR, "sync channels")
    channel = service.get_channel(session, access, channel_id)
    return sync_loaded_channel(session, channel, settings, box, full=full, progress=progress)


def sync_loaded_channel(
    session: Session,
    channel: Channel,
    settings: Settings,
    box: CredentialsBox,
    *,
    full: bool = False,
    progress: Progress | None = None,
    reservation: datetime | None = None,
) -> SyncReport:
    """Sync a channel already loaded by a scoped query (the CLI, the API, the worker);
    ``reservation``: the hold :func:`queue_sync` took for it."""
    try:
        _require_syncable(channel)
        connector = _connector(channel, settings, box)
    except TownsquareError:
        if reservation is not None:  # the channel changed while the task was queued
            cancel_reservation(session, channel)
        raise
    try:
        return run_sync(
            session,
            channel,
            connector,
            full=full,
            progress=progress,
            box=box,
            reservation=reservation,
        )
    except AuthenticationError as error:
        notify_reconnection(session, channel, error.message, settings)
        raise
    finally:
        connector.close()


def queue_sync(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    enqueue: Callable[[int, bool, datetime], object],
    *,
    full: bool = False,
) -> Channel:
    """Queue a sync of one channel (editors and above): the channel is held for it at
    once, so that a second click while it is queued or running is a Conflict, and the
    page follows its progress. ``enqueue(channel_id, full, reservation)`` queues the task.
    """
    access.require(Role.EDITOR, "sync channels")
    channel = service.get_channel(session, access, channel_id)
    _require_syncable(channel)
    reservation = reserve(session, channel, utcnow(), full=full)
    try:
        enqueue(channel.id, full, reservation)
    except Exception:
        cancel_reservation(session, channel)
        raise
    return channel


def mark_needs_reconnection(
    session: Session, channel: Channel, reason: str, settings: Settings
) -> None:
    already = channel.status == "needs_reconnection"
    channel.status = "needs_reconnection"
    channel.status_reason = reason
    channel.last_error = reason
    channel.last_error_at = utcnow()
    session.commit()
    if not already:
        notify_reconnection(session, channel, reason, settings)


def workspace_managers(session: Session, workspace_id: int) -> list[str]:
    """E-mail addresses of the workspace's owners and admins (active users)."""
    rows = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.role.in_([Role.OWNER.value, Role.ADMIN.value]),
            User.is_active.is_(True),
        )
        .order_by(User.email)
    )
    return list(rows)


def notify_reconnection(
    session: Session, channel: Channel, reason: str, settings: Settings
) -> bool:
    """E-mail the owners and admins that a channel needs reconnection (when SMTP is set).

    The banner on every page of the workspace needs nothing sent: it reads the status.
    Returns whether an e-mail went out.
    """
    if not settings.smtp_url:
        return False
    from townsquare.mail import send_mail
    from townsquare.workspaces.models import Workspace

    recipients = workspace_managers(session, channel.workspace_id)
    workspace = session.get(Workspace, channel.workspace_id)
    if not recipients or workspace is None:
        return False
    link = f"{(settings.base_url or '').rstrip('/')}/w/{workspace.slug}/channels/{channel.id}"
    label = get_network(channel.network).label
    french = translate(reason, catalogs("fr").gettext)  # the reason is a Message: in French
    text = (
        f"The {label} channel {channel.handle} of the workspace {workspace.name} stopped "
        f"working: {reason}\n\nReconnect it on its page: {link}\n\n"
        f"Le canal {label} {channel.handle} de l'espace {workspace.name} ne fonctionne plus : "
        f"{french}\n\nReconnectez-le sur sa page : {link}\n"
    )
    try:
        send_mail(
            settings,
            to=recipients,
            subject=f"[townsquare] {channel.handle} needs reconnection / à reconnecter",
            text=text,
        )
    except TownsquareError as error:
        logger.warning("could not e-mail about channel %s: %s", channel.id, error)
        return False
    return True


@dataclass
class DisconnectResult:
    revoked: bool
    posts_deleted: int

    def as_json(self) -> dict[str, Any]:
        return {"revoked": self.revoked, "posts_deleted": self.posts_deleted}


def disconnect_channel(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    settings: Settings,
    box: CredentialsBox,
    *,
    delete_posts: bool = False,
) -> DisconnectResult:
    """Revoke the token where the network allows it, delete the stored credentials; the
    posts and metrics stay unless ``delete_posts``."""
    access.require(Role.ADMIN, "disconnect channels")
    channel = service.get_channel(session, access, channel_id)
    revoked = False
    if channel.credentials_encrypted is not None:
        try:
            connector = _connector(channel, settings, box)
            try:
                revoked = connector.revoke()
            finally:
                connector.close()
        except TownsquareError as error:  # the credentials go anyway
            logger.info("revoking the token of channel %s failed: %s", channel.id, error)
    channel.credentials_encrypted = None
    channel.oauth_pending = None
    channel.status = "disabled"
    channel.status_reason = "disconnected"  # a key of its own: never shown (status disabled)
    channel.next_sync_at = None
    deleted = 0
    if delete_posts:
        deleted = len(list(session.scalars(select(Post.id).where(Post.channel_id == channel.id))))
        session.execute(delete(Post).where(Post.channel_id == channel.id))
        session.execute(delete(ChannelSnapshot).where(ChannelSnapshot.channel_id == channel.id))
        channel.history_complete = False
    audit.record(
        session,
        "channel.disconnected",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{channel.network}:{channel.handle}",
    )
    session.commit()
    return DisconnectResult(revoked, deleted)


def health(channel: Channel) -> dict[str, Any]:
    """The channel's health for the page and ``channel list --json``."""
    connected = channel.credentials_encrypted is not None and is_connectable(channel.network)
    if not connected:
        state = "not_connected"
    elif channel.status == "needs_reconnection":
        state = "needs_reconnection"
    else:
        state = "connected"
    return {
        "state": state,
        "reason": channel.status_reason if state == "needs_reconnection" else None,
        "last_sync_at": channel.last_sync_at,
        "next_sync_at": channel.next_sync_at if connected else None,
        "last_error": channel.last_error,
        "rate_limit": channel.rate_limit,
        "sync_interval_minutes": channel.sync_interval_minutes,
        "followers": channel.followers,
        "progress": channel.sync_progress,
    }


def needing_reconnection(access: WorkspaceAccess | None) -> list[Channel]:
    """The workspace's channels that need reconnection, for the banner owners and admins
    see on every page of the workspace (nothing for other roles, nothing outside one)."""
    from sqlalchemy.orm import object_session

    if access is None or not access.role.at_least(Role.ADMIN):
        return []
    session = object_session(access.workspace)
    if session is None:
        return []
    query = (
        select(Channel)
        .where(
            Channel.workspace_id == access.workspace_id,
            Channel.status == "needs_reconnection",
        )
        .order_by(Channel.handle)
    )
    return list(session.scalars(query))
