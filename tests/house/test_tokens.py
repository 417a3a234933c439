"""API tokens: a token never hands out more than it has (no privilege escalation).

Runs the real app over loopback HTTP on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import hypothesis
import hypothesis.strategies as st
import pytest
import sqlalchemy as sa

from tests.conftest import Seed, ServerThread
from townsquare.db import Database
from townsquare.workspaces import service, tokens
from townsquare.workspaces.models import ApiToken, Workspace


def _restricted_token(database: Database, seed: Seed, slug: str, days: int | None = 30) -> str:
    with database.session() as session:
        owner = service.get_user_by_email(session, seed.owner_email)
        assert owner is not None
        issued = tokens.create_token(
            session, owner, name=f"only {slug}", workspace=slug, expires_in_days=days
        )
    return issued.plaintext


def _count(database: Database, model: type[object]) -> int:
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _second_workspace(database: Database, seed: Seed, slug: str = "globex") -> None:
    with database.session() as session:
        owner = service.get_user_by_email(session, seed.owner_email)
        service.create_workspace(session, slug, owner=owner)


def test_restricted_token_cannot_create_unrestricted_token(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    _second_workspace(database, seed)
    restricted = _restricted_token(database, seed, "acme")
    before = _count(database, ApiToken)
    headers = {"Authorization": f"Bearer {restricted}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as client:
        unrestricted = client.post("/api/v1/tokens", json={"name": "escalate"})
        other = client.post("/api/v1/tokens", json={"name": "escalate", "workspace": "globex"})
        unknown = client.post("/api/v1/tokens", json={"name": "x", "workspace": "nowhere"})
        # Reading the owner's other workspace looks exactly like reading one that does not
        # exist: the token does not reveal it.
        read_other = client.get("/api/v1/workspaces/globex/channels")
        read_unknown = client.get("/api/v1/workspaces/nowhere/channels")
        assert read_other.status_code == read_unknown.status_code == 404
        assert (
            read_other.json()["error"]["message"].replace("globex", "nowhere")
            == (read_unknown.json()["error"]["message"])
        )
    assert unrestricted.status_code == 403, unrestricted.text
    error = unrestricted.json()["error"]
    assert error["type"] == "permission_denied"
    assert error["field"] == "workspace"
    assert "restricted" in error["message"]
    # Another workspace of the same user is invisible through this token: 404, like any other.
    assert other.status_code == 404, other.text
    assert unknown.status_code == 404, unknown.text
    assert (
        other.json()["error"]["message"].replace("globex", "nowhere")
        == (unknown.json()["error"]["message"])
    )
    assert _count(database, ApiToken) == before


def test_restricted_token_creates_tokens_of_its_own_workspace_only(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    restricted = _restricted_token(database, seed, "acme", days=2)
    headers = {"Authorization": f"Bearer {restricted}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as client:
        created = client.post(
            "/api/v1/tokens",
            json={"name": "child", "workspace": "acme", "expires_in_days": 3650},
        )
        assert created.status_code == 201, created.text
        child = created.json()
        forever = client.post(
            "/api/v1/tokens", json={"name": "forever", "workspace": "acme", "expires_in_days": None}
        )
        assert forever.status_code == 201, forever.text
        # The child works, on its workspace only.
        child_headers = {"Authorization": f"Bearer {child['token']}"}
        assert client.get("/api/v1/workspaces/acme", headers=child_headers).status_code == 200
    with database.session() as session:
        acme_id = session.scalar(sa.select(Workspace.id).where(Workspace.slug == "acme"))
        parent_expiry = session.scalar(
            sa.select(ApiToken.expires_at).where(ApiToken.name == "only acme")
        )
        rows = {
            t.name: t
            for t in session.scalars(
                sa.select(ApiToken).where(ApiToken.name.in_(["child", "forever"]))
            )
        }
    assert parent_expiry is not None
    # Neither outlives the token that created it, whatever was asked for.
    for row in rows.values():
        assert row.workspace_id == acme_id
        assert row.expires_at == parent_expiry
    assert child["workspace_id"] == acme_id
    assert datetime.fromisoformat(child["expires_at"]) - parent_expiry < timedelta(seconds=1)


def test_restricted_token_cannot_create_workspaces(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    restricted = _restricted_token(database, seed, "acme")
    before = _count(database, Workspace)
    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {restricted}"}
    ) as client:
        response = client.post("/api/v1/workspaces", json={"slug": "escape"})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["type"] == "permission_denied"
    assert _count(database, Workspace) == before
    # The same user with an unrestricted token may (they are an instance administrator).
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        assert client.post("/api/v1/workspaces", json={"slug": "escape"}).status_code == 201


def test_restricted_token_sees_and_revokes_only_its_workspace_tokens(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    _second_workspace(database, seed)
    restricted = _restricted_token(database, seed, "acme")
    sibling = _restricted_token(database, seed, "acme")
    globex = _restricted_token(database, seed, "globex")
    with database.session() as session:
        ids = {t.name: t.id for t in session.scalars(sa.select(ApiToken).order_by(ApiToken.id))}
        unrestricted_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.name == "tests"))
    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {restricted}"}
    ) as client:
        listed = client.get("/api/v1/tokens")
        assert listed.status_code == 200
        names = sorted(t["name"] for t in listed.json())
        assert names == ["only acme", "only acme"]
        assert client.delete(f"/api/v1/tokens/{unrestricted_id}").status_code == 404
        assert client.delete(f"/api/v1/tokens/{ids['only globex']}").status_code == 404
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        # Both survived: the unrestricted one and the other workspace's still work.
        assert client.get("/api/v1/me", headers=seed.headers).status_code == 200
        globex_headers = {"Authorization": f"Bearer {globex}"}
        assert client.get("/api/v1/workspaces/globex", headers=globex_headers).status_code == 200
        # A token of its own workspace can be revoked through it.
        sibling_id = max(
            t["id"]
            for t in client.get("/api/v1/tokens", headers=seed.headers).json()
            if t["name"] == "only acme"
        )
        revoke = client.delete(
            f"/api/v1/tokens/{sibling_id}", headers={"Authorization": f"Bearer {restricted}"}
        )
        assert revoke.status_code == 204
        gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {sibling}"})
        assert gone.status_code == 401
        assert "revoked" in gone.json()["error"]["message"]


def test_unrestricted_token_may_create_any_kind(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    with database.session() as session:
        owner = service.get_user_by_email(session, seed.owner_email)
        assert owner is not None
        master = tokens.create_token(session, owner, name="master", expires_in_days=None)
    headers = {"Authorization": f"Bearer {master.plaintext}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as client:
        free = client.post("/api/v1/tokens", json={"name": "free", "expires_in_days": None})
        scoped = client.post("/api/v1/tokens", json={"name": "scoped", "workspace": "acme"})
        # The seed token expires in 90 days: what it creates is clamped to that.
        clamped = client.post(
            "/api/v1/tokens", json={"name": "c", "expires_in_days": None}, headers=seed.headers
        )
    assert free.status_code == 201 and free.json()["expires_at"] is None
    assert free.json()["workspace_id"] is None
    assert scoped.status_code == 201 and scoped.json()["workspace_id"] is not None
    assert clamped.status_code == 201 and clamped.json()["expires_at"] is not None
    assert clamped.json()["workspace_id"] is None


@hypothesis.settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    text=st.one_of(
        st.text(max_size=80),
        st.builds(lambda a, b: f"tsq_{a}_{b}", st.text(max_size=16), st.text(max_size=60)),
    )
)
def test_any_string_is_refused_with_an_authentication_error(database: Database, text: str) -> None:
    """Whatever a client sends as a bearer token, the answer is a clean 401, never a crash."""
    from townsquare.errors import AuthenticationError

    with database.session() as session:
        try:
            tokens.authenticate_token(session, text)
        except AuthenticationError as error:
            assert "token" in error.message
        else:
            raise AssertionError(f"{text!r} was accepted")


def test_nul_in_login_is_a_wrong_password(database: Database, seed: Seed) -> None:
    from townsquare.errors import AuthenticationError
    from townsquare.workspaces import sessions

    with database.session() as session:
        for email, password in (("a\x00@acme.test", "x"), (seed.owner_email, "x\x00y")):
            with pytest.raises(AuthenticationError, match="wrong e-mail or password"):
                sessions.login(
                    session,
                    email=email,
                    password=password,
                    client="c",
                    policy=sessions.LoginPolicy(),
                )
