"""The Links REST API over a real HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from tests.conftest import Seed, ServerThread, seed_workspace
from tests.links.conftest import add_click
from townsquare.db import Database
from townsquare.links import service
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

BASE = "/api/v1/workspaces/acme/links"


@pytest.fixture
def client(live_server: ServerThread, seed: Seed) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, headers=seed.headers, timeout=30)


def test_crud_round_trip(client: httpx.Client, database: Database) -> None:
    created = client.post(
        BASE,
        json={
            "target_url": "https://shop.example/a?x=1",
            "slug": "Spring",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "tags": ["Promo"],
            "campaign": "spring",
            "max_clicks": 10,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == "spring"
    assert body["short_url"].endswith("/spring")
    assert body["target_url"] == "https://shop.example/a?x=1&utm_source=newsletter&utm_medium=email"
    assert body["tags"] == ["promo"]

    assert [link["slug"] for link in client.get(BASE).json()] == ["spring"]
    assert client.get(BASE, params={"tag": "promo"}).json()[0]["slug"] == "spring"
    assert client.get(BASE, params={"tag": "other"}).json() == []

    patched = client.patch(
        f"{BASE}/spring", json={"target_url": "https://shop.example/b", "utm_medium": None}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["target_url"] == "https://shop.example/b?utm_source=newsletter"
    assert client.post(f"{BASE}/spring/disable").json()["is_enabled"] is False
    assert client.post(f"{BASE}/spring/enable").json()["is_enabled"] is True
    assert client.patch(f"{BASE}/spring", json={"is_enabled": False}).json()["is_enabled"] is False

    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        link = service.get_link(session, access, "spring")
        add_click(session, link.id, access.workspace_id, day=date(2026, 3, 1), referrer="t.co")
        add_click(session, link.id, access.workspace_id, day=date(2026, 3, 1), visitor="v2")
        add_click(session, link.id, access.workspace_id, day=date(2026, 3, 3), is_bot=True)
        session.commit()

    stats = client.get(f"{BASE}/spring/stats").json()
    assert stats["clicks"] == {"human": 2, "bot": 1, "total": 3}
    assert stats["unique_visitors"] == 2
    assert [d["date"] for d in stats["by_day"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert stats["referrers"][0] in (
        {"referrer": "direct", "clicks": 1},
        {"referrer": "t.co", "clicks": 1},
    )
    assert stats["devices"] == [{"device": "desktop", "clicks": 2}]

    csv_text = client.get(f"{BASE}/spring/stats.csv").text
    assert csv_text.splitlines()[0] == "date,human,bot,unique_visitors"
    assert "2026-03-01,2,0,2" in csv_text
    clicks_csv = client.get(f"{BASE}/spring/clicks.csv").text
    assert len(clicks_csv.splitlines()) == 4
    by_tag = client.get("/api/v1/workspaces/acme/link-stats", params={"tag": "promo"}).json()
    assert by_tag["clicks"]["human"] == 2 and by_tag["links"] == 1
    by_campaign = client.get(
        "/api/v1/workspaces/acme/link-stats", params={"campaign": "spring"}
    ).json()
    assert by_campaign["clicks"]["bot"] == 1
    whole = client.get("/api/v1/workspaces/acme/link-stats").json()
    assert whole["scope"] == {"kind": "workspace", "value": "acme"}

    svg = client.get(f"{BASE}/spring/qr.svg", params={"dark": "#112233"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert 'stroke="#123"' in svg.text  # segno writes #112233 in its short form
    png = client.get(f"{BASE}/spring/qr.png", params={"size": 300})
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"

    deleted = client.delete(f"{BASE}/spring")
    assert deleted.json() == {"slug": "spring", "deleted": True, "clicks_kept": True, "clicks": 3}
    assert client.get(f"{BASE}/spring").status_code == 404
    # Kept clicks still count for the workspace.
    assert client.get("/api/v1/workspaces/acme/link-stats").json()["clicks"]["total"] == 3


BAD_CREATE: list[tuple[dict[str, object], int, str]] = [
    ({"target_url": "javascript:alert(1)"}, 422, "target_url"),
    ({"target_url": "https://a.example", "slug": "static"}, 422, "slug"),
    ({"target_url": "https://a.example", "expires_at": "2020-01-01"}, 422, "expires_at"),
    ({"target_url": "https://a.example", "max_clicks": -2}, 422, "max_clicks"),
]


def test_bad_input(client: httpx.Client) -> None:
    for body, status, field in BAD_CREATE:
        response = client.post(BASE, json=body)
        assert response.status_code == status, response.text
        assert response.json()["error"]["field"] == field
    assert client.get(BASE).json() == []


def test_duplicate_bad_qr_and_isolation(
    client: httpx.Client, live_server: ServerThread, database: Database
) -> None:
    assert client.post(BASE, json={"target_url": "https://a.example", "slug": "x1"}).is_success
    dup = client.post(BASE, json={"target_url": "https://b.example", "slug": "X1"})
    assert dup.status_code == 409 and "already taken" in dup.json()["error"]["message"]
    bad = client.get(f"{BASE}/x1/qr.svg", params={"light": "#000"})
    assert bad.status_code == 422 and "same" in bad.json()["error"]["message"]
    assert client.get(f"{BASE}/x1/qr.png", params={"scale": 99}).status_code == 422

    other = seed_workspace(database, slug="other", email="o@other.test")
    with httpx.Client(base_url=live_server.url, headers=other.headers) as stranger:
        for method, path in [
            ("GET", f"{BASE}/x1"),
            ("GET", f"{BASE}/x1/stats"),
            ("DELETE", f"{BASE}/x1"),
            ("GET", BASE),
        ]:
            assert stranger.request(method, path).status_code == 404
        # Their own workspace does not see acme's link either.
        assert stranger.get("/api/v1/workspaces/other/links/x1").status_code == 404
        assert stranger.get("/api/v1/workspaces/other/links").json() == []
    assert client.get(f"{BASE}/x1").status_code == 200
