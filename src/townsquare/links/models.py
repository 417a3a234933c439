"""Tables of Links: short links, their tags, and clicks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime


class Link(TimestampMixin, Base):
    __tablename__ = "links"
    # Ids are never reused (SQLite would reuse the highest deleted id otherwise): clicks kept
    # after their link was deleted must never be counted for a new link.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # Slugs are global: the redirector serves /{slug} for every workspace. Stored in the
    # canonical (lower-case) form; see links/slugs.py for the alphabet and case rules.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    target_url: Mapped[str] = mapped_column(String(4000))  # as given, without UTM
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    # target_url with the UTM parameters applied: what the redirector sends people to.
    final_url: Mapped[str] = mapped_column(String(5000))
    title: Mapped[str | None] = mapped_column(String(300))
    campaign: Mapped[str | None] = mapped_column(String(200), index=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_clicks: Mapped[int | None] = mapped_column(Integer)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    fallback_url: Mapped[str | None] = mapped_column(String(4000))
    redirect_status: Mapped[int] = mapped_column(Integer, default=302)  # 302 or 301
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Human clicks counted so far (kept by the click writer; max_clicks compares to it).
    human_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LinkTag(Base):
    __tablename__ = "link_tags"
    __table_args__ = (
        UniqueConstraint("link_id", "tag"),
        Index("ix_link_tags_workspace_tag", "workspace_id", "tag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(100))


class LinkClick(Base):
    """One request to a short link. No raw IP address is ever stored."""

    __tablename__ = "link_clicks"
    __table_args__ = (
        Index("ix_link_clicks_link_at", "link_id", "clicked_at"),
        Index("ix_link_clicks_workspace_at", "workspace_id", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # No foreign key on link_id: clicks may outlive a deleted link ("keep clicks").
    link_id: Mapped[int] = mapped_column(Integer)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    click_date: Mapped[date] = mapped_column(Date)  # UTC date, for daily series
    is_bot: Mapped[bool] = mapped_column(default=False)
    bot_name: Mapped[str | None] = mapped_column(String(100))
    referrer_domain: Mapped[str | None] = mapped_column(String(255))
    device_class: Mapped[str | None] = mapped_column(String(20))  # desktop, mobile, tablet, bot…
    os: Mapped[str | None] = mapped_column(String(60))
    browser: Mapped[str | None] = mapped_column(String(60))
    country: Mapped[str | None] = mapped_column(String(2))  # only from a trusted proxy header
    # sha256(daily salt + client address + user agent): counts unique visitors per day
    # without keeping the address; the salt is forgotten after the day.
    visitor_hash: Mapped[str | None] = mapped_column(String(64))


class LinkClickJournal(Base):
    """How far the click writer got in one segment of a click journal (links/journal.py).

    Updated in the same transaction as the clicks it covers, so a segment replayed after a
    crash starts exactly after the last click written: each click is stored once.
    """

    __tablename__ = "link_click_journal"

    # The segment's file name (a random id: unique across processes and machines).
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)  # bytes consumed from its start
