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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import BigInteger, Integer, Select, and_, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from townsquare.analytics.kpis import DAY_PRECISIONS
from townsquare.analytics.models import (
    METRIC_COLUMNS,
    ChannelSnapshot,
    Post,
    PostLatestMetrics,
)

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
    extra: dict[str, Any] = field(default_factory=dict)

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
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.extract("epoch", column), BigInteger)


def _query(
    session: Session,
    channel_id: int,
    metric_names: Sequence[str],
    start: Any,
    end: Any,
) -> Select[Any]:
    posts = Post.__table__
    latest = PostLatestMetrics.__table__
    metric_cols = [
        posts.c[name] if name in POST_INPUTS else latest.c[name] for name in metric_names
    ]
    conditions: list[ColumnElement[bool]] = [posts.c.channel_id == channel_id]
    if start is not None:
        conditions.append(posts.c.published_at >= start)
    if end is not None:
        conditions.append(posts.c.published_at < end)
    return (
        select(
            posts.c.format,
            cast(posts.c.is_paid, Integer),
            posts.c.local_weekday,
            posts.c.local_hour,
            _epoch_seconds(session),
            posts.c.published_precision,
            *metric_cols,
        )
        .select_from(posts.outerjoin(latest, latest.c.post_id == posts.c.id))
        .where(and_(*conditions))
    )


def _fetch_columns(session: Session, statement: Select[Any], width: int) -> list[tuple[Any, ...]]:
    """The result as one tuple per column, read through the DBAPI cursor (no Row objects)."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    result = connection.exec_driver_sql(
        str(compiled),
        tuple(compiled.params[name] for name in compiled.positiontup or [])
        if compiled.positional
        else compiled.params,
    )
    cursor = result.cursor
    assert cursor is not None
    rows = cursor.fetchall()
    result.close()
    if not rows:
        return [() for _ in range(width)]
    return list(zip(*rows, strict=True))


def load_posts(
    session: Session,
    channel_id: int,
    *,
    timezone: str,
    metric_names: Sequence[str] = METRIC_COLUMNS + POST_INPUTS,
    date_from: date | None = None,
    date_to: date | None = None,
) -> PostFrame:
    """The channel's posts published in [date_from, date_to] (local days), as columns."""
    start, end = period_bounds(date_from, date_to, timezone)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # The raw cursor bypasses UTCDateTime's bind processing: give SQLite the naive-UTC
        # text it stores, so the comparison is the same string order SQLAlchemy uses.
        bounds: tuple[Any, Any] = (_sqlite_text(start), _sqlite_text(end))
    else:
        bounds = (start, end)
    statement = _query(session, channel_id, list(metric_names), *bounds)
    columns = _fetch_columns(session, statement, 6 + len(metric_names))
    n = len(columns[0])
    fmt, paid, weekday, hour, epoch, precision = columns[:6]
    metrics = {
        name: np.array(values, dtype=np.float64)
        for name, values in zip(metric_names, columns[6:], strict=True)
    }
    if n == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        return PostFrame(
            n=0,
            metrics={name: np.zeros(0) for name in metric_names},
            format=empty_i,
            format_names=[],
            paid=np.zeros(0, dtype=np.int8),
            weekday=empty_i,
            hour=empty_i,
            month=empty_i,
            day=empty_i,
            timezone=timezone,
        )
    local = _local_calendar(pl.Series("epoch", epoch, dtype=pl.Int64), timezone)
    precision_s = pl.Series("precision", precision, dtype=pl.String)
    knows_day = precision_s.is_in(list(DAY_PRECISIONS)).to_numpy()
    weekday_a = _fill(np.array(weekday, dtype=np.float64), local["weekday"])
    hour_a = _fill(np.array(hour, dtype=np.float64), local["hour"])
    day_a = np.where(knows_day, local["day"], -1)
    fmt_s = pl.Series("format", fmt, dtype=pl.String).fill_null("unknown").str.to_lowercase()
    format_names = sorted(fmt_s.unique().to_list())
    format_codes = fmt_s.replace_strict(
        format_names, list(range(len(format_names))), return_dtype=pl.Int64
    ).to_numpy()
    paid_a = np.array(paid, dtype=np.float64)
    return PostFrame(
        n=n,
        metrics=metrics,
        format=format_codes,
        format_names=format_names,
        paid=np.where(np.isnan(paid_a), -1, paid_a).astype(np.int8),
        weekday=weekday_a,
        hour=hour_a,
        month=local["month"],
        day=day_a.astype(np.int64),
        timezone=timezone,
    )


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill(given: FloatArray, computed: IntArray) -> IntArray:
    """The source's local value where it gave one, else the one computed from the instant."""
    out: IntArray = np.where(np.isnan(given), computed, given).astype(np.int64)
    return out


def _local_calendar(epoch: pl.Series, timezone: str) -> dict[str, Any]:
    """Weekday, hour, month and day number of each instant in ``timezone`` (−1/"" if null)."""
    frame = pl.DataFrame({"epoch": epoch}).with_columns(
        pl.from_epoch("epoch", time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
        .alias("local")
    )
    local = frame.select(
        pl.col("local").dt.weekday().fill_null(-1).cast(pl.Int64).alias("weekday"),
        pl.col("local").dt.hour().fill_null(-1).cast(pl.Int64).alias("hour"),
        (pl.col("local").dt.year() * 100 + pl.col("local").dt.month())
        .cast(pl.Int64)
        .fill_null(-1)
        .alias("month"),
        pl.col("local").dt.date().cast(pl.Int64).fill_null(-1).alias("day"),
    )
    return {
        "weekday": local["weekday"].to_numpy(),
        "hour": local["hour"].to_numpy(),
        "month": local["month"].to_numpy(),
        "day": local["day"].to_numpy(),
    }


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
