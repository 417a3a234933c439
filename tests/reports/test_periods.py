"""Report periods and schedule times: pure logic, checked on hand-picked days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from townsquare.errors import ValidationError
from townsquare.reports import periods

TODAY = date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize(
    ("spec", "rolling", "start", "end"),
    [
        ("last-month", False, date(2026, 11, 1), date(2026, 11, 30)),
        ("last-7-days", False, date(2026, 11, 23), date(2026, 11, 29)),  # Monday to Sunday
        ("last-quarter", False, date(2026, 7, 1), date(2026, 9, 30)),
        ("last-month", True, date(2026, 11, 2), date(2026, 12, 1)),
        ("last-7-days", True, date(2026, 11, 25), date(2026, 12, 1)),
        ("last-quarter", True, date(2026, 9, 2), date(2026, 12, 1)),
        ("2014-03-01..2014-03-31", False, date(2014, 3, 1), date(2014, 3, 31)),
    ],
)
def test_resolve(spec: str, rolling: bool, start: date, end: date) -> None:
    period = periods.resolve(spec, TODAY, rolling=rolling)
    assert (period.start, period.end) == (start, end)


def test_last_quarter_in_january_is_last_year_s_fourth() -> None:
    period = periods.resolve("last-quarter", date(2027, 1, 15))
    assert (period.start, period.end) == (date(2026, 10, 1), date(2026, 12, 31))


def test_comparisons() -> None:
    month = periods.resolve("last-month", date(2024, 3, 10))  # February 2024 (29 days)
    previous = periods.comparison(month, "previous")
    assert previous is not None and (previous.start, previous.end) == (
        date(2024, 1, 1),
        date(2024, 1, 31),
    )
    last_year = periods.comparison(month, "last-year")
    assert last_year is not None and (last_year.start, last_year.end) == (
        date(2023, 2, 1),
        date(2023, 2, 28),
    )
    custom = periods.resolve("2014-03-10..2014-03-16", TODAY)
    before = periods.comparison(custom, "previous")
    assert before is not None and (before.start, before.end) == (
        date(2014, 3, 3),
        date(2014, 3, 9),
    )
    assert periods.comparison(custom, None) is None
    # A custom range covering a whole month steps back a calendar month.
    march = periods.resolve("2014-03-01..2014-03-31", TODAY)
    february = periods.comparison(march, "previous")
    assert february is not None and february.end == date(2014, 2, 28)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("last-moth", "did you mean last-month"),
        ("2014-03-31..2014-03-01", "swap"),
        ("2014-13-01..2014-13-31", "YYYY-MM-DD..YYYY-MM-DD"),
        ("", "unknown period"),
    ],
)
def test_bad_periods(spec: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        periods.check_period(spec)
    assert words in caught.value.message and caught.value.field == "period"


def test_bad_compare_every_and_time() -> None:
    with pytest.raises(ValidationError, match="previous or last-year"):
        periods.check_compare("yesterday")
    with pytest.raises(ValidationError, match="week or month"):
        periods.check_every("daily")
    for value in ("25:00", "8h", "08:5"):
        with pytest.raises(ValidationError):
            periods.check_time(value)
    assert periods.check_time("8:05") == "08:05"


def test_next_run_in_the_workspace_zone_across_summer_time() -> None:
    # Paris is UTC+1 in March before the 29th, UTC+2 from then on.
    after = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    weekly = periods.next_run("week", "08:30", after, "Europe/Paris")
    assert weekly == datetime(2026, 3, 23, 7, 30, tzinfo=UTC)  # Monday 08:30 CET
    monthly = periods.next_run("month", "08:30", after, "Europe/Paris")
    assert monthly == datetime(2026, 4, 1, 6, 30, tzinfo=UTC)  # 1 April 08:30 CEST
    # Exactly at a run: the next one, never the same.
    assert periods.next_run("month", "08:30", monthly, "Europe/Paris") == datetime(
        2026, 5, 1, 6, 30, tzinfo=UTC
    )


def test_period_just_ended() -> None:
    run = datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
    month = periods.period_just_ended("month", run, "Europe/Paris")
    assert (month.start, month.end) == (date(2026, 3, 1), date(2026, 3, 31))
    week = periods.period_just_ended(
        "week", datetime(2026, 3, 23, 7, 30, tzinfo=UTC), "Europe/Paris"
    )
    assert (week.start, week.end) == (date(2026, 3, 16), date(2026, 3, 22))
