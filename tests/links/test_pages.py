"""Links' pages through the real app (TestClient) in English and French."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings, seed_workspace
from tests.links.conftest import add_click
from townsquare.db import Database
from townsquare.links import service
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

PASSWORD = "correct horse battery"
# Checks that do not depend on the database run on SQLite only, to stay fast.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def client(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    from townsquare.web.app import create_app

    seed_workspace(database)
    seed_workspace(database, slug="other", email="o@other.test")
    settings = make_settings(tmp_path, database.url, links_base_url="https://go.example.com")
    with TestClient(create_app(settings, database=database), follow_redirects=False) as client:
        client.get("/login")
        done = client.post(
            "/login",
            data={
                "email": "owner@acme.test",
                "password": PASSWORD,
                "csrf_token": client.cookies["ts_csrf"],
            },
        )
        assert done.status_code == 303, done.text
        yield client


def _post(client: TestClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": client.cookies["ts_csrf"], **data})


def test_create_from_the_page_and_see_it(client: TestClient, database: Database) -> None:
    page = client.get("/w/acme/links")
    assert page.status_code == 200 and "Create a short link" in page.text
    preview = client.get(
        "/w/acme/links/preview",
        params={"target_url": "https://shop.example/?a=1", "utm_source": "flyer"},
    )
    assert "https://shop.example/?a=1&amp;utm_source=flyer" in preview.text
    refused = client.get("/w/acme/links/preview", params={"target_url": "javascript:x"})
    assert "&#39;javascript:&#39; scheme" in refused.text

    created = _post(
        client,
        "/w/acme/links",
        {
            "target_url": "https://shop.example/?a=1",
            "slug": "Flyer",
            "utm_source": "flyer",
            "tags": "print, spring",
            "campaign": "spring",
            "max_clicks": "",
        },
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/w/acme/links/flyer"
    listed = client.get("/w/acme/links")
    assert "https://go.example.com/flyer" in listed.text

    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        link = service.get_link(session, access, "flyer")
        add_click(session, link.id, access.workspace_id, day=date(2026, 4, 2), referrer="t.co")
        add_click(session, link.id, access.workspace_id, day=date(2026, 4, 2), is_bot=True)
        session.commit()
    detail = client.get("/w/acme/links/flyer")
    assert detail.status_code == 200
    assert 'id="human-clicks">1<' in detail.text and 'id="bot-clicks">1<' in detail.text
    assert "clicks-chart-spec" in detail.text and "t.co" in detail.text
    qr = client.get(
        "/w/acme/links/flyer/qr", params={"format": "png", "size": "200", "download": "1"}
    )
    assert qr.status_code == 200 and qr.content[:4] == b"\x89PNG"
    assert qr.headers["content-disposition"].startswith("attachment")
    assert client.get("/w/acme/links/flyer/stats.csv").text.startswith("date,human,bot")
    assert "Statistics of tag print" in client.get("/w/acme/link-stats?tag=print").text
    ranged = client.get("/w/acme/links/flyer", params={"since": "2026-04-03"})
    assert 'id="human-clicks">0<' in ranged.text and 'value="2026-04-03"' in ranged.text
    assert client.get("/w/acme/links/flyer", params={"since": "April"}).status_code == 422
    assert client.get("/w/acme/link-stats").status_code == 200

    edited = _post(
        client,
        "/w/acme/links/flyer/edit",
        {"target_url": "https://shop.example/new", "utm_source": "flyer", "tags": "print"},
    )
    assert edited.status_code == 303
    assert _post(client, "/w/acme/links/flyer/disable", {}).status_code == 303
    assert "Disabled" in client.get("/w/acme/links/flyer").text
    assert _post(client, "/w/acme/links/flyer/enable", {}).status_code == 303
    deleted = _post(client, "/w/acme/links/flyer/delete", {"keep_clicks": "delete"})
    assert deleted.headers["location"] == "/w/acme/links?deleted=flyer&clicks=deleted"
    assert "deleted with its clicks" in client.get(deleted.headers["location"]).text


BAD_FORMS: list[tuple[dict[str, str], str]] = [
    ({"target_url": "file:///etc/passwd"}, "&#39;file:&#39; scheme"),
    ({"target_url": "https://a.example", "slug": "login"}, "reserved"),
    ({"target_url": "https://a.example", "max_clicks": "-4"}, "at least 1"),
    ({"target_url": "https://go.example.com/x"}, "loop"),
]


@sqlite_only
def test_form_errors_keep_values(client: TestClient) -> None:
    for data, words in BAD_FORMS:
        response = _post(client, "/w/acme/links", data)
        assert response.status_code == 422
        assert words in response.text
        assert 'aria-invalid="true"' in response.text
        assert f'value="{data["target_url"]}"' in response.text  # what was typed stays
        assert "No short link yet." in response.text


def test_other_workspace_gets_404(client: TestClient, database: Database, tmp_path: Path) -> None:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "other"))
        service.create_link(
            session,
            access,
            make_settings(tmp_path, database.url),
            target_url="https://b.example",
            slug="theirs",
        )
    assert client.get("/w/other/links").status_code == 404
    assert client.get("/w/acme/links/theirs").status_code == 404
    assert _post(client, "/w/acme/links/theirs/delete", {}).status_code == 404


@sqlite_only
def test_french_page(client: TestClient) -> None:
    client.cookies.set("ts_lang", "fr")
    page = client.get("/w/acme/links", headers={"accept-language": "fr"})
    assert "Créer un lien court" in page.text


@sqlite_only
def test_link_attached_to_a_post_shows_click_through_rate(
    client: TestClient, database: Database
) -> None:
    from datetime import UTC, datetime

    from townsquare.analytics.models import Post, PostLatestMetrics
    from townsquare.channels.models import Channel

    with database.session() as session:
        workspace = get_workspace(session, "acme")
        channel = Channel(workspace_id=workspace.id, network="facebook", handle="acme")
        session.add(channel)
        session.flush()
        post = Post(
            workspace_id=workspace.id,
            channel_id=channel.id,
            external_id="p1",
            format="link",
            text="Spring is here",
            published_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
        session.add(post)
        session.flush()
        session.add(
            PostLatestMetrics(
                post_id=post.id, taken_at=datetime(2026, 3, 2, tzinfo=UTC), impressions=200
            )
        )
        session.commit()
        post_id = post.id
    page = client.get("/w/acme/links")
    # The picker names the post by its date, its channel and its text, not by an id.
    assert "2026-03-01 · acme (Facebook) · Spring is here" in page.text
    created = _post(
        client,
        "/w/acme/links",
        {"target_url": "https://a.example", "slug": "spring", "post_id": str(post_id)},
    )
    assert created.status_code == 303, created.text
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        link = service.get_link(session, access, "spring")
        assert link.post_id == post_id
        add_click(session, link.id, access.workspace_id, day=date(2026, 3, 2))
        session.commit()
    detail = client.get("/w/acme/links/spring")
    assert 'id="ctr">0.50 %' in detail.text
    bad = _post(client, "/w/acme/links", {"target_url": "https://a.example", "post_id": "x"})
    assert bad.status_code == 422 and "invalid post" in bad.text


@sqlite_only
def test_editing_an_expired_link_keeps_its_expiry(client: TestClient, database: Database) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from townsquare.links.models import Link

    _post(
        client,
        "/w/acme/links",
        {"target_url": "https://a.example", "slug": "old", "expires_at": "2099-06-30"},
    )
    past = datetime.now(UTC) - timedelta(days=2)
    with database.session() as session:
        session.execute(update(Link).where(Link.slug == "old").values(expires_at=past))
        session.commit()
    page = client.get("/w/acme/links/old")
    shown = service.expiry_day(past, timezone="UTC")
    assert f'name="expires_at" value="{shown}"' in page.text
    edited = _post(
        client,
        "/w/acme/links/old/edit",
        {"target_url": "https://b.example", "expires_at": shown},
    )
    assert edited.status_code == 303, edited.text
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        link = service.get_link(session, access, "old")
        assert link.target_url == "https://b.example/"
        assert link.expires_at is not None
        assert abs((link.expires_at - past).total_seconds()) < 1


@sqlite_only
def test_viewer_reads_but_cannot_create(database: Database, tmp_path: Path) -> None:
    from townsquare.web.app import create_app
    from townsquare.workspaces import service as workspaces

    seed_workspace(database)
    with database.session() as session:
        workspaces.create_user(session, email="viewer@acme.test", password=PASSWORD)
        owner = WorkspaceAccess.operator(get_workspace(session, "acme"))
        workspaces.add_member(session, owner, email="viewer@acme.test", role="viewer")
        service.create_link(
            session,
            owner,
            make_settings(tmp_path, database.url),
            target_url="https://a.example",
            slug="seen",
        )
    app = create_app(make_settings(tmp_path, database.url), database=database)
    with TestClient(app, follow_redirects=False) as viewer:
        viewer.get("/login")
        viewer.post(
            "/login",
            data={
                "email": "viewer@acme.test",
                "password": PASSWORD,
                "csrf_token": viewer.cookies["ts_csrf"],
            },
        )
        page = viewer.get("/w/acme/links")
        assert page.status_code == 200 and "seen" in page.text
        assert "Create a short link" not in page.text
        assert 'id="edit-link"' not in viewer.get("/w/acme/links/seen").text
        refused = _post(viewer, "/w/acme/links", {"target_url": "https://b.example"})
        assert refused.status_code == 403
        assert _post(viewer, "/w/acme/links/seen/disable", {}).status_code == 403
