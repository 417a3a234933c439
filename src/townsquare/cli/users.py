"""``townsquare user``: accounts."""

from __future__ import annotations

import sys
from typing import Any

import typer

from townsquare.cli.common import console, open_session, print_json
from townsquare.errors import ValidationError
from townsquare.workspaces import service

app = typer.Typer(help="User accounts.", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    # Never on the command line, where `ps` and the shell history would show it.
    if not password_stdin:
        raise ValidationError(
            "give the password on standard input with --password-stdin, e.g. "
            '`echo "$PASSWORD" | townsquare user create --email … --password-stdin`',
            field="password",
        )
    return sys.stdin.readline().rstrip("\r\n")


@app.command("create")
def create(
    email: str = typer.Option(..., "--email", help="The user's e-mail, used to log in."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    workspace: str | None = typer.Option(None, "--workspace", help="Add to this workspace…"),
    role: str | None = typer.Option(
        None, "--role", help="…with this role: owner, admin, editor, contributor or viewer."
    ),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    admin: bool = typer.Option(
        False, "--admin", help="Instance administrator (creates workspaces and users)."
    ),
    language: str | None = typer.Option(None, "--language", help="en or fr."),
    as_json: bool = typer.Option(False, "--json", help="Print the new user as JSON."),
) -> None:
    """Create a user (the first one is always an instance administrator)."""
    password = _read_password(password_stdin)
    with open_session() as session:
        user = service.create_user(
            session,
            email=email,
            password=password,
            display_name=name,
            is_admin=admin,
            language=language,
            workspace=workspace,
            role=role,
        )
        result = {"id": user.id, "email": user.email, "is_admin": user.is_admin}
        if workspace:
            result.update(workspace=workspace, role=role)
    if as_json:
        print_json(result)
    else:
        console.print(f"created user {user.email}" + (f" in {workspace} as {role}" if role else ""))


@app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users and the workspaces they belong to."""
    with open_session() as session:
        rows: list[dict[str, Any]] = []
        from sqlalchemy import select

        from townsquare.workspaces.models import User

        for user in session.scalars(select(User).order_by(User.email)):
            rows.append(
                {
                    "id": user.id,
                    "email": user.email,
                    "is_admin": user.is_admin,
                    "is_active": user.is_active,
                    "workspaces": {
                        ws.slug: role.value for ws, role in service.workspaces_of(session, user)
                    },
                }
            )
    if as_json:
        print_json(rows)
        return
    for row in rows:
        memberships = ", ".join(f"{slug} ({role})" for slug, role in row["workspaces"].items())
        admin = " [admin]" if row["is_admin"] else ""
        console.print(f"{row['email']}{admin}: {memberships or 'no workspace'}")


@app.command("set-password")
def set_password(
    email: str = typer.Option(..., "--email"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input."
    ),
) -> None:
    """Set a user's password (ends their open sessions)."""
    password = _read_password(password_stdin)
    with open_session() as session:
        user = service.reset_password(session, email, password)
        address = user.email
    console.print(f"password of {address} changed; their sessions are closed")


@app.command("disable")
def disable(email: str = typer.Option(..., "--email")) -> None:
    """Disable an account: its sessions and API tokens stop working at once."""
    with open_session() as session:
        service.set_active(session, email, active=False)
    console.print(f"disabled {email}")


@app.command("enable")
def enable(email: str = typer.Option(..., "--email")) -> None:
    """Enable a disabled account again."""
    with open_session() as session:
        service.set_active(session, email, active=True)
    console.print(f"enabled {email}")
