"""The house's pages through real HTTP (TestClient on the real app and database).

Every page a community manager uses renders, in English and in French, and each form does
what it says: set-up creates the owner, log in/out, password change, language choice,
workspaces, members with each role, workspace settings, channels, API tokens shown once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app

OWNER = "owner@acme.test"
PASSWORD = "correct horse battery"


# For checks that do not depend on the database: run them on SQLite only, to stay fast.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Argon2id at its lowest cost: production cost (~0.1-0.7 s a hash on this machine)
    times the dozens of hashes of these tests would make them the slowest of the suite."""
    from argon2 import PasswordHasher

    from townsquare.workspaces import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def client(db_settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def csrf_token(client: TestClient) -> str:
    """The double-submit token: the cookie the app set, sent back in the form."""
    if "ts_csrf" not in client.cookies:
        client.get("/healthz")
        client.get("/login")
    return str(client.cookies["ts_csrf"])


def post(client: TestClient, path: str, data: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)  # type: ignore[arg-type]


def set_up(client: TestClient, workspace: str = "acme") -> None:
    response = post(
        client,
        "/setup",
        {
            "email": OWNER,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "display_name": "Olive Owner",
            "workspace_slug": workspace,
            "workspace_name": workspace.title(),
        },
    )
    assert response.status_code == 303, response.text


def log_in(client: TestClient, email: str = OWNER, password: str = PASSWORD) -> None:
    response = post(client, "/login", {"email": email, "password": password})
    assert response.status_code == 303, response.text


def count(database: Database, table: str) -> int:
    with database.session() as session:
        return int(session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def owner_client(client: TestClient) -> TestClient:
    set_up(client)
    return client


# --- set-up, log in, log out -------------------------------------------------------------


@sqlite_only
def test_fresh_install_sends_everyone_to_set_up(client: TestClient, database: Database) -> None:
    for path in ("/", "/login", "/w/acme/", "/workspaces"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] in (
            "/setup",
            "/login?next=/w/acme/",
            "/login?next=/workspaces",
        )
    page = client.get("/setup")
    assert page.status_code == 200
    assert "Welcome to townsquare" in page.text
    assert 'name="csrf_token"' in page.text


def test_set_up_creates_the_owner_and_logs_in(client: TestClient, database: Database) -> None:
    set_up(client)
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    assert "Acme" in home.text
    assert "Get started" in home.text and 'href="/w/acme/channels"' in home.text
    assert "workspace created acme" in home.text  # the activity, in words
    members = client.get("/w/acme/members")
    assert OWNER in members.text and "Owner" in members.text
    # The set-up page is gone once an owner exists.
    assert client.get("/setup").headers["location"] == "/login"
    with database.session() as session:
        admin = session.execute(sa.text("SELECT is_admin FROM users")).scalar_one()
    assert bool(admin)


def test_set_up_with_bad_slug_writes_nothing(client: TestClient, database: Database) -> None:
    response = post(
        client,
        "/setup",
        {
            "email": OWNER,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "workspace_slug": "Bad Slug!",
        },
    )
    assert response.status_code == 422
    assert "invalid workspace slug" in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(database, "users") == 0
    assert count(database, "workspaces") == 0


def test_log_out_ends_the_session(owner_client: TestClient, database: Database) -> None:
    assert owner_client.get("/w/acme/").status_code == 200
    response = post(owner_client, "/logout")
    assert response.status_code == 303
    assert owner_client.get("/w/acme/").status_code == 303
    assert count(database, "web_sessions") == 0


@sqlite_only
def test_next_parameter_only_goes_to_local_pages(owner_client: TestClient) -> None:
    post(owner_client, "/logout")
    response = post(
        owner_client, "/login", {"email": OWNER, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/"
    post(owner_client, "/logout")
    response = post(
        owner_client, "/login", {"email": OWNER, "password": PASSWORD, "next": "/w/acme/channels"}
    )
    assert response.headers["location"] == "/w/acme/channels"


# --- navigation ---------------------------------------------------------------------------


@sqlite_only
def test_navigation_shows_every_section(owner_client: TestClient) -> None:
    page = owner_client.get("/w/acme/").text
    for section in ("listen", "publish", "measure", "links", "reports", "settings"):
        assert f'href="/w/acme/{section}"' in page
    for label in ("Listen", "Publish", "Measure", "Links", "Reports", "Settings"):
        assert f">{label}</a>" in page


@sqlite_only
def test_every_section_is_built(owner_client: TestClient) -> None:
    page = owner_client.get("/w/acme/publish")
    assert page.status_code == 200
    assert "Not built yet." not in page.text
    assert 'href="/w/acme/publish" data-section="publish" aria-current="page"' in page.text


@sqlite_only
def test_pages_load_the_progress_indicator_and_script(owner_client: TestClient) -> None:
    page = owner_client.get("/w/acme/").text
    assert 'id="progress"' in page and 'hx-indicator="#progress"' in page
    assert '<script src="/static/app.js" defer></script>' in page
    assert owner_client.get("/static/app.js").status_code == 200
    # No inline script or handler: the CSP forbids them, they would silently not run.
    assert not re.search(r"\son(change|submit|click)=", page)


# --- workspaces, settings, members ------------------------------------------------------


def test_create_workspace_and_list_it(owner_client: TestClient) -> None:
    response = post(
        owner_client,
        "/workspaces",
        {"name": "Beta Bakery", "slug": "beta", "timezone": "Europe/Paris"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/w/beta/"
    listing = owner_client.get("/workspaces").text
    assert "Beta Bakery" in listing and "Acme" in listing
    assert 'list="timezones"' in listing and '<option value="Europe/Paris">' in listing


def test_workspace_settings_save(owner_client: TestClient) -> None:
    response = post(
        owner_client, "/w/acme/settings", {"name": "Acme Coffee", "timezone": "Europe/Paris"}
    )
    assert response.status_code == 303
    page = owner_client.get(response.headers["location"]).text
    assert "Saved." in page and 'value="Acme Coffee"' in page and 'value="Europe/Paris"' in page


@sqlite_only
def test_add_member_with_each_role(owner_client: TestClient) -> None:
    labels = {
        "owner": "Owner",
        "admin": "Administrator",
        "editor": "Editor",
        "contributor": "Contributor",
        "viewer": "Viewer",
    }
    for role, label in labels.items():
        email = f"{role}.member@acme.test"
        response = post(
            owner_client,
            "/w/acme/members",
            {"email": email, "role": role, "password": "a fine password", "display_name": role},
        )
        assert response.status_code == 303, response.text
        assert email in owner_client.get("/w/acme/members").text
        # The new member can log in and sees the workspace with that role.
        other = TestClient(owner_client.app, follow_redirects=False)
        log_in(other, email, "a fine password")
        listing = other.get("/workspaces").text
        assert "Acme" in listing
        assert f"<td>{label}</td>" in listing, role


@sqlite_only
def test_viewer_sees_no_management_forms(owner_client: TestClient) -> None:
    post(
        owner_client,
        "/w/acme/members",
        {"email": "client@acme.test", "role": "viewer", "password": "a fine password"},
    )
    viewer = TestClient(owner_client.app, follow_redirects=False)
    log_in(viewer, "client@acme.test", "a fine password")
    assert "Add a member" not in viewer.get("/w/acme/members").text
    assert "Add a channel" not in viewer.get("/w/acme/channels").text
    settings_page = viewer.get("/w/acme/settings").text
    assert "Only owners and administrators change these settings." in settings_page
    assert 'action="/w/acme/settings"' not in settings_page
    refused = post(viewer, "/w/acme/channels", {"network": "mastodon", "handle": "@x@y.social"})
    assert refused.status_code == 403
    assert "viewer" in refused.text


def test_change_member_role_and_remove(owner_client: TestClient) -> None:
    post(
        owner_client,
        "/w/acme/members",
        {"email": "ed@acme.test", "role": "editor", "password": "a fine password"},
    )
    page = owner_client.get("/w/acme/members").text
    user_id = re.search(r"/w/acme/members/(\d+)/role", page)
    assert user_id
    response = post(owner_client, f"/w/acme/members/{user_id.group(1)}/role", {"role": "viewer"})
    assert response.status_code == 303
    assert 'value="viewer" selected' in owner_client.get("/w/acme/members").text
    response = post(owner_client, f"/w/acme/members/{user_id.group(1)}/remove")
    assert response.status_code == 303
    members = owner_client.get("/w/acme/members").text.split('<table id="members">')[1]
    assert "ed@acme.test" not in members.split("</table>")[0]  # the notice above names them


# --- channels -----------------------------------------------------------------------------


def test_channels_add_list_delete(owner_client: TestClient, database: Database) -> None:
    page = owner_client.get("/w/acme/channels").text
    for network in ("mastodon", "bluesky", "facebook", "instagram"):
        assert f'<option value="{network}"' in page
    response = post(
        owner_client,
        "/w/acme/channels",
        {
            "network": "mastodon",
            "handle": "@acme@mastodon.social",
            "display_name": "Acme on Mastodon",
            "timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 303, response.text
    page = owner_client.get("/w/acme/channels").text
    assert "@acme@mastodon.social" in page and "Acme on Mastodon" in page and "Europe/Paris" in page
    channel_id = re.search(r"/w/acme/channels/(\d+)/delete", page)
    assert channel_id
    response = post(owner_client, f"/w/acme/channels/{channel_id.group(1)}/delete")
    assert response.status_code == 303
    assert count(database, "channels") == 0
    assert "No channel yet." in owner_client.get("/w/acme/channels").text


# --- account: password, tokens ------------------------------------------------------------


def test_change_password_keeps_this_browser_logged_in(owner_client: TestClient) -> None:
    response = post(
        owner_client,
        "/settings/account/password",
        {"current": PASSWORD, "new": "a brand new password", "confirm": "a brand new password"},
    )
    assert response.status_code == 303
    page = owner_client.get(response.headers["location"])
    assert page.status_code == 200 and "Password changed." in page.text
    post(owner_client, "/logout")
    log_in(owner_client, OWNER, "a brand new password")


@sqlite_only
def test_api_token_is_shown_once(owner_client: TestClient) -> None:
    response = post(
        owner_client,
        "/settings/tokens",
        {"name": "report script", "expires_in_days": "30", "workspace": "acme"},
    )
    assert response.status_code == 200
    token = re.search(r'<pre id="new-token" class="token-value">(tsq_[^<]+)</pre>', response.text)
    assert token, response.text
    plaintext = token.group(1)
    again = owner_client.get("/settings/tokens").text
    assert plaintext not in again
    assert "report script" in again and "acme" in again
    api = TestClient(owner_client.app)
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert me.status_code == 200 and me.json()["email"] == OWNER


def test_no_template_relies_on_inline_scripts() -> None:
    """The CSP (script-src 'self') blocks inline handlers and scripts: in any capability's
    template they would do nothing, silently. Behaviour belongs in a static .js file."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "src" / "townsquare"
    offenders = []
    for template in sorted(package.glob("*/templates/**/*.html")):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"\son[a-z]+\s*=|<script\b[^>]*>", text):
            tag = match.group(0)
            if tag.startswith("<script") and ("src=" in tag or 'type="application/json"' in tag):
                continue
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{template.relative_to(package)}:{line}: {tag.strip()}")
    assert not offenders, "\n".join(offenders)


class _FormControls(HTMLParser):
    """Collects form controls and what labels them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if values.get("for"):
                self.label_for.add(str(values["for"]))
        elif tag in ("input", "select", "textarea"):
            if values.get("type") in ("hidden", "submit", "button"):
                return
            self.controls.append({**values, "_wrapped": "1" if self.label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)


@sqlite_only
def test_every_form_control_has_a_label(owner_client: TestClient) -> None:
    post(owner_client, "/w/acme/channels", {"network": "mastodon", "handle": "@a@b.social"})
    post(
        owner_client,
        "/w/acme/members",
        {"email": "ed@acme.test", "role": "editor", "password": "a fine password"},
    )
    unlabelled = []
    for path in (
        "/workspaces",
        "/w/acme/",
        "/w/acme/settings",
        "/w/acme/channels",
        "/w/acme/members",
        "/settings/account",
        "/settings/tokens",
    ):
        parser = _FormControls()
        parser.feed(owner_client.get(path).text)
        assert parser.controls or path == "/w/acme/", path
        for control in parser.controls:
            labelled = (
                control.get("_wrapped")
                or control.get("aria-label")
                or (control.get("id") and control["id"] in parser.label_for)
            )
            if not labelled:
                unlabelled.append(f"{path}: {control.get('name')}")
    post(owner_client, "/logout")
    for path in ("/login",):
        parser = _FormControls()
        parser.feed(owner_client.get(path).text)
        unlabelled += [
            f"{path}: {c.get('name')}"
            for c in parser.controls
            if not (c.get("_wrapped") or (c.get("id") and c["id"] in parser.label_for))
        ]
    assert not unlabelled, unlabelled
