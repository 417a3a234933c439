"""Presets: converters for known exports, read exactly as they are, quirks included.

``uci-facebook-metrics``: the UCI "Facebook metrics" file (Moro, Rita & Vala 2016),
dataset_Facebook.csv. ``;``-separated, CRLF, 19 columns, no date: only month, weekday and
hour of 2014 (the year is from its readme). *Post Weekday* counts 1 = Sunday … 7 = Saturday:
the first post of January and the last of December both carry 4, and 1 January and
31 December 2014 were Wednesdays. We store the ISO weekday (1 = Monday) and the hour as
read, ``published_precision = "month_weekday_hour"``, and as ``published_at`` the first day
of that month with that weekday at that hour (a representative instant: the day of month
is unknown). Empty cells are unknown (NULL), not zero. *Page total likes* is the page's
audience when the post went out: it becomes ``followers_at_publish`` and a channel snapshot.
The file has no post id: the external id is a digest of the seven pre-publication columns
and the occurrence number of that combination in the file, so re-importing the same file
finds the same posts.

``facebook-live-sellers``: Live.csv (Dehouche 2020). UTF-8 with BOM, four trailing empty
columns, exact duplicate rows (skipped), ``status_published`` in two forms, both month
first: ``4/22/2018 6:00`` and ``04-11-18 4:53`` (the file is in date order: ``04-11-18``
comes right after 17 April 2018). Times are local to the channel's time zone.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from townsquare.analytics.importers.convert import Context, cell, date_reader
from townsquare.analytics.importers.dates import MONTH_FIRST
from townsquare.analytics.importers.fields import (
    read_bool,
    read_counter,
    read_format,
    read_text,
    text_problem,
)
from townsquare.analytics.importers.records import PostRecord, Problems
from townsquare.analytics.models import METRIC_COLUMNS
from townsquare.messages import Message

_METRIC_INDEX = {name: index for index, name in enumerate(METRIC_COLUMNS)}


def _metrics(values: dict[str, int | None]) -> tuple[int | None, ...]:
    row: list[int | None] = [None] * len(METRIC_COLUMNS)
    for name, value in values.items():
        row[_METRIC_INDEX[name]] = value
    return tuple(row)


def _header_problems(header: list[str], expected: tuple[str, ...], preset: str) -> list[str]:
    problems: list[str] = []
    present = set(header)
    missing = [name for name in expected if name not in present]
    unknown = [name for name in header if name and name not in expected]
    if missing:
        problems.append(
            Message(
                "column(s) missing for preset %(preset)s: %(choices)s; is this the right file? "
                "For other files use --preset generic with --map",
                preset=preset,
                choices=", ".join(map(repr, missing)),
            )
        )
    if unknown:
        problems.append(
            Message(
                "unknown column(s) for preset %(preset)s: %(choices)s; use --preset generic with "
                "--map to import other columns",
                preset=preset,
                choices=", ".join(map(repr, unknown)),
            )
        )
    return problems


# --- UCI Facebook metrics ----------------------------------------------------------------

UCI_YEAR = 2014
UCI_COLUMNS = (
    "Page total likes",
    "Type",
    "Category",
    "Post Month",
    "Post Weekday",
    "Post Hour",
    "Paid",
    "Lifetime Post Total Reach",
    "Lifetime Post Total Impressions",
    "Lifetime Engaged Users",
    "Lifetime Post Consumers",
    "Lifetime Post Consumptions",
    "Lifetime Post Impressions by people who have liked your Page",
    "Lifetime Post reach by people who like your Page",
    "Lifetime People who have liked your Page and engaged with your post",
    "comment",
    "like",
    "share",
    "Total Interactions",
)
UCI_METRICS = {
    "Lifetime Post Total Reach": "reach",
    "Lifetime Post Total Impressions": "impressions",
    "Lifetime Engaged Users": "engaged_users",
    "Lifetime Post Consumers": "consumers",
    "Lifetime Post Consumptions": "consumptions",
    "comment": "comments",
    "like": "reactions",  # 2014: reactions did not exist yet, a like was the only one
    "share": "shares",
}
UCI_EXTRA = {
    "Lifetime Post Impressions by people who have liked your Page": "impressions_by_fans",
    "Lifetime Post reach by people who like your Page": "reach_by_fans",
    "Lifetime People who have liked your Page and engaged with your post": "engaged_fans",
    "Total Interactions": "total_interactions",
}


def uci_iso_weekday(post_weekday: int) -> int:
    """The file's Post Weekday (1 = Sunday … 7 = Saturday) as ISO (1 = Monday … 7 = Sunday)."""
    return (post_weekday - 2) % 7 + 1


def first_weekday_of_month(year: int, month: int, iso_weekday: int) -> date:
    first = date(year, month, 1)
    return date(year, month, 1 + (iso_weekday - first.isoweekday()) % 7)


class UciFacebookMetrics:
    name = "uci-facebook-metrics"
    # Lifetime counters, read when the data set was made (after the year): a fixed instant
    # so that a re-import lands on the same snapshot.
    taken_at: datetime | None = datetime(UCI_YEAR + 1, 1, 1, tzinfo=UTC)

    def __init__(self, header: list[str], context: Context) -> None:
        self.header = header
        self.context = context
        self.index = {name: i for i, name in enumerate(header)}
        self.occurrences: Counter[str] = Counter()

    def header_problems(self) -> list[str]:
        return _header_problems(self.header, UCI_COLUMNS, self.name)

    def date_column(self) -> int | None:
        return None

    def _int(self, cells: list[Any], column: str, low: int, high: int, errors: list[str]) -> int:
        value, error = read_counter(cell(cells, self.index[column]), column)
        if error or value is None or not low <= value <= high:
            errors.append(
                error
                or Message(
                    "%(column)s: expected a number from %(low)s to %(high)s",
                    column=column,
                    low=low,
                    high=high,
                )
            )
            return low
        return value

    def convert(self, line: int, cells: list[Any], problems: Problems) -> PostRecord | None:
        errors: list[str] = []
        month = self._int(cells, "Post Month", 1, 12, errors)
        weekday = self._int(cells, "Post Weekday", 1, 7, errors)
        hour = self._int(cells, "Post Hour", 0, 23, errors)
        fmt, error = read_format(cell(cells, self.index["Type"]), "Type")
        if error:
            errors.append(error)
        paid, error = read_bool(cell(cells, self.index["Paid"]), "Paid")
        if error:
            errors.append(error)
        likes, error = read_counter(cell(cells, self.index["Page total likes"]), "Page total likes")
        if error:
            errors.append(error)
        counters: dict[str, int | None] = {}
        for column, metric in UCI_METRICS.items():
            counters[metric], error = read_counter(cell(cells, self.index[column]), column)
            if error:
                errors.append(error)
        extra: dict[str, int] = {}
        for column, key in UCI_EXTRA.items():
            value, error = read_counter(cell(cells, self.index[column]), column)
            if error:
                errors.append(error)
            elif value is not None:
                extra[key] = value
        for message in errors:
            problems.add(line, message)
        if errors or fmt is None:
            return None
        iso_weekday = uci_iso_weekday(weekday)
        day = first_weekday_of_month(UCI_YEAR, month, iso_weekday)
        local = datetime(day.year, day.month, day.day, hour)
        key_cells = [str(cell(cells, self.index[c]) or "") for c in UCI_COLUMNS[:7]]
        digest = hashlib.sha1("\x1f".join(key_cells).encode(), usedforsecurity=False)
        key = digest.hexdigest()[:16]
        self.occurrences[key] += 1
        return PostRecord(
            line=line,
            external_id=f"uci-{key}-{self.occurrences[key]}",
            format=fmt,
            published_at=local.replace(tzinfo=self.context.zone).astimezone(UTC),
            published_precision="month_weekday_hour",
            local_weekday=iso_weekday,
            local_hour=hour,
            is_paid=paid,
            category=read_text(cell(cells, self.index["Category"])),
            followers_at_publish=likes,
            local_date=day,
            metrics=_metrics(counters),
            extra=extra or None,
        )


# --- Facebook Live sellers (Thailand) ----------------------------------------------------

LIVE_COLUMNS = (
    "status_id",
    "status_type",
    "status_published",
    "num_reactions",
    "num_comments",
    "num_shares",
    "num_likes",
    "num_loves",
    "num_wows",
    "num_hahas",
    "num_sads",
    "num_angrys",
    "Column1",
    "Column2",
    "Column3",
    "Column4",
)
LIVE_METRICS = {"num_reactions": "reactions", "num_comments": "comments", "num_shares": "shares"}
LIVE_EXTRA = {
    "num_likes": "likes",
    "num_loves": "loves",
    "num_wows": "wows",
    "num_hahas": "hahas",
    "num_sads": "sads",
    "num_angrys": "angrys",
}
# Both forms in the file are month first (see the module docstring).
LIVE_DATE_ORDERS = {("/", 4): MONTH_FIRST, ("-", 2): MONTH_FIRST}


class FacebookLiveSellers:
    name = "facebook-live-sellers"
    # The data set was collected after its last post (22 April 2018).
    taken_at: datetime | None = datetime(2018, 4, 23, tzinfo=UTC)

    def __init__(self, header: list[str], context: Context) -> None:
        self.header = header
        self.index = {name: i for i, name in enumerate(header)}
        self.dates = date_reader(context, "status_published", LIVE_DATE_ORDERS)
        self.counters = [(self.index.get(c, 10**6), c, m) for c, m in LIVE_METRICS.items()]
        self.extras = [(self.index.get(c, 10**6), c, k) for c, k in LIVE_EXTRA.items()]

    def header_problems(self) -> list[str]:
        return _header_problems(self.header, LIVE_COLUMNS, self.name)

    def date_column(self) -> int | None:
        return None

    def convert(self, line: int, cells: list[Any], problems: Problems) -> PostRecord | None:
        errors: list[str] = []
        external_id = read_text(cell(cells, self.index["status_id"]))
        if external_id is None:
            errors.append("status_id: empty (every post needs its id)")
        elif error := text_problem(external_id, "status_id", "external_id"):
            errors.append(error)
        fmt, error = read_format(cell(cells, self.index["status_type"]), "status_type")
        if error:
            errors.append(error)
        stamp, error = self.dates.read(cell(cells, self.index["status_published"]))
        if error:
            errors.append(error)
        counters: dict[str, int | None] = {}
        for index, column, metric in self.counters:
            counters[metric], error = read_counter(cell(cells, index), column)
            if error:
                errors.append(error)
        extra: dict[str, int] = {}
        for index, column, key in self.extras:
            value, error = read_counter(cell(cells, index), column)
            if error:
                errors.append(error)
            elif value is not None:
                extra[key] = value
        if errors or external_id is None or fmt is None or stamp is None:
            for message in errors:
                problems.add(line, message)
            return None
        return PostRecord(
            line=line,
            external_id=external_id,
            format=fmt,
            published_at=stamp.utc,
            published_precision=stamp.precision,
            local_weekday=stamp.local.isoweekday(),
            local_hour=stamp.local.hour,
            local_date=stamp.local.date(),
            metrics=_metrics(counters),
            extra=extra or None,
        )


@dataclass(frozen=True)
class PresetInfo:
    name: str
    label: str
    description: str


PRESETS: dict[str, Any] = {
    UciFacebookMetrics.name: UciFacebookMetrics,
    FacebookLiveSellers.name: FacebookLiveSellers,
}
PRESET_INFO = (
    PresetInfo(
        "generic", "Any CSV or Excel file", "Map each column to a field; saved as a profile."
    ),
    PresetInfo(
        UciFacebookMetrics.name,
        "UCI Facebook metrics (dataset_Facebook.csv)",
        "Posts of a cosmetics brand's page in 2014: month, weekday and hour, lifetime metrics.",
    ),
    PresetInfo(
        FacebookLiveSellers.name,
        "Facebook Live sellers (Live.csv)",
        "Posts of Thai sellers' pages 2012-2018: reactions, comments, shares.",
    ),
)
