"""Connecting a Mastodon channel through OAuth 2 (authorization code, PKCE where offered).

1. :func:`start` registers townsquare on the instance (``POST /api/v1/apps``) unless it
   already did for that instance and redirect URI (``oauth_apps``), keeps the state and
   the PKCE verifier sealed on the channel, and returns the consent page's URL.
2. The instance sends the browser back to ``/w/{ws}/channels/{id}/callback``, where
   :func:`finish` checks the state, trades the code for a token, checks the account and
   stores the credentials. Until then the channel is ``pending`` with no credentials.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels import service
from townsquare.channels.connect import check_account, same_handle
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel, OAuthApp
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError, ValidationError
from townsquare.networks import mastodon
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess


@dataclass(frozen=True)
class OAuthStart:
    authorize_url: str
    pkce: bool
    scopes: list[str]

    def as_json(self) -> dict[str, object]:
        return {"authorize_url": self.authorize_url, "pkce": self.pkce, "scopes": self.scopes}


def redirect_uri(base_url: str, workspace_slug: str, channel_id: int) -> str:
    return f"{base_url.rstrip('/')}/w/{workspace_slug}/channels/{channel_id}/callback"


def _instance_of(channel: Channel, instance_url: str | None) -> str:
    if instance_url:
        return mastodon.normalize_instance_url(instance_url)
    _user, host = mastodon.parse_handle(channel.handle)
    return mastodon.normalize_instance_url(host)


def _app(
    session: Session, instance: str, redirect: str, settings: Settings, box: CredentialsBox
) -> mastodon.OAuthApp:
    stored = session.scalar(
        select(OAuthApp).where(
            OAuthApp.network == "mastodon",
            OAuthApp.instance_url == instance,
            OAuthApp.redirect_uri == redirect,
        )
    )
    if stored is not None:
        secret = str(box.open(stored.client_secret_encrypted)["client_secret"])
        return mastodon.OAuthApp(instance, stored.client_id, secret, redirect, list(stored.scopes))
    app = mastodon.register_app(instance, redirect, settings)
    session.add(
        OAuthApp(
            network="mastodon",
            instance_url=instance,
            redirect_uri=redirect,
            client_id=app.client_id,
            client_secret_encrypted=box.seal({"client_secret": app.client_secret}),
            scopes=app.scopes,
        )
    )
    session.commit()
    return app


def start(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    settings: Settings,
    box: CredentialsBox,
    *,
    base_url: str,
    instance_url: str | None = None,
) -> OAuthStart:
    access.require(Role.ADMIN, "connect channels")
    channel = service.get_channel(session, access, channel_id)
    if channel.network != "mastodon":
        raise ValidationError(
            "OAuth connects Mastodon channels; a Bluesky channel takes an app password",
            field="network",
        )
    instance = _instance_of(channel, instance_url)
    redirect = redirect_uri(base_url, access.workspace.slug, channel.id)
    app = _app(session, instance, redirect, settings, box)
    pkce = mastodon.offers_pkce(instance, settings)
    request = mastodon.authorization_request(app, pkce=pkce)
    channel.oauth_pending = box.seal(
        {"state": request.state, "code_verifier": request.code_verifier, "instance_url": instance}
    )
    if channel.credentials_encrypted is None:
        channel.status = "pending"
    session.commit()
    return OAuthStart(request.url, pkce, app.scopes)


def finish(
    session: Session,
    access: WorkspaceAccess,
    channel_id: int,
    settings: Settings,
    box: CredentialsBox,
    *,
    code: str,
    state: str,
    base_url: str,
) -> Channel:
    access.require(Role.ADMIN, "connect channels")
    channel = service.get_channel(session, access, channel_id)
    if channel.oauth_pending is None:
        raise ValidationError(
            "no connection of this channel is under way: start it again from its page",
            field="state",
        )
    pending = box.open(channel.oauth_pending)
    if not state or not secrets.compare_digest(str(pending["state"]), state):
        raise AuthenticationError(
            "the answer of the instance does not match the connection started here "
            "(state): start the connection again",
            field="state",
        )
    instance = str(pending["instance_url"])
    redirect = redirect_uri(base_url, access.workspace.slug, channel.id)
    app = _app(session, instance, redirect, settings, box)
    credentials = mastodon.exchange_code(
        app, code, settings, code_verifier=pending.get("code_verifier")
    )
    account, stored = check_account("mastodon", credentials, settings)
    if not same_handle("mastodon", channel.handle, account.handle):
        raise ValidationError(
            "you authorized %(found)s on the instance, not %(handle)s: start again and "
            "choose %(handle)s (or add a channel for %(found)s)",
            params={"found": account.handle, "handle": channel.handle},
            field="handle",
        )
    channel.credentials_encrypted = box.seal(stored)
    channel.oauth_pending = None
    channel.status, channel.status_reason = "active", None
    channel.account_id = account.external_id
    channel.followers = account.followers
    channel.avatar_url = account.avatar_url
    channel.display_name = channel.display_name or account.display_name
    channel.next_sync_at = utcnow()
    session.commit()
    return channel
