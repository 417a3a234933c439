"""Links' REST API, under ``/api/v1/workspaces/{workspace}/…`` (see links/service.py).

- ``GET|POST /links``, ``GET|PATCH|DELETE /links/{slug}`` (``DELETE ?keep_clicks=false``
  deletes the clicks too; by default they are kept for the workspace's reports),
  ``POST /links/{slug}/disable|enable``;
- ``GET /links/{slug}/stats`` (JSON), ``/links/{slug}/stats.csv`` (clicks per day),
  ``/links/{slug}/clicks.csv`` (every click), ``/links/{slug}/qr.svg|qr.png``;
- ``GET /link-stats?tag=…|campaign=…`` (a tag's, a campaign's or the whole workspace's
  figures), ``/link-stats.csv``, ``/link-clicks.csv``, ``/link-tags``, ``/link-campaigns``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from townsquare.errors import ValidationError
from townsquare.exports import content_disposition
from townsquare.links import qr, service, stats
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession

router = APIRouter(tags=["links"])
PREFIX = "/workspaces/{workspace}"


class LinkOut(BaseModel):
    id: int
    slug: str
    short_url: str
    target_url: str = Field(description="Where visitors go: the destination with UTM applied")
    final_url: str
    destination_url: str = Field(description="The target as given, before UTM parameters")
    utm: dict[str, str | None]
    title: str | None
    tags: list[str]
    campaign: str | None
    post_id: int | None
    expires_at: datetime | None
    max_clicks: int | None
    has_password: bool
    fallback_url: str | None
    redirect_status: int
    is_enabled: bool
    human_clicks: int
    created_at: datetime
    updated_at: datetime | None


class LinkCreate(BaseModel):
    target_url: str = Field(description="http(s) URL; UTM parameters are added to it")
    slug: str | None = Field(default=None, description="Custom slug; default: generated")
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    tags: list[str] = Field(default_factory=list)
    campaign: str | None = None
    post_id: DbId | None = None
    title: str | None = None
    expires_at: str | None = Field(
        default=None, description="YYYY-MM-DD (end of day, workspace time) or ISO date-time"
    )
    max_clicks: int | None = None
    password: str | None = Field(default=None, description="Visitors must give it; stored hashed")
    fallback_url: str | None = None
    permanent: bool = Field(default=False, description="301 instead of 302")


class LinkUpdate(BaseModel):
    """Only the fields sent change; null clears an optional one."""

    target_url: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    tags: list[str] | None = None
    campaign: str | None = None
    post_id: DbId | None = None
    title: str | None = None
    expires_at: str | None = None
    max_clicks: int | None = None
    password: str | None = None
    fallback_url: str | None = None
    permanent: bool | None = None
    is_enabled: bool | None = None


class Deleted(BaseModel):
    slug: str
    deleted: bool = True
    clicks_kept: bool
    clicks: int


UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _out(session: DbSession, link: Any, settings: AppSettings) -> LinkOut:
    tags = service.tags_of(session, [link])[link.id]
    return LinkOut(**service.link_json(link, settings, tags))


@router.get(PREFIX + "/links", response_model=list[LinkOut])
def api_links(
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    tag: str | None = None,
    campaign: str | None = None,
    q: str | None = Query(default=None, description="Part of the slug or target"),
) -> list[LinkOut]:
    links = service.list_links(session, access, tag=tag, campaign=campaign, search=q)
    tags = service.tags_of(session, links)
    return [LinkOut(**service.link_json(link, settings, tags[link.id])) for link in links]


@router.post(PREFIX + "/links", response_model=LinkOut, status_code=201)
def api_create_link(
    body: LinkCreate, session: DbSession, access: ApiAccess, settings: AppSettings
) -> LinkOut:
    link = service.create_link(
        session,
        access,
        settings,
        target_url=body.target_url,
        slug=body.slug,
        utm={key: getattr(body, key) for key in UTM_KEYS},
        tags=body.tags,
        campaign=body.campaign,
        post_id=body.post_id,
        title=body.title,
        expires_at=body.expires_at,
        max_clicks=body.max_clicks,
        password=body.password,
        fallback_url=body.fallback_url,
        permanent=body.permanent,
    )
    return _out(session, link, settings)


@router.get(PREFIX + "/links/{slug}", response_model=LinkOut)
def api_link(slug: str, session: DbSession, access: ApiAccess, settings: AppSettings) -> LinkOut:
    return _out(session, service.get_link(session, access, slug), settings)


@router.patch(PREFIX + "/links/{slug}", response_model=LinkOut)
def api_update_link(
    slug: str, body: LinkUpdate, session: DbSession, access: ApiAccess, settings: AppSettings
) -> LinkOut:
    changes = body.model_dump(exclude_unset=True)
    enabled = changes.pop("is_enabled", None)
    utm = {key: changes.pop(key) for key in UTM_KEYS if key in changes}
    link = service.get_link(session, access, slug)
    if changes or utm:
        link = service.update_link(session, access, settings, slug, utm=utm or None, **changes)
    if enabled is not None:
        link = service.set_enabled(session, access, slug, bool(enabled))
    return _out(session, link, settings)


@router.post(PREFIX + "/links/{slug}/disable", response_model=LinkOut)
def api_disable_link(
    slug: str, session: DbSession, access: ApiAccess, settings: AppSettings
) -> LinkOut:
    return _out(session, service.set_enabled(session, access, slug, False), settings)


@router.post(PREFIX + "/links/{slug}/enable", response_model=LinkOut)
def api_enable_link(
    slug: str, session: DbSession, access: ApiAccess, settings: AppSettings
) -> LinkOut:
    return _out(session, service.set_enabled(session, access, slug, True), settings)


@router.delete(PREFIX + "/links/{slug}", response_model=Deleted)
def api_delete_link(
    slug: str,
    session: DbSession,
    access: ApiAccess,
    keep_clicks: bool = Query(
        default=True, description="Keep the clicks for the workspace's reports (default)"
    ),
) -> Deleted:
    result = service.delete_link(session, access, slug, keep_clicks=keep_clicks)
    return Deleted(slug=result.slug, clicks_kept=result.clicks_kept, clicks=result.clicks)


def _days(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    parsed: list[date | None] = []
    for name, value in (("since", since), ("until", until)):
        try:
            parsed.append(date.fromisoformat(value) if value else None)
        except ValueError:
            raise ValidationError(
                "invalid %(name)s date %(value)r: use YYYY-MM-DD",
                params={"name": name, "value": value},
                field=name,
            ) from None
    return parsed[0], parsed[1]


@router.get(PREFIX + "/links/{slug}/stats")
def api_link_stats(
    slug: str,
    session: DbSession,
    access: ApiAccess,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    first, last = _days(since, until)
    return stats.link_stats(session, access, slug, since=first, until=last)


def _file_response(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """How the OpenAPI document describes a download: its media type, a string body."""
    body = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {media_type: body}}}


CSV_RESPONSE = _file_response("text/csv", "CSV (UTF-8, `,` and `.`, a header of column ids)")
SVG_RESPONSE = _file_response("image/svg+xml", "The QR code as SVG")
PNG_RESPONSE = _file_response("image/png", "The QR code as PNG")


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.get(PREFIX + "/links/{slug}/stats.csv", response_class=Response, responses=CSV_RESPONSE)
def api_link_stats_csv(
    slug: str,
    session: DbSession,
    access: ApiAccess,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    first, last = _days(since, until)
    figures = stats.link_stats(session, access, slug, since=first, until=last)
    return _csv(stats.daily_csv(figures), f"{figures['slug']}-clicks-per-day.csv")


@router.get(PREFIX + "/links/{slug}/clicks.csv", response_class=Response, responses=CSV_RESPONSE)
def api_link_clicks_csv(slug: str, session: DbSession, access: ApiAccess) -> Response:
    link = service.get_link(session, access, slug)
    text = "".join(stats.clicks_csv(session, access, links=[link.id]))
    return _csv(text, f"{link.slug}-clicks.csv")


def qr_response(
    url: str, kind: str, scale: int | None, size: int | None, dark: str, light: str, name: str
) -> Response:
    opts = qr.options(kind=kind, scale=scale, size=size, dark=dark, light=light, url=url)
    return Response(
        qr.render(url, opts),
        media_type=qr.CONTENT_TYPES[opts.kind],
        headers={"Content-Disposition": content_disposition(f"{name}.{opts.kind}", inline=True)},
    )


def _link_qr(
    kind: str,
    slug: str,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    scale: int | None,
    size: int | None,
    dark: str,
    light: str,
) -> Response:
    link = service.get_link(session, access, slug)
    url = service.short_url(settings, link.slug)
    return qr_response(url, kind, scale, size, dark, light, f"{link.slug}-qr")


@router.get(PREFIX + "/links/{slug}/qr.svg", response_class=Response, responses=SVG_RESPONSE)
def api_link_qr_svg(
    slug: str,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    scale: int | None = None,
    size: int | None = None,
    dark: str = "#000000",
    light: str = "#ffffff",
) -> Response:
    """The QR code of the short URL as SVG (``scale`` or ``size``, ``dark``, ``light``)."""
    return _link_qr("svg", slug, session, access, settings, scale, size, dark, light)


@router.get(PREFIX + "/links/{slug}/qr.png", response_class=Response, responses=PNG_RESPONSE)
def api_link_qr_png(
    slug: str,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    scale: int | None = None,
    size: int | None = None,
    dark: str = "#000000",
    light: str = "#ffffff",
) -> Response:
    """The QR code of the short URL as PNG (``scale`` or ``size``, ``dark``, ``light``)."""
    return _link_qr("png", slug, session, access, settings, scale, size, dark, light)


def _scoped_stats(
    session: DbSession,
    access: ApiAccess,
    tag: str | None,
    campaign: str | None,
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    first, last = _days(since, until)
    if tag and campaign:
        raise ValidationError("give tag or campaign, not both", field="tag")
    return stats.scoped_stats(session, access, tag=tag, campaign=campaign, since=first, until=last)


@router.get(PREFIX + "/link-stats")
def api_scoped_stats(
    session: DbSession,
    access: ApiAccess,
    tag: str | None = None,
    campaign: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """Figures of every link with ``tag``, of a ``campaign``, or of the whole workspace."""
    return _scoped_stats(session, access, tag, campaign, since, until)


@router.get(PREFIX + "/link-stats.csv", response_class=Response, responses=CSV_RESPONSE)
def api_scoped_stats_csv(
    session: DbSession,
    access: ApiAccess,
    tag: str | None = None,
    campaign: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    figures = _scoped_stats(session, access, tag, campaign, since, until)
    scope = figures["scope"]
    return _csv(stats.daily_csv(figures), f"{scope['kind']}-{scope['value']}-clicks-per-day.csv")


@router.get(PREFIX + "/link-clicks.csv", response_class=Response, responses=CSV_RESPONSE)
def api_clicks_csv(
    session: DbSession,
    access: ApiAccess,
    tag: str | None = None,
    campaign: str | None = None,
) -> Response:
    """Every click of the workspace (or of a tag's or campaign's links), oldest first."""
    links: list[int] | None = None
    if tag or campaign:
        found = service.list_links(session, access, tag=tag, campaign=campaign, limit=5000)
        links = [link.id for link in found]
    text = "".join(stats.clicks_csv(session, access, links=links))
    return _csv(text, f"{access.workspace.slug}-clicks.csv")


@router.get(PREFIX + "/link-tags", response_model=list[str])
def api_link_tags(session: DbSession, access: ApiAccess) -> list[str]:
    return service.workspace_tags(session, access)


@router.get(PREFIX + "/link-campaigns", response_model=list[str])
def api_link_campaigns(session: DbSession, access: ApiAccess) -> list[str]:
    return service.workspace_campaigns(session, access)
