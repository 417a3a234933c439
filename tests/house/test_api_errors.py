"""Errors of the REST API: one JSON shape, the right status, nothing written.

Every error answers ``{"error": {"type", "message", "field", "problems", "message_id",
"params"}}`` (the message in English; its gettext template and values to translate it); the status
comes from the error's class (web/errors.py), the same classes the CLI maps to exit codes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import APIRouter

from tests.conftest import Seed, ServerThread
from townsquare import errors
from townsquare.config import Settings
from townsquare.db import Base, Database
from townsquare.db.base import utcnow
from townsquare.web.app import create_app
from townsquare.workspaces import service, tokens
from townsquare.workspaces.models import ApiToken

KEYS = {"type", "message", "field", "problems", "message_id", "params"}


def _error(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == KEYS, body
    assert body["error"]["type"] == kind, body
    assert body["error"]["message"], body
    return dict(body["error"])


def _rows(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            t.name: int(session.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
            if t.name not in ("audit_events",)
        }


def test_bad_input_through_real_routes(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    before = _rows(database)
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        slug = _error(
            client.post("/api/v1/workspaces", json={"slug": "Bad Slug"}), 422, "validation_error"
        )
        assert slug["field"] == "slug" and "lower-case" in slug["message"]
        duplicate = _error(
            client.post("/api/v1/workspaces", json={"slug": "acme"}), 409, "conflict"
        )
        assert duplicate["field"] == "slug" and "already taken" in duplicate["message"]
        zone = _error(
            client.post("/api/v1/workspaces", json={"slug": "new", "timezone": "Europe/Pariss"}),
            422,
            "validation_error",
        )
        assert zone["field"] == "timezone" and "Europe/Paris" in zone["message"]
        # The English message, and what a client needs to say it in another language.
        assert zone["message_id"].startswith("unknown time zone %(value)r: did you mean %(hint)s?")
        assert zone["params"]["value"] == "Europe/Pariss"
        assert zone["params"]["hint"].startswith("Europe/Paris")
        assert zone["message"] == zone["message_id"] % zone["params"]
        network = _error(
            client.post(
                "/api/v1/workspaces/acme/channels", json={"network": "mastadon", "handle": "@a"}
            ),
            422,
            "validation_error",
        )
        assert network["field"] == "network" and "did you mean mastodon?" in network["message"]
        missing = _error(
            client.post("/api/v1/workspaces/acme/channels", json={"handle": "@a"}),
            422,
            "validation_error",
        )
        assert missing["field"] == "network"
        assert missing["problems"] == [
            {"field": "network", "message": "Field required", "message_id": "Field required",
             "params": {}}
        ]  # fmt: skip
        not_json = _error(
            client.post(
                "/api/v1/workspaces/acme/channels",
                content=b"{not json",
                headers={"content-type": "application/json"},
            ),
            422,
            "validation_error",
        )
        assert "not valid JSON" in not_json["message"]
        bad_id = _error(client.get("/api/v1/workspaces/acme/channels/abc"), 422, "validation_error")
        assert bad_id["field"] == "channel_id"
        _error(client.get("/api/v1/workspaces/nowhere"), 404, "not_found")
        _error(client.get("/api/v1/workspaces/acme/channels/999999"), 404, "not_found")
        _error(client.get("/api/v1/no-such-route"), 404, "not_found")
        _error(client.put("/api/v1/workspaces/acme"), 405, "method_not_allowed")
    assert _rows(database) == before


def test_authentication_errors(live_server: ServerThread, seed: Seed, database: Database) -> None:
    with database.session() as session:
        owner = service.get_user_by_email(session, seed.owner_email)
        assert owner is not None
        issued = tokens.create_token(session, owner, name="short-lived", expires_in_days=1)
        session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == issued.token.id)
            .values(expires_at=utcnow() - timedelta(minutes=5), last_used_at=None)
        )
        session.commit()
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        cases = {
            "none": ({}, "authentication required"),
            "scheme": ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
            "malformed": ({"Authorization": "Bearer nonsense"}, "malformed API token"),
            "unknown": (
                {"Authorization": f"Bearer tsq_000000000000_{'a' * 43}"},
                "unknown API token",
            ),
            "expired": ({"Authorization": f"Bearer {issued.plaintext}"}, "expired"),
        }
        for name, (headers, words) in cases.items():
            response = client.get("/api/v1/workspaces/acme/channels", headers=headers)
            error = _error(response, 401, "authentication_error")
            assert words in error["message"], (name, error)
            assert response.headers["www-authenticate"].startswith("Bearer"), name
        # JSON even when the client prefers HTML: /api/ always answers JSON.
        html = client.get("/api/v1/me", headers={"Accept": "text/html"})
        _error(html, 401, "authentication_error")
    with database.session() as session:
        # The refused token was not marked as used: a refusal writes nothing.
        assert session.get(ApiToken, issued.token.id).last_used_at is None  # type: ignore[union-attr]


def test_missing_csrf_token_on_cookie_authenticated_api(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    from townsquare.web.security import CSRF_COOKIE, SESSION_COOKIE
    from townsquare.workspaces import sessions

    with database.session() as session:
        _user, key = sessions.login(
            session,
            email=seed.owner_email,
            password=seed.owner_password,
            client="t",
            policy=sessions.LoginPolicy(),
        )
    before = _rows(database)
    cookies = {SESSION_COOKIE: key, CSRF_COOKIE: "the-csrf-token"}
    body = {"network": "mastodon", "handle": "@csrf@example.social"}
    with httpx.Client(base_url=live_server.url, cookies=cookies) as client:
        assert client.get("/api/v1/workspaces/acme/channels").status_code == 200
        refused = client.post("/api/v1/workspaces/acme/channels", json=body)
        error = _error(refused, 403, "permission_denied")
        assert "CSRF" in error["message"]
        wrong = client.post(
            "/api/v1/workspaces/acme/channels", json=body, headers={"X-CSRF-Token": "other"}
        )
        _error(wrong, 403, "permission_denied")
        assert _rows(database) == before
        accepted = client.post(
            "/api/v1/workspaces/acme/channels",
            json=body,
            headers={"X-CSRF-Token": "the-csrf-token"},
        )
        assert accepted.status_code == 201, accepted.text


ERROR_CASES = [
    (errors.ValidationError("bad", field="x", problems=[{"field": "x", "message": "m"}]), 422,
     "validation_error"),
    (errors.NotFound("gone", field="id"), 404, "not_found"),
    (errors.Conflict("taken", field="slug"), 409, "conflict"),
    (errors.AuthenticationError("who"), 401, "authentication_error"),
    (errors.PermissionDenied("role"), 403, "permission_denied"),
    (errors.RateLimited("slow down", retry_after=42), 429, "rate_limited"),
    (errors.NetworkError("mastodon is down"), 502, "network_error"),
    (errors.TownsquareError("generic"), 400, "error"),
]  # fmt: skip


def test_database_refusals_are_bad_input(database: Database, db_settings: Settings) -> None:
    """Text PostgreSQL cannot store, reaching it through a route that did not validate it,
    is a 422 (on SQLite the value is simply stored)."""
    app = create_app(db_settings, database=database)
    router = APIRouter()

    @router.post("/api/v1/_test_store")
    def store(value: str) -> dict[str, str]:
        with database.session() as session:
            session.execute(
                sa.text("INSERT INTO audit_events (action, target, details, at) "
                        "VALUES ('test', :v, '{}', CURRENT_TIMESTAMP)"),
                {"v": value},
            )  # fmt: skip
            session.commit()
        return {"stored": "yes"}

    app.include_router(router)
    with ServerThread(app) as server:
        response = httpx.post(f"{server.url}/api/v1/_test_store", params={"value": "a\x00b"})
    if database.dialect == "postgresql":
        error = _error(response, 422, "validation_error")
        assert "NUL" in error["message"]
        with database.engine.connect() as connection:
            count = "SELECT count(*) FROM audit_events WHERE action = 'test'"
            assert connection.execute(sa.text(count)).scalar() == 0
    else:
        assert response.status_code == 200


def test_every_error_class_has_its_status_and_shape(
    settings: Settings, sqlite_database: Database
) -> None:
    app = create_app(settings, database=sqlite_database)
    router = APIRouter()

    @router.get("/api/v1/_test_raise/{index}")
    def raise_error(index: int) -> None:
        raise ERROR_CASES[index][0]

    app.include_router(router)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        for index, (error, status, kind) in enumerate(ERROR_CASES):
            response = client.get(f"/api/v1/_test_raise/{index}")
            body = _error(response, status, kind)
            assert body["message"] == error.message
            assert body["field"] == error.field
            assert body["problems"] == [
                {**item, "message_id": item["message"], "params": {}}
                for item in getattr(error, "problems", [])
            ]
            assert body["message_id"] == error.message and body["params"] == {}
            if isinstance(error, errors.RateLimited):
                assert response.headers["retry-after"] == "42"


def test_openapi_lists_every_api_route(live_server: ServerThread) -> None:
    # The first request builds the OpenAPI document of every route: seconds on a loaded machine.
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        spec = client.get("/api/openapi.json")
        docs = client.get("/api/docs")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path, method in [
        ("/api/v1/me", "get"),
        ("/api/v1/workspaces", "post"),
        ("/api/v1/workspaces/{workspace}/channels", "post"),
        ("/api/v1/workspaces/{workspace}/channels/{channel_id}", "delete"),
        ("/api/v1/workspaces/{workspace}/members/{user_id}", "patch"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{token_id}", "delete"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    # Every route under /api/v1 the app serves is documented (others' too).
    from tests.house.test_isolation import endpoints

    served = {
        (e.path, m.lower())
        for e in endpoints(live_server.server.config.app)  # type: ignore[arg-type]
        if e.path.startswith("/api/v1/")
        for m in e.methods
        if m != "HEAD"
    }
    documented = {(p, m) for p, ops in paths.items() for m in ops}
    assert served <= documented, sorted(served - documented)
    # The bearer scheme is declared, so /api/docs can send a token ("Authorize").
    schemes = spec.json()["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["token"]["description"],
    }
    assert paths["/api/v1/me"]["get"]["security"] == [{"token": []}]
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
    # Swagger UI is vendored: its files are served by the app, nothing from a CDN.
    assets = re.findall(r'(?:src|href)="(/static/vendor/swagger-ui[^"]+)"', docs.text)
    assert len(assets) == 2, docs.text
    for asset in assets:
        assert httpx.get(f"{live_server.url}{asset}").status_code == 200, asset


def test_nul_characters_are_bad_input_not_server_errors(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    """PostgreSQL cannot store NUL: it must be refused as bad input, on both databases."""
    before = _rows(database)
    base = "/api/v1/workspaces/acme"
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        attempts = {
            "handle": client.post(
                f"{base}/channels", json={"network": "rss", "handle": "a\u0000b"}
            ),
            "display_name": client.post(
                f"{base}/channels",
                json={"network": "rss", "handle": "ok", "display_name": "x\u0000"},
            ),
            "name": client.patch(base, json={"name": "Acme\u0000"}),
            "email": client.post(
                f"{base}/members",
                json={"email": "a\u0000@acme.test", "role": "viewer", "password": "x" * 12},
            ),
        }
    for field, response in attempts.items():
        error = _error(response, 422, "validation_error")
        assert error["field"] == field, (field, error)
    assert _rows(database) == before
