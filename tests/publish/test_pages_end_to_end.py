"""From the web page to the network and back: a post composed on the composer for a
Mastodon channel (mastodon_mock), published by the real dispatcher, is on the server once;
its page and the calendar show its permalink; the webhook receiver gets post.published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Seed, make_settings
from tests.networks_servers import MastodonServer
from tests.publish import factory
from tests.publish.test_webhooks import Receiver, receiver  # noqa: F401
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.publish import webhooks
from townsquare.publish.worker import dispatch_due
from townsquare.web.app import create_app
from townsquare.workspaces.access import WorkspaceAccess, get_workspace


@pytest.fixture
def net_settings(database: Database, data_dir: Path) -> Settings:
    return make_settings(
        data_dir, database.url, allow_private_urls=True, publish_settle_seconds=0.0
    )


@pytest.fixture
def web(net_settings: Settings, database: Database, seed: Seed) -> Iterator[TestClient]:
    app = create_app(net_settings, database=database, run_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        client.get("/login")
        answer = client.post(
            "/login",
            data={
                "email": seed.owner_email,
                "password": seed.owner_password,
                "csrf_token": client.cookies["ts_csrf"],
            },
        )
        assert answer.status_code == 303, answer.text
        yield client


def test_composed_on_the_web_published_once_shown_and_told(
    web: TestClient,
    database: Database,
    seed: Seed,
    net_settings: Settings,
    mastodon_server: MastodonServer,
    receiver: Receiver,  # noqa: F811
) -> None:
    channel = factory.connect_channel(
        database,
        net_settings,
        seed.workspace,
        network="mastodon",
        handle=f"@brand@{mastodon_server.url.split('://', 1)[1]}",
        credentials={"instance_url": mastodon_server.url, "access_token": mastodon_server.token()},
    )
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, seed.workspace))
        issued = webhooks.create_webhook(session, access, net_settings, url=receiver.url)
    token = web.cookies["ts_csrf"]
    created = web.post(
        f"/w/{seed.workspace}/publish/new",
        data={
            "csrf_token": token,
            "channel": str(channel),
            "part": "Ouvert dimanche ☕",
            "action": "now",
        },
    )
    assert created.status_code == 303, created.text
    post_page = created.headers["location"].split("?")[0]
    report = dispatch_due(database, net_settings)
    assert report.published == 1, report.as_json()
    client = mastodon_server.client()
    statuses = client.account_statuses(client.me()["id"], limit=40)
    assert [s["content"] for s in statuses if "Ouvert dimanche" in s["content"]] != []
    assert len([s for s in statuses if "Ouvert dimanche" in s["content"]]) == 1
    page = web.get(post_page).text
    assert 'data-status="published"' in page and 'class="permalink"' in page
    listed = web.get(f"/w/{seed.workspace}/publish?view=list").text
    assert "status-published" in listed and "permalink" in listed
    run = webhooks.deliver_pending(database.session, settings=net_settings)
    assert run.delivered >= 1, run.as_json()
    published = [json.loads(body) for headers, body in receiver.received
                 if headers["Townsquare-Event"] == "post.published"]  # fmt: skip
    assert len(published) == 1
    variant = published[0]["data"]["variants"][0]
    assert variant["status"] == "published" and variant["url"]
    headers, body = receiver.received[-1]
    assert webhooks.verify_signature(issued.secret, headers["Townsquare-Signature"], body)
