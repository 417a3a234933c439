"""A channel connected through channels/ (the account checked on the real server), and the
web app logged in beside it: the set-up shared by the channel tests and Publish's factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.house.test_web_pages import log_in, set_up
from tests.networks_servers import MastodonServer
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


def connect_channel(
    database: Database,
    settings: Settings,
    workspace: str,
    *,
    network: str,
    handle: str,
    credentials: dict[str, Any],
) -> int:
    """Connect a channel as ``townsquare channel connect`` does; its id."""
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, workspace))
        channel, _account = connect.connect_channel(
            session,
            access,
            settings,
            box,
            network=network,
            handle=handle,
            credentials=credentials,
        )
        return channel.id


@dataclass
class ConnectedWeb:
    """The app logged in as the owner of ``acme``, which has a connected Mastodon channel."""

    web: TestClient
    database: Database
    settings: Settings
    box: CredentialsBox
    channel_id: int

    def access(self, session: Any) -> WorkspaceAccess:
        return WorkspaceAccess.operator(get_workspace(session, "acme"))


@pytest.fixture
def mastodon_web(
    sqlite_database: Database, data_dir: Path, mastodon_server: MastodonServer
) -> Iterator[ConnectedWeb]:
    settings = make_settings(data_dir, sqlite_database.url, allow_private_urls=True)
    app = create_app(settings, database=sqlite_database)
    with TestClient(app, follow_redirects=False) as web:
        set_up(web)
        log_in(web)
        channel_id = connect_channel(
            sqlite_database,
            settings,
            "acme",
            network="mastodon",
            handle=mastodon_server.handle(),
            credentials=mastodon_server.credentials(),
        )
        box = CredentialsBox(settings.resolved_credentials_key())
        yield ConnectedWeb(web, sqlite_database, settings, box, channel_id)
