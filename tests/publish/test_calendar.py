"""The calendar's arithmetic (weeks, periods, slots across DST) and what it places where."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.publish import web_seed
from townsquare.db import Database
from townsquare.errors import ValidationError
from townsquare.publish import calendar
from townsquare.workspaces import service
from townsquare.workspaces.access import WorkspaceAccess, get_workspace

PARIS = ZoneInfo("Europe/Paris")


def test_month_weeks_start_on_monday_and_cover_the_month() -> None:
    weeks = calendar.month_weeks(date(2026, 12, 15))
    assert weeks[0][0] == date(2026, 11, 30) and weeks[0][0].weekday() == 0
    assert weeks[-1][-1] == date(2027, 1, 3)
    assert all(len(week) == 7 for week in weeks)
    assert calendar.period_for("week", date(2026, 12, 3)) == (date(2026, 11, 30), date(2026, 12, 6))
    assert calendar.period_for("list", date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert calendar.shift("month", date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert calendar.shift("month", date(2026, 12, 5), 1) == date(2027, 1, 5)
    assert calendar.shift("week", date(2026, 12, 5), -1) == date(2026, 11, 28)


def test_slots_are_read_in_the_zone_and_dst_is_refused_with_both_readings() -> None:
    keep = datetime(2026, 12, 1, 9, 30, tzinfo=PARIS)
    # A day of the month view keeps the time of day; an hour of the week view its minutes.
    assert calendar.parse_slot("2026-12-10", PARIS, keep) == datetime(
        2026, 12, 10, 8, 30, tzinfo=UTC
    )
    assert calendar.parse_slot("2026-12-10T14", PARIS, keep) == datetime(
        2026, 12, 10, 13, 30, tzinfo=UTC
    )
    assert calendar.parse_slot("2026-12-10T14:00", PARIS, keep) == datetime(
        2026, 12, 10, 13, 0, tzinfo=UTC
    )
    assert calendar.parse_slot("2026-07-10T14:05", PARIS, keep) == datetime(
        2026, 7, 10, 12, 5, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="does not exist in Europe/Paris"):
        calendar.parse_slot("2026-03-29T02:30", PARIS)
    with pytest.raises(ValidationError, match="happens twice in Europe/Paris") as twice:
        calendar.parse_slot("2026-10-25T02:30", PARIS)
    assert "00:30" in str(twice.value) and "01:30" in str(twice.value)
    with pytest.raises(ValidationError, match="not a slot"):
        calendar.parse_slot("demain", PARIS)
    with pytest.raises(ValidationError, match="unknown calendar view"):
        calendar.parse_view("year")
    with pytest.raises(ValidationError, match="unknown status"):
        calendar.parse_status("lost")


def test_entries_are_placed_in_the_workspace_zone(database: Database) -> None:
    with database.session() as session:
        owner = service.create_user(session, email="o@acme.test", password="correct horse b")
        service.create_workspace(session, "acme", name="Acme", owner=owner)
        workspace = get_workspace(session, "acme")
        workspace.timezone = "Europe/Paris"
        session.commit()
        access = WorkspaceAccess.operator(workspace)
        session.expunge_all()
    ids = web_seed.channels(database)
    # 23:30 UTC on the 1st is 00:30 on the 2nd in Paris.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    web_seed.variant(
        database, ids["mastodon"], text="Minuit", status="scheduled", scheduled_at=late
    )
    web_seed.variant(
        database, ids["bluesky"], text="Parti", status="published",
        scheduled_at=late - timedelta(days=5), published_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
        url="https://bsky.app/x",
    )  # fmt: skip
    web_seed.variant(database, ids["mastodon"], text="Brouillon", status="draft", scheduled_at=late)
    with database.session() as session:
        found = calendar.entries(session, access, date(2026, 12, 2), date(2026, 12, 3), PARIS)
        assert [(e.text, e.at.date(), e.at.hour) for e in found] == [
            ("Minuit", date(2026, 12, 2), 0),
            ("Parti", date(2026, 12, 3), 9),
        ]
        assert found[0].movable and not found[1].movable
        only = calendar.entries(
            session, access, date(2026, 12, 1), date(2026, 12, 31), PARIS, status="published"
        )
        assert [e.text for e in only] == ["Parti"]
        mastodon = calendar.entries(
            session, access, date(2026, 12, 1), date(2026, 12, 31), PARIS,
            channel_id=ids["mastodon"],
        )  # fmt: skip
        assert [e.text for e in mastodon] == ["Minuit"]
        assert calendar.entries(session, access, date(2026, 12, 1), date(2026, 12, 1), PARIS) == []
