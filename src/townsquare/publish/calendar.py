"""What the publishing calendar shows: the variants of a period, in the workspace's time zone.

Pure date arithmetic (``month_weeks``, ``week_days``, ``period_for``) apart from the one
query (``entries``), which is scoped by workspace. A variant sits at its publication time
once published, else at its scheduled time; a variant without either (a draft) is not on
the calendar. Views: ``month`` (weeks of days, Monday first), ``week`` (7 days × hours) and
``list`` (every entry of the period in order).
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.errors import ValidationError
from townsquare.publish.content import effective_parts
from townsquare.publish.models import PublishPost, PublishVariant, VariantStatus
from townsquare.workspaces.service import WorkspaceAccess

VIEWS = ("month", "week", "list")
# Statuses a filter may ask for; the calendar shows every status that has a time.
STATUSES = tuple(status.value for status in VariantStatus if status != VariantStatus.DRAFT)


def _n(text: str) -> str:
    """Marks a label for the catalog; it is translated where shown."""
    return text


STATUS_LABELS = {
    "draft": _n("Draft"),
    "pending_approval": _n("Pending approval"),
    "changes_requested": _n("Changes requested"),
    "scheduled": _n("Scheduled"),
    "publishing": _n("Publishing"),
    "published": _n("Published"),
    "failed": _n("Failed"),
    "uncertain": _n("Uncertain"),
    "expired": _n("Expired"),
    "cancelled": _n("Cancelled"),
}
# What each entry of a post's history says (publish_events.action).
ACTION_LABELS = {
    "created": _n("Created"),
    "edited": _n("Edited"),
    "submitted": _n("Submitted for approval"),
    "approved": _n("Approved"),
    "changes_requested": _n("Changes requested"),
    "scheduled": _n("Scheduled"),
    "rescheduled": _n("Rescheduled"),
    "publishing": _n("Publishing started"),
    "published": _n("Published"),
    "failed": _n("Failed"),
    "uncertain": _n("Outcome uncertain"),
    "verified": _n("Found on the network"),
    "retried": _n("Retried"),
    "expired": _n("Expired"),
    "cancelled": _n("Cancelled"),
}
MOVABLE = (
    VariantStatus.SCHEDULED.value,
    VariantStatus.PENDING_APPROVAL.value,
    VariantStatus.CHANGES_REQUESTED.value,
)


@dataclass(frozen=True)
class Entry:
    """One variant on the calendar."""

    variant_id: int
    post_id: int
    channel_id: int
    channel_network: str
    channel_handle: str
    status: str
    at: datetime  # local, in the workspace's zone
    text: str
    url: str | None
    error: str | None

    @property
    def movable(self) -> bool:
        return self.status in MOVABLE

    @property
    def snippet(self) -> str:
        words = " ".join(self.text.split())
        return words if len(words) <= 80 else words[:79].rstrip() + "…"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_view(value: str | None) -> str:
    view = (value or "month").strip().lower()
    if view not in VIEWS:
        raise ValidationError(
            "unknown calendar view %(value)r: choose month, week or list",
            params={"value": value},
            field="view",
        )
    return view


def parse_day(value: str | None, today: date) -> date:
    if not value or not value.strip():
        return today
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            "%(value)r is not a date: write it as YYYY-MM-DD",
            params={"value": value},
            field="date",
        ) from None


def parse_status(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    status = value.strip().lower()
    if status not in STATUSES:
        raise ValidationError(
            "unknown status %(value)r: choose one of %(choices)s",
            params={"value": value, "choices": ", ".join(STATUSES)},
            field="status",
        )
    return status


def month_weeks(day: date) -> list[list[date]]:
    """The weeks (Monday first) covering ``day``'s month, days of neighbours included."""
    weeks = _calendar.Calendar(firstweekday=0).monthdatescalendar(day.year, day.month)
    return [list(week) for week in weeks]


def week_days(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=offset) for offset in range(7)]


def period_for(view: str, day: date) -> tuple[date, date]:
    """[first, last] days a view of ``day`` shows."""
    if view == "week":
        days = week_days(day)
        return days[0], days[-1]
    weeks = month_weeks(day)
    if view == "list":
        first = day.replace(day=1)
        last = first.replace(day=_calendar.monthrange(day.year, day.month)[1])
        return first, last
    return weeks[0][0], weeks[-1][-1]


def shift(view: str, day: date, steps: int) -> date:
    """The day ``steps`` periods away (previous/next buttons)."""
    if view == "week":
        return day + timedelta(weeks=steps)
    month = day.month - 1 + steps
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def entries(
    session: Session,
    access: WorkspaceAccess,
    first: date,
    last: date,
    tz: ZoneInfo,
    *,
    channel_id: int | None = None,
    status: str | None = None,
) -> list[Entry]:
    """The variants placed between the start of ``first`` and the end of ``last`` (local)."""
    start = local_to_utc(first, time(0), tz)
    end = local_to_utc(last + timedelta(days=1), time(0), tz)
    published = PublishVariant.published_at
    scheduled = PublishVariant.scheduled_at
    query = (
        select(PublishVariant, PublishPost, Channel)
        .join(PublishPost, PublishPost.id == PublishVariant.post_id)
        .join(Channel, Channel.id == PublishVariant.channel_id)
        .where(
            PublishVariant.workspace_id == access.workspace_id,
            PublishPost.workspace_id == access.workspace_id,
            PublishVariant.status != VariantStatus.DRAFT.value,
            or_(
                and_(published.is_not(None), published >= start, published < end),
                and_(published.is_(None), scheduled >= start, scheduled < end),
            ),
        )
    )
    if channel_id is not None:
        query = query.where(PublishVariant.channel_id == channel_id)
    if status is not None:
        query = query.where(PublishVariant.status == status)
    found = []
    for variant, post, channel in session.execute(query):
        moment = variant.published_at or variant.scheduled_at
        assert moment is not None
        parts = effective_parts(post, variant)
        found.append(
            Entry(
                variant_id=variant.id,
                post_id=post.id,
                channel_id=channel.id,
                channel_network=channel.network,
                channel_handle=channel.handle,
                status=variant.status,
                at=moment.astimezone(tz),
                text=str(parts[0]["text"]) if parts else "",
                url=variant.url,
                error=variant.error,
            )
        )
    found.sort(key=lambda entry: (entry.at, entry.variant_id))
    return found


def by_day(found: list[Entry]) -> dict[date, list[Entry]]:
    days: dict[date, list[Entry]] = {}
    for entry in found:
        days.setdefault(entry.at.date(), []).append(entry)
    return days


def by_hour(found: list[Entry]) -> dict[tuple[date, int], list[Entry]]:
    cells: dict[tuple[date, int], list[Entry]] = {}
    for entry in found:
        cells.setdefault((entry.at.date(), entry.at.hour), []).append(entry)
    return cells


def parse_slot(value: str, tz: ZoneInfo, keep: datetime | None = None) -> datetime:
    """A drop target's slot, ``YYYY-MM-DD`` (a day of the month view: the entry keeps its
    time of day), ``YYYY-MM-DDTHH`` (an hour of the week view: it keeps its minutes) or
    ``YYYY-MM-DDTHH:MM`` (the list view's form), as a UTC instant.
    ``keep`` is the entry's current local time. A local time that does not exist or is
    ambiguous (a DST change) is refused with its readings."""
    text = value.strip()
    try:
        if "T" in text:
            naive = datetime.fromisoformat(text)
            if keep is not None and len(text) == 13:
                naive = naive.replace(minute=keep.minute)
        else:
            day = date.fromisoformat(text)
            kept = keep.time().replace(tzinfo=None) if keep is not None else time(9)
            naive = datetime.combine(day, kept)
    except ValueError:
        raise ValidationError(
            "%(value)r is not a slot of the calendar: write YYYY-MM-DD or YYYY-MM-DDTHH:MM",
            params={"value": value},
            field="slot",
        ) from None
    naive = naive.replace(tzinfo=None, second=0, microsecond=0)
    earlier = naive.replace(tzinfo=tz, fold=0)
    later = naive.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        first, second = earlier.astimezone(UTC), later.astimezone(UTC)
        if earlier.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise ValidationError(
                "%(value)s does not exist in %(zone)s (the clocks skip it): choose "
                "%(before)s or %(after)s UTC",
                params={
                    "value": naive.strftime("%Y-%m-%d %H:%M"),
                    "zone": str(tz),
                    "before": second.strftime("%H:%M"),
                    "after": first.strftime("%H:%M"),
                },
                field="slot",
            )
        raise ValidationError(
            "%(value)s happens twice in %(zone)s (the clocks go back): it is either "
            "%(first)s or %(second)s UTC; choose another time",
            params={
                "value": naive.strftime("%Y-%m-%d %H:%M"),
                "zone": str(tz),
                "first": first.strftime("%H:%M"),
                "second": second.strftime("%H:%M"),
            },
            field="slot",
        )
    return earlier.astimezone(UTC)
