"""Publish in Debian's chromium: compose one post for a Mastodon and a Bluesky channel, see
each network's counter change while typing, schedule it, find it on the calendar, and drag
it to another day."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.conftest import ServerThread
from tests.publish import web_seed
from townsquare.db import Database
from townsquare.publish.models import PublishVariant

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.mark.usefixtures("logged_in")
def test_compose_count_schedule_and_drag_on_the_calendar(
    page: Any, live_server: ServerThread, database: Database
) -> None:
    ids = web_seed.channels(database)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/w/acme/publish/new")
    page.get_by_role("checkbox", name=re.compile("Mastodon")).check()
    page.get_by_role("checkbox", name=re.compile("Bluesky")).check()
    mastodon = page.locator(f'#counters [data-channel="{ids["mastodon"]}"] .count')
    bluesky = page.locator(f'#counters [data-channel="{ids["bluesky"]}"] .count')
    text = page.get_by_label("Text of the post")
    text.fill("é🇫🇷👍🏽 https://example.com/a/long/path/for/the/counter")
    # As each network counts: a URL is 23 characters on Mastodon, itself on Bluesky.
    expect(mastodon).to_have_text(str(3 + 1 + 23))
    expect(bluesky).to_have_text(
        str(3 + 1 + len("https://example.com/a/long/path/for/the/counter"))
    )
    text.fill("a" * 301)
    expect(page.locator("#counters")).to_contain_text("301 graphemes for a limit of 300")
    text.fill("Nouvelle carte d’hiver ☕")
    expect(mastodon).to_have_text("24")
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    page.get_by_label("Date and time, in each channel's time zone").fill(f"{day.isoformat()}T10:15")
    page.get_by_role("button", name="Schedule at this time").click()
    page.wait_for_url("**/publish/posts/*")
    expect(page.locator("#created-message")).to_be_visible()
    expect(page.locator('#variants tr[data-status="scheduled"]')).to_have_count(2)

    page.goto(f"{live_server.url}/w/acme/publish?date={day.isoformat()}")
    entries = page.locator(".cal-entry.status-scheduled")
    expect(entries).to_have_count(2)
    # Drag the Mastodon one to the next day: the calendar comes back with it moved.
    target = day + timedelta(days=1)
    mastodon_entry = page.locator('.cal-entry[data-move][title*="Mastodon"]')
    mastodon_entry.drag_to(page.locator(f'[data-slot="{target.isoformat()}"]'))
    expect(page.locator("#moved-message")).to_be_visible()
    expect(page.locator(f'[data-slot="{target.isoformat()}"] .cal-entry')).to_have_count(1)
    with database.session() as session:
        moved = session.scalars(
            select(PublishVariant).where(PublishVariant.channel_id == ids["mastodon"])
        ).one()
        assert moved.scheduled_at == datetime(
            target.year, target.month, target.day, 10, 15, tzinfo=UTC
        )
    assert not errors, errors
