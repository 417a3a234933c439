"""The public iCalendar feed: ``GET /publish/ical/{token}.ics`` (no login; the token is
the key, see ical.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from townsquare.publish import ical
from townsquare.web.deps import DbSession

router = APIRouter(include_in_schema=False)


@router.get("/publish/ical/{token}.ics")
def ical_feed(request: Request, token: str, session: DbSession) -> Response:
    workspace = ical.workspace_for_token(session, token)
    body = ical.build_calendar(session, workspace, base_url=str(request.base_url))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{workspace.slug}-publish.ics"',
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
        },
    )
