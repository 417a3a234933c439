"""Queue slots: parsing, set/list with roles, next free slot across DST, and recommended
slots from Measure's best times with their evidence (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.measure.conftest import insert_posts
from tests.publish.service_env import PublishEnv, make_env
from townsquare.channels.models import Channel
from townsquare.db import Database
from townsquare.errors import PermissionDenied, ValidationError
from townsquare.publish import slots

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def env(database: Database, data_dir: Path) -> Iterator[PublishEnv]:
    yield make_env(database, data_dir)


def test_parse_slots() -> None:
    parsed = slots.parse_slots("mon 09:00, Wednesday 17:30,mon 9:00, sun 23:59")
    assert [slot.label for slot in parsed] == ["mon 09:00", "wed 17:30", "sun 23:59"]
    assert slots.parse_slots("") == []
    with pytest.raises(ValidationError, match="invalid queue slot 'noon'"):
        slots.parse_slots("noon")
    with pytest.raises(ValidationError, match="hours 00-23"):
        slots.parse_slots("mon 24:00")
    with pytest.raises(ValidationError, match="invalid queue slot 'xyz 09:00'"):
        slots.parse_slots("xyz 09:00")


def test_set_and_list_need_an_editor(env: PublishEnv) -> None:
    with env.database.session() as session:
        channel = session.get(Channel, env.mastodon_id)
        assert channel is not None
        with pytest.raises(PermissionDenied):
            slots.set_slots(
                session, env.as_role(session, "contributor"), channel, slots.parse_slots("mon 9:00")
            )
        editor = env.as_role(session, "editor")
        slots.set_slots(session, editor, channel, slots.parse_slots("tue 10:00, mon 9:00"))
        assert [s.label for s in slots.list_slots(session, editor, channel)] == [
            "mon 09:00",
            "tue 10:00",
        ]
        slots.set_slots(session, editor, channel, [])
        assert slots.list_slots(session, editor, channel) == []


def test_ambiguous_slot_takes_the_first_occurrence() -> None:
    # Sunday 25 October 2026 02:30 happens twice in Paris: the first one (CEST, 00:30 UTC).
    found = list(
        slots.occurrences(
            [slots.Slot(6, "02:30")], "Europe/Paris", datetime(2026, 10, 24, tzinfo=UTC), days=2
        )
    )
    assert found == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


def test_recommended_slots_from_best_times(env: PublishEnv) -> None:
    def post(number: int, day: int, hour: int, interactions: int) -> dict[str, object]:
        return {
            "external_id": f"m{number}",
            "format": "status",
            "local": datetime(2024, 3, day, hour, 0, tzinfo=PARIS),
            "metrics": {"reactions": interactions, "comments": 0, "shares": 0},
        }

    # Mondays 09:00 do better than Tuesdays 18:00.
    posts = [post(i, 4 + 7 * i, 9, 40 + i) for i in range(3)]
    posts += [post(10 + i, 5 + 7 * i, 18, 2 + i) for i in range(3)]
    with env.database.session() as session:
        channel = session.get(Channel, env.mastodon_id)
        assert channel is not None
        insert_posts(session, channel, posts)
        found = slots.recommended_slots(
            session, env.as_role(session, "contributor"), channel, min_posts=2
        )
        empty_channel = session.get(Channel, env.bluesky_id)
        assert empty_channel is not None
        nothing = slots.recommended_slots(session, env.operator(session), empty_channel)
    assert [item.slot.label for item in found] == ["mon 09:00", "tue 18:00"]
    best = found[0].as_json()
    assert best["n"] == 3 and best["median"] == 41
    assert "median 41 over 3 posts" in str(best["evidence"])
    assert best["metric"] == "interactions"
    assert nothing == []
