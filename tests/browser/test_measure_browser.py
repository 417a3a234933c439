"""Measure's dashboard in Debian's chromium: the charts are really drawn.

The pages embed Vega-Lite specs as JSON and the vendored vega-embed draws them; the format
and best-time sections arrive by htmx after the page has loaded. Only a real browser shows
that all of this works together under the app's Content-Security-Policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import Owner
from tests.measure.conftest import insert_posts
from townsquare.channels.service import add_channel
from townsquare.db import Database
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

pytestmark = pytest.mark.browser

PARIS = ZoneInfo("Europe/Paris")
DRAWN = '[data-state="drawn"] svg'


def seeded_posts() -> list[dict[str, Any]]:
    """36 posts over three formats and three slots; Monday 9:00 has 12 (enough to be
    recommended), so the page shows the heatmap and a recommended slot."""
    posts = []
    start = datetime(2024, 3, 4, 9, 0, tzinfo=PARIS)  # a Monday
    slots = [timedelta(0), timedelta(days=1, hours=9), timedelta(days=3, hours=-1)]
    formats = ["photo", "video", "link"]
    for index in range(36):
        week, slot = divmod(index, 3)
        reach = 400 + 37 * index
        posts.append(
            {
                "external_id": f"post-{index}",
                "format": formats[index % 3 if index % 2 else (index // 2) % 3],
                "is_paid": index % 5 == 0,
                "local": start + timedelta(weeks=week) + slots[slot],
                "followers_at_publish": 5000 + 10 * index,
                "metrics": {
                    "reach": reach,
                    "impressions": reach * 2,
                    "reactions": 10 + (index * 7) % 23,
                    "comments": index % 4,
                    "shares": index % 3,
                },
            }
        )
    return posts


@pytest.fixture
def measured(database: Database, owner: Owner) -> Owner:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, owner.workspace))
        channel = add_channel(
            session, access, network="mastodon", handle="brand", timezone="Europe/Paris"
        )
        insert_posts(session, channel, seeded_posts())
    return owner


def test_dashboard_draws_kpi_chart_formats_and_heatmap(
    page: Any, live_server: Any, measured: Owner, logged_in: Owner
) -> None:
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/w/{measured.workspace}/measure")
    assert page.locator("#kpi-table").is_visible()
    page.wait_for_selector(f"#kpi-chart{DRAWN}", timeout=20_000)
    # The sections loaded by htmx after the page, then drawn by measure.js.
    page.wait_for_selector(f"#formats-chart{DRAWN}", timeout=30_000)
    page.wait_for_selector(f"#best-times-chart{DRAWN}", timeout=30_000)
    heatmap_cells = page.locator("#best-times-chart svg .mark-rect path")
    assert heatmap_cells.count() >= 3  # one rect per weekday × hour cell with posts
    assert page.locator("#recommended-table tbody tr").count() >= 1
    assert page.locator("#formats-explanation li").count() >= 2
    assert page.locator("#formats-chart svg .mark-rule line, #formats-chart svg .mark-rule path")
    assert not problems, problems

    # Changing the grouping reloads the page with the new table and chart.
    page.select_option("select[name=by]", "weekday")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: "by=weekday" in url)
    page.wait_for_selector(f"#kpi-chart{DRAWN}", timeout=20_000)
    assert page.locator("#kpi-table tbody th", has_text="Monday").count() == 1
