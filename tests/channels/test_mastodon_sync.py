"""A Mastodon channel connected and synced against mastodon_mock, through Mastodon.py.

Posts and counters land in Measure as snapshots (appended only when a counter changed),
followers as a daily channel snapshot; the failure cases each give their clear error.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import Seed, make_settings
from tests.networks_servers import MastodonServer
from townsquare.analytics.models import ChannelSnapshot, Post, PostMetricSnapshot
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError, NetworkError, ValidationError
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


@pytest.fixture
def net_settings(database: Database, data_dir: object) -> Settings:
    return make_settings(data_dir, database.url, allow_private_urls=True)  # type: ignore[arg-type]


def _access(session: sa.orm.Session, seed: Seed) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, seed.workspace))


def _connect(database: Database, seed: Seed, settings: Settings, server: MastodonServer) -> int:
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        channel, account = connect.connect_channel(
            session,
            _access(session, seed),
            settings,
            box,
            network="mastodon",
            handle=server.handle(),
            credentials=server.credentials(),
            timezone="Europe/Paris",
        )
        assert account is not None and account.handle == server.handle()
        return channel.id


def _sync(database: Database, seed: Seed, settings: Settings, channel_id: int, **kw: object):  # type: ignore[no-untyped-def]
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        return connect.sync_channel(
            session,
            _access(session, seed),
            channel_id,
            settings,
            box,
            **kw,  # type: ignore[arg-type]
        )


def _counts(database: Database) -> tuple[int, int]:
    with database.session() as session:
        posts = session.scalar(sa.select(sa.func.count()).select_from(Post)) or 0
        snaps = session.scalar(sa.select(sa.func.count()).select_from(PostMetricSnapshot)) or 0
    return int(posts), int(snaps)


def test_sync_maps_counters_formats_and_followers(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    server = mastodon_server
    hello = server.post("Hello & welcome")
    server.favourite(hello["id"], "fan1")
    server.favourite(hello["id"], "fan2")
    server.reblog(hello["id"], "fan3")
    server.reply(hello["id"], "nice", "fan1")
    server.post("thread 2/2", in_reply_to_id=hello["id"])
    poll = server.client().make_poll(["yes", "no"], expires_in=3600)
    server.post("vote", poll=poll)
    server.follow("fan1")
    server.follow("fan2")

    channel_id = _connect(database, seed, net_settings, server)
    report = _sync(database, seed, net_settings, channel_id)
    assert report.as_json() == {
        "posts_fetched": 3,
        "posts_new": 3,
        "snapshots_written": 3,
        "followers": 2,
    }
    with database.session() as session:
        posts = {p.text: p for p in session.scalars(sa.select(Post))}
        assert {t: p.format for t, p in posts.items()} == {
            "Hello & welcome": "text",
            "thread 2/2": "thread",
            "vote": "poll",
        }
        first = posts["Hello & welcome"]
        snap = session.scalars(
            sa.select(PostMetricSnapshot).where(PostMetricSnapshot.post_id == first.id)
        ).one()
        # comments: the fan's reply and the thread's next post
        assert (snap.reactions, snap.shares, snap.comments) == (2, 1, 2)
        assert snap.reach is None and snap.impressions is None  # Mastodon gives none
        assert first.local_weekday is not None and first.local_hour is not None
        followers = session.scalars(sa.select(ChannelSnapshot.followers)).all()
        assert followers == [2]
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.history_complete
        assert channel.last_sync_at is not None and channel.next_sync_at is not None
        assert channel.next_sync_at > channel.last_sync_at

    # Nothing changed: nothing written, and only two requests (the account, one page).
    again = _sync(database, seed, net_settings, channel_id)
    assert again.as_json()["snapshots_written"] == 0 and again.posts_new == 0
    assert again.pages == 1
    assert _counts(database) == (3, 3)

    # A counter changed: one snapshot appended for that post only, the old one kept.
    server.favourite(hello["id"], "fan3")
    changed = _sync(database, seed, net_settings, channel_id)
    assert changed.snapshots_written == 1
    assert _counts(database) == (3, 4)


def test_first_sync_reads_the_whole_history_and_a_killed_sync_leaves_no_duplicates(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    server = mastodon_server
    for n in range(95):  # three pages of 40
        server.post(f"post {n}")
    channel_id = _connect(database, seed, net_settings, server)

    # After the first page the server fails for good (500, retried, then given up): the
    # sync stops there, like a process killed halfway; the first page is kept.
    page_two = r"/api/v1/accounts/\d+/statuses"
    calls = {"n": 0}

    def kill_after_first_page(report: connect.SyncReport) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            server.fault(path_regex=page_two, status=500)

    with pytest.raises(NetworkError):
        _sync(database, seed, net_settings, channel_id, progress=kill_after_first_page)
    assert _counts(database) == (40, 40)
    server.clear_faults()
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.last_error and not channel.history_complete
        assert channel.sync_locked_until is None  # the lease was released

    report = _sync(database, seed, net_settings, channel_id)
    assert report.full and report.posts_fetched == 95 and report.posts_new == 55
    assert _counts(database) == (95, 95)  # no duplicate post, no duplicate snapshot


def test_rate_limit_with_retry_after_is_waited_for(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    server = mastodon_server
    server.post("one")
    channel_id = _connect(database, seed, net_settings, server)
    server.fault(
        path_regex=r"/api/v1/accounts/\d+/statuses",
        type="ratelimit",
        headers={"Retry-After": "1"},
        count=1,
    )
    report = _sync(database, seed, net_settings, channel_id)
    assert report.posts_new == 1
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.rate_limit is not None
        assert channel.last_error is None


def test_token_revoked_mid_life_marks_the_channel_and_emails_the_owners(
    database: Database,
    seed: Seed,
    data_dir: object,
    mastodon_server: MastodonServer,
    smtp_server: object,
) -> None:
    settings = make_settings(
        data_dir,  # type: ignore[arg-type]
        database.url,
        allow_private_urls=True,
        smtp_url=smtp_server.url,  # type: ignore[attr-defined]
    )
    server = mastodon_server
    server.post("one")
    channel_id = _connect(database, seed, settings, server)
    server.revoke()
    with pytest.raises(AuthenticationError, match="reconnect"):
        _sync(database, seed, settings, channel_id)
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None and channel.status == "needs_reconnection"
        assert "401" in (channel.status_reason or "")
        assert connect.health(channel)["state"] == "needs_reconnection"
    messages = smtp_server.wait_for(1)  # type: ignore[attr-defined]
    assert seed.owner_email in messages[0]["To"]
    assert "needs reconnection" in messages[0]["Subject"]
    # Further syncs refuse at once, with the fix, and send no second e-mail.
    with pytest.raises(AuthenticationError, match="new credentials"):
        _sync(database, seed, settings, channel_id)


@pytest.mark.parametrize(
    ("credentials", "error", "words"),
    [
        ({"access_token": "wrong"}, AuthenticationError, "refused the access token"),
        ({"instance_url": "http://127.0.0.1:9"}, NetworkError, "cannot reach"),
        ({"instance_url": "ftp://x"}, ValidationError, "not an instance address"),
        ({"access_token": ""}, ValidationError, "access_token is missing"),
    ],
)
def test_bad_connections_store_nothing(
    database: Database,
    seed: Seed,
    net_settings: Settings,
    mastodon_server: MastodonServer,
    credentials: dict[str, str],
    error: type[Exception],
    words: str,
) -> None:
    box = CredentialsBox(net_settings.resolved_credentials_key())
    given = {**mastodon_server.credentials(), **credentials}
    with database.session() as session, pytest.raises(error, match=words):
        connect.connect_channel(
            session,
            _access(session, seed),
            net_settings,
            box,
            network="mastodon",
            handle=mastodon_server.handle(),
            credentials=given,
        )
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Channel)) == 0


def test_html_instead_of_json_and_private_addresses_are_explained(
    database: Database, seed: Seed, data_dir: object, mastodon_server: MastodonServer
) -> None:
    settings = make_settings(data_dir, database.url, allow_private_urls=True)  # type: ignore[arg-type]
    box = CredentialsBox(settings.resolved_credentials_key())
    mastodon_server.fault(path="/api/v1/accounts/verify_credentials", type="malformed")
    with database.session() as session, pytest.raises(NetworkError, match="not the Mastodon API"):
        connect.connect_channel(
            session,
            _access(session, seed),
            settings,
            box,
            network="mastodon",
            handle=mastodon_server.handle(),
            credentials=mastodon_server.credentials(),
        )
    strict = make_settings(data_dir, database.url)  # type: ignore[arg-type]
    with database.session() as session, pytest.raises(ValidationError, match="loopback"):
        connect.connect_channel(
            session,
            _access(session, seed),
            strict,
            box,
            network="mastodon",
            handle=mastodon_server.handle(),
            credentials=mastodon_server.credentials(),
        )


def test_another_accounts_token_is_refused(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    box = CredentialsBox(net_settings.resolved_credentials_key())
    with database.session() as session, pytest.raises(ValidationError, match="belong to"):
        connect.connect_channel(
            session,
            _access(session, seed),
            net_settings,
            box,
            network="mastodon",
            handle=mastodon_server.handle("brand"),
            credentials=mastodon_server.credentials("fan1"),
        )


def test_one_sync_at_a_time_per_channel(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    from townsquare.errors import Conflict

    channel_id = _connect(database, seed, net_settings, mastodon_server)
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None
        channel.sync_locked_until = utcnow() + timedelta(minutes=5)  # another process holds it
        session.commit()
    with pytest.raises(Conflict, match="already running"):
        _sync(database, seed, net_settings, channel_id)
    with database.session() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None
        channel.sync_locked_until = utcnow() - timedelta(minutes=1)  # that process died
        session.commit()
    assert _sync(database, seed, net_settings, channel_id).pages == 1


def test_periodic_schedule_claims_due_channels_once_and_spreads_them(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    from huey.storage import MemoryStorage

    from townsquare.channels.sync import next_sync_after
    from townsquare.channels.tasks import schedule_due, sync_channel_task
    from townsquare.jobs.queue import configure

    server = mastodon_server
    server.post("brand post")
    server.post("fan post", username="fan1")
    box = CredentialsBox(net_settings.resolved_credentials_key())
    with database.session() as session:
        for name in ("brand", "fan1"):
            connect.connect_channel(
                session,
                _access(session, seed),
                net_settings,
                box,
                network="mastodon",
                handle=server.handle(name),
                credentials=server.credentials(name),
            )
    huey = configure(net_settings, database)
    huey.immediate = True  # tasks run in this process, as a worker would run them
    try:
        moment = utcnow() + timedelta(seconds=1)
        claimed = schedule_due(moment, sync_channel_task)
        assert len(claimed) == 2
        assert schedule_due(moment, sync_channel_task) == []  # claimed once, never twice
    finally:
        huey.immediate = False
        huey.storage = MemoryStorage("townsquare")
    assert _counts(database) == (2, 2)
    with database.session() as session:
        channels = list(session.scalars(sa.select(Channel).order_by(Channel.id)))
        slots = [c.next_sync_at for c in channels]
        assert all(slot is not None and slot > moment for slot in slots)
        # Each channel keeps its own offset inside the 30-minute interval.
        assert slots[0] != slots[1]
        for channel in channels:
            assert next_sync_after(channel, moment) - moment <= timedelta(minutes=30)


def test_measure_works_on_a_connected_channel(
    database: Database, seed: Seed, net_settings: Settings, mastodon_server: MastodonServer
) -> None:
    """KPIs by followers (no reach, no impressions from these networks) on synced posts."""
    from townsquare.analytics.models import PostLatestMetrics

    server = mastodon_server
    first = server.post("first")
    server.favourite(first["id"], "fan1")
    server.follow("fan1")
    server.follow("fan2")
    channel_id = _connect(database, seed, net_settings, server)
    _sync(database, seed, net_settings, channel_id)
    server.follow("fan3")
    server.post("second")
    _sync(database, seed, net_settings, channel_id)
    with database.session() as session:
        rows = dict(session.execute(sa.select(Post.text, Post.followers_at_publish)).all())
        # Followers when townsquare first saw each post, unchanged by later syncs.
        assert rows == {"first": 2, "second": 3}
        latest = session.scalars(sa.select(PostLatestMetrics)).all()
        assert {m.reactions for m in latest} == {0, 1}
        assert all(m.reach is None and m.impressions is None for m in latest)
