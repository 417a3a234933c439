"""Tables of Listen: watches (saved queries)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin

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
