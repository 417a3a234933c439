"""Local wall times in a channel's time zone, read safely across DST (pure: no I/O).

A post is scheduled at a wall time in each channel's own zone. Twice a year that is
ambiguous: in autumn the clocks go back and ``02:30`` happens twice; in spring they jump and
``02:30`` never happens. Either is refused with both readings, so the author picks one by
writing the offset (``2026-10-25T02:30+01:00``); a time written with an offset is an instant
and is taken as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from townsquare.errors import ValidationError


@dataclass(frozen=True)
class LocalTime:
    """An instant and how the author wrote it in the channel's zone."""

    at: datetime  # UTC
    # The wall time with its offset in the channel's zone, "2026-03-29T09:00+02:00" (the
    # zone itself is the channel's).
    local: str


def parse_iso(value: str, *, field: str = "at") -> datetime:
    """``value`` (ISO 8601, ``T`` or space, seconds and offset optional) as a datetime."""
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            "invalid date and time %(value)r: write it as YYYY-MM-DDTHH:MM in the channel's "
            "time zone, e.g. 2026-12-24T09:30",
            params={"value": value},
            field=field,
        ) from None


def _reading(naive: datetime, zone: ZoneInfo, fold: int) -> datetime:
    """The instant ``naive`` means with ``fold`` (0: the earlier offset), in UTC."""
    return naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _show(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local.isoformat(timespec='minutes')} ({local.tzname()})"


def readings(naive: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants a naive wall time may mean in ``zone``: one normally, two in a DST
    overlap (ambiguous) or gap (the wall time does not exist; each reading is then shown
    as the real wall time it lands on)."""
    first, second = _reading(naive, zone, 0), _reading(naive, zone, 1)
    return [first] if first == second else sorted({first, second})


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall time happens in ``zone`` (False inside a spring-forward gap)."""
    instant = _reading(naive, zone, 0)
    return instant.astimezone(zone).replace(tzinfo=None) == naive


def resolve(value: str | datetime, timezone: str, *, field: str = "at") -> LocalTime:
    """The instant of wall time ``value`` in ``timezone``; ValidationError with both
    readings when it is ambiguous or does not exist."""
    zone = ZoneInfo(timezone)
    moment = parse_iso(value, field=field) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        instant = moment.astimezone(UTC)
        return LocalTime(instant, local_label(instant, timezone))
    naive = moment.replace(second=0, microsecond=0) if moment.second == 0 else moment
    options = readings(naive, zone)
    wall = naive.isoformat(timespec="minutes")
    if not exists(naive, zone):
        raise ValidationError(
            "%(wall)s does not exist in %(timezone)s (the clocks skip it for daylight saving "
            "time): it could mean %(first)s or %(second)s; write one of them with its offset",
            params={
                "wall": wall,
                "timezone": timezone,
                "first": _show(options[0], zone),
                "second": _show(options[-1], zone),
            },
            field=field,
        )
    if len(options) > 1:
        raise ValidationError(
            "%(wall)s happens twice in %(timezone)s (the clocks go back): write %(first)s or "
            "%(second)s",
            params={
                "wall": wall,
                "timezone": timezone,
                "first": f"{options[0].astimezone(zone).isoformat(timespec='minutes')}",
                "second": f"{options[1].astimezone(zone).isoformat(timespec='minutes')}",
            },
            field=field,
        )
    return LocalTime(options[0], local_label(options[0], timezone))


def local_label(instant: datetime, timezone: str) -> str:
    """``instant`` as a wall time with its offset in ``timezone``: 2026-03-29T09:00+02:00."""
    return instant.astimezone(ZoneInfo(timezone)).isoformat(timespec="minutes")


def wall_time_instant(naive: datetime, zone: ZoneInfo) -> datetime | None:
    """A queue slot's instant: None when the wall time does not exist that day (a slot
    inside a DST gap is skipped), the first occurrence when it happens twice."""
    if not exists(naive, zone):
        return None
    return _reading(naive, zone, 0)
