"""Use cases of imports: run one (CLI, web wizard and API share it), preview, profiles.

One import is one transaction: rows are checked and written in batches as the file
streams by, and any problem (or ``dry_run``) rolls everything back at the end, so a
file is imported whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.analytics.importers.convert import Context, Converter, cell
from townsquare.analytics.importers.dates import DateOrders, infer_orders
from townsquare.analytics.importers.generic import GenericConverter
from townsquare.analytics.importers.pipeline import BackgroundWriter
from townsquare.analytics.importers.presets import PRESETS
from townsquare.analytics.importers.records import ImportReport, PostRecord, Problems
from townsquare.analytics.importers.source import Table, open_table, text_encoding
from townsquare.analytics.importers.writer import PostWriter, existing_posts
from townsquare.channels.models import Channel
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, ValidationError
from townsquare.messages import Message
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

BATCH = 5000
PRESET_NAMES = ("generic", *PRESETS)

Progress = Callable[[int, int], None]  # (done, total) in the table's unit


@dataclass
class ImportOptions:
    preset: str = "generic"
    mapping: dict[str, str] = field(default_factory=dict)  # column -> field
    date_format: str | None = None
    timezone: str | None = None  # default: the channel's
    separator: str | None = None
    encoding: str | None = None  # default: detected
    dry_run: bool = False


def parse_map_options(values: list[str]) -> dict[str, str]:
    """``COLUMN=FIELD`` strings (the CLI's and API's --map) as a mapping."""
    mapping: dict[str, str] = {}
    for value in values:
        column, sep, target = value.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValidationError(
                "--map %(value)r: write COLUMN=FIELD, e.g. --map 'Post date=published_at'",
                params={"value": value},
                field="map",
            )
        mapping[column.strip()] = target.strip()
    return mapping


def check_options(options: ImportOptions) -> None:
    if options.preset not in PRESET_NAMES:
        raise ValidationError(
            "unknown preset %(preset)r: use one of %(choices)s",
            params={"preset": options.preset, "choices": ", ".join(PRESET_NAMES)},
            field="preset",
        )
    if options.mapping and options.preset != "generic":
        raise ValidationError(
            "--map applies to the generic importer, not to preset %(preset)r",
            params={"preset": options.preset},
            field="map",
        )
    if options.timezone:
        validation.timezone(options.timezone)
    if options.separator is not None and len(options.separator) != 1:
        raise ValidationError("the separator must be one character, e.g. ';'", field="separator")
    if options.encoding:
        text_encoding(options.encoding)


def make_converter(
    options: ImportOptions,
    table: Table,
    zone: ZoneInfo,
    date_orders: dict[tuple[str, int], str] | None = None,
) -> Converter:
    context = Context(
        zone=zone,
        date_format=options.date_format,
        mapping=options.mapping,
        date_orders=date_orders or {},
    )
    if options.preset == "generic":
        return GenericConverter(table.header, context)
    converter: Converter = PRESETS[options.preset](table.header, context)
    return converter


def _infer_dates(table: Table, converter: Converter, problems: Problems) -> None:
    """First pass over the date column of a generic file (see dates.py)."""
    index = converter.date_column()
    if index is None or not isinstance(converter, GenericConverter):
        return
    values = (
        (line, value)
        for line, cells in table.rows()
        if isinstance(value := cell(cells, index), str) and value.strip()
    )
    column = table.header[index]
    inferred = infer_orders(values, column)
    converter.dates.orders = inferred.orders
    converter.taken_dates.orders = inferred.orders
    for line, message in inferred.problems:
        problems.add(line, message)


def run_import(
    session: Session,
    access: WorkspaceAccess,
    channel: Channel,
    path: Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``path`` into ``channel``; the report says what was (or would be) done.

    Counting: every row read is either a duplicate (identical to an earlier row: skipped),
    a problem, a new post (``imported``) or a post already known, from the database or from
    an earlier row with the same id (``updated``; the later row wins).
    """
    access.require(Role.EDITOR, "import posts")
    if channel.workspace_id != access.workspace_id:
        raise NotFound("no such channel in this workspace", field="channel")
    check_options(options)
    zone = ZoneInfo(options.timezone or channel.timezone or "UTC")
    table = open_table(path, separator=options.separator, encoding=options.encoding)
    default_taken_at = utcnow().replace(microsecond=0)
    learned: DateOrders | None = None
    while True:
        converter = make_converter(options, table, zone, learned.orders if learned else None)
        report = ImportReport(dry_run=options.dry_run, encoding=table.encoding)
        problems = report.problems
        for message in converter.header_problems():
            problems.add(1, message)
        if problems:
            return report
        for line, message in learned.problems if learned else ():
            problems.add(line, message)
        writer = _read_and_write(
            session, access, channel, table, converter, report, default_taken_at, progress
        )
        dates = converter.dates if isinstance(converter, GenericConverter) else None
        if learned is None and dates is not None and dates.learn:
            if dates.must_read_again():
                # Dates refused as ambiguous were decided by later rows: read the file
                # again knowing the orders (only such files are read twice).
                session.rollback()
                learned = dates.learned()
                continue
            for line, message in dates.learned().problems:
                problems.add(line, message)
        break
    if problems or options.dry_run:
        session.rollback()
        if problems:
            # Nothing was written (nor would be): a failed import imported nothing.
            report.imported = report.updated = report.duplicates_skipped = 0
        return report
    report.channel_snapshots_written = writer.write_channel_snapshots(report.followers)
    report.snapshots_written = writer.snapshots_written
    writer.close()
    session.commit()
    return report


def _read_and_write(
    session: Session,
    access: WorkspaceAccess,
    channel: Channel,
    table: Table,
    converter: Converter,
    report: ImportReport,
    default_taken_at: datetime,
    progress: Progress | None,
) -> PostWriter:
    """One pass over the file, writing batches in a thread unless there are problems."""
    known = existing_posts(session, channel.id)
    in_db = set(known)
    writer = PostWriter(
        session,
        workspace_id=access.workspace_id,
        channel_id=channel.id,
        default_taken_at=converter.taken_at or default_taken_at,
        known=known,
    )
    background = None if report.dry_run else BackgroundWriter(writer)
    try:
        _read_rows(table, converter, report, in_db, background, progress)
    finally:
        # Always wait for the thread: the session is not to be shared beyond this point.
        if background is not None:
            try:
                background.close()
            except BaseException:
                session.rollback()
                raise
    return writer


def _rows_until_unreadable(table: Table, problems: Problems) -> Iterator[tuple[int, list[Any]]]:
    """The table's rows; a row the CSV reader cannot read (an unterminated quote) ends the
    pass as a problem on its line, like any other problem of the file."""
    try:
        yield from table.rows()
    except ValidationError as error:
        if not error.problems:
            raise
        for item in error.problems:
            line = item.get("line")
            problems.add(
                int(line) if isinstance(line, int) else 1, error.message.split(": ", 1)[-1]
            )


def _read_rows(
    table: Table,
    converter: Converter,
    report: ImportReport,
    in_db: set[str],
    background: BackgroundWriter | None,
    progress: Progress | None,
) -> None:
    """The one pass over the rows: count, convert, hand batches to the writer."""
    problems = report.problems
    seen_rows: set[int] = set()
    seen_ids: set[str] = set()
    followers = report.followers
    batch: list[PostRecord] = []
    for count, (line, cells) in enumerate(_rows_until_unreadable(table, problems), start=1):
        report.rows_read += 1
        fingerprint = hash(tuple(cells))
        if fingerprint in seen_rows:
            report.duplicates_skipped += 1
            continue
        seen_rows.add(fingerprint)
        record = converter.convert(line, cells, problems)
        if progress and count % 2000 == 0:
            progress(table.position(), table.size)
        if record is None:
            continue
        if record.external_id in seen_ids:
            report.updated += 1
            # The earlier row must be stored before this one replaces it.
            if background is not None and not problems:
                background.put(batch)
                batch = []
        elif record.external_id in in_db:
            report.updated += 1
        else:
            report.imported += 1
        seen_ids.add(record.external_id)
        if record.followers_at_publish is not None and record.local_date is not None:
            day = record.local_date
            followers[day] = max(followers.get(day, 0), record.followers_at_publish)
        if problems or background is None:
            continue  # keep reading to report every problem, but write nothing more
        batch.append(record)
        if len(batch) >= BATCH:
            background.put(batch)
            batch = []
    if progress:
        progress(table.size, table.size)
    if background is not None and not problems:
        background.put(batch)


def raise_for_problems(report: ImportReport) -> None:
    """The ValidationError (HTTP 422, exit 2) of a report with problems; nothing was written."""
    if report.ok:
        return
    first = report.problems.items[0]
    where = Message("line %(line)s: ", line=first["line"]) if first["line"] else ""
    more = report.problems.count - 1
    raise ValidationError(
        "nothing was imported: %(count)s problem(s) in the file, first %(where)s%(first)s%(more)s",
        params={
            "count": report.problems.count,
            "where": where,
            "first": first["message"],
            "more": Message(" (and %(more)s more, listed above)", more=more) if more else "",
        },
        field="file",
        problems=report.problems.as_list(),
    )


# --- preview (the wizard's second step) --------------------------------------------------


@dataclass
class Preview:
    header: list[str]
    mapping: dict[str, str]  # column -> field (generic: resolved; presets: empty)
    rows: list[dict[str, Any]]  # the first rows as they will be read
    problems: list[dict[str, Any]]
    encoding: str | None
    separator: str | None
    kind: str


def preview(
    path: Path, options: ImportOptions, *, timezone: str = "UTC", limit: int = 10
) -> Preview:
    """The first ``limit`` rows of a file as they will be read, and the problems seen."""
    check_options(options)
    zone = ZoneInfo(options.timezone or timezone)
    table = open_table(path, separator=options.separator, encoding=options.encoding)
    converter = make_converter(options, table, zone)
    problems = Problems()
    for message in converter.header_problems():
        problems.add(1, message)
    if not problems:
        _infer_dates(table, converter, problems)
    rows: list[dict[str, Any]] = []
    readable = not converter.header_problems()
    for line, cells in table.rows():
        # Until the columns are mapped the rows are shown raw, to help map them.
        record = converter.convert(line, cells, problems) if readable else None
        rows.append(_preview_row(line, cells, record))
        if len(rows) >= limit:
            break
    mapping = converter.mapping if isinstance(converter, GenericConverter) else {}
    return Preview(
        header=table.header,
        mapping=mapping,
        rows=rows,
        problems=problems.as_list(),
        encoding=table.encoding,
        separator=table.separator,
        kind=table.kind,
    )


def _preview_row(line: int, cells: list[Any], record: PostRecord | None) -> dict[str, Any]:
    from townsquare.analytics.models import METRIC_COLUMNS

    if record is None:
        return {"line": line, "cells": cells, "record": None}
    return {
        "line": line,
        "cells": cells,
        "record": {
            "external_id": record.external_id,
            "published_at": record.published_at,
            "published_precision": record.published_precision,
            "local_weekday": record.local_weekday,
            "local_hour": record.local_hour,
            "format": record.format,
            "is_paid": record.is_paid,
            "followers_at_publish": record.followers_at_publish,
            "metrics": dict(zip(METRIC_COLUMNS, record.metrics, strict=True)),
        },
    }
