"""Reports' web pages: the list and the form, a report's page (preview, files, commentary,
share links, schedule, history) and the public page a share link opens (``/r/{token}``).

The preview is the report's own HTML document, the very one the PDF is printed from.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from townsquare.channels import service as channels
from townsquare.errors import TownsquareError
from townsquare.reports import delivery, periods, render, sections, service, shares
from townsquare.reports.models import Report
from townsquare.validation import DbId
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render as render_page
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
public = APIRouter(include_in_schema=False)


def _base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}/reports"


async def _form(request: Request) -> tuple[dict[str, str], dict[str, list[str]], bytes | None]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    lists = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    logo = form.get("logo")
    content = await logo.read() if logo is not None and not isinstance(logo, str) else None
    return values, lists, content or None


def _choices(session: Session, access: WorkspaceAccess) -> list[Any]:
    return channels.list_channels(session, access)


def _list_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    error: TownsquareError | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    context = {
        "reports": service.list_reports(session, access),
        "channels": _choices(session, access),
        "sections": sections.SECTIONS,
        "titles": sections.section_titles(lambda s: s),
        "named_periods": periods.NAMED,
        "base": _base(access),
        "error": error,
        "form": form or {},
    }
    return render_page(
        request,
        "reports/list.html",
        context,
        status_code=status_for(error) if error else 200,
    )


@router.get("/w/{slug}/reports")
def reports_list(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _list_page(request, session, access)


def _input(
    values: dict[str, str], lists: dict[str, list[str]], logo: bytes | None
) -> service.ReportInput:
    period = values.get("period", "")
    if period == "custom":
        period = f"{values.get('from', '')}..{values.get('to', '')}"
    chosen = [s for s in sections.SECTIONS if values.get(f"section-{s}") == "on"]
    order = {s: values.get(f"order-{s}", "") for s in chosen}
    chosen.sort(
        key=lambda s: (int(order[s]) if order[s].isdigit() else 99, sections.SECTIONS.index(s))
    )
    return service.ReportInput(
        name=values.get("name", ""),
        channels=lists.get("channels", []),
        period=period,
        compare=values.get("compare") or None,
        sections=chosen or None,
        language=values.get("report_language", "en"),
        rolling=values.get("rolling") == "on",
        color=values.get("color") or None,
        agency=values.get("agency"),
        footer=values.get("footer"),
        hide_mark=values.get("hide_mark") == "on",
        logo=logo,
    )


@router.post("/w/{slug}/reports")
async def reports_create(request: Request, session: DbSession, access: PageAccess) -> Response:
    values, lists, logo = await _form(request)
    try:
        report = service.create_report(session, access, _input(values, lists, logo))
    except TownsquareError as error:
        session.rollback()
        return _list_page(request, session, access, error=error, form=values)
    return RedirectResponse(f"{_base(access)}/{report.id}", status_code=303)


def _detail(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    settings: AppSettings,
    report: Report,
    *,
    error: TownsquareError | None = None,
    new_link: str | None = None,
) -> Response:
    current, previous = service.resolve_period(report, access)
    context = {
        "report": report,
        "base": _base(access),
        "titles": sections.section_titles(lambda s: s),
        "period": current,
        "previous": previous,
        "schedule": delivery.get_schedule(session, access, report.id),
        "shares": [shares.share_dict(s) for s in shares.list_shares(session, access, report.id)],
        "history": delivery.history(session, access, report.id),
        "formats": render.FORMATS,
        "error": error,
        "new_link": new_link,
    }
    return render_page(
        request, "reports/detail.html", context, status_code=status_for(error) if error else 200
    )


@router.get("/w/{slug}/reports/{report_id}")
def report_page(
    report_id: str, request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    report = service.get_report(session, access, report_id)
    return _detail(request, session, access, settings, report)


@router.get("/w/{slug}/reports/{report_id}/preview")
def report_preview(report_id: str, session: DbSession, access: PageAccess) -> Response:
    rendered = service.render_report(session, access, report_id, fmt="html")
    return Response(rendered.content, media_type=rendered.media_type)


@router.get("/w/{slug}/reports/{report_id}/render")
def report_file(
    report_id: str, request: Request, session: DbSession, access: PageAccess
) -> Response:
    fmt = request.query_params.get("format", "pdf")
    rendered = service.render_report(
        session, access, report_id, fmt=fmt, period=request.query_params.get("period") or None
    )
    disposition = "inline" if fmt in ("html", "pdf") else "attachment"
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{rendered.filename}"'},
    )


async def _action(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    settings: AppSettings,
    report_id: str,
    action: Any,
) -> Response:
    report = service.get_report(session, access, report_id)
    values, lists, _logo = await _form(request)
    try:
        new_link = action(report, values, lists)
    except TownsquareError as error:
        session.rollback()
        return _detail(request, session, access, settings, report, error=error)
    if new_link:
        return _detail(request, session, access, settings, report, new_link=new_link)
    return RedirectResponse(f"{_base(access)}/{report.id}", status_code=303)


@router.post("/w/{slug}/reports/{report_id}/commentary")
async def report_commentary(
    report_id: str, request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    def act(report: Report, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        notes = {s: values.get(f"commentary-{s}", "") for s in report.sections}
        service.set_commentary(session, access, report.id, notes)

    return await _action(request, session, access, settings, report_id, act)


@router.post("/w/{slug}/reports/{report_id}/share")
async def report_share(
    report_id: str, request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    def act(report: Report, values: dict[str, str], lists: dict[str, list[str]]) -> str:
        days = values.get("days", "").strip()
        issued = shares.create_share(
            session, access, report.id, days=int(days) if days.isdigit() else shares.DEFAULT_DAYS
        )
        return delivery.base_url(settings) + issued.path()

    return await _action(request, session, access, settings, report_id, act)


@router.post("/w/{slug}/reports/{report_id}/shares/{share_id}/revoke")
async def report_unshare(
    report_id: str,
    share_id: DbId,
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    def act(report: Report, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        shares.revoke_share(session, access, report.id, share_id)

    return await _action(request, session, access, settings, report_id, act)


@router.post("/w/{slug}/reports/{report_id}/schedule")
async def report_schedule(
    report_id: str, request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    def act(report: Report, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        delivery.set_schedule(
            session,
            access,
            report.id,
            every=values.get("every", ""),
            at=values.get("at"),
            review=values.get("review") == "on",
            recipients=[values.get("to", "")],
        )

    return await _action(request, session, access, settings, report_id, act)


@router.post("/w/{slug}/reports/{report_id}/send")
async def report_send(
    report_id: str, request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    def act(report: Report, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        delivery.send_now(session, settings, access, report.id, recipients=[values.get("to", "")])

    return await _action(request, session, access, settings, report_id, act)


@router.post("/w/{slug}/reports/{report_id}/deliveries/{delivery_id}/approve")
async def report_approve(
    report_id: str,
    delivery_id: DbId,
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    def act(report: Report, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        notes = {s: values.get(f"commentary-{s}", "") for s in report.sections}
        delivery.approve(session, settings, access, delivery_id, commentary=notes)

    return await _action(request, session, access, settings, report_id, act)


@router.get("/w/{slug}/reports/{report_id}/deliveries/{delivery_id}/file")
def delivery_download(
    report_id: str, delivery_id: DbId, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    report = service.get_report(session, access, report_id)
    done = delivery.get_delivery(session, access, delivery_id)
    if done.report_id != report.id:
        from townsquare.errors import NotFound

        raise NotFound(
            "report %(report_id)s has no delivery %(delivery_id)s",
            params={"report_id": report.id, "delivery_id": delivery_id},
        )
    path = delivery.delivery_file(settings, done)
    return Response(
        path.read_bytes(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
    )


# --- what a share link opens: that report, read-only, without login -----------------------


def _shared(session: Session, token: str, fmt: str) -> Response:
    report, access, share = shares.open_share(session, token)
    period = (share.period_from, share.period_to) if share.period_from and share.period_to else None
    rendered = service.render_report(session, access, report.id, fmt=fmt, period_range=period)
    headers = {
        "Cache-Control": "private, no-store",
        "X-Robots-Tag": "noindex",
        "Referrer-Policy": "no-referrer",
    }
    if fmt == "pdf":
        headers["Content-Disposition"] = f'inline; filename="{rendered.filename}"'
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)


@public.get("/r/{token}")
def shared_report(token: str, session: DbSession) -> Response:
    return _shared(session, token, "html")


@public.get("/r/{token}/pdf")
def shared_pdf(token: str, session: DbSession) -> Response:
    return _shared(session, token, "pdf")
