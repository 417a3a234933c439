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

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
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

# Parameters per statement stay well under SQLite's limit of 32,766.
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


def existing_posts(session: Session, channel_id: int) -> dict[str, int]:
    """external_id → post id of every post of the channel."""
    rows = session.execute(
        select(posts.c.external_id, posts.c.id).where(posts.c.channel_id == channel_id)
    )
    return {row[0]: row[1] for row in rows}


def _post_values(record: PostRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _POST_FIELDS}


def _metric_values(record: PostRecord) -> dict[str, Any]:
    return dict(zip(METRIC_COLUMNS, record.metrics, strict=True))


class PostWriter:
    """Writes batches of records of one channel; call :meth:`finish` once at the end."""

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

    def write(self, records: Sequence[PostRecord]) -> None:
        fresh = [r for r in records if r.external_id not in self.known]
        seen = [r for r in records if r.external_id in self.known]
        if fresh:
            self._insert(fresh)
        if seen:
            self._update(seen)

    def _insert(self, records: list[PostRecord]) -> None:
        now = utcnow()
        ids: list[int] = []
        for start in range(0, len(records), CHUNK):
            part = records[start : start + CHUNK]
            rows = [
                {
                    "workspace_id": self.workspace_id,
                    "channel_id": self.channel_id,
                    "external_id": r.external_id,
                    "created_at": now,
                    **_post_values(r),
                }
                for r in part
            ]
            result = self.session.execute(
                insert(posts).returning(posts.c.id, sort_by_parameter_order=True), rows
            )
            ids.extend(row[0] for row in result)
        snapshot_rows = []
        for record, post_id in zip(records, ids, strict=True):
            self.known[record.external_id] = post_id
            if record.has_metrics():
                snapshot_rows.append(self._snapshot_row(record, post_id))
        self._insert_snapshots(snapshot_rows, replace_latest=False)

    def _snapshot_row(self, record: PostRecord, post_id: int) -> dict[str, Any]:
        return {
            "post_id": post_id,
            "taken_at": record.taken_at or self.default_taken_at,
            "extra": record.extra,
            **_metric_values(record),
        }

    def _insert_snapshots(self, rows: list[dict[str, Any]], *, replace_latest: bool) -> None:
        """Insert snapshots; ``rows`` whose snapshot becomes the latest also go to the cache."""
        if not rows:
            return
        self.session.execute(insert(snapshots), rows)
        self.snapshots_written += len(rows)
        latest_rows = [{k: v for k, v in row.items() if k != "extra"} for row in rows]
        if replace_latest:
            self.session.execute(
                delete(latest).where(latest.c.post_id == bindparam("b_post_id")),
                [{"b_post_id": row["post_id"]} for row in latest_rows],
            )
        self.session.execute(insert(latest), latest_rows)

    def _update(self, records: list[PostRecord]) -> None:
        self.session.execute(
            update(posts).where(posts.c.id == bindparam("b_id")),
            [{"b_id": self.known[r.external_id], **_post_values(r)} for r in records],
        )
        with_metrics = [r for r in records if r.has_metrics()]
        if not with_metrics:
            return
        post_ids = [self.known[r.external_id] for r in with_metrics]
        current: dict[int, tuple[datetime, tuple[Any, ...]]] = {}
        for start in range(0, len(post_ids), CHUNK):
            part = post_ids[start : start + CHUNK]
            columns = [snapshots.c[name] for name in METRIC_COLUMNS]
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
        replace: list[dict[str, Any]] = []  # same instant as a stored snapshot
        append_latest: list[dict[str, Any]] = []  # becomes the post's latest
        append_older: list[dict[str, Any]] = []  # older than the latest: history only
        for record, post_id in zip(with_metrics, post_ids, strict=True):
            row = self._snapshot_row(record, post_id)
            values = (record.extra, *record.metrics)
            stored = current.get(post_id)
            if stored is None or row["taken_at"] > stored[0]:
                if stored is not None and stored[1] == values:
                    continue  # identical to the latest: nothing new to record
                append_latest.append(row)
            elif row["taken_at"] == stored[0]:
                if stored[1] != values:
                    replace.append(row)
            else:
                append_older.append(row)
        # Any stored snapshot at the same instant is replaced, never duplicated.
        stale = replace + append_older
        if stale:
            self.session.execute(
                delete(snapshots).where(
                    and_(
                        snapshots.c.post_id == bindparam("b_post_id"),
                        snapshots.c.taken_at == bindparam("b_taken_at"),
                    )
                ),
                [{"b_post_id": r["post_id"], "b_taken_at": r["taken_at"]} for r in stale],
            )
        self._insert_snapshots(replace + append_latest, replace_latest=True)
        if append_older:
            self.session.execute(insert(snapshots), append_older)
            self.snapshots_written += len(append_older)

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
