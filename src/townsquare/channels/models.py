"""Tables: channels."""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin


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
    # "active", or "needs_reconnection" after the network refused the credentials.
    status: Mapped[str] = mapped_column(String(32), default="active")
