"""Reports' REST API, under ``/api/v1/workspaces/{workspace}/reports…`` (see service.py).

- ``GET|POST /reports``, ``GET|PATCH|DELETE /reports/{id}``;
- ``GET /reports/{id}/render?format=pdf|html|xlsx|csv[&period=…]``: the file;
- ``PUT|DELETE /reports/{id}/schedule``, ``POST /reports/{id}/send`` (now);
- ``GET /reports/{id}/history``, ``POST /reports/deliveries/{delivery}/approve``;
- ``GET|POST /reports/{id}/shares``, ``DELETE /reports/{id}/shares/{share}``.

The JSON bodies and answers use the CLI's names (``--every`` is ``every``, ``--to`` is ``to``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from townsquare.errors import ValidationError
from townsquare.reports import delivery, service, shares
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession

router = APIRouter(tags=["reports"])
PREFIX = "/workspaces/{workspace}/reports"


class ReportBody(BaseModel):
    name: str
    channels: list[str] = Field(description="Channel handles (or network:handle)")
    period: str = Field(description="last-month, last-7-days, last-quarter or A..B")
    compare: str | None = Field(default=None, description="previous or last-year")
    sections: list[str] = Field(default_factory=list, description="In order; empty: all")
    language: str = "en"
    rolling: bool = False
    color: str | None = Field(default=None, description="Accent colour #rrggbb")
    agency: str | None = None
    footer: str | None = None
    hide_mark: bool = Field(default=False, description="No townsquare mark")
    logo_base64: str | None = Field(default=None, description="PNG/JPEG/GIF/SVG, base64")
    commentary: dict[str, str] | None = None

    def to_input(self) -> service.ReportInput:
        logo = None
        if self.logo_base64:
            try:
                logo = base64.b64decode(self.logo_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError("logo_base64 is not base64", field="logo_base64") from None
        return service.ReportInput(
            name=self.name,
            channels=self.channels,
            period=self.period,
            compare=self.compare,
            sections=self.sections,
            language=self.language,
            rolling=self.rolling,
            color=self.color,
            agency=self.agency,
            footer=self.footer,
            hide_mark=self.hide_mark,
            logo=logo,
            commentary=self.commentary,
        )


class ScheduleBody(BaseModel):
    every: str = Field(description="week or month")
    at: str = Field(default="08:00", description="Local time HH:MM (workspace's zone)")
    review: bool = Field(default=False, description="Hold each run for review")
    to: list[str]


class SendBody(BaseModel):
    to: list[str] = Field(default_factory=list, description="Default: the schedule's")
    period: str | None = None


class ApproveBody(BaseModel):
    commentary: dict[str, str] | None = None


class ShareBody(BaseModel):
    days: int = shares.DEFAULT_DAYS


def _full(session: Any, access: Any, report: Any) -> dict[str, Any]:
    out = service.report_dict(report, access.workspace.slug)
    out["schedule"] = delivery.schedule_dict(delivery.get_schedule(session, access, report.id))
    return out


@router.get(PREFIX, summary="The workspace's reports")
def list_reports(access: ApiAccess, session: DbSession) -> dict[str, Any]:
    return {"reports": [_full(session, access, r) for r in service.list_reports(session, access)]}


@router.post(PREFIX, status_code=201, summary="Create a report")
def create_report(body: ReportBody, access: ApiAccess, session: DbSession) -> dict[str, Any]:
    report = service.create_report(session, access, body.to_input())
    return _full(session, access, report)


@router.get(PREFIX + "/{report_id}", summary="One report")
def get_report(report_id: DbId, access: ApiAccess, session: DbSession) -> dict[str, Any]:
    return _full(session, access, service.get_report(session, access, report_id))


@router.patch(PREFIX + "/{report_id}", summary="Change a report (send the whole definition)")
def update_report(
    report_id: DbId, body: ReportBody, access: ApiAccess, session: DbSession
) -> dict[str, Any]:
    report = service.update_report(session, access, report_id, body.to_input())
    return _full(session, access, report)


@router.delete(PREFIX + "/{report_id}", status_code=204, summary="Delete a report")
def delete_report(report_id: DbId, access: ApiAccess, session: DbSession) -> Response:
    service.delete_report(session, access, report_id)
    return Response(status_code=204)


@router.get(PREFIX + "/{report_id}/render", summary="The report as a file")
def render_report(
    report_id: DbId,
    access: ApiAccess,
    session: DbSession,
    format: str = Query("pdf", description="pdf, html, xlsx or csv (a zip of CSV files)"),
    period: str | None = Query(None, description="Another period than the report's"),
) -> Response:
    rendered = service.render_report(session, access, report_id, fmt=format, period=period)
    disposition = "inline" if format in ("html", "pdf") else "attachment"
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{rendered.filename}"'},
    )


@router.put(PREFIX + "/{report_id}/schedule", summary="Schedule a report (weekly or monthly)")
def set_schedule(
    report_id: DbId, body: ScheduleBody, access: ApiAccess, session: DbSession
) -> dict[str, Any]:
    schedule = delivery.set_schedule(
        session,
        access,
        report_id,
        every=body.every,
        at=body.at,
        review=body.review,
        recipients=body.to,
    )
    return delivery.schedule_dict(schedule) or {}


@router.delete(PREFIX + "/{report_id}/schedule", status_code=204, summary="Unschedule")
def remove_schedule(report_id: DbId, access: ApiAccess, session: DbSession) -> Response:
    delivery.remove_schedule(session, access, report_id)
    return Response(status_code=204)


@router.post(PREFIX + "/{report_id}/send", summary="E-mail the report now")
def send_now(
    report_id: DbId, body: SendBody, access: ApiAccess, session: DbSession, settings: AppSettings
) -> dict[str, Any]:
    done = delivery.send_now(
        session, settings, access, report_id, recipients=body.to, period=body.period
    )
    return delivery.delivery_dict(done)


@router.get(PREFIX + "/{report_id}/history", summary="Every delivery of a report")
def history(report_id: DbId, access: ApiAccess, session: DbSession) -> dict[str, Any]:
    return {
        "deliveries": [
            delivery.delivery_dict(d) for d in delivery.history(session, access, report_id)
        ]
    }


@router.post(PREFIX + "/deliveries/{delivery_id}/approve", summary="Send a held delivery")
def approve(
    delivery_id: DbId,
    body: ApproveBody,
    access: ApiAccess,
    session: DbSession,
    settings: AppSettings,
) -> dict[str, Any]:
    done = delivery.approve(session, settings, access, delivery_id, commentary=body.commentary)
    return delivery.delivery_dict(done)


@router.get(PREFIX + "/{report_id}/shares", summary="A report's share links")
def list_shares(report_id: DbId, access: ApiAccess, session: DbSession) -> dict[str, Any]:
    return {
        "shares": [shares.share_dict(s) for s in shares.list_shares(session, access, report_id)]
    }


@router.post(PREFIX + "/{report_id}/shares", status_code=201, summary="A read-only link")
def create_share(
    report_id: DbId, body: ShareBody, access: ApiAccess, session: DbSession, settings: AppSettings
) -> dict[str, Any]:
    issued = shares.create_share(session, access, report_id, days=body.days)
    return {**shares.share_dict(issued.share), "url": delivery.base_url(settings) + issued.path()}


@router.delete(PREFIX + "/{report_id}/shares/{share_id}", status_code=204, summary="Revoke")
def revoke_share(
    report_id: DbId, share_id: DbId, access: ApiAccess, session: DbSession
) -> Response:
    shares.revoke_share(session, access, report_id, share_id)
    return Response(status_code=204)
