"""The command line: the contract forms of the issue, bad input and exit codes.

Commands run in-process through ``townsquare.cli.main.main`` (the console script's entry
point, so errors map to exit codes exactly as in a shell), with ``TOWNSQUARE_DATA_DIR`` and
``TOWNSQUARE_DATABASE_URL`` set, on SQLite and PostgreSQL. ``test_cli_serve.py`` runs the
real ``townsquare`` executable.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.fernet import Fernet

from townsquare.config import get_settings
from townsquare.db import Base, Database
from townsquare.workspaces import sessions, tokens
from townsquare.workspaces.models import ApiToken

PASSWORD = "correct horse battery"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs ``townsquare …`` against one data directory and database."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.env = {
            "TOWNSQUARE_DATA_DIR": str(data_dir),
            "TOWNSQUARE_DATABASE_URL": database_url or "",
            "TOWNSQUARE_QUEUE_URL": "",
        }

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from townsquare.cli.common import console, err_console
        from townsquare.cli.main import main

        get_settings.cache_clear()
        argv = sys.argv
        code = 0
        # Rich reads COLUMNS when the console is made, at the first import of the CLI in this
        # process: a command started with COLUMNS gets that width, as a new process would.
        widths = console._width, err_console._width  # None: measured at each print
        columns = self.env.get("COLUMNS", "")
        with CliRunner().isolation(input=input, env=self.env) as (out, err, _):
            sys.argv = ["townsquare", *args]
            if columns.isdigit():
                console.width = err_console.width = int(columns)
            try:
                main()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                sys.argv = argv
                get_settings.cache_clear()
                console._width, err_console._width = widths
            return Result(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def cli(database: Database, data_dir: Path) -> Cli:
    return Cli(data_dir, database.url)


def _owner(cli: Cli) -> None:
    result = cli("user", "create", "--email", "owner@acme.test", "--password-stdin", input=PASSWORD)
    assert result.code == 0, result.err
    result = cli(
        "workspace", "create", "acme", "--name", "Acme Coffee", "--owner", "owner@acme.test"
    )
    assert result.code == 0, result.err


def _snapshot(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            table.name: int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def test_contract_forms(cli: Cli, database: Database) -> None:
    upgrade = cli("db", "upgrade")
    assert upgrade.code == 0 and "database" in upgrade.out
    assert cli("db", "upgrade").out.startswith("database already at")

    created = cli(
        "user", "create", "--email", "Owner@Acme.test", "--password-stdin", input=PASSWORD + "\n"
    )
    assert created.code == 0, created.err
    assert "owner@acme.test" in created.out

    assert cli("workspace", "create", "acme", "--name", "Acme Coffee").code == 0
    assert cli("workspace", "create", "globex").code == 0
    listed = cli("workspace", "list", "--json")
    assert listed.code == 0
    rows = listed.json()
    assert [(w["slug"], w["name"], w["timezone"]) for w in rows] == [
        ("acme", "Acme Coffee", "UTC"),
        ("globex", "globex", "UTC"),
    ]
    assert set(rows[0]) >= {"id", "slug", "name", "timezone", "created_at"}

    member = cli(
        "user",
        "create",
        "--email",
        "ed@acme.test",
        "--password-stdin",
        "--workspace",
        "acme",
        "--role",
        "editor",
        input=PASSWORD,
    )
    assert member.code == 0, member.err

    added = cli(
        "channel",
        "add",
        "--workspace",
        "acme",
        "--network",
        "mastodon",
        "--handle",
        "@acme@example.social",
        "--name",
        "Acme on Mastodon",
        "--timezone",
        "Europe/Paris",
    )
    assert added.code == 0, added.err
    assert (
        cli(
            "channel",
            "add",
            "--workspace",
            "acme",
            "--network",
            "rss",
            "--handle",
            "https://acme.test/feed",
        ).code
        == 0
    )
    channels = cli("channel", "list", "--workspace", "acme", "--json")
    assert channels.code == 0
    by_handle = {c["handle"]: c for c in channels.json()}
    assert by_handle["@acme@example.social"]["network"] == "mastodon"
    assert by_handle["@acme@example.social"]["name"] == "Acme on Mastodon"
    assert by_handle["@acme@example.social"]["timezone"] == "Europe/Paris"
    # Without --timezone a channel takes its workspace's.
    assert by_handle["https://acme.test/feed"]["timezone"] == "UTC"
    assert cli("channel", "list", "--workspace", "globex", "--json").json() == []

    users = cli("user", "list", "--json").json()
    assert {u["email"]: u["workspaces"] for u in users} == {
        "ed@acme.test": {"acme": "editor"},
        "owner@acme.test": {},
    }


BAD_INPUTS = [
    # (what, argv, stdin, exit code, words the message must carry)
    ("duplicate slug", ["workspace", "create", "acme"], None, 4, ["already taken"]),
    ("bad slug", ["workspace", "create", "Acme Coffee"], None, 2, ["invalid workspace slug"]),
    (
        "unknown time zone",
        ["workspace", "create", "new", "--timezone", "Europe/Pariss"],
        None,
        2,
        ["unknown time zone", "Europe/Paris"],
    ),
    (
        "unknown owner",
        ["workspace", "create", "new", "--owner", "nobody@acme.test"],
        None,
        3,
        ["no user with e-mail nobody@acme.test"],
    ),
    (
        "bad network name",
        ["channel", "add", "--workspace", "acme", "--network", "mastadon", "--handle", "@a@b.c"],
        None,
        2,
        ["unknown network 'mastadon'", "did you mean mastodon?"],
    ),
    (
        "channel time zone",
        [
            "channel",
            "add",
            "--workspace",
            "acme",
            "--network",
            "mastodon",
            "--handle",
            "@a@b.c",
            "--timezone",
            "Mars/Olympus",
        ],
        None,
        2,
        ["unknown time zone 'Mars/Olympus'"],
    ),
    (
        "channel in unknown workspace",
        ["channel", "add", "--workspace", "nowhere", "--network", "mastodon", "--handle", "@a"],
        None,
        3,
        ["no workspace 'nowhere'"],
    ),
    (
        "duplicate channel",
        ["channel", "add", "--workspace", "acme", "--network", "mastodon", "--handle", "@acme@x.y"],
        None,
        4,
        ["already has the Mastodon channel"],
    ),
    (
        "channel list of unknown workspace",
        ["channel", "list", "--workspace", "nowhere", "--json"],
        None,
        3,
        ["townsquare workspace list"],
    ),
    (
        "short password",
        ["user", "create", "--email", "new@acme.test", "--password-stdin"],
        "short",
        2,
        ["password too short", "at least 10"],
    ),
    (
        "password not on stdin",
        ["user", "create", "--email", "new@acme.test"],
        None,
        2,
        ["--password-stdin"],
    ),
    (
        "user in unknown workspace",
        [
            "user",
            "create",
            "--email",
            "new@acme.test",
            "--password-stdin",
            "--workspace",
            "nowhere",
            "--role",
            "viewer",
        ],
        PASSWORD,
        3,
        ["no workspace 'nowhere'"],
    ),
    (
        "unknown role",
        [
            "user",
            "create",
            "--email",
            "new@acme.test",
            "--password-stdin",
            "--workspace",
            "acme",
            "--role",
            "boss",
        ],
        PASSWORD,
        2,
        ["unknown role 'boss'"],
    ),
    (
        "role without workspace",
        ["user", "create", "--email", "new@acme.test", "--password-stdin", "--role", "viewer"],
        PASSWORD,
        2,
        ["a workspace is required"],
    ),
    (
        "bad e-mail",
        ["user", "create", "--email", "not-an-email", "--password-stdin"],
        PASSWORD,
        2,
        ["invalid e-mail address"],
    ),
    (
        "duplicate user",
        ["user", "create", "--email", "owner@acme.test", "--password-stdin"],
        PASSWORD,
        4,
        ["already exists"],
    ),
    (
        "set-password of unknown user",
        ["user", "set-password", "--email", "nobody@acme.test", "--password-stdin"],
        PASSWORD,
        3,
        ["no user with e-mail"],
    ),
    (
        "short new password",
        ["user", "set-password", "--email", "owner@acme.test", "--password-stdin"],
        "short",
        2,
        ["password too short"],
    ),
    (
        "token for unknown workspace",
        ["token", "create", "--email", "owner@acme.test", "--workspace", "nowhere"],
        None,
        3,
        ["no workspace 'nowhere'"],
    ),
    (
        "token lifetime",
        ["token", "create", "--email", "owner@acme.test", "--expires-in-days", "0"],
        None,
        2,
        ["expires_in_days must be between 1 and"],
    ),
    (
        "revoke unknown token",
        ["token", "revoke", "9999", "--email", "owner@acme.test"],
        None,
        3,
        ["no API token with id 9999"],
    ),
    (
        "last owner",
        ["workspace", "set-role", "acme", "--email", "owner@acme.test", "--role", "viewer"],
        None,
        2,
        ["at least one owner"],
    ),
    (
        "remove last owner",
        ["workspace", "remove-member", "acme", "--email", "owner@acme.test"],
        None,
        2,
        ["at least one owner"],
    ),
    (
        "delete without --yes",
        ["workspace", "delete", "acme"],
        None,
        2,
        ["add --yes"],
    ),
    (
        "delete unknown workspace",
        ["workspace", "delete", "nowhere", "--yes"],
        None,
        3,
        ["no workspace 'nowhere'"],
    ),
    (
        "missing required option",
        ["channel", "add", "--workspace", "acme", "--handle", "@a@b.c"],
        None,
        2,
        ["--network"],
    ),
]


def test_bad_input_exit_codes_and_nothing_written(cli: Cli, database: Database) -> None:
    _owner(cli)
    assert (
        cli(
            "channel",
            "add",
            "--workspace",
            "acme",
            "--network",
            "mastodon",
            "--handle",
            "@acme@x.y",
        ).code
        == 0
    )
    before = _snapshot(database)
    failures = []
    for what, argv, stdin, code, words in BAD_INPUTS:
        result = cli(*argv, input=stdin)
        message = " ".join(result.err.split())
        if result.code != code or not all(w in message for w in words):
            failures.append(f"{what}: exit {result.code} (expected {code}), stderr {message!r}")
        if result.out.strip():
            failures.append(f"{what}: wrote to stdout: {result.out!r}")
        if _snapshot(database) != before:
            failures.append(f"{what}: the database changed")
            before = _snapshot(database)
    assert not failures, "\n".join(failures)


def test_error_names_the_field(cli: Cli) -> None:
    _owner(cli)
    result = cli("workspace", "create", "new", "--timezone", "Nowhere/City")
    assert result.err.startswith("error [timezone]:")


def test_members_roles_and_tokens(cli: Cli, database: Database) -> None:
    _owner(cli)
    assert (
        cli(
            "user",
            "create",
            "--email",
            "vi@acme.test",
            "--password-stdin",
            "--workspace",
            "acme",
            "--role",
            "viewer",
            input=PASSWORD,
        ).code
        == 0
    )
    members = cli("workspace", "members", "acme", "--json")
    assert members.code == 0
    assert [(m["email"], m["role"]) for m in members.json()] == [
        ("owner@acme.test", "owner"),
        ("vi@acme.test", "viewer"),
    ]
    assert (
        cli("workspace", "set-role", "acme", "--email", "vi@acme.test", "--role", "owner").code == 0
    )
    # Now there are two owners: the first may step down, then leave.
    assert (
        cli("workspace", "set-role", "acme", "--email", "owner@acme.test", "--role", "admin").code
        == 0
    )
    assert cli("workspace", "remove-member", "acme", "--email", "owner@acme.test").code == 0
    assert [m["email"] for m in cli("workspace", "members", "acme", "--json").json()] == [
        "vi@acme.test"
    ]

    created = cli(
        "token",
        "create",
        "--email",
        "vi@acme.test",
        "--workspace",
        "acme",
        "--name",
        "ci",
        "--json",
    )
    assert created.code == 0, created.err
    token = created.json()
    assert token["workspace"] == "acme" and token["token"].startswith("tsq_")
    plain = cli("token", "create", "--email", "vi@acme.test", "--never-expires")
    assert plain.code == 0
    assert plain.out.count("\n") == 1 and plain.out.startswith("tsq_")  # alone on stdout
    with database.session() as session:
        identity = tokens.authenticate_token(session, token["token"])
        assert identity.user.email == "vi@acme.test"
        assert identity.workspace_id is not None
        stored = session.scalars(sa.select(ApiToken.secret_hash)).all()
    assert all(token["token"] not in h for h in stored)  # stored hashed

    listed = cli("token", "list", "--email", "vi@acme.test", "--json").json()
    assert sorted((t["name"], t["workspace"]) for t in listed) == [("ci", "acme"), ("cli", None)]
    assert all("token" not in t for t in listed)
    assert cli("token", "revoke", str(token["id"]), "--email", "vi@acme.test").code == 0
    assert [
        t["name"] for t in cli("token", "list", "--email", "vi@acme.test", "--json").json()
    ] == ["cli"]
    with database.session() as session:
        from townsquare.errors import AuthenticationError

        with pytest.raises(AuthenticationError, match="revoked"):
            tokens.authenticate_token(session, token["token"])


def test_set_password_and_channel_remove(cli: Cli, database: Database) -> None:
    _owner(cli)
    policy = sessions.LoginPolicy()
    with database.session() as session:
        _user, old_key = sessions.login(
            session, email="owner@acme.test", password=PASSWORD, client="t", policy=policy
        )
    changed = cli(
        "user",
        "set-password",
        "--email",
        "owner@acme.test",
        "--password-stdin",
        input="a brand new password\n",
    )
    assert changed.code == 0, changed.err
    with database.session() as session:
        assert sessions.user_for_session(session, old_key) is None  # logged out everywhere
        user, _key = sessions.login(
            session,
            email="owner@acme.test",
            password="a brand new password",
            client="t",
            policy=policy,
        )
        assert user.email == "owner@acme.test"

    assert (
        cli(
            "channel",
            "add",
            "--workspace",
            "acme",
            "--network",
            "bluesky",
            "--handle",
            "acme.bsky.social",
        ).code
        == 0
    )
    removed = cli("channel", "remove", "--workspace", "acme", "--channel", "acme.bsky.social")
    assert removed.code == 0, removed.err
    assert cli("channel", "list", "--workspace", "acme", "--json").json() == []
    again = cli("channel", "remove", "--workspace", "acme", "--channel", "acme.bsky.social")
    assert again.code == 3


def test_workspace_delete(cli: Cli, database: Database) -> None:
    _owner(cli)
    assert cli("workspace", "create", "globex").code == 0
    assert cli("channel", "add", "--workspace", "acme", "--network", "rss",
               "--handle", "https://acme.test/feed").code == 0  # fmt: skip
    deleted = cli("workspace", "delete", "acme", "--yes")
    assert deleted.code == 0, deleted.err
    assert [w["slug"] for w in cli("workspace", "list", "--json").json()] == ["globex"]
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM channels")).scalar() == 0


def test_workspace_audit(cli: Cli) -> None:
    _owner(cli)
    assert cli("channel", "add", "--workspace", "acme", "--network", "rss",
               "--handle", "https://acme.test/feed").code == 0  # fmt: skip
    events = cli("workspace", "audit", "acme", "--json")
    assert events.code == 0
    actions = [e["action"] for e in events.json()]
    assert actions[0] == "channel.added" and "workspace.created" in actions
    assert cli("workspace", "audit", "nowhere").code == 3


def test_unreachable_database_is_explained(tmp_path: Path) -> None:
    from tests.conftest import free_port

    url = f"postgresql+psycopg://someone:hunter2@127.0.0.1:{free_port()}/nothing"
    result = Cli(tmp_path / "data", url)("workspace", "list", "--json")
    message = " ".join(result.err.split())
    assert result.code == 1 and result.out == ""
    assert "cannot use the database" in message and "TOWNSQUARE_DATABASE_URL" in message
    assert "hunter2" not in message and "Traceback" not in message


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    cli = Cli(data_dir, None)
    assert cli("workspace", "create", "solo").code == 0
    assert (data_dir / "townsquare.db").exists()
    assert [w["slug"] for w in cli("workspace", "list", "--json").json()] == ["solo"]


def test_channel_credentials_from_stdin_are_encrypted(
    cli: Cli, database: Database, data_dir: Path
) -> None:
    _owner(cli)
    secret = "cli-secret-token-marker"
    added = cli(
        "channel", "add", "--workspace", "acme", "--network", "mastodon",
        "--handle", "@acme@example.social", "--credentials-stdin", "--json", "--no-check",
        input=json.dumps({"access_token": secret}),
    )  # fmt: skip
    assert added.code == 0, added.err
    assert added.json()["has_credentials"] is True and secret not in added.out
    with database.engine.connect() as connection:
        raw = bytes(
            connection.execute(sa.text("SELECT credentials_encrypted FROM channels")).scalar()
        )
    assert secret.encode() not in raw
    key = (data_dir / "credentials.key").read_bytes().strip()
    assert json.loads(Fernet(key).decrypt(raw)) == {"access_token": secret}

    before = _snapshot(database)
    for bad in ("not json", "[1, 2]", "{}"):
        result = cli(
            "channel", "add", "--workspace", "acme", "--network", "bluesky",
            "--handle", "acme.bsky.social", "--credentials-stdin", input=bad,
        )  # fmt: skip
        assert result.code == 2, (bad, result.err)
        assert "error [credentials]" in result.err
    assert _snapshot(database) == before


def test_disable_and_enable_a_user(cli: Cli, database: Database) -> None:
    from townsquare.errors import AuthenticationError

    _owner(cli)
    token = cli("token", "create", "--email", "owner@acme.test").out.strip()
    policy = sessions.LoginPolicy()
    with database.session() as session:
        _user, key = sessions.login(
            session, email="owner@acme.test", password=PASSWORD, client="t", policy=policy
        )
    assert cli("user", "disable", "--email", "owner@acme.test").code == 0
    assert cli("user", "list", "--json").json()[0]["is_active"] is False
    with database.session() as session:
        with pytest.raises(AuthenticationError, match="disabled"):
            tokens.authenticate_token(session, token)
        assert sessions.user_for_session(session, key) is None
        with pytest.raises(AuthenticationError):
            sessions.login(
                session, email="owner@acme.test", password=PASSWORD, client="u", policy=policy
            )
    assert cli("user", "enable", "--email", "owner@acme.test").code == 0
    with database.session() as session:
        assert tokens.authenticate_token(session, token).user.email == "owner@acme.test"
    assert cli("user", "disable", "--email", "nobody@acme.test").code == 3
