"""Publish's calendar pages (all under ``/w/{slug}``, forms carry the CSRF token).

- ``GET /publish``: the calendar: ``view=month|week|list``, ``date=YYYY-MM-DD`` (the period
  shown), ``channel`` and ``status`` filters; dates in the reader's language and the
  workspace's time zone;
- ``POST /publish/variants/{variant_id}/move``: reschedule one variant to ``slot`` (a day
  of the month view, an hour of the week view, or a local time from the list view's form);
  dragging an entry onto a slot sends it (publish.js, htmx), answered with the calendar
  re-rendered; without JavaScript, the list view's form does the same with a redirect;
- ``GET /publish/attention``: failed and uncertain posts, each with what to do.

The composer and post pages are in composer_pages.py, the settings in settings_pages.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date, format_time
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.channels.service import channel_label
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, TownsquareError
from townsquare.publish import calendar, web_support
from townsquare.publish.models import PublishVariant
from townsquare.validation import DbId, parse_id
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.forms import form_fields
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

FILTERS = ("view", "date", "channel", "status")


def base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}/publish"


def language_of(request: Request) -> str:
    return str(getattr(request.state, "language", "en"))


def workspace_channels(session: Session, access: WorkspaceAccess) -> list[Channel]:
    return list(
        session.scalars(
            select(Channel).where(Channel.workspace_id == access.workspace_id).order_by(Channel.id)
        )
    )


def _channel_filter(value: str) -> int | None:
    if not value.strip():
        return None
    return parse_id(value, field="channel", what="channel")


def _calendar_context(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    filters: dict[str, str],
) -> dict[str, Any]:
    language = language_of(request)
    tz = calendar.zone(access.workspace.timezone)
    today = utcnow().astimezone(tz).date()
    view = calendar.parse_view(filters.get("view"))
    day = calendar.parse_day(filters.get("date"), today)
    channel_id = _channel_filter(filters.get("channel", ""))
    status = calendar.parse_status(filters.get("status"))
    first, last = calendar.period_for(view, day)
    found = calendar.entries(session, access, first, last, tz, channel_id=channel_id, status=status)
    gettext = translations(language).gettext
    channels = workspace_channels(session, access)
    if view == "month":
        title = format_date(day, "LLLL yyyy", locale=language)
    elif view == "week":
        title = "{} – {}".format(
            format_date(first, "d MMM", locale=language),
            format_date(last, "d MMM yyyy", locale=language),
        )
    else:
        title = format_date(day, "LLLL yyyy", locale=language)
    keep = {
        "view": view,
        "channel": filters.get("channel", ""),
        "status": filters.get("status", ""),
    }
    return {
        "base": base(access),
        "view": view,
        "day": day,
        "today": today,
        "title": title,
        "zone": str(tz),
        "first": first,
        "last": last,
        "weeks": calendar.month_weeks(day) if view == "month" else [],
        "week": calendar.week_days(day) if view == "week" else [],
        "hours": list(range(24)),
        "entries": found,
        "by_day": calendar.by_day(found),
        "by_hour": calendar.by_hour(found),
        "previous": calendar.shift(view, day, -1).isoformat(),
        "next": calendar.shift(view, day, 1).isoformat(),
        "keep": keep,
        "filters": {**keep, "date": day.isoformat()},
        "channels": channels,
        "channel_names": {c.id: channel_label(c, gettext) for c in channels},
        "statuses": calendar.STATUSES,
        "status_labels": calendar.STATUS_LABELS,
        "can_move": access.role.at_least(Role.EDITOR),
        "day_name": lambda d: format_date(d, "EEE d", locale=language),
        "weekday_names": [format_date(d, "EEE", locale=language) for d in calendar.week_days(day)],
        "day_label": lambda d: format_date(d, "full", locale=language),
        "time_of": lambda moment: format_time(moment, "short", locale=language),
        "hour_label": lambda hour: format_time(
            datetime(2000, 1, 1, hour), "short", locale=language
        ),
    }


def calendar_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    filters: dict[str, str],
    *,
    error: TownsquareError | None = None,
    moved: str = "",
    fragment: bool = False,
) -> Response:
    try:
        context = _calendar_context(request, session, access, filters)
    except TownsquareError as bad:
        if error is not None:
            raise
        return calendar_page(request, session, access, {}, error=bad, fragment=fragment)
    context |= {"error": error, "moved": moved}
    name = "publish/_calendar.html" if fragment else "publish/calendar.html"
    return render(request, name, context, status_code=status_for(error) if error else 200)


@router.get("/w/{slug}/publish")
def publish_calendar(request: Request, session: DbSession, access: PageAccess) -> Response:
    filters = {key: request.query_params.get(key, "") for key in FILTERS}
    return calendar_page(request, session, access, filters)


def _variant(session: Session, access: WorkspaceAccess, variant_id: int) -> PublishVariant:
    variant = session.scalar(
        select(PublishVariant).where(
            PublishVariant.id == variant_id, PublishVariant.workspace_id == access.workspace_id
        )
    )
    if variant is None:
        raise NotFound(
            "no post variant %(id)s in this workspace", params={"id": variant_id}, field="variant"
        )
    return variant


@router.post("/w/{slug}/publish/variants/{variant_id}/move")
async def move_variant(
    request: Request,
    variant_id: DbId,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    form = await form_fields(request, "slot", *FILTERS)
    filters = {key: form[key] for key in FILTERS}
    htmx = bool(request.headers.get("hx-request"))
    try:
        variant = _variant(session, access, variant_id)
        reschedule(session, access, settings, variant, form["slot"])
    except TownsquareError as error:
        session.rollback()
        return calendar_page(request, session, access, filters, error=error, fragment=htmx)
    if htmx:
        return calendar_page(
            request, session, access, filters, moved=str(variant_id), fragment=True
        )
    query = "&".join(f"{key}={value}" for key, value in filters.items() if value)
    return RedirectResponse(
        f"{base(access)}?{query}&moved={variant_id}".replace("?&", "?"), status_code=303
    )


def reschedule(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    variant: PublishVariant,
    slot: str,
) -> None:
    """Move ``variant`` to the calendar slot ``slot`` (read in the workspace's zone)."""
    access.require(Role.EDITOR, "reschedule posts")
    tz = calendar.zone(access.workspace.timezone)
    current = variant.scheduled_at.astimezone(tz) if variant.scheduled_at else None
    instant = calendar.parse_slot(slot, tz, current)
    web_support.reschedule_variant(session, access, settings, variant, instant)


@router.get("/w/{slug}/publish/attention")
def attention_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    gettext = translations(language_of(request)).gettext
    items = web_support.needing_attention(session, access)
    return render(
        request,
        "publish/attention.html",
        {
            "base": base(access),
            "items": items,
            "zone": access.workspace.timezone or "UTC",
            "channel_label": lambda channel: channel_label(channel, gettext),
            "can_act": access.role.at_least(Role.EDITOR),
            "status_labels": calendar.STATUS_LABELS,
        },
    )
