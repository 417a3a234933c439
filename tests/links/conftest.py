"""Fixtures of the Links tests: a seeded workspace and its operator access."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import Seed, make_settings, seed_workspace
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.links.models import LinkClick
from townsquare.workspaces.service import WorkspaceAccess, get_workspace


@dataclass
class LinksEnv:
    database: Database
    settings: Settings
    seed: Seed

    def access(self, session: Session, slug: str | None = None) -> WorkspaceAccess:
        return WorkspaceAccess.operator(get_workspace(session, slug or self.seed.workspace))


@pytest.fixture
def links_env(database: Database, data_dir: Path) -> Iterator[LinksEnv]:
    settings = make_settings(
        data_dir, database.url, base_url="http://127.0.0.1:8000", links_host="go.example.com"
    )
    yield LinksEnv(database=database, settings=settings, seed=seed_workspace(database))


def add_click(
    session: Session,
    link_id: int,
    workspace_id: int,
    *,
    day: date,
    is_bot: bool = False,
    visitor: str | None = "v1",
    referrer: str | None = None,
    device: str | None = "desktop",
    os: str | None = "Linux",
    browser: str | None = "Firefox",
    country: str | None = None,
) -> None:
    """A click row as the redirector's writer stores it (what stats read)."""
    session.add(
        LinkClick(
            link_id=link_id,
            workspace_id=workspace_id,
            clicked_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            click_date=day,
            is_bot=is_bot,
            bot_name="Googlebot" if is_bot else None,
            referrer_domain=referrer,
            device_class="bot" if is_bot else device,
            os=os,
            browser=browser,
            country=country,
            visitor_hash=visitor,
        )
    )
