"""Invitations: how someone who is not yet a colleague joins a workspace.

A workspace admin may add directly only people who are already members of a workspace they
administer (they know them). Anyone else gets an invitation: a single-use link that expires
(``TOWNSQUARE_INVITATION_DAYS``, 7 by default), shown once to the admin and e-mailed when
``TOWNSQUARE_SMTP_URL`` is set. The invited person opens it to choose a password (new
account) or, with an account already, to accept after logging in as that address.

The admin's answer is the same whether or not the address has an account: the decision
never looks at whether the account exists, only at the admin's own workspaces, so the
status, the body and the work done (one invitation row, one e-mail) are the same. Instance
administrators are operators: they may add any existing user and create accounts directly.

The link's secret has 256 bits of entropy and is stored as its SHA-256 hash (like API
tokens); accepting marks it used with a conditional UPDATE, so it works exactly once even
when two browsers race.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare import mail, validation
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TownsquareError,
    ValidationError,
)
from townsquare.messages import Message
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.invitation_models import Invitation
from townsquare.workspaces.models import Membership, User, Workspace
from townsquare.workspaces.passwords import hash_password
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import Member, add_member, create_user, get_user_by_email
from townsquare.workspaces.users import SUPPORTED_LANGUAGES, commit_or_conflict, join_workspace

logger = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,100}")
ADMINISTERING_ROLES = (Role.ADMIN.value, Role.OWNER.value)
ROLE_LABELS = {
    "owner": "Owner",
    "admin": "Administrator",
    "editor": "Editor",
    "contributor": "Contributor",
    "viewer": "Viewer",
}


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def status_of(invitation: Invitation, now: datetime | None = None) -> InvitationStatus:
    if invitation.accepted_at is not None:
        return InvitationStatus.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationStatus.REVOKED
    if invitation.expires_at <= (now or utcnow()):
        return InvitationStatus.EXPIRED
    return InvitationStatus.PENDING


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation and its link, which is shown this once and never stored."""

    invitation: Invitation
    token: str
    url: str
    emailed: bool
    mail_error: str | None = None


def invitation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/invitations/{token}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _identity(text: str) -> str:
    return text


# --- issuing ------------------------------------------------------------------------------


def add_member_or_invite(
    session: Session,
    access: WorkspaceAccess,
    *,
    email: str,
    role: str,
    settings: Settings,
    base_url: str,
    password: str | None = None,
    display_name: str | None = None,
    gettext: Callable[[str], str] = _identity,
    language: str = "en",
) -> Member | IssuedInvitation:
    """Add a known colleague directly, or invite anyone else (the web form and the API).

    Direct when the address belongs to a member of a workspace the caller administers (this
    one included: then Conflict, they are a member already). Instance administrators and
    the command line may also add any existing user and, with ``password``, create the
    account. Everyone else gets an :class:`IssuedInvitation`, whether the address has an
    account or not.
    """
    address = validation.email(email)
    parsed = Role.parse(role)
    _require_may_add(access, parsed)
    operator = access.user is None or access.user.is_admin
    if password and not operator:
        raise ValidationError(
            "only instance administrators set a password for someone else: leave the "
            "password empty and an invitation link is made instead",
            field="password",
        )
    colleague = _known_colleague(session, access, address)
    if colleague is not None:
        return add_member(session, access, email=address, role=parsed)
    if operator:
        if get_user_by_email(session, address) is not None:
            return add_member(session, access, email=address, role=parsed)
        if password:
            user = create_user(
                session,
                email=address,
                password=password,
                display_name=display_name,
                workspace=access.workspace.slug,
                role=parsed,
                actor=access.user,
            )
            return Member(user.id, user.email, user.display_name, parsed)
    return invite(
        session,
        access,
        email=address,
        role=parsed,
        settings=settings,
        base_url=base_url,
        gettext=gettext,
        language=language,
    )


def invite(
    session: Session,
    access: WorkspaceAccess,
    *,
    email: str,
    role: str | Role,
    settings: Settings,
    base_url: str,
    gettext: Callable[[str], str] = _identity,
    language: str = "en",
) -> IssuedInvitation:
    """Invite ``email`` to the workspace with ``role`` (admins; owners to invite an owner).

    A pending invitation of the same address to this workspace is replaced (its link stops
    working). The e-mail is sent after the invitation is stored; a failure to send leaves
    the invitation valid and is reported in ``mail_error`` (the admin has the link).
    """
    address = validation.email(email)
    parsed = Role.parse(role) if isinstance(role, str) else role
    _require_may_add(access, parsed)
    now = utcnow()
    replaced = session.scalars(
        select(Invitation).where(
            Invitation.workspace_id == access.workspace_id,
            Invitation.email == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    ).all()
    for old in replaced:
        old.revoked_at = now
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        workspace_id=access.workspace_id,
        email=address,
        role=parsed.value,
        token_hash=_hash(token),
        invited_by_id=access.user_id,
        expires_at=now + timedelta(days=settings.invitation_days),
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        "invitation.created",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=address,
        details={
            "role": parsed.value,
            "invitation_id": invitation.id,
            **({"replaces": [old.id for old in replaced]} if replaced else {}),
        },
    )
    session.commit()
    url = invitation_url(base_url, token)
    emailed, mail_error = False, None
    if mail.mail_configured(settings):
        try:
            _send(settings, invitation, access, url, gettext, language)
            emailed = True
        except TownsquareError as error:
            # NetworkError from the server, ValidationError from a malformed SMTP URL: the
            # invitation stands, the admin has the link and is told why no e-mail left.
            logger.warning("invitation e-mail to %s not sent: %s", address, error)
            mail_error = error.message
    return IssuedInvitation(invitation, token, url, emailed, mail_error)


def _require_may_add(access: WorkspaceAccess, role: Role) -> None:
    access.require(Role.ADMIN, "add members")
    if role is Role.OWNER:
        access.require(Role.OWNER, "add an owner")


def _known_colleague(session: Session, access: WorkspaceAccess, address: str) -> User | None:
    """The user with ``address`` if they belong to a workspace the caller administers."""
    if access.user is None:
        return None
    administered = select(Membership.workspace_id).where(
        Membership.user_id == access.user.id, Membership.role.in_(ADMINISTERING_ROLES)
    )
    return session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.email == address, Membership.workspace_id.in_(administered))
        .limit(1)
    )


def _send(
    settings: Settings,
    invitation: Invitation,
    access: WorkspaceAccess,
    url: str,
    gettext: Callable[[str], str],
    language: str,
) -> None:
    from babel.dates import format_date

    _ = gettext
    workspace = access.workspace.name
    inviter = access.user.display_name or access.user.email if access.user else None
    values = {
        "workspace": workspace,
        "role": _(ROLE_LABELS[invitation.role]),
        "inviter": inviter or "townsquare",
        "date": format_date(invitation.expires_at, format="long", locale=language),
    }
    text = "\n\n".join(
        [
            _("%(inviter)s invites you to the workspace %(workspace)s as %(role)s.") % values,
            _("Open this link to accept. It works once and expires on %(date)s:") % values,
            url,
            _(
                "If you already have a townsquare account with this address, log in with it "
                "first; otherwise you will choose a password."
            ),
            _("If you did not expect this invitation, ignore this e-mail."),
        ]
    )
    mail.send_mail(
        settings,
        to=[invitation.email],
        subject=_("Invitation to %(workspace)s on townsquare") % values,
        text=text + "\n",
    )


# --- managing -----------------------------------------------------------------------------


def list_invitations(
    session: Session, access: WorkspaceAccess, *, include_closed: bool = False
) -> list[Invitation]:
    """The workspace's invitations, newest first: pending ones, or all with ``include_closed``."""
    access.require(Role.ADMIN, "see invitations")
    query = select(Invitation).where(Invitation.workspace_id == access.workspace_id)
    if not include_closed:
        query = query.where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    return list(session.scalars(query.order_by(Invitation.created_at.desc(), Invitation.id.desc())))


def revoke_invitation(session: Session, access: WorkspaceAccess, invitation_id: int) -> None:
    """Make a pending invitation's link stop working (admins; owners for an owner's)."""
    access.require(Role.ADMIN, "revoke invitations")
    invitation = session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.workspace_id == access.workspace_id
        )
    )
    if invitation is None:
        raise NotFound(
            "no invitation with id %(invitation_id)s in this workspace",
            params={"invitation_id": invitation_id},
            field="invitation_id",
        )
    if invitation.role == Role.OWNER.value:
        access.require(Role.OWNER, "revoke an invitation as owner")
    status = status_of(invitation)
    if status is not InvitationStatus.PENDING:
        raise Conflict(
            "invitation %(invitation_id)s is %(status)s: only a pending invitation is revoked",
            params={"invitation_id": invitation_id, "status": Message(status.value)},
            field="invitation_id",
        )
    invitation.revoked_at = utcnow()
    audit.record(
        session,
        "invitation.revoked",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=invitation.email,
        details={"invitation_id": invitation.id},
    )
    session.commit()


# --- accepting ----------------------------------------------------------------------------


def find_pending(session: Session, token: str) -> Invitation:
    """The pending invitation of this link; NotFound saying why when it cannot be used."""
    invitation = None
    if TOKEN_PATTERN.fullmatch(token):
        invitation = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if invitation is None:
        raise NotFound(
            "this invitation link is not valid: check that it was copied whole, or ask the "
            "workspace's administrator for a new one",
            field="token",
        )
    status = status_of(invitation)
    if status is InvitationStatus.ACCEPTED:
        raise NotFound("this invitation was already used: log in instead", field="token")
    if status is InvitationStatus.REVOKED:
        raise NotFound(
            "this invitation was withdrawn: ask the workspace's administrator for a new one",
            field="token",
        )
    if status is InvitationStatus.EXPIRED:
        raise NotFound(
            "this invitation has expired: ask the workspace's administrator for a new one",
            field="token",
        )
    return invitation


def accept_with_new_account(
    session: Session,
    token: str,
    *,
    password: str,
    display_name: str | None = None,
    language: str | None = None,
) -> User:
    """Create the invited person's account with ``password`` and make them a member.

    Conflict when the address has an account already: then they log in and accept.
    """
    invitation = find_pending(session, token)
    validation.password(password)
    if language not in (None, *SUPPORTED_LANGUAGES):
        language = None
    if get_user_by_email(session, invitation.email) is not None:
        raise Conflict(
            "an account with e-mail %(email)s already exists: log in with it, then "
            "open this link again to accept",
            params={"email": invitation.email},
            field="email",
        )
    now = utcnow()
    user = User(
        email=invitation.email,
        password_hash=hash_password(password),
        display_name=validation.no_nul((display_name or "").strip(), field="display_name") or None,
        is_admin=False,
        language=language,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    _join(session, invitation, user, now)
    taken = Message("an account with e-mail %(email)s already exists", email=invitation.email)
    commit_or_conflict(session, taken, "email")
    return user


def accept_as(session: Session, token: str, user: User) -> Workspace:
    """The logged-in ``user`` accepts: their address must be the invited one."""
    invitation = find_pending(session, token)
    user = session.merge(user)
    if user.email != invitation.email:
        raise PermissionDenied(
            "this invitation is for %(email)s and you are logged in as %(user_email)s: "
            "log out, then log in as %(email)s (or ask for an invitation to your address)",
            params={"email": invitation.email, "user_email": user.email},
        )
    workspace = invitation.workspace
    _join(session, invitation, user, utcnow())
    session.commit()
    return workspace


def _join(session: Session, invitation: Invitation, user: User, now: datetime) -> None:
    """Mark the invitation used (exactly once) and add the membership, uncommitted."""
    used = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise NotFound("this invitation was already used: log in instead", field="token")
    existing = session.scalar(
        select(Membership).where(
            Membership.workspace_id == invitation.workspace_id, Membership.user_id == user.id
        )
    )
    if existing is None:
        join_workspace(
            session,
            invitation.workspace_id,
            user,
            Role.parse(invitation.role),
            actor_id=user.id,
            details={"invitation_id": invitation.id},
        )
    audit.record(
        session,
        "invitation.accepted",
        workspace_id=invitation.workspace_id,
        user_id=user.id,
        target=user.email,
        details={"invitation_id": invitation.id},
    )


def find_pending_or_none(session: Session, token: str) -> Invitation | None:
    try:
        return find_pending(session, token)
    except NotFound:
        return None
