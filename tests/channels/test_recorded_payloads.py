"""The real connectors on recorded payloads of real servers (tests/data/channels), served
over loopback HTTP by tests/channels/replay.py: what mastodon_mock and the dev-env do not
produce (a Mastodon 4.6 instance's statuses, quotes and headers; a Bluesky entryway handing
the session to the account's PDS; bsky.app's post views; the PDS's expired and revoked
tokens and its 429)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.channels.replay import BlueskyReplay, MastodonReplay, serving
from tests.conftest import Seed, make_settings
from tests.connected import connect_channel
from townsquare.analytics.models import Post, PostMetricSnapshot
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.service import channel_credentials
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import AuthenticationError, RateLimited
from townsquare.networks.bluesky import BlueskyConnector
from townsquare.networks.http import RatePolicy
from townsquare.networks.mastodon import MastodonConnector
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


@pytest.fixture
def net_settings(database: Database, data_dir: object) -> Settings:
    return make_settings(data_dir, database.url, allow_private_urls=True)  # type: ignore[arg-type]


def _access(session: sa.orm.Session, seed: Seed) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, seed.workspace))


def _connect(
    database: Database,
    seed: Seed,
    settings: Settings,
    network: str,
    handle: str,
    credentials: dict[str, str],
) -> int:
    return connect_channel(
        database, settings, seed.workspace, network=network, handle=handle, credentials=credentials
    )


def _sync(
    database: Database, seed: Seed, settings: Settings, channel_id: int, *, full: bool = False
) -> connect.SyncReport:
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        return connect.sync_channel(
            session, _access(session, seed), channel_id, settings, box, full=full
        )


def _snapshots(database: Database) -> dict[str, tuple[int | None, ...]]:
    with database.session() as session:
        rows = session.execute(
            sa.select(
                Post.external_id,
                PostMetricSnapshot.reactions,
                PostMetricSnapshot.shares,
                PostMetricSnapshot.comments,
                PostMetricSnapshot.quotes,
                PostMetricSnapshot.reach,
                PostMetricSnapshot.impressions,
            ).join(PostMetricSnapshot, PostMetricSnapshot.post_id == Post.id)
        )
        return {row[0]: tuple(row[1:]) for row in rows}


# --- Mastodon 4.6.4 -------------------------------------------------------------------------


def test_mastodon_46_statuses_sync_with_their_formats_and_counters(
    database: Database, seed: Seed, net_settings: Settings
) -> None:
    with serving(MastodonReplay()) as server:
        assert isinstance(server, MastodonReplay)
        host = server.url.split("://", 1)[1]
        channel_id = _connect(
            database, seed, net_settings, "mastodon", f"@mastodonpy_test@{host}",
            server.credentials("test"),
        )  # fmt: skip
        report = _sync(database, seed, net_settings, channel_id)
        # 13 statuses of the account; the instance sends a next link even after the last
        # one, so the first sync ends on an empty page.
        assert report.as_json() == {
            "posts_fetched": 13,
            "posts_new": 13,
            "snapshots_written": 13,
            "followers": 0,
        }
        with database.session() as session:
            posts = {p.external_id: p for p in session.scalars(sa.select(Post))}
            channel = session.get(Channel, channel_id)
            assert channel is not None and channel.rate_limit is not None
            assert channel.rate_limit["limit"] == 300  # the recorded X-RateLimit-* headers
        assert posts["117020609135389699"].format == "link"  # the card
        assert posts["117020609135389699"].link_url
        assert posts["117020576440066974"].format == "video"
        # A 4.5+ quote post: its own text; the quoted status inside is not the account's post.
        assert posts["117020582925004921"].format == "text"
        assert "117020582917124092" not in posts
        assert posts["117020580518794573"].permalink == (
            "http://localhost:3000/@mastodonpy_test/117020580518794573"
        )
        published = posts["117020580518794573"].published_at
        assert published is not None
        assert published.isoformat().startswith("2026-08-01T13:52:34.108")
        # quotes_count 0 is a known zero (4.5+ sends it); reach and impressions: unknown.
        assert set(_snapshots(database).values()) == {(0, 0, 0, 0, None, None)}

        # Nothing new: one request (the newest page, whose statuses carry the account and
        # its followers), nothing written.
        before = len(server.requests)
        again = _sync(database, seed, net_settings, channel_id)
        assert again.posts_new == 0 and again.snapshots_written == 0
        assert again.followers == 0
        assert server.requests[before:] == ["GET /api/v1/accounts/117020565966271181/statuses"]


def test_mastodon_poll_and_reply_to_someone_else(net_settings: Settings) -> None:
    with serving(MastodonReplay()) as server:
        assert isinstance(server, MastodonReplay)
        connector = MastodonConnector(server.credentials("admin"), net_settings)
        try:
            account = connector.check()
            page = connector.fetch_posts()
        finally:
            connector.close()
    assert account.handle.startswith("@admin@")
    formats = {post.external_id: post.format for post in page.posts}
    # A reply to another account is not a thread of the brand's own.
    assert formats == {"117020583258292382": "text", "117020582690282017": "poll"}


def test_short_pages_follow_the_link_header(net_settings: Settings) -> None:
    # A server that serves 5 statuses when asked for 40: the Link header says there is more.
    with serving(MastodonReplay(page_cap=5)) as server:
        assert isinstance(server, MastodonReplay)
        connector = MastodonConnector(server.credentials("test"), net_settings)
        seen: list[str] = []
        cursor: str | None = None
        try:
            for _ in range(10):
                page = connector.fetch_posts(cursor)
                seen += [post.external_id for post in page.posts]
                cursor = page.cursor
                if cursor is None:
                    break
        finally:
            connector.close()
    assert len(seen) == len(set(seen)) == 13 and cursor is None


def test_token_revoked_in_the_middle_of_a_sync(
    database: Database, seed: Seed, net_settings: Settings
) -> None:
    with serving(MastodonReplay(page_cap=5)) as server:
        assert isinstance(server, MastodonReplay)
        host = server.url.split("://", 1)[1]
        channel_id = _connect(
            database, seed, net_settings, "mastodon", f"@mastodonpy_test@{host}",
            server.credentials("test"),
        )  # fmt: skip
        server.revoke_after = 1  # the first page, then 401: "The access token is invalid"
        with pytest.raises(AuthenticationError, match="refused the access token"):
            _sync(database, seed, net_settings, channel_id)
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            assert channel is not None and channel.status == "needs_reconnection"
            assert channel.sync_locked_until is None and not channel.history_complete
            assert session.scalar(sa.select(sa.func.count()).select_from(Post)) == 5  # kept

        # New credentials (the user reconnected): the rerun writes each post once.
        server.revoke_after = None
        box = CredentialsBox(net_settings.resolved_credentials_key())
        with database.session() as session:
            connect.check_channel(session, _access(session, seed), channel_id, net_settings, box)
        report = _sync(database, seed, net_settings, channel_id)
        assert report.full and report.posts_new == 8
        assert len(_snapshots(database)) == 13


# --- Bluesky ----------------------------------------------------------------------------------


def test_bluesky_entryway_session_and_appview_post_views(
    database: Database, seed: Seed, net_settings: Settings
) -> None:
    with serving(BlueskyReplay()) as pds, serving(BlueskyReplay(pds=pds)) as entryway:  # type: ignore[arg-type]
        assert isinstance(pds, BlueskyReplay) and isinstance(entryway, BlueskyReplay)
        channel_id = _connect(
            database, seed, net_settings, "bluesky", entryway.handle, entryway.credentials()
        )
        box = CredentialsBox(net_settings.resolved_credentials_key())
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            assert channel is not None and channel.followers == 42
            stored = channel_credentials(channel, box)
        # The entryway's DID document named the account's PDS: the session lives there.
        assert stored is not None and stored["service_url"] == pds.url
        assert "app_password" not in stored

        report = _sync(database, seed, net_settings, channel_id)
        assert report.posts_new == 1 and report.followers == 42
        assert entryway.requests == ["POST /xrpc/com.atproto.server.createSession"]
        with database.session() as session:
            post = session.scalars(sa.select(Post)).one()
        # A quote with an image (recordWithMedia): the media's format; no text of its own.
        assert post.format == "photo" and post.text is None
        assert post.permalink == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22"
        # This AppView sent no quoteCount: quotes unknown, not zero.
        assert list(_snapshots(database).values()) == [(0, 0, 0, None, None, None)]


def test_bluesky_expired_access_token_is_refreshed_and_stored(
    database: Database, seed: Seed, net_settings: Settings
) -> None:
    with serving(BlueskyReplay()) as pds:
        assert isinstance(pds, BlueskyReplay)
        pds.access_lifetime = -60  # every access token handed out has already expired
        credentials = pds.credentials()
        channel_id = _connect(database, seed, net_settings, "bluesky", pds.handle, credentials)
        box = CredentialsBox(net_settings.resolved_credentials_key())
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            assert channel is not None
            before = channel_credentials(channel, box)
        refreshes = pds.refreshes
        _sync(database, seed, net_settings, channel_id)
        assert pds.refreshes > refreshes
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            assert channel is not None and channel.status == "active"
            after = channel_credentials(channel, box)
        assert before is not None and after is not None
        assert after["access_jwt"] != before["access_jwt"]  # the refreshed session, stored


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_bluesky_revoked_or_expired_session_marks_the_channel(
    database: Database, seed: Seed, net_settings: Settings, how: str
) -> None:
    with serving(BlueskyReplay()) as pds:
        assert isinstance(pds, BlueskyReplay)
        if how == "revoked":
            pds.access_lifetime = -60  # the stored access token will need refreshing
        credentials = pds.credentials()
        channel_id = _connect(database, seed, net_settings, "bluesky", pds.handle, credentials)
        if how == "revoked":
            pds.revoked = True  # "Token has been revoked" when it is refreshed
        else:
            pds.expire_feed = True  # "Token has expired" although its expiry said otherwise
        with pytest.raises(AuthenticationError, match="app password") as raised:
            _sync(database, seed, net_settings, channel_id)
        detail = "Token has been revoked" if how == "revoked" else "Token has expired"
        assert detail in str(raised.value)
        with database.session() as session:
            channel = session.get(Channel, channel_id)
            assert channel is not None and channel.status == "needs_reconnection"
            assert connect.health(channel)["state"] == "needs_reconnection"


def test_bluesky_rate_limit_reads_the_pds_headers(net_settings: Settings) -> None:
    with serving(BlueskyReplay()) as pds:
        assert isinstance(pds, BlueskyReplay)
        waited: list[float] = []
        policy = RatePolicy(network="Bluesky", sleep=waited.append)
        connector = BlueskyConnector(pds.credentials(), net_settings, policy=policy)
        try:
            connector.check()
            pds.rate_limited = True
            with pytest.raises(RateLimited, match="rate limit"):
                connector.fetch_posts()
        finally:
            connector.close()
    # RateLimit-Limit 3000 with nothing left, reset (epoch seconds) in an hour: too long to
    # wait inside a sync, so it gives up at once and the next sync tries again.
    state = connector.rate_limit
    assert state.limit == 3000 and state.reset_at is not None
    assert state.retry_after is not None and 3500 < state.retry_after <= 3600
    assert waited == []


def test_bluesky_wrong_app_password_is_the_pds_sentence(
    database: Database, seed: Seed, net_settings: Settings
) -> None:
    with serving(BlueskyReplay()) as pds:
        assert isinstance(pds, BlueskyReplay)
        with pytest.raises(AuthenticationError, match="Invalid identifier or password"):
            _connect(database, seed, net_settings, "bluesky", pds.handle, pds.credentials("wrong"))
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Channel)) == 0
