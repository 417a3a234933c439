"""Fixtures of the Measure tests (shared by the importer and KPI-engine tests).

``measure_world`` is a workspace with a channel holding a few hand-made posts whose KPIs
were computed by hand (see ``HAND_POSTS`` and tests/measure/test_analyses_service.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tests.conftest import Seed, make_settings, seed_workspace
from townsquare.analytics.models import ChannelSnapshot, Post, PostLatestMetrics
from townsquare.channels.models import Channel
from townsquare.channels.service import add_channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

PARIS = ZoneInfo("Europe/Paris")

# (external id, format, paid, local published time in Paris, followers, metrics)
HAND_POSTS: list[dict[str, Any]] = [
    {
        "external_id": "p1",
        "format": "photo",
        "is_paid": False,
        "local": datetime(2024, 3, 4, 9, 0, tzinfo=PARIS),  # Monday
        "followers_at_publish": 1000,
        "metrics": {
            "reach": 100,
            "impressions": 200,
            "reactions": 8,
            "comments": 1,
            "shares": 1,
            "clicks": 4,
            "engaged_users": 20,
        },
    },
    {
        "external_id": "p2",
        "format": "photo",
        "is_paid": True,
        "local": datetime(2024, 3, 5, 10, 0, tzinfo=PARIS),  # Tuesday
        "followers_at_publish": 1000,
        "metrics": {
            "reach": 600,
            "impressions": 400,
            "reactions": 20,
            "comments": 5,
            "shares": 5,
            "clicks": 10,
            "engaged_users": 30,
        },
    },
    {
        "external_id": "p3",
        "format": "Video",
        "is_paid": False,
        "local": datetime(2024, 3, 4, 18, 0, tzinfo=PARIS),  # Monday
        "followers_at_publish": 1010,
        "metrics": {"reach": 50, "impressions": 100, "reactions": 4, "comments": 0, "shares": 1},
    },
    {
        "external_id": "p4",
        "format": "status",
        "is_paid": False,
        "local": datetime(2024, 4, 1, 9, 0, tzinfo=PARIS),  # Monday
        "followers_at_publish": 1020,
        "metrics": {"reactions": 3, "comments": 1},  # reach, impressions, shares unknown
    },
]

HAND_AUDIENCE = [(date(2024, 3, 1), 1000), (date(2024, 3, 31), 1010), (date(2024, 4, 30), 1030)]


def insert_posts(
    session: Session,
    channel: Channel,
    posts: Sequence[dict[str, Any]],
    *,
    precision: str = "minute",
) -> None:
    """Posts and their latest metrics written with Core inserts (as an importer would)."""
    rows = []
    for post in posts:
        local: datetime = post["local"]
        rows.append(
            {
                "workspace_id": channel.workspace_id,
                "channel_id": channel.id,
                "external_id": post["external_id"],
                "published_at": local.astimezone(UTC),
                "published_precision": post.get("precision", precision),
                "local_weekday": post.get("local_weekday", local.isoweekday()),
                "local_hour": post.get("local_hour", local.hour),
                "format": post["format"],
                "is_paid": post.get("is_paid"),
                "followers_at_publish": post.get("followers_at_publish"),
                "tags": [],
                "created_at": datetime.now(UTC),
            }
        )
    session.execute(insert(Post), rows)
    ids = dict(
        session.execute(
            select(Post.external_id, Post.id).where(Post.channel_id == channel.id)
        ).all()
    )
    metric_rows = [
        {"post_id": ids[post["external_id"]], "taken_at": datetime.now(UTC), **post["metrics"]}
        for post in posts
        if post.get("metrics") is not None
    ]
    if metric_rows:
        # Core executemany needs the same keys on every row: absent metrics are NULL.
        keys = {key for row in metric_rows for key in row}
        session.execute(
            insert(PostLatestMetrics), [{k: row.get(k) for k in keys} for row in metric_rows]
        )
    session.commit()


def insert_audience(
    session: Session, channel: Channel, snapshots: Sequence[tuple[date, int]]
) -> None:
    session.execute(
        insert(ChannelSnapshot),
        [
            {
                "workspace_id": channel.workspace_id,
                "channel_id": channel.id,
                "date": day,
                "followers": followers,
            }
            for day, followers in snapshots
        ],
    )
    session.commit()


@dataclass
class MeasureWorld:
    database: Database
    settings: Settings
    seed: Seed
    channel: str = "brand"

    def access(self, session: Session, slug: str | None = None) -> WorkspaceAccess:
        return WorkspaceAccess.operator(get_workspace(session, slug or self.seed.workspace))


def build_world(database: Database, data_dir: Path) -> MeasureWorld:
    """Workspace ``acme`` with channel ``brand`` (Paris) holding ``HAND_POSTS``, and
    workspace ``rival`` with its own channel ``brand`` (for isolation tests)."""
    seed = seed_workspace(database)
    other = seed_workspace(database, slug="rival", email="owner@rival.test")
    with database.session() as session:
        for slug, posts in ((seed.workspace, HAND_POSTS), (other.workspace, HAND_POSTS[:1])):
            access = WorkspaceAccess.operator(get_workspace(session, slug))
            channel = add_channel(
                session, access, network="mastodon", handle="brand", timezone="Europe/Paris"
            )
            insert_posts(session, channel, posts)
            if slug == seed.workspace:
                insert_audience(session, channel, HAND_AUDIENCE)
    return MeasureWorld(
        database=database, settings=make_settings(data_dir, database.url), seed=seed
    )


@pytest.fixture
def measure_world(database: Database, data_dir: Path) -> Iterator[MeasureWorld]:
    """The hand-made world on SQLite and on PostgreSQL."""
    yield build_world(database, data_dir)


@pytest.fixture
def sqlite_measure_world(sqlite_database: Database, data_dir: Path) -> Iterator[MeasureWorld]:
    """The hand-made world on SQLite only (for tests that do not depend on the database)."""
    yield build_world(sqlite_database, data_dir)


# --- importers (tests/measure/test_import*.py) -------------------------------------------


@dataclass
class ImportTarget:
    """Workspace ``acme`` with an empty channel ``page`` to import into."""

    database: Database
    seed: Seed
    channel: str = "page"

    def run(self, path: Path, **options: Any) -> Any:
        from townsquare.analytics.importers import service
        from townsquare.channels.service import get_channel_by_handle

        with self.database.session() as session:
            access = WorkspaceAccess.operator(get_workspace(session, self.seed.workspace))
            channel = get_channel_by_handle(session, access, self.channel)
            return service.run_import(
                session, access, channel, path, service.ImportOptions(**options)
            )

    def count(self, model: Any) -> int:
        from sqlalchemy import func

        with self.database.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def import_target(database: Database) -> ImportTarget:
    """An empty channel (time zone Asia/Bangkok) on SQLite and on PostgreSQL."""
    seed = seed_workspace(database)
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, seed.workspace))
        add_channel(session, access, network="facebook", handle="page", timezone="Asia/Bangkok")
    return ImportTarget(database=database, seed=seed)
