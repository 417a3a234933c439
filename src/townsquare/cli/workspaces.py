"""``townsquare workspace``: one per brand or client."""

from __future__ import annotations

import typer
from rich.table import Table

from townsquare.cli.common import console, open_session, print_json
from townsquare.workspaces import service
from townsquare.workspaces.models import Workspace

app = typer.Typer(help="Workspaces (one per brand or client).", no_args_is_help=True)


def workspace_json(workspace: Workspace) -> dict[str, object]:
    return {
        "id": workspace.id,
        "slug": workspace.slug,
        "name": workspace.name,
        "timezone": workspace.timezone,
        "created_at": workspace.created_at,
    }


@app.command("create")
def create(
    slug: str = typer.Argument(..., help="Short name in URLs: lower-case letters, digits, -."),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the slug)."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Europe/Paris."),
    owner: str | None = typer.Option(None, "--owner", help="E-mail of a user to make owner."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a workspace."""
    with open_session() as session:
        workspace = service.create_workspace(session, slug, name=name, timezone=timezone)
        if owner:
            access = service.WorkspaceAccess.operator(workspace)
            service.add_member(session, access, email=owner, role="owner")
        data = workspace_json(workspace)
    if as_json:
        print_json(data)
    else:
        console.print(f"created workspace {data['slug']} ({data['name']})")


@app.command("list")
def list_workspaces(as_json: bool = typer.Option(False, "--json")) -> None:
    """List every workspace."""
    with open_session() as session:
        rows = [workspace_json(ws) for ws in service.list_workspaces(session)]
    if as_json:
        print_json(rows)
        return
    table = Table("slug", "name", "time zone")
    for row in rows:
        table.add_row(str(row["slug"]), str(row["name"]), str(row["timezone"]))
    console.print(table)


@app.command("add-member")
def add_member(
    slug: str = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    role: str = typer.Option(..., "--role"),
) -> None:
    """Give an existing user a role in a workspace."""
    with open_session() as session:
        access = service.WorkspaceAccess.operator(service.get_workspace(session, slug))
        member = service.add_member(session, access, email=email, role=role)
    console.print(f"{member.email} is now {member.role.value} of {slug}")
