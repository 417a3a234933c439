"""Links' pages in a real browser (Debian chromium through Playwright).

A community manager creates a short link from the page while the UTM builder shows the
final URL as they type, lands on the link's page, and sees its QR code and click chart.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures used by name)
    browser_context_args,
    browser_type_launch_args,
    logged_in,
    owner,
)
from tests.conftest import ServerThread
from tests.links.conftest import add_click
from townsquare.db import Database
from townsquare.links import service
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]


@pytest.mark.usefixtures("logged_in")
def test_create_link_with_live_utm_builder(
    page: Any, live_server: ServerThread, database: Database
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/w/acme/links")
    form = page.locator("#create-link")
    form.get_by_label("Target URL").fill("https://shop.example/item?id=7")
    form.get_by_label("utm_source").fill("mastodon")
    form.get_by_label("utm_campaign").fill("spring sale")
    final = page.locator("#final-url-value")
    final.wait_for()
    page.wait_for_function(
        "document.querySelector('#final-url-value').textContent.includes('utm_campaign')"
    )
    assert final.text_content() == (
        "https://shop.example/item?id=7&utm_source=mastodon&utm_campaign=spring%20sale"
    )
    # A refused target is explained while typing, before anything is sent.
    form.get_by_label("Target URL").fill("javascript:alert(1)")
    page.locator("#final-url-problem").wait_for()
    assert "only http:// and https://" in page.locator("#final-url-problem").text_content()

    form.get_by_label("Target URL").fill("https://shop.example/item?id=7")
    form.locator("input[name=slug]").fill("Item7")
    form.get_by_role("button", name="Create short link").click()
    page.wait_for_url("**/w/acme/links/item7")
    assert page.locator("#short-url").text_content().endswith("/item7")
    assert "utm_source=mastodon" in page.locator("#target-url").text_content()
    # The QR preview is a real image the browser could decode.
    page.wait_for_function(
        "document.querySelector('#qr-preview').complete "
        "&& document.querySelector('#qr-preview').naturalWidth > 0"
    )

    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        link = service.get_link(session, access, "item7")
        add_click(session, link.id, access.workspace_id, day=date(2026, 5, 1))
        add_click(session, link.id, access.workspace_id, day=date(2026, 5, 2), is_bot=True)
        session.commit()
    page.reload()
    page.wait_for_selector("#clicks-chart[data-state=drawn] svg")
    assert page.locator("#human-clicks").text_content() == "1"
    assert page.locator("#bot-clicks").text_content() == "1"
    assert errors == []
