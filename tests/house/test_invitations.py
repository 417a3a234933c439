"""Invitations (issue 7, item 4): a workspace admin no longer attaches any existing user, and
no longer learns who has an account.

Adding someone who is not a member of a workspace the admin administers makes a single-use,
expiring invitation link (shown once, e-mailed through a real SMTP server when configured);
the answer is the same whether or not the address has an account. The link is opened to
choose a password, or to accept after logging in. Through the real app on SQLite and
PostgreSQL, the real CLI and a real aiosmtpd server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import SmtpServer, make_settings
from tests.house.test_cli import Cli
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.web.app import create_app
from townsquare.workspaces import service, tokens
from townsquare.workspaces.invitation_models import Invitation
from townsquare.workspaces.models import AuditEvent, User

PASSWORD = "correct horse battery"
OWNER = "owner@agency.test"  # the instance administrator
ADAM = "adam@acme.test"  # admin of acme and of beta, not an instance administrator
BEN = "ben@beta.test"  # member of beta: a colleague of adam's
ALICE = "alice@other.test"  # member of another client's workspace only
NOBODY = "nobody@nowhere.test"  # no account

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Argon2id at its lowest cost (see test_web_pages.py)."""
    from argon2 import PasswordHasher

    from townsquare.workspaces import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def _people(database: Database) -> dict[str, str]:
    """Owner (instance admin) of acme, beta and other; adam admin of acme and beta; ben a
    viewer of beta; alice an editor of other; one API token per person."""
    issued: dict[str, str] = {}
    with database.session() as session:
        owner = service.create_user(session, email=OWNER, password=PASSWORD, is_admin=True)
        for slug in ("acme", "beta", "other"):
            service.create_workspace(session, slug, name=slug.title(), owner=owner)
        for email, workspace, role in (
            (ADAM, "acme", "admin"),
            (BEN, "beta", "viewer"),
            (ALICE, "other", "editor"),
        ):
            service.create_user(
                session, email=email, password=PASSWORD, workspace=workspace, role=role
            )
        access = service.WorkspaceAccess.operator(service.get_workspace(session, "beta"))
        service.add_member(session, access, email=ADAM, role="admin")
        for email in (OWNER, ADAM, BEN, ALICE):
            user = service.get_user_by_email(session, email)
            assert user is not None
            issued[email] = tokens.create_token(session, user, name="t").plaintext
    return issued


@pytest.fixture
def people(database: Database) -> dict[str, str]:
    return _people(database)


def _client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, database=database)
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(db_settings: Settings, database: Database) -> Iterator[TestClient]:
    yield from _client(db_settings, database)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf(client: TestClient) -> str:
    if "ts_csrf" not in client.cookies:
        client.get("/login")
    return str(client.cookies["ts_csrf"])


def post_form(client: TestClient, path: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf(client), **(data or {})})


def log_in(client: TestClient, email: str, next_url: str = "") -> None:
    response = post_form(client, "/login", {"email": email, "password": PASSWORD, "next": next_url})
    assert response.status_code == 303, response.text


def members_of(database: Database, slug: str) -> dict[str, str]:
    with database.session() as session:
        access = service.WorkspaceAccess.operator(service.get_workspace(session, slug))
        return {m.email: m.role.value for m in service.list_members(session, access)}


def invite_api(client: TestClient, token: str, email: str, role: str = "editor"):  # type: ignore[no-untyped-def]
    body = {"email": email, "role": role}
    return client.post("/api/v1/workspaces/acme/members", json=body, headers=bearer(token))


def token_of(url: str) -> str:
    found = re.search(r"/invitations/([A-Za-z0-9_-]+)$", url)
    assert found, url
    return found.group(1)


# --- the admin's side: no attaching strangers, no enumeration -----------------------------


def test_a_stranger_is_invited_the_same_way_with_or_without_an_account(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    before = members_of(database, "acme")
    answers = {email: invite_api(client, people[ADAM], email) for email in (ALICE, NOBODY)}
    for email, response in answers.items():
        # Was 201 (alice attached) and 404 (nobody): now the same 202 for both.
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["email"] == email and body["role"] == "editor"
        assert body["status"] == "pending" and body["emailed"] is False
        assert body["url"].startswith("http://testserver/invitations/")
    shapes = {email: sorted(r.json()) for email, r in answers.items()}
    assert shapes[ALICE] == shapes[NOBODY]
    assert {r.headers["content-type"] for r in answers.values()} == {"application/json"}
    # Alice was not attached: she joins only by accepting.
    assert members_of(database, "acme") == before
    listed = client.get("/api/v1/workspaces/acme/invitations", headers=bearer(people[ADAM]))
    assert listed.status_code == 200
    assert sorted(i["email"] for i in listed.json()) == sorted([ALICE, NOBODY])
    assert all("url" not in i for i in listed.json())  # the link is shown only once


def test_a_colleague_from_a_workspace_i_administer_is_added_directly(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    response = invite_api(client, people[ADAM], BEN, role="viewer")
    assert response.status_code == 201, response.text
    assert response.json()["email"] == BEN
    assert members_of(database, "acme")[BEN] == "viewer"
    # Already a member: a conflict, like before.
    assert invite_api(client, people[ADAM], BEN).status_code == 409


@sqlite_only
def test_instance_admins_keep_direct_adds_and_accounts(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    direct = invite_api(client, people[OWNER], ALICE)
    assert direct.status_code == 201, direct.text
    created = client.post(
        "/api/v1/workspaces/acme/members",
        json={"email": "new@acme.test", "role": "viewer", "password": "a fine password"},
        headers=bearer(people[OWNER]),
    )
    assert created.status_code == 201, created.text
    assert invite_api(client, people[OWNER], NOBODY).status_code == 202


@sqlite_only
def test_bad_additions_write_nothing(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    def invitations() -> int:
        with database.session() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(Invitation)) or 0

    cases = [
        # A workspace admin may not set someone's password (the answer would leak existence).
        (people[ADAM], {"email": NOBODY, "role": "viewer", "password": "a fine password"}, 422),
        (people[ADAM], {"email": ALICE, "role": "viewer", "password": "a fine password"}, 422),
        (people[ADAM], {"email": NOBODY, "role": "owner"}, 403),  # admins do not make owners
        (people[ADAM], {"email": "not-an-address", "role": "viewer"}, 422),
        (people[ADAM], {"email": NOBODY, "role": "boss"}, 422),
    ]
    for token, body, status in cases:
        response = client.post("/api/v1/workspaces/acme/members", json=body, headers=bearer(token))
        assert response.status_code == status, (body, response.text)
    first, second = (
        client.post("/api/v1/workspaces/acme/members", json=body, headers=bearer(people[ADAM]))
        for body in (cases[0][1], cases[1][1])
    )
    assert first.json()["error"]["message"] == second.json()["error"]["message"]
    # A viewer of beta cannot invite to beta, nor see its invitations.
    beta = "/api/v1/workspaces/beta"
    refused = client.post(
        f"{beta}/members", json={"email": NOBODY, "role": "viewer"}, headers=bearer(people[BEN])
    )
    assert refused.status_code == 403
    assert client.get(f"{beta}/invitations", headers=bearer(people[BEN])).status_code == 403
    assert invitations() == 0


def test_the_link_is_stored_only_as_a_hash_and_audited(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    url = invite_api(client, people[ADAM], NOBODY).json()["url"]
    token = token_of(url)
    with database.session() as session:
        invitation = session.scalars(sa.select(Invitation)).one()
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.expires_at - utcnow() > timedelta(days=6, hours=23)
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("invit%")))
        created = [e for e in events if e.action == "invitation.created"]
        assert [e.target for e in created] == [NOBODY]
        assert token not in str(created[0].details)


# --- the invited person's side ------------------------------------------------------------


def test_a_new_person_chooses_a_password_once(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    token = token_of(invite_api(client, people[ADAM], NOBODY).json()["url"])
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert "Acme" in page.text and NOBODY in page.text and "Editor" in page.text
    assert 'name="password_confirm"' in page.text
    differ = post_form(
        client,
        f"/invitations/{token}",
        {"password": "a fine password", "password_confirm": "another one!!"},
    )
    assert differ.status_code == 422
    short = post_form(
        client, f"/invitations/{token}", {"password": "short", "password_confirm": "short"}
    )
    assert short.status_code == 422 and "password too short" in short.text
    accepted = post_form(
        client,
        f"/invitations/{token}",
        {"password": "a fine password", "password_confirm": "a fine password", "display_name": "N"},
    )
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == "/w/acme/"
    assert client.get("/w/acme/").status_code == 200  # logged in as the new account
    assert members_of(database, "acme")[NOBODY] == "editor"
    # Single use: the same link again, from anyone, is refused.
    stranger = TestClient(client.app, follow_redirects=False)
    again = post_form(
        stranger,
        f"/invitations/{token}",
        {"password": "an other password", "password_confirm": "an other password"},
    )
    assert again.status_code == 404 and "already used" in again.text
    with database.session() as session:
        actions = [e.action for e in session.scalars(sa.select(AuditEvent))]
        assert "invitation.accepted" in actions


def test_someone_with_an_account_logs_in_to_accept(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    token = token_of(invite_api(client, people[ADAM], ALICE).json()["url"])
    path = f"/invitations/{token}"
    # The page offers both ways whether or not the address has an account.
    page = client.get(path).text
    assert 'name="password_confirm"' in page and f"/login?next={path}" in page
    # Choosing a password does not take over (or reset) alice's account.
    taken = post_form(
        client, path, {"password": "hijacked password", "password_confirm": "hijacked password"}
    )
    assert taken.status_code == 409 and "log in with it" in taken.text
    assert ALICE not in members_of(database, "acme")
    # Someone else logged in cannot use alice's invitation.
    ben = TestClient(client.app, follow_redirects=False)
    log_in(ben, BEN)
    assert "you are logged in with another address" in ben.get(path).text.replace("\n", " ")
    refused = post_form(ben, path)
    assert refused.status_code == 403 and ALICE in refused.text
    assert BEN not in members_of(database, "acme")
    # Alice logs in (back to the invitation) and accepts.
    alice = TestClient(client.app, follow_redirects=False)
    log_in(alice, ALICE, next_url=path)
    assert "Accept the invitation" in alice.get(path).text
    accepted = post_form(alice, path)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/w/acme/"
    assert members_of(database, "acme")[ALICE] == "editor"
    with database.session() as session:
        user = session.scalar(sa.select(User).where(User.email == ALICE))
        assert user is not None and user.password_changed_at is not None
        from townsquare.workspaces.passwords import verify_password

        assert verify_password(user.password_hash, PASSWORD)


def test_revoked_expired_and_unknown_links_say_why(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    revoked = invite_api(client, people[ADAM], NOBODY).json()
    expired = invite_api(client, people[ADAM], "late@nowhere.test").json()
    base = "/api/v1/workspaces/acme/invitations"
    response = client.delete(f"{base}/{revoked['id']}", headers=bearer(people[ADAM]))
    assert response.status_code == 204
    assert client.delete(f"{base}/{revoked['id']}", headers=bearer(people[ADAM])).status_code == 409
    # Another workspace's admin cannot revoke it (not found in their workspace).
    other = client.delete(
        f"/api/v1/workspaces/other/invitations/{expired['id']}", headers=bearer(people[OWNER])
    )
    assert other.status_code == 404
    with database.session() as session:
        session.execute(
            sa.update(Invitation)
            .where(Invitation.id == expired["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        session.commit()
    answers = {
        "withdrawn": token_of(revoked["url"]),
        "expired": token_of(expired["url"]),
        "not valid": "x" * 43,
        "not valid ": "%00",
    }
    for reason, token in answers.items():
        page = client.get(f"/invitations/{token}")
        assert page.status_code == 404, token
        assert reason.strip() in page.text
    listed = client.get(base, headers=bearer(people[ADAM])).json()
    assert listed == []
    every = client.get(base, params={"include_closed": "true"}, headers=bearer(people[ADAM]))
    assert {i["status"] for i in every.json()} == {"revoked", "expired"}


def test_inviting_again_replaces_the_pending_link(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    first = invite_api(client, people[ADAM], NOBODY).json()
    second = invite_api(client, people[ADAM], NOBODY, role="viewer").json()
    assert client.get(f"/invitations/{token_of(first['url'])}").status_code == 404
    assert client.get(f"/invitations/{token_of(second['url'])}").status_code == 200
    listed = client.get("/api/v1/workspaces/acme/invitations", headers=bearer(people[ADAM]))
    assert [(i["email"], i["role"]) for i in listed.json()] == [(NOBODY, "viewer")]


# --- the members page ---------------------------------------------------------------------


@sqlite_only
def test_members_page_shows_the_link_once_and_revokes(
    client: TestClient, people: dict[str, str], database: Database
) -> None:
    log_in(client, ADAM)
    page = client.get("/w/acme/members").text
    assert 'name="password"' not in page  # only instance administrators set passwords
    response = post_form(client, "/w/acme/members", {"email": ALICE, "role": "viewer"})
    assert response.status_code == 200
    found = re.search(r'id="invitation-url"[^>]*>([^<]+)<', response.text)
    assert found and "/invitations/" in found.group(1)
    assert "Send them this link yourself" in response.text
    again = client.get("/w/acme/members").text
    assert found.group(1) not in again  # shown once
    revoke = re.search(r'action="(/w/acme/invitations/\d+/revoke)"', again)
    assert revoke and ALICE in again
    assert post_form(client, revoke.group(1)).status_code == 303
    assert ALICE not in client.get("/w/acme/members").text
    assert client.get(f"/invitations/{token_of(found.group(1))}").status_code == 404


@sqlite_only
def test_pages_and_mail_in_french(
    database: Database, data_dir: Path, people: dict[str, str], smtp_server: SmtpServer
) -> None:
    settings = make_settings(data_dir, database.url, smtp_url=smtp_server.url)
    with database.session() as session:
        adam = service.get_user_by_email(session, ADAM)
        assert adam is not None
        service.set_language(session, adam, "fr")
    for client in _client(settings, database):
        log_in(client, ADAM)
        page = post_form(client, "/w/acme/members", {"email": NOBODY, "role": "editor"})
        assert "Invitation créée pour" in page.text and "envoyé par e-mail" in page.text
        message = smtp_server.wait_for(1)[0]
        assert message["To"] == NOBODY
        assert message["Subject"] == "Invitation à Acme sur townsquare"
        body = message.get_content()
        assert "vous invite dans l’espace Acme en tant que Éditeur" in body
        link = re.search(r"(http://testserver/invitations/[A-Za-z0-9_-]+)", body)
        assert link
        visitor = TestClient(client.app, follow_redirects=False)
        invitation_page = visitor.get(
            link.group(1).removeprefix("http://testserver"), headers={"Accept-Language": "fr"}
        )
        assert "Vous êtes invité·e dans l’espace Acme" in invitation_page.text


def test_invitations_are_emailed_with_or_without_an_account(
    database: Database, data_dir: Path, people: dict[str, str], smtp_server: SmtpServer
) -> None:
    settings = make_settings(
        data_dir, database.url, smtp_url=smtp_server.url, base_url="https://ts.example"
    )
    for client in _client(settings, database):
        bodies = [invite_api(client, people[ADAM], email).json() for email in (ALICE, NOBODY)]
        assert [b["emailed"] for b in bodies] == [True, True]
        messages = smtp_server.wait_for(2)
        assert sorted(m["To"] for m in messages) == sorted([ALICE, NOBODY])
        for body in bodies:
            assert body["url"].startswith("https://ts.example/invitations/")
            sent = next(m for m in messages if m["To"] == body["email"])
            assert body["url"] in sent.get_content()
            assert sent["Subject"] == "Invitation to Acme on townsquare"


@sqlite_only
def test_a_failing_mail_server_leaves_a_usable_invitation(
    database: Database, data_dir: Path, people: dict[str, str]
) -> None:
    from tests.conftest import free_port

    settings = make_settings(data_dir, database.url, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    for client in _client(settings, database):
        response = invite_api(client, people[ADAM], NOBODY)
        assert response.status_code == 202 and response.json()["emailed"] is False
        assert client.get(f"/invitations/{token_of(response.json()['url'])}").status_code == 200


# --- the command line ---------------------------------------------------------------------


def test_cli_invite_list_revoke(database: Database, data_dir: Path) -> None:
    cli = Cli(data_dir, database.url)
    _people(database)
    result = cli("workspace", "invite", "acme", "--email", NOBODY, "--role", "editor", "--json")
    assert result.code == 0, result.err
    created = result.json()
    assert created["email"] == NOBODY and created["role"] == "editor"
    assert created["emailed"] is False and "/invitations/" in created["url"]
    listed = cli("workspace", "invitations", "list", "acme", "--json")
    assert listed.code == 0 and [i["id"] for i in listed.json()] == [created["id"]]
    table = cli("workspace", "invitations", "list", "acme")
    assert NOBODY in table.out
    assert cli("workspace", "invitations", "revoke", "acme", str(created["id"])).code == 0
    assert cli("workspace", "invitations", "list", "acme", "--json").json() == []
    again = cli("workspace", "invitations", "revoke", "acme", str(created["id"]))
    assert again.code == 4 and "revoked" in again.err
    assert cli("workspace", "invitations", "revoke", "acme", "999").code == 3
    bad = cli("workspace", "invite", "acme", "--email", "nope", "--role", "editor")
    assert bad.code == 2 and "invalid e-mail address" in bad.err
    # The operator still adds any existing user directly.
    direct = cli("workspace", "add-member", "acme", "--email", ALICE, "--role", "viewer")
    assert direct.code == 0, direct.err
    assert members_of(database, "acme")[ALICE] == "viewer"
