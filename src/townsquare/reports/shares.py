"""Read-only share links: a secret token in the address, no login, one report only.

The token (``tsr_`` + 32 random bytes, URL-safe) is shown once; only its SHA-256 is stored,
so a copy of the database does not open any report. A link expires (30 days by default,
at most a year) and can be revoked. Opening it gives the report and its PDF, nothing else:
:func:`open_share` returns the report and the access it is rendered with, a viewer's access
to that report's workspace, which the public routes use only to render that one report.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import NotFound, ValidationError
from townsquare.reports.models import Report, ReportShare
from townsquare.reports.service import get_report
from townsquare.validation import DbId
from townsquare.workspaces import audit
from townsquare.workspaces.models import Workspace
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

PREFIX = "tsr_"
DEFAULT_DAYS = 30
MAX_DAYS = 366


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class IssuedShare:
    share: ReportShare
    token: str

    def path(self) -> str:
        return f"/r/{self.token}"


def create_share(
    session: Session,
    access: WorkspaceAccess,
    report_id: DbId | str,
    *,
    days: int = DEFAULT_DAYS,
    period: tuple[date, date] | None = None,
    commit: bool = True,
) -> IssuedShare:
    access.require(Role.EDITOR, "share reports")
    report = get_report(session, access, report_id)
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            "a share link lasts 1 to %(max_days)s days, not %(days)s",
            params={"max_days": MAX_DAYS, "days": days},
            field="days",
        )
    token = PREFIX + secrets.token_urlsafe(32)
    share = ReportShare(
        workspace_id=access.workspace_id,
        report_id=report.id,
        token_hash=_hash(token),
        prefix=token[: len(PREFIX) + 6],
        period_from=period[0] if period else None,
        period_to=period[1] if period else None,
        expires_at=utcnow() + timedelta(days=days),
        created_by=access.user_id,
    )
    session.add(share)
    session.flush()
    audit.record(
        session,
        "report.share",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(report.id),
        details={"share": share.id},
    )
    if commit:
        session.commit()
    return IssuedShare(share, token)


def list_shares(
    session: Session, access: WorkspaceAccess, report_id: DbId | str
) -> list[ReportShare]:
    report = get_report(session, access, report_id)
    return list(
        session.scalars(
            select(ReportShare)
            .where(
                ReportShare.workspace_id == access.workspace_id, ReportShare.report_id == report.id
            )
            .order_by(ReportShare.id)
        )
    )


def revoke_share(
    session: Session, access: WorkspaceAccess, report_id: DbId | str, share_id: DbId
) -> ReportShare:
    access.require(Role.EDITOR, "revoke share links")
    report = get_report(session, access, report_id)
    share = session.scalar(
        select(ReportShare).where(
            ReportShare.id == share_id,
            ReportShare.report_id == report.id,
            ReportShare.workspace_id == access.workspace_id,
        )
    )
    if share is None:
        raise NotFound(
            "report %(report_id)s has no share link %(share_id)s",
            params={"report_id": report.id, "share_id": share_id},
            field="share",
        )
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        audit.record(
            session,
            "report.unshare",
            workspace_id=access.workspace_id,
            user_id=access.user_id,
            target=str(report.id),
            details={"share": share.id},
        )
        session.commit()
    return share


def share_dict(share: ReportShare, now: datetime | None = None) -> dict[str, Any]:
    moment = now or utcnow()
    state = (
        "revoked" if share.revoked_at else ("expired" if share.expires_at <= moment else "active")
    )
    return {
        "id": share.id,
        "report_id": share.report_id,
        "prefix": share.prefix,
        "state": state,
        "expires_at": share.expires_at.isoformat(),
        "revoked_at": share.revoked_at.isoformat() if share.revoked_at else None,
        "period": (
            {"from": share.period_from.isoformat(), "to": share.period_to.isoformat()}
            if share.period_from and share.period_to
            else None
        ),
    }


def open_share(session: Session, token: str) -> tuple[Report, WorkspaceAccess, ReportShare]:
    """The report a token opens; NotFound (the same answer) for unknown, expired, revoked."""
    gone = NotFound(
        "this report link does not exist, has expired or was revoked: ask for a new one"
    )
    if not token.startswith(PREFIX) or len(token) > 100:
        raise gone
    share = session.scalar(select(ReportShare).where(ReportShare.token_hash == _hash(token)))
    if share is None or share.revoked_at is not None or share.expires_at <= utcnow():
        raise gone
    workspace = session.get(Workspace, share.workspace_id)
    report = session.get(Report, share.report_id)
    if workspace is None or report is None or report.workspace_id != workspace.id:
        raise gone
    access = WorkspaceAccess(workspace=workspace, user=None, role=Role.VIEWER)
    return report, access, share
