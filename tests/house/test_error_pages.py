"""Error pages of a signed-in user: the whole page, in the app's layout, never a bare text.

The error rolls back the request's database session, which expires the user loaded by the
dependencies; the page must still render (web/errors.py).
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app

from .test_web_pages import _cheap_password_hashing, set_up  # noqa: F401 - fixture applies

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def owner_client(db_settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as client:
        set_up(client)
        yield client


@sqlite_only
@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/w/nope/", 404, "404 · Not found"),
        ("/w/nope/measure", 404, "404 · Not found"),
        ("/w/nope/links", 404, "404 · Not found"),
    ],
)
def test_error_pages_of_a_signed_in_user_keep_the_layout(
    owner_client: TestClient, path: str, status: int, title: str
) -> None:
    response = owner_client.get(path)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in response.text
    assert "/static/app.css" in response.text  # the app's layout, not the bare fallback
    assert "no workspace 'nope'" in html.unescape(response.text)
    # Still signed in, and the header says so (the user is loaded again for the page).
    assert 'href="/settings/account"' in response.text and "Log out" in response.text


@sqlite_only
def test_an_error_inside_a_workspace_keeps_its_navigation(owner_client: TestClient) -> None:
    response = owner_client.get("/w/acme/links/no-such-link")
    assert response.status_code == 404
    assert 'href="/settings/account"' in response.text
    assert 'href="/w/acme/"' in response.text  # the workspace's name links home


@sqlite_only
def test_error_messages_are_escaped(owner_client: TestClient) -> None:
    response = owner_client.get("/w/<script>alert(1)</script>/")
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.text


def test_a_500_carries_the_secure_headers_of_every_page(
    settings: Settings, sqlite_database: Database
) -> None:
    from fastapi import APIRouter

    app = create_app(settings, database=sqlite_database)
    router = APIRouter()

    @router.get("/_test/crash")
    def crash() -> None:
        raise RuntimeError("an unexpected failure")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/login")
        failure = client.get("/_test/crash")
    assert failure.status_code == 500
    assert "an unexpected failure" not in failure.text
    for name in (
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "permissions-policy",
        "cross-origin-opener-policy",
        "content-security-policy",
    ):
        assert failure.headers.get(name) == page.headers[name], name
