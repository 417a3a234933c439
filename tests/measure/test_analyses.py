"""The analyses through service.py on the hand-made posts, on SQLite and PostgreSQL.

Hand values (tests/measure/conftest.py HAND_POSTS): interactions p1 10, p2 30, p3 5,
p4 unknown (shares unknown); reach 100, 600, 50, unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.measure.conftest import MeasureWorld, insert_posts
from townsquare.analytics import service
from townsquare.channels.service import get_channel_by_handle
from townsquare.errors import NotFound, ValidationError
from townsquare.workspaces.service import get_workspace


def kpis_of(world: MeasureWorld, **kwargs: Any) -> dict[str, Any]:
    with world.database.session() as session:
        return service.measure_kpis(session, world.access(session), "brand", **kwargs)


def by_key(result: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {group["key"]: group for group in result["groups"]}


def test_kpis_of_all_posts_by_hand(measure_world: MeasureWorld) -> None:
    result = kpis_of(measure_world)
    (group,) = result["groups"]
    assert group["key"] == "all" and group["posts"] == 4 and group["paid_posts"] == 1
    figures = group["kpis"]
    assert figures["interactions"] == pytest.approx(15.0)  # mean of 10, 30, 5 (p4 unknown)
    assert figures["engagement_rate_by_reach"]["mean_of_ratios"] == pytest.approx(25 / 3)
    assert figures["engagement_rate_by_reach"]["ratio_of_sums"] == pytest.approx(6.0)
    assert figures["engaged_users_by_reach"]["mean_of_ratios"] == pytest.approx(12.5)
    assert figures["engaged_users_by_reach"]["ratio_of_sums"] == pytest.approx(50 / 7)
    # p4 has comments and followers: conversation uses all four posts
    assert figures["conversation_rate"]["n"] == 4
    assert figures["conversation_rate"]["ratio_of_sums"] == pytest.approx(7 / 4030 * 100)
    # Mon 4 March: (10 + 5) / 1010, Tue 5 March: 30 / 1000 (Paris days)
    daily = figures["daily_engagement_rate"]
    assert daily["mean_of_ratios"] == pytest.approx((15 / 1010 + 0.03) / 2 * 100, rel=1e-5)
    assert daily["ratio_of_sums"] == pytest.approx(45 / 2010 * 100, rel=1e-5)
    assert figures["audience_growth_rate"] == pytest.approx(3.0)
    assert result["audience"]["first"] == {"date": "2024-03-01", "followers": 1000}


def test_kpis_by_format_paid_month_weekday_hour(measure_world: MeasureWorld) -> None:
    formats = by_key(kpis_of(measure_world, by="format"))
    assert sorted(formats) == ["photo", "status", "video"]  # lower case ("Video" stored)
    photo = formats["photo"]["kpis"]["engagement_rate_by_reach"]
    assert photo["mean_of_ratios"] == pytest.approx(7.5)
    assert photo["ratio_of_sums"] == pytest.approx(40 / 700 * 100)
    status = formats["status"]
    assert status["kpis"]["engagement_rate_by_reach"]["mean_of_ratios"] is None
    assert "reach" in status["missing"]["engagement_rate_by_reach"]
    assert status["kpis"]["interactions"] is None  # shares unknown: not 4
    assert "audience_growth_rate" in status["missing"]

    paid = by_key(kpis_of(measure_world, by="paid"))
    assert paid["paid"]["posts"] == 1 and paid["organic"]["posts"] == 3

    months = by_key(kpis_of(measure_world, by="month"))
    assert sorted(months) == ["2024-03", "2024-04"]
    assert months["2024-03"]["kpis"]["audience_growth_rate"] == pytest.approx(1.0)
    assert months["2024-04"]["kpis"]["audience_growth_rate"] is None

    weekdays = by_key(kpis_of(measure_world, by="weekday"))
    assert {k: g["posts"] for k, g in weekdays.items()} == {1: 3, 2: 1}
    hours = by_key(kpis_of(measure_world, by="hour"))
    assert {k: g["posts"] for k, g in hours.items()} == {9: 2, 10: 1, 18: 1}


def test_date_filters_are_local_days(measure_world: MeasureWorld) -> None:
    result = kpis_of(measure_world, date_from="2024-03-05", date_to="2024-03-31")
    assert result["groups"][0]["posts"] == 1  # only p2
    organic = kpis_of(measure_world, paid="organic")
    assert organic["groups"][0]["posts"] == 3
    empty = kpis_of(measure_world, date_from="2025-01-01")
    assert empty["groups"] == [] and empty["posts"] == 0


def test_formats_comparison(measure_world: MeasureWorld) -> None:
    with measure_world.database.session() as session:
        result = service.measure_formats(
            session, measure_world.access(session), "brand", metric="engagement_rate_by_reach"
        )
    assert result["metric"] == "engagement_rate_by_reach"
    assert [g["key"] for g in result["groups"]] == ["video", "photo"]  # by median, high first
    photo = result["groups"][1]
    assert photo["n"] == 2 and photo["median"] == pytest.approx(7.5)
    assert photo["paid_posts"] == 1  # p2 is paid: shown apart, not hidden in the median
    assert photo["small_sample"] is True
    assert photo["ci_low"] == pytest.approx(5.0) and photo["ci_high"] == pytest.approx(10.0)
    assert result["test"]["name"] == "kruskal-wallis"
    assert set(result["pairwise"][0]) >= {"a", "b", "p_value", "p_adjusted", "effect_size"}
    assert result["posts_without_value"] == 1


def test_best_times_cells_and_recommendations(measure_world: MeasureWorld) -> None:
    with measure_world.database.session() as session:
        result = service.measure_best_times(
            session, measure_world.access(session), "brand", metric="interactions", min_posts=1
        )
    assert result["timezone"] == "Europe/Paris"
    cells = {(c["weekday"], c["hour"]): c for c in result["cells"]}
    # p4 (Monday 9:00) has unknown interactions: it is not a zero in the Monday 9:00 cell
    assert cells[(1, 9)]["n"] == 1 and cells[(1, 9)]["median"] == 10
    assert cells[(2, 10)]["median"] == 30
    assert "total" not in str(result["cells"])
    best = result["recommended"][0]
    assert (best["weekday"], best["hour"]) == (2, 10)
    assert "Tuesday 10:00" in best["evidence"]
    assert best["paid_posts"] == 1 and "1 of these posts were paid" in best["evidence"]
    assert cells[(1, 9)]["paid_posts"] == 0
    strict = _best(measure_world, min_posts=10)
    assert strict["recommended"] == []


def _best(world: MeasureWorld, **kwargs: Any) -> dict[str, Any]:
    with world.database.session() as session:
        return service.measure_best_times(
            session, world.access(session), "brand", metric="interactions", **kwargs
        )


def test_same_seed_same_answer(measure_world: MeasureWorld) -> None:
    assert _best(measure_world, seed=5) == _best(measure_world, seed=5)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"by": "colour"}, "by", "format, weekday"),
        ({"by": "formats"}, "by", "did you mean format"),
        ({"date_from": "31/12/2024"}, "from", "YYYY-MM-DD"),
        ({"date_from": "2024-05-01", "date_to": "2024-04-01"}, "from", "swap"),
        ({"paid": "boosted"}, "paid", "organic"),
    ],
)
def test_bad_input_is_refused_clearly(
    sqlite_measure_world: MeasureWorld, kwargs: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        kpis_of(sqlite_measure_world, **kwargs)
    assert caught.value.field == field
    assert words in caught.value.message


def test_unknown_metric_and_channel(sqlite_measure_world: MeasureWorld) -> None:
    world = sqlite_measure_world
    with world.database.session() as session:
        access = world.access(session)
        with pytest.raises(ValidationError, match="did you mean interactions"):
            service.measure_formats(session, access, "brand", metric="interaction")
        with pytest.raises(NotFound, match="no channel 'nope'"):
            service.measure_kpis(session, access, "nope")


def test_other_workspace_sees_only_its_own_posts(measure_world: MeasureWorld) -> None:
    with measure_world.database.session() as session:
        rival = service.measure_kpis(session, measure_world.access(session, "rival"), "brand")
    assert rival["groups"][0]["posts"] == 1


def test_workspace_may_count_clicks_as_interactions(measure_world: MeasureWorld) -> None:
    with measure_world.database.session() as session:
        workspace = get_workspace(session, "acme")
        workspace.settings = {"interactions_include": ["clicks"]}
        session.commit()
    result = kpis_of(measure_world)
    assert result["interactions"] == ["reactions", "comments", "shares", "clicks"]
    # p1 10 + 4 clicks, p2 30 + 10; p3's clicks are unknown so its interactions are too
    assert result["groups"][0]["kpis"]["interactions"] == pytest.approx(27.0)
    assert result["groups"][0]["kpis"]["engagement_rate_by_reach"]["n"] == 2


def test_empty_period_gives_empty_answers_not_errors(sqlite_measure_world: MeasureWorld) -> None:
    world = sqlite_measure_world
    with world.database.session() as session:
        access = world.access(session)
        formats = service.measure_formats(
            session, access, "brand", metric="reach", date_from="2030-01-01"
        )
        best = service.measure_best_times(
            session, access, "brand", metric="reach", date_from="2030-01-01"
        )
    assert formats["groups"] == [] and formats["pairwise"] == []
    assert formats["test"]["p_value"] is None and formats["test"]["reason"]
    assert best["cells"] == [] and best["recommended"] == []
    assert best["overall"]["n"] == 0 and best["overall"]["median"] is None


def test_weekday_and_hour_computed_in_the_channel_time_zone(
    measure_world: MeasureWorld,
) -> None:
    """A source without local weekday/hour: they come from the instant, in Paris time."""
    instant = datetime(2024, 3, 4, 23, 30, tzinfo=UTC)  # Monday in UTC, Tuesday 00:30 Paris
    with measure_world.database.session() as session:
        channel = get_channel_by_handle(session, measure_world.access(session), "brand")
        insert_posts(
            session,
            channel,
            [
                {
                    "external_id": "late",
                    "format": "photo",
                    "local": instant,
                    "local_weekday": None,
                    "local_hour": None,
                    "metrics": {"reactions": 7, "comments": 0, "shares": 0},
                }
            ],
        )
    result = _best(measure_world, min_posts=1)
    cells = {(c["weekday"], c["hour"]): c for c in result["cells"]}
    assert cells[(2, 0)]["median"] == 7
    hours = by_key(kpis_of(measure_world, by="hour"))
    assert hours[0]["posts"] == 1
