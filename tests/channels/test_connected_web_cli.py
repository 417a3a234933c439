"""Connected channels from the command line, the REST API and the pages, against
mastodon_mock: the contract forms of the issue, OAuth with PKCE, the banner, exit codes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from huey.storage import MemoryStorage

from tests.conftest import make_settings
from tests.house.test_cli import Cli, _owner
from tests.house.test_web_pages import log_in, post, set_up
from tests.networks_servers import MastodonServer
from townsquare.db import Database
from townsquare.jobs.queue import EmbeddedConsumer, huey
from townsquare.web.app import create_app


@pytest.fixture
def cli(sqlite_database: Database, data_dir: Path) -> Cli:
    runner = Cli(data_dir, sqlite_database.url)
    runner.env["TOWNSQUARE_ALLOW_PRIVATE_URLS"] = "true"
    return runner


def test_cli_contract_forms(cli: Cli, mastodon_server: MastodonServer) -> None:
    _owner(cli)
    server = mastodon_server
    hello = server.post("hello")
    server.favourite(hello["id"], "fan1")
    server.follow("fan2")
    handle = server.handle()

    bad = cli(
        "channel", "add", "--workspace", "acme", "--network", "mastodon", "--handle", handle,
        "--credentials-stdin", input=json.dumps({**server.credentials(), "access_token": "no"}),
    )  # fmt: skip
    assert bad.code == 5 and "refused the access token" in bad.err
    down = cli(
        "channel", "add", "--workspace", "acme", "--network", "mastodon", "--handle", handle,
        "--credentials-stdin",
        input=json.dumps({"instance_url": "http://127.0.0.1:9", "access_token": "x"}),
    )  # fmt: skip
    assert down.code == 8 and "cannot reach" in down.err
    assert cli("channel", "list", "--workspace", "acme", "--json").json() == []

    added = cli(
        "channel", "add", "--workspace", "acme", "--network", "mastodon", "--handle", handle,
        "--credentials-stdin", "--json", input=json.dumps(server.credentials()),
    )  # fmt: skip
    assert added.code == 0, added.err
    assert added.json()["health"]["state"] == "connected"

    checked = cli("channel", "check", "--workspace", "acme", "--channel", handle, "--json")
    assert checked.code == 0, checked.err
    assert checked.json() == {
        "ok": True,
        "account": {"handle": handle, "display_name": "Brand", "followers": 1},
        "error": None,
    }
    synced = cli("channel", "sync", "--workspace", "acme", "--channel", handle, "--json")
    assert synced.code == 0, synced.err
    assert synced.json() == {
        "posts_fetched": 1,
        "posts_new": 1,
        "snapshots_written": 1,
        "followers": 1,
    }
    full = cli("channel", "sync", "--workspace", "acme", "--channel", handle, "--full")
    assert full.code == 0 and "1 posts read" in full.out
    listed = cli("channel", "list", "--workspace", "acme", "--json").json()
    assert listed[0]["health"]["last_sync_at"] and listed[0]["health"]["last_error"] is None

    server.revoke()
    broken = cli("channel", "check", "--workspace", "acme", "--channel", handle, "--json")
    assert broken.code == 5 and broken.json()["ok"] is False
    health = cli("channel", "list", "--workspace", "acme", "--json").json()[0]["health"]
    assert health["state"] == "needs_reconnection" and "401" in health["reason"]

    gone = cli("channel", "disconnect", "--workspace", "acme", "--channel", handle, "--json")
    assert gone.code == 0 and gone.json() == {"revoked": False, "posts_deleted": 0}
    after = cli("channel", "list", "--workspace", "acme", "--json").json()[0]
    assert after["has_credentials"] is False and after["health"]["state"] == "not_connected"


@pytest.fixture
def web(sqlite_database: Database, data_dir: Path) -> Iterator[TestClient]:
    """The app, logged in, its job queue the real SQLite one of the data directory (as
    ``serve`` has it) with no consumer yet: see ``worker``."""
    settings = make_settings(
        data_dir, sqlite_database.url, allow_private_urls=True, base_url="http://testserver"
    )
    app = create_app(settings, database=sqlite_database)
    try:
        with TestClient(app, follow_redirects=False) as client:
            set_up(client)
            log_in(client)
            yield client
    finally:
        # Leave this process's queue as the tests found it (in memory).
        huey.storage = MemoryStorage("townsquare")


@pytest.fixture
def worker(web: TestClient) -> Iterator[Callable[[], None]]:
    """Starts the embedded consumer of ``serve`` on the app's queue (without the periodic
    scheduler, which would sync the test's channels on its own): call it to start."""
    consumers: list[EmbeddedConsumer] = []

    def start() -> None:
        consumer = EmbeddedConsumer(huey, workers=1, worker_type="thread", periodic=False)
        consumer.max_delay = 0.2  # poll the queue often: the test waits for it
        consumer.start()
        consumers.append(consumer)

    yield start
    for consumer in consumers:
        consumer.stop(graceful=True)


def wait_for_sync(web: TestClient, channel_id: int, timeout: float = 30) -> str:
    """The health fragment once the queued sync is over (what the page's poll gets)."""
    deadline = time.monotonic() + timeout
    while True:
        fragment = web.get(f"/w/acme/channels/{channel_id}/progress")
        assert fragment.status_code == 200, fragment.text[:300]
        if 'data-state="done"' in fragment.text:
            assert "hx-trigger" not in fragment.text  # the page stops asking
            return fragment.text
        assert time.monotonic() < deadline, fragment.text
        assert 'hx-trigger="every 2s"' in fragment.text  # the page keeps asking
        time.sleep(0.1)


def test_oauth_with_pkce_then_sync_from_the_page(
    web: TestClient, worker: Callable[[], None], mastodon_server: MastodonServer
) -> None:
    server = mastodon_server
    server.post("from the brand")
    handle = server.handle()
    added = post(web, "/w/acme/channels", {"network": "mastodon", "handle": handle})
    assert added.status_code == 303
    page = web.get("/w/acme/channels")
    channel_id = int(page.text.split("/w/acme/channels/")[1].split('"')[0])

    started = post(web, f"/w/acme/channels/{channel_id}/oauth", {"oauth_instance_url": server.url})
    assert started.status_code == 303, started.text.split('id="form-error">')[-1][:300]
    authorize = started.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{server.url}/oauth/authorize")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert "read:statuses" in query["scope"][0]

    # The user picks the account on the instance, which sends the browser back.
    answer = httpx.post(
        f"{server.url}/oauth/authorize",
        data={
            "username": "brand",
            "redirect_uri": query["redirect_uri"][0],
            "client_id": query["client_id"][0],
            "scope": query["scope"][0],
            "state": query["state"][0],
        },
    )
    back = answer.headers["location"]
    assert back.startswith(f"http://testserver/w/acme/channels/{channel_id}/callback")

    forged = web.get(back.replace("state=", "state=x"))
    assert forged.status_code == 401 and "start the connection again" in forged.text
    done = web.get(back)
    assert done.status_code == 303, done.text
    detail = web.get(f"/w/acme/channels/{channel_id}")
    assert "connected" in detail.text and "no reach and no impressions" in detail.text

    # "Sync now" queues the sync for the job queue; the page follows its progress.
    worker()
    synced = post(web, f"/w/acme/channels/{channel_id}/sync")
    assert synced.status_code == 303 and synced.headers["location"].endswith("?notice=queued")
    assert "1 posts read" in wait_for_sync(web, channel_id)
    # The Measure pages work on the connected channel's posts.
    for path in ("/w/acme/measure", "/w/acme/measure/formats", "/w/acme/measure/best-times"):
        shown = web.get(path)
        assert shown.status_code == 200, (path, shown.text[:300])

    # A token that stops working (the instance answers 401 to all it asks): the banner shows
    # on every page of the workspace.
    server.fault(path_regex=r"^/api/v1/accounts/", status=401)
    failed = post(web, f"/w/acme/channels/{channel_id}/sync")
    assert failed.status_code == 303
    assert "refused the access token" in wait_for_sync(web, channel_id)
    banner = web.get("/w/acme/channels")
    assert "reconnect-banner" in banner.text and handle in banner.text


def test_rest_api_check_sync_and_errors(
    web: TestClient, mastodon_server: MastodonServer, sqlite_database: Database
) -> None:
    from tests.conftest import seed_workspace

    seed = seed_workspace(sqlite_database, slug="api", email="api@acme.test")
    server = mastodon_server
    server.post("api post")
    base = "/api/v1/workspaces/api/channels"
    bad = web.post(
        base,
        headers=seed.headers,
        json={
            "network": "mastodon",
            "handle": server.handle(),
            "credentials": {**server.credentials(), "access_token": "wrong"},
        },
    )
    assert bad.status_code == 401 and "refused" in bad.json()["error"]["message"]
    created = web.post(
        base,
        headers=seed.headers,
        json={
            "network": "mastodon",
            "handle": server.handle(),
            "credentials": server.credentials(),
        },
    )
    assert created.status_code == 201, created.text
    channel_id = created.json()["id"]
    check = web.post(f"{base}/{channel_id}/check", headers=seed.headers)
    assert check.json()["ok"] is True and check.json()["account"]["handle"] == server.handle()
    sync = web.post(f"{base}/{channel_id}/sync", headers=seed.headers)
    assert sync.status_code == 200 and sync.json()["posts_new"] == 1
    start = web.post(
        f"{base}/{channel_id}/oauth/start", headers=seed.headers, json={"instance_url": server.url}
    )
    assert start.status_code == 200 and start.json()["pkce"] is True
    server.fault(path_regex=r"/statuses", status=500)
    failed = web.post(f"{base}/{channel_id}/sync", headers=seed.headers)
    assert failed.status_code == 502


def test_sync_now_is_queued_once_and_shows_its_progress(
    web: TestClient, worker: Callable[[], None], mastodon_server: MastodonServer
) -> None:
    """The page's "Sync now" queues one task per channel at a time; the first sync of the
    whole history shows as such while it runs, and the job queue's result on the page."""
    server = mastodon_server
    for n in range(45):  # more than one page of 40
        server.post(f"post {n}")
    added = post(
        web,
        "/w/acme/channels",
        {"network": "mastodon", "handle": server.handle()},
    )
    assert added.status_code == 303
    channel_id = int(web.get("/w/acme/channels").text.split("/w/acme/channels/")[1].split('"')[0])
    connected = post(
        web,
        f"/w/acme/channels/{channel_id}/connect",
        {"instance_url": server.url, "access_token": server.token()},
    )
    assert connected.status_code == 303, connected.text[-500:]

    queued = post(web, f"/w/acme/channels/{channel_id}/sync")
    assert queued.status_code == 303
    page = web.get(queued.headers["location"])
    assert "The sync is queued" in page.text and 'data-state="queued"' in page.text
    assert f'hx-get="/w/acme/channels/{channel_id}/progress"' in page.text
    assert "Sync now</button>" not in page.text  # no second click while it is queued
    again = post(web, f"/w/acme/channels/{channel_id}/sync")
    assert again.status_code == 409 and "already running" in again.text

    # The pages are slow: the first sync is caught while it walks the history.
    server.fault(path_regex=r"/statuses$", type="latency", delay_ms=700, count=2)
    worker()
    deadline = time.monotonic() + 20
    while 'data-state="running"' not in (
        fragment := web.get(f"/w/acme/channels/{channel_id}/progress").text
    ):
        assert time.monotonic() < deadline and 'data-state="done"' not in fragment, fragment
        time.sleep(0.05)
    assert "first sync of the whole history" in fragment
    done = wait_for_sync(web, channel_id)
    assert "45 posts read over 2 pages" in done
    assert "Sync now</button>" in done


@pytest.mark.parametrize(
    "instance_url", ["http://[::1", "https://\ud800.social", "https://a:99999"]
)
def test_oauth_start_with_an_unusable_instance_address_is_bad_input(
    web: TestClient, sqlite_database: Database, instance_url: str
) -> None:
    """Found by the API contract test: these answered 500 (the address was split without
    a guard); each is a 422 naming the field."""
    from tests.conftest import seed_workspace

    seed = seed_workspace(sqlite_database, slug="oauth", email="oauth@acme.test")
    base = "/api/v1/workspaces/oauth/channels"
    created = web.post(
        base,
        headers=seed.headers,
        json={"network": "mastodon", "handle": "@acme@mastodon.example", "check": False,
              "credentials": {"instance_url": "https://mastodon.example", "access_token": "x"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    started = web.post(
        f"{base}/{created.json()['id']}/oauth/start",
        headers={**seed.headers, "Content-Type": "application/json"},
        content=json.dumps({"instance_url": instance_url}),
    )
    assert started.status_code == 422, started.text
    assert started.json()["error"]["field"] == "instance_url"
