"""Issue #11's "done when": a brand watch and a competitor watch collect mentions, with their
language and sentiment, from RSS feeds, the Mastodon and Bluesky test servers, the Hacker
News and Reddit payloads and a changing local page, all in one poll; the share-of-voice and
spike charts of the mentions page show them; an alert arrives at the local SMTP server and
the webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import SmtpServer, make_settings
from tests.house.test_web_pages import client, owner_client  # noqa: F401 - a logged-in owner
from tests.listen.test_alerts import Receiver, receiver  # noqa: F401 - the webhook receiver
from tests.listen.test_sources import Site, site  # noqa: F401 - the loopback site fixture
from tests.networks_servers import BlueskyNetwork, MastodonServer
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.db import Database
from townsquare.listening import alerts, figures, service, sources
from townsquare.workspaces.service import WorkspaceAccess, get_workspace


def test_brand_and_competitor_mentions_from_every_kind_of_source(
    database: Database,
    data_dir: Path,
    site: Site,  # noqa: F811
    mastodon_server: MastodonServer,
    bluesky_network: BlueskyNetwork,
    owner_client: TestClient,  # noqa: F811 - its set-up creates the workspace acme
    smtp_server: SmtpServer,
    receiver: Receiver,  # noqa: F811
) -> None:
    settings = make_settings(
        data_dir, database.url, allow_private_urls=True,
        hackernews_api_url=site.url + "/hn", reddit_base_url=site.url + "/reddit",
        bluesky_appview_url=bluesky_network.appview_url,
    )  # fmt: skip
    box = CredentialsBox(settings.resolved_credentials_key())
    mastodon_server.post("Le manteau #acme est arrivé, très content", "fan1", language="fr")
    mastodon_server.post("#acme or rivalco for a winter coat?", "fan2", language="en")
    # With the others, a burst in this hour (a spike of Acme), one of each feeling.
    mastodon_server.post("J'adore le manteau #acme, il est génial", "fan3", language="fr")
    mastodon_server.post("Je déteste le manteau #acme, quelle horreur", "fan3", language="fr")
    mastodon_server.post("#acme coats are sold in Lyon", "fan3", language="en")
    author = bluesky_network.create_account()
    bluesky_network.process_all()  # its profile reaches the AppView before it logs in
    poster = bluesky_network.client(author)
    # Lower case: the dev-env's AppView searches case-sensitively (bsky.app does not).
    poster.send_post("la doudoune acme est enfin sortie, je la veux", langs=["fr"])
    poster.send_post("rivalco's new store is huge", langs=["en"])
    bluesky_network.process_all()
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        acme = service.create_watch(
            session, access, name="Acme", query="acme OR #acme", kind="brand"
        )
        mail = f"mailto://127.0.0.1:{smtp_server.port}?from=alerts@acme.test&to=cm@acme.test"
        for url in (mail, f"json://127.0.0.1:{receiver.port}/hook"):
            alerts.add_alert(session, access, settings, box, watch=acme, url=url)
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
        assert first.alerts_sent == 2  # the instant alert, by e-mail and to the webhook
        (message,) = smtp_server.wait_for(1)
        told = len(service.list_mentions(session, access, watch="Acme"))
        subject = str(message["Subject"])
        assert subject == f"{told} new mention(s) for Acme", subject
        body = message.get_body(preferencelist=("plain",))
        assert body is not None and "acme" in body.get_content().lower()
        (hook,) = receiver.bodies
        assert hook["title"] == subject and "acme" in str(hook["message"]).lower()
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
        feelings = {m.text: m.sentiment for m, _w in service.list_mentions(session, access)}
        assert feelings["J'adore le manteau #acme, il est génial"] == "positive"
        assert feelings["Je déteste le manteau #acme, quelle horreur"] == "negative"
        assert set(feelings.values()) <= {"positive", "neutral", "negative", None}

        now = datetime.now(UTC)
        voice = {
            row["watch"]: row
            for row in figures.share_of_voice(session, access, now - timedelta(days=400), now)
        }
        assert voice["Acme"]["mentions"] > voice["Rival"]["mentions"] > 0
        total = voice["Acme"]["share_by_mentions"] + voice["Rival"]["share_by_mentions"]
        assert abs(total - 1) < 1e-9

        # The charts of the mentions page, over its 90 days: share of voice and spikes.
        since = now - timedelta(days=90)
        shares = {
            row["watch"]: row["share_by_mentions"]
            for row in figures.share_of_voice(session, access, since, now + timedelta(hours=1))
        }
        spikes = figures.watch_spikes(session, access, acme.id, since, now + timedelta(hours=1))
        assert spikes and spikes[-1].count >= 3
    page = owner_client.get(f"/w/acme/listen/mentions?watch={acme.id}&days=90")
    assert page.status_code == 200
    assert 'id="share-of-voice"' in page.text
    for watch in ("Acme", "Rival"):
        assert f"{shares[watch] * 100:.1f}%" in page.text, (watch, shares)
    assert 'id="spikes"' in page.text and f"{spikes[-1].count} mentions" in page.text
