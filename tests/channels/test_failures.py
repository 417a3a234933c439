"""The failure cases of the issue that the test servers cannot stage: a TLS certificate no
client trusts and a server answering HTML instead of the API, on both networks. Each is one
sentence with the fix, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.channels.replay import Answer, ReplayApp, self_signed_context, serving
from tests.conftest import Seed, make_settings
from townsquare.channels import connect
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import NetworkError
from townsquare.workspaces.access import WorkspaceAccess, get_workspace

HTML = b"<!doctype html><html><head><title>Welcome</title></head><body>nginx</body></html>"


class HtmlSite(ReplayApp):
    """A web site, not an API: every address answers a page of HTML (200)."""

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> Answer:
        return Answer(200, HTML, {"content-type": "text/html; charset=utf-8"})


@pytest.fixture
def net_settings(database: Database, data_dir: Path) -> Settings:
    return make_settings(data_dir, database.url, allow_private_urls=True)


def _connect(
    database: Database, seed: Seed, settings: Settings, network: str, credentials: dict[str, str]
) -> None:
    handle = "@brand@example.social" if network == "mastodon" else "brand.example.social"
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        connect.connect_channel(
            session,
            WorkspaceAccess.operator(get_workspace(session, seed.workspace)),
            settings,
            box,
            network=network,
            handle=handle,
            credentials=credentials,
        )


def _credentials(network: str, url: str) -> dict[str, str]:
    if network == "mastodon":
        return {"instance_url": url, "access_token": "a-token"}
    return {"identifier": "brand.example.social", "app_password": "a-b-c-d", "service_url": url}


def _nothing_stored(database: Database) -> None:
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Channel)) == 0


@pytest.mark.parametrize("network", ["mastodon", "bluesky"])
def test_a_certificate_no_one_trusts_is_a_tls_error(
    database: Database, seed: Seed, net_settings: Settings, tmp_path: Path, network: str
) -> None:
    tls = self_signed_context(tmp_path)
    with serving(HtmlSite(), tls=tls) as site, pytest.raises(NetworkError, match="TLS") as raised:
        _connect(database, seed, net_settings, network, _credentials(network, site.url))
    assert str(raised.value).startswith(f"TLS error talking to {site.url}")
    assert "certificate" in str(raised.value)
    _nothing_stored(database)


@pytest.mark.parametrize(
    ("network", "words"),
    [
        ("mastodon", "answered with something that is not the Mastodon API"),
        ("bluesky", "answered with something that is not the atproto API"),
    ],
)
def test_html_instead_of_json_is_explained(
    database: Database, seed: Seed, net_settings: Settings, network: str, words: str
) -> None:
    with serving(HtmlSite()) as site, pytest.raises(NetworkError, match=words) as raised:
        _connect(database, seed, net_settings, network, _credentials(network, site.url))
    assert "check" in str(raised.value)  # the fix: check the address
    _nothing_stored(database)
