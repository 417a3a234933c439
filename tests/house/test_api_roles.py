"""Roles through the REST API: viewer reads, admin manages, owner is the last word.

Roles (workspaces/roles.py): viewer < contributor < editor < admin < owner. The house's
own routes: reading a workspace, its channels and members is for every member; channels,
members, settings and the audit log are for admins and owners; owners alone make or
unmake owners, and a workspace never loses its last owner.
"""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from tests.conftest import Seed, ServerThread
from townsquare.db import Database
from townsquare.workspaces import service, tokens
from townsquare.workspaces.models import Membership, User
from townsquare.workspaces.roles import ROLE_ORDER, Role

PASSWORD = "a long enough password"


def _member_headers(database: Database, role: str) -> dict[str, str]:
    with database.session() as session:
        user = service.create_user(
            session, email=f"{role}@acme.test", password=PASSWORD, workspace="acme", role=role
        )
        issued = tokens.create_token(session, user, name=role)
    return {"Authorization": f"Bearer {issued.plaintext}"}


def _memberships(database: Database) -> list[tuple[str, str]]:
    with database.session() as session:
        rows = session.execute(
            sa.select(User.email, Membership.role).join(Membership).order_by(User.email)
        )
        return [(email, role) for email, role in rows]


def test_each_role_reads_and_only_admins_manage(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    for role in (r.value for r in ROLE_ORDER if r is not Role.OWNER):
        _check_role(role, live_server, database)


def _check_role(role: str, live_server: ServerThread, database: Database) -> None:
    headers = _member_headers(database, role)
    manages = Role(role).at_least(Role.ADMIN)
    base = "/api/v1/workspaces/acme"
    with httpx.Client(base_url=live_server.url, headers=headers) as client:
        for path in (base, f"{base}/channels", f"{base}/members"):
            assert client.get(path).status_code == 200, path
        before = _memberships(database)
        writes = {
            "add channel": client.post(
                f"{base}/channels", json={"network": "rss", "handle": f"https://x.test/{role}"}
            ),
            "settings": client.patch(base, json={"name": "Renamed"}),
            "add member": client.post(
                f"{base}/members",
                json={"email": f"new-{role}@acme.test", "role": "viewer"},
            ),
            "audit": client.get(f"{base}/audit"),
        }
    for action, response in writes.items():
        if manages:
            # An unknown address is invited (202), not created.
            assert response.status_code in (200, 201, 202), (action, response.text)
        else:
            assert response.status_code == 403, (action, response.text)
            error = response.json()["error"]
            assert error["type"] == "permission_denied"
            assert f"is {role}" in error["message"] and "admin or higher" in error["message"]
    if not manages:
        assert _memberships(database) == before
        with database.session() as session:
            assert service.get_user_by_email(session, f"new-{role}@acme.test") is None


def test_admin_cannot_make_or_touch_owners(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    headers = _member_headers(database, "admin")
    with database.session() as session:
        owner = service.get_user_by_email(session, seed.owner_email)
        assert owner is not None
        owner_id = owner.id
    before = _memberships(database)
    base = "/api/v1/workspaces/acme/members"
    with httpx.Client(base_url=live_server.url, headers=headers) as client:
        me = client.get("/api/v1/me").json()["id"]
        refused = [
            client.patch(f"{base}/{me}", json={"role": "owner"}),
            client.patch(f"{base}/{owner_id}", json={"role": "viewer"}),
            client.delete(f"{base}/{owner_id}"),
            client.post(
                f"{base}", json={"email": "o2@acme.test", "role": "owner", "password": PASSWORD}
            ),
        ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403], [r.text for r in refused]
    assert _memberships(database) == before


def test_last_owner_cannot_leave_or_step_down(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    before = _memberships(database)
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        me = client.get("/api/v1/me").json()["id"]
        base = "/api/v1/workspaces/acme/members"
        demote = client.patch(f"{base}/{me}", json={"role": "admin"})
        leave = client.delete(f"{base}/{me}")
        assert demote.status_code == 422 and leave.status_code == 422
        for response in (demote, leave):
            error = response.json()["error"]
            assert error["type"] == "validation_error"
            assert "at least one owner" in error["message"]
        assert _memberships(database) == before
        # With a second owner, the first may step down.
        second = client.post(
            base, json={"email": "second@acme.test", "role": "owner", "password": PASSWORD}
        )
        assert second.status_code == 201, second.text
        assert client.patch(f"{base}/{me}", json={"role": "admin"}).status_code == 200


def test_unknown_role_and_unknown_member(live_server: ServerThread, seed: Seed) -> None:
    base = "/api/v1/workspaces/acme/members"
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        bad = client.post(base, json={"email": "x@acme.test", "role": "boss", "password": PASSWORD})
        missing = client.patch(f"{base}/999999", json={"role": "viewer"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "role"
    assert "unknown role 'boss': choose one of viewer" in bad.json()["error"]["message"]
    assert missing.status_code == 404


def test_viewer_pages_are_read_only(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    """The same rules on the web pages (a browser session with its CSRF token)."""
    from townsquare.web.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
    from townsquare.workspaces import sessions

    _member_headers(database, "viewer")
    with database.session() as session:
        _user, key = sessions.login(
            session,
            email="viewer@acme.test",
            password=PASSWORD,
            client="t",
            policy=sessions.LoginPolicy(),
        )
    before = _memberships(database)
    cookies = {SESSION_COOKIE: key, CSRF_COOKIE: "csrf"}
    with httpx.Client(
        base_url=live_server.url, cookies=cookies, headers={CSRF_HEADER: "csrf"}
    ) as client:
        for page in ("/w/acme/", "/w/acme/channels", "/w/acme/members"):
            assert client.get(page).status_code == 200, page
        writes = [
            client.post("/w/acme/channels", data={"network": "rss", "handle": "https://x.test/f"}),
            client.post("/w/acme/settings", data={"name": "Renamed", "timezone": "UTC"}),
            client.post("/w/acme/members", data={"email": "x@acme.test", "role": "viewer"}),
        ]
    assert [w.status_code for w in writes] == [403, 403, 403]
    assert _memberships(database) == before
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM channels")).scalar() == 0
        assert connection.execute(sa.text("SELECT name FROM workspaces")).scalar() == "Acme"


def test_only_an_owner_deletes_a_workspace_and_everything_goes(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    admin = _member_headers(database, "admin")
    with database.session() as session:
        owner = service.get_user_by_email(session, seed.owner_email)
        service.create_workspace(session, "globex", owner=owner)
    with httpx.Client(base_url=live_server.url, headers=seed.headers) as client:
        for slug in ("acme", "globex"):
            created = client.post(
                f"/api/v1/workspaces/{slug}/channels", json={"network": "rss", "handle": slug}
            )
            assert created.status_code == 201
        refused = client.delete(
            "/api/v1/workspaces/acme", headers=admin, params={"confirm": "acme"}
        )
        unconfirmed = client.delete("/api/v1/workspaces/acme")
        mistyped = client.delete("/api/v1/workspaces/acme", params={"confirm": "globex"})
        assert refused.status_code == 403
        assert unconfirmed.status_code == 422 and mistyped.status_code == 422
        assert unconfirmed.json()["error"]["field"] == "confirm"
        assert client.get("/api/v1/workspaces/acme/channels").status_code == 200
        deleted = client.delete("/api/v1/workspaces/acme", params={"confirm": "acme"})
        assert deleted.status_code == 204, deleted.text
        assert client.get("/api/v1/workspaces/acme").status_code == 404
        assert [w["slug"] for w in client.get("/api/v1/workspaces").json()] == ["globex"]
        assert [c["handle"] for c in client.get("/api/v1/workspaces/globex/channels").json()] == [
            "globex"
        ]
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM channels")).scalar() == 1
        assert connection.execute(sa.text("SELECT count(*) FROM memberships")).scalar() == 1
        audit = connection.execute(
            sa.text(
                "SELECT workspace_id, target FROM audit_events WHERE action = 'workspace.deleted'"
            )
        ).all()
    assert audit == [(None, "acme")]
