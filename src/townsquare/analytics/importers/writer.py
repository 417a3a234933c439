"""Writing imported posts in bulk: core executemany statements, never one ORM object per row.

Inside the caller's transaction (nothing is committed here). Semantics, which the KPI
engine relies on (see also analytics/models.py):

- a post is found by (channel, external_id): a new one is inserted, a known one has its
  fields replaced by the file's;
- the counters of a row become one metric snapshot at the row's ``taken_at`` (or the
  import's). A snapshot already stored at that same instant is **replaced** (a re-export of
  the same moment, perhaps corrected); at a new instant one is **appended**, unless its
  counters are identical to the post's latest snapshot (it would add nothing). So
  re-importing a file changes nothing, and importing a later export adds history;
- ``post_latest_metrics`` is kept equal to each post's latest snapshot;
- followers read with posts become channel snapshots, one per channel and local date: the
  largest count seen that day (a page's audience read at several posts of one day) replaces
  what an earlier import stored for that date.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from townsquare.analytics.importers.records import PostRecord
from townsquare.analytics.models import (
    METRIC_COLUMNS,
    ChannelSnapshot,
    Post,
    PostLatestMetrics,
    PostMetricSnapshot,
)
from townsquare.db.base import utcnow

posts = cast(Table, Post.__table__)
snapshots = cast(Table, PostMetricSnapshot.__table__)
latest = cast(Table, PostLatestMetrics.__table__)
channel_snapshots = cast(Table, ChannelSnapshot.__table__)

# Rows per IN (...) query.
CHUNK = 1000
_POST_FIELDS = (
    "format",
    "published_at",
    "published_precision",
    "local_weekday",
    "local_hour",
    "permalink",
    "text",
    "link_url",
    "is_paid",
    "category",
    "tags",
    "followers_at_publish",
)
_STAGE = ("external_id", *_POST_FIELDS, "taken_at", "has_metrics", *METRIC_COLUMNS, "extra")
_PG_TYPES = {
    "external_id": "TEXT",
    "format": "TEXT",
    "published_at": "TIMESTAMP WITH TIME ZONE",
    "published_precision": "TEXT",
    "local_weekday": "INTEGER",
    "local_hour": "INTEGER",
    "permalink": "TEXT",
    "text": "TEXT",
    "link_url": "TEXT",
    "is_paid": "BOOLEAN",
    "category": "TEXT",
    "tags": "JSON",
    "taken_at": "TIMESTAMP WITH TIME ZONE",
    "has_metrics": "BOOLEAN",
    "extra": "JSON",
}
_SNAPSHOT = ("post_id", "taken_at", *METRIC_COLUMNS)
Values = tuple[Any, ...]


def existing_posts(session: Session, channel_id: int) -> dict[str, int]:
    """external_id → post id of every post of the channel."""
    rows = session.execute(
        select(posts.c.external_id, posts.c.id).where(posts.c.channel_id == channel_id)
    )
    return {row[0]: row[1] for row in rows}


class _Raw:
    """executemany straight through the DB-API driver.

    Profiling a 100,000-row import showed SQLAlchemy's per-row parameter processing taking
    most of the time; these statements bind plain values prepared the way SQLAlchemy would
    store them (UTC datetimes as SQLite text, JSON as text), so the rows read back the same.
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"
        self.mark = "?" if self.connection.dialect.paramstyle == "qmark" else "%s"
        if self.sqlite:
            # A larger page cache for this connection: with the default 2 MB, index pages
            # of a large import are evicted and re-read again and again.
            self.connection.exec_driver_sql("PRAGMA cache_size = -262144")

    def dt(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        # SQLAlchemy's SQLite DATETIME text form: naive UTC with microseconds.
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    @staticmethod
    def json(value: Any) -> str | None:
        if value is None:
            return None
        return "[]" if value == [] else json.dumps(value)

    def insert(self, table: str, columns: Sequence[str], rows: list[Values]) -> None:
        if rows:
            marks = ", ".join([self.mark] * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names are ours
            self.connection.exec_driver_sql(sql, rows)

    def execute(self, sql: str, rows: list[Values]) -> None:
        """``sql`` with ``?`` placeholders, run once per row."""
        if rows:
            self.connection.exec_driver_sql(sql.replace("?", self.mark), rows)


class PostWriter:
    """Writes batches of records of one channel inside the caller's transaction."""

    def __init__(
        self,
        session: Session,
        *,
        workspace_id: int,
        channel_id: int,
        default_taken_at: datetime,
        known: dict[str, int],
    ) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.channel_id = channel_id
        self.default_taken_at = default_taken_at
        self.known = known  # updated as posts are inserted
        self.snapshots_written = 0
        self._raw: _Raw | None = None
        self._default_taken_at: Any = None  # as bound to the database
        self.inserted: set[str] = set()  # external ids inserted by this import
        self._staged = False

    @property
    def raw(self) -> _Raw:
        if self._raw is None:
            self._raw = _Raw(self.session)
        return self._raw

    def write(self, records: Sequence[PostRecord]) -> None:
        fresh = [
            r
            for r in records
            if r.external_id not in self.known and r.external_id not in self.inserted
        ]
        seen = [r for r in records if r.external_id in self.known or r.external_id in self.inserted]
        if fresh:
            self._insert(fresh)
        if seen:
            self._resolve([r.external_id for r in seen if r.external_id not in self.known])
            self._update(seen)

    def _resolve(self, external_ids: list[str]) -> None:
        """Add the ids of posts inserted earlier in this import to ``known`` (rarely needed)."""
        for start in range(0, len(external_ids), CHUNK):
            part = external_ids[start : start + CHUNK]
            found = self.session.execute(
                select(posts.c.external_id, posts.c.id).where(
                    posts.c.channel_id == self.channel_id, posts.c.external_id.in_(part)
                )
            )
            self.known.update({row[0]: row[1] for row in found})

    def _post_values(self, r: PostRecord) -> Values:
        raw = self.raw
        return (
            r.format,
            raw.dt(r.published_at),
            r.published_precision,
            r.local_weekday,
            r.local_hour,
            r.permalink,
            r.text,
            r.link_url,
            r.is_paid,
            r.category,
            raw.json(r.tags),
            r.followers_at_publish,
        )

    def _stage(self) -> None:
        """The temporary table new rows go through (created once per connection)."""
        if not self._staged:
            if self.raw.sqlite:
                columns = ", ".join(_STAGE)  # no declared types: values stay as bound
            else:
                columns = ", ".join(f"{name} {_PG_TYPES.get(name, 'BIGINT')}" for name in _STAGE)
            self.raw.connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS import_stage ({columns})"
            )
            self._staged = True
        self.raw.connection.exec_driver_sql("DELETE FROM import_stage")

    def _insert(self, records: list[PostRecord]) -> None:
        """New posts, their snapshots and latest metrics: one executemany into a staging
        table, then three INSERT … SELECT run by the database itself (profiling showed the
        per-row cost of three executemany and of reading the new ids back in Python)."""
        raw = self.raw
        self._stage()
        dt, to_json = raw.dt, raw.json
        default_taken_at = self._bound_default_taken_at()
        raw.insert(
            "import_stage",
            _STAGE,
            [
                (
                    r.external_id,
                    r.format,
                    dt(r.published_at),
                    r.published_precision,
                    r.local_weekday,
                    r.local_hour,
                    r.permalink,
                    r.text,
                    r.link_url,
                    r.is_paid,
                    r.category,
                    to_json(r.tags),
                    r.followers_at_publish,
                    default_taken_at if r.taken_at is None else dt(r.taken_at),
                    r.has_metrics(),
                    *r.metrics,
                    to_json(r.extra),
                )
                for r in records
            ],
        )
        self.inserted.update(r.external_id for r in records)
        fields = ", ".join(_POST_FIELDS)
        metrics = ", ".join(METRIC_COLUMNS)
        s_metrics = ", ".join(f"s.{name}" for name in METRIC_COLUMNS)
        join = (
            "FROM import_stage s JOIN posts p ON p.channel_id = ? AND p.external_id = s.external_id"
            " WHERE s.has_metrics"
        )
        params = [(self.workspace_id, self.channel_id, raw.dt(utcnow()))]
        raw.execute(
            f"INSERT INTO posts (workspace_id, channel_id, created_at, external_id, {fields}) "  # noqa: S608
            f"SELECT ?, ?, ?, external_id, {fields} FROM import_stage",
            params,
        )
        raw.execute(
            f"INSERT INTO post_metric_snapshots (post_id, taken_at, {metrics}, extra) "
            f"SELECT p.id, s.taken_at, {s_metrics}, s.extra {join}",
            [(self.channel_id,)],
        )
        raw.execute(
            f"INSERT INTO post_latest_metrics (post_id, taken_at, {metrics}) "
            f"SELECT p.id, s.taken_at, {s_metrics} {join}",
            [(self.channel_id,)],
        )
        self.snapshots_written += sum(1 for r in records if r.has_metrics())

    def _bound_default_taken_at(self) -> Any:
        if self._default_taken_at is None:
            self._default_taken_at = self.raw.dt(self.default_taken_at)
        return self._default_taken_at

    def close(self) -> None:
        """Drop the staging table (the connection may go back to a pool)."""
        if self._staged:
            self.raw.connection.exec_driver_sql("DROP TABLE IF EXISTS import_stage")
            self._staged = False

    def _snapshot(self, record: PostRecord) -> Values:
        """(post_id, taken_at, *metrics, extra) with taken_at as the database stores it."""
        if record.taken_at is None:
            taken_at = self._bound_default_taken_at()
        else:
            taken_at = self.raw.dt(record.taken_at)
        post_id = self.known[record.external_id]
        return (post_id, taken_at, *record.metrics, self.raw.json(record.extra))

    def _insert_snapshots(self, rows: list[Values], *, replace_latest: bool) -> None:
        """Insert snapshots that become their post's latest, and the latest-metrics cache."""
        if not rows:
            return
        raw = self.raw
        raw.insert("post_metric_snapshots", (*_SNAPSHOT, "extra"), rows)
        self.snapshots_written += len(rows)
        if replace_latest:
            raw.execute(
                "DELETE FROM post_latest_metrics WHERE post_id = ?", [(r[0],) for r in rows]
            )
        raw.insert("post_latest_metrics", _SNAPSHOT, [r[:-1] for r in rows])

    def _update(self, records: list[PostRecord]) -> None:
        raw = self.raw
        assignments = ", ".join(f"{name} = ?" for name in _POST_FIELDS)
        raw.execute(
            f"UPDATE posts SET {assignments} WHERE id = ?",  # noqa: S608 - fixed column names
            [(*self._post_values(r), self.known[r.external_id]) for r in records],
        )
        with_metrics = [r for r in records if r.has_metrics()]
        if not with_metrics:
            return
        current = self._latest_of([self.known[r.external_id] for r in with_metrics])
        replace: list[Values] = []  # same instant as a stored snapshot
        append_latest: list[Values] = []  # becomes the post's latest
        append_older: list[Values] = []  # older than the latest: history only
        for record in with_metrics:
            row = self._snapshot(record)
            taken_at = record.taken_at or self.default_taken_at
            values = (record.extra, *record.metrics)
            stored = current.get(row[0])
            if stored is None or taken_at > stored[0]:
                if stored is not None and stored[1] == values:
                    continue  # identical to the latest: nothing new to record
                append_latest.append(row)
            elif taken_at == stored[0]:
                if stored[1] != values:
                    replace.append(row)
            else:
                append_older.append(row)
        # A stored snapshot at the same instant is replaced, never duplicated.
        raw.execute(
            "DELETE FROM post_metric_snapshots WHERE post_id = ? AND taken_at = ?",
            [(row[0], row[1]) for row in replace + append_older],
        )
        self._insert_snapshots(replace + append_latest, replace_latest=True)
        raw.insert("post_metric_snapshots", (*_SNAPSHOT, "extra"), append_older)
        self.snapshots_written += len(append_older)

    def _latest_of(self, post_ids: list[int]) -> dict[int, tuple[datetime, Values]]:
        """post id → (taken_at, (extra, *metrics)) of its latest snapshot."""
        current: dict[int, tuple[datetime, Values]] = {}
        columns = [snapshots.c[name] for name in METRIC_COLUMNS]
        for start in range(0, len(post_ids), CHUNK):
            part = post_ids[start : start + CHUNK]
            query = (
                select(latest.c.post_id, latest.c.taken_at, snapshots.c.extra, *columns)
                .join(
                    snapshots,
                    and_(
                        snapshots.c.post_id == latest.c.post_id,
                        snapshots.c.taken_at == latest.c.taken_at,
                    ),
                )
                .where(latest.c.post_id.in_(part))
            )
            for found in self.session.execute(query):
                current[found[0]] = (found[1], tuple(found[2:]))
        return current

    def write_channel_snapshots(self, followers: dict[date, int]) -> int:
        """Store the audience per local date; returns how many rows were written."""
        if not followers:
            return 0
        stored = dict(
            self.session.execute(
                select(channel_snapshots.c.date, channel_snapshots.c.followers).where(
                    channel_snapshots.c.channel_id == self.channel_id,
                    channel_snapshots.c.date.in_(list(followers)),
                )
            ).all()
        )
        new = [
            {
                "workspace_id": self.workspace_id,
                "channel_id": self.channel_id,
                "date": d,
                "followers": n,
            }
            for d, n in sorted(followers.items())
            if d not in stored
        ]
        changed = [
            {"b_date": d, "followers": n}
            for d, n in sorted(followers.items())
            if d in stored and stored[d] != n
        ]
        if new:
            self.session.execute(insert(channel_snapshots), new)
        if changed:
            self.session.execute(
                update(channel_snapshots).where(
                    channel_snapshots.c.channel_id == self.channel_id,
                    channel_snapshots.c.date == bindparam("b_date"),
                ),
                changed,
            )
        return len(new) + len(changed)
