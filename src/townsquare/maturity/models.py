"""Tables of Maturity: each self-assessment a workspace took, never overwritten."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, TimestampMixin, UTCDateTime


class MaturityAssessment(TimestampMixin, Base):
    __tablename__ = "maturity_assessments"
    __table_args__ = (Index("ix_maturity_assessments_workspace_taken", "workspace_id", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The questionnaire's version, so an old assessment is read with the statements it had.
    version: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # statement id → value
    # [{"id", "score", "stage"}, …]: kept as computed then, not recomputed later.
    competencies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
