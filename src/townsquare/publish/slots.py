"""Each channel's weekly queue slots (Buffer-style), the next free one, and recommended slots
from Measure's best times.

A slot is a weekday and a wall time in the channel's zone ("mon 09:00"). A post added to the
queue takes the channel's next slot that no other live variant of that channel holds. A slot
whose wall time does not exist that day (a DST gap) is skipped; one that happens twice is
taken at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import regex
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.db.base import utcnow
from townsquare.errors import ValidationError
from townsquare.publish import timing
from townsquare.publish.models import PublishVariant, QueueSlot, VariantStatus
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SLOTS = 100
HORIZON_DAYS = 400  # how far ahead the queue looks for a free slot
# Variants that hold the slot they were given (a cancelled or expired one frees it).
HOLDING = (
    VariantStatus.PENDING_APPROVAL.value,
    VariantStatus.CHANGES_REQUESTED.value,
    VariantStatus.SCHEDULED.value,
    VariantStatus.PUBLISHING.value,
    VariantStatus.PUBLISHED.value,
    VariantStatus.UNCERTAIN.value,
)

_SLOT = regex.compile(r"^\s*([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*$", regex.IGNORECASE)


@dataclass(frozen=True, order=True)
class Slot:
    weekday: int  # 0 = Monday … 6 = Sunday
    local_time: str  # "HH:MM"

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.local_time}"


def parse_slots(text: str | Iterable[str]) -> list[Slot]:
    """``"mon 09:00, wed 17:30"`` (or a list of such items) as sorted distinct slots."""
    items = text.split(",") if isinstance(text, str) else list(text)
    found: set[Slot] = set()
    for raw in items:
        if not raw.strip():
            continue
        match = _SLOT.match(raw)
        day = match.group(1).lower() if match else ""
        if match is None or day not in WEEKDAYS:
            raise ValidationError(
                "invalid queue slot %(value)r: write a weekday and a time, e.g. "
                '"mon 09:00, wed 17:30" (days: %(days)s)',
                params={"value": raw.strip(), "days": ", ".join(WEEKDAYS)},
                field="slots",
            )
        hour, minute = int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            raise ValidationError(
                "invalid time in queue slot %(value)r: hours 00-23, minutes 00-59",
                params={"value": raw.strip()},
                field="slots",
            )
        found.add(Slot(WEEKDAYS.index(day), f"{hour:02d}:{minute:02d}"))
    if len(found) > MAX_SLOTS:
        raise ValidationError(
            "too many queue slots: at most %(max)s per channel",
            params={"max": MAX_SLOTS},
            field="slots",
        )
    return sorted(found)


def list_slots(session: Session, access: WorkspaceAccess, channel: Channel) -> list[Slot]:
    _check_channel(access, channel)
    rows = session.scalars(
        select(QueueSlot).where(
            QueueSlot.channel_id == channel.id, QueueSlot.workspace_id == access.workspace_id
        )
    )
    return sorted(Slot(row.weekday, row.local_time) for row in rows)


def set_slots(
    session: Session, access: WorkspaceAccess, channel: Channel, slots: Sequence[Slot]
) -> list[Slot]:
    """Replace the channel's weekly slots (editor or higher). Variants already given a slot
    keep their time."""
    access.require(Role.EDITOR, "change queue slots")
    _check_channel(access, channel)
    session.execute(
        delete(QueueSlot).where(
            QueueSlot.channel_id == channel.id, QueueSlot.workspace_id == access.workspace_id
        )
    )
    for slot in sorted(set(slots)):
        session.add(
            QueueSlot(
                workspace_id=access.workspace_id,
                channel_id=channel.id,
                weekday=slot.weekday,
                local_time=slot.local_time,
            )
        )
    audit.record(
        session,
        "publish.queue_slots_set",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{channel.network}:{channel.handle}",
        details={"slots": [slot.label for slot in sorted(set(slots))]},
    )
    session.commit()
    return sorted(set(slots))


def occurrences(
    slots: Sequence[Slot], timezone: str, after: datetime, *, days: int = HORIZON_DAYS
) -> Iterable[datetime]:
    """The instants (UTC) of the weekly ``slots`` strictly after ``after``, in order."""
    if not slots:
        return
    zone = ZoneInfo(timezone)
    start: date = after.astimezone(zone).date()
    by_day: dict[int, list[time]] = {}
    for slot in slots:
        hour, minute = (int(part) for part in slot.local_time.split(":"))
        by_day.setdefault(slot.weekday, []).append(time(hour, minute))
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        for wall in sorted(by_day.get(day.weekday(), [])):
            instant = timing.wall_time_instant(datetime.combine(day, wall), zone)
            if instant is not None and instant > after:
                yield instant


def next_free_slot(
    session: Session,
    channel: Channel,
    *,
    after: datetime | None = None,
    taken: Iterable[datetime] = (),
    exclude_variant: int | None = None,
) -> datetime:
    """The channel's next weekly slot after ``after`` (now) that no live variant holds
    (nor any instant of ``taken``); ValidationError when the channel has no slots."""
    moment = after or utcnow()
    slots = sorted(
        Slot(row.weekday, row.local_time)
        for row in session.scalars(select(QueueSlot).where(QueueSlot.channel_id == channel.id))
    )
    if not slots:
        raise ValidationError(
            "channel %(handle)s has no queue slots: set them with `townsquare queue slots "
            '--workspace W --channel %(handle)s --set "mon 09:00, wed 17:30"`, or give a time',
            params={"handle": channel.handle},
            field="queue",
        )
    query = select(PublishVariant.scheduled_at).where(
        PublishVariant.channel_id == channel.id,
        PublishVariant.status.in_(HOLDING),
        PublishVariant.scheduled_at > moment,
    )
    if exclude_variant is not None:
        query = query.where(PublishVariant.id != exclude_variant)
    held = {value.astimezone(UTC) for value in session.scalars(query) if value is not None}
    held.update(value.astimezone(UTC) for value in taken)
    for instant in occurrences(slots, channel.timezone, moment):
        if instant not in held:
            return instant
    raise ValidationError(
        "every queue slot of channel %(handle)s is taken for the next %(days)s days: add "
        "slots or give a time",
        params={"handle": channel.handle, "days": HORIZON_DAYS},
        field="queue",
    )


@dataclass(frozen=True)
class Recommendation:
    """A slot Measure's best times recommend, with what supports it (``evidence``: the
    cell's median, its 95% CI and post count against the channel's overall median)."""

    slot: Slot
    n: int
    median: float | None
    ci_low: float | None
    ci_high: float | None
    overall_median: float | None
    ci_above_overall: bool
    small_sample: bool
    evidence: str
    metric: str

    def as_json(self) -> dict[str, object]:
        return {
            "slot": self.slot.label,
            "weekday": WEEKDAYS[self.slot.weekday],
            "time": self.slot.local_time,
            "n": self.n,
            "median": self.median,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "overall_median": self.overall_median,
            "ci_above_overall": self.ci_above_overall,
            "small_sample": self.small_sample,
            "evidence": self.evidence,
            "metric": self.metric,
        }


def recommended_slots(
    session: Session,
    access: WorkspaceAccess,
    channel: Channel,
    *,
    metric: str = "interactions",
    min_posts: int | None = None,
    seed: int | None = None,
) -> list[Recommendation]:
    """The channel's best weekly times from Measure (``analytics.analyses.best_times`` over
    the channel's posts, as ``townsquare measure best-times`` computes them), each as a
    slot at the start of its hour in the channel's zone, with its evidence. Empty when the
    channel has too few timed posts to recommend anything."""
    from townsquare.analytics import service as measure

    _check_channel(access, channel)
    options: dict[str, int] = {}
    if min_posts is not None:
        options["min_posts"] = min_posts
    if seed is not None:
        options["seed"] = seed
    result = measure.measure_best_times(
        session,
        access,
        f"{channel.network}:{channel.handle}",
        metric=metric,
        **options,  # type: ignore[arg-type]
    )
    found: list[Recommendation] = []
    for item in result.get("recommended") or []:
        found.append(
            Recommendation(
                slot=Slot(int(item["weekday"]) - 1, f"{int(item['hour']):02d}:00"),
                n=int(item["n"]),
                median=item.get("median"),
                ci_low=item.get("ci_low"),
                ci_high=item.get("ci_high"),
                overall_median=item.get("overall_median"),
                ci_above_overall=bool(item.get("ci_above_overall")),
                small_sample=bool(item.get("small_sample")),
                evidence=str(item.get("evidence") or ""),
                metric=metric,
            )
        )
    return found


def _check_channel(access: WorkspaceAccess, channel: Channel) -> None:
    if channel.workspace_id != access.workspace_id:  # callers pass a channel found by scope
        raise ValueError("channel of another workspace")
