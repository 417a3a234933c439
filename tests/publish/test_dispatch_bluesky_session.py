"""A Bluesky channel whose session the PDS refuses, against the reference PDS
(@atproto/dev-env): the channel is connected with an app password, the password is revoked
on the PDS (``com.atproto.server.revokeAppPassword``), and once the stored access token has
expired the PDS refuses to refresh the session (400 ``ExpiredToken``, not a 401). The variant
fails with "reconnect the channel", the channel needs reconnection, its owners and admins
get an e-mail, and its next variant is not sent. The same for an access token the PDS cannot
verify (400 ``InvalidToken``)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import Seed, SmtpServer
from tests.networks_servers import BlueskyNetwork
from tests.publish import factory
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.publish.worker import dispatch_due


def _expired(jwt: str) -> str:
    """``jwt`` as it reads two hours later: its ``exp`` passed. The atproto client refreshes
    the session before sending a token it reads as expired, so the signature this breaks is
    never checked; the refresh token is the PDS's real one."""
    header, payload, signature = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 60
    aged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{aged}.{signature}"


def _unverifiable(jwt: str) -> str:
    """``jwt`` signed by another key (as after the PDS changed its signing key): still valid
    by its ``exp``, so the client sends it, and the PDS cannot verify it."""
    header, payload, _signature = jwt.split(".")
    return f"{header}.{payload}.{base64.urlsafe_b64encode(b'x' * 64).decode().rstrip('=')}"


def _rewrite_access_token(
    database: Database, settings: Settings, channel_id: int, change: Callable[[str], str]
) -> None:
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.credentials_encrypted is not None
        credentials = box.open(channel.credentials_encrypted)
        assert credentials["refresh_jwt"] and "app_password" not in credentials
        credentials["access_jwt"] = change(str(credentials["access_jwt"]))
        channel.credentials_encrypted = box.seal(credentials)
        session.commit()


@pytest.mark.parametrize(
    ("revoke", "change", "reason"),
    [
        pytest.param(True, _expired, "ExpiredToken", id="revoked-app-password"),
        pytest.param(False, _unverifiable, "InvalidToken", id="unverifiable-token"),
    ],
)
def test_a_session_the_pds_refuses_fails_the_variant_and_asks_to_reconnect(
    database: Database,
    seed: Seed,
    data_dir: Path,
    bluesky_network: BlueskyNetwork,
    smtp_server: SmtpServer,
    revoke: bool,
    change: Callable[[str], str],
    reason: str,
) -> None:
    settings = factory.dispatch_settings(database, data_dir, smtp_url=smtp_server.url)
    account = bluesky_network.create_account()
    owner = bluesky_network.client(account)  # the account's own password, in the test's hands
    app = owner.com.atproto.server.create_app_password({"name": "townsquare"})
    channel_id = factory.connect_bluesky(
        database, settings, seed.workspace, account.handle, app.password, bluesky_network.pds_url
    )
    if revoke:  # the PDS then refuses to refresh the session: 400 "Token has been revoked"
        owner.com.atproto.server.revoke_app_password({"name": "townsquare"})
    _rewrite_access_token(database, settings, channel_id, change)
    [first] = factory.schedule_post(database, settings, seed.workspace, [channel_id], ["one"])

    assert dispatch_due(database, settings).failed == 1
    factory.check_reconnection_asked(
        database,
        settings,
        seed,
        smtp_server,
        channel_id=channel_id,
        variant_id=first,
        reason=reason,
    )
    records = httpx.get(
        f"{bluesky_network.pds_url}/xrpc/com.atproto.repo.listRecords",
        params={"repo": account.did, "collection": "app.bsky.feed.post"},
    )
    assert records.status_code == 200 and records.json()["records"] == []  # neither was sent
