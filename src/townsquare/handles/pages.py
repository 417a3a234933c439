"""Handles' web pages, under Settings: check a name, see saved checks, re-check them.

- ``GET /w/{slug}/settings/handles``: the form, the Mastodon instances, the saved checks;
- ``POST /w/{slug}/settings/handles``: check a name (saved unless "save" is unticked) and
  show its results;
- ``GET /w/{slug}/settings/handles/{id}``, ``POST …/{id}/recheck``, ``POST …/{id}/delete``;
- ``POST /w/{slug}/settings/handles/instances``: the workspace's Mastodon instances.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from townsquare.errors import TownsquareError
from townsquare.handles import plan, reasons, service
from townsquare.handles.models import HandleCheck
from townsquare.validation import DbId
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}/settings/handles"


def _date_formatter(request: Request, access: WorkspaceAccess) -> Callable[[datetime], str]:
    """Dates in the reader's language and the workspace's time zone."""
    language = getattr(request.state, "language", "en")
    zone = ZoneInfo(access.workspace.timezone)

    def formatted(value: datetime) -> str:
        return format_datetime(value.astimezone(zone), format="medium", locale=language)

    return formatted


def _localised(request: Request, results: list[dict[str, str]]) -> list[dict[str, str]]:
    gettext = translations(getattr(request.state, "language", "en")).gettext
    return [{**r, "reason": reasons.localise(r["reason"], gettext)} for r in results]


def _index(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    results: list[dict[str, str]] | None = None,
    record: HandleCheck | None = None,
    error: TownsquareError | None = None,
    form: dict[str, Any] | None = None,
    instances_text: str | None = None,
) -> Response:
    saved = service.list_checks(session, access)
    current = service.mastodon_instances(access.workspace)
    return render(
        request,
        "handles/index.html",
        {
            "base": _base(access),
            "networks": plan.NETWORKS,
            "results": _localised(request, results) if results is not None else None,
            "record": record,
            "saved": [service.check_json(item) for item in saved],
            "instances": current,
            "instances_text": instances_text if instances_text is not None else "\n".join(current),
            "error": error,
            "form": form
            or {"name": "", "networks": [], "domain": "", "save": True, "variants": True},
            "format_datetime": _date_formatter(request, access),
        },
        status_code=status_for(error) if error else 200,
    )


@router.get("/w/{slug}/settings/handles")
def handles_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _index(request, session, access)


@router.post("/w/{slug}/settings/handles")
async def handles_check(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    data = await request.form()
    name = str(data.get("name") or "")
    networks = [str(value) for value in data.getlist("networks")]
    domain = str(data.get("domain") or "")
    save, variants = data.get("save") == "on", data.get("variants") == "on"
    form = {
        "name": name,
        "networks": networks,
        "domain": domain,
        "save": save,
        "variants": variants,
    }
    try:
        record, results = service.check(
            session,
            access,
            settings,
            name,
            networks,
            variants=service.DEFAULT_VARIANTS if variants else 0,
            save=save,
            bluesky_domain=domain or None,
        )
    except TownsquareError as error:
        session.rollback()
        return _index(request, session, access, error=error, form=form)
    return _index(request, session, access, results=results, record=record, form=form)


@router.post("/w/{slug}/settings/handles/instances")
async def handles_instances(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    data = await request.form()
    text = str(data.get("instances") or "")
    lines = [line for line in text.replace(",", "\n").splitlines() if line.strip()]
    try:
        service.set_mastodon_instances(session, access, settings, lines)
    except TownsquareError as error:
        session.rollback()
        return _index(request, session, access, error=error, instances_text=text)
    return RedirectResponse(f"{_base(access)}?saved=instances", status_code=303)


@router.get("/w/{slug}/settings/handles/{check_id}")
def handles_saved(
    check_id: DbId, request: Request, session: DbSession, access: PageAccess
) -> Response:
    record = service.get_check(session, access, check_id)
    data = service.check_json(record)
    return render(
        request,
        "handles/detail.html",
        {
            "base": _base(access),
            "check": data,
            "results": _localised(request, data["results"]),
            "format_datetime": _date_formatter(request, access),
        },
    )


@router.post("/w/{slug}/settings/handles/{check_id}/recheck")
def handles_recheck(
    check_id: DbId, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    service.recheck(session, access, settings, check_id)
    return RedirectResponse(f"{_base(access)}/{check_id}", status_code=303)


@router.post("/w/{slug}/settings/handles/{check_id}/delete")
def handles_delete(check_id: DbId, session: DbSession, access: PageAccess) -> Response:
    service.delete_check(session, access, check_id)
    return RedirectResponse(_base(access), status_code=303)
