"""Tables of Measure: posts, their metric snapshots, channel snapshots, import profiles.

Metrics are snapshots, never overwritten: "lifetime" is the latest snapshot of a post.
``post_latest_metrics`` caches that latest snapshot per post so analyses read one row per
post instead of scanning every snapshot; it is rewritten whenever a snapshot is added and
can be rebuilt from ``post_metric_snapshots`` at any time.

How imports fill these tables (analytics/importers/writer.py has the details):

- NULL is always "unknown" (an empty cell, a column the file does not have), never 0.
- Posts are found again by (channel, external_id): re-importing a file updates them in
  place, never duplicates them.
- A file's counters become one snapshot at the file's ``taken_at`` (a column, else a fixed
  instant per preset, else the import time). Same instant as a stored snapshot: that
  snapshot is replaced; a new instant: appended, unless identical to the post's latest.
- Followers read with posts (``followers_at_publish``) also give one ``channel_snapshots``
  row per local date: the largest count seen that day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime

# Canonical metric names (DESIGN.md; quotes from connected channels), stored as nullable
# columns: NULL means unknown, which is not the same as 0.
METRIC_COLUMNS = (
    "impressions",
    "reach",
    "reactions",
    "comments",
    "shares",
    "saves",
    "clicks",
    "video_views",
    "engaged_users",
    "consumers",
    "consumptions",
    "quotes",  # Bluesky and Mastodon 4.5+: posts quoting this one
)


class Post(TimestampMixin, Base):
    """A published piece of content of a channel."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_posts_channel_published", "channel_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    permalink: Mapped[str | None] = mapped_column(String(2000))
    # UTC. When the source only knows part of the date, published_at is a representative
    # instant and published_precision says what is really known:
    # "second", "minute", "hour", "day" (a date without time), or "month_weekday_hour"
    # (UCI file: no day of month; published_at is then the first such weekday of the month).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_precision: Mapped[str] = mapped_column(String(32), default="second")
    # Local (channel time zone) weekday 1=Monday..7=Sunday and hour 0-23, as the source
    # gave them; kept so best-time analyses never depend on a guessed day of month.
    local_weekday: Mapped[int | None] = mapped_column(Integer)
    local_hour: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(32))  # photo, video, link, status, …
    text: Mapped[str | None] = mapped_column(Text)
    link_url: Mapped[str | None] = mapped_column(String(2000))
    is_paid: Mapped[bool | None] = mapped_column()  # None: unknown
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Followers of the channel when the post was published, when the source knows it.
    followers_at_publish: Mapped[int | None] = mapped_column(BigInteger)


class PostMetricSnapshot(Base):
    """Counters of one post at one moment. Never updated in place."""

    __tablename__ = "post_metric_snapshots"
    __table_args__ = (UniqueConstraint("post_id", "taken_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    impressions: Mapped[int | None] = mapped_column(BigInteger)
    reach: Mapped[int | None] = mapped_column(BigInteger)
    reactions: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    saves: Mapped[int | None] = mapped_column(BigInteger)
    clicks: Mapped[int | None] = mapped_column(BigInteger)
    video_views: Mapped[int | None] = mapped_column(BigInteger)
    engaged_users: Mapped[int | None] = mapped_column(BigInteger)
    consumers: Mapped[int | None] = mapped_column(BigInteger)
    consumptions: Mapped[int | None] = mapped_column(BigInteger)
    quotes: Mapped[int | None] = mapped_column(BigInteger)
    # Network-specific counters kept as they came (e.g. reaction breakdown).
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PostLatestMetrics(Base):
    """The latest snapshot of each post (a cache of post_metric_snapshots; see module doc)."""

    __tablename__ = "post_latest_metrics"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    impressions: Mapped[int | None] = mapped_column(BigInteger)
    reach: Mapped[int | None] = mapped_column(BigInteger)
    reactions: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    saves: Mapped[int | None] = mapped_column(BigInteger)
    clicks: Mapped[int | None] = mapped_column(BigInteger)
    video_views: Mapped[int | None] = mapped_column(BigInteger)
    engaged_users: Mapped[int | None] = mapped_column(BigInteger)
    consumers: Mapped[int | None] = mapped_column(BigInteger)
    consumptions: Mapped[int | None] = mapped_column(BigInteger)
    quotes: Mapped[int | None] = mapped_column(BigInteger)


class ChannelSnapshot(Base):
    """Audience of a channel on a date (followers / page likes)."""

    __tablename__ = "channel_snapshots"
    __table_args__ = (UniqueConstraint("channel_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    followers: Mapped[int | None] = mapped_column(BigInteger)


class ImportProfile(TimestampMixin, Base):
    """A saved column mapping for the generic importer, per workspace."""

    __tablename__ = "import_profiles"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
