"""Listen's mentions stream and alerts pages (under ``/w/{slug}/listen``; forms carry CSRF).

- ``GET /mentions``: the stream with its filters (watch, period or dates, source, language,
  sentiment, mark), volume per day, sentiment per day, share of voice, spikes, tops;
- ``GET /mentions.csv``: the same filters as a CSV file (French convention on French pages);
- ``POST /mentions/{id}/mark``, ``/sentiment``, ``/noise``: mark, correct, delete as noise
  (and mute its author or site); each goes back to the page it came from;
- ``GET /alerts``: every alert with its health; ``POST /alerts``, ``/alerts/{id}/delete``;
- ``POST /watches/{id}/spikes``: the watch's spike threshold;
- ``POST /mutes/{id}/delete``: let an author or site in again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from townsquare.errors import TownsquareError, ValidationError
from townsquare.exports import content_disposition, dialect_for
from townsquare.listening import alerts, export, figures, marks, service, sources, tops
from townsquare.listening.models import ALERT_MODES
from townsquare.listening.pages import form_page
from townsquare.listening.sentiment import LABELS
from townsquare.validation import DbId
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PERIODS = (7, 30, 90)
SENTIMENT_COLOURS = {"negative": "#c0392b", "neutral": "#95a5a6", "positive": "#27ae60"}


def _base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}/listen"


def _language(request: Request) -> str:
    return str(getattr(request.state, "language", "en"))


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            "%(value)r is not a date: write YYYY-MM-DD", params={"value": value}, field=field
        ) from None


def read_filters(
    session: Session, access: WorkspaceAccess, params: Any
) -> tuple[service.MentionFilter, dict[str, Any]]:
    """The stream's filters from a query string, and what the form shows back.

    A period of ``days`` (7, 30, 90; 30 by default) ends now; ``from``/``to`` (local dates,
    both included) replace it when given."""
    days = int(params["days"]) if str(params.get("days", "")).isdigit() else 30
    days = days if days in PERIODS else 30
    zone = ZoneInfo(access.workspace.timezone)
    first, last = _day(params.get("from", ""), "from"), _day(params.get("to", ""), "to")
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    if first is not None:
        since = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    if last is not None:
        until = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    if since >= until:
        raise ValidationError("the period ends before it begins: swap the two dates", field="to")
    watch_param = str(params.get("watch", ""))
    watch = service.get_watch(session, access, watch_param) if watch_param else None
    source = str(params.get("source", ""))
    sentiment = str(params.get("sentiment", ""))
    mark = str(params.get("mark", ""))
    filters = service.MentionFilter(
        watch=watch.id if watch else None,
        since=since,
        until=until,
        sentiment=sentiment if sentiment in LABELS else None,
        lang=str(params.get("lang", ""))[:8] or None,
        source=int(source) if source.isdigit() and len(source) < 12 else None,
        mark=mark if mark in service.MARK_FILTERS else None,
    )
    form = {
        "watch": watch,
        "days": days,
        "from": first.isoformat() if first else "",
        "to": last.isoformat() if last else "",
        "lang": filters.lang or "",
        "source": filters.source,
        "sentiment": filters.sentiment or "",
        "mark": filters.mark or "",
    }
    return filters, form


def _sentiment_spec(series: dict[str, Any], labels: dict[str, str], title: str) -> dict[str, Any]:
    """A Vega-Lite stacked bar per day of the mentions by sentiment."""
    values = [
        {"date": day, "sentiment": labels[label], "mentions": series[label][number]}
        for number, day in enumerate(series["days"])
        for label in LABELS
        if series[label][number]
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container",
        "height": 180,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "date", "type": "temporal", "timeUnit": "yearmonthdate", "title": None},
            "y": {"field": "mentions", "type": "quantitative", "title": title, "stack": True},
            "color": {
                "field": "sentiment",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": [labels[label] for label in LABELS],
                    "range": [SENTIMENT_COLOURS[label] for label in LABELS],
                },
            },
        },
    }


@router.get("/w/{slug}/listen/mentions")
def mentions_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    from townsquare.listening.charts import volume_spec as _volume_spec
    from townsquare.listening.pages import _formatted_voices

    filters, form = read_filters(session, access, request.query_params)
    watch = form["watch"]
    since, until = filters.since, filters.until
    assert since is not None and until is not None
    rows = service.list_mentions(session, access, filters=filters, limit=200)
    volume = figures.volume_by_day(session, access, since, until)
    if watch is not None:
        volume["watches"] = [w for w in volume["watches"] if w["id"] == watch.id]
    gettext = translations(_language(request)).gettext
    labels = {label: gettext(label.capitalize()) for label in LABELS}
    feelings = figures.sentiment_by_day(session, access, since, until, watch.id if watch else None)
    query = request.url.query
    return render(
        request,
        "listening/mentions.html",
        {
            "base": _base(access),
            "mentions": rows,
            "watches": service.list_watches(session, access),
            "sources": sources.list_sources(session, access),
            "watch": watch,
            "form": form,
            "periods": PERIODS,
            "sentiments": LABELS,
            "sentiment_labels": labels,
            "marks": service.MARK_FILTERS,
            "volume_spec": _volume_spec(volume, gettext("Mentions")),
            "volume": volume,
            "sentiment_spec": _sentiment_spec(feelings, labels, gettext("Mentions")),
            "sentiment_totals": {label: sum(feelings[label]) for label in LABELS},
            "corrections": figures.corrections(session, access, since, until),
            "voices": _formatted_voices(
                figures.share_of_voice(session, access, since, until), _language(request)
            ),
            "spikes": (
                figures.watch_spikes(session, access, watch.id, since, until) if watch else []
            ),
            "tops": tops.tops(session, access, since, until, watch_id=watch.id if watch else None),
            "mutes": marks.list_mutes(session, access),
            "csv_url": f"{_base(access)}/mentions.csv" + (f"?{query}" if query else ""),
            "here": f"{_base(access)}/mentions" + (f"?{query}" if query else ""),
        },
    )


@router.get("/w/{slug}/listen/mentions.csv")
def mentions_csv(request: Request, session: DbSession, access: PageAccess) -> Response:
    filters, _form = read_filters(session, access, request.query_params)
    language = _language(request)
    chunks = list(
        export.mentions_csv(
            session,
            access,
            filters,
            dialect=dialect_for(language),
            labels=export.column_labels(language, translations(language).gettext),
        )
    )
    name = f"{access.workspace.slug}-mentions-{datetime.now(UTC):%Y-%m-%d}.csv"
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name)},
    )


async def _form(request: Request, *names: str) -> dict[str, str]:
    data = await request.form()
    return {name: str(data.get(name) or "") for name in names}


def _back(access: WorkspaceAccess, target: str) -> RedirectResponse:
    """Back to the Listen page the form was on (never anywhere else)."""
    base = _base(access)
    safe = target if target.startswith(f"{base}/") and "//" not in target[1:] else ""
    return RedirectResponse(safe or f"{base}/mentions", status_code=303)


@router.post("/w/{slug}/listen/mentions/{mention_id}/mark")
async def mention_mark(
    request: Request, mention_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    form = await _form(request, "mark", "value", "next")
    marks.set_mark(session, access, mention_id, form["mark"], form["value"] != "0")
    return _back(access, form["next"])


@router.post("/w/{slug}/listen/mentions/{mention_id}/sentiment")
async def mention_sentiment(
    request: Request, mention_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    form = await _form(request, "sentiment", "next")
    marks.correct_sentiment(session, access, mention_id, form["sentiment"] or None)
    return _back(access, form["next"])


@router.post("/w/{slug}/listen/mentions/{mention_id}/noise")
async def mention_noise(
    request: Request, mention_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    form = await _form(request, "mute", "next")
    marks.delete_as_noise(session, access, mention_id, mute=form["mute"] or None)
    return _back(access, form["next"])


@router.post("/w/{slug}/listen/mutes/{mute_id}/delete")
async def mute_delete(
    request: Request, mute_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    form = await _form(request, "next")
    marks.remove_mute(session, access, mute_id)
    return _back(access, form["next"])


@router.post("/w/{slug}/listen/watches/{watch_id}/spikes")
async def watch_spike_threshold(
    request: Request, watch_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    form = await _form(request, "threshold")
    try:
        value = float(form["threshold"].replace(",", "."))
    except ValueError:
        value = float("nan")
    service.update_watch(session, access, watch_id, spike_threshold=value)
    return RedirectResponse(f"{_base(access)}/watches/{watch_id}?saved=1", status_code=303)


def _alerts_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    watches = service.list_watches(session, access)
    context = {
        "alerts": alerts.list_alerts(session, access),
        "watch_names": {watch.id: watch.name for watch in watches},
        "watches": watches,
        "modes": ALERT_MODES,
        "form": form or {"mode": "instant", "group_minutes": "15"},
    }
    return form_page(
        request, access, "listening/alerts.html", context, error=error, flags=("added", "removed")
    )


@router.get("/w/{slug}/listen/alerts")
def alerts_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _alerts_page(request, session, access)


@router.post("/w/{slug}/listen/alerts")
async def alert_create(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    from townsquare.channels.crypto import CredentialsBox

    form = await _form(request, "watch", "url", "mode", "at", "group_minutes")
    try:
        minutes = form["group_minutes"].strip()
        if minutes and not minutes.isdigit():
            raise ValidationError(
                "group minutes must be between 1 and 1,440", field="group_minutes"
            )
        alerts.add_alert(
            session,
            access,
            settings,
            CredentialsBox(settings.resolved_credentials_key()),
            watch=service.get_watch(session, access, form["watch"]),
            url=form["url"],
            mode=form["mode"] or "instant",
            at=form["at"] or None,
            group_minutes=int(minutes or 15) if len(minutes) < 6 else 0,
        )
    except TownsquareError as error:
        session.rollback()
        return _alerts_page(request, session, access, error=error, form=form)
    return RedirectResponse(f"{_base(access)}/alerts?added=1", status_code=303)


@router.post("/w/{slug}/listen/alerts/{alert_id}/delete")
def alert_delete(alert_id: DbId, session: DbSession, access: PageAccess) -> Response:
    alerts.delete_alert(session, access, alert_id)
    return RedirectResponse(f"{_base(access)}/alerts?removed=1", status_code=303)
