"""Tables of Reports: reports, their schedules, share links and the history of deliveries.

- ``reports``: what a report shows (channels, period, comparison, language, sections in
  order, commentary per section) and how it looks (white-label branding).
- ``report_schedules``: one per report at most; the next run is stored in UTC and computed
  from the workspace's local time zone, so a lost queue message delays a run, never loses it.
- ``report_shares``: read-only links for a client; only the SHA-256 of the token is kept.
- ``report_deliveries``: every report rendered for sending (scheduled or ``send --now``),
  with its file (a PDF in the data directory) and its status.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime


class Report(TimestampMixin, Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # handles, in order
    # last-7-days, last-month, last-quarter, or YYYY-MM-DD..YYYY-MM-DD
    period: Mapped[str] = mapped_column(String(32))
    rolling: Mapped[bool] = mapped_column(default=False)  # False: calendar periods
    compare: Mapped[str | None] = mapped_column(String(16))  # previous, last-year or None
    language: Mapped[str] = mapped_column(String(8), default="en")
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    commentary: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # White-label: agency, accent colour (#rrggbb), footer text, hide_mark (no townsquare).
    branding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(32))  # image/png, image/svg+xml…
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReportSchedule(TimestampMixin, Base):
    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), unique=True
    )
    every: Mapped[str] = mapped_column(String(8))  # week or month
    at: Mapped[str] = mapped_column(String(5))  # HH:MM, local time of the workspace
    review: Mapped[bool] = mapped_column(default=False)  # held for review before sending
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(default=True)


class ReportShare(TimestampMixin, Base):
    """A read-only link: ``/r/{token}``; the token is shown once, its hash is stored."""

    __tablename__ = "report_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # first characters, to tell links apart
    # The period shown; None: the report's own period, resolved when the link is opened.
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReportDelivery(TimestampMixin, Base):
    """One report prepared for sending: held for review, sent, or failed (with why)."""

    __tablename__ = "report_deliveries"
    __table_args__ = (Index("ix_report_deliveries_report_created", "report_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule or manual
    status: Mapped[str] = mapped_column(String(16))  # review, sent, failed
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    commentary: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    file_path: Mapped[str | None] = mapped_column(String(500))  # relative to the data dir
    share_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_shares.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
