"""Maturity's REST API (JSON identical to the CLI's ``--json``).

- ``GET /api/v1/maturity/questions``: the questionnaire;
- ``POST /api/v1/workspaces/{workspace}/maturity/assessments`` with
  ``{"answers": {"statement id": value, …}, "taken_at": "YYYY-MM-DD"?}`` → the assessment;
- ``GET …/maturity/assessments`` (history, oldest first), ``GET …/assessments/{id}``,
  ``GET …/assessments/latest`` (the section a report shows), ``GET …/maturity/compare?from=&to=``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from townsquare.errors import NotFound
from townsquare.maturity import service
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, CurrentApiIdentity, DbSession

router = APIRouter(tags=["maturity"])
PREFIX = "/workspaces/{workspace}/maturity"


class AnswerRequest(BaseModel):
    answers: dict[str, Any] = Field(description="Statement id → value on the scale")
    taken_at: str | None = Field(default=None, description="YYYY-MM-DD; default now")


@router.get("/maturity/questions", summary="The questionnaire: scale, stages, statements")
def api_questions(identity: CurrentApiIdentity) -> dict[str, Any]:
    return service.questions()


@router.post(PREFIX + "/assessments", status_code=201)
def api_answer(body: AnswerRequest, session: DbSession, access: ApiAccess) -> dict[str, Any]:
    record = service.answer(session, access, body.answers, taken_at=body.taken_at)
    return service.assessment_json(record, access.workspace.slug)


@router.get(PREFIX + "/assessments")
def api_history(session: DbSession, access: ApiAccess) -> list[dict[str, Any]]:
    slug = access.workspace.slug
    return [service.assessment_json(r, slug) for r in service.history(session, access)]


@router.get(PREFIX + "/assessments/latest")
def api_latest(session: DbSession, access: ApiAccess) -> dict[str, Any]:
    latest = service.latest_assessment(session, access)
    if latest is None:
        raise NotFound("no assessment yet in this workspace: take one first", field="id")
    return latest


@router.get(PREFIX + "/assessments/{assessment_id}")
def api_assessment(assessment_id: DbId, session: DbSession, access: ApiAccess) -> dict[str, Any]:
    record = service.get(session, access, assessment_id)
    return service.assessment_json(record, access.workspace.slug)


@router.get(PREFIX + "/compare")
def api_compare(
    session: DbSession,
    access: ApiAccess,
    date_from: str = Query(..., alias="from", description="YYYY-MM-DD"),
    date_to: str = Query(..., alias="to", description="YYYY-MM-DD"),
) -> dict[str, Any]:
    return service.compare_dates(session, access, date_from, date_to)
