"""Tables: composed posts, their per-channel variants, each part's delivery, media, history,
and each channel's weekly queue slots.

The state machine lives in the database (the source of truth): a variant moves
``draft → pending_approval → scheduled → publishing → published | failed | uncertain`` (and
``expired`` or ``cancelled``) only by conditional updates, so that any number of dispatchers
can run without two of them taking the same variant. Each part of a thread has its own
delivery row with the idempotency key and Bluesky rkey chosen once, before the first call.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime, utcnow


class VariantStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    CHANGES_REQUESTED = "changes_requested"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"  # a dispatcher holds the lease and is calling the network
    PUBLISHED = "published"
    FAILED = "failed"  # definite; ``error`` says why in words
    UNCERTAIN = "uncertain"  # outcome unknown: verified on the network before any retry
    EXPIRED = "expired"  # not approved by its time: did not go out
    CANCELLED = "cancelled"


class PartStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # the call may have reached the network
    PUBLISHED = "published"
    UNCERTAIN = "uncertain"
    FAILED = "failed"


class PublishPost(TimestampMixin, Base):
    """What the author composed once: the original every unchanged variant follows."""

    __tablename__ = "publish_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The thread: [{"text": str, "media": [media id, …]}, …]; one element for a single post.
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content_warning: Mapped[str | None] = mapped_column(String(1000))
    language: Mapped[str | None] = mapped_column(String(16))
    link_url: Mapped[str | None] = mapped_column(String(2000))
    campaign: Mapped[str | None] = mapped_column(String(200))
    shorten_links: Mapped[bool] = mapped_column(default=False)
    # How the author asked for it to go out: "at" (a local time), "queue", "now", or None.
    schedule_kind: Mapped[str | None] = mapped_column(String(16))
    needs_approval: Mapped[bool] = mapped_column(default=False)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The post's overall status, kept in step with its variants for lists and the calendar.
    status: Mapped[str] = mapped_column(String(32), default=VariantStatus.DRAFT.value, index=True)


class PublishVariant(TimestampMixin, Base):
    """The post as one channel receives it, and where it stands."""

    __tablename__ = "publish_variants"
    __table_args__ = (
        UniqueConstraint("post_id", "channel_id"),
        # The dispatcher's query: due variants by status and time.
        Index("ix_publish_variants_due", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("publish_posts.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True
    )
    # What this variant changes from the original: any of "parts", "content_warning";
    # a key absent means "follow the original".
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(32), default=VariantStatus.DRAFT.value)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The local wall time the author chose and the zone it was read in (shown back as given).
    scheduled_local: Mapped[str | None] = mapped_column(String(32))
    from_queue: Mapped[bool] = mapped_column(default=False)
    # Lease of the dispatcher that moved it to "publishing" (expired: the sweep takes it back).
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Retrying (429, 5xx before effect) stops here: the variant is then failed.
    retry_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where the first part lives once published.
    external_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The Measure post (analytics ``posts``) once the channel's sync has seen it.
    measure_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))


class PublishPart(Base):
    """The delivery of one part of a variant's thread to the network."""

    __tablename__ = "publish_parts"
    __table_args__ = (UniqueConstraint("variant_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("publish_variants.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(32), default=PartStatus.PENDING.value)
    # Chosen once when the part is created; never changes between attempts.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    rkey: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    uri: Mapped[str | None] = mapped_column(String(500))
    cid: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class PublishMedia(Base):
    """An uploaded image or video, stored under the data directory by its SHA-256."""

    __tablename__ = "publish_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("publish_posts.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    alt_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PublishEvent(Base):
    """The post's history: who did what, when (created, edited, submitted, approved,
    changes requested, scheduled, rescheduled, published, failed, uncertain, verified,
    expired, cancelled)."""

    __tablename__ = "publish_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("publish_posts.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("publish_variants.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QueueSlot(Base):
    """A weekly time at which the channel's queue publishes (Buffer-style)."""

    __tablename__ = "publish_queue_slots"
    __table_args__ = (UniqueConstraint("channel_id", "weekday", "local_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday … 6 = Sunday
    local_time: Mapped[str] = mapped_column(String(5))  # "HH:MM" in the channel's zone
