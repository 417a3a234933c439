"""Table: invitations to join a workspace (single-use links, stored as a hash)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townsquare.db.base import Base, TimestampMixin, UTCDateTime
from townsquare.workspaces.models import User, Workspace


class Invitation(TimestampMixin, Base):
    """An invitation of an e-mail address to a workspace with a role.

    The link's secret is shown once and stored as its SHA-256 hash. An invitation is
    pending until it is accepted, revoked or past ``expires_at``; it is used at most once.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    workspace: Mapped[Workspace] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
