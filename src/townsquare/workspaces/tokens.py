"""Personal API tokens: ``tsq_<prefix>_<secret>``, shown once, stored as a SHA-256 hash.

The secret has 256 bits of entropy, so a fast hash is enough (unlike passwords); the prefix
finds the row without scanning, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError, NotFound, PermissionDenied, ValidationError
from townsquare.workspaces import audit
from townsquare.workspaces.models import ApiToken, User, Workspace
from townsquare.workspaces.service import access_for

TOKEN_PREFIX = "tsq_"  # noqa: S105 - a public marker, not a secret
MAX_TOKEN_DAYS = 3650
PREFIX_PATTERN = re.compile(r"[0-9a-f]{12}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,100}")


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown to the user once, never stored


@dataclass(frozen=True)
class TokenIdentity:
    user: User
    workspace_id: int | None  # the workspace the token is restricted to, if any
    expires_at: datetime | None = None
    token_id: int | None = None


@dataclass(frozen=True)
class TokenScope:
    """What a caller acting through a token may reach: its workspace and its lifetime.

    A token never hands out more than it has: tokens it creates are restricted to the same
    workspace and expire no later than it does; it sees and revokes only tokens of its own
    workspace. Browser sessions and the command line use :data:`UNRESTRICTED`.
    """

    workspace_id: int | None = None
    expires_at: datetime | None = None

    @property
    def restricted(self) -> bool:
        return self.workspace_id is not None


UNRESTRICTED = TokenScope()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    user: User,
    *,
    name: str,
    expires_in_days: int | None = 90,
    workspace: str | None = None,
    scope: TokenScope = UNRESTRICTED,
) -> IssuedToken:
    """Issue a token for ``user``, optionally restricted to ``workspace``.

    ``scope`` is the caller's own token when one is used: the new token is then at most as
    powerful (same workspace, expiring no later), so a leaked restricted token cannot mint
    an unrestricted or everlasting one.
    """
    clean_name = validation.non_empty(name, field="name", max_length=100)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ValidationError(
            "expires_in_days must be between 1 and %(max_token_days)s (or empty for never)",
            params={"max_token_days": MAX_TOKEN_DAYS},
            field="expires_in_days",
        )
    if scope.restricted and not workspace:
        raise PermissionDenied(
            "this API token is restricted to one workspace, so it can only create tokens "
            "restricted to that workspace: send its slug as 'workspace'",
            field="workspace",
        )
    try:
        workspace_id = access_for(session, user, workspace).workspace_id if workspace else None
    except NotFound:
        if not scope.restricted:
            raise
        workspace_id = None
    if scope.restricted and workspace_id != scope.workspace_id:
        # The same answer whether the workspace exists or not: nothing leaks through a token.
        raise NotFound(
            "no workspace '%(workspace)s' among this token's",
            params={"workspace": workspace},
            field="workspace",
        )
    now = utcnow()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    if scope.expires_at is not None and (expires_at is None or expires_at > scope.expires_at):
        # A token created through another token never outlives it.
        expires_at = scope.expires_at
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        workspace_id=workspace_id,
        name=clean_name,
        prefix=prefix,
        secret_hash=_hash(secret),
        expires_at=expires_at,
    )
    session.add(token)
    audit.record(
        session, "token.created", user_id=user.id, workspace_id=workspace_id, target=clean_name
    )
    session.commit()
    return IssuedToken(token=token, plaintext=f"{TOKEN_PREFIX}{prefix}_{secret}")


def list_tokens(session: Session, user: User, scope: TokenScope = UNRESTRICTED) -> list[ApiToken]:
    """The user's live tokens (only those of the scope's workspace when restricted)."""
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    if scope.restricted:
        query = query.where(ApiToken.workspace_id == scope.workspace_id)
    return list(session.scalars(query))


def revoke_token(
    session: Session, user: User, token_id: int, scope: TokenScope = UNRESTRICTED
) -> None:
    query = select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    if scope.restricted:
        query = query.where(ApiToken.workspace_id == scope.workspace_id)
    token = session.scalar(query)
    if token is None or token.revoked_at is not None:
        raise NotFound(
            "no API token with id %(token_id)s", params={"token_id": token_id}, field="token_id"
        )
    token.revoked_at = utcnow()
    audit.record(session, "token.revoked", user_id=user.id, target=token.name)
    session.commit()


def authenticate_token(
    session: Session, plaintext: str, *, now: datetime | None = None
) -> TokenIdentity:
    """The identity behind a bearer token, or AuthenticationError saying what is wrong."""
    now = now or utcnow()
    parts = plaintext.strip().removeprefix(TOKEN_PREFIX).split("_", 1)
    # The shape is checked before any query: a prefix is 12 hex digits, the secret URL-safe
    # base64, so nothing else (a NUL byte, megabytes of text) ever reaches the database.
    if (
        not plaintext.startswith(TOKEN_PREFIX)
        or len(parts) != 2
        or not PREFIX_PATTERN.fullmatch(parts[0])
        or not SECRET_PATTERN.fullmatch(parts[1])
    ):
        raise AuthenticationError(
            "malformed API token: expected 'Authorization: Bearer tsq_…' with a token "
            "created under Settings → API tokens"
        )
    prefix, secret = parts
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise AuthenticationError("unknown API token: check it or create a new one")
    if token.revoked_at is not None:
        raise AuthenticationError("this API token was revoked: create a new one")
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationError(
            "this API token expired on %(expires_at)s UTC: create a new one",
            params={"expires_at": format(token.expires_at, "%Y-%m-%d %H:%M")},
        )
    user = token.user
    if not user.is_active:
        raise AuthenticationError("the account of this API token is disabled")
    # Only touch last_used_at once a minute, so reads do not turn into writes.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        session.commit()
    return TokenIdentity(
        user=user,
        workspace_id=token.workspace_id,
        expires_at=token.expires_at,
        token_id=token.id,
    )


def token_workspace_slug(session: Session, identity: TokenIdentity) -> str | None:
    if identity.workspace_id is None:
        return None
    workspace = session.get(Workspace, identity.workspace_id)
    return workspace.slug if workspace else None
