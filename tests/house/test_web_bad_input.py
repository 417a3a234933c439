"""Bad input on the web, through real HTTP on the real app and database (SQLite and
PostgreSQL): each gets a clear message naming what is wrong, the right status code, and
nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app

from .test_web_pages import (  # noqa: F401 - the fixture applies here too
    OWNER,
    PASSWORD,
    _cheap_password_hashing,
    csrf_token,
    log_in,
    post,
    set_up,
)

# For checks that do not depend on the database: run them on SQLite only, to stay fast.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def client(db_settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def owner_client(client: TestClient) -> TestClient:
    set_up(client)
    return client


def row_counts(database: Database) -> dict[str, int]:
    """Rows in every table: equal before and after means nothing was written."""
    with database.session() as session:
        names = sa.inspect(session.get_bind()).get_table_names()
        return {
            name: int(session.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in names
            if name != "alembic_version"
        }


def other_client(client: TestClient) -> TestClient:
    return TestClient(client.app, follow_redirects=False)


# --- logging in ---------------------------------------------------------------------------


def test_wrong_password(owner_client: TestClient, database: Database) -> None:
    post(owner_client, "/logout")
    before = row_counts(database)
    response = post(owner_client, "/login", {"email": OWNER, "password": "not my password"})
    assert response.status_code == 401
    assert "wrong e-mail or password" in response.text
    assert 'aria-invalid="true"' in response.text  # the password field is marked
    assert f'value="{OWNER}"' in response.text  # the e-mail is kept
    assert "ts_session" not in response.cookies
    after = row_counts(database)
    assert after["web_sessions"] == before["web_sessions"]
    # Only the failed attempt is counted (that is what rate limiting counts): against
    # the e-mail and the client, nothing else is written.
    assert {k: v for k, v in after.items() if k != "rate_limits"} == {
        k: v for k, v in before.items() if k != "rate_limits"
    }
    with database.session() as session:
        hits = dict(session.execute(sa.text("SELECT key, hits FROM rate_limits")).all())
    assert sorted(key.split(":")[1] for key, count in hits.items() if count == 1) == [
        "client",
        "email",
    ]
    assert owner_client.get("/w/acme/").status_code == 303


@sqlite_only
def test_unknown_email_gets_the_same_answer(owner_client: TestClient) -> None:
    post(owner_client, "/logout")
    response = post(owner_client, "/login", {"email": "nobody@acme.test", "password": PASSWORD})
    assert response.status_code == 401
    assert "wrong e-mail or password" in response.text


def test_login_rate_limited_after_five_failures(
    owner_client: TestClient, database: Database
) -> None:
    post(owner_client, "/logout")
    for _ in range(5):
        response = post(owner_client, "/login", {"email": OWNER, "password": "guess guess"})
        assert response.status_code == 401
    sessions_before = row_counts(database)["web_sessions"]
    # Even the right password is refused while the limit holds.
    response = post(owner_client, "/login", {"email": OWNER, "password": PASSWORD})
    assert response.status_code == 429
    assert re.search(r"Too many failed logins: try again in \d+ minutes", response.text)
    assert int(response.headers["retry-after"]) > 0
    assert row_counts(database)["web_sessions"] == sessions_before
    # In French too.
    response = post(
        owner_client,
        "/login",
        {"email": OWNER, "password": PASSWORD},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 429 and "Se connecter" in response.text
    assert re.search(
        r"Trop de tentatives de connexion échouées : réessayez dans \d+ minutes", response.text
    )


def test_session_ends_everywhere_on_password_change(
    owner_client: TestClient, database: Database
) -> None:
    laptop = owner_client
    phone = other_client(laptop)
    log_in(phone)
    assert phone.get("/w/acme/").status_code == 200
    response = post(
        laptop,
        "/settings/account/password",
        {"current": PASSWORD, "new": "a new long password", "confirm": "a new long password"},
    )
    assert response.status_code == 303
    # The other browser is logged out; the one that changed it keeps a fresh session.
    assert phone.get("/w/acme/").status_code == 303
    assert phone.get("/w/acme/").headers["location"].startswith("/login")
    assert laptop.get("/w/acme/").status_code == 200
    # The old password no longer opens a session.
    response = post(phone, "/login", {"email": OWNER, "password": PASSWORD})
    assert response.status_code == 401


PASSWORD_CHANGE_REFUSALS = [
    (
        {"current": "wrong one!!", "new": "a new long password", "confirm": "a new long password"},
        401,
        "current password is wrong",
        "current",
    ),
    ({"current": PASSWORD, "new": "short", "confirm": "short"}, 422, "password too short", "new"),
    (
        {"current": PASSWORD, "new": "a new long password", "confirm": "another long one"},
        422,
        "the two new passwords differ",
        "confirm",
    ),
]


@sqlite_only
def test_password_change_refused(owner_client: TestClient, database: Database) -> None:
    before = row_counts(database)
    for form, status, message, field in PASSWORD_CHANGE_REFUSALS:
        response = post(owner_client, "/settings/account/password", form)
        assert response.status_code == status, message
        assert message in response.text
        assert f'id="f-{field}-error"' in response.text
    # Nothing written but the attempt counters (a wrong current password is counted).
    after = row_counts(database)
    assert after.pop("rate_limits") <= 2
    assert after == {k: v for k, v in before.items() if k != "rate_limits"}
    post(owner_client, "/logout")
    log_in(owner_client)  # the password is unchanged


# --- CSRF ---------------------------------------------------------------------------------


def _walk(routes: list[Any]) -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # an included router (FastAPI ≥ 0.16x)
            yield from _walk(route.effective_candidates())
        elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a plain router
            yield from _walk(route.routes)
        else:
            original = getattr(route, "original_route", route)
            path = getattr(route, "path", "") or getattr(original, "path", "")
            methods = set(getattr(original, "methods", None) or ())
            if path:
                yield path, methods


# Public routes with no session behind them, so nothing for a forged request to ride on:
# the short-link password form (links/redirector.py) unlocks one link for whoever knows it.
PUBLIC_UNSAFE_ROUTES = {("POST", "/{slug}")}


def unsafe_routes(app: Any) -> list[tuple[str, str]]:
    found = {
        (method, path)
        for path, methods in _walk(app.routes)
        for method in methods - {"GET", "HEAD", "OPTIONS"}
    } - PUBLIC_UNSAFE_ROUTES
    return sorted(found, key=lambda item: (item[1], item[0]))


def concrete(path: str) -> str:
    """A real address for a route template: our workspace, id 1 for the rest."""
    path = path.replace("{slug}", "acme").replace("{workspace}", "acme")
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_form_and_cookie_api_route_needs_the_csrf_token(
    owner_client: TestClient, database: Database
) -> None:
    # Something to delete or change on every route, so a missing check would show.
    post(owner_client, "/w/acme/channels", {"network": "mastodon", "handle": "@a@b.social"})
    post(owner_client, "/settings/tokens", {"name": "t", "expires_in_days": "9"})
    routes = unsafe_routes(owner_client.app)
    assert ("POST", "/w/{slug}/channels") in routes and ("POST", "/login") in routes
    before = row_counts(database)
    unprotected = []
    for method, path in routes:
        url = concrete(path)
        if path.startswith("/api/"):
            # The browser's session cookie, without the X-CSRF-Token header.
            response = owner_client.request(method, url, json={})
        else:
            response = owner_client.request(method, url, data={"name": "x", "email": "x@y.z"})
        if response.status_code != 403 or "CSRF token" not in response.text:
            unprotected.append(f"{method} {path} → {response.status_code}")
    assert not unprotected, "routes that accept a request without the CSRF token:\n" + "\n".join(
        unprotected
    )
    assert row_counts(database) == before


@sqlite_only
def test_csrf_refusal_is_a_clear_page(owner_client: TestClient, database: Database) -> None:
    before = row_counts(database)
    response = owner_client.post("/workspaces", data={"name": "Beta", "slug": "beta"})
    assert response.status_code == 403
    assert "missing or invalid CSRF token: reload the page and submit the form again" in (
        response.text
    )
    assert "<h1>403" in response.text
    # A token from another browser does not count either.
    response = owner_client.post(
        "/workspaces", data={"name": "Beta", "slug": "beta", "csrf_token": "forged" * 8}
    )
    assert response.status_code == 403
    assert row_counts(database) == before


@sqlite_only
def test_api_with_a_bearer_token_needs_no_csrf(owner_client: TestClient) -> None:
    response = post(owner_client, "/settings/tokens", {"name": "script", "expires_in_days": ""})
    token = re.search(r"(tsq_[A-Za-z0-9_\-]+)</pre>", response.text)
    assert token
    api = TestClient(owner_client.app)
    response = api.post(
        "/api/v1/workspaces",
        json={"slug": "beta", "name": "Beta"},
        headers={"Authorization": f"Bearer {token.group(1)}"},
    )
    assert response.status_code == 201, response.text


@sqlite_only
def test_cookie_api_call_with_the_csrf_header(owner_client: TestClient) -> None:
    response = owner_client.post(
        "/api/v1/workspaces",
        json={"slug": "gamma", "name": "Gamma"},
        headers={"X-CSRF-Token": csrf_token(owner_client)},
    )
    assert response.status_code == 201, response.text


# --- workspaces and channels --------------------------------------------------------------


def test_duplicate_workspace_slug(owner_client: TestClient, database: Database) -> None:
    before = row_counts(database)
    response = post(owner_client, "/workspaces", {"name": "Acme again", "slug": "acme"})
    assert response.status_code == 409
    assert "workspace slug &#39;acme&#39; is already taken: choose another slug" in response.text
    assert 'id="f-slug-error"' in response.text
    assert 'value="Acme again"' in response.text  # what was typed is kept
    assert row_counts(database) == before


@sqlite_only
def test_invalid_workspace_slug(owner_client: TestClient, database: Database) -> None:
    before = row_counts(database)
    for slug in ("Acme Coffee", "-acme", "acme_coffee", "é", ""):
        response = post(owner_client, "/workspaces", {"name": "X", "slug": slug})
        assert response.status_code == 422, slug
        assert "invalid workspace slug" in response.text and "acme-coffee" in response.text
    assert row_counts(database) == before


def test_unknown_time_zone_suggests_the_right_one(
    owner_client: TestClient, database: Database
) -> None:
    before = row_counts(database)
    response = post(
        owner_client, "/workspaces", {"name": "Beta", "slug": "beta", "timezone": "Europe/Pari"}
    )
    assert response.status_code == 422
    assert "unknown time zone &#39;Europe/Pari&#39;" in response.text
    assert "did you mean Europe/Paris" in response.text
    assert 'id="f-timezone-error"' in response.text
    response = post(
        owner_client,
        "/w/acme/channels",
        {"network": "mastodon", "handle": "@acme@mastodon.social", "timezone": "Paris"},
    )
    assert response.status_code == 422
    assert "unknown time zone" in response.text and "Europe/Paris" in response.text
    response = post(owner_client, "/w/acme/settings", {"name": "Acme", "timezone": "Mars/Olympus"})
    assert response.status_code == 422 and "unknown time zone" in response.text
    assert row_counts(database) == before


def test_bad_network_name(owner_client: TestClient, database: Database) -> None:
    before = row_counts(database)
    response = post(
        owner_client, "/w/acme/channels", {"network": "mastodn", "handle": "@acme@mastodon.social"}
    )
    assert response.status_code == 422
    assert "unknown network &#39;mastodn&#39; (did you mean mastodon?)" in response.text
    assert "choose one of mastodon, bluesky" in response.text
    assert 'id="f-network-error"' in response.text
    assert row_counts(database) == before


def test_duplicate_channel(owner_client: TestClient, database: Database) -> None:
    form = {"network": "mastodon", "handle": "@acme@mastodon.social"}
    assert post(owner_client, "/w/acme/channels", form).status_code == 303
    before = row_counts(database)
    response = post(owner_client, "/w/acme/channels", form)
    assert response.status_code == 409
    assert "@acme@mastodon.social" in response.text
    assert row_counts(database) == before


@sqlite_only
def test_member_with_unknown_role_or_short_password(
    owner_client: TestClient, database: Database
) -> None:
    before = row_counts(database)
    response = post(
        owner_client,
        "/w/acme/members",
        {"email": "new@acme.test", "role": "boss", "password": "a fine password"},
    )
    assert response.status_code == 422
    assert "unknown role &#39;boss&#39;: choose one of viewer, contributor, editor" in response.text
    response = post(
        owner_client,
        "/w/acme/members",
        {"email": "new@acme.test", "role": "editor", "password": "short"},
    )
    assert response.status_code == 422 and "password too short" in response.text
    response = post(owner_client, "/w/acme/members", {"email": "not an address", "role": "editor"})
    assert response.status_code == 422 and "invalid e-mail address" in response.text
    assert row_counts(database) == before


def test_other_workspace_is_not_found(owner_client: TestClient, database: Database) -> None:
    post(owner_client, "/workspaces", {"name": "Beta", "slug": "beta"})
    post(
        owner_client,
        "/w/acme/members",
        {"email": "ed@acme.test", "role": "editor", "password": "a fine password"},
    )
    editor = other_client(owner_client)
    log_in(editor, "ed@acme.test", "a fine password")
    for path in ("/w/beta/", "/w/beta/channels", "/w/beta/members", "/w/beta/settings"):
        assert editor.get(path).status_code == 404
    before = row_counts(database)
    response = post(editor, "/w/beta/channels", {"network": "mastodon", "handle": "@x@y.social"})
    assert response.status_code == 404
    assert row_counts(database) == before


@sqlite_only
def test_set_up_cannot_run_twice(owner_client: TestClient, database: Database) -> None:
    before = row_counts(database)
    response = post(
        other_client(owner_client),
        "/setup",
        {"email": "intruder@evil.test", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert row_counts(database) == before


# --- headers and cookies -------------------------------------------------------------------


@sqlite_only
def test_secure_headers(owner_client: TestClient) -> None:
    for path in ("/login", "/w/acme/channels", "/api/v1/me", "/static/app.css", "/no/such/page"):
        headers = owner_client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, path
        assert "object-src 'none'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] in (
            "same-origin",
            "strict-origin-when-cross-origin",
            "no-referrer",
        ), path
    # A page showing a new API token must not be cached.
    response = post(owner_client, "/settings/tokens", {"name": "cache check"})
    assert response.headers["cache-control"] == "no-store"


@sqlite_only
def test_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    client.get("/setup")
    response = post(
        client,
        "/setup",
        {"email": OWNER, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("ts_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite")


@sqlite_only
def test_behind_https_cookies_are_secure_and_hsts_is_sent(
    database: Database, data_dir: Any
) -> None:
    from tests.conftest import make_settings

    app = create_app(make_settings(data_dir, database.url, secure_cookies=True), database=database)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/setup")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "Secure" in page.headers["set-cookie"]
        response = post(
            client, "/setup", {"email": OWNER, "password": PASSWORD, "password_confirm": PASSWORD}
        )
        session_cookie = next(
            value
            for name, value in response.headers.multi_items()
            if name == "set-cookie" and value.startswith("ts_session=")
        )
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
