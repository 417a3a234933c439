"""Listen's figures: volume per day, share of voice, spikes (from the stored mentions).

A mention counts at its published time (else when it was found), in the workspace's time
zone for days. Reach is the sum of the authors' followers where the network says them;
share of voice is given both by mentions and by reach, over the brand and competitor
watches only (topics are not voices).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.listening import spikes
from townsquare.listening.models import Mention, MentionWatch, Watch
from townsquare.workspaces.service import WorkspaceAccess

_WHEN = func.coalesce(Mention.published_at, Mention.created_at)


def _rows(
    session: Session,
    access: WorkspaceAccess,
    since: datetime,
    until: datetime,
    watch_id: int | None = None,
) -> list[tuple[int, datetime, int | None, str | None]]:
    """(watch id, when, author's followers, sentiment) of every match in the period (mentions
    deleted as noise left out; the sentiment is the user's correction where there is one)."""
    query = (
        select(MentionWatch.watch_id, _WHEN, Mention.author_followers, Mention.sentiment)
        .join(Mention, Mention.id == MentionWatch.mention_id)
        .where(
            Mention.workspace_id == access.workspace_id,
            Mention.is_noise.is_(False),
            since <= _WHEN,
            until > _WHEN,
        )
    )
    if watch_id is not None:
        query = query.where(MentionWatch.watch_id == watch_id)
    return [
        (int(w), when, followers, feeling) for w, when, followers, feeling in session.execute(query)
    ]


def volume_by_day(
    session: Session, access: WorkspaceAccess, since: datetime, until: datetime
) -> dict[str, Any]:
    """Mentions per day and watch: {"days", "watches": [{"id", "name", "kind", "counts"}]}."""
    zone = ZoneInfo(access.workspace.timezone)
    watches = list(
        session.scalars(
            select(Watch).where(Watch.workspace_id == access.workspace_id).order_by(Watch.name)
        )
    )
    per_watch: dict[int, Counter[date]] = defaultdict(Counter)
    for watch_id, when, _followers, _feeling in _rows(session, access, since, until):
        per_watch[watch_id][when.astimezone(zone).date()] += 1
    first, last = (
        since.astimezone(zone).date(),
        (until - timedelta(microseconds=1)).astimezone(zone).date(),
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "days": [day.isoformat() for day in days],
        "watches": [
            {
                "id": watch.id,
                "name": watch.name,
                "kind": watch.kind,
                "counts": [per_watch[watch.id][day] for day in days],
                "total": sum(per_watch[watch.id].values()),
            }
            for watch in watches
        ],
    }


def share_of_voice(
    session: Session, access: WorkspaceAccess, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Each brand or competitor watch's mentions and reach, and their shares (0–1 or None)."""
    watches = {
        watch.id: watch
        for watch in session.scalars(
            select(Watch).where(
                Watch.workspace_id == access.workspace_id, Watch.kind.in_(("brand", "competitor"))
            )
        )
    }
    mentions: Counter[int] = Counter()
    reach: Counter[int] = Counter()
    for watch_id, _when, followers, _feeling in _rows(session, access, since, until):
        if watch_id in watches:
            mentions[watch_id] += 1
            reach[watch_id] += followers or 0
    total_mentions, total_reach = sum(mentions.values()), sum(reach.values())
    return [
        {
            "watch": watch.name,
            "kind": watch.kind,
            "mentions": mentions[watch.id],
            "reach": reach[watch.id],
            "share_by_mentions": mentions[watch.id] / total_mentions if total_mentions else None,
            "share_by_reach": reach[watch.id] / total_reach if total_reach else None,
        }
        for watch in sorted(watches.values(), key=lambda w: (w.kind != "brand", w.name))
    ]


@dataclass(frozen=True)
class Spike(spikes.HourScore):
    """A spike hour and how its mentions split by sentiment."""

    positive: int = 0
    negative: int = 0
    neutral: int = 0


def watch_spikes(
    session: Session,
    access: WorkspaceAccess,
    watch_id: int,
    since: datetime,
    until: datetime,
    *,
    threshold: float | None = None,
) -> list[Spike]:
    """The hours of the period that are spikes for the watch (scored against 4 weeks before,
    from the watch's own threshold unless ``threshold`` is given), split by sentiment."""
    if threshold is None:
        watch = session.get(Watch, watch_id)
        threshold = watch.spike_threshold if watch is not None else spikes.DEFAULT_THRESHOLD
    start = spikes.hour_start(since) - spikes.WEEK * spikes.BASELINE_WEEKS
    counts: Counter[datetime] = Counter()
    feelings: dict[datetime, Counter[str]] = defaultdict(Counter)
    for _watch, when, _followers, feeling in _rows(session, access, start, until, watch_id):
        hour = spikes.hour_start(when)
        counts[hour] += 1
        feelings[hour][feeling or "unknown"] += 1
    scores = spikes.score_hours(counts, since, until, threshold=threshold)
    return [
        Spike(
            **vars(score),
            positive=feelings[score.hour]["positive"],
            negative=feelings[score.hour]["negative"],
            neutral=feelings[score.hour]["neutral"],
        )
        for score in scores
        if score.is_spike
    ]


def sentiment_by_day(
    session: Session,
    access: WorkspaceAccess,
    since: datetime,
    until: datetime,
    watch_id: int | None = None,
) -> dict[str, Any]:
    """Mentions per day and sentiment (one watch, or every mention of the workspace):
    {"days", "negative", "neutral", "positive", "unknown"} (lists of counts per day).
    Corrections count instead of the classifier's labels."""
    zone = ZoneInfo(access.workspace.timezone)
    query = select(_WHEN, Mention.sentiment).where(
        Mention.workspace_id == access.workspace_id,
        Mention.is_noise.is_(False),
        since <= _WHEN,
        until > _WHEN,
    )
    if watch_id is not None:
        query = query.where(
            Mention.id.in_(select(MentionWatch.mention_id).where(MentionWatch.watch_id == watch_id))
        )
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for when, feeling in session.execute(query):
        per_day[when.astimezone(zone).date()][feeling or "unknown"] += 1
    days = _days(since, until, zone)
    return {
        "days": [day.isoformat() for day in days],
        **{
            label: [per_day[day][label] for day in days]
            for label in ("negative", "neutral", "positive", "unknown")
        },
    }


def corrections(
    session: Session, access: WorkspaceAccess, since: datetime, until: datetime
) -> dict[str, int]:
    """How the users' corrections stand: {"classified", "corrected", "changed"} — mentions
    with a sentiment, those a user set by hand, and those where the hand changed the label."""
    query = select(
        func.count(Mention.sentiment),
        func.count(Mention.sentiment_corrected_at),
        func.count(Mention.id).filter(
            Mention.sentiment_corrected_at.is_not(None),
            func.coalesce(Mention.sentiment_auto, "") != func.coalesce(Mention.sentiment, ""),
        ),
    ).where(
        Mention.workspace_id == access.workspace_id,
        Mention.is_noise.is_(False),
        since <= _WHEN,
        until > _WHEN,
    )
    classified, corrected, changed = session.execute(query).one()
    return {"classified": classified, "corrected": corrected, "changed": changed}


def _days(since: datetime, until: datetime, zone: ZoneInfo) -> list[date]:
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


SENTIMENTS = ("negative", "neutral", "positive")


def sentiment_by_watch(
    session: Session, access: WorkspaceAccess, since: datetime, until: datetime
) -> dict[int, dict[str, int]]:
    """Per watch id, its mentions of the period by sentiment (``unknown``: not classified)."""
    query = (
        select(MentionWatch.watch_id, Mention.sentiment, func.count())
        .join(Mention, Mention.id == MentionWatch.mention_id)
        .where(
            Mention.workspace_id == access.workspace_id,
            Mention.is_noise.is_(False),
            since <= _WHEN,
            until > _WHEN,
        )
        .group_by(MentionWatch.watch_id, Mention.sentiment)
    )
    out: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*SENTIMENTS, "unknown"), 0))
    for watch_id, sentiment, count in session.execute(query):
        key = sentiment if sentiment in SENTIMENTS else "unknown"
        out[int(watch_id)][key] += int(count)
    return dict(out)
