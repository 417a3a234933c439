"""Issue 10's "Done when", end to end: a post composed on the web page for a Mastodon and a
Bluesky channel by a contributor, approved by another member, scheduled, appears once on
each real server at its time (mastodon_mock and the reference PDS), and the calendar shows
it published with both permalinks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Seed, make_settings
from tests.networks_servers import BlueskyNetwork, MastodonServer
from tests.publish import factory
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.publish import approval
from townsquare.publish.models import PublishVariant, VariantStatus
from townsquare.publish.worker import dispatch_due
from townsquare.web.app import create_app
from townsquare.workspaces import users
from townsquare.workspaces.access import WorkspaceAccess, get_workspace

TEXT = "Nouvelle carte d'hiver ☕ chez Acme #townsquare"


@pytest.fixture
def net_settings(database: Database, data_dir: Path) -> Settings:
    return make_settings(
        data_dir, database.url, allow_private_urls=True, publish_settle_seconds=0.0
    )


@pytest.fixture
def app_factory(net_settings: Settings, database: Database) -> Iterator[Callable[..., TestClient]]:
    app = create_app(net_settings, database=database, run_worker=False)
    clients: list[TestClient] = []

    def logged_in(email: str, password: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        client.get("/login")
        answer = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": client.cookies["ts_csrf"]},
        )
        assert answer.status_code == 303, answer.text
        return client

    yield logged_in
    for client in clients:
        client.__exit__(None, None, None)


def _at(when: datetime) -> Callable[[], datetime]:
    return lambda: when


def test_composed_approved_scheduled_published_once_on_both_and_on_the_calendar(
    database: Database,
    seed: Seed,
    net_settings: Settings,
    mastodon_server: MastodonServer,
    bluesky_network: BlueskyNetwork,
    app_factory: Callable[..., TestClient],
) -> None:
    mastodon = factory.connect_channel(
        database,
        net_settings,
        seed.workspace,
        network="mastodon",
        handle=f"@brand@{mastodon_server.url.split('://', 1)[1]}",
        credentials={"instance_url": mastodon_server.url, "access_token": mastodon_server.token()},
    )
    account = bluesky_network.create_account()
    bluesky = factory.connect_bluesky(
        database,
        net_settings,
        seed.workspace,
        account.handle,
        account.password,
        bluesky_network.pds_url,
    )
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, seed.workspace))
        approval.update_settings(session, access, needs_approval=True, forbid_self_approval=True)
        for email, role in (("camille@acme.test", "contributor"), ("eli@acme.test", "editor")):
            users.create_user(
                session,
                email=email,
                password=f"{email} password",
                workspace=seed.workspace,
                role=role,
            )
        session.commit()
    author = app_factory("camille@acme.test", "camille@acme.test password")
    approver = app_factory("eli@acme.test", "eli@acme.test password")

    # Composed by the contributor for both channels, at 10:00 (UTC, the channels' zone)
    # the day after tomorrow: it waits for approval.
    due = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    created = author.post(
        f"/w/{seed.workspace}/publish/new",
        data={
            "csrf_token": author.cookies["ts_csrf"],
            "channel": [str(mastodon), str(bluesky)],
            "part": TEXT,
            "action": "at",
            "at": due.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert created.status_code == 303, created.text
    post_path = created.headers["location"].split("?")[0]
    post_id = int(post_path.rsplit("/", 1)[1])
    assert _statuses(database, post_id) == {VariantStatus.PENDING_APPROVAL.value}
    # The author cannot approve it; the editor can.
    refused = author.post(f"{post_path}/approve", data={"csrf_token": author.cookies["ts_csrf"]})
    assert refused.status_code in (200, 403) and _statuses(database, post_id) == {
        VariantStatus.PENDING_APPROVAL.value
    }
    approved = approver.post(
        f"{post_path}/approve", data={"csrf_token": approver.cookies["ts_csrf"]}
    )
    assert approved.status_code == 303, approved.text
    assert _statuses(database, post_id) == {VariantStatus.SCHEDULED.value}

    # Before its time nothing goes out; at its time, once on each server.
    early = dispatch_due(database, net_settings, clock=_at(due - timedelta(minutes=1)))
    assert early.published == 0
    assert _on_mastodon(mastodon_server) == 0 and _on_bluesky(bluesky_network, account.did) == 0
    on_time = dispatch_due(database, net_settings, clock=_at(due + timedelta(seconds=5)))
    assert on_time.published == 2, on_time.as_json()
    again = dispatch_due(database, net_settings, clock=_at(due + timedelta(minutes=5)))
    assert again.published == 0
    assert _on_mastodon(mastodon_server) == 1
    assert _on_bluesky(bluesky_network, account.did) == 1
    assert _statuses(database, post_id) == {VariantStatus.PUBLISHED.value}

    # The calendar (by the approver, a list of the due day's month) shows it published with
    # both permalinks, and so does the post's page.
    with database.session() as session:
        urls = [
            v.url for v in session.query(PublishVariant).filter(PublishVariant.post_id == post_id)
        ]
    assert len(urls) == 2 and all(urls)
    listed = approver.get(
        f"/w/{seed.workspace}/publish", params={"view": "list", "date": due.date().isoformat()}
    ).text
    assert "status-published" in listed
    for url in urls:
        assert f'href="{url}"' in listed, url
    page = approver.get(post_path).text
    assert len(re.findall(r'class="permalink"', page)) == 2


def _statuses(database: Database, post_id: int) -> set[str]:
    with database.session() as session:
        return {
            v.status
            for v in session.query(PublishVariant).filter(PublishVariant.post_id == post_id)
        }


def _on_mastodon(server: MastodonServer) -> int:
    client = server.client()
    statuses = client.account_statuses(client.me()["id"], limit=40)
    return sum("Nouvelle carte d" in s["content"] for s in statuses)


def _on_bluesky(network: BlueskyNetwork, did: str) -> int:
    answer = httpx.get(
        f"{network.pds_url}/xrpc/com.atproto.repo.listRecords",
        params={"repo": did, "collection": "app.bsky.feed.post", "limit": 100},
    )
    answer.raise_for_status()
    return sum(r["value"]["text"] == TEXT for r in answer.json()["records"])
