"""The generic importer: any CSV or XLSX whose columns are mapped to fields.

A column maps to a field by ``--map COLUMN=FIELD`` (or a saved profile), or by its name
alone when that is a field name or an obvious alias (``reach``, ``date``…). Every other
column must be mapped or ignored explicitly (``--map COLUMN=ignore``): a column nobody
looked at is how a "clicks" column ends up silently dropped. Columns with no name and no
values (trailing separators) are ignored.

``external_id`` is optional: without it a post is known by a digest of its date, format,
text and links, so that re-importing the same file finds the same posts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from townsquare.analytics.importers.convert import Context, date_reader
from townsquare.analytics.importers.fields import (
    IGNORE,
    auto_field,
    check_field,
    read_bool,
    read_counter,
    read_format,
    read_tags,
    read_text,
    text_problem,
)
from townsquare.analytics.importers.records import PostRecord, Problems
from townsquare.analytics.models import METRIC_COLUMNS
from townsquare.messages import Message

REQUIRED = ("published_at", "format")


def resolve_mapping(
    header: list[str], explicit: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The field of every column (column → field) and the problems found in doing so."""
    problems: list[str] = []
    mapping: dict[str, str] = {}
    twice = sorted(name for name, n in Counter(c for c in header if c).items() if n > 1)
    if twice:
        problems.append(
            Message(
                "column(s) %(choices)s appear more than once in the header: rename them so that "
                "each column can be mapped",
                choices=", ".join(map(repr, twice)),
            )
        )
    for column, target in explicit.items():
        if column not in header:
            problems.append(
                Message(
                    "--map %(column)s=%(target)s: the file has no column '%(column)s' "
                    "(its columns: %(choices)s)",
                    column=column,
                    target=target,
                    choices=", ".join(map(repr, header)),
                )
            )
            continue
        error = check_field(target)
        if error:
            problems.append(
                Message(
                    "--map %(column)s=%(target)s: %(error)s",
                    column=column,
                    target=target,
                    error=error,
                )
            )
            continue
        mapping[column] = target
    unmapped = []
    for column in header:
        if column in mapping or not column:
            continue
        field = auto_field(column)
        if field is None:
            unmapped.append(column)
        else:
            mapping[column] = field
    if unmapped:
        problems.append(
            Message(
                "unknown column(s) %(choices)s: say which field each one holds (--map "
                "'COLUMN=FIELD') or skip it (--map 'COLUMN=%(ignore)s')",
                choices=", ".join(map(repr, unmapped)),
                ignore=IGNORE,
            )
        )
    used = Counter(field for field in mapping.values() if field != IGNORE)
    for field, count in used.items():
        if count > 1:
            columns = [c for c, f in mapping.items() if f == field]
            problems.append(
                Message(
                    "field %(field)r is mapped from several columns (%(choices)s): keep one and "
                    "map the others to ignore",
                    field=field,
                    choices=", ".join(map(repr, columns)),
                )
            )
    for field in REQUIRED:
        if field not in used and not problems:
            problems.append(
                Message(
                    "no column is mapped to '%(field)s': add --map 'COLUMN=%(field)s'", field=field
                )
            )
    return mapping, problems


class GenericConverter:
    name = "generic"
    taken_at: datetime | None = None  # the import's time unless a column says

    def __init__(self, header: list[str], context: Context) -> None:
        self.header = header
        self.context = context
        self.mapping, self._problems = resolve_mapping(header, context.mapping)
        self.columns: dict[str, tuple[int, str]] = {}
        for index, column in enumerate(header):
            field = self.mapping.get(column)
            if field and field != IGNORE:
                self.columns[field] = (index, column)
        self.metrics = [
            (position, *self.columns[name])
            for position, name in enumerate(METRIC_COLUMNS)
            if name in self.columns
        ]
        self.dates = date_reader(context, self._name("published_at"), context.date_orders)
        # Without a format or known orders, learn them in the one pass (dates.py).
        self.dates.learn = not context.date_format and not context.date_orders
        self.taken_dates = date_reader(context, self._name("taken_at"), context.date_orders)
        self.index = {name: position for name, (position, _) in self.columns.items()}
        self._formats: dict[str, str] = {}
        self.occurrences: Counter[str] = Counter()

    def _name(self, field: str) -> str:
        return self.columns[field][1] if field in self.columns else field

    def header_problems(self) -> list[str]:
        return list(self._problems)

    def date_column(self) -> int | None:
        if self.context.date_format or "published_at" not in self.columns:
            return None
        return self.columns["published_at"][0]

    def convert(self, line: int, cells: list[Any], problems: Problems) -> PostRecord | None:
        # Written for speed (a million rows go through here): cells are read by index and
        # the common cases (a known format, a plain number) avoid function calls.
        width = len(cells)
        ix = self.index
        errors: list[str] = []

        def at(field: str) -> Any:
            index = ix.get(field)
            return cells[index] if index is not None and index < width else None

        raw_format = at("format")
        fmt = self._formats.get(raw_format) if raw_format.__class__ is str else None
        if fmt is None:
            fmt, error = read_format(raw_format, self._name("format"))
            if error:
                errors.append(error)
            elif fmt is not None and raw_format.__class__ is str:
                self._formats[raw_format] = fmt
        stamp, error = self.dates.read(at("published_at"), line)
        if error:
            errors.append(error)
        paid = followers = taken_at = None
        if "is_paid" in ix:
            paid, error = read_bool(at("is_paid"), self._name("is_paid"))
            if error:
                errors.append(error)
        if "followers" in ix:
            followers, error = read_counter(at("followers"), self._name("followers"))
            if error:
                errors.append(error)
        if "taken_at" in ix and read_text(at("taken_at")):
            taken, error = self.taken_dates.read(at("taken_at"))
            if error:
                errors.append(error)
            elif taken is not None:
                taken_at = taken.utc
        metrics: list[int | None] = [None] * len(METRIC_COLUMNS)
        for position, index, column in self.metrics:
            raw = cells[index] if index < width else None
            if raw.__class__ is str and raw.isdecimal() and len(raw) < 19:
                metrics[position] = int(raw)
                continue
            metrics[position], error = read_counter(raw, column)
            if error:
                errors.append(error)
        if errors or fmt is None or stamp is None:
            for message in errors:
                problems.add(line, message)
            return None
        text = read_text(at("text")) if "text" in ix else None
        permalink = read_text(at("permalink")) if "permalink" in ix else None
        link_url = read_text(at("link_url")) if "link_url" in ix else None
        external_id = read_text(at("external_id")) if "external_id" in ix else None
        category = read_text(at("category")) if "category" in ix else None
        for value, field in (
            (text, "text"),
            (permalink, "permalink"),
            (link_url, "link_url"),
            (external_id, "external_id"),
            (category, "category"),
        ):
            if value is not None and (error := text_problem(value, self._name(field), field)):
                errors.append(error)
        if errors:
            for message in errors:
                problems.add(line, message)
            return None
        if external_id is None:
            parts = [stamp.utc.isoformat(), fmt, text or "", permalink or "", link_url or ""]
            digest = hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False)
            key = digest.hexdigest()[:20]
            self.occurrences[key] += 1
            external_id = f"{key}-{self.occurrences[key]}"
        local = stamp.local
        return PostRecord(
            line=line,
            external_id=external_id,
            format=fmt,
            published_at=stamp.utc,
            published_precision=stamp.precision,
            local_weekday=local.isoweekday(),
            local_hour=local.hour,
            local_date=local.date(),
            permalink=permalink,
            text=text,
            link_url=link_url,
            is_paid=paid,
            category=category,
            tags=read_tags(at("tags")) if "tags" in ix else [],
            followers_at_publish=followers,
            metrics=tuple(metrics),
            taken_at=taken_at,
        )
