"""Use cases of short links; every query is scoped by the caller's workspace.

Each public function is one transaction: on any error nothing is written.

Deleting a link offers a choice (``keep_clicks``):

- ``keep_clicks=True`` (the default): the link and its tags go, its clicks stay and keep
  counting in the workspace's totals and reports (they no longer appear under a link, tag
  or campaign). Link ids are never reused, so kept clicks never move to a new link.
- ``keep_clicks=False``: the clicks are deleted with the link.

The slug is freed either way and can be given to a new link.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound, ValidationError
from townsquare.links import slugs, urls
from townsquare.links.models import Link, LinkClick, LinkTag
from townsquare.messages import Message
from townsquare.workspaces import audit
from townsquare.workspaces.passwords import hash_password
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

MAX_TAGS = 20
MAX_TAG_LENGTH = 100
MAX_CLICKS_LIMIT = 1_000_000_000
MIN_LINK_PASSWORD = 4
GENERATE_ATTEMPTS = 12
REDIRECT_STATUSES = (301, 302)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks an argument of :func:`update_link` that was not given (None means "clear it")."""


# --- settings-derived helpers -------------------------------------------------------------


def short_base_url(settings: Settings) -> str:
    """Where short links live: ``links_base_url``, else ``base_url``, else ``links_host``
    (https when cookies are secure, i.e. behind TLS), else the local server."""
    if settings.links_base_url or settings.base_url:
        return str(settings.links_base_url or settings.base_url).rstrip("/")
    if settings.links_host:
        scheme = "https" if settings.secure_cookies else "http"
        return f"{scheme}://{settings.links_host.strip().rstrip('/')}"
    return f"http://{settings.host}:{settings.port}"


def short_url(settings: Settings, slug: str) -> str:
    return f"{short_base_url(settings)}/{slug}"


def redirector_origins(settings: Settings) -> list[urls.Origin]:
    """Hosts a target may not point at (the redirector itself, see links/urls.py)."""
    return urls.redirector_origins(
        links_host=settings.links_host,
        links_base_url=settings.links_base_url,
        base_url=settings.base_url or short_base_url(settings),
        # Where `serve` listens (its real --host/--port: cli/serve.py puts them in settings).
        listen=[(settings.host, settings.port)],
    )


# --- input cleaning (pure) ----------------------------------------------------------------


def clean_tags(tags: Iterable[str] | None) -> list[str]:
    """Tags trimmed and lower-cased (tags are case-insensitive), duplicates dropped."""
    cleaned: list[str] = []
    for raw in tags or ():
        for part in str(raw).split(","):
            tag = part.strip().lower()
            if not tag:
                continue
            if len(tag) > MAX_TAG_LENGTH:
                raise ValidationError(
                    "tag %(tag)r… is too long: at most %(max_tag_length)s characters",
                    params={"tag": tag[:30], "max_tag_length": MAX_TAG_LENGTH},
                    field="tags",
                )
            if any(ord(ch) < 32 for ch in tag):
                raise ValidationError("tags cannot contain control characters", field="tags")
            if tag not in cleaned:
                cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(
            "too many tags: at most %(max_tags)s per link",
            params={"max_tags": MAX_TAGS},
            field="tags",
        )
    return cleaned


def clean_text(value: str | None, *, field: str, max_length: int = 200) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            "%(field)s is too long: at most %(max_length)s characters",
            params={"field": Message(field), "max_length": max_length},
            field=field,
        )
    return text or None


def parse_expiry(
    value: str | date | datetime | None, *, timezone: str = "UTC", now: datetime | None = None
) -> datetime | None:
    """When the link stops working, in UTC.

    A date (``2026-12-31``) means the end of that day in the workspace's time zone; a date and
    time (``2026-12-31T18:00``, offset optional, else the workspace's zone) is taken as is.
    A moment in the past is refused.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        moment = _expiry_moment(value, ZoneInfo(timezone))
    except OverflowError:
        raise ValidationError(
            "the expiry date %(value)s is too far in the future: choose one before 9999-12-30",
            params={"value": str(value)},
            field="expires_at",
        ) from None
    if moment <= (now or utcnow()):
        raise ValidationError(
            "the expiry date %(value)s is already past: choose a date in the future",
            params={"value": str(value)},
            field="expires_at",
        )
    return moment


def _expiry_moment(value: str | date | datetime, zone: ZoneInfo) -> datetime:
    """The UTC moment of an expiry; OverflowError past year 9999 (in UTC)."""
    moment: datetime
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=zone)
    elif isinstance(value, date):
        moment = datetime.combine(value + timedelta(days=1), time.min, tzinfo=zone)
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                moment = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
        except ValueError:
            raise ValidationError(
                "invalid expiry date %(value)r: write it as YYYY-MM-DD (end of that day) or "
                "YYYY-MM-DDTHH:MM, e.g. 2026-12-31",
                params={"value": value},
                field="expires_at",
            ) from None
    return moment.astimezone(UTC)


def expiry_day(expires_at: datetime | None, *, timezone: str = "UTC") -> str:
    """The day to show in a date field for ``expires_at``: the inverse of :func:`parse_expiry`
    for a date (its end of day, in the workspace's zone, belongs to that day)."""
    if expires_at is None:
        return ""
    local = (expires_at - timedelta(microseconds=1)).astimezone(ZoneInfo(timezone))
    return local.date().isoformat()


def clean_max_clicks(value: int | str | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            "max clicks must be a whole number, not %(value)r",
            params={"value": value},
            field="max_clicks",
        ) from None
    if number < 1:
        raise ValidationError(
            "max clicks must be at least 1 (got %(number)s); leave it empty for no limit",
            params={"number": number},
            field="max_clicks",
        )
    if number > MAX_CLICKS_LIMIT:
        raise ValidationError(
            "max clicks is too large: at most %(max_clicks_limit)s",
            params={"max_clicks_limit": MAX_CLICKS_LIMIT},
            field="max_clicks",
        )
    return number


def clean_password(value: str | None) -> str | None:
    """The argon2 hash of a link password, or None for no password."""
    if value is None or value == "":
        return None
    if len(value) < MIN_LINK_PASSWORD:
        raise ValidationError(
            "link password too short: use at least %(min_link_password)s characters",
            params={"min_link_password": MIN_LINK_PASSWORD},
            field="password",
        )
    if len(value) > 1024:
        raise ValidationError("link password too long: at most 1024 characters", field="password")
    return hash_password(value)


def _check_post(session: Session, access: WorkspaceAccess, post_id: int | None) -> int | None:
    if post_id is None:
        return None
    from townsquare.analytics.models import Post

    found = session.scalar(
        select(Post.id).where(Post.id == post_id, Post.workspace_id == access.workspace_id)
    )
    if found is None:
        raise NotFound(
            "no post with id %(post_id)s in this workspace",
            params={"post_id": post_id},
            field="post_id",
        )
    return post_id


# --- cache hook ---------------------------------------------------------------------------


def _invalidate(slug: str) -> None:
    """Tell the redirector's slug cache (links/cache.py, when present) that ``slug`` changed."""
    if importlib.util.find_spec("townsquare.links.cache") is None:
        return
    cache = importlib.import_module("townsquare.links.cache")
    invalidate: Callable[[str], object] | None = getattr(cache, "invalidate", None)
    if invalidate is not None:
        invalidate(slug)


# --- reading ------------------------------------------------------------------------------


def list_links(
    session: Session,
    access: WorkspaceAccess,
    *,
    tag: str | None = None,
    campaign: str | None = None,
    search: str | None = None,
    limit: int = 500,
) -> list[Link]:
    query = select(Link).where(Link.workspace_id == access.workspace_id)
    if tag:
        query = query.where(
            Link.id.in_(
                select(LinkTag.link_id).where(
                    LinkTag.workspace_id == access.workspace_id, LinkTag.tag == tag.strip().lower()
                )
            )
        )
    if campaign:
        query = query.where(Link.campaign == campaign.strip())
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            func.lower(Link.slug).like(pattern) | func.lower(Link.target_url).like(pattern)
        )
    query = query.order_by(Link.created_at.desc(), Link.id.desc()).limit(max(1, min(limit, 5000)))
    return list(session.scalars(query))


def get_link(session: Session, access: WorkspaceAccess, slug: str) -> Link:
    """The link called ``slug`` in this workspace; NotFound otherwise (even if another has it)."""
    link = session.scalar(
        select(Link).where(
            Link.slug == slugs.canonical(slug), Link.workspace_id == access.workspace_id
        )
    )
    if link is None:
        raise NotFound(
            "no short link '%(slug)s' in workspace '%(workspace)s'",
            params={"slug": slugs.canonical(slug), "workspace": access.workspace.slug},
            field="slug",
        )
    return link


def tags_of(session: Session, links: Sequence[Link]) -> dict[int, list[str]]:
    """Tags of each link, by link id, in one query."""
    result: dict[int, list[str]] = {link.id: [] for link in links}
    if not links:
        return result
    rows = session.execute(
        select(LinkTag.link_id, LinkTag.tag)
        .where(LinkTag.link_id.in_(list(result)))
        .order_by(LinkTag.tag)
    )
    for link_id, tag in rows:
        result[link_id].append(tag)
    return result


def workspace_tags(session: Session, access: WorkspaceAccess) -> list[str]:
    return list(
        session.scalars(
            select(LinkTag.tag)
            .where(LinkTag.workspace_id == access.workspace_id)
            .distinct()
            .order_by(LinkTag.tag)
        )
    )


def workspace_campaigns(session: Session, access: WorkspaceAccess) -> list[str]:
    return [
        c
        for c in session.scalars(
            select(Link.campaign)
            .where(Link.workspace_id == access.workspace_id, Link.campaign.is_not(None))
            .distinct()
            .order_by(Link.campaign)
        )
        if c
    ]


@dataclass(frozen=True)
class RedirectTarget:
    """What the redirector needs to answer ``GET /{slug}`` (a plain snapshot, cacheable)."""

    link_id: int
    workspace_id: int
    slug: str
    final_url: str
    redirect_status: int
    is_enabled: bool
    expires_at: datetime | None
    max_clicks: int | None
    human_clicks: int
    fallback_url: str | None
    password_hash: str | None

    def unavailable_reason(self, now: datetime | None = None) -> str | None:
        """Why the link cannot be followed now: "disabled", "expired", "exhausted" or None."""
        if not self.is_enabled:
            return "disabled"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        if self.max_clicks is not None and self.human_clicks >= self.max_clicks:
            return "exhausted"
        return None


def resolve_for_redirect(session: Session, slug: str) -> RedirectTarget | None:
    """The redirect data of ``slug`` in any workspace (slugs are global), or None.

    Not scoped by workspace on purpose: the redirector serves anonymous visitors. The slug is
    canonicalised (case-insensitive) here, so callers may pass the raw request path segment.
    """
    canonical = slugs.canonical(slug)
    if not canonical or len(canonical) > slugs.MAX_LENGTH:
        return None
    link = session.scalar(select(Link).where(Link.slug == canonical))
    if link is None:
        return None
    return RedirectTarget(
        link_id=link.id,
        workspace_id=link.workspace_id,
        slug=link.slug,
        final_url=link.final_url,
        redirect_status=link.redirect_status,
        is_enabled=link.is_enabled,
        expires_at=link.expires_at,
        max_clicks=link.max_clicks,
        human_clicks=link.human_clicks or 0,
        fallback_url=link.fallback_url,
        password_hash=link.password_hash,
    )


# --- writing ------------------------------------------------------------------------------


def _slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(Link.id).where(Link.slug == slug)) is not None


def _slug_taken_error(slug: str) -> Conflict:
    return Conflict(
        "the slug '%(slug)s' is already taken by another short link: choose another one, "
        "or leave it empty to get a generated one",
        params={"slug": slug},
        field="slug",
    )


def create_link(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    target_url: str,
    slug: str | None = None,
    utm: Mapping[str, str | None] | None = None,
    tags: Iterable[str] | None = None,
    campaign: str | None = None,
    post_id: int | None = None,
    title: str | None = None,
    expires_at: str | date | datetime | None = None,
    max_clicks: int | str | None = None,
    password: str | None = None,
    fallback_url: str | None = None,
    permanent: bool = False,
    generated_length: int = slugs.GENERATED_LENGTH,
) -> Link:
    """Create a short link (contributor or higher). Conflict when a custom slug is taken.

    Generated slugs are retried on a unique-index collision (another process may take the
    same slug between our check and our insert); after a few collisions they grow longer.
    """
    access.require(Role.CONTRIBUTOR, "create short links")
    origins = redirector_origins(settings)
    target = urls.validate_target(target_url, origins=origins)
    clean_utm = urls.clean_utm(dict(utm or {}))
    final = urls.apply_utm(target, clean_utm)
    if len(final) > 5000:
        raise ValidationError("the URL with its UTM parameters is too long", field="target_url")
    custom = slugs.validate(slug) if slug else None
    fields: dict[str, Any] = {
        "workspace_id": access.workspace_id,
        "target_url": target,
        "final_url": final,
        **clean_utm,
        "title": clean_text(title, field="title", max_length=300),
        "campaign": clean_text(campaign, field="campaign"),
        "post_id": _check_post(session, access, post_id),
        "expires_at": parse_expiry(expires_at, timezone=access.workspace.timezone),
        "max_clicks": clean_max_clicks(max_clicks),
        "password_hash": clean_password(password),
        "fallback_url": (
            urls.validate_target(fallback_url, origins=origins, field="fallback_url")
            if fallback_url and fallback_url.strip()
            else None
        ),
        "redirect_status": 301 if permanent else 302,
        "is_enabled": True,
        "human_clicks": 0,
        "created_by": access.user_id,
    }
    clean_tag_list = clean_tags(tags)
    if custom is not None and _slug_taken(session, custom):
        raise _slug_taken_error(custom)
    for attempt in range(GENERATE_ATTEMPTS):
        chosen = custom or slugs.generate(generated_length + attempt // 3)
        link = Link(slug=chosen, **fields)
        session.add(link)
        try:
            session.flush()
            for tag in clean_tag_list:
                session.add(LinkTag(workspace_id=access.workspace_id, link_id=link.id, tag=tag))
            audit.record(
                session,
                "link.created",
                workspace_id=access.workspace_id,
                user_id=access.user_id,
                target=chosen,
            )
            session.commit()
        except IntegrityError:
            session.rollback()
            if custom is not None:
                raise _slug_taken_error(custom) from None
            if not _slug_taken(session, chosen):
                raise  # not a slug collision: a real bug, let it surface
            continue
        _invalidate(chosen)  # a cached "unknown slug" answer must not outlive the creation
        return link
    raise Conflict("could not find a free slug; try again", field="slug")


def update_link(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    slug: str,
    *,
    target_url: Any = UNSET,
    utm: Mapping[str, str | None] | None = None,
    tags: Any = UNSET,
    campaign: Any = UNSET,
    post_id: Any = UNSET,
    title: Any = UNSET,
    expires_at: Any = UNSET,
    max_clicks: Any = UNSET,
    password: Any = UNSET,
    fallback_url: Any = UNSET,
    permanent: Any = UNSET,
) -> Link:
    """Change a link; arguments left out stay as they are, None clears optional ones.

    ``utm`` replaces only the UTM keys it names (a key set to None or "" removes it). The
    final URL is rebuilt from the target and the UTM values whenever either changes.
    """
    access.require(Role.CONTRIBUTOR, "edit short links")
    link = get_link(session, access, slug)
    origins = redirector_origins(settings)
    changes: dict[str, Any] = {}
    if target_url is not UNSET:
        changes["target_url"] = urls.validate_target(target_url or "", origins=origins)
    if utm is not None:
        current = {key: getattr(link, key) for key in urls.UTM_FIELDS}
        current.update(dict(utm))
        changes.update(urls.clean_utm(current))
    if campaign is not UNSET:
        changes["campaign"] = clean_text(campaign, field="campaign")
    if title is not UNSET:
        changes["title"] = clean_text(title, field="title", max_length=300)
    if post_id is not UNSET:
        changes["post_id"] = _check_post(session, access, post_id)
    if expires_at is not UNSET:
        changes["expires_at"] = parse_expiry(expires_at, timezone=access.workspace.timezone)
    if max_clicks is not UNSET:
        changes["max_clicks"] = clean_max_clicks(max_clicks)
    if password is not UNSET:
        changes["password_hash"] = clean_password(password)
    if fallback_url is not UNSET:
        changes["fallback_url"] = (
            urls.validate_target(fallback_url, origins=origins, field="fallback_url")
            if fallback_url and str(fallback_url).strip()
            else None
        )
    if permanent is not UNSET:
        changes["redirect_status"] = 301 if permanent else 302
    new_tags = clean_tags(tags) if tags is not UNSET else None
    target = changes.get("target_url", link.target_url)
    final = urls.apply_utm(target, {k: changes.get(k, getattr(link, k)) for k in urls.UTM_FIELDS})
    if len(final) > 5000:
        raise ValidationError("the URL with its UTM parameters is too long", field="target_url")
    # Everything is valid: only now touch the row.
    for key, value in changes.items():
        setattr(link, key, value)
    link.final_url = final
    link.updated_at = utcnow()
    if new_tags is not None:
        session.execute(delete(LinkTag).where(LinkTag.link_id == link.id))
        for tag in new_tags:
            session.add(LinkTag(workspace_id=access.workspace_id, link_id=link.id, tag=tag))
    audit.record(
        session,
        "link.updated",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=link.slug,
        details={"fields": sorted({*changes, *(["tags"] if new_tags is not None else [])})},
    )
    session.commit()
    _invalidate(link.slug)
    return link


def set_enabled(session: Session, access: WorkspaceAccess, slug: str, enabled: bool) -> Link:
    """Disable (visitors get the fallback or a 410 page) or enable a link again."""
    access.require(Role.CONTRIBUTOR, "disable or enable short links")
    link = get_link(session, access, slug)
    link.is_enabled = enabled
    link.updated_at = utcnow()
    audit.record(
        session,
        "link.enabled" if enabled else "link.disabled",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=link.slug,
    )
    session.commit()
    _invalidate(link.slug)
    return link


@dataclass(frozen=True)
class Deleted:
    slug: str
    clicks_kept: bool
    clicks: int  # clicks kept, or clicks deleted


def delete_link(
    session: Session, access: WorkspaceAccess, slug: str, *, keep_clicks: bool = True
) -> Deleted:
    """Delete a link (editor or higher); see the module docstring for ``keep_clicks``."""
    access.require(Role.EDITOR, "delete short links")
    link = get_link(session, access, slug)
    clicks = (
        session.scalar(
            select(func.count())
            .select_from(LinkClick)
            .where(LinkClick.link_id == link.id, LinkClick.workspace_id == access.workspace_id)
        )
        or 0
    )
    if not keep_clicks:
        session.execute(
            delete(LinkClick).where(
                LinkClick.link_id == link.id, LinkClick.workspace_id == access.workspace_id
            )
        )
    session.execute(delete(LinkTag).where(LinkTag.link_id == link.id))
    audit.record(
        session,
        "link.deleted",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=link.slug,
        details={"clicks_kept": keep_clicks, "clicks": clicks},
    )
    session.delete(link)
    session.commit()
    _invalidate(link.slug)
    return Deleted(slug=link.slug, clicks_kept=keep_clicks, clicks=clicks)


def link_json(link: Link, settings: Settings, tags: Sequence[str] = ()) -> dict[str, Any]:
    """The public shape of a link (CLI ``--json`` and the REST API share it)."""
    return {
        "id": link.id,
        "slug": link.slug,
        "short_url": short_url(settings, link.slug),
        # target_url is the URL visitors reach: the given target with UTM applied.
        "target_url": link.final_url,
        "final_url": link.final_url,
        "destination_url": link.target_url,  # as given, before UTM parameters
        "utm": {key.removeprefix("utm_"): getattr(link, key) for key in urls.UTM_FIELDS},
        "title": link.title,
        "tags": list(tags),
        "campaign": link.campaign,
        "post_id": link.post_id,
        "expires_at": link.expires_at,
        "max_clicks": link.max_clicks,
        "has_password": link.password_hash is not None,
        "fallback_url": link.fallback_url,
        "redirect_status": link.redirect_status,
        "is_enabled": link.is_enabled,
        "human_clicks": link.human_clicks or 0,
        "created_at": link.created_at,
        "updated_at": link.updated_at,
    }
