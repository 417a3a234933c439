"""``townsquare workspace``: one per brand or client."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from townsquare.cli.common import (
    console,
    err_console,
    open_session,
    operator_access,
    print_json,
    settings,
)
from townsquare.errors import NotFound
from townsquare.workspaces import service
from townsquare.workspaces.invitation_models import Invitation
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
        owner_user = None
        if owner:
            # Found before anything is written: an unknown owner leaves no orphan workspace.
            owner_user = service.get_user_by_email(session, owner)
            if owner_user is None:
                raise NotFound(
                    "no user with e-mail %(owner)s: create them first with `townsquare user "
                    "create`",
                    params={"owner": owner},
                    field="owner",
                )
        workspace = service.create_workspace(
            session, slug, name=name, timezone=timezone, owner=owner_user, operator=True
        )
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
    """Give an existing user a role in a workspace (directly: the operator's right)."""
    with open_session() as session:
        access = service.WorkspaceAccess.operator(service.get_workspace(session, slug))
        member = service.add_member(session, access, email=email, role=role)
    console.print(f"{member.email} is now {member.role.value} of {slug}")


@app.command("invite")
def invite(
    slug: str = typer.Argument(..., help="Workspace slug."),
    email: str = typer.Option(..., "--email", help="Address of the person to invite."),
    role: str = typer.Option(..., "--role", help="owner, admin, editor, contributor or viewer."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Invite someone: a link that works once (e-mailed when TOWNSQUARE_SMTP_URL is set)."""
    from townsquare.workspaces import invitations

    config = settings()
    base_url = config.base_url or f"http://{config.host}:{config.port}"
    with open_session() as session:
        issued = invitations.invite(
            session,
            operator_access(session, slug),
            email=email,
            role=role,
            settings=config,
            base_url=base_url,
        )
        data = {
            **invitation_json(issued.invitation),
            "url": issued.url,
            "emailed": issued.emailed,
        }
    if as_json:
        print_json(data)
        return
    console.print(f"invited {data['email']} to {slug} as {data['role']}")
    console.print(f"link (works once, expires {data['expires_at']:%Y-%m-%d}): {data['url']}")
    if issued.emailed:
        console.print("the link was e-mailed")
    elif issued.mail_error:
        err_console.print(f"the e-mail could not be sent: {issued.mail_error}", highlight=False)


def invitation_json(invitation: Invitation) -> dict[str, object]:
    from townsquare.workspaces import invitations

    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitations.status_of(invitation).value,
        "expires_at": invitation.expires_at,
        "created_at": invitation.created_at,
        "invited_by_user_id": invitation.invited_by_id,
    }


invitations_app = typer.Typer(help="Invitations to join a workspace.", no_args_is_help=True)
app.add_typer(invitations_app, name="invitations")


@invitations_app.command("list")
def invitations_list(
    slug: str = typer.Argument(..., help="Workspace slug."),
    include_closed: bool = typer.Option(
        False, "--all", help="Also accepted, revoked and expired invitations."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a workspace's pending invitations, newest first."""
    from townsquare.workspaces import invitations

    with open_session() as session:
        rows = [
            invitation_json(invitation)
            for invitation in invitations.list_invitations(
                session, operator_access(session, slug), include_closed=include_closed
            )
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "e-mail", "role", "status", "expires")
    for row in rows:
        table.add_row(
            str(row["id"]), str(row["email"]), str(row["role"]), str(row["status"]),
            f"{row['expires_at']:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    console.print(table)


@invitations_app.command("revoke")
def invitations_revoke(
    slug: str = typer.Argument(..., help="Workspace slug."),
    invitation_id: int = typer.Argument(..., help="The invitation's id (see `list`)."),
) -> None:
    """Revoke a pending invitation: its link stops working."""
    from townsquare.workspaces import invitations

    with open_session() as session:
        invitations.revoke_invitation(session, operator_access(session, slug), invitation_id)
    console.print(f"revoked invitation {invitation_id} of {slug}")


@app.command("members")
def members(
    slug: str = typer.Argument(..., help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a workspace's members and their roles."""
    with open_session() as session:
        rows = [
            {
                "user_id": m.user_id,
                "email": m.email,
                "name": m.display_name,
                "role": m.role.value,
            }
            for m in service.list_members(session, operator_access(session, slug))
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("e-mail", "name", "role")
    for row in rows:
        table.add_row(str(row["email"]), str(row["name"] or ""), str(row["role"]))
    console.print(table)


@app.command("set-role")
def set_role(
    slug: str = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
    role: str = typer.Option(..., "--role"),
) -> None:
    """Change a member's role (a workspace always keeps one owner)."""
    with open_session() as session:
        access = operator_access(session, slug)
        user = _member_user(session, slug, email)
        member = service.set_member_role(session, access, user_id=user, role=role)
    console.print(f"{member.email} is now {member.role.value} of {slug}")


@app.command("remove-member")
def remove_member(
    slug: str = typer.Argument(...),
    email: str = typer.Option(..., "--email"),
) -> None:
    """Remove a member from a workspace (not its last owner)."""
    with open_session() as session:
        access = operator_access(session, slug)
        service.remove_member(session, access, user_id=_member_user(session, slug, email))
    console.print(f"removed {email} from {slug}")


def _member_user(session: Session, slug: str, email: str) -> int:
    user = service.get_user_by_email(session, email)
    if user is None:
        raise NotFound(
            "no user with e-mail %(email)s: see `townsquare workspace members %(slug)s`",
            params={"email": email, "slug": slug},
            field="email",
        )
    return user.id


@app.command("delete")
def delete(
    slug: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="Confirm: everything in it is deleted."),
) -> None:
    """Delete a workspace and everything in it (channels, posts, links, clicks, tokens)."""
    from townsquare.errors import ValidationError

    if not yes:
        raise ValidationError(
            "deleting workspace '%(slug)s' removes everything in it for good: add --yes",
            params={"slug": slug},
            field="yes",
        )
    with open_session() as session:
        service.delete_workspace(session, operator_access(session, slug), confirm=slug)
    console.print(f"deleted workspace {slug}")


@app.command("audit")
def audit_log(
    slug: str = typer.Argument(...),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show who did what in a workspace, newest first."""
    from townsquare.workspaces import audit

    with open_session() as session:
        workspace = service.get_workspace(session, slug)
        rows = [
            {
                "at": event.at,
                "action": event.action,
                "target": event.target,
                "user_id": event.user_id,
                "details": event.details,
            }
            for event in audit.recent(session, workspace.id, limit)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("at", "action", "target", "user")
    for row in rows:
        table.add_row(
            f"{row['at']:%Y-%m-%d %H:%M}", str(row["action"]), str(row["target"] or ""),
            str(row["user_id"] or "cli"),
        )  # fmt: skip
    console.print(table)
