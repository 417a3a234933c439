"""Issue #11's "done when", for the sources: a brand watch and a competitor watch collect
mentions, with their language, from RSS feeds, the Mastodon and Bluesky test servers, the
Hacker News and Reddit payloads and a changing local page, all in one poll; the share of
voice counts them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import make_settings
from tests.listen.test_sources import Site, site  # noqa: F401 - the loopback site fixture
from tests.networks_servers import BlueskyNetwork, MastodonServer
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.db import Database
from townsquare.listening import figures, service, sources
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace


def test_brand_and_competitor_mentions_from_every_kind_of_source(
    database: Database,
    data_dir: Path,
    site: Site,  # noqa: F811
    mastodon_server: MastodonServer,
    bluesky_network: BlueskyNetwork,
) -> None:
    settings = make_settings(
        data_dir, database.url, allow_private_urls=True,
        hackernews_api_url=site.url + "/hn", reddit_base_url=site.url + "/reddit",
        bluesky_appview_url=bluesky_network.appview_url,
    )  # fmt: skip
    box = CredentialsBox(settings.resolved_credentials_key())
    mastodon_server.post("Le manteau #acme est arrivé, très content", "fan1", language="fr")
    mastodon_server.post("#acme or rivalco for a winter coat?", "fan2", language="en")
    author = bluesky_network.create_account()
    bluesky_network.process_all()  # its profile reaches the AppView before it logs in
    poster = bluesky_network.client(author)
    # Lower case: the dev-env's AppView searches case-sensitively (bsky.app does not).
    poster.send_post("la doudoune acme est enfin sortie, je la veux", langs=["fr"])
    poster.send_post("rivalco's new store is huge", langs=["en"])
    bluesky_network.process_all()
    with database.session() as session:
        create_workspace(session, "acme", name="Acme")
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.create_watch(session, access, name="Acme", query="acme OR #acme", kind="brand")
        service.create_watch(session, access, name="Rival", query="rivalco", kind="competitor")
        channel, _ = connect.connect_channel(
            session, access, settings, box, network="mastodon",
            handle=mastodon_server.handle(), credentials=mastodon_server.credentials(),
        )  # fmt: skip
        adds = [
            {"type": "rss", "target": site.url + "/feed.xml"},
            {"type": "rss", "target": site.url + "/alerts.xml"},
            {"type": "mastodon-tag", "target": "acme", "channel_id": channel.id},
            {"type": "mastodon-search", "target": "rivalco", "channel_id": channel.id},
            {"type": "bluesky-search", "target": "acme"},
            {"type": "bluesky-search", "target": "rivalco"},
            {"type": "hackernews", "target": "acme"},
            {"type": "reddit", "target": "acme"},
            {"type": "web", "target": site.url + "/page.html"},
        ]
        for options in adds:
            sources.add_source(session, access, settings, **options)  # type: ignore[arg-type]
        first = sources.poll(session, settings, access, box=box)
        assert first.errors == [] and first.sources_polled == len(adds)
        site.page_lines.append("Rivalco ouvre un magasin à Nantes")  # the page changes
        second = sources.poll(session, settings, access, box=box)
        assert second.errors == [] and second.mentions_new >= 1

        found: dict[tuple[str, str], set[str | None]] = {}
        for mention, watches in service.list_mentions(session, access):
            for watch in watches:
                found.setdefault((mention.network, watch), set()).add(mention.lang)
        for network in ("rss", "mastodon", "bluesky", "hackernews", "reddit"):
            assert (network, "Acme") in found, (network, sorted(found))
        for network in ("rss", "mastodon", "bluesky", "web"):
            assert (network, "Rival") in found, (network, sorted(found))
        assert "fr" in found[("mastodon", "Acme")] and "fr" in found[("bluesky", "Acme")]
        assert found[("web", "Rival")] == {"fr"}  # detected: the page gives no language
        assert all(None not in langs for langs in found.values())

        now = datetime.now(UTC)
        voice = {
            row["watch"]: row
            for row in figures.share_of_voice(session, access, now - timedelta(days=400), now)
        }
        assert voice["Acme"]["mentions"] > voice["Rival"]["mentions"] > 0
        total = voice["Acme"]["share_by_mentions"] + voice["Rival"]["share_by_mentions"]
        assert abs(total - 1) < 1e-9
