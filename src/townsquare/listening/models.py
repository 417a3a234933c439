"""Tables of Listen: watches (saved queries), sources, mentions and what matched them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime, utcnow
from townsquare.messages import StoredMessage

WATCH_KINDS = ("brand", "competitor", "topic")


class Watch(TimestampMixin, Base):
    """A saved query of a workspace, of a kind: ``brand``, ``competitor`` or ``topic``."""

    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="brand")
    query: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The robust score from which an hour is a spike (spikes.py); the user tunes it.
    spike_threshold: Mapped[float] = mapped_column(Float, default=3.0)


SOURCE_TYPES = (
    "rss",
    "mastodon-tag",
    "mastodon-search",
    "bluesky-search",
    "hackernews",
    "reddit",
    "web",
)


class Source(TimestampMixin, Base):
    """Where a workspace's mentions come from: a feed, a search, a page; polled on its own."""

    __tablename__ = "listen_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(2000))  # a URL, or a query
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    every_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # What the last poll learnt: ETag and Last-Modified of a feed, a page's text, the newest
    # item's time for searches. Plain JSON, owned by the source's connector.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    error_count: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failures
    items_last_poll: Mapped[int] = mapped_column(Integer, default=0)
    mentions_total: Mapped[int] = mapped_column(Integer, default=0)


class Mention(TimestampMixin, Base):
    """One item found by a source, stored once per workspace (by network id, else URL)."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "dedupe_key"),
        Index("ix_mentions_workspace_published", "workspace_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("listen_sources.id", ondelete="SET NULL"), index=True
    )
    dedupe_key: Mapped[str] = mapped_column(String(600))
    network: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(4000))
    title: Mapped[str | None] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lang: Mapped[str | None] = mapped_column(String(16))
    # negative, neutral, positive: what counts, the user's correction when there is one.
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)  # the classifier's, −1 to 1
    sentiment_auto: Mapped[str | None] = mapped_column(String(16))  # the classifier's label
    sentiment_corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sentiment_corrected_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    is_read: Mapped[bool] = mapped_column(default=False)
    is_important: Mapped[bool] = mapped_column(default=False)
    to_answer: Mapped[bool] = mapped_column(default=False)
    # Deleted as noise: hidden everywhere, kept so that the next poll does not bring it back.
    is_noise: Mapped[bool] = mapped_column(default=False)


class MentionWatch(Base):
    """Which watches a mention matched (when it was stored, or when a watch was re-run)."""

    __tablename__ = "mention_watches"

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    watch_id: Mapped[int] = mapped_column(
        ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True, index=True
    )


MUTE_KINDS = ("author", "site")


class Mute(Base):
    """ "Never from this author/site": items from it are not stored as mentions any more."""

    __tablename__ = "listen_mutes"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # author or site
    value: Mapped[str] = mapped_column(String(300))  # folded author, or a host name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


ALERT_MODES = ("instant", "digest", "spike", "negative")


class Alert(TimestampMixin, Base):
    """Where a watch's news goes: an apprise URL (e-mail, Slack, Discord, ntfy, a webhook…).

    The URL often holds a password or a token: it is stored encrypted, like channel
    credentials, and shown with its secrets hidden.
    """

    __tablename__ = "listen_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), index=True)
    url_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    url_display: Mapped[str] = mapped_column(String(300))  # scheme://host/… without secrets
    mode: Mapped[str] = mapped_column(String(16), default="instant")
    at_time: Mapped[str | None] = mapped_column(String(5))  # digest: local HH:MM
    group_minutes: Mapped[int] = mapped_column(Integer, default=15)  # instant: at most one per N
    # Mentions with an id up to this one were told (or were older than the alert).
    last_mention_id: Mapped[int] = mapped_column(Integer, default=0)
    last_spike_hour: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row
    # The last failed send's error as a message: its template and values, like a channel's
    # last_error (rows older than 0022_alert_messages hold the English sentence, no values).
    last_error_key: Mapped[str | None] = mapped_column("last_error", String(1000))
    last_error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    last_error = StoredMessage("last_error_key", "last_error_params")


class StreamLease(Base):
    """Who streams one hashtag of one instance (listening/streaming.py): one process at a
    time, for as long as it renews its lease; the sources of every workspace that follow
    that hashtag there share the stream."""

    __tablename__ = "listen_stream_leases"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)  # instance URL + "#" + tag
    owner: Mapped[str] = mapped_column(String(200))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime())
