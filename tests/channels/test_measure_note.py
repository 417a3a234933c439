"""The Measure pages of a connected Mastodon channel say in words that the network gives no
reach and no impressions (in English and in French); a channel of another network does not
get the note."""

from __future__ import annotations

from tests.connected import ConnectedWeb, mastodon_web  # noqa: F401
from tests.house.test_web_pages import post
from tests.networks_servers import MastodonServer
from townsquare.channels import connect
from townsquare.channels import service as channels

PAGES = ("/w/acme/measure", "/w/acme/measure/formats", "/w/acme/measure/best-times")


def test_measure_pages_say_mastodon_gives_no_reach(
    mastodon_web: ConnectedWeb,  # noqa: F811
    mastodon_server: MastodonServer,
) -> None:
    server, web = mastodon_server, mastodon_web.web
    for n in range(6):
        status = server.post(f"post {n}")
        server.favourite(status["id"], "fan1")
    server.follow("fan1")
    with mastodon_web.database.session() as session:
        access = mastodon_web.access(session)
        settings, box = mastodon_web.settings, mastodon_web.box
        connect.sync_channel(session, access, mastodon_web.channel_id, settings, box)
        channels.add_channel(session, access, network="facebook", handle="acme-page")

    handle = server.handle()
    for path in PAGES:
        page = web.get(path, params={"channel": handle})
        assert page.status_code == 200, (path, page.text[:300])
        assert 'id="no-reach"' in page.text, path
        assert "Mastodon gives no reach and no impressions" in page.text, path
        other = web.get(path, params={"channel": "acme-page"})
        assert other.status_code == 200 and 'id="no-reach"' not in other.text, path

    assert post(web, "/language", {"language": "fr"}).status_code == 303
    for path in PAGES:
        page = web.get(path, params={"channel": handle})
        assert "Mastodon ne donne ni la portée ni les impressions" in page.text, path
