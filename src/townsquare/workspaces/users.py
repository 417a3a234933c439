"""Use cases for user accounts. Each public function is one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound, ValidationError
from townsquare.messages import Message
from townsquare.ratelimit import Counter
from townsquare.workspaces import audit
from townsquare.workspaces.access import access_for, get_workspace
from townsquare.workspaces.models import Membership, User
from townsquare.workspaces.passwords import hash_password
from townsquare.workspaces.roles import Role
from townsquare.workspaces.sessions import LoginPolicy, check_current_password

SUPPORTED_LANGUAGES = ("en", "fr")


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
            "unsupported language %(language)r: choose en or fr",
            params={"language": language},
            field="language",
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
    taken = Message(
        "a user with e-mail %(address)s already exists: add them to the workspace instead",
        address=address,
    )
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(taken, field="email")
    user = User(
        email=address,
        password_hash=hash_password(password),
        display_name=validation.no_nul((display_name or "").strip(), field="display_name") or None,
        is_admin=is_admin or count_users(session) == 0,
        language=language,
        password_changed_at=utcnow(),
    )
    session.add(user)
    with unique_or_conflict(session, taken, "email"):
        session.flush()  # where a request racing past the check meets the unique index
        if target is not None and parsed_role is not None:
            join_workspace(
                session, target.id, user, parsed_role, actor_id=actor.id if actor else None
            )
        session.commit()
    return user


def join_workspace(
    session: Session,
    workspace_id: int,
    user: User,
    role: Role,
    *,
    actor_id: int | None,
    details: dict[str, object] | None = None,
) -> None:
    """Make ``user`` a member of the workspace with ``role`` and record ``member.added`` in
    its audit log, uncommitted: the one place a membership is added (a new user with a
    workspace, :func:`service.add_member`, an accepted invitation). The caller has checked
    the roles and that ``user`` is not a member yet."""
    session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role.value))
    audit.record(
        session,
        "member.added",
        workspace_id=workspace_id,
        user_id=actor_id,
        target=user.email,
        details={"role": role.value, **(details or {})},
    )


def get_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def get_user_by_email(session: Session, email: str) -> User | None:
    address = email.strip().lower()
    if "\x00" in address:  # no stored address has one, and PostgreSQL cannot compare it
        return None
    return session.scalar(select(User).where(User.email == address))


def change_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    client: str | None = None,
    policy: LoginPolicy | None = None,
    counter: Counter | None = None,
) -> None:
    """Change a user's password. The current one is checked through the login limiter
    (per user, and per ``client`` when given), before its hash is computed."""
    check_current_password(
        session, user, current, client=client, policy=policy or LoginPolicy(), counter=counter
    )
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
            "no user with e-mail %(email)s: list them with `townsquare user list`",
            params={"email": email},
            field="email",
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
            "no user with e-mail %(email)s: list them with `townsquare user list`",
            params={"email": email},
            field="email",
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
            "unsupported language %(language)r: choose en or fr",
            params={"language": language},
            field="language",
        )
    user = session.merge(user)
    user.language = language
    session.commit()


@contextmanager
def unique_or_conflict(session: Session, message: Message, field: str) -> Iterator[None]:
    """Run the block; when a unique index refuses its writes, roll back and raise Conflict
    with ``message`` (a template with its values, so that the web translates it)."""
    # Two requests racing past the existence check both reach the unique index.
    try:
        yield
    except IntegrityError:
        session.rollback()
        raise Conflict(message, field=field) from None


def commit_or_conflict(session: Session, message: Message, field: str) -> None:
    """Commit, or raise Conflict with ``message`` when a unique index refuses the change."""
    with unique_or_conflict(session, message, field):
        session.commit()
