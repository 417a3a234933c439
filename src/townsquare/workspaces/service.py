"""Use cases for workspaces and their members. Each public function is one transaction.

Accounts live in ``users.py`` and access checks in ``access.py``; their names are
re-exported here, where callers have always found them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.errors import Conflict, NotFound, PermissionDenied, ValidationError
from townsquare.messages import Message
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess, access_for, get_workspace
from townsquare.workspaces.models import Membership, User, Workspace
from townsquare.workspaces.roles import Role
from townsquare.workspaces.users import (
    SUPPORTED_LANGUAGES,
    change_password,
    commit_or_conflict,
    count_users,
    create_user,
    get_user,
    get_user_by_email,
    join_workspace,
    needs_setup,
    reset_password,
    set_active,
    set_language,
)

__all__ = [
    "SUPPORTED_LANGUAGES",
    "Member",
    "WorkspaceAccess",
    "access_for",
    "add_member",
    "add_or_create_member",
    "change_password",
    "count_users",
    "create_user",
    "create_workspace",
    "delete_workspace",
    "get_user",
    "get_user_by_email",
    "get_workspace",
    "join_workspace",
    "list_members",
    "list_workspaces",
    "needs_setup",
    "remove_member",
    "reset_password",
    "set_active",
    "set_language",
    "set_member_role",
    "update_workspace",
    "workspaces_of",
]


# --- workspaces --------------------------------------------------------------------------


def create_workspace(
    session: Session,
    slug: str,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    owner: User | None = None,
    operator: bool = False,
) -> Workspace:
    """Create a workspace; ``owner`` becomes its owner, in the same transaction.

    Through the web and the API the owner is the caller, who must be an instance
    administrator; the command line (``operator=True``) may make any user the owner.
    """
    clean_slug = validation.workspace_slug(slug)
    clean_name = validation.non_empty(name or clean_slug, field="name")
    clean_timezone = validation.timezone(timezone)
    if owner is not None and not owner.is_admin and not operator:
        raise PermissionDenied(
            "only instance administrators create workspaces: ask one to create it for you"
        )
    taken = Message(
        "workspace slug '%(slug)s' is already taken: choose another slug", slug=clean_slug
    )
    if session.scalar(select(Workspace.id).where(Workspace.slug == clean_slug)) is not None:
        raise Conflict(taken, field="slug")
    workspace = Workspace(slug=clean_slug, name=clean_name, timezone=clean_timezone, settings={})
    session.add(workspace)
    session.flush()
    if owner is not None:
        session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role=Role.OWNER))
    audit.record(
        session,
        "workspace.created",
        workspace_id=workspace.id,
        user_id=owner.id if owner else None,
        target=clean_slug,
    )
    commit_or_conflict(session, taken, "slug")
    return workspace


def list_workspaces(session: Session) -> list[Workspace]:
    return list(session.scalars(select(Workspace).order_by(Workspace.slug)))


def workspaces_of(session: Session, user: User) -> list[tuple[Workspace, Role]]:
    query = (
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id)
        .order_by(Workspace.name)
    )
    return [(workspace, Role(role)) for workspace, role in session.execute(query)]


def update_workspace(
    session: Session, access: WorkspaceAccess, *, name: str | None, timezone: str | None
) -> Workspace:
    access.require(Role.ADMIN, "change workspace settings")
    workspace = session.merge(access.workspace)
    if name is not None:
        workspace.name = validation.non_empty(name, field="name")
    if timezone is not None:
        workspace.timezone = validation.timezone(timezone)
    audit.record(session, "workspace.updated", workspace_id=workspace.id, user_id=access.user_id)
    session.commit()
    return workspace


def delete_workspace(session: Session, access: WorkspaceAccess, *, confirm: str) -> None:
    """Delete the workspace and everything in it (owners only; ``confirm`` is its slug).

    Every row of a workspace references it with ON DELETE CASCADE, so one statement removes
    channels, posts, snapshots, links, clicks, tokens restricted to it and its audit log;
    the deletion itself is recorded in the instance-wide audit log.
    """
    from sqlalchemy import delete

    access.require(Role.OWNER, "delete the workspace")
    slug = access.workspace.slug
    if confirm.strip() != slug:
        raise ValidationError(
            "deleting workspace '%(slug)s' removes everything in it for good: confirm with its "
            "slug ('%(slug)s')",
            params={"slug": slug},
            field="confirm",
        )
    session.execute(delete(Workspace).where(Workspace.id == access.workspace_id))
    audit.record(session, "workspace.deleted", user_id=access.user_id, target=slug)
    session.commit()


# --- members -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user_id: int
    email: str
    display_name: str | None
    role: Role


def list_members(session: Session, access: WorkspaceAccess) -> list[Member]:
    query = (
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == access.workspace_id)
        .order_by(User.email)
    )
    return [
        Member(user.id, user.email, user.display_name, Role(role))
        for user, role in session.execute(query)
    ]


def add_member(
    session: Session, access: WorkspaceAccess, *, email: str, role: str | Role
) -> Member:
    """Give an existing user a role in the workspace (admin or owner only)."""
    parsed = Role.parse(role) if isinstance(role, str) else role
    access.require(Role.ADMIN, "add members")
    if parsed is Role.OWNER:
        access.require(Role.OWNER, "add an owner")
    user = get_user_by_email(session, validation.email(email))
    if user is None:
        raise NotFound(
            "no user with e-mail %(email)s: create the user with a password first",
            params={"email": email},
            field="email",
        )
    existing = session.scalar(
        select(Membership).where(
            Membership.workspace_id == access.workspace_id, Membership.user_id == user.id
        )
    )
    if existing is not None:
        raise Conflict(
            "%(email)s is already a member (as %(role)s)",
            params={"email": user.email, "role": existing.role},
            field="email",
        )
    join_workspace(session, access.workspace_id, user, parsed, actor_id=access.user_id)
    session.commit()
    return Member(user.id, user.email, user.display_name, parsed)


def add_or_create_member(
    session: Session,
    access: WorkspaceAccess,
    *,
    email: str,
    role: str,
    password: str | None = None,
    display_name: str | None = None,
) -> Member:
    """Add an existing user, or create them first when a password is given (admins)."""
    access.require(Role.ADMIN, "add members")
    if password and get_user_by_email(session, email) is None:
        user = create_user(
            session,
            email=email,
            password=password,
            display_name=display_name,
            workspace=access.workspace.slug,
            role=role,
            actor=access.user,
        )
        return Member(user.id, user.email, user.display_name, Role.parse(role))
    return add_member(session, access, email=email, role=role)


def set_member_role(
    session: Session, access: WorkspaceAccess, *, user_id: int, role: str | Role
) -> Member:
    parsed = Role.parse(role) if isinstance(role, str) else role
    access.require(Role.ADMIN, "change roles")
    membership = _membership(session, access, user_id)
    if Role.OWNER in (parsed, Role(membership.role)):
        access.require(Role.OWNER, "change an owner's role or make an owner")
    if Role(membership.role) is Role.OWNER and parsed is not Role.OWNER:
        _ensure_another_owner(session, access, user_id)
    membership.role = parsed.value
    audit.record(
        session,
        "member.role_changed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=membership.user.email,
        details={"role": parsed.value},
    )
    session.commit()
    user = membership.user
    return Member(user.id, user.email, user.display_name, parsed)


def remove_member(session: Session, access: WorkspaceAccess, *, user_id: int) -> None:
    access.require(Role.ADMIN, "remove members")
    membership = _membership(session, access, user_id)
    if Role(membership.role) is Role.OWNER:
        access.require(Role.OWNER, "remove an owner")
        _ensure_another_owner(session, access, user_id)
    audit.record(
        session,
        "member.removed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=membership.user.email,
    )
    session.delete(membership)
    session.commit()


def _membership(session: Session, access: WorkspaceAccess, user_id: int) -> Membership:
    membership = session.scalar(
        select(Membership).where(
            Membership.workspace_id == access.workspace_id, Membership.user_id == user_id
        )
    )
    if membership is None:
        raise NotFound(
            "no member with id %(user_id)s in this workspace",
            params={"user_id": user_id},
            field="user_id",
        )
    return membership


def _ensure_another_owner(session: Session, access: WorkspaceAccess, user_id: int) -> None:
    owners = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.workspace_id == access.workspace_id,
            Membership.role == Role.OWNER.value,
            Membership.user_id != user_id,
        )
    )
    if not owners:
        raise ValidationError(
            "a workspace needs at least one owner: make someone else owner first", field="role"
        )
