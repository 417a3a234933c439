"""Mastodon and Bluesky sources against real servers: mastodon_mock (hashtag timeline and
statuses search on the connected account's instance) and the atproto dev-env (searchPosts
through a connected account's session, and on the AppView without one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.networks_servers import BlueskyNetwork, MastodonServer
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import NotFound, ValidationError
from townsquare.listening import service, sources
from townsquare.networks import bluesky_listen, mastodon_listen
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace


@pytest.fixture
def world(database: Database, data_dir: Path) -> Iterator[tuple[Session, Settings]]:
    settings = make_settings(data_dir, database.url, allow_private_urls=True)
    with database.session() as session:
        create_workspace(session, "acme", name="Acme")
        access = _access(session)
        service.create_watch(session, access, name="Acme", query="acme OR #acme", kind="brand")
        service.create_watch(session, access, name="Rival", query="rivalco", kind="competitor")
        yield session, settings


def _access(session: Session) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, "acme"))


def _connect(session: Session, settings: Settings, network: str, handle: str, creds: dict) -> int:  # type: ignore[type-arg]
    box = CredentialsBox(settings.resolved_credentials_key())
    channel, _account = connect.connect_channel(
        session, _access(session), settings, box, network=network, handle=handle,
        credentials=creds,
    )  # fmt: skip
    return channel.id


def _mentions(session: Session) -> dict[str, tuple[object, list[str]]]:
    return {m.text: (m, w) for m, w in service.list_mentions(session, _access(session))}


def test_mastodon_hashtag_and_search_sources(
    world: tuple[Session, Settings], mastodon_server: MastodonServer
) -> None:
    session, settings = world
    access = _access(session)
    mastodon_server.follow("brand", "fan1")
    mastodon_server.follow("fan2", "fan1")
    mastodon_server.post("Le nouveau manteau #acme est très chaud", "fan1", language="fr")
    mastodon_server.post("rivalco closes three shops #acme", "fan2", language="en")
    mastodon_server.post("nothing to see here", "fan3")
    channel_id = _connect(
        session, settings, "mastodon", mastodon_server.handle(), mastodon_server.credentials()
    )
    tag = sources.add_source(
        session, access, settings, type="mastodon-tag", target="#Acme", channel_id=channel_id
    )
    assert tag.target == "acme"
    report = sources.poll(session, settings, access)
    assert (report.items_fetched, report.mentions_new, report.errors) == (2, 2, [])
    found = _mentions(session)
    coat, watches = found["Le nouveau manteau #acme est très chaud"]
    assert watches == ["Acme"]
    assert (coat.network, coat.author, coat.lang) == ("mastodon", "@fan1", "fr")  # type: ignore[attr-defined]
    assert coat.author_followers == 2  # type: ignore[attr-defined]
    assert "/@fan1/" in coat.url  # type: ignore[attr-defined]
    assert found["rivalco closes three shops #acme"][1] == ["Acme", "Rival"]

    # The next poll asks only for what is newer (since_id): one new status, one mention.
    session.refresh(tag)
    assert tag.state["since_id"]
    mastodon_server.post("#acme encore", "fan3")
    again = sources.poll(session, settings, access, source_id=tag.id)
    assert (again.items_fetched, again.mentions_new) == (1, 1)

    # Search: the same statuses found again are stored once; a search that finds nothing
    # says on the health line that the instance may not offer full-text search.
    search = sources.add_source(
        session, access, settings, type="mastodon-search", target="rivalco", channel_id=channel_id
    )
    empty = sources.add_source(
        session, access, settings, type="mastodon-search", target="zzqx", channel_id=channel_id
    )
    report = sources.poll(session, settings, access, source_id=search.id)
    assert (report.items_fetched, report.mentions_new) == (1, 0)
    sources.poll(session, settings, access, source_id=empty.id)
    rows = {
        s["id"]: s for s in sources.sources_json(session, sources.list_sources(session, access))
    }
    assert rows[search.id]["notice"] is None
    assert "full-text search" in str(rows[empty.id]["notice"])
    assert rows[empty.id]["error_count"] == 0


def test_mastodon_sources_need_a_mastodon_channel(
    world: tuple[Session, Settings], mastodon_server: MastodonServer
) -> None:
    session, settings = world
    access = _access(session)
    with pytest.raises(ValidationError, match="connected Mastodon channel"):
        sources.add_source(session, access, settings, type="mastodon-tag", target="acme")
    with pytest.raises(NotFound, match="no channel with id 999"):
        sources.add_source(
            session, access, settings, type="mastodon-tag", target="acme", channel_id=999
        )
    channel_id = _connect(
        session, settings, "mastodon", mastodon_server.handle(), mastodon_server.credentials()
    )
    with pytest.raises(ValidationError, match="not a hashtag"):
        sources.add_source(
            session, access, settings, type="mastodon-tag", target="#a b", channel_id=channel_id
        )
    with pytest.raises(ValidationError, match="give a bluesky channel"):
        sources.add_source(
            session, access, settings, type="bluesky-search", target="x", channel_id=channel_id
        )
    with pytest.raises(ValidationError, match="a channel only applies"):
        sources.add_source(
            session, access, settings, type="hackernews", target="x", channel_id=channel_id
        )
    with pytest.raises(ValidationError, match="no words to look for"):
        sources.add_source(session, access, settings, type="bluesky-search", target="lang:fr")
    assert sources.list_sources(session, access) == []
    # The instance refuses the token: the poll says so on the source's health line.
    source = sources.add_source(
        session, access, settings, type="mastodon-tag", target="acme", channel_id=channel_id
    )
    mastodon_server.fault(
        path_regex="/api/v1/timelines/tag/.*", status=401,
        body={"error": "The access token is invalid"},
    )  # fmt: skip
    report = sources.poll(session, settings, access)
    assert report.errors and "refused the access token" in report.errors[0]["error"]
    session.refresh(source)
    assert source.error_count == 1


def test_mastodon_status_mapping() -> None:
    boost = {
        "id": "9",
        "reblog": {
            "id": "7",
            "uri": "https://social.example/users/ana/statuses/7",
            "url": "https://social.example/@ana/7",
            "content": "<p>Acme&#39;s <span>coat</span></p><p>is warm</p>",
            "spoiler_text": "review",
            "account": {"acct": "ana@social.example", "followers_count": 120},
            "created_at": "2026-12-01T10:00:00.000Z",
            "language": "en",
            "visibility": "public",
        },
    }
    item = mastodon_listen.status_item(boost)
    assert item is not None
    assert (item.external_id, item.author, item.author_followers, item.lang) == (
        "https://social.example/users/ana/statuses/7",
        "@ana@social.example",
        120,
        "en",
    )
    assert (item.title, item.text) == ("review", "Acme's coat\nis warm")
    assert mastodon_listen.status_item({"id": "1", "visibility": "direct"}) is None


def test_bluesky_search_through_a_channel_and_on_the_appview(
    world: tuple[Session, Settings], bluesky_network: BlueskyNetwork, database: Database,
    data_dir: Path,
) -> None:  # fmt: skip
    session, settings = world
    access = _access(session)
    brand = bluesky_network.create_account()
    fan = bluesky_network.create_account()
    word = f"acme{fan.did[-6:].lower()}"  # unique to this run: the dev-env is shared
    client = bluesky_network.client(fan)
    client.send_post(f"J'adore le manteau {word} !", langs=["fr"])
    client.send_post(f"{word} vs rivalco: which coat?", langs=["en"])
    bluesky_network.process_all()
    channel_id = _connect(
        session, settings, "bluesky", brand.handle,
        {"identifier": brand.handle, "app_password": brand.password,
         "service_url": bluesky_network.pds_url},
    )  # fmt: skip
    service.create_watch(session, access, name="Word", query=word, kind="topic")
    through = sources.add_source(
        session, access, settings, type="bluesky-search", target=word, channel_id=channel_id
    )
    report = sources.poll(session, settings, access, source_id=through.id)
    assert report.errors == [] and (report.items_fetched, report.mentions_new) == (2, 2)
    found = _mentions(session)
    french, watches = found[f"J'adore le manteau {word} !"]
    assert watches == ["Word"]
    assert (french.network, french.author, french.lang) == ("bluesky", f"@{fan.handle}", "fr")  # type: ignore[attr-defined]
    assert french.url.startswith(f"https://bsky.app/profile/{fan.handle}/post/")  # type: ignore[attr-defined]
    assert found[f"{word} vs rivalco: which coat?"][1] == ["Rival", "Word"]
    session.refresh(through)
    assert through.state["since"]
    # Nothing new since: the next poll (with since) stores nothing.
    assert sources.poll(session, settings, access, source_id=through.id).mentions_new == 0

    # Without a channel: the AppView of the settings, no session.
    appview = make_settings(
        data_dir, database.url, allow_private_urls=True,
        bluesky_appview_url=bluesky_network.appview_url,
    )  # fmt: skip
    public = sources.add_source(
        session, access, appview, type="bluesky-search", target=f"{word} lang:en"
    )
    report = sources.poll(session, appview, access, source_id=public.id)
    assert report.errors == [] and report.items_fetched == 1  # lang:en went to `lang`
    assert report.mentions_new == 0  # the same post, stored once


def test_bluesky_query_and_post_mapping() -> None:
    assert bluesky_listen.split_query("acme  lang:FR rival") == ("acme rival", "fr")
    assert bluesky_listen.split_query("lang:french acme") == ("lang:french acme", None)
    item = bluesky_listen.post_item(
        {
            "uri": "at://did:plc:abc/app.bsky.feed.post/3kxyz",
            "author": {"did": "did:plc:abc", "handle": "ana.bsky.social"},
            "record": {"text": "Acme!", "createdAt": "2026-12-01T10:00:00Z", "langs": ["fr"]},
            "indexedAt": "2026-12-01T10:00:01Z",
        }
    )
    assert item.url == "https://bsky.app/profile/ana.bsky.social/post/3kxyz"
    assert (item.author, item.lang, item.author_followers) == ("@ana.bsky.social", "fr", None)
