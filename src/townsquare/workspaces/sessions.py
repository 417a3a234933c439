"""Browser logins: sessions stored hashed, failed-login counting, pruning."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import AuthenticationError, RateLimited
from townsquare.workspaces.models import LoginAttempt, User, WebSession
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
) -> tuple[User, str]:
    """Check the password and open a session; returns the user and the cookie key.

    After ``policy.max_failures`` failures for one e-mail or one client within the window,
    further attempts are refused with RateLimited until the oldest failure leaves it.
    """
    now = now or utcnow()
    address = email.strip().lower()
    if "\x00" in address or "\x00" in password or len(address) > 320:
        # No account has such an e-mail; refused before any query (PostgreSQL cannot even
        # compare text with NUL in it).
        raise AuthenticationError("wrong e-mail or password", field="password")
    since = now - policy.window
    recent = session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.attempted_at > since,
            or_(LoginAttempt.email == address, LoginAttempt.client_hash == client),
        )
    ).one()
    failures, oldest = recent
    if failures >= policy.max_failures and oldest is not None:
        retry_after = max(1, int((oldest + policy.window - now).total_seconds()) + 1)
        raise RateLimited(
            "too many failed logins: try again in %(minutes)s minutes",
            params={"minutes": retry_after // 60 + 1},
            retry_after=retry_after,
        )
    user = session.scalar(select(User).where(User.email == address))
    if (
        not verify_password(user.password_hash if user else None, password)
        or user is None
        or not user.is_active
    ):
        session.add(LoginAttempt(email=address, client_hash=client, attempted_at=now))
        session.commit()
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
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == address))
    session.commit()
    return user, key


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
    """Delete expired sessions and login attempts older than the window; returns the count."""
    now = now or utcnow()
    sessions_deleted = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    attempts_deleted = session.execute(
        delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - policy.window)
    )
    session.commit()
    return int(sessions_deleted.rowcount or 0) + int(attempts_deleted.rowcount or 0)  # type: ignore[attr-defined]
