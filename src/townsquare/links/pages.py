"""Links' web pages: list and create (with a live UTM builder), detail with stats and QR.

Routes (all under ``/w/{slug}``, forms carry the CSRF token):

- ``GET /links`` list + create form; ``POST /links`` create;
- ``GET /links/preview`` the final URL for the builder (an htmx fragment, same rules as the
  service, so what the page shows is exactly what will be stored);
- ``GET /links/{link}`` detail: short URL, QR, stats and chart, edit, disable, delete;
- ``POST /links/{link}/edit|disable|enable|delete``;
- ``GET /links/{link}/qr`` QR download; ``/links/{link}/stats.csv`` and ``/clicks.csv``;
- ``GET /link-stats`` figures by tag, campaign or for the whole workspace.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.errors import TownsquareError, ValidationError
from townsquare.exports import content_disposition, dialect_for, header_labels
from townsquare.links import qr, service, stats, urls
from townsquare.links.models import Link
from townsquare.web import flash
from townsquare.web.chart_locale import localized
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.forms import form_fields
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

FORM_FIELDS = (
    "target_url",
    "slug",
    *urls.UTM_FIELDS,
    "tags",
    "campaign",
    "post_id",
    "title",
    "expires_at",
    "max_clicks",
    "password",
    "fallback_url",
    "permanent",
)
BREAKDOWNS = (
    ("referrers", "referrer"),
    ("devices", "device"),
    ("os", "os"),
    ("browsers", "browser"),
    ("countries", "country"),
)


async def _form(request: Request) -> dict[str, str]:
    return await form_fields(request, *FORM_FIELDS, "clear_password")


def _post_id(value: str) -> int | None:
    if not value.strip():
        return None
    return validation.parse_id(value, field="post_id", what="post")


def _gettext(request: Request) -> Any:
    from townsquare.web.i18n import translations

    return translations(getattr(request.state, "language", "en")).gettext


def _recent_posts(
    session: Session,
    access: WorkspaceAccess,
    limit: int = 100,
    *,
    gettext: Any = None,
) -> list[dict[str, Any]]:
    """The workspace's latest posts, to attach a link to the post it is shared in: each
    named by its date, its channel and the start of its text (an id alone says nothing)."""
    from sqlalchemy import select

    from townsquare.analytics.models import Post
    from townsquare.channels.models import Channel
    from townsquare.channels.service import channel_label

    rows = session.execute(
        select(Post, Channel)
        .join(Channel, Channel.id == Post.channel_id)
        .where(
            Post.workspace_id == access.workspace_id, Channel.workspace_id == access.workspace_id
        )
        .order_by(Post.published_at.desc().nulls_last(), Post.id.desc())
        .limit(limit)
    )
    posts = []
    for post, channel in rows:
        when = post.published_at.strftime("%Y-%m-%d") if post.published_at else ""
        text = " ".join((post.text or "").split())
        if len(text) > 60:
            text = text[:59].rstrip() + "…"
        parts = [when, channel_label(channel, gettext), text or post.external_id]
        posts.append({"id": post.id, "label": " · ".join(part for part in parts if part)})
    return posts


def _base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}"


MIN_CHART_DAYS = 14  # a chart of fewer days would draw each day as a wide block


def _chart_spec(by_day: list[dict[str, Any]], human: str, bot: str) -> dict[str, Any]:
    """A Vega-Lite stacked bar chart of human and bot clicks per day.

    The time axis spans at least ``MIN_CHART_DAYS`` days, ending on the last day with
    clicks, so one day of clicks is one narrow bar and not the chart's whole width; its
    labels are dates that never overlap, its counts whole numbers.
    """
    from datetime import date as date_type
    from datetime import timedelta

    values = []
    for day in by_day:
        values.append({"date": day["date"], "kind": human, "clicks": day["human"]})
        values.append({"date": day["date"], "kind": bot, "clicks": day["bot"]})
    days = sorted(date_type.fromisoformat(str(day["date"])[:10]) for day in by_day)
    x_scale: dict[str, Any] = {}
    if days:
        first, last = days[0], days[-1]
        if (last - first).days + 1 < MIN_CHART_DAYS:
            first = last - timedelta(days=MIN_CHART_DAYS - 1)
        # From the first day's start to the end of the last day: every bar drawn whole.
        end = last + timedelta(days=1)
        x_scale = {
            "domain": [
                {"year": first.year, "month": first.month, "date": first.day, "utc": True},
                {"year": end.year, "month": end.month, "date": end.day, "utc": True},
            ]
        }
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container",
        "height": 220,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {
                "field": "date",
                "type": "temporal",
                "timeUnit": "utcyearmonthdate",
                "title": None,
                "scale": x_scale,
                "axis": {"format": "%e %b", "labelOverlap": "greedy", "labelAngle": 0},
            },
            "y": {
                "field": "clicks",
                "type": "quantitative",
                "stack": True,
                "title": None,
                "axis": {"format": ",d", "tickMinStep": 1},
            },
            "color": {
                "field": "kind",
                "type": "nominal",
                "title": None,
                "scale": {"domain": [human, bot], "range": ["#1e88e5", "#b0bec5"]},
            },
        },
    }


def _stats_context(request: Request, figures: dict[str, Any]) -> dict[str, Any]:
    from townsquare.web.i18n import translations

    language = getattr(request.state, "language", "en")
    gettext = translations(language).gettext
    peak = max((d["human"] + d["bot"] for d in figures["by_day"]), default=0)
    return {
        "figures": figures,
        "chart_spec": localized(
            _chart_spec(figures["by_day"], gettext("Human"), gettext("Bot")), language
        ),
        "peak": peak,
        "breakdowns": BREAKDOWNS,
        # Filters the period form must carry over (tag or campaign of the stats page).
        "period_keep": {key: request.query_params.get(key, "") for key in ("tag", "campaign")},
    }


def _list_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    settings: AppSettings,
    *,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    tag = request.query_params.get("tag") or None
    campaign = request.query_params.get("campaign") or None
    search = request.query_params.get("q") or None
    links = service.list_links(session, access, tag=tag, campaign=campaign, search=search)
    tags = service.tags_of(session, links)
    rows = [service.link_json(link, settings, tags[link.id]) for link in links]
    return render(
        request,
        "links/list.html",
        {
            "links": rows,
            "all_tags": service.workspace_tags(session, access),
            "all_campaigns": service.workspace_campaigns(session, access),
            "filters": {"tag": tag or "", "campaign": campaign or "", "q": search or ""},
            "short_base": service.short_base_url(settings),
            "posts": _recent_posts(session, access, gettext=_gettext(request)),
            "error": error,
            "form": form or {},
            "base": _base(access),
        },
        status_code=status_for(error) if error else 200,
    )


@router.get("/w/{slug}/links")
def links_page(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    return _list_page(request, session, access, settings)


def _utm(form: dict[str, str]) -> dict[str, str | None]:
    return {key: form.get(key) or None for key in urls.UTM_FIELDS}


@router.post("/w/{slug}/links")
async def links_create(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    form = await _form(request)
    try:
        link = service.create_link(
            session,
            access,
            settings,
            target_url=form["target_url"],
            slug=form["slug"] or None,
            utm=_utm(form),
            tags=[form["tags"]],
            campaign=form["campaign"],
            post_id=_post_id(form["post_id"]),
            title=form["title"],
            expires_at=form["expires_at"] or None,
            max_clicks=form["max_clicks"] or None,
            password=form["password"] or None,
            fallback_url=form["fallback_url"] or None,
            permanent=form["permanent"] == "on",
        )
    except TownsquareError as error:
        session.rollback()
        form.pop("password", None)
        return _list_page(request, session, access, settings, error=error, form=form)
    return flash.redirect(
        f"{_base(access)}/links/{link.slug}",
        "link.created",
        url=service.short_url(settings, link.slug),
    )


@router.get("/w/{slug}/links/preview")
def links_preview(request: Request, access: PageAccess, settings: AppSettings) -> Response:
    """The final URL the form would store, or the reason it would be refused."""
    params = request.query_params
    target = params.get("target_url", "")
    context: dict[str, Any] = {"final_url": None, "problem": None}
    if target.strip():
        try:
            clean = urls.validate_target(target, origins=service.redirector_origins(settings))
            utm = urls.clean_utm({key: params.get(key) for key in urls.UTM_FIELDS})
            context["final_url"] = urls.apply_utm(clean, utm)
        except ValidationError as error:
            context["problem"] = error.message
    return render(request, "links/_preview.html", context)


def _detail_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    settings: AppSettings,
    link: Link,
    *,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    data = service.link_json(link, settings, service.tags_of(session, [link])[link.id])
    figures = stats.link_stats(session, access, link.slug, since=since, until=until)
    return render(
        request,
        "links/detail.html",
        {
            "link": data,
            "error": error,
            "form": form or {},
            "base": _base(access),
            "posts": _recent_posts(session, access, gettext=_gettext(request)),
            "expiry_day": service.expiry_day(link.expires_at, timezone=access.workspace.timezone),
            "qr_defaults": {"scale": qr.DEFAULT_SCALE, "dark": "#000000", "light": "#ffffff"},
            **_stats_context(request, figures),
        },
        status_code=status_for(error) if error else 200,
    )


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "invalid %(field)s date %(value)r: use YYYY-MM-DD",
            params={"field": field, "value": value},
            field=field,
        ) from None


@router.get("/w/{slug}/links/{link_slug}")
def link_page(
    link_slug: str,
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    link = service.get_link(session, access, link_slug)
    since = _day(request.query_params.get("since"), "since")
    until = _day(request.query_params.get("until"), "until")
    return _detail_page(request, session, access, settings, link, since=since, until=until)


@router.post("/w/{slug}/links/{link_slug}/edit")
async def link_edit(
    link_slug: str,
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    form = await _form(request)
    current = service.get_link(session, access, link_slug)
    changes: dict[str, Any] = {
        "target_url": form["target_url"],
        "utm": _utm(form),
        "tags": [form["tags"]],
        "campaign": form["campaign"] or None,
        "title": form["title"] or None,
        "expires_at": form["expires_at"] or None,
        "max_clicks": form["max_clicks"] or None,
        "fallback_url": form["fallback_url"] or None,
        "permanent": form["permanent"] == "on",
    }
    if form["expires_at"] == service.expiry_day(
        current.expires_at, timezone=access.workspace.timezone
    ):
        # Unchanged: keep the exact moment (and let an expired link be edited).
        del changes["expires_at"]
    if form["password"]:
        changes["password"] = form["password"]
    try:
        changes["post_id"] = _post_id(form["post_id"])
    except ValidationError as error:
        link = service.get_link(session, access, link_slug)
        return _detail_page(request, session, access, settings, link, error=error, form=form)
    if form["clear_password"]:
        changes["password"] = None
    try:
        service.update_link(session, access, settings, link_slug, **changes)
    except TownsquareError as error:
        session.rollback()
        link = service.get_link(session, access, link_slug)
        form.pop("password", None)
        return _detail_page(request, session, access, settings, link, error=error, form=form)
    return RedirectResponse(f"{_base(access)}/links/{link_slug}?saved=1", status_code=303)


@router.post("/w/{slug}/links/{link_slug}/disable")
def link_disable(link_slug: str, session: DbSession, access: PageAccess) -> Response:
    link = service.set_enabled(session, access, link_slug, False)
    return flash.redirect(f"{_base(access)}/links/{link.slug}", "link.disabled", slug=link.slug)


@router.post("/w/{slug}/links/{link_slug}/enable")
def link_enable(link_slug: str, session: DbSession, access: PageAccess) -> Response:
    link = service.set_enabled(session, access, link_slug, True)
    return flash.redirect(f"{_base(access)}/links/{link.slug}", "link.enabled", slug=link.slug)


@router.post("/w/{slug}/links/{link_slug}/delete")
def link_delete(
    link_slug: str,
    session: DbSession,
    access: PageAccess,
    keep_clicks: Annotated[str, Form()] = "keep",
) -> Response:
    result = service.delete_link(session, access, link_slug, keep_clicks=keep_clicks != "delete")
    outcome = "kept" if result.clicks_kept else "deleted"
    return RedirectResponse(
        f"{_base(access)}/links?deleted={result.slug}&clicks={outcome}", status_code=303
    )


@router.get("/w/{slug}/links/{link_slug}/qr")
def link_qr(
    link_slug: str,
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    """The QR code; ``download=1`` makes the browser save it instead of showing it."""
    params = request.query_params
    link = service.get_link(session, access, link_slug)
    url = service.short_url(settings, link.slug)

    def number(name: str) -> int | None:
        value = params.get(name)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise ValidationError(
                "%(name)s must be a whole number", params={"name": name}, field=name
            ) from None

    opts = qr.options(
        kind=params.get("format", "svg"),
        scale=number("scale"),
        size=number("size"),
        dark=params.get("dark", "#000000"),
        light=params.get("light", "#ffffff"),
        url=url,
    )
    disposition = content_disposition(
        f"{link.slug}-qr.{opts.kind}", inline=not params.get("download")
    )
    return Response(
        qr.render(url, opts),
        media_type=qr.CONTENT_TYPES[opts.kind],
        headers={"Content-Disposition": disposition},
    )


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name)},
    )


def _csv_convention(request: Request) -> dict[str, Any]:
    """The page's spreadsheet convention: French pages get ``;``, decimal commas and
    French column headers (the API keeps ``,``, ``.`` and the column ids)."""
    language = getattr(request.state, "language", "en")
    return {
        "dialect": dialect_for(language),
        "labels": header_labels(language, translations(language).gettext),
    }


@router.get("/w/{slug}/links/{link_slug}/stats.csv")
def link_stats_csv(
    request: Request, link_slug: str, session: DbSession, access: PageAccess
) -> Response:
    figures = stats.link_stats(session, access, link_slug)
    text = stats.daily_csv(figures, **_csv_convention(request))
    return _csv(text, f"{figures['slug']}-clicks-per-day.csv")


@router.get("/w/{slug}/links/{link_slug}/clicks.csv")
def link_clicks_csv(
    request: Request, link_slug: str, session: DbSession, access: PageAccess
) -> Response:
    link = service.get_link(session, access, link_slug)
    chunks = stats.clicks_csv(session, access, links=[link.id], **_csv_convention(request))
    return _csv("".join(chunks), f"{link.slug}-clicks.csv")


@router.get("/w/{slug}/link-stats")
def scoped_stats_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    params = request.query_params
    tag = params.get("tag") or None
    campaign = params.get("campaign") or None
    since = _day(params.get("since"), "since")
    until = _day(params.get("until"), "until")
    figures = stats.scoped_stats(
        session, access, tag=tag, campaign=campaign, since=since, until=until
    )
    if params.get("format") == "csv":
        scope = figures["scope"]
        text = stats.daily_csv(figures, **_csv_convention(request))
        return _csv(text, f"{scope['kind']}-{scope['value']}-clicks.csv")
    return render(
        request,
        "links/stats.html",
        {
            "base": _base(access),
            "all_tags": service.workspace_tags(session, access),
            "all_campaigns": service.workspace_campaigns(session, access),
            "filters": {"tag": tag or "", "campaign": campaign or ""},
            **_stats_context(request, figures),
        },
    )
