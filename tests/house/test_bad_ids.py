"""Ids past 2⁶³ are bad input, never an overflow (issue 7, crashes on bad input).

Every route with an id in its path (found by walking the app, so new ones are covered) and
the id fields of forms and JSON bodies answer a clear 422 naming the parameter, and
nothing is written, on SQLite (whose driver overflowed) and PostgreSQL.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from townsquare.db import Database

from .test_web_bad_input import _walk, row_counts
from .test_web_pages import (  # noqa: F401 - the fixtures apply here too
    _cheap_password_hashing,
    client,
    csrf_token,
    log_in,
    owner_client,
    post,
)

HUGE = str(2**64)


def _id_routes(app: object) -> list[tuple[str, str]]:
    found = {
        (method, path)
        for path, methods in _walk(app.routes)  # type: ignore[attr-defined]
        if re.search(r"\{\w+_id\}", path)
        for method in methods - {"HEAD", "OPTIONS"}
    }
    return sorted(found, key=lambda item: (item[1], item[0]))


def _seed_token(owner_client: TestClient) -> str:  # noqa: F811
    response = post(owner_client, "/settings/tokens", {"name": "ids", "expires_in_days": ""})
    token = re.search(r"(tsq_[A-Za-z0-9_\-]+)</pre>", response.text)
    assert token
    return token.group(1)


def test_every_id_in_a_path_is_bounded(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    token = _seed_token(owner_client)
    routes = _id_routes(owner_client.app)
    assert len([r for r in routes if r[1].startswith("/api/")]) >= 6
    assert len([r for r in routes if not r[1].startswith("/api/")]) >= 4
    before = row_counts(database)
    crashes = []
    for method, path in routes:
        url = re.sub(r"\{\w+_id\}", HUGE, path)
        url = url.replace("{slug}", "acme").replace("{workspace}", "acme")
        if path.startswith("/api/"):
            response = owner_client.request(
                method, url, json={"role": "editor"}, headers={"Authorization": f"Bearer {token}"}
            )
        else:
            response = owner_client.request(
                method, url, data={"csrf_token": csrf_token(owner_client), "role": "editor"}
            )
        if response.status_code != 422 or (
            "2⁶³" not in response.text and "less than" not in (response.text)
        ):
            crashes.append(f"{method} {path} → {response.status_code} {response.text[:120]}")
    assert not crashes, "ids past 2⁶³ not refused clearly:\n" + "\n".join(crashes)
    assert row_counts(database) == before


def test_id_fields_of_bodies_and_forms_are_bounded(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    token = _seed_token(owner_client)
    before = row_counts(database)
    api = owner_client.post(
        "/api/v1/workspaces/acme/links",
        json={"target_url": "https://example.com/", "post_id": 2**64},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422, api.text
    assert api.json()["error"]["field"] == "post_id"
    form = post(
        owner_client, "/w/acme/links", {"target_url": "https://example.com/", "post_id": HUGE}
    )
    assert form.status_code == 422, form.text
    assert "invalid post" in form.text
    assert row_counts(database) == before
