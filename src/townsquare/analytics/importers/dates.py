"""Reading publication dates from files (pure functions).

Exports write dates in many ways and rarely say which: ``04-11-18`` is 11 April 2018 to an
American and 4 November 2018 to a French reader. So a date is never guessed line by line:
for each written form (separator and year length) the whole column is examined first
(:func:`infer_orders`); a form is read day-first or month-first only when some value of
that form proves it (a 13 or more in one place). When no value decides, each ambiguous line
is refused with both readings, and ``--date-format`` settles it.

Dates without an offset are local to the channel's time zone (or ``--timezone``) and are
stored in UTC; the local weekday and hour are kept as read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from townsquare.messages import Message

MONTH_FIRST = "mdy"
DAY_FIRST = "dmy"

# 4/22/2018 6:00, 22.04.2018, 04-11-18 4:53:01 PM: day and month in either order, year last.
_NUMERIC = re.compile(
    r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?$"
)
# 2018-04-22, 2018/04/22 06:00, 2018-04-22T06:00:00.123+02:00, …Z: year first, never ambiguous.
_YEAR_FIRST = re.compile(
    r"^(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*(Z|[+\-]\d{2}:?\d{2})?)?$"
)


_ISO_PRECISION = {10: "day", 16: "minute", 19: "second"}


@dataclass(frozen=True, slots=True)
class Stamp:
    """A publication instant: UTC, the local wall-clock time it was read as, and precision."""

    utc: datetime
    local: datetime  # naive, in the channel's time zone
    precision: str  # "second", "minute" or "day"


def _two_digit_year(value: int) -> int:
    # The rule of strptime's %y (POSIX): 69-99 are 1969-1999, 00-68 are 2000-2068.
    return value + (1900 if value >= 69 else 2000)


def _form(match: re.Match[str]) -> tuple[str, int]:
    return match.group(2), len(match.group(4))


def suggested_format(match: re.Match[str], order: str) -> str:
    """The --date-format that reads a value of this form in ``order``."""
    sep = match.group(2)
    year = "%Y" if len(match.group(4)) == 4 else "%y"
    first, second = ("%m", "%d") if order == MONTH_FIRST else ("%d", "%m")
    fmt = f"{first}{sep}{second}{sep}{year}"
    if match.group(5) is not None:
        hour = "%I" if match.group(8) else "%H"
        fmt += f" {hour}:%M" + (":%S" if match.group(7) is not None else "")
        if match.group(8):
            fmt += " %p"
    return fmt


@dataclass
class DateOrders:
    """For each written form of a numeric date, day-first or month-first, as the column says."""

    orders: dict[tuple[str, int], str] = field(default_factory=dict)
    # (line, message) of values no order can be chosen for.
    problems: list[tuple[int, str]] = field(default_factory=list)


Evidence = dict[tuple[str, int], dict[str, tuple[int, str]]]


def _proven_order(first: int, second: int) -> str | None:
    """The only order in which ``first`` and ``second`` make a date, if only one does."""
    month_first = 1 <= first <= 12 and 1 <= second <= 31
    day_first = 1 <= second <= 12 and 1 <= first <= 31
    if month_first == day_first:
        return None
    return MONTH_FIRST if month_first else DAY_FIRST


def infer_orders(values: Iterable[tuple[int, str]], column: str = "published_at") -> DateOrders:
    """Decide the order of each numeric date form from all the values of a column.

    A form no value decides stays without order: its ambiguous values are then refused
    one by one, with both readings, when the rows are read (:meth:`DateReader.read`).
    """
    evidence: Evidence = {}
    for line, raw in values:
        match = _NUMERIC.match(raw.strip())
        if match:
            order = _proven_order(int(match.group(1)), int(match.group(3)))
            if order:
                evidence.setdefault(_form(match), {}).setdefault(order, (line, raw))
    return decide(evidence, column)


def decide(evidence: Evidence, column: str) -> DateOrders:
    """Orders proven by a column's values; a form proven both ways is a problem."""
    result = DateOrders()
    for form, seen in evidence.items():
        if len(seen) == 1:
            result.orders[form] = next(iter(seen))
            continue
        (m_line, m_raw), (d_line, d_raw) = seen[MONTH_FIRST], seen[DAY_FIRST]
        result.problems.append(
            (
                max(m_line, d_line),
                Message(
                    "%(column)s: dates written the same way are month-first on line %(m_line)s "
                    "(%(m_raw)r) and day-first on line %(d_line)s (%(d_raw)r): fix the file or "
                    "give --date-format",
                    column=column,
                    m_line=m_line,
                    m_raw=m_raw,
                    d_line=d_line,
                    d_raw=d_raw,
                ),
            )
        )
    result.problems.sort()
    return result


def ambiguity_message(match: re.Match[str], column: str) -> str:
    first, second = int(match.group(1)), int(match.group(3))
    year = int(match.group(4))
    if year < 100:
        year = _two_digit_year(year)
    as_month_first = f"{year:04d}-{first:02d}-{second:02d}"
    as_day_first = f"{year:04d}-{second:02d}-{first:02d}"
    return Message(
        "%(column)s: date %(value)r is ambiguous: %(as_month_first)s (month first, --date-format "
        "'%(month_first)s') or %(as_day_first)s (day first, --date-format "
        "'%(day_first)s')",
        column=column,
        value=match.group(0),
        as_month_first=as_month_first,
        month_first=suggested_format(match, MONTH_FIRST),
        as_day_first=as_day_first,
        day_first=suggested_format(match, DAY_FIRST),
    )


def _precision(fmt: str) -> str:
    if "%S" in fmt or "%f" in fmt or "%s" in fmt:
        return "second"
    if "%M" in fmt:
        return "minute"
    if "%H" in fmt or "%I" in fmt:
        return "hour"
    return "day"


class DateReader:
    """Reads one date cell into a :class:`Stamp`, or says why it cannot."""

    def __init__(
        self,
        zone: ZoneInfo,
        *,
        date_format: str | None = None,
        orders: dict[tuple[str, int], str] | None = None,
        column: str = "published_at",
        learn: bool = False,
    ) -> None:
        self.zone = zone
        self.date_format = date_format
        self.orders = orders or {}
        self.column = column
        # Learning (one pass instead of two): each form's order is taken from the values
        # that prove it as they come; forms whose ambiguous values came before any proof
        # are noted in ``refused`` so that the caller reads the file again (see service).
        self.learn = learn
        self.evidence: Evidence = {}
        self.refused: set[tuple[str, int]] = set()
        self._format_precision = _precision(date_format) if date_format else "second"

    def _stamp(self, local: datetime, precision: str, offset: timezone | None = None) -> Stamp:
        if offset is not None:
            utc = local.replace(tzinfo=offset).astimezone(UTC)
            local = utc.astimezone(self.zone).replace(tzinfo=None)
            return Stamp(utc, local, precision)
        return Stamp(local.replace(tzinfo=self.zone).astimezone(UTC), local, precision)

    def learned(self) -> DateOrders:
        """What the values read so far prove (orders, and conflicts as problems)."""
        return decide(self.evidence, self.column)

    def must_read_again(self) -> bool:
        """Whether values refused as ambiguous were later decided by other values."""
        return any(len(self.evidence.get(form, {})) == 1 for form in self.refused)

    def read(self, raw: object, line: int = 0) -> tuple[Stamp | None, str | None]:
        """(stamp, None) or (None, problem): a date past what UTC can hold (9999-12-31
        23:59 in a zone behind UTC is in year 10000 there) is a problem, not a crash."""
        try:
            return self._read(raw, line)
        except OverflowError:
            return None, (
                f"{self.column}: {str(raw).strip()!r} is out of range: dates must fall before "
                "year 10000 once converted to UTC"
            )

    def _read(self, raw: object, line: int = 0) -> tuple[Stamp | None, str | None]:
        # Fast path for the commonest export form, 2018-04-22[ 06:00[:00]] (a million-row
        # import spends its time here).
        if (
            raw.__class__ is str
            and len(raw) in _ISO_PRECISION
            and raw[4:5] == "-"
            and not self.date_format
        ):
            try:
                local = datetime.fromisoformat(raw)
            except ValueError:
                local = None
            if local is not None and local.tzinfo is None:
                utc = local.replace(tzinfo=self.zone).astimezone(UTC)
                return Stamp(utc, local, _ISO_PRECISION[len(raw)]), None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, Message("%(column)s: the date is empty", column=self.column)
        if isinstance(raw, datetime):  # a spreadsheet cell that is already a date
            if raw.tzinfo is not None:
                aware = raw.astimezone(UTC)
                return self._stamp(aware.replace(tzinfo=None), "second", UTC), None
            is_midnight = raw.hour == raw.minute == raw.second == 0
            return self._stamp(raw, "day" if is_midnight else "second"), None
        text = str(raw).strip()
        if self.date_format:
            return self._read_with_format(text)
        match = _YEAR_FIRST.match(text)
        if match:
            return self._read_year_first(match, text)
        match = _NUMERIC.match(text)
        if match:
            return self._read_numeric(match, text, line)
        return None, (
            Message(
                "%(column)s: cannot read %(text)r as a date: use ISO 8601 (2018-04-22 06:00) or "
                "give --date-format, e.g. '%%d/%%m/%%Y %%H:%%M'",
                column=self.column,
                text=text,
            )
        )

    def _read_with_format(self, text: str) -> tuple[Stamp | None, str | None]:
        assert self.date_format is not None
        try:
            parsed = datetime.strptime(text, self.date_format)
        except ValueError:
            return (
                None,
                Message(
                    "%(column)s: %(text)r does not match --date-format %(date_format)r",
                    column=self.column,
                    text=text,
                    date_format=self.date_format,
                ),
            )
        if parsed.tzinfo is not None:
            offset = parsed.utcoffset() or timedelta(0)
            return self._stamp(
                parsed.replace(tzinfo=None), self._format_precision, timezone(offset)
            ), None
        return self._stamp(parsed, self._format_precision), None

    def _read_year_first(self, match: re.Match[str], text: str) -> tuple[Stamp | None, str | None]:
        year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
        hour = int(match.group(5) or 0)
        minute = int(match.group(6) or 0)
        second = int(match.group(7) or 0)
        micro = int((match.group(8) or "0").ljust(6, "0"))
        precision = "day" if match.group(5) is None else "minute"
        if match.group(7) is not None:
            precision = "second"
        offset = None
        if match.group(9):
            offset = _offset(match.group(9))
        try:
            local = datetime(year, month, day, hour, minute, second, micro)
        except ValueError as error:
            return None, Message(
                "%(column)s: %(text)r is not a valid date (%(error)s)",
                column=self.column,
                text=text,
                error=error,
            )
        return self._stamp(local, precision, offset), None

    def _read_numeric(
        self, match: re.Match[str], text: str, line: int = 0
    ) -> tuple[Stamp | None, str | None]:
        form = _form(match)
        order = self.orders.get(form)
        first, second = int(match.group(1)), int(match.group(3))
        if order is None and self.learn:
            proven = _proven_order(first, second)
            if proven:
                self.evidence.setdefault(form, {}).setdefault(proven, (line, text))
            seen = self.evidence.get(form, {})
            if len(seen) == 1:
                order = next(iter(seen))
        if order is None:
            if first > 12:
                order = DAY_FIRST
            elif second > 12 or first == second:
                order = MONTH_FIRST
            else:
                self.refused.add(form)
                return None, ambiguity_message(match, self.column)
        month, day = (first, second) if order == MONTH_FIRST else (second, first)
        year = int(match.group(4))
        if year < 100:
            year = _two_digit_year(year)
        hour = int(match.group(5) or 0)
        minute = int(match.group(6) or 0)
        sec = int(match.group(7) or 0)
        meridiem = match.group(8)
        if meridiem:
            if not 1 <= hour <= 12:
                return None, Message(
                    "%(column)s: %(text)r has hour %(hour)s with AM/PM",
                    column=self.column,
                    text=text,
                    hour=hour,
                )
            hour = hour % 12 + (12 if meridiem in "Pp" else 0)
        precision = "day" if match.group(5) is None else "minute"
        if match.group(7) is not None:
            precision = "second"
        try:
            local = datetime(year, month, day, hour, minute, sec)
        except ValueError as error:
            return None, Message(
                "%(column)s: %(text)r is not a valid date (%(error)s)",
                column=self.column,
                text=text,
                error=error,
            )
        return self._stamp(local, precision), None


def _offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
