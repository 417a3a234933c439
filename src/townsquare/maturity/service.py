"""Use cases of Maturity: take an assessment, read the history, compare two dates.

Assessments are never overwritten: each one keeps its answers and the scores computed
when it was taken. Every query is scoped by the caller's workspace.

:func:`latest_assessment` is the hook for a report section (when Reports exists): the
newest assessment of a workspace with its next steps, or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import NotFound, ValidationError
from townsquare.maturity import questionnaire, scoring, steps
from townsquare.maturity.models import MaturityAssessment
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

MAX_HISTORY = 500


def questions() -> dict[str, Any]:
    return questionnaire.questions_json()


def parse_taken_at(value: str | datetime | None) -> datetime:
    """When the assessment was taken: now, a date (noon UTC) or an aware ISO date-time."""
    if value is None or value == "":
        return utcnow()
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                "invalid date %(value)r: use YYYY-MM-DD or YYYY-MM-DDTHH:MM+00:00",
                params={"value": value},
                field="taken_at",
            ) from None
        if len(value.strip()) == 10:
            parsed = datetime.combine(date.fromisoformat(value.strip()), time(12), UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed > utcnow():
        raise ValidationError("an assessment cannot be taken in the future", field="taken_at")
    return parsed


def assessment_json(record: MaturityAssessment, workspace: str) -> dict[str, Any]:
    return {
        "id": record.id,
        "taken_at": record.taken_at,
        "competencies": record.competencies,
        "next_steps": steps.next_steps(record.competencies, workspace),
    }


def answer(
    session: Session,
    access: WorkspaceAccess,
    answers: Mapping[str, Any] | Any,
    *,
    taken_at: str | datetime | None = None,
) -> MaturityAssessment:
    """Score and store an assessment; all of it or nothing."""
    access.require(Role.EDITOR, "take the maturity assessment")
    parsed = scoring.parse_answers(answers)
    record = MaturityAssessment(
        workspace_id=access.workspace_id,
        taken_at=parse_taken_at(taken_at),
        version=questionnaire.VERSION,
        answers=parsed,
        competencies=scoring.score(parsed),
        created_by=access.user_id,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        "maturity.assessed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(record.id),
    )
    session.commit()
    return record


def history(session: Session, access: WorkspaceAccess) -> list[MaturityAssessment]:
    """The workspace's assessments, oldest first."""
    query = (
        select(MaturityAssessment)
        .where(MaturityAssessment.workspace_id == access.workspace_id)
        .order_by(MaturityAssessment.taken_at, MaturityAssessment.id)
        .limit(MAX_HISTORY)
    )
    return list(session.scalars(query))


def get(session: Session, access: WorkspaceAccess, assessment_id: int) -> MaturityAssessment:
    record = session.scalar(
        select(MaturityAssessment).where(
            MaturityAssessment.id == assessment_id,
            MaturityAssessment.workspace_id == access.workspace_id,
        )
    )
    if record is None:
        raise NotFound(
            "no assessment %(assessment_id)s in this workspace: list them with "
            "`townsquare maturity history --workspace W`",
            params={"assessment_id": assessment_id},
            field="id",
        )
    return record


def on_or_before(session: Session, access: WorkspaceAccess, day: date) -> MaturityAssessment:
    """The last assessment taken on ``day`` or before it (UTC)."""
    end = datetime.combine(day, time.max, UTC)
    record = session.scalar(
        select(MaturityAssessment)
        .where(
            MaturityAssessment.workspace_id == access.workspace_id,
            MaturityAssessment.taken_at <= end,
        )
        .order_by(MaturityAssessment.taken_at.desc(), MaturityAssessment.id.desc())
        .limit(1)
    )
    if record is None:
        raise NotFound(
            "no assessment on or before %(day)s", params={"day": day.isoformat()}, field="date"
        )
    return record


def compare(
    session: Session, access: WorkspaceAccess, before_id: int, after_id: int
) -> dict[str, Any]:
    """Two assessments side by side: ``{"before", "after", "competencies": [...]}``."""
    before = get(session, access, before_id)
    after = get(session, access, after_id)
    return {
        "before": {"id": before.id, "taken_at": before.taken_at},
        "after": {"id": after.id, "taken_at": after.taken_at},
        "competencies": scoring.compare(before.competencies, after.competencies),
    }


def compare_dates(
    session: Session, access: WorkspaceAccess, first: str, second: str
) -> dict[str, Any]:
    """:func:`compare` of the assessments in force on two dates (YYYY-MM-DD)."""
    days: list[date] = []
    for name, value in (("from", first), ("to", second)):
        try:
            days.append(date.fromisoformat(value.strip()))
        except ValueError:
            if name == "from":
                raise ValidationError(
                    "invalid from date %(value)r: use YYYY-MM-DD",
                    params={"value": value},
                    field=name,
                ) from None
            raise ValidationError(
                "invalid to date %(value)r: use YYYY-MM-DD", params={"value": value}, field=name
            ) from None
    before = on_or_before(session, access, min(days))
    after = on_or_before(session, access, max(days))
    return compare(session, access, before.id, after.id)


def latest_assessment(session: Session, access: WorkspaceAccess) -> dict[str, Any] | None:
    """The newest assessment as JSON with its next steps, or None: a report's section."""
    record = session.scalar(
        select(MaturityAssessment)
        .where(MaturityAssessment.workspace_id == access.workspace_id)
        .order_by(MaturityAssessment.taken_at.desc(), MaturityAssessment.id.desc())
        .limit(1)
    )
    return assessment_json(record, access.workspace.slug) if record else None
