"""The house in a real browser (Debian's chromium through Playwright, real server).

A community manager's first minutes: the set-up page creates the owner, they log out and in,
create a workspace, add a channel and see it listed, remove it after confirming, and switch
the interface to French.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

EMAIL = "camille@acme.test"
PASSWORD = "correct horse battery"
# The whole first-visit flow runs on SQLite and PostgreSQL; checks of the page itself only
# on SQLite, to keep the suite fast.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def test_first_visit_to_channel_listed(live_server: Any, page: Page) -> None:
    base = live_server.url
    page.goto(base + "/")
    # A fresh installation shows the set-up page.
    expect(page).to_have_url(base + "/setup")
    expect(page.get_by_role("heading", name="Welcome to townsquare")).to_be_visible()
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Your name").fill("Camille")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # The owner is logged in and, with no workspace yet, lands on the workspaces page.
    expect(page).to_have_url(base + "/workspaces")
    expect(page.get_by_role("link", name="Camille")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(base + "/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong e-mail or password")
    log_in(page, base, EMAIL, PASSWORD)

    page.goto(base + "/workspaces")
    page.get_by_label("Name", exact=True).fill("Acme Coffee")
    page.get_by_label("Short name in addresses").fill("acme-coffee")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(base + "/w/acme-coffee/")
    expect(page.get_by_role("heading", name="Acme Coffee")).to_be_visible()

    # Every section is in the navigation; Publish opens its calendar.
    sections = page.get_by_role("list", name="Sections")
    for label in ("Listen", "Publish", "Measure", "Links", "Reports", "Settings"):
        expect(sections.get_by_role("link", name=label, exact=True)).to_be_visible()
    sections.get_by_role("link", name="Publish", exact=True).click()
    expect(page.get_by_role("heading", name="Publishing calendar")).to_be_visible()

    page.get_by_role("link", name="Settings", exact=True).first.click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Channels").click()
    expect(page).to_have_url(base + "/w/acme-coffee/channels")
    page.get_by_label("Network").select_option("mastodon")
    page.get_by_label("Handle").fill("@acme@mastodon.social")
    page.get_by_label("Display name").fill("Acme on Mastodon")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
    page.get_by_role("button", name="Add channel").click()

    row = page.locator("#channels tbody tr", has_text="@acme@mastodon.social")
    expect(row).to_contain_text("Mastodon")
    expect(row).to_contain_text("Acme on Mastodon")
    expect(row).to_contain_text("Europe/Paris")

    # A bad time zone is refused next to the field, with a suggestion.
    page.get_by_label("Network").select_option("bluesky")
    page.get_by_label("Handle").fill("acme.bsky.social")
    page.get_by_label("Time zone").fill("Europe/Pari")
    page.get_by_role("button", name="Add channel").click()
    error = page.locator("#f-timezone-error")
    expect(error).to_contain_text("did you mean Europe/Paris")
    expect(page.get_by_label("Time zone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#channels tbody tr")).to_have_count(1)

    # Removing asks first (app.js: the CSP forbids inline handlers).
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Remove @acme@mastodon.social").click()
    expect(row).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove @acme@mastodon.social").click()
    expect(page.locator("#channels tbody")).to_contain_text("No channel yet.")


@sqlite_only
def test_switch_to_french(live_server: Any, page: Page, logged_in: Any) -> None:
    base = live_server.url
    page.goto(base + "/w/acme/channels")
    expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
    # The picker submits on change (app.js) and comes back to the same page.
    page.get_by_label("Language").select_option("fr")
    expect(page).to_have_url(base + "/w/acme/channels")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Canaux", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Ajouter le canal")).to_be_visible()
    sections = page.get_by_role("list", name="Rubriques")
    for label in ("Écoute", "Publication", "Mesure", "Liens", "Rapports", "Paramètres"):
        expect(sections.get_by_role("link", name=label, exact=True)).to_be_visible()
    # The choice is the user's: it holds on other pages and after logging in again.
    page.get_by_role("button", name="Se déconnecter").click()
    page.context.clear_cookies()
    page.goto(base + "/login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    log_in(page, base, logged_in.email, logged_in.password)
    page.goto(base + "/w/acme/publish")
    expect(page.get_by_role("heading", name="Calendrier de publication")).to_be_visible()
    expect(page).to_have_title(re.compile("Calendrier de publication"))


@sqlite_only
def test_browser_language_is_the_default(live_server: Any, browser: Any, owner: Any) -> None:
    context = browser.new_context(locale="fr-FR")
    try:
        french = context.new_page()
        french.goto(live_server.url + "/login")
        expect(french.get_by_role("heading", name="Se connecter")).to_be_visible()
        expect(french.get_by_label("Mot de passe")).to_be_visible()
    finally:
        context.close()


@sqlite_only
def test_pages_run_without_script_errors(live_server: Any, page: Page, logged_in: Any) -> None:
    """No CSP violation or script error on any house page: they would silently break it."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    for path in (
        "/workspaces",
        "/w/acme/",
        "/w/acme/listen",
        "/w/acme/settings",
        "/w/acme/channels",
        "/w/acme/members",
        "/settings/account",
        "/settings/tokens",
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.htmx") == "object", path
    assert not problems, problems


@sqlite_only
def test_submitting_shows_progress(live_server: Any, page: Page, logged_in: Any) -> None:
    page.goto(live_server.url + "/w/acme/settings")
    # Hold the submission in the page (a listener after app.js's cancels it) to look at
    # the state app.js leaves while a request is on its way.
    page.evaluate("document.addEventListener('submit', (event) => event.preventDefault())")
    progress = page.locator("#progress")
    expect(progress).not_to_have_class(re.compile("busy"))
    button = page.get_by_role("button", name="Save")
    button.click()
    expect(progress).to_have_class(re.compile("busy"))
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_be_disabled()
    # htmx requests use the same bar.
    assert page.evaluate("document.body.getAttribute('hx-indicator')") == "#progress"


@sqlite_only
def test_htmx_errors_are_announced(live_server: Any, page: Page, logged_in: Any) -> None:
    page.goto(live_server.url + "/w/acme/")
    flash = page.locator("#flash")
    expect(flash).to_be_empty()
    # An htmx request that the server refuses: the message is shown, not silently dropped.
    page.evaluate("htmx.ajax('GET', '/api/v1/workspaces/nope/channels', {target: '#content'})")
    expect(flash).to_contain_text("nope")
    expect(flash).to_have_attribute("role", "alert")
    # The page itself was left as it was.
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
