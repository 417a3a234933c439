"""``townsquare token``: API tokens, for scripts and integrations."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from townsquare.cli.common import console, err_console, open_session, print_json
from townsquare.errors import NotFound
from townsquare.workspaces import tokens
from townsquare.workspaces.models import ApiToken, User, Workspace
from townsquare.workspaces.service import get_user_by_email

app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)


def _user(session: Session, email: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(
            "no user with e-mail %(email)s: list them with `townsquare user list`",
            params={"email": email},
            field="email",
        )
    return user


def token_json(session: Session, token: ApiToken) -> dict[str, object]:
    workspace = session.get(Workspace, token.workspace_id) if token.workspace_id else None
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "workspace": workspace.slug if workspace else None,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "created_at": token.created_at,
    }


@app.command("create")
def create(
    email: str = typer.Option(..., "--email", help="The user the token acts as."),
    workspace: str | None = typer.Option(
        None, "--workspace", help="Restrict the token to this workspace (recommended)."
    ),
    name: str = typer.Option("cli", "--name", help="A label to recognise it by."),
    expires_in_days: int = typer.Option(90, "--expires-in-days", help="Lifetime in days."),
    never_expires: bool = typer.Option(False, "--never-expires", help="No expiry date."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a token; it is printed once (alone on stdout, for `TOKEN=$(…)`)."""
    with open_session() as session:
        user = _user(session, email)
        issued = tokens.create_token(
            session,
            user,
            name=name,
            expires_in_days=None if never_expires else expires_in_days,
            workspace=workspace,
        )
        data = token_json(session, issued.token) | {"token": issued.plaintext}
    if as_json:
        print_json(data)
        return
    print(issued.plaintext)  # the one machine-readable line on stdout
    scope = f"workspace {workspace}" if workspace else "all of the user's workspaces"
    err_console.print(f"token {name!r} for {email} ({scope}): store it now, it is not shown again")


@app.command("list")
def list_tokens(
    email: str = typer.Option(..., "--email"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a user's live tokens (never the tokens themselves)."""
    with open_session() as session:
        rows = [token_json(session, t) for t in tokens.list_tokens(session, _user(session, email))]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "workspace", "expires", "last used")
    for row in rows:
        table.add_row(
            *(str(row[k] or "") for k in ("id", "name", "workspace", "expires_at", "last_used_at"))
        )
    console.print(table)


@app.command("revoke")
def revoke(
    token_id: int = typer.Argument(..., help="The token's id (see `townsquare token list`)."),
    email: str = typer.Option(..., "--email", help="The token's user."),
) -> None:
    """Revoke a token at once."""
    with open_session() as session:
        tokens.revoke_token(session, _user(session, email), token_id)
    console.print(f"revoked token {token_id}")
