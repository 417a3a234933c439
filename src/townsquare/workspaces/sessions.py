"""Browser logins: sessions stored hashed, failed-login counting, pruning."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from townsquare import ratelimit
from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError
from townsquare.workspaces.models import User, WebSession
from townsquare.workspaces.passwords import hash_password, needs_rehash, verify_password


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(days=14)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def client_hash(client_address: str, secret: str) -> str:
    """A keyed hash of the client address: enough to count attempts, useless to a reader."""
    return hashlib.sha256(f"{secret}:{client_address}".encode()).hexdigest()


def login(
    session: Session,
    *,
    email: str,
    password: str,
    client: str,
    policy: LoginPolicy,
    now: datetime | None = None,
    counter: ratelimit.Counter | None = None,
) -> tuple[User, str]:
    """Check the password and open a session; returns the user and the cookie key.

    Each attempt is counted (atomically, see ``townsquare.ratelimit``) against the e-mail and
    against the client BEFORE the password hash is computed: past ``policy.max_failures``
    failures for either within the window, attempts are refused with RateLimited without
    being evaluated. A successful login gives its counts back and clears the e-mail's.
    """
    now = now or utcnow()
    address = email.strip().lower()
    if "\x00" in address or "\x00" in password or len(address) > 320:
        # No account has such an e-mail; refused before any query (PostgreSQL cannot even
        # compare text with NUL in it).
        raise AuthenticationError("wrong e-mail or password", field="password")
    counter = counter or ratelimit.DatabaseCounter(_engine(session))
    email_key = "login:email:" + ratelimit.digest(address)
    counted = ratelimit.attempt(
        counter,
        [email_key, "login:client:" + client],
        limit=policy.max_failures,
        window=policy.window.total_seconds(),
        message="too many failed logins: try again in %(minutes)s minutes",
        now=now.timestamp(),
    )
    user = session.scalar(select(User).where(User.email == address))
    if (
        not verify_password(user.password_hash if user else None, password)
        or user is None
        or not user.is_active
    ):
        raise AuthenticationError("wrong e-mail or password", field="password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    key = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            key_hash=_digest(key),
            user_id=user.id,
            expires_at=now + policy.session_lifetime,
            last_seen_at=now,
        )
    )
    session.commit()
    counted.succeeded(reset=[email_key])
    return user, key


def check_current_password(
    session: Session,
    user: User,
    password: str,
    *,
    client: str | None,
    policy: LoginPolicy,
    counter: ratelimit.Counter | None = None,
) -> None:
    """The same limiter as logins, for a password change's "current password" (per user
    and per client): AuthenticationError when wrong, RateLimited past the limit."""
    counter = counter or ratelimit.DatabaseCounter(_engine(session))
    counted = ratelimit.attempt(
        counter,
        [f"password:user:{user.id}"] + (["login:client:" + client] if client else []),
        limit=policy.max_failures,
        window=policy.window.total_seconds(),
        message="too many wrong passwords: try again in %(minutes)s minutes",
    )
    if not verify_password(user.password_hash, password):
        raise AuthenticationError("current password is wrong: type it again", field="current")
    counted.succeeded()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def user_for_session(session: Session, key: str, *, now: datetime | None = None) -> User | None:
    """The user of a live session key, or None (expired, logged out or password changed)."""
    now = now or utcnow()
    row = session.scalar(select(WebSession).where(WebSession.key_hash == _digest(key)))
    if row is None or row.expires_at <= now:
        return None
    user = row.user
    if not user.is_active:
        return None
    # A password change ends every session opened before it.
    if user.password_changed_at is not None and row.created_at < user.password_changed_at:
        return None
    return user


def logout(session: Session, key: str) -> None:
    session.execute(delete(WebSession).where(WebSession.key_hash == _digest(key)))
    session.commit()


def prune(session: Session, *, policy: LoginPolicy, now: datetime | None = None) -> int:
    """Delete expired sessions and attempt counters past their window; returns the count."""
    now = now or utcnow()
    sessions_deleted = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session.commit()
    counters = ratelimit.DatabaseCounter(_engine(session)).prune(now.timestamp())
    return int(sessions_deleted.rowcount or 0) + counters  # type: ignore[attr-defined]
