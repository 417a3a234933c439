"""A real browser follows short links: the redirect lands, the click counts as human."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import ServerThread, make_settings, seed_workspace
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.links import service
from townsquare.links.models import Link, LinkClick
from townsquare.links.redirector import Redirector
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

pytestmark = pytest.mark.browser

LANDING = b"""<!doctype html><html><head><title>Landing</title></head>
<body><h1>You have landed</h1></body></html>"""


async def landing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The link's target: a plain page on another loopback port."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(LANDING))],
        }
    )
    await send({"type": "http.response.body", "body": LANDING})


@dataclass
class Links:
    database: Database
    settings: Settings
    redirector: Redirector
    url: str
    landing: str

    def create(self, slug: str, **options: Any) -> Link:
        with self.database.session() as session:
            access = WorkspaceAccess.operator(get_workspace(session, "acme"))
            return service.create_link(
                session,
                access,
                self.settings,
                target_url=self.landing + "/page",
                slug=slug,
                **options,
            )

    def clicks(self) -> list[LinkClick]:
        self.redirector.recorder.flush()
        with self.database.session() as session:
            return list(session.scalars(sa.select(LinkClick).order_by(LinkClick.id)))


@pytest.fixture
def links(database: Database, data_dir: Path) -> Iterator[Links]:
    seed_workspace(database)
    settings = make_settings(data_dir, database.url, links_host="go.example.com")
    redirector = Redirector(settings, database)
    with ServerThread(landing_app) as landing, ServerThread(redirector) as server:
        yield Links(database, settings, redirector, server.url, landing.url)


def test_browser_follows_a_short_link_and_counts_as_human(page: Any, links: Links) -> None:
    links.create("launch", utm={"utm_source": "flyer"})
    page.goto(links.url + "/launch")
    page.get_by_role("heading", name="You have landed").wait_for()
    assert page.url == links.landing + "/page?utm_source=flyer"
    [click] = links.clicks()
    assert click.is_bot is False
    assert click.device_class == "desktop"
    assert click.browser and "Chrome" in click.browser
    with links.database.session() as session:
        assert session.scalar(sa.select(Link.human_clicks).where(Link.slug == "launch")) == 1


def test_browser_unlocks_a_password_protected_link(page: Any, links: Links) -> None:
    links.create("private", password="let me in")
    page.goto(links.url + "/private")
    page.get_by_label("Password").fill("wrong guess")
    page.get_by_role("button", name="Open the link").click()
    page.get_by_role("alert").wait_for()
    assert "Wrong password. Check it and try again." in page.get_by_role("alert").inner_text()
    assert links.clicks() == []
    page.get_by_label("Password").fill("let me in")
    page.get_by_role("button", name="Open the link").click()
    page.get_by_role("heading", name="You have landed").wait_for()
    [click] = links.clicks()
    assert click.is_bot is False


def test_browser_sees_a_clear_page_for_unknown_links_in_its_language(
    browser: Any, links: Links
) -> None:
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        response = page.goto(links.url + "/nowhere")
        assert response is not None and response.status == 404
        page.get_by_role("heading", name="Lien introuvable").wait_for()
    finally:
        context.close()
