"""Use cases for users, workspaces and members. Each public function is one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound, PermissionDenied, ValidationError
from townsquare.workspaces import audit
from townsquare.workspaces.models import Membership, User, Workspace
from townsquare.workspaces.passwords import hash_password, verify_password
from townsquare.workspaces.roles import Role

SUPPORTED_LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class WorkspaceAccess:
    """A user's access to one workspace: what every scoped service call starts from."""

    workspace: Workspace
    user: User | None  # None for the command line, which acts with the operator's rights
    role: Role

    @property
    def workspace_id(self) -> int:
        return self.workspace.id

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @classmethod
    def operator(cls, workspace: Workspace) -> WorkspaceAccess:
        """Full access for the command line (whoever runs it can read the database anyway)."""
        return cls(workspace=workspace, user=None, role=Role.OWNER)

    def require(self, role: Role, action: str = "do this") -> None:
        if not self.role.at_least(role):
            raise PermissionDenied(
                f"your role in workspace '{self.workspace.slug}' is {self.role.value}; "
                f"to {action} you need {role.value} or higher: ask an owner or admin"
            )


# --- users -------------------------------------------------------------------------------


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def needs_setup(session: Session) -> bool:
    """True until the first user exists (the web app then shows the set-up page)."""
    return count_users(session) == 0


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str | None = None,
    is_admin: bool = False,
    language: str | None = None,
    workspace: str | None = None,
    role: str | Role | None = None,
    actor: User | None = None,
) -> User:
    """Create a user, optionally as a member of ``workspace`` with ``role``.

    The very first user is always an instance administrator. Raises Conflict when the
    e-mail is taken and ValidationError for a bad e-mail, password, workspace or role.
    """
    address = validation.email(email)
    validation.password(password)
    if language is not None and language not in SUPPORTED_LANGUAGES:
        raise ValidationError(
            f"unsupported language {language!r}: choose en or fr", field="language"
        )
    parsed_role = Role.parse(role) if isinstance(role, str) else role
    if workspace is not None and parsed_role is None:
        raise ValidationError("a role is required with a workspace", field="role")
    if parsed_role is not None and workspace is None:
        raise ValidationError("a workspace is required with a role", field="workspace")
    target = get_workspace(session, workspace) if workspace is not None else None
    if target is not None and actor is not None:
        access = access_for(session, actor, target.slug)
        access.require(Role.ADMIN, "add members")
        if parsed_role is Role.OWNER:
            access.require(Role.OWNER, "add an owner")
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(
            f"a user with e-mail {address} already exists: add them to the workspace instead",
            field="email",
        )
    user = User(
        email=address,
        password_hash=hash_password(password),
        display_name=validation.no_nul((display_name or "").strip(), field="display_name") or None,
        is_admin=is_admin or count_users(session) == 0,
        language=language,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    if target is not None and parsed_role is not None:
        session.add(Membership(workspace_id=target.id, user_id=user.id, role=parsed_role.value))
        audit.record(
            session,
            "member.added",
            workspace_id=target.id,
            user_id=actor.id if actor else None,
            target=address,
            details={"role": parsed_role.value},
        )
    _commit_or_conflict(session, f"a user with e-mail {address} already exists", "email")
    return user


def get_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def get_user_by_email(session: Session, email: str) -> User | None:
    address = email.strip().lower()
    if "\x00" in address:  # no stored address has one, and PostgreSQL cannot compare it
        return None
    return session.scalar(select(User).where(User.email == address))


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    from townsquare.errors import AuthenticationError

    if not verify_password(user.password_hash, current):
        raise AuthenticationError("current password is wrong: type it again", field="current")
    validation.password(new)
    if current == new:
        raise ValidationError("the new password must differ from the current one", field="new")
    user = session.merge(user)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    audit.record(session, "user.password_changed", user_id=user.id)
    session.commit()


def reset_password(session: Session, email: str, new: str) -> User:
    """Set a user's password without the old one (operators, from the command line).

    Like a change of password, it ends every session the user had open.
    """
    validation.password(new)
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(
            f"no user with e-mail {email}: list them with `townsquare user list`", field="email"
        )
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    audit.record(session, "user.password_reset", user_id=user.id, target=user.email)
    session.commit()
    return user


def set_active(session: Session, email: str, *, active: bool) -> User:
    """Disable (or enable again) an account: a disabled user's sessions and API tokens stop
    working at once, and they cannot log in; their memberships and history are kept."""
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(
            f"no user with e-mail {email}: list them with `townsquare user list`", field="email"
        )
    user.is_active = active
    audit.record(
        session, "user.enabled" if active else "user.disabled", user_id=None, target=user.email
    )
    session.commit()
    return user


def set_language(session: Session, user: User, language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationError(
            f"unsupported language {language!r}: choose en or fr", field="language"
        )
    user = session.merge(user)
    user.language = language
    session.commit()


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
    if session.scalar(select(Workspace.id).where(Workspace.slug == clean_slug)) is not None:
        raise Conflict(
            f"workspace slug '{clean_slug}' is already taken: choose another slug", field="slug"
        )
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
    _commit_or_conflict(session, f"workspace slug '{clean_slug}' is already taken", "slug")
    return workspace


def get_workspace(session: Session, slug: str) -> Workspace:
    """The workspace named ``slug`` (unscoped: for administrators and the CLI)."""
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug.strip()))
    if workspace is None:
        raise NotFound(
            f"no workspace '{slug}': list them with `townsquare workspace list`",
            field="workspace",
        )
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


def access_for(session: Session, user: User, slug: str) -> WorkspaceAccess:
    """The user's access to workspace ``slug``.

    Raises NotFound (never PermissionDenied) when the user is not a member, so that the
    existence of other clients' workspaces is not revealed.
    """
    row = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Workspace.slug == slug, Membership.user_id == user.id)
    ).first()
    if row is None:
        raise NotFound(f"no workspace '{slug}' among yours", field="workspace")
    workspace, role = row
    return WorkspaceAccess(workspace=workspace, user=user, role=Role(role))


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
            f"deleting workspace '{slug}' removes everything in it for good: confirm with its "
            f"slug ({slug!r})",
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
            f"no user with e-mail {email}: create the user with a password first", field="email"
        )
    existing = session.scalar(
        select(Membership).where(
            Membership.workspace_id == access.workspace_id, Membership.user_id == user.id
        )
    )
    if existing is not None:
        raise Conflict(f"{user.email} is already a member (as {existing.role})", field="email")
    session.add(Membership(workspace_id=access.workspace_id, user_id=user.id, role=parsed.value))
    audit.record(
        session,
        "member.added",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=user.email,
        details={"role": parsed.value},
    )
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
        raise NotFound(f"no member with id {user_id} in this workspace", field="user_id")
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


def _commit_or_conflict(session: Session, message: str, field: str) -> None:
    # Two requests racing past the existence check both reach the unique index.
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, field=field) from None
