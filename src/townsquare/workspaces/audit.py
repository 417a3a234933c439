"""The audit log: who did what, in which workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.workspaces.models import AuditEvent


def record(
    session: Session,
    action: str,
    *,
    workspace_id: int | None = None,
    user_id: int | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the session; it is committed with the change it describes."""
    session.add(
        AuditEvent(
            workspace_id=workspace_id,
            user_id=user_id,
            action=action,
            target=target,
            details=details or {},
            at=utcnow(),
        )
    )


def recent(session: Session, workspace_id: int, limit: int = 100) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.workspace_id == workspace_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
