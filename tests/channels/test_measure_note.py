"""The Measure pages of a connected Mastodon channel say in words that the network gives no
reach and no impressions (in English and in French); a channel of another network does not
get the note."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.house.test_web_pages import log_in, post, set_up
from tests.networks_servers import MastodonServer
from townsquare.channels import connect
from townsquare.channels import service as channels
from townsquare.channels.crypto import CredentialsBox
from townsquare.db import Database
from townsquare.web.app import create_app
from townsquare.workspaces.access import WorkspaceAccess, get_workspace

PAGES = ("/w/acme/measure", "/w/acme/measure/formats", "/w/acme/measure/best-times")


def test_measure_pages_say_mastodon_gives_no_reach(
    sqlite_database: Database, data_dir: Path, mastodon_server: MastodonServer
) -> None:
    server = mastodon_server
    for n in range(6):
        status = server.post(f"post {n}")
        server.favourite(status["id"], "fan1")
    server.follow("fan1")
    settings = make_settings(data_dir, sqlite_database.url, allow_private_urls=True)
    app = create_app(settings, database=sqlite_database)
    with TestClient(app, follow_redirects=False) as web:
        set_up(web)
        log_in(web)
        box = CredentialsBox(settings.resolved_credentials_key())
        with sqlite_database.session() as session:
            access = WorkspaceAccess.operator(get_workspace(session, "acme"))
            channel, _ = connect.connect_channel(
                session,
                access,
                settings,
                box,
                network="mastodon",
                handle=server.handle(),
                credentials=server.credentials(),
            )
            connect.sync_channel(session, access, channel.id, settings, box)
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
