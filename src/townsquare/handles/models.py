"""Tables of Handles: saved checks of a name, re-checkable later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime


class HandleCheck(TimestampMixin, Base):
    """One name checked across platforms: the latest results and the ones before them."""

    __tablename__ = "handle_checks"
    __table_args__ = (Index("ix_handle_checks_workspace_checked", "workspace_id", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # The networks asked for ([] = every network) and whether variants were tried.
    networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    with_variants: Mapped[bool] = mapped_column(default=True)
    # The custom domain asked as a Bluesky handle (None: NAME.com), asked again on re-check.
    bluesky_domain: Mapped[str | None] = mapped_column(String(253))
    # [{"network", "handle", "status", "reason", "url"}, …] of the latest check.
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    previous_results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    previous_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
