"""A French white-label report made on the web page, previewed, downloaded as PDF, shared
by link to a logged-out browser, and scheduled (a real chromium through Playwright)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Owner
from tests.measure.conftest import HAND_AUDIENCE, HAND_POSTS, insert_audience, insert_posts
from townsquare.channels.service import add_channel
from townsquare.db import Database
from townsquare.workspaces.service import WorkspaceAccess, get_workspace


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_report_made_on_the_web_and_shared(
    database: Database, live_server: Any, logged_in: Owner, page: Any, browser: Any
) -> None:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        channel = add_channel(
            session, access, network="mastodon", handle="brand", timezone="Europe/Paris"
        )
        insert_posts(session, channel, HAND_POSTS)
        insert_audience(session, channel, HAND_AUDIENCE)
    page.goto(live_server.url + "/w/acme/reports")
    page.get_by_label("Name", exact=True).fill("Rapport de mars")
    page.select_option("select[name=period]", "custom")
    page.fill("input[name=from]", "2024-03-01")
    page.fill("input[name=to]", "2024-03-31")
    page.select_option("select[name=compare]", "previous")
    page.select_option("select[name=report_language]", "fr")
    page.get_by_label("Agency name").fill("Agence Bleue")
    page.get_by_role("button", name="Create the report").click()
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
    report_url = page.url
    preview = page.request.get(report_url + "/preview")
    assert preview.ok and "Vue d’ensemble" in preview.text() and "Agence Bleue" in preview.text()
    pdf = page.request.get(report_url + "/render?format=pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.get_by_role("button", name="Create a read-only link").click()
    link = page.locator("#share-url").inner_text()
    assert "/r/tsr_" in link
    stranger = browser.new_context()  # no cookie: logged out
    try:
        other = stranger.new_page()
        # The printed link uses TOWNSQUARE_BASE_URL (unset here): follow its path.
        other.goto(live_server.url + "/r/" + link.split("/r/", 1)[1])
        assert other.locator("h1").inner_text() == "Rapport de mars"
        assert other.get_by_text("Vue d’ensemble").first.is_visible()
        other.goto(report_url)
        assert "/login" in other.url  # the share link opens nothing else
    finally:
        stranger.close()
    page.goto(report_url)
    page.fill("#schedule-form input[name=to]", "client@example.com")
    page.locator("#schedule-form").get_by_role("button", name="Save the schedule").click()
    page.wait_for_selector("#schedule-state")
    assert "client@example.com" in page.locator("#schedule-state").inner_text()
