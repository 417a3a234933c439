"""Tables of Publish's core (migration 0016): a workspace's publish settings, the short
links made for a post, and each channel's cached server limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, UTCDateTime, utcnow


class PublishSettings(Base):
    """How a workspace publishes: approval rules and link shortening (one row per workspace;
    absent means the defaults below)."""

    __tablename__ = "publish_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Posts go out only once approved by an editor, admin or owner (or a viewer, below).
    needs_approval: Mapped[bool] = mapped_column(default=False)
    # Nobody approves a post they wrote (when needs_approval is on).
    forbid_self_approval: Mapped[bool] = mapped_column(default=True)
    # Viewers (clients) may approve or request changes too (a shared calendar).
    viewers_can_approve: Mapped[bool] = mapped_column(default=False)
    # Every link of a post is replaced by one of townsquare's short links when scheduled.
    shorten_links: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PublishPostLink(Base):
    """A short link made for one variant of a post: the link belongs to the post, so its
    clicks can be read beside the post's metrics in Measure."""

    __tablename__ = "publish_post_links"
    __table_args__ = (UniqueConstraint("variant_id", "original_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("publish_posts.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int] = mapped_column(ForeignKey("publish_variants.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    original_url: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelLimits(Base):
    """What the channel's server said about its limits (the connector's ``publish_limits()``,
    e.g. Mastodon's ``configuration``), cached so that counting never waits on the network."""

    __tablename__ = "publish_channel_limits"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
