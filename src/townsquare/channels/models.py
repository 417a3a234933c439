"""Tables: channels, and the OAuth apps townsquare registered on Mastodon instances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime
from townsquare.messages import StoredMessage

DEFAULT_SYNC_INTERVAL_MINUTES = 30


class Channel(TimestampMixin, Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("workspace_id", "network", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    network: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Fernet token of a JSON object of credentials; never returned by the API.
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "active", "pending" (OAuth started, not finished), "needs_reconnection" after the
    # network refused the credentials (status_reason says why), "disabled".
    status: Mapped[str] = mapped_column(String(32), default="active")
    # Why, as a message: its English template (the catalogs' msgid) and its values, so that
    # each reader sees it in their language; read and set through ``status_reason``.
    status_reason_key: Mapped[str | None] = mapped_column("status_reason", Text)
    status_reason_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # What the network said about the account at the last check (connected channels).
    account_id: Mapped[str | None] = mapped_column(String(200))
    avatar_url: Mapped[str | None] = mapped_column(String(2000))
    followers: Mapped[int | None] = mapped_column(BigInteger)

    # Sync (connected channels): interval, schedule, outcome, progress of the first sync.
    sync_interval_minutes: Mapped[int] = mapped_column(default=DEFAULT_SYNC_INTERVAL_MINUTES)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A lease: one sync at a time per channel, whichever process runs it (CLI, worker).
    sync_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The last sync's or check's error, as a message like status_reason (``last_error``).
    last_error_key: Mapped[str | None] = mapped_column("last_error", Text)
    last_error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"running": bool, "posts": n, "pages": n, "full": bool} while a sync runs or after it.
    sync_progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    history_complete: Mapped[bool] = mapped_column(default=False)
    # A sealed {"state", "code_verifier", "instance_url"} while an OAuth connection runs.
    oauth_pending: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Why the channel is in its status, and the last sync's or check's error (None after a
    # sync that worked): Messages, English and translatable.
    status_reason = StoredMessage("status_reason_key", "status_reason_params")
    last_error = StoredMessage("last_error_key", "last_error_params")


class OAuthApp(TimestampMixin, Base):
    """townsquare as an OAuth client of one instance, for one redirect URI.

    Not workspace data: it is townsquare's own registration, shared by every workspace
    connecting an account of that instance through the same redirect URI.
    """

    __tablename__ = "oauth_apps"
    __table_args__ = (UniqueConstraint("network", "instance_url", "redirect_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(32))
    instance_url: Mapped[str] = mapped_column(String(500))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
