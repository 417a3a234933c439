"""A Bluesky channel connected and synced against the reference implementation
(@atproto/dev-env: PLC, PDS and AppView on this machine), through the atproto SDK."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import Seed, make_settings
from tests.networks_servers import BlueskyNetwork
from townsquare.analytics.models import Post, PostMetricSnapshot
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.service import channel_credentials
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import AuthenticationError, NetworkError, ValidationError
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


@pytest.fixture
def net_settings(database: Database, data_dir: object) -> Settings:
    return make_settings(data_dir, database.url, allow_private_urls=True)  # type: ignore[arg-type]


def _access(session: sa.orm.Session, seed: Seed) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, seed.workspace))


# On both databases: the dev-env fixture lets the AppView index each new account before
# anyone logs in, so the second pair of accounts of a session is found like the first.
def test_connect_sync_and_map_a_bluesky_account(
    database: Database, seed: Seed, net_settings: Settings, bluesky_network: BlueskyNetwork
) -> None:
    from atproto import models

    brand = bluesky_network.create_account()
    fan = bluesky_network.create_account()
    client = bluesky_network.client(brand)
    hello = client.send_post("hello from the brand")
    client.send_post(
        "read this",
        embed=models.AppBskyEmbedExternal.Main(
            external=models.AppBskyEmbedExternal.External(
                uri="https://example.com/article", title="An article", description="…"
            )
        ),
    )
    parent = models.create_strong_ref(hello)
    client.send_post(
        "and a thread", reply_to=models.AppBskyFeedPost.ReplyRef(parent=parent, root=parent)
    )
    fans = bluesky_network.client(fan)
    fans.like(hello.uri, hello.cid)
    fans.repost(hello.uri, hello.cid)
    fans.send_post("quoting", embed=models.AppBskyEmbedRecord.Main(record=parent))
    fans.follow(brand.did)
    bluesky_network.process_all()

    box = CredentialsBox(net_settings.resolved_credentials_key())
    credentials = {
        "identifier": brand.handle,
        "app_password": brand.password,
        "service_url": bluesky_network.pds_url,
    }
    with database.session() as session:
        channel, account = connect.connect_channel(
            session,
            _access(session, seed),
            net_settings,
            box,
            network="bluesky",
            handle=brand.handle,
            credentials=credentials,
        )
        assert account is not None and account.followers == 1
        stored = channel_credentials(channel, box)
        assert stored is not None and "app_password" not in stored  # the session, not it
        assert stored["did"] == brand.did and stored["refresh_jwt"]
        channel_id = channel.id

    with database.session() as session:
        report = connect.sync_channel(
            session, _access(session, seed), channel_id, net_settings, box
        )
    assert report.as_json() == {
        "posts_fetched": 3,
        "posts_new": 3,
        "snapshots_written": 3,
        "followers": 1,
    }
    with database.session() as session:
        posts = {p.text: p for p in session.scalars(sa.select(Post))}
        assert {t: p.format for t, p in posts.items()} == {
            "hello from the brand": "text",
            "read this": "link",
            "and a thread": "thread",
        }
        assert posts["read this"].link_url == "https://example.com/article"
        snap = session.scalars(
            sa.select(PostMetricSnapshot).where(
                PostMetricSnapshot.post_id == posts["hello from the brand"].id
            )
        ).one()
        # likes → reactions, reposts → shares, replies → comments, quotes → quotes
        assert (snap.reactions, snap.shares, snap.comments, snap.quotes) == (1, 1, 1, 1)
        assert snap.reach is None

    # Nothing new: nothing written.
    with database.session() as session:
        again = connect.sync_channel(session, _access(session, seed), channel_id, net_settings, box)
    assert again.snapshots_written == 0 and again.pages == 1

    with database.session() as session:
        result = connect.check_channel(
            session, _access(session, seed), channel_id, net_settings, box
        )
    assert result.ok and result.as_json()["account"]["handle"] == brand.handle

    # Disconnect deletes the session on the PDS: the stored refresh token stops working.
    with database.session() as session:
        loaded = session.get(Channel, channel_id)
        assert loaded is not None
        old = channel_credentials(loaded, box)
        done = connect.disconnect_channel(
            session, _access(session, seed), channel_id, net_settings, box
        )
    assert done.revoked and done.posts_deleted == 0
    assert old is not None
    refused = httpx.post(
        f"{bluesky_network.pds_url}/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {old['refresh_jwt']}"},
    )
    assert refused.status_code in (400, 401), refused.text
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Post)) == 3  # kept


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"app_password": "wrong-password"}, AuthenticationError, "app password"),
        ({"service_url": "http://127.0.0.1:9"}, NetworkError, "cannot reach"),
        ({"app_password": ""}, ValidationError, "app_password is missing"),
    ],
)
def test_bad_bluesky_connections_store_nothing(
    database: Database,
    seed: Seed,
    net_settings: Settings,
    bluesky_network: BlueskyNetwork,
    change: dict[str, str],
    error: type[Exception],
    words: str,
) -> None:
    account = bluesky_network.accounts.get("brand.test") or bluesky_network.create_account("brand")
    credentials = {
        "identifier": account.handle,
        "app_password": account.password,
        "service_url": bluesky_network.pds_url,
        **change,
    }
    box = CredentialsBox(net_settings.resolved_credentials_key())
    with database.session() as session, pytest.raises(error, match=words):
        connect.connect_channel(
            session,
            _access(session, seed),
            net_settings,
            box,
            network="bluesky",
            handle=account.handle,
            credentials=json.loads(json.dumps(credentials)),
        )
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Channel)) == 0
