"""Maturity's web pages, under Settings: the questionnaire, a result, the history, the method.

- ``GET|POST /w/{slug}/settings/maturity``: the questionnaire (and the history beside it);
- ``GET /w/{slug}/settings/maturity/{id}``: scores, stages, the radar chart, next steps;
- ``GET /w/{slug}/settings/maturity/compare?a=ID&b=ID``: two assessments side by side;
- ``GET /w/{slug}/settings/maturity/method``: how scores and stages are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from townsquare.errors import TownsquareError, ValidationError
from townsquare.maturity import charts, questionnaire, scoring, service
from townsquare.validation import DbId
from townsquare.web.deps import DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}/settings/maturity"


def _helpers(request: Request, access: WorkspaceAccess) -> dict[str, Any]:
    language: str = getattr(request.state, "language", "en")
    zone = ZoneInfo(access.workspace.timezone)

    def day(value: datetime) -> str:
        return format_date(value.astimezone(zone), format="medium", locale=language)

    def number(value: float) -> str:
        return format_decimal(value, format="0.0", locale=language)

    names: Callable[[str], str] = lambda cid: questionnaire.competency(cid).name[language]  # noqa: E731
    return {
        "base": _base(access),
        "lang": language,
        "day": day,
        "number": number,
        "competency_name": names,
        "stage_name": lambda sid: questionnaire.stage(sid).name[language],
        "questionnaire": questionnaire,
        "reached_at": scoring.REACHED_AT,
        "weakest_count": scoring.WEAKEST,
    }


def _radar(request: Request, series: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    language = getattr(request.state, "language", "en")
    gettext = translations(language).gettext
    labels = {c.id: c.name[language] for c in questionnaire.COMPETENCIES}
    return charts.radar_chart(series, labels, score_label=gettext("Score"))


def _form_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    answers: dict[str, str] | None = None,
    error: TownsquareError | None = None,
) -> Response:
    records = service.history(session, access)
    return render(
        request,
        "maturity/index.html",
        {
            **_helpers(request, access),
            "answers": answers or {},
            "history": [service.assessment_json(r, access.workspace.slug) for r in records],
            "error": error,
            "problem_fields": {str(p.get("field")) for p in getattr(error, "problems", []) or []},
        },
        status_code=status_for(error) if error else 200,
    )


@router.get("/w/{slug}/settings/maturity")
def maturity_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _form_page(request, session, access)


@router.post("/w/{slug}/settings/maturity")
async def maturity_answer(request: Request, session: DbSession, access: PageAccess) -> Response:
    data = await request.form()
    answers = {key: str(data.get(key) or "") for key in questionnaire.STATEMENTS if data.get(key)}
    try:
        record = service.answer(session, access, answers)
    except TownsquareError as error:
        session.rollback()
        return _form_page(request, session, access, answers=answers, error=error)
    return RedirectResponse(f"{_base(access)}/{record.id}", status_code=303)


@router.get("/w/{slug}/settings/maturity/method")
def maturity_method(request: Request, access: PageAccess) -> Response:
    return render(request, "maturity/method.html", _helpers(request, access))


@router.get("/w/{slug}/settings/maturity/compare")
def maturity_compare(request: Request, session: DbSession, access: PageAccess) -> Response:
    params = request.query_params
    try:
        first, second = int(params.get("a", "")), int(params.get("b", ""))
    except ValueError:
        raise ValidationError("choose two assessments to compare", field="a") from None
    records = sorted(
        [service.get(session, access, first), service.get(session, access, second)],
        key=lambda r: (r.taken_at, r.id),
    )
    result = service.compare(session, access, records[0].id, records[1].id)
    helpers = _helpers(request, access)
    series = [(helpers["day"](r.taken_at) + f" (#{r.id})", r.competencies) for r in records]
    return render(
        request,
        "maturity/compare.html",
        {**helpers, "result": result, "chart": _radar(request, series)},
    )


@router.get("/w/{slug}/settings/maturity/{assessment_id}")
def maturity_result(
    assessment_id: DbId, request: Request, session: DbSession, access: PageAccess
) -> Response:
    record = service.get(session, access, assessment_id)
    data = service.assessment_json(record, access.workspace.slug)
    helpers = _helpers(request, access)
    chart = _radar(request, [(helpers["day"](record.taken_at), record.competencies)])
    others = [r for r in service.history(session, access) if r.id != record.id]
    return render(
        request,
        "maturity/result.html",
        {**helpers, "assessment": data, "chart": chart, "others": others},
    )
