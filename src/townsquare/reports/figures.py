"""The figures of a report, gathered from the services of Measure, Links and Listen.

Nothing here computes a KPI: each number comes from ``analytics.service`` (the same dicts
``measure kpis|formats|best-times --json`` print) or ``links.stats`` (``links stats``), so a
report can never disagree with the Measure pages. The one thing a report adds is the list
of its best and worst posts, each post's KPI taken from ``analytics.formulas`` (the same
per-post formula the format comparison uses).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from townsquare.analytics import formulas, kpis
from townsquare.analytics import service as measure
from townsquare.analytics.dataset import period_bounds
from townsquare.analytics.models import Post, PostLatestMetrics
from townsquare.channels.models import Channel
from townsquare.channels.service import get_channel_by_handle
from townsquare.links import stats as link_stats
from townsquare.links.models import Link
from townsquare.listening import figures as listen_figures
from townsquare.reports.periods import Period
from townsquare.workspaces.service import WorkspaceAccess

# The per-post KPI that ranks posts and compares formats and times, in order of preference:
# the first one the channel's posts have.
RANKING_KPIS = ("engagement_rate_by_reach", "engagement_rate_by_followers", "interactions")
EXTRA_KPIS = ("reach", "impressions", "clicks")
TOP_POSTS = 5
MAX_CAMPAIGNS = 10


def _kpis(
    session: Session, access: WorkspaceAccess, handle: str, period: Period | None, **kw: Any
) -> dict[str, Any]:
    return measure.measure_kpis(
        session,
        access,
        handle,
        date_from=period.start if period else None,
        date_to=period.end if period else None,
        extra_kpis=EXTRA_KPIS,
        **kw,
    )


def ranking_kpi(summary: dict[str, Any]) -> str:
    """The first of :data:`RANKING_KPIS` with a known figure for the period."""
    groups = summary.get("groups") or []
    for name in RANKING_KPIS:
        for group in groups:
            value = (group.get("kpis") or {}).get(name)
            if isinstance(value, dict) and value.get("mean_of_ratios") is not None:
                return name
            if isinstance(value, int | float) and not isinstance(value, bool):
                return name
    return RANKING_KPIS[-1]


def channel_figures(
    session: Session,
    access: WorkspaceAccess,
    handle: str,
    period: Period,
    previous: Period | None,
    sections: list[str],
) -> dict[str, Any]:
    channel = get_channel_by_handle(session, access, handle)
    summary = _kpis(session, access, handle, period)
    out: dict[str, Any] = {
        "handle": channel.handle,
        "name": channel.display_name or channel.handle,
        "network": channel.network,
        "timezone": channel.timezone,
        "kpis": summary,
        "previous": _kpis(session, access, handle, previous) if previous else None,
    }
    metric = ranking_kpi(summary)
    out["metric"] = metric
    scope: dict[str, Any] = {"date_from": period.start, "date_to": period.end}
    if "audience-growth" in sections:
        out["by_month"] = _kpis(session, access, handle, period, by="month")
    if "formats" in sections:
        out["formats"] = measure.measure_formats(session, access, handle, metric=metric, **scope)
        other = "interactions" if kpis.REGISTRY[metric].unit == "percent" else RANKING_KPIS[0]
        out["formats_counterpart"] = measure.measure_formats(
            session, access, handle, metric=other, **scope
        )
    if "best-times" in sections:
        out["best_times"] = measure.measure_best_times(
            session, access, handle, metric=metric, **scope
        )
    if "top-posts" in sections:
        out["posts"] = ranked_posts(session, access, channel, period, metric)
    if "work-delivered" in sections:
        out["work"] = {
            "posts": summary["posts"],
            "links": links_made(session, access, period, channel=channel),
        }
    return out


def ranked_posts(
    session: Session, access: WorkspaceAccess, channel: Channel, period: Period, metric: str
) -> dict[str, Any]:
    """The period's best and worst posts on ``metric`` (posts without a value are left out).

    Only the inputs of the KPI are read for every post (one Core query, no text); the text
    and permalink are then read for the few posts shown.
    """
    kpi = kpis.REGISTRY[metric]
    components = kpis.interaction_components(access.workspace.settings)
    inputs = kpis.required_inputs(kpi, components)
    start, end = period_bounds(period.start, period.end, channel.timezone or "UTC")
    posts, latest = Post.__table__, PostLatestMetrics.__table__
    columns = [posts.c[n] if n == "followers_at_publish" else latest.c[n] for n in inputs]
    rows = session.execute(
        select(posts.c.id, *columns)
        .select_from(posts.outerjoin(latest, latest.c.post_id == posts.c.id))
        .where(
            and_(
                posts.c.workspace_id == access.workspace_id,
                posts.c.channel_id == channel.id,
                posts.c.published_at >= start,
                posts.c.published_at < end,
            )
        )
    ).all()
    if not rows:
        return {"metric": metric, "top": [], "bottom": [], "posts": 0}
    table = np.array([tuple(row) for row in rows], dtype=np.float64)  # None becomes NaN
    values = formulas.per_post_values(
        kpi, {name: table[:, 1 + i] for i, name in enumerate(inputs)}, components
    )
    known = np.flatnonzero(np.isfinite(values))
    order = known[np.argsort(-values[known], kind="stable")]
    top_index = order[:TOP_POSTS].tolist()
    rest = order[TOP_POSTS:]
    bottom_index = rest[::-1][:TOP_POSTS].tolist()
    wanted = [int(table[i, 0]) for i in top_index + bottom_index]
    details = {
        row.id: row
        for row in session.execute(
            select(Post.id, Post.published_at, Post.format, Post.text, Post.permalink).where(
                Post.workspace_id == access.workspace_id, Post.id.in_(wanted)
            )
        )
    }

    def entry(index: int) -> dict[str, Any]:
        row = details[int(table[index, 0])]
        return {
            "published_at": row.published_at.isoformat() if row.published_at else None,
            "format": row.format,
            "text": (row.text or "").strip(),
            "permalink": row.permalink,
            "value": float(values[index]),
        }

    return {
        "metric": metric,
        "top": [entry(i) for i in top_index],
        "bottom": [entry(i) for i in bottom_index],
        "posts": int(known.size),
    }


def links_made(
    session: Session, access: WorkspaceAccess, period: Period, *, channel: Channel | None
) -> int:
    """Short links created in the period (for ``channel``: those attached to its posts)."""
    start, end = period_bounds(period.start, period.end, access.workspace.timezone or "UTC")
    query = select(func.count(Link.id)).where(
        Link.workspace_id == access.workspace_id, Link.created_at >= start, Link.created_at < end
    )
    if channel is not None:
        query = query.join(Post, Post.id == Link.post_id).where(Post.channel_id == channel.id)
    return int(session.scalar(query) or 0)


def workspace_links(
    session: Session, access: WorkspaceAccess, period: Period, previous: Period | None
) -> dict[str, Any]:
    """Clicks of the workspace's short links (``links stats``), and per campaign."""
    current = link_stats.workspace_stats(session, access, since=period.start, until=period.end)
    before = (
        link_stats.workspace_stats(session, access, since=previous.start, until=previous.end)
        if previous
        else None
    )
    names = session.scalars(
        select(Link.campaign)
        .where(Link.workspace_id == access.workspace_id, Link.campaign.is_not(None))
        .distinct()
        .order_by(Link.campaign)
    ).all()
    campaigns = []
    for name in names:
        if name is None:
            continue
        figures = link_stats.campaign_stats(
            session, access, name, since=period.start, until=period.end
        )
        if figures["clicks"]["total"]:
            campaigns.append(
                {
                    "campaign": name,
                    "links": figures["links"],
                    "clicks": figures["clicks"],
                    "click_through_rate": figures["click_through_rate"],
                }
            )
    campaigns.sort(key=lambda c: -c["clicks"]["human"])
    return {
        "current": {k: v for k, v in current.items() if k != "by_day"},
        "by_day": current["by_day"],
        "previous": {k: v for k, v in before.items() if k != "by_day"} if before else None,
        "campaigns": campaigns[:MAX_CAMPAIGNS],
        "links_made": links_made(session, access, period, channel=None),
    }


def gather(
    session: Session,
    access: WorkspaceAccess,
    *,
    channels: list[str],
    sections: list[str],
    period: Period,
    previous: Period | None,
) -> dict[str, Any]:
    """Every figure the report's sections need, as plain JSON-able data."""
    out: dict[str, Any] = {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "comparison": (
            {"from": previous.start.isoformat(), "to": previous.end.isoformat()}
            if previous
            else None
        ),
        "channels": [
            channel_figures(session, access, handle, period, previous, sections)
            for handle in channels
        ],
    }
    if "links" in sections or "overview" in sections:
        out["links"] = workspace_links(session, access, period, previous)
    if "listening" in sections:
        out["listening"] = workspace_listening(session, access, period, previous)
    return out


def today_in(timezone: str) -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone or "UTC")).date()


def _bounds(period: Period, timezone: str) -> tuple[datetime, datetime]:
    """The period's first and last day as UTC instants [start, end) in the workspace's zone."""
    zone = ZoneInfo(timezone or "UTC")
    start = datetime.combine(period.start, time(), zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def workspace_listening(
    session: Session, access: WorkspaceAccess, period: Period, previous: Period | None
) -> dict[str, Any]:
    """Listen's figures of the period: volume per watch (and of the comparison period),
    share of voice, sentiment and spike hours, from ``listening.figures``."""
    since, until = _bounds(period, access.workspace.timezone)
    volume = listen_figures.volume_by_day(session, access, since, until)
    before: dict[int, int] = {}
    if previous is not None:
        old_since, old_until = _bounds(previous, access.workspace.timezone)
        old = listen_figures.volume_by_day(session, access, old_since, old_until)
        before = {watch["id"]: watch["total"] for watch in old["watches"]}
    sentiment = listen_figures.sentiment_by_watch(session, access, since, until)
    watches = []
    for watch in volume["watches"]:
        spike_hours = listen_figures.watch_spikes(session, access, watch["id"], since, until)
        watches.append(
            {
                "name": watch["name"],
                "kind": watch["kind"],
                "mentions": watch["total"],
                "previous": before.get(watch["id"]) if previous is not None else None,
                "sentiment": sentiment.get(watch["id"]),
                "spikes": [
                    {"hour": score.hour.isoformat(), "count": score.count} for score in spike_hours
                ],
            }
        )
    return {
        "volume": volume,
        "watches": watches,
        "share_of_voice": listen_figures.share_of_voice(session, access, since, until),
    }
