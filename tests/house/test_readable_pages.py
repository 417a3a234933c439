"""Readable at a glance: success messages after every change (a flash that shows once, in
the reader's language), channels edited from their page, channel menus and the post picker
that tell things apart, KPI tables that show a chosen set and say which KPIs are unknown.

Real app and database through TestClient; the browser side (menu, copy buttons, chooser)
is in tests/browser/test_phone_layout.py.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_pages are parameters here)

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.house.test_web_pages import (  # noqa: F401  (fixtures used by name)
    _cheap_password_hashing,
    client,
    owner_client,
    post,
    sqlite_only,
)
from townsquare.analytics import kpis, tables
from townsquare.channels.service import channel_label
from townsquare.db import Database
from townsquare.web.flash import FLASH_COOKIE

CHANNEL = {
    "network": "mastodon",
    "handle": "@acme@mastodon.social",
    "display_name": "Acme",
    "timezone": "Europe/Paris",
}


def _add_channel(client: TestClient, **values: str) -> int:
    response = post(client, "/w/acme/channels", {**CHANNEL, **values})
    assert response.status_code == 303, response.text
    page = client.get("/w/acme/channels").text
    ids = re.findall(r'href="/w/acme/channels/(\d+)"', page)
    return int(ids[-1])


def _notice(html: str) -> str | None:
    found = re.search(
        r'<p class="success flash-notice" role="status" id="flash-notice">(.*?)</p>', html
    )
    return found.group(1) if found else None


@sqlite_only
def test_a_change_says_so_once(owner_client: TestClient) -> None:
    response = post(owner_client, "/w/acme/channels", CHANNEL)
    assert response.status_code == 303
    assert response.headers["location"] == "/w/acme/channels"
    assert FLASH_COOKIE in response.headers["set-cookie"]
    page = owner_client.get("/w/acme/channels")
    assert _notice(page.text) == "Channel Acme (mastodon:@acme@mastodon.social) added."
    # Shown once: the page that showed it cleared it.
    assert _notice(owner_client.get("/w/acme/channels").text) is None


@sqlite_only
def test_the_message_is_in_the_readers_language(owner_client: TestClient) -> None:
    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    post(owner_client, "/w/acme/channels", CHANNEL)
    page = owner_client.get("/w/acme/channels").text
    assert _notice(page) == "Canal Acme (mastodon:@acme@mastodon.social) ajouté."


@sqlite_only
def test_a_forged_flash_cookie_cannot_write_its_own_text(owner_client: TestClient) -> None:
    owner_client.cookies.set(FLASH_COOKIE, json.dumps({"key": "<b>pwned</b>", "params": {}}))
    assert _notice(owner_client.get("/w/acme/").text) is None
    owner_client.cookies.set(
        FLASH_COOKIE, json.dumps({"key": "channel.added", "params": {"name": "<script>x"}})
    )
    page = owner_client.get("/w/acme/").text
    assert _notice(page) == "Channel &lt;script&gt;x added."
    owner_client.cookies.set(FLASH_COOKIE, "not json")
    assert owner_client.get("/w/acme/").status_code == 200


@sqlite_only
def test_a_channel_is_edited_from_its_page(owner_client: TestClient, database: Database) -> None:
    channel_id = _add_channel(owner_client)
    form = owner_client.get(f"/w/acme/channels/{channel_id}/edit")
    assert form.status_code == 200
    assert 'value="Acme"' in form.text and 'value="Europe/Paris"' in form.text
    assert "Acme (Mastodon · @acme@mastodon.social)" in form.text
    response = post(
        owner_client,
        f"/w/acme/channels/{channel_id}/edit",
        {"display_name": "Acme FR", "timezone": "America/Montreal"},
    )
    assert response.status_code == 303, response.text
    page = owner_client.get("/w/acme/channels").text
    assert _notice(page) == "Channel Acme FR (mastodon:@acme@mastodon.social) saved."
    assert "Acme FR" in page and "America/Montreal" in page

    # A bad time zone: the form comes back open with the error; nothing is changed.
    refused = post(
        owner_client,
        f"/w/acme/channels/{channel_id}/edit",
        {"display_name": "Other name", "timezone": "Europe/Pariss"},
    )
    assert refused.status_code == 422
    assert 'id="edit-channel"' in refused.text and 'value="Europe/Pariss"' in refused.text
    assert "Europe/Paris" in refused.text  # the suggestion
    page = owner_client.get("/w/acme/channels").text
    assert "Other name" not in page and "America/Montreal" in page

    missing = post(owner_client, "/w/acme/channels/999999/edit", {"timezone": "UTC"})
    assert missing.status_code == 404
    assert owner_client.get("/w/acme/channels/999999").status_code == 404


@sqlite_only
def test_creating_a_short_link_says_so(owner_client: TestClient) -> None:
    response = post(owner_client, "/w/acme/links", {"target_url": "https://a.example/x"})
    assert response.status_code == 303, response.text
    page = owner_client.get(response.headers["location"]).text
    notice = _notice(page)
    assert notice is not None and notice.startswith("Short link http") and "created" in notice
    assert 'id="copy-short-url"' in page


@sqlite_only
def test_channel_menus_tell_same_named_channels_apart(owner_client: TestClient) -> None:
    _add_channel(owner_client)
    _add_channel(owner_client, network="bluesky", handle="acme.bsky.social")
    page = owner_client.get("/w/acme/measure/import").text
    assert "Acme (Mastodon · @acme@mastodon.social)" in page
    assert "Acme (Bluesky · acme.bsky.social)" in page


def test_channel_label_names_network_and_handle() -> None:
    named = SimpleNamespace(network="web", handle="https://a.example", display_name="Blog")
    assert channel_label(named) == "Blog (Web page · https://a.example)"
    assert (
        channel_label(named, {"Web page": "Page web"}.get) == "Blog (Page web · https://a.example)"
    )
    bare = SimpleNamespace(network="mastodon", handle="@a@b.social", display_name=None)
    assert channel_label(bare) == "@a@b.social (Mastodon)"


def _group(**values: object) -> dict[str, object]:
    return {"key": "photo", "posts": 3, "kpis": values, "missing": {}}


def test_kpi_tables_hide_columns_unknown_everywhere_and_start_with_a_default_set() -> None:
    rate = {"mean_of_ratios": 2.0, "ratio_of_sums": 1.5, "n": 3}
    unknown = {"mean_of_ratios": None, "ratio_of_sums": None, "n": 0}
    groups = [
        _group(interactions=4.0, engagement_rate_by_reach=rate, click_through_rate=unknown),
        _group(interactions=None, engagement_rate_by_reach=unknown, click_through_rate=None),
    ]
    columns = [
        kpis.REGISTRY[name]
        for name in ("interactions", "engagement_rate_by_reach", "click_through_rate")
    ]
    known, missing = tables.split_unknown(groups, columns)
    assert [kpi.name for kpi in known] == ["interactions", "engagement_rate_by_reach"]
    assert [kpi.name for kpi in missing] == ["click_through_rate"]

    every = [kpis.REGISTRY[name] for name in kpis.SUMMARY_KPIS]
    assert tables.default_shown(every) == set(tables.DEFAULT_TABLE_KPIS)
    # Fewer default KPIs than the minimum in the data: topped up in registry order.
    few = [
        kpis.REGISTRY[name]
        for name in ("conversation_rate", "amplification_rate", "applause_rate", "reach_rate")
    ]
    assert tables.default_shown(few) == {"conversation_rate", "amplification_rate", "applause_rate"}


@sqlite_only
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_dashboard_offers_the_chooser_and_names_unknown_kpis(
    owner_client: TestClient, database: Database, language: str
) -> None:
    from tests.browser.test_measure_browser import seeded_posts
    from tests.measure.conftest import insert_posts
    from townsquare.channels.service import add_channel
    from townsquare.workspaces.service import WorkspaceAccess, get_workspace

    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        channel = add_channel(session, access, network="mastodon", handle="brand", timezone="UTC")
        insert_posts(session, channel, seeded_posts())
    if language == "fr":
        post(owner_client, "/language", {"language": "fr", "next": "/"})
    page = owner_client.get("/w/acme/measure?by=format").text
    table = page.split('id="kpi-table"')[1].split("</table>")[0]
    # No click counts in these posts: the click-through rate is not a column of dashes...
    assert 'data-kpi="click_through_rate"' not in table
    # ...but a note naming it, with the reason.
    note = page.split('id="kpi-table-unknown"')[1].split("</p>")[0]
    assert ("Click-through rate" if language == "en" else "Taux de clic") in note
    chooser = page.split('class="kpi-chooser" data-table="kpi-table"')[1].split("</details>")[0]
    assert 'data-kpi="engagement_rate_by_reach" checked data-default' in chooser
    assert 'data-kpi="conversation_rate">' in chooser  # offered, not ticked


@sqlite_only
def test_member_changes_say_so(owner_client: TestClient) -> None:
    email = "Editor@Acme.test"
    added = post(
        owner_client,
        "/w/acme/members",
        {"email": email, "role": "editor", "password": "a fine password"},
    )
    assert added.status_code == 303, added.text
    page = owner_client.get("/w/acme/members").text
    assert _notice(page) == "editor@acme.test is now a member of this workspace."
    user_id = re.search(r'action="/w/acme/members/(\d+)/role"', page)
    assert user_id is not None
    changed = post(owner_client, f"/w/acme/members/{user_id.group(1)}/role", {"role": "viewer"})
    assert changed.status_code == 303
    assert _notice(owner_client.get("/w/acme/members").text) == "Role of editor@acme.test changed."
    removed = post(owner_client, f"/w/acme/members/{user_id.group(1)}/remove")
    assert removed.status_code == 303
    page = owner_client.get("/w/acme/members").text
    assert _notice(page) == "editor@acme.test no longer has access to this workspace."
