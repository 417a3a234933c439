"""The issue's "Done when", end to end: a Mastodon channel and a Bluesky channel connected
from the web page and from the command line against the test servers (mastodon_mock, the
atproto dev-env), synced, and the Measure dashboard showing their posts, formats and best
times, with the note that these networks give no reach."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.channels.test_connected_web_cli import cli, wait_for_sync, web, worker
from tests.house.test_cli import Cli, _owner
from tests.house.test_web_pages import post
from tests.networks_servers import BlueskyNetwork, MastodonServer

__all__ = ["cli", "web", "worker"]  # fixtures shared with test_connected_web_cli


def _seed_networks(
    mastodon: MastodonServer, bluesky: BlueskyNetwork
) -> tuple[str, tuple[str, str]]:
    """Posts of several formats on both networks; (Mastodon handle, (Bluesky handle, password))."""
    from atproto import models

    first = mastodon.post("hello from the brand")
    mastodon.favourite(first["id"], "fan1")
    mastodon.reblog(first["id"], "fan2")
    mastodon.reply(first["id"], "and a thread", "brand")
    for n in range(4):
        mastodon.post(f"news {n}")
    mastodon.follow("fan1")

    brand = bluesky.create_account()
    fan = bluesky.create_account()
    client = bluesky.client(brand)
    hello = client.send_post("hello from the brand")
    client.send_post(
        "read this",
        embed=models.AppBskyEmbedExternal.Main(
            external=models.AppBskyEmbedExternal.External(
                uri="https://example.com/a", title="A", description="…"
            )
        ),
    )
    parent = models.create_strong_ref(hello)
    client.send_post(
        "a thread", reply_to=models.AppBskyFeedPost.ReplyRef(parent=parent, root=parent)
    )
    fans = bluesky.client(fan)
    fans.like(hello.uri, hello.cid)
    fans.follow(brand.did)
    bluesky.process_all()
    return mastodon.handle(), (brand.handle, brand.password)


def _channel_id(web: TestClient, handle: str) -> int:
    page = web.get("/w/acme/channels")
    found = re.search(rf'href="/w/acme/channels/(\d+)">{re.escape(handle)}</a>', page.text)
    assert found, page.text[:500]
    return int(found.group(1))


def _measure_shows(web: TestClient, handle: str, formats: set[str]) -> None:
    dashboard = web.get("/w/acme/measure", params={"channel": handle, "by": "format"})
    assert dashboard.status_code == 200, dashboard.text[:300]
    assert 'id="kpi-table"' in dashboard.text and 'id="no-reach"' in dashboard.text
    for name in formats:
        assert f'data-key="{name}"' in dashboard.text, (handle, name)
    shown = web.get("/w/acme/measure/formats", params={"channel": handle})
    assert shown.status_code == 200 and 'id="formats-table"' in shown.text
    for name in formats:
        assert f'<tr data-key="{name}">' in shown.text, (handle, name)
    times = web.get("/w/acme/measure/best-times", params={"channel": handle})
    assert times.status_code == 200 and 'id="cells-table"' in times.text


def test_both_networks_from_the_web_page_to_the_measure_dashboard(
    web: TestClient,
    worker: Callable[[], None],
    mastodon_server: MastodonServer,
    bluesky_network: BlueskyNetwork,
) -> None:
    mastodon_handle, (bluesky_handle, password) = _seed_networks(mastodon_server, bluesky_network)
    worker()

    # Mastodon: the channel, then its token pasted on its page, then "Sync now".
    added = post(web, "/w/acme/channels", {"network": "mastodon", "handle": mastodon_handle})
    assert added.status_code == 303
    mastodon_id = _channel_id(web, mastodon_handle)
    connected = post(web, f"/w/acme/channels/{mastodon_id}/connect", mastodon_server.credentials())
    assert connected.status_code == 303, connected.text[:300]
    assert post(web, f"/w/acme/channels/{mastodon_id}/sync").status_code == 303
    assert "6 posts read" in wait_for_sync(web, mastodon_id)

    # Bluesky: the channel, then its app password (and the PDS of the test network).
    added = post(web, "/w/acme/channels", {"network": "bluesky", "handle": bluesky_handle})
    assert added.status_code == 303
    bluesky_id = _channel_id(web, bluesky_handle)
    form = {
        "identifier": bluesky_handle,
        "app_password": password,
        "service_url": bluesky_network.pds_url,
    }
    connected = post(web, f"/w/acme/channels/{bluesky_id}/connect", form)
    assert connected.status_code == 303, connected.text[:300]
    detail = web.get(f"/w/acme/channels/{bluesky_id}")
    assert "connected" in detail.text
    assert post(web, f"/w/acme/channels/{bluesky_id}/sync").status_code == 303
    assert "3 posts read" in wait_for_sync(web, bluesky_id)

    _measure_shows(web, mastodon_handle, {"text", "thread"})
    _measure_shows(web, bluesky_handle, {"text", "link", "thread"})


def test_both_networks_from_the_command_line(
    cli: Cli, mastodon_server: MastodonServer, bluesky_network: BlueskyNetwork
) -> None:
    _owner(cli)
    mastodon_handle, (bluesky_handle, password) = _seed_networks(mastodon_server, bluesky_network)
    inputs = {
        ("mastodon", mastodon_handle): mastodon_server.credentials(),
        ("bluesky", bluesky_handle): {
            "identifier": bluesky_handle,
            "app_password": password,
            "service_url": bluesky_network.pds_url,
        },
    }
    for (network, handle), credentials in inputs.items():
        added = cli(
            "channel", "add", "--workspace", "acme", "--network", network, "--handle", handle,
            "--credentials-stdin", "--json", input=json.dumps(credentials),
        )  # fmt: skip
        assert added.code == 0, added.err
        assert added.json()["health"]["state"] == "connected"
        checked = cli("channel", "check", "--workspace", "acme", "--channel", handle, "--json")
        assert checked.code == 0 and checked.json()["ok"] is True, checked.out
        synced = cli("channel", "sync", "--workspace", "acme", "--channel", handle, "--json")
        assert synced.code == 0, synced.err
        assert synced.json()["posts_new"] == (6 if network == "mastodon" else 3)
        assert synced.json()["followers"] == 1
    expected = {mastodon_handle: {"text", "thread"}, bluesky_handle: {"text", "link", "thread"}}
    for handle, formats in expected.items():
        where = ("--workspace", "acme", "--channel", handle, "--json")
        kpis = cli("measure", "kpis", *where, "--by", "format")
        assert kpis.code == 0, kpis.err
        assert {group["key"] for group in kpis.json()["groups"]} == formats
        compared = cli("measure", "formats", *where)
        assert compared.code == 0, compared.err
        assert {group["key"] for group in compared.json()["groups"]} == formats
        times = cli("measure", "best-times", *where)
        assert times.code == 0 and times.json()["cells"], times.err
    # A wrong app password and an unreachable PDS: the clear sentence and its exit code.
    wrong = cli(
        "channel", "add", "--workspace", "acme", "--network", "bluesky", "--handle", "x.test",
        "--credentials-stdin",
        input=json.dumps({**inputs[("bluesky", bluesky_handle)], "app_password": "wrong"}),
    )  # fmt: skip
    assert wrong.code == 5 and "app password" in wrong.err
    down = cli(
        "channel", "add", "--workspace", "acme", "--network", "bluesky", "--handle", "x.test",
        "--credentials-stdin",
        input=json.dumps({**inputs[("bluesky", bluesky_handle)], "service_url": "http://127.0.0.1:9"}),
    )  # fmt: skip
    assert down.code == 8 and "cannot reach" in down.err
