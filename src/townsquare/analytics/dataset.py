"""Loading a channel's posts with their lifetime metrics into numpy columns, fast.

This is the hot path of ``measure kpis`` and ``measure best-times`` (a million posts in
well under a second on SQLite), so it avoids everything that costs per row in Python:

- one SQL Core query, posts joined to ``post_latest_metrics`` (one row per post, never the
  snapshot history), only the columns the analysis needs;
- ``published_at`` comes back as epoch seconds computed by the database, and booleans as
  integers, so no result processor runs per row; the rows are read through the DBAPI cursor;
- columns are built with ``np.array(..., dtype=float)`` (``None`` becomes NaN: unknown stays
  unknown) and time-zone work is done once, vectorised, by polars.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Integer, Select, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from townsquare.analytics.kpis import DAY_PRECISIONS
from townsquare.analytics.models import (
    METRIC_COLUMNS,
    ChannelSnapshot,
    Post,
    PostLatestMetrics,
)

if TYPE_CHECKING:
    # Polars takes ~0.2 s to import; the CLI imports this module for every command, so the
    # functions that read a frame import it themselves.
    import polars as pl

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Inputs that live on the posts table rather than on the metrics.
POST_INPUTS = ("followers_at_publish",)


@dataclass
class PostFrame:
    """A channel's posts as columns. Unknown numbers are NaN; unknown codes are −1."""

    n: int
    metrics: dict[str, FloatArray]  # metric columns and followers_at_publish
    format: IntArray  # index into format_names
    format_names: list[str]  # lower-case format names
    paid: npt.NDArray[np.int8]  # 1 paid, 0 organic, -1 unknown
    weekday: IntArray  # local ISO weekday 1..7 or -1
    hour: IntArray  # local hour 0..23 or -1
    month: IntArray  # local year × 100 + month, or -1
    day: IntArray  # local calendar day (days since 1970-01-01) or -1 when not known
    timezone: str = "UTC"

    def subset(self, mask: npt.NDArray[np.bool_]) -> PostFrame:
        return PostFrame(
            n=int(mask.sum()),
            metrics={k: v[mask] for k, v in self.metrics.items()},
            format=self.format[mask],
            format_names=self.format_names,
            paid=self.paid[mask],
            weekday=self.weekday[mask],
            hour=self.hour[mask],
            month=self.month[mask],
            day=self.day[mask],
            timezone=self.timezone,
        )


def period_bounds(
    date_from: date | None, date_to: date | None, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """UTC instants of the local days [date_from 00:00, date_to + 1 day 00:00)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(date_from, time(), zone) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time(), zone) if date_to else None
    return start, end


def _epoch_seconds(session: Session) -> ColumnElement[Any]:
    column = Post.__table__.c.published_at
    if session.get_bind().dialect.name == "sqlite":
        # unixepoch() (SQLite ≥ 3.38) is several times cheaper than strftime('%s'): on a
        # million posts that is the difference between meeting the 2 s goal or not.
        if sqlite3.sqlite_version_info >= (3, 38, 0):
            return func.unixepoch(column)
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.extract("epoch", column), BigInteger)


FIELDS = frozenset({"format", "paid", "weekday_hour", "month", "day"})


def _query(
    session: Session,
    channel_id: int,
    metric_names: Sequence[str],
    fields: frozenset[str],
    start: Any,
    end: Any,
) -> Select[Any]:
    """Only the columns the analysis needs: every column costs per post on the hot path.

    Instants are fetched only where they are needed: ``time_epoch`` for posts whose source
    gave no local weekday/hour, ``day_epoch`` for posts whose calendar day is known.
    """
    posts = Post.__table__
    latest = PostLatestMetrics.__table__
    epoch = _epoch_seconds(session)
    columns: list[ColumnElement[Any]] = []
    if "format" in fields:
        columns.append(posts.c.format.label("format"))
    if "paid" in fields:
        columns.append(cast(posts.c.is_paid, Integer).label("is_paid"))
    if "weekday_hour" in fields:
        columns += [
            posts.c.local_weekday.label("local_weekday"),
            posts.c.local_hour.label("local_hour"),
            case(
                (or_(posts.c.local_weekday.is_(None), posts.c.local_hour.is_(None)), epoch),
                else_=None,
            ).label("time_epoch"),
        ]
    if "month" in fields:
        columns.append(epoch.label("epoch"))
    if "day" in fields:
        columns.append(
            case(
                (posts.c.published_precision.in_(sorted(DAY_PRECISIONS)), epoch), else_=None
            ).label("day_epoch")
        )
    columns += [
        (posts.c[name] if name in POST_INPUTS else latest.c[name]).label(name)
        for name in metric_names
    ]
    conditions: list[ColumnElement[bool]] = [posts.c.channel_id == channel_id]
    if start is not None:
        conditions.append(posts.c.published_at >= start)
    if end is not None:
        conditions.append(posts.c.published_at < end)
    return (
        select(*columns)
        .select_from(posts.outerjoin(latest, latest.c.post_id == posts.c.id))
        .where(and_(*conditions))
    )


def _fetch_frame(session: Session, statement: Select[Any]) -> pl.DataFrame:
    """The result as a polars frame, columnar all the way when the database allows it.

    On SQLite the DBAPI cursor's rows are transposed once into columns. On PostgreSQL the
    rows come as one CSV stream (``COPY … TO STDOUT``) parsed by polars' multi-threaded
    reader, without a Python object per value.
    """
    connection = session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    sql = str(compiled)
    params: Any = (
        tuple(compiled.params[name] for name in compiled.positiontup or [])
        if compiled.positional
        else compiled.params
    )
    names = [column.name for column in statement.selected_columns]
    # SQLite is read through the session's own connection. (An ADBC read, with its own copy
    # of SQLite, was faster, but two SQLite libraries on one WAL database in one process
    # release each other's POSIX locks: the shared memory was reset under a reader and the
    # process died of SIGBUS.)
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return _fetch_copy(connection, sql, params, names)
    return _fetch_dbapi(connection, sql, params, names)


def _fetch_dbapi(connection: Any, sql: str, params: Any, names: list[str]) -> pl.DataFrame:
    """Any database: the DBAPI cursor's rows, transposed once into columns."""
    import polars as pl

    result = connection.exec_driver_sql(sql, params)
    cursor = result.cursor
    assert cursor is not None
    rows = cursor.fetchall()
    result.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pl.DataFrame(
        {
            name: pl.Series(name, values, strict=False)
            for name, values in zip(names, columns, strict=True)
        }
    )


def _fetch_copy(connection: Any, sql: str, params: Any, names: list[str]) -> pl.DataFrame:
    """PostgreSQL: the query's rows as CSV through ``COPY (query) TO STDOUT``."""
    import polars as pl

    raw = connection.connection.driver_connection
    buffer = io.BytesIO()
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    if buffer.getbuffer().nbytes == 0:
        return pl.DataFrame({name: pl.Series(name, [], dtype=pl.Float64) for name in names})
    strings = {"format", "precision"}
    return pl.read_csv(
        buffer,
        has_header=False,
        new_columns=names,
        schema_overrides={name: pl.String if name in strings else pl.Float64 for name in names},
    )


# Set by :func:`shared_loads`: the frames already loaded in this block, by channel and days.
_SHARED_FRAMES: ContextVar[dict[tuple[Any, ...], PostFrame] | None] = ContextVar(
    "shared_frames", default=None
)


@contextmanager
def shared_loads() -> Iterator[None]:
    """Within this block, every :func:`load_posts` of one channel, zone and days is answered
    by a single load of every column. A report asks for the same posts five times (KPIs,
    by month, two format comparisons, best times); loading each column once costs about one
    of those loads. Only for a block that reads and does not write posts."""
    token = _SHARED_FRAMES.set({})
    try:
        yield
    finally:
        _SHARED_FRAMES.reset(token)


def load_posts(
    session: Session,
    channel_id: int,
    *,
    timezone: str,
    metric_names: Sequence[str] = METRIC_COLUMNS + POST_INPUTS,
    fields: frozenset[str] = FIELDS,
    date_from: date | None = None,
    date_to: date | None = None,
) -> PostFrame:
    """The channel's posts published in [date_from, date_to] (local days), as columns.

    ``fields`` names the grouping columns to load (others are left at −1): ``format``,
    ``paid``, ``weekday_hour``, ``month``, ``day``.
    """
    shared = _SHARED_FRAMES.get()
    if shared is None:
        return _load_posts(
            session,
            channel_id,
            timezone=timezone,
            metric_names=metric_names,
            fields=fields,
            date_from=date_from,
            date_to=date_to,
        )
    key = (channel_id, timezone, date_from, date_to)
    if key not in shared:
        shared[key] = _load_posts(
            session,
            channel_id,
            timezone=timezone,
            metric_names=METRIC_COLUMNS + POST_INPUTS,
            fields=FIELDS,
            date_from=date_from,
            date_to=date_to,
        )
    return shared[key]


def _load_posts(
    session: Session,
    channel_id: int,
    *,
    timezone: str,
    metric_names: Sequence[str],
    fields: frozenset[str],
    date_from: date | None,
    date_to: date | None,
) -> PostFrame:
    import polars as pl

    start, end = period_bounds(date_from, date_to, timezone)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # The raw cursor bypasses UTCDateTime's bind processing: give SQLite the naive-UTC
        # text it stores, so the comparison is the same string order SQLAlchemy uses.
        bounds: tuple[Any, Any] = (_sqlite_text(start), _sqlite_text(end))
    else:
        bounds = (start, end)
    statement = _query(session, channel_id, list(metric_names), fields, *bounds)
    frame = _fetch_frame(session, statement)
    n = frame.height
    unknown = np.full(n, -1, dtype=np.int64)
    metrics = {name: _floats(frame[name]) for name in metric_names}
    format_names: list[str] = []
    format_codes = unknown
    if "format" in fields and n:
        format_codes, format_names = _format_codes(frame["format"])
    paid = (
        frame["is_paid"].cast(pl.Int8).fill_null(-1).to_numpy()
        if "paid" in fields
        else unknown.astype(np.int8)
    )
    weekday = hour = month = day = unknown
    if "weekday_hour" in fields:
        computed = local_parts(_floats(frame["time_epoch"]), timezone)
        weekday = _fill(frame["local_weekday"], computed["weekday"])
        hour = _fill(frame["local_hour"], computed["hour"])
    if "month" in fields:
        month = local_parts(_floats(frame["epoch"]), timezone)["month"]
    if "day" in fields:
        day = local_parts(_floats(frame["day_epoch"]), timezone)["day"]
    return PostFrame(
        n=n,
        metrics=metrics,
        format=format_codes,
        format_names=format_names,
        paid=paid,
        weekday=weekday,
        hour=hour,
        month=month,
        day=day,
        timezone=timezone,
    )


def _format_codes(column: pl.Series) -> tuple[IntArray, list[str]]:
    """Group codes of the formats, lower-cased ("Photo" and "photo" are one format).

    The strings are dictionary-encoded once (an Enum of the distinct values) and only the
    few distinct names are lower-cased, not the million values.
    """
    import polars as pl

    strings = column.cast(pl.String).fill_null("unknown")
    categories = strings.unique().sort().to_list()
    physical = strings.cast(pl.Enum(categories)).to_physical().cast(pl.Int64).to_numpy()
    names = sorted({name.lower() for name in categories})
    remap = np.array([names.index(name.lower()) for name in categories], dtype=np.int64)
    codes: IntArray = remap[physical] if remap.size else physical
    return codes, names


def _floats(column: pl.Series) -> FloatArray:
    """A numeric column as float64 with NaN for NULL (unknown stays unknown)."""
    import polars as pl

    out: FloatArray = column.cast(pl.Float64).to_numpy()
    return out


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill(given: pl.Series, computed: IntArray) -> IntArray:
    """The source's local value where it gave one, else the one computed from the instant."""
    import polars as pl

    values = given.cast(pl.Float64).to_numpy()
    out: IntArray = np.where(np.isnan(values), computed, values).astype(np.int64)
    return out


QUARTER_HOUR = 900


def _utc_offsets(instants: IntArray, timezone: str) -> IntArray:
    """UTC offset in seconds of ``timezone`` at each instant (epoch seconds)."""
    import polars as pl

    utc = pl.from_epoch(pl.Series(instants), time_unit="s").dt.replace_time_zone("UTC")
    local = utc.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    offsets: IntArray = local.dt.epoch("s").to_numpy() - instants
    return offsets


def local_parts(epoch: FloatArray, timezone: str) -> dict[str, IntArray]:
    """Local weekday (ISO 1..7), hour, day number and year×100+month of UTC instants.

    NaN instants give −1. Time-zone rules are looked up once per quarter hour of the
    covered range, not once per post: offsets only change at quarter-hour boundaries
    (every zone's transitions fall on them), so a post takes its quarter hour's offset.
    """
    n = epoch.size
    out = {key: np.full(n, -1, dtype=np.int64) for key in ("weekday", "hour", "day", "month")}
    known = np.isfinite(epoch)
    if not known.any():
        return out
    instants = epoch[known].astype(np.int64)
    if timezone == "UTC":
        local = instants
    else:
        quarter = instants // QUARTER_HOUR
        low, high = int(quarter.min()), int(quarter.max())
        if high - low <= 5_000_000:
            grid = np.arange(low, high + 1, dtype=np.int64) * QUARTER_HOUR
            local = instants + _utc_offsets(grid, timezone)[quarter - low]
        else:  # posts spread over more than a century: convert each one
            local = instants + _utc_offsets(instants, timezone)
    days = local // 86400
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    out["day"][known] = days
    out["weekday"][known] = (days + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    out["hour"][known] = (local % 86400) // 3600
    out["month"][known] = (months // 12 + 1970) * 100 + months % 12 + 1
    return out


def count_posts_without_day(
    session: Session,
    channel_id: int,
    *,
    timezone: str,
    date_from: date | None,
    date_to: date | None,
) -> int:
    """Posts of the period whose calendar day is unknown (their date is representative)."""
    posts = Post.__table__
    start, end = period_bounds(date_from, date_to, timezone)
    conditions: list[ColumnElement[bool]] = [
        posts.c.channel_id == channel_id,
        posts.c.published_precision.not_in(sorted(DAY_PRECISIONS)),
    ]
    if start is not None:
        conditions.append(posts.c.published_at >= start)
    if end is not None:
        conditions.append(posts.c.published_at < end)
    return int(session.scalar(select(func.count()).where(and_(*conditions))) or 0)


def audience_series(
    session: Session, channel_id: int, *, date_from: date | None, date_to: date | None
) -> tuple[IntArray, FloatArray]:
    """The channel's known follower counts in the period: (days since 1970-01-01, count)."""
    table = ChannelSnapshot.__table__
    conditions: list[ColumnElement[bool]] = [
        table.c.channel_id == channel_id,
        table.c.followers.is_not(None),
    ]
    if date_from:
        conditions.append(table.c.date >= date_from)
    if date_to:
        conditions.append(table.c.date <= date_to)
    rows = session.execute(
        select(table.c.date, table.c.followers).where(and_(*conditions)).order_by(table.c.date)
    ).all()
    epoch = date(1970, 1, 1).toordinal()
    days = np.array([row[0].toordinal() - epoch for row in rows], dtype=np.int64)
    followers = np.array([row[1] for row in rows], dtype=np.float64)
    return days, followers
