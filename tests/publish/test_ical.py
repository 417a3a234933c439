"""The iCalendar feed: a secret address, scheduled and published variants with their
permalinks, stable UIDs; a replaced or unknown token opens nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from tests.publish import web_seed
from townsquare.db import Database
from townsquare.errors import NotFound, PermissionDenied
from townsquare.publish import ical
from townsquare.workspaces import service
from townsquare.workspaces.access import WorkspaceAccess, get_workspace
from townsquare.workspaces.roles import Role

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def workspace_access(database: Database) -> WorkspaceAccess:
    with database.session() as session:
        owner = service.create_user(session, email="o@acme.test", password="correct horse b")
        service.create_workspace(session, "acme", name="Café Acme", owner=owner)
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        session.expunge_all()
    return access


def test_feed_holds_scheduled_and_published_variants(
    database: Database, workspace_access: WorkspaceAccess
) -> None:
    ids = web_seed.channels(database)
    _, scheduled = web_seed.variant(
        database, ids["mastodon"], text="Demain 🇫🇷", status="scheduled",
        scheduled_at=NOW + timedelta(days=1),
    )  # fmt: skip
    _, published = web_seed.variant(
        database, ids["bluesky"], text="Hier", status="published",
        scheduled_at=NOW - timedelta(days=1), published_at=NOW - timedelta(days=1, seconds=-3),
        url="https://bsky.app/profile/cafe.bsky.social/post/3abc",
    )  # fmt: skip
    web_seed.variant(database, ids["mastodon"], text="Brouillon", status="draft")
    web_seed.variant(
        database, ids["mastodon"], text="Raté", status="failed", scheduled_at=NOW,
        error="refused",
    )  # fmt: skip
    with database.session() as session:
        token = ical.regenerate_feed(session, workspace_access)
        workspace = ical.workspace_for_token(session, token)
        body = ical.build_calendar(session, workspace, base_url="https://ts.example/", now=NOW)
    parsed = Calendar.from_ical(body)
    events = {str(event["uid"]): event for event in parsed.walk("VEVENT")}
    assert set(events) == {f"variant-{scheduled}@townsquare", f"variant-{published}@townsquare"}
    future = events[f"variant-{scheduled}@townsquare"]
    assert str(future["status"]) == "TENTATIVE"
    assert future.decoded("dtstart") == NOW + timedelta(days=1)
    assert "Demain 🇫🇷" in str(future["summary"])
    assert str(future["url"]).startswith("https://ts.example/w/acme/publish/posts/")
    past = events[f"variant-{published}@townsquare"]
    assert str(past["status"]) == "CONFIRMED"
    assert str(past["url"]) == "https://bsky.app/profile/cafe.bsky.social/post/3abc"
    assert "https://bsky.app/profile/cafe.bsky.social/post/3abc" in str(past["description"])
    assert str(parsed["x-wr-calname"]).startswith("Café Acme")


def test_regenerating_ends_the_old_address(
    database: Database, workspace_access: WorkspaceAccess
) -> None:
    with database.session() as session:
        first = ical.regenerate_feed(session, workspace_access)
        second = ical.regenerate_feed(session, workspace_access)
        assert first != second and second.startswith("tsc_")
        assert ical.workspace_for_token(session, second).slug == "acme"
        for token in (first, "tsc_nope", "nonsense"):
            with pytest.raises(NotFound):
                ical.workspace_for_token(session, token)
        ical.revoke_feed(session, workspace_access)
        with pytest.raises(NotFound):
            ical.workspace_for_token(session, second)


def test_only_admins_make_the_address(
    database: Database, workspace_access: WorkspaceAccess
) -> None:
    editor = WorkspaceAccess(workspace_access.workspace, None, Role.EDITOR)
    with database.session() as session, pytest.raises(PermissionDenied):
        ical.regenerate_feed(session, editor)
