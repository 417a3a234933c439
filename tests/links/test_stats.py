"""Click statistics on SQLite and PostgreSQL: human and bot apart, unique visitors per day,
breakdowns, scopes (link, tag, campaign, workspace), date ranges and click-through rate."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.links.conftest import LinksEnv, add_click
from townsquare.analytics.models import Post, PostLatestMetrics
from townsquare.channels.models import Channel
from townsquare.links import service, stats


def test_figures_by_scope(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        access = links_env.access(session)
        ws = access.workspace_id
        a = service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://a.example",
            slug="a",
            tags=["promo"],
            campaign="spring",
        )
        b = service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://b.example",
            slug="b",
            tags=["promo", "other"],
        )
        day1, day3 = date(2026, 2, 1), date(2026, 2, 3)
        # Link a: visitor v1 twice on day 1 (one unique), v1 again on day 3 (another day:
        # counted again), v2 on day 3 from mobile via t.co, and a bot.
        add_click(session, a.id, ws, day=day1, visitor="v1")
        add_click(session, a.id, ws, day=day1, visitor="v1")
        add_click(session, a.id, ws, day=day3, visitor="v1")
        add_click(
            session,
            a.id,
            ws,
            day=day3,
            visitor="v2",
            referrer="t.co",
            device="mobile",
            os="Android",
            browser="Chrome Mobile",
            country="FR",
        )
        add_click(session, a.id, ws, day=day3, is_bot=True, visitor="bot")
        add_click(session, b.id, ws, day=day1, visitor="v9")
        session.commit()

        figures = stats.link_stats(session, access, "A")
        assert figures["clicks"] == {"human": 4, "bot": 1, "total": 5}
        assert figures["unique_visitors"] == 3  # v1 on day 1, v1 and v2 on day 3
        assert figures["by_day"] == [
            {"date": "2026-02-01", "human": 2, "bot": 0, "unique_visitors": 1},
            {"date": "2026-02-02", "human": 0, "bot": 0, "unique_visitors": 0},
            {"date": "2026-02-03", "human": 2, "bot": 1, "unique_visitors": 2},
        ]
        assert figures["referrers"] == [
            {"referrer": "direct", "clicks": 3},
            {"referrer": "t.co", "clicks": 1},
        ]
        assert figures["devices"] == [
            {"device": "desktop", "clicks": 3},
            {"device": "mobile", "clicks": 1},
        ]
        assert {"os": "Android", "clicks": 1} in figures["os"]
        assert {"browser": "Chrome Mobile", "clicks": 1} in figures["browsers"]
        assert figures["countries"] == [
            {"country": "unknown", "clicks": 3},
            {"country": "FR", "clicks": 1},
        ]
        assert figures["click_through_rate"] is None

        ranged = stats.link_stats(session, access, "a", since=day3, until=date(2026, 2, 4))
        assert ranged["clicks"]["human"] == 2
        assert [d["date"] for d in ranged["by_day"]] == ["2026-02-03", "2026-02-04"]

        assert stats.tag_stats(session, access, "PROMO")["clicks"]["human"] == 5
        assert stats.tag_stats(session, access, "other")["clicks"]["human"] == 1
        assert stats.campaign_stats(session, access, "spring")["clicks"]["total"] == 5
        assert stats.tag_stats(session, access, "none")["clicks"]["total"] == 0

        service.delete_link(session, access, "b", keep_clicks=True)
        whole = stats.workspace_stats(session, access)
        assert whole["clicks"]["human"] == 5  # b's kept click still counts
        assert whole["links"] == 1
        csv_text = stats.daily_csv(whole)
        assert csv_text.splitlines()[1] == "2026-02-01,3,0,2"


def test_click_through_rate_from_post_impressions(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        access = links_env.access(session)
        channel = Channel(workspace_id=access.workspace_id, network="facebook", handle="acme")
        session.add(channel)
        session.flush()
        post = Post(
            workspace_id=access.workspace_id,
            channel_id=channel.id,
            external_id="p1",
            format="link",
            published_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
        session.add(post)
        session.flush()
        session.add(
            PostLatestMetrics(
                post_id=post.id,
                taken_at=datetime(2026, 2, 2, tzinfo=UTC),
                impressions=400,
            )
        )
        session.commit()
        link = service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://a.example",
            slug="p",
            post_id=post.id,
        )
        for visitor in ("v1", "v2", "v3"):
            add_click(session, link.id, access.workspace_id, day=date(2026, 2, 2), visitor=visitor)
        add_click(session, link.id, access.workspace_id, day=date(2026, 2, 2), is_bot=True)
        session.commit()
        figures = stats.link_stats(session, access, "p")
        assert figures["impressions"] == 400
        assert figures["click_through_rate"] == 3 / 400  # bots never count
        assert stats.workspace_stats(session, access)["click_through_rate"] == 3 / 400


def test_post_of_another_workspace_is_refused(links_env: LinksEnv) -> None:
    import pytest

    from townsquare.errors import NotFound

    with links_env.database.session() as session, pytest.raises(NotFound):
        service.create_link(
            session,
            links_env.access(session),
            links_env.settings,
            target_url="https://a.example",
            post_id=999,
        )
