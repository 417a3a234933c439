"""The two real files import exactly as they are, quirks included (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.conftest import data_file
from tests.measure.conftest import ImportTarget
from townsquare.analytics.importers.presets import first_weekday_of_month, uci_iso_weekday
from townsquare.analytics.models import (
    ChannelSnapshot,
    Post,
    PostLatestMetrics,
    PostMetricSnapshot,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


def _one(target: ImportTarget, *where: Any) -> tuple[Post, PostMetricSnapshot]:
    with target.database.session() as session:
        rows = session.execute(
            select(Post, PostMetricSnapshot)
            .join(PostMetricSnapshot, PostMetricSnapshot.post_id == Post.id)
            .where(*where)
        ).all()
        assert len(rows) == 1, rows
        return rows[0][0], rows[0][1]


def test_uci_weekday_convention() -> None:
    # 1 = Sunday … 7 = Saturday: 4 is a Wednesday, as were 1 Jan and 31 Dec 2014.
    assert date(2014, 1, 1).isoweekday() == 3 == date(2014, 12, 31).isoweekday()
    assert [uci_iso_weekday(w) for w in range(1, 8)] == [7, 1, 2, 3, 4, 5, 6]
    assert first_weekday_of_month(2014, 1, 3) == date(2014, 1, 1)
    assert first_weekday_of_month(2014, 12, 3) == date(2014, 12, 3)
    assert first_weekday_of_month(2014, 2, 7) == date(2014, 2, 2)


def test_uci_facebook_metrics_imports_exactly(import_target: ImportTarget) -> None:
    path = data_file("dataset_Facebook.csv")
    report = import_target.run(path, preset="uci-facebook-metrics")
    assert report.as_json() == {
        "rows_read": 500,
        "imported": 500,
        "updated": 0,
        "duplicates_skipped": 0,
        "encoding": "utf-8",
        "errors": [],
    }
    assert import_target.count(Post) == 500
    assert import_target.count(PostMetricSnapshot) == 500
    assert import_target.count(PostLatestMetrics) == 500
    with import_target.database.session() as session:
        formats = {
            row[0]: row[1]
            for row in session.execute(select(Post.format, func.count()).group_by(Post.format))
        }
        precisions = set(session.scalars(select(Post.published_precision)))
        unknown = {
            name: session.scalar(
                select(func.count()).where(getattr(PostMetricSnapshot, name).is_(None))
            )
            for name in ("reactions", "shares", "comments", "reach")
        }
        unknown_paid = session.scalar(select(func.count()).where(Post.is_paid.is_(None)))
        audience = session.execute(
            select(ChannelSnapshot.date, ChannelSnapshot.followers).order_by(ChannelSnapshot.date)
        ).all()
    assert formats == {"photo": 426, "status": 45, "link": 22, "video": 7}
    assert precisions == {"month_weekday_hour"}
    # The six empty cells are unknown, not zero: like ×1, share ×4, Paid ×1.
    assert unknown == {"reactions": 1, "shares": 4, "comments": 0, "reach": 0}
    assert unknown_paid == 1

    # Line 2: 139441;Photo;2;12;4;3;0;2752;5091;178;109;159;3078;1640;119;4;79;17;100
    post, snap = _one(
        import_target,
        Post.followers_at_publish == 139441,
        Post.local_hour == 3,
        Post.category == "2",
        Post.format == "photo",
        PostMetricSnapshot.reach == 2752,
    )
    assert post.local_weekday == 3  # file's 4 = Wednesday
    assert post.is_paid is False
    # First Wednesday of December 2014, 03:00 in the channel's zone.
    assert post.published_at == datetime(2014, 12, 3, 3, tzinfo=BANGKOK).astimezone(UTC)
    assert (snap.reach, snap.impressions, snap.engaged_users) == (2752, 5091, 178)
    assert (snap.consumers, snap.consumptions) == (109, 159)
    assert (snap.comments, snap.reactions, snap.shares) == (4, 79, 17)
    assert snap.extra == {
        "impressions_by_fans": 3078,
        "reach_by_fans": 1640,
        "engaged_fans": 119,
        "total_interactions": 100,
    }
    assert snap.taken_at == datetime(2015, 1, 1, tzinfo=UTC)

    # Line 501, the first post of January: weekday 4 on Wednesday 1 January; Paid empty.
    post, snap = _one(import_target, Post.followers_at_publish == 81370, Post.is_paid.is_(None))
    assert (post.local_weekday, post.local_hour) == (3, 4)
    assert post.published_at == datetime(2014, 1, 1, 4, tzinfo=BANGKOK).astimezone(UTC)
    assert (snap.reach, snap.reactions, snap.shares, snap.comments) == (4188, 91, 28, 0)

    # Line 113: like and share empty (unknown) although Total Interactions says 0.
    post, snap = _one(import_target, PostMetricSnapshot.reactions.is_(None))
    assert post.followers_at_publish == 136736
    assert (snap.shares, snap.comments, snap.reach) == (None, 0, 1261)
    assert snap.extra is not None and snap.extra["total_interactions"] == 0

    # Page total likes: followers at publish and weekly-ish channel snapshots.
    assert len(audience) > 20
    assert max(followers for _, followers in audience) == 139441
    # One snapshot per (representative) date: the largest count of the posts of that date.
    with path.open(newline="") as handle:
        uci = list(csv.DictReader(handle, delimiter=";"))
    first_wednesdays = [
        int(row["Page total likes"])
        for row in uci
        if row["Post Month"] == "1" and row["Post Weekday"] == "4"
    ]
    assert audience[0] == (date(2014, 1, 1), max(first_wednesdays))
    assert len(audience) == len({(r["Post Month"], r["Post Weekday"]) for r in uci})


def test_uci_reimport_is_idempotent(import_target: ImportTarget) -> None:
    path = data_file("dataset_Facebook.csv")
    first = import_target.run(path, preset="uci-facebook-metrics")
    with import_target.database.session() as session:
        before = sorted(session.scalars(select(Post.external_id)))
    again = import_target.run(path, preset="uci-facebook-metrics")
    assert again.as_json() == {
        "rows_read": 500,
        "imported": 0,
        "updated": 500,
        "duplicates_skipped": 0,
        "encoding": "utf-8",
        "errors": [],
    }
    assert first.channel_snapshots_written > 0 and again.channel_snapshots_written == 0
    assert again.snapshots_written == 0  # same counters at the same instant: nothing new
    with import_target.database.session() as session:
        assert sorted(session.scalars(select(Post.external_id))) == before
    assert import_target.count(Post) == 500
    assert import_target.count(PostMetricSnapshot) == 500
    assert import_target.count(PostLatestMetrics) == 500


def _live_rows() -> list[list[str]]:
    with data_file("Live.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_facebook_live_sellers_imports_exactly(import_target: ImportTarget) -> None:
    path = data_file("Live.csv")
    report = import_target.run(path, preset="facebook-live-sellers")
    # 51 exact duplicate rows are skipped; two ids come back with another date: the later
    # row updates the post of the earlier one.
    assert report.as_json() == {
        "rows_read": 7050,
        "imported": 6997,
        "updated": 2,
        "duplicates_skipped": 51,
        "encoding": "utf-8-sig",
        "errors": [],
    }
    rows = _live_rows()
    distinct_ids = {row[0] for row in rows[1:]}
    assert import_target.count(Post) == len(distinct_ids) == 6997
    assert import_target.count(PostLatestMetrics) == 6997

    # Line 2, first form: 4/22/2018 6:00 (month first), local to the channel (Bangkok).
    post, snap = _one(import_target, Post.external_id == "246675545449582_1649696485147474")
    assert post.format == "video"
    assert post.published_at == datetime(2018, 4, 22, 6, 0, tzinfo=BANGKOK).astimezone(UTC)
    assert (post.local_weekday, post.local_hour, post.published_precision) == (7, 6, "minute")
    assert (snap.reactions, snap.comments, snap.shares) == (529, 512, 262)
    assert snap.extra == {"likes": 432, "loves": 92, "wows": 3, "hahas": 1, "sads": 1, "angrys": 0}
    assert (snap.reach, snap.impressions) == (None, None)  # the file has none: unknown

    # Line 11, second form: 04-11-18 4:53 is 11 April 2018 (the file is in date order).
    assert rows[10][2] == "04-11-18 4:53"
    post, _ = _one(import_target, Post.external_id == rows[10][0])
    assert post.published_at == datetime(2018, 4, 11, 4, 53, tzinfo=BANGKOK).astimezone(UTC)
    assert post.format == rows[10][1]

    # Id seen twice with different dates (lines 1410 and 1731): the later row wins.
    post, _ = _one(import_target, Post.external_id == "246675545449582_429583263825475")
    assert post.published_at == datetime(2013, 9, 11, 0, 12, tzinfo=BANGKOK).astimezone(UTC)


def test_live_reimport_is_idempotent(import_target: ImportTarget) -> None:
    path = data_file("Live.csv")
    import_target.run(path, preset="facebook-live-sellers")
    again = import_target.run(path, preset="facebook-live-sellers")
    assert (again.imported, again.updated, again.duplicates_skipped) == (0, 6999, 51)
    assert again.snapshots_written == 0
    assert import_target.count(Post) == 6997
    assert import_target.count(PostMetricSnapshot) == 6997
