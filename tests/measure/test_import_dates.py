"""Date reading and cell readers of the importers: pure functions, property-tested."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from townsquare.analytics.importers.dates import DAY_FIRST, MONTH_FIRST, DateReader, infer_orders
from townsquare.analytics.importers.fields import read_bool, read_counter, read_format

PARIS = ZoneInfo("Europe/Paris")
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2060, 12, 30))


@given(moments, st.sampled_from(["/", "-", "."]), st.booleans())
def test_numeric_dates_round_trip_in_the_inferred_order(
    moment: datetime, sep: str, day_first: bool
) -> None:
    moment = moment.replace(second=0, microsecond=0)
    first, second = (moment.day, moment.month) if day_first else (moment.month, moment.day)
    text = f"{first:02d}{sep}{second:02d}{sep}{moment.year} {moment.hour}:{moment.minute:02d}"
    # A value that proves the order (a 13 or more in the day's place) decides the column.
    proof = f"13{sep}01{sep}2020 0:00" if day_first else f"01{sep}13{sep}2020 0:00"
    orders = infer_orders([(2, proof), (3, text)])
    assert orders.problems == []
    assert orders.orders == {(sep, 4): DAY_FIRST if day_first else MONTH_FIRST}
    stamp, error = DateReader(PARIS, orders=orders.orders).read(text)
    assert error is None and stamp is not None
    assert stamp.local == moment
    assert stamp.utc == moment.replace(tzinfo=PARIS).astimezone(UTC)
    assert stamp.precision == "minute"


@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 99))
def test_ambiguous_values_are_refused_with_both_readings(a: int, b: int, year: int) -> None:
    text = f"{a:02d}-{b:02d}-{year:02d}"
    stamp, error = DateReader(PARIS).read(text)
    if a == b:  # both readings are the same day
        assert error is None and stamp is not None
        return
    assert stamp is None and error is not None
    full = year + (1900 if year >= 69 else 2000)
    assert f"{full:04d}-{a:02d}-{b:02d}" in error and f"{full:04d}-{b:02d}-{a:02d}" in error


def test_iso_forms_and_offsets() -> None:
    reader = DateReader(PARIS)
    cases = {
        "2024-03-04": (datetime(2024, 3, 3, 23, tzinfo=UTC), "day"),
        "2024-03-04 10:15": (datetime(2024, 3, 4, 9, 15, tzinfo=UTC), "minute"),
        "2024-03-04T10:15:30": (datetime(2024, 3, 4, 9, 15, 30, tzinfo=UTC), "second"),
        "2024-03-04T10:15:30Z": (datetime(2024, 3, 4, 10, 15, 30, tzinfo=UTC), "second"),
        "2024-07-04 10:15:30+02:00": (datetime(2024, 7, 4, 8, 15, 30, tzinfo=UTC), "second"),
        "2024/07/04 10:15": (datetime(2024, 7, 4, 8, 15, tzinfo=UTC), "minute"),
    }
    for text, (utc, precision) in cases.items():
        stamp, error = reader.read(text)
        assert error is None and stamp is not None, text
        assert (stamp.utc, stamp.precision) == (utc, precision), text
    for bad in ("yesterday", "2024-13-01", "31/02/2024 10:00", ""):
        stamp, error = reader.read(bad)
        assert stamp is None and error, bad


def test_explicit_format_and_am_pm() -> None:
    stamp, error = DateReader(PARIS, date_format="%d.%m.%Y %Hh%M").read("04.11.2018 16h05")
    assert error is None and stamp is not None
    assert stamp.local == datetime(2018, 11, 4, 16, 5)
    stamp, error = DateReader(PARIS, date_format="%d/%m/%Y").read("2018-11-04")
    assert stamp is None and error is not None and "does not match" in error
    orders = {("/", 4): MONTH_FIRST}
    stamp, error = DateReader(PARIS, orders=orders).read("4/22/2018 6:00 PM")
    assert error is None and stamp is not None
    assert stamp.local == datetime(2018, 4, 22, 18, 0)


@given(st.integers(0, 10**12))
def test_counters(value: int) -> None:
    assert read_counter(str(value), "reach") == (value, None)
    assert read_counter(float(value), "reach") == (value, None)
    assert read_counter(f" {value} ", "reach") == (value, None)


def test_counter_and_flag_errors() -> None:
    assert read_counter("", "reach") == (None, None)  # unknown, not 0
    assert read_counter(None, "reach") == (None, None)
    assert read_counter("-1", "reach")[1] == "reach: -1 is negative (a count cannot be)"
    assert "not a number" in str(read_counter("12k", "reach")[1])
    assert "not a whole number" in str(read_counter("1.5", "reach")[1])
    assert read_counter("1 234", "reach") == (1234, None)
    assert "too large" in str(read_counter(str(2**63), "reach")[1])
    assert "not a number" in str(read_counter("²", "reach")[1])
    assert read_bool("Oui", "paid") == (True, None)
    assert read_bool("", "paid") == (None, None)
    assert "yes/no" in str(read_bool("maybe", "paid")[1])
    assert read_format("Photo", "type") == ("photo", None)
    assert read_format("Image", "type") == ("photo", None)
    assert read_format("Reels", "type") == ("reel", None)
    assert "unknown format 'podcast'" in str(read_format("podcast", "type")[1])
