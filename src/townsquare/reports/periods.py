"""Report periods: what "last month" or "last quarter" means on a given day (pure logic).

A period is named as the CLI writes it: ``last-7-days``, ``last-month``, ``last-quarter`` or
a custom range ``YYYY-MM-DD..YYYY-MM-DD`` (both days included). Named periods are
**calendar** periods by default (last-7-days: the last full week, Monday to Sunday;
last-month: the previous calendar month; last-quarter: the previous calendar quarter) or
**rolling** ones (the days just before today: 7 days, one month, three months).

The comparison period is ``previous`` (the period just before, of the same kind: the month
before a calendar month, the same number of days before anything else) or ``last-year``
(the same days one year earlier).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from townsquare.errors import ValidationError
from townsquare.messages import Message

NAMED = ("last-7-days", "last-month", "last-quarter")
COMPARES = ("previous", "last-year")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included
    kind: str  # week, month, quarter or days (how "previous" steps back)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _add_months(day: date, months: int) -> date:
    start = _month_start(day, -months)
    following = _month_start(start, -1)
    return start.replace(day=min(day.day, (following - timedelta(days=1)).day))


def check_period(spec: str) -> str:
    """``spec`` cleaned, or ValidationError naming the accepted forms."""
    text = (spec or "").strip().lower()
    if text in NAMED:
        return text
    if ".." in text:
        parse_range(text)
        return text
    close = difflib.get_close_matches(text, NAMED, n=1)
    hint = Message("did you mean %(name)s? ", name=close[0]) if close else ""
    raise ValidationError(
        "unknown period '%(value)s': %(hint)suse last-7-days, last-month, last-quarter or a "
        "range YYYY-MM-DD..YYYY-MM-DD",
        params={"value": spec, "hint": hint},
        field="period",
    )


def parse_range(text: str) -> Period:
    first, _, last = text.partition("..")
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
    except ValueError:
        raise ValidationError(
            "'%(value)s' is not a range of dates: write it YYYY-MM-DD..YYYY-MM-DD, e.g. "
            "2014-03-01..2014-03-31",
            params={"value": text},
            field="period",
        ) from None
    if start > end:
        raise ValidationError(
            "the period %(value)s ends before it starts: swap the dates",
            params={"value": text},
            field="period",
        )
    kind = "days"
    if start.day == 1 and end + timedelta(days=1) == _month_start(start, -1):
        kind = "month"
    return Period(start, end, kind)


def check_compare(value: str | None) -> str | None:
    if value is None or not value.strip() or value.strip().lower() == "none":
        return None
    text = value.strip().lower()
    if text not in COMPARES:
        raise ValidationError(
            "unknown comparison '%(value)s': use previous or last-year",
            params={"value": value},
            field="compare",
        )
    return text


def resolve(spec: str, today: date, *, rolling: bool = False) -> Period:
    """The days ``spec`` covers when the report is made on ``today`` (local date)."""
    text = check_period(spec)
    yesterday = today - timedelta(days=1)
    if text == "last-7-days":
        if rolling:
            return Period(today - timedelta(days=7), yesterday, "days")
        monday = today - timedelta(days=today.weekday())
        return Period(monday - timedelta(days=7), monday - timedelta(days=1), "week")
    if text == "last-month":
        if rolling:
            return Period(_add_months(today, -1), yesterday, "days")
        start = _month_start(today, 1)
        return Period(start, _month_start(today) - timedelta(days=1), "month")
    if text == "last-quarter":
        if rolling:
            return Period(_add_months(today, -3), yesterday, "days")
        quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        start = _month_start(quarter_start, 3)
        return Period(start, quarter_start - timedelta(days=1), "quarter")
    return parse_range(text)


def comparison(period: Period, compare: str | None) -> Period | None:
    """The period ``period`` is compared with, or None."""
    if compare is None:
        return None
    if compare == "last-year":
        return Period(_shift_year(period.start), _shift_year(period.end), period.kind)
    months = {"month": 1, "quarter": 3}.get(period.kind)
    if months:
        start = _month_start(period.start, months)
        return Period(start, period.start - timedelta(days=1), period.kind)
    return Period(
        period.start - timedelta(days=period.days), period.start - timedelta(days=1), period.kind
    )


def _shift_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# --- schedules ----------------------------------------------------------------------------

EVERY = ("week", "month")


def check_every(value: str) -> str:
    text = (value or "").strip().lower()
    if text not in EVERY:
        raise ValidationError(
            "--every is week or month, not '%(value)s'", params={"value": value}, field="every"
        )
    return text


def check_time(value: str | None) -> str:
    text = (value or "08:00").strip()
    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and len(minute) == 2):
        raise ValidationError(
            "--at is a local time HH:MM, e.g. 08:30, not '%(value)s'",
            params={"value": value},
            field="at",
        )
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise ValidationError(
            "'%(value)s' is not a time of day (00:00 to 23:59)", params={"value": value}, field="at"
        )
    return f"{int(hour):02d}:{minute}"


def next_run(every: str, at: str, after: datetime, timezone: str) -> datetime:
    """The first run strictly after ``after`` (aware), in UTC: Mondays (week) or the 1st of
    the month (month) at ``at``, local time of ``timezone``."""
    zone = ZoneInfo(timezone or "UTC")
    local = after.astimezone(zone)
    hour, minute = (int(part) for part in at.split(":"))
    clock = time(hour, minute)
    if every == "week":
        day = local.date() - timedelta(days=local.weekday())
        step = 7
        candidate = datetime.combine(day, clock, zone)
        while candidate <= after:
            day += timedelta(days=step)
            candidate = datetime.combine(day, clock, zone)
    else:
        day = _month_start(local.date())
        candidate = datetime.combine(day, clock, zone)
        while candidate <= after:
            day = _month_start(day, -1)
            candidate = datetime.combine(day, clock, zone)
    return candidate.astimezone(UTC)


def period_just_ended(every: str, run_at: datetime, timezone: str) -> Period:
    """The week (Monday–Sunday) or calendar month that ended before a run at ``run_at``."""
    today = run_at.astimezone(ZoneInfo(timezone or "UTC")).date()
    return resolve("last-7-days" if every == "week" else "last-month", today)
