"""Readable on a phone: at 390×844 no page scrolls sideways, the header collapses into a
menu, and wide tables scroll inside their own box with their first column kept in view.

Measured as the issue says: ``document.documentElement.scrollWidth <= innerWidth`` on every
page a community manager uses, with real data in it (posts, a link with a long target and
clicks), in English and in French (French words are longer).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import Owner
from tests.browser.test_measure_browser import seeded_posts
from tests.conftest import ServerThread
from tests.links.conftest import add_click
from tests.measure.conftest import insert_posts
from townsquare.channels.service import add_channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.links import service as links
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

PHONE = {"width": 390, "height": 844}
LONG_TARGET = (
    "https://shop.example/collections/printemps-2026/robe-longue-en-lin-lavé?"
    "utm_source=mastodon&utm_medium=social&utm_campaign=lancement-printemps"
)
PAGES = [
    "/w/acme/",
    "/w/acme/measure",
    "/w/acme/measure/formats",
    "/w/acme/measure/best-times",
    "/w/acme/measure/glossary",
    "/w/acme/measure/import",
    "/w/acme/links",
    "/w/acme/links/spring",
    "/w/acme/link-stats",
    "/w/acme/publish",
    "/w/acme/publish?view=week",
    "/w/acme/publish?view=list",
    "/w/acme/publish/new",
    "/w/acme/publish/attention",
    "/w/acme/publish/settings",
    "/w/acme/channels",
    "/w/acme/members",
    "/w/acme/settings",
    "/settings/tokens",
    "/settings/account",
    "/workspaces",
]
WIDTHS = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture
def filled(database: Database, db_settings: Settings, owner: Owner) -> Owner:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, owner.workspace))
        channel = add_channel(
            session, access, network="mastodon", handle="brand", timezone="Europe/Paris"
        )
        insert_posts(session, channel, seeded_posts())
        link = links.create_link(
            session, access, db_settings, target_url=LONG_TARGET, slug="spring", tags=["printemps"]
        )
        for day in (1, 2, 3, 15, 28):
            add_click(session, link.id, access.workspace_id, day=date(2026, 5, day))
        link.human_clicks = 5  # what the click writer adds with the rows
        session.commit()
    return owner


def _settle(page: Any) -> None:
    """Wait for htmx sections and charts, which change the page's width once drawn."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "!document.querySelector('main [aria-busy=true]') && Array.from(document"
        ".querySelectorAll('.vega-chart')).every((chart) => chart.dataset.state === 'drawn')",
        timeout=30_000,
    )


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_page_scrolls_sideways_on_a_phone(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner, language: str
) -> None:
    if language == "fr":
        page.goto(f"{live_server.url}/w/acme/")
        page.select_option("#language-picker", "fr")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "fr"
    page.set_viewport_size(PHONE)
    wide = {}
    for path in PAGES:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        _settle(page)
        scroll_width, inner_width = page.evaluate(WIDTHS)
        if scroll_width > inner_width:
            wide[path] = scroll_width
    assert wide == {}, f"pages wider than {PHONE['width']} px: {wide}"


def test_header_collapses_into_a_menu_on_a_phone(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/w/acme/links")
    sections = page.locator("nav .sections")
    menu = page.locator("#menu-toggle")
    assert menu.is_visible()
    assert not sections.is_visible()
    menu.click()
    settings_link = page.locator("nav .sections a[data-section=settings]")
    assert settings_link.is_visible()
    box = settings_link.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert page.locator("#language-picker").is_visible()
    picker = page.locator("#language-picker").bounding_box()
    assert picker is not None and picker["x"] + picker["width"] <= PHONE["width"]
    settings_link.click()
    page.wait_for_url("**/w/acme/settings")

    # On a laptop the sections are in the header, no menu to open.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/w/acme/links")
    assert page.locator("nav .sections a[data-section=links]").is_visible()
    assert not menu.is_visible()


def test_links_table_shows_target_and_clicks_on_a_phone(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/w/acme/links")
    row = page.locator("table tr", has_text="spring")
    target = row.locator("td.target")
    box = target.bounding_box()
    assert box is not None and box["width"] >= 120, box
    assert box["x"] + box["width"] <= PHONE["width"]
    assert "shop.example" in target.inner_text()
    clicks = row.locator("td.clicks")
    assert clicks.inner_text().strip() == "5"
    clicks_box = clicks.bounding_box()
    assert clicks_box is not None and clicks_box["x"] + clicks_box["width"] <= PHONE["width"]


def test_wide_kpi_table_scrolls_in_its_box_with_a_sticky_first_column(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/w/acme/measure")
    _settle(page)
    table = page.locator("table#kpi-table")
    scroller = page.locator(".table-scroll[data-table=kpi-table]")
    assert scroller.evaluate("(box) => box.scrollWidth > box.clientWidth")
    first_cell = table.locator("tbody tr").first.locator("th, td").first
    before = first_cell.bounding_box()
    scroller.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
    after = first_cell.bounding_box()
    assert before is not None and after is not None
    assert abs(after["x"] - before["x"]) < 1, (before, after)


def _overlapping(boxes: list[dict[str, float]]) -> list[tuple[int, int]]:
    pairs = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[i + 1 :], i + 1):
            if (
                a["x"] < b["x"] + b["width"] - 0.5
                and b["x"] < a["x"] + a["width"] - 0.5
                and a["y"] < b["y"] + b["height"] - 0.5
                and b["y"] < a["y"] + a["height"] - 0.5
            ):
                pairs.append((i, j))
    return pairs


def test_heatmap_hour_labels_do_not_collide_on_a_phone(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/w/acme/measure/best-times")
    page.wait_for_selector("#best-times-chart[data-state=drawn] svg", timeout=30_000)
    labels = page.locator("#best-times-chart .role-axis-label text")
    boxes = [box for box in (label.bounding_box() for label in labels.all()) if box]
    assert len(boxes) >= 8  # hours and weekdays are labelled
    assert _overlapping(boxes) == []
    chart = page.locator("#best-times-chart svg.marks").bounding_box()
    assert chart is not None and chart["x"] + chart["width"] <= PHONE["width"]


def test_one_day_of_clicks_is_a_narrow_bar_with_readable_dates(
    page: Any,
    live_server: ServerThread,
    filled: Owner,
    logged_in: Owner,
    database: Database,
    db_settings: Settings,
) -> None:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        once = links.create_link(session, access, db_settings, target_url="https://a.example/one")
        add_click(session, once.id, access.workspace_id, day=date(2026, 5, 4))
        add_click(session, once.id, access.workspace_id, day=date(2026, 5, 4), visitor="v2")
        session.commit()
        slug = once.slug
    page.goto(f"{live_server.url}/w/acme/links/{slug}")
    page.wait_for_selector("#clicks-chart[data-state=drawn] svg", timeout=30_000)
    chart = page.locator("#clicks-chart svg.marks").bounding_box()
    bars = [
        box
        for box in (
            bar.bounding_box() for bar in page.locator("#clicks-chart .mark-rect path").all()
        )
        if box and box["width"] > 0
    ]
    assert bars and chart is not None
    assert max(bar["width"] for bar in bars) < chart["width"] / 8, (bars, chart)
    labels = page.locator("#clicks-chart .role-axis-label text").all_text_contents()
    assert any("May" in label for label in labels), labels  # dates, not 2026-05-04T00:00
    y_labels = [
        box
        for box in (
            label.bounding_box()
            for label in page.locator("#clicks-chart .role-axis-label text").all()
        )
        if box
    ]
    assert _overlapping(y_labels) == []


def test_kpi_chooser_keeps_the_reader_choice(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    page.goto(f"{live_server.url}/w/acme/measure")
    _settle(page)
    shown = page.locator("table#kpi-table th[scope=colgroup][data-kpi=engagement_rate_by_reach]")
    extra = page.locator("table#kpi-table th[scope=colgroup][data-kpi=conversation_rate]")
    assert shown.is_visible() and not extra.is_visible()
    chooser = page.locator(".kpi-chooser[data-table=kpi-table]")
    chooser.locator("summary").click()
    chooser.locator("input[data-kpi=conversation_rate]").check()
    assert extra.is_visible()
    page.reload()
    _settle(page)
    assert extra.is_visible()
    assert page.locator(
        "table#paid-table th[scope=colgroup][data-kpi=conversation_rate]"
    ).is_visible()
    chooser.locator("summary").click()
    chooser.locator("[data-kpi-reset]").click()
    assert not extra.is_visible() and shown.is_visible()


def test_copy_buttons_copy_the_short_link_and_the_token(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/w/acme/links/spring")
    button = page.locator("#copy-short-url")
    button.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith("/spring") and copied.startswith("http")
    assert button.inner_text() == "Copied"

    page.goto(f"{live_server.url}/settings/tokens")
    page.get_by_label("Name").fill("deploy")
    page.locator("form[action='/settings/tokens'] button[type=submit]").click()
    page.wait_for_selector("#new-token")
    page.locator("#copy-token").click()
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == page.locator("#new-token").inner_text().strip()
    )


def test_import_preview_fits_a_phone(
    page: Any, live_server: ServerThread, filled: Owner, logged_in: Owner
) -> None:
    """The wizard's preview shows the 19 columns of the UCI file: in its own scroll box."""
    from tests.conftest import data_file

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/w/acme/measure/import")
    form = page.locator("#import-upload")
    form.locator("input[name=file]").set_input_files(str(data_file("dataset_Facebook.csv")))
    form.locator("select[name=preset]").select_option("uci-facebook-metrics")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/measure/import**")
    page.wait_for_selector("#import-confirm")  # step 2: the preview of the rows
    _settle(page)
    scroll_width, inner_width = page.evaluate(WIDTHS)
    assert scroll_width <= inner_width
    assert page.locator("main .table-scroll").count() >= 1
