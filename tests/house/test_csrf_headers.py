"""CSRF cannot be skipped with a header (issue 7, item 1).

A request authenticated by the session cookie always needs the CSRF token; only a request
authenticated by a valid bearer token, with no cookie session used, is exempt. Every unsafe
route of the app (enumerated, so a new form is covered by itself) is tried with the session
cookie and an ``Authorization: Basic`` header (a browser adds it behind a proxy with HTTP
Basic auth), a junk ``Bearer`` header, a valid bearer token on a page, and another
session's CSRF token: each is refused and nothing is written.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from townsquare.db import Database

from .test_web_bad_input import concrete, owner_client, row_counts, unsafe_routes  # noqa: F401
from .test_web_pages import (  # noqa: F401 - the fixtures apply here too
    _cheap_password_hashing,
    client,
    csrf_token,
    log_in,
    post,
)

BASIC = {"Authorization": "Basic eDp5"}
JUNK_BEARER = {"Authorization": "Bearer tsq_000000000000_" + "a" * 43}


def _attempt(
    browser: TestClient, method: str, path: str, headers: dict[str, str], token: str | None
) -> tuple[int, str]:
    url = concrete(path)
    if path.startswith("/api/"):
        extra = {"X-CSRF-Token": token} if token else {}
        response = browser.request(method, url, json={}, headers={**headers, **extra})
    else:
        data = {"name": "x", "email": "x@y.z", "current": "x", "new": "y" * 12}
        if token:
            data["csrf_token"] = token
        response = browser.request(method, url, data=data, headers=headers)
    return response.status_code, response.text


def test_no_header_and_no_other_sessions_token_skips_csrf(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    # Something to change or delete on every route, so a missing check would show.
    post(owner_client, "/w/acme/channels", {"network": "mastodon", "handle": "@a@b.social"})
    issued = post(owner_client, "/settings/tokens", {"name": "t", "expires_in_days": "9"})
    bearer = re.search(r"(tsq_[A-Za-z0-9_\-]+)</pre>", issued.text)
    assert bearer
    valid_bearer = {"Authorization": f"Bearer {bearer.group(1)}"}
    # Another browser's session, with its own CSRF token.
    with TestClient(owner_client.app, follow_redirects=False) as other:
        log_in(other)
        others_token = csrf_token(other)
    assert others_token != csrf_token(owner_client)

    routes = unsafe_routes(owner_client.app)
    forms = [route for route in routes if not route[1].startswith("/api/")]
    assert ("POST", "/login") in forms and ("POST", "/settings/account/password") in forms
    assert len(forms) >= 15  # the app's forms, found by walking its routes
    before = row_counts(database)
    accepted = []
    for method, path in routes:
        cases: dict[str, tuple[dict[str, str], str | None]] = {
            "basic": (BASIC, None),
            "junk bearer": (JUNK_BEARER, None),
            "another session's token": ({}, others_token),
            "basic + another session's token": (BASIC, others_token),
        }
        if not path.startswith("/api/"):
            # Pages authenticate by the cookie only: even a valid token exempts nothing.
            cases["valid bearer on a page"] = (valid_bearer, None)
        for name, (headers, token) in cases.items():
            status, text = _attempt(owner_client, method, path, headers, token)
            refused = (status == 403 and "CSRF token" in text) or (
                # The API does not take a junk bearer token for the cookie: 401, not run.
                path.startswith("/api/") and name == "junk bearer" and status == 401
            )
            if not refused:
                accepted.append(f"{method} {path} with {name} → {status}")
    assert not accepted, "requests run without the CSRF token:\n" + "\n".join(accepted)
    assert row_counts(database) == before
    # Still logged in: no forged log-out went through.
    assert owner_client.get("/w/acme/").status_code == 200


def test_the_right_token_still_works_behind_a_basic_auth_proxy(
    owner_client: TestClient,  # noqa: F811
) -> None:
    # The browser keeps sending its Basic header: the cookie and the token decide.
    response = owner_client.post(
        "/workspaces",
        data={"name": "Beta", "slug": "beta", "csrf_token": csrf_token(owner_client)},
        headers=BASIC,
    )
    assert response.status_code == 303, response.text
    api = owner_client.post(
        "/api/v1/workspaces",
        json={"slug": "gamma", "name": "Gamma"},
        headers={**BASIC, "X-CSRF-Token": csrf_token(owner_client)},
    )
    assert api.status_code == 201, api.text
