"""Click statistics per link, tag, campaign and workspace.

Definitions (every figure is computed in the database, one query each):

- ``clicks.human`` / ``clicks.bot``: requests to the short links, split by the redirector's
  bot detection (crawlers and link-preview bots are never counted as human).
- ``unique_visitors``: distinct ``visitor_hash`` per UTC day among human clicks, summed over
  the days. The hash's salt changes every day (no raw address is kept), so the same person
  on two days counts twice: "unique visitors per day", added up.
- ``referrers``, ``devices``, ``os``, ``browsers``, ``countries``: human clicks only, most
  frequent first; a missing value is reported as ``"direct"`` / ``"unknown"``.
- ``click_through_rate``: human clicks ÷ impressions, for links that belong to a post whose
  latest metrics (``post_latest_metrics``) have impressions; ``None`` otherwise.

A workspace's figures include the clicks kept from deleted links; a tag's or campaign's only
cover the links that carry it now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from townsquare import exports
from townsquare.links import service
from townsquare.links.models import Link, LinkClick, LinkTag
from townsquare.workspaces.service import WorkspaceAccess

TOP = 20
MAX_FILLED_DAYS = 731  # by_day is filled with zero days up to two years; beyond, sparse


def _condition(
    access: WorkspaceAccess, links: Any | None, since: date | None, until: date | None
) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [LinkClick.workspace_id == access.workspace_id]
    if links is not None:
        parts.append(LinkClick.link_id.in_(links))
    if since is not None:
        parts.append(LinkClick.click_date >= since)
    if until is not None:
        parts.append(LinkClick.click_date <= until)
    return and_(true(), *parts)


def _breakdown(
    session: Session, where: ColumnElement[bool], column: Any, key: str, missing: str
) -> list[dict[str, Any]]:
    label = func.coalesce(column, missing)
    rows = session.execute(
        select(label, func.count())
        .where(where, LinkClick.is_bot.is_(False))
        .group_by(label)
        .order_by(func.count().desc(), label)
        .limit(TOP)
    )
    return [{key: value, "clicks": int(count)} for value, count in rows]


def _by_day(
    session: Session, where: ColumnElement[bool], since: date | None, until: date | None
) -> list[dict[str, Any]]:
    counts: dict[date, dict[str, Any]] = {}
    rows = session.execute(
        select(LinkClick.click_date, LinkClick.is_bot, func.count())
        .where(where)
        .group_by(LinkClick.click_date, LinkClick.is_bot)
    )
    for day, is_bot, count in rows:
        entry = counts.setdefault(day, {"human": 0, "bot": 0, "unique_visitors": 0})
        entry["bot" if is_bot else "human"] += int(count)
    distinct_visitors = (
        select(LinkClick.click_date, LinkClick.visitor_hash)
        .where(where, LinkClick.is_bot.is_(False), LinkClick.visitor_hash.is_not(None))
        .distinct()
        .subquery()
    )
    for day, count in session.execute(
        select(distinct_visitors.c.click_date, func.count()).group_by(
            distinct_visitors.c.click_date
        )
    ):
        counts.setdefault(day, {"human": 0, "bot": 0, "unique_visitors": 0})
        counts[day]["unique_visitors"] = int(count)
    if not counts and (since is None or until is None):
        return []
    first = since or min(counts)
    last = until or max(counts)
    days: list[date] = sorted(counts)
    if 0 <= (last - first).days <= MAX_FILLED_DAYS:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    empty = {"human": 0, "bot": 0, "unique_visitors": 0}
    return [{"date": day.isoformat(), **counts.get(day, empty)} for day in days]


def _ctr(session: Session, access: WorkspaceAccess, links: Any | None) -> dict[str, Any]:
    """Human clicks of post-linked links ÷ those posts' impressions (latest metrics)."""
    from townsquare.analytics.models import PostLatestMetrics

    linked = select(Link.id, Link.post_id).where(
        Link.workspace_id == access.workspace_id, Link.post_id.is_not(None)
    )
    if links is not None:
        linked = linked.where(Link.id.in_(links))
    pairs = session.execute(linked).all()
    if not pairs:
        return {"impressions": None, "click_through_rate": None}
    post_ids = {post_id for _, post_id in pairs}
    impressions_by_post = dict(
        session.execute(
            select(PostLatestMetrics.post_id, PostLatestMetrics.impressions).where(
                PostLatestMetrics.post_id.in_(post_ids), PostLatestMetrics.impressions > 0
            )
        ).all()
    )
    if not impressions_by_post:
        return {"impressions": None, "click_through_rate": None}
    counted_links = [link_id for link_id, post_id in pairs if post_id in impressions_by_post]
    clicks = session.scalar(
        select(func.count()).where(
            LinkClick.workspace_id == access.workspace_id,
            LinkClick.link_id.in_(counted_links),
            LinkClick.is_bot.is_(False),
        )
    )
    impressions = sum(int(value or 0) for value in impressions_by_post.values())
    return {
        "impressions": impressions,
        "click_through_rate": round(int(clicks or 0) / impressions, 6),
    }


def compute(
    session: Session,
    access: WorkspaceAccess,
    *,
    links: Any | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """Every figure for the clicks of ``links`` (a list or subquery of ids; None: all)."""
    where = _condition(access, links, since, until)
    totals = dict(
        session.execute(
            select(LinkClick.is_bot, func.count()).where(where).group_by(LinkClick.is_bot)
        ).all()
    )
    human = int(totals.get(False, 0))
    bot = int(totals.get(True, 0))
    by_day = _by_day(session, where, since, until)
    return {
        "clicks": {"human": human, "bot": bot, "total": human + bot},
        "unique_visitors": sum(day["unique_visitors"] for day in by_day),
        "by_day": by_day,
        "referrers": _breakdown(session, where, LinkClick.referrer_domain, "referrer", "direct"),
        "devices": _breakdown(session, where, LinkClick.device_class, "device", "unknown"),
        "os": _breakdown(session, where, LinkClick.os, "os", "unknown"),
        "browsers": _breakdown(session, where, LinkClick.browser, "browser", "unknown"),
        "countries": _breakdown(session, where, LinkClick.country, "country", "unknown"),
        **_ctr(session, access, links),
    }


def link_stats(
    session: Session,
    access: WorkspaceAccess,
    slug: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    link = service.get_link(session, access, slug)
    figures = compute(session, access, links=[link.id], since=since, until=until)
    return {"scope": {"kind": "link", "value": link.slug}, "slug": link.slug, **figures}


def _tag_links(access: WorkspaceAccess, tag: str) -> Any:
    return select(LinkTag.link_id).where(
        LinkTag.workspace_id == access.workspace_id, LinkTag.tag == tag.strip().lower()
    )


def _campaign_links(access: WorkspaceAccess, campaign: str) -> Any:
    return select(Link.id).where(
        Link.workspace_id == access.workspace_id, Link.campaign == campaign.strip()
    )


def scoped_stats(
    session: Session,
    access: WorkspaceAccess,
    *,
    tag: str | None = None,
    campaign: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """Figures of the links with ``tag``, else of ``campaign``, else of the whole workspace
    (the CLI and the API refuse both at once before calling this)."""
    if tag:
        return tag_stats(session, access, tag, since=since, until=until)
    if campaign:
        return campaign_stats(session, access, campaign, since=since, until=until)
    return workspace_stats(session, access, since=since, until=until)


def tag_stats(
    session: Session,
    access: WorkspaceAccess,
    tag: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    ids = list(session.scalars(_tag_links(access, tag)))
    figures = compute(session, access, links=ids, since=since, until=until)
    return {"scope": {"kind": "tag", "value": tag.strip().lower()}, "links": len(ids), **figures}


def campaign_stats(
    session: Session,
    access: WorkspaceAccess,
    campaign: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    ids = list(session.scalars(_campaign_links(access, campaign)))
    figures = compute(session, access, links=ids, since=since, until=until)
    return {"scope": {"kind": "campaign", "value": campaign.strip()}, "links": len(ids), **figures}


def workspace_stats(
    session: Session,
    access: WorkspaceAccess,
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    count = session.scalar(
        select(func.count()).select_from(Link).where(Link.workspace_id == access.workspace_id)
    )
    figures = compute(session, access, since=since, until=until)
    return {
        "scope": {"kind": "workspace", "value": access.workspace.slug},
        "links": int(count or 0),
        **figures,
    }


DAILY_COLUMNS = ("date", "human", "bot", "unique_visitors")


def daily_csv(
    figures: dict[str, Any],
    *,
    dialect: exports.CsvDialect = exports.ENGLISH,
    labels: Callable[[str], str] | None = None,
) -> str:
    """``date,human,bot,unique_visitors``: one line per day of ``figures["by_day"]``."""
    rows = ([day[column] for column in DAILY_COLUMNS] for day in figures["by_day"])
    return exports.to_csv(DAILY_COLUMNS, rows, dialect=dialect, labels=labels)


CLICK_COLUMNS = (
    "clicked_at",
    "slug",
    "is_bot",
    "bot_name",
    "referrer_domain",
    "device",
    "os",
    "browser",
    "country",
)


def clicks_csv(
    session: Session,
    access: WorkspaceAccess,
    *,
    links: Any | None = None,
    dialect: exports.CsvDialect = exports.ENGLISH,
    labels: Callable[[str], str] | None = None,
) -> Iterator[str]:
    """Every click (no address: there is none to export), oldest first, streamed in chunks.

    Referrers, bot names and browsers come from visitors: the CSV writer neutralises any
    that a spreadsheet would run as a formula.
    """
    query = (
        select(
            LinkClick.clicked_at,
            func.coalesce(Link.slug, ""),
            LinkClick.is_bot,
            LinkClick.bot_name,
            LinkClick.referrer_domain,
            LinkClick.device_class,
            LinkClick.os,
            LinkClick.browser,
            LinkClick.country,
        )
        .outerjoin(Link, Link.id == LinkClick.link_id)
        .where(_condition(access, links, None, None))
        .order_by(LinkClick.clicked_at, LinkClick.id)
        .execution_options(yield_per=2000)
    )
    yield from exports.stream_csv(
        CLICK_COLUMNS,
        (tuple(row) for row in session.execute(query)),
        dialect=dialect,
        labels=labels,
    )
