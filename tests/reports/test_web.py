"""Reports over HTTP on the real app: the REST API (the CLI's forms), the pages (create,
preview, PDF, share, schedule) and a share link opened by a logged-out client."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import make_settings
from townsquare.db.base import utcnow
from townsquare.reports.models import Report, ReportShare
from townsquare.web.app import create_app

PASSWORD = "correct horse battery"
BODY = {
    "name": "March",
    "channels": ["brand"],
    "period": "2024-03-01..2024-03-31",
    "compare": "previous",
    "sections": ["overview", "formats"],
    "language": "en",
}


@pytest.fixture
def app_client(sqlite_world: Any) -> Iterator[TestClient]:
    settings = make_settings(
        sqlite_world.settings.data_dir,
        sqlite_world.database.url,
        base_url="https://ts.example.test",
    )
    with TestClient(
        create_app(settings, database=sqlite_world.database), follow_redirects=False
    ) as client:
        yield client


def _log_in(client: TestClient, email: str = "owner@acme.test") -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": client.cookies["ts_csrf"]},
    )
    assert response.status_code == 303, response.text


def test_api_forms(sqlite_world: Any, app_client: TestClient) -> None:
    headers = sqlite_world.seed.headers
    base = "/api/v1/workspaces/acme/reports"
    created = app_client.post(base, json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    assert app_client.get(base, headers=headers).json()["reports"][0]["id"] == report_id
    pdf = app_client.get(f"{base}/{report_id}/render?format=pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    xlsx = app_client.get(f"{base}/{report_id}/render", params={"format": "xlsx"}, headers=headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = app_client.get(f"{base}/{report_id}/render?format=doc", headers=headers)
    assert bad.status_code == 422 and "unknown format" in bad.text
    refused = app_client.post(base, json={**BODY, "color": "red"}, headers=headers)
    assert refused.status_code == 422 and "hexadecimal" in refused.text
    logo = app_client.post(base, json={**BODY, "logo_base64": "%%%"}, headers=headers)
    assert logo.status_code == 422
    scheduled = app_client.put(
        f"{base}/{report_id}/schedule",
        headers=headers,
        json={"every": "week", "at": "09:15", "to": ["c@example.com"]},
    )
    assert scheduled.status_code == 200 and scheduled.json()["every"] == "week"
    assert (
        app_client.get(f"{base}/{report_id}", headers=headers).json()["schedule"]["at"] == "09:15"
    )
    share = app_client.post(f"{base}/{report_id}/shares", json={"days": 3}, headers=headers)
    assert share.status_code == 201 and share.json()["url"].startswith(
        "https://ts.example.test/r/tsr_"
    )
    assert (
        app_client.delete(
            f"{base}/{report_id}/shares/{share.json()['id']}", headers=headers
        ).status_code
        == 204
    )
    assert (
        app_client.get(f"{base}/{report_id}/shares", headers=headers).json()["shares"][0]["state"]
        == "revoked"
    )
    # Another workspace's report is not found, whatever the id.
    assert (
        app_client.get(f"/api/v1/workspaces/rival/reports/{report_id}", headers=headers).status_code
        == 404
    )
    assert app_client.get(f"{base}/{report_id}", headers={}).status_code == 401


def test_pages_and_a_share_link_for_a_logged_out_client(
    sqlite_world: Any, app_client: TestClient
) -> None:
    _log_in(app_client)
    page = app_client.get("/w/acme/reports")
    assert page.status_code == 200 and "New report" in page.text
    form = {
        "csrf_token": app_client.cookies["ts_csrf"],
        "name": "Rapport client",
        "channels": "brand",
        "period": "custom",
        "from": "2024-03-01",
        "to": "2024-03-31",
        "compare": "previous",
        "report_language": "fr",
        "agency": "Agence Bleue",
        "color": "#aa3355",
        "section-overview": "on",
        "order-overview": "2",
        "section-formats": "on",
        "order-formats": "1",
    }
    created = app_client.post(
        "/w/acme/reports",
        data=form,
        files={
            "logo": (
                "logo.png",
                base64.b64decode(
                    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4"
                    "z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
                ),
                "image/png",
            )
        },
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    with sqlite_world.database.session() as session:
        report = session.scalar(select(Report))
        assert report is not None and report.sections == ["formats", "overview"]
        assert report.logo_type == "image/png"
    detail = app_client.get(url)
    assert detail.status_code == 200 and "Rapport client" in detail.text
    preview = app_client.get(f"{url}/preview")
    assert preview.status_code == 200 and "Vue d’ensemble" in preview.text
    assert app_client.get(f"{url}/render?format=pdf").content.startswith(b"%PDF")
    bad = app_client.post("/w/acme/reports", data={**form, "color": "nope"})
    assert bad.status_code == 422 and "hexadecimal" in bad.text
    shared = app_client.post(
        f"{url}/share", data={"csrf_token": app_client.cookies["ts_csrf"], "days": "7"}
    )
    assert shared.status_code == 200
    link = shared.text.split('id="share-url">', 1)[1].split("<", 1)[0]
    path = link.removeprefix("https://ts.example.test")
    scheduled = app_client.post(
        f"{url}/schedule",
        data={
            "csrf_token": app_client.cookies["ts_csrf"],
            "every": "month",
            "at": "08:00",
            "to": "client@example.com",
            "review": "on",
        },
    )
    assert scheduled.status_code == 303
    assert "Each run is held for review." in app_client.get(url).text

    # A browser with no session: the report and its PDF, and nothing else.
    with TestClient(app_client.app, follow_redirects=False) as stranger:
        opened = stranger.get(path)
        assert opened.status_code == 200 and "Rapport client" in opened.text
        assert (
            "Agence Bleue" in opened.text and opened.headers["cache-control"] == "private, no-store"
        )
        assert stranger.get(f"{path}/pdf").content.startswith(b"%PDF")
        assert stranger.get(url).status_code == 303  # the workspace wants a login
        assert stranger.get(path + "x").status_code == 404
        assert stranger.get("/r/not-a-token").status_code == 404
        with sqlite_world.database.session() as session:
            share = session.scalar(select(ReportShare))
            assert share is not None
            share.expires_at = utcnow() - timedelta(seconds=1)
            session.commit()
        assert stranger.get(path).status_code == 404
        with sqlite_world.database.session() as session:
            share = session.scalar(select(ReportShare))
            assert share is not None
            share.expires_at = utcnow() + timedelta(days=1)
            session.commit()
        assert stranger.get(path).status_code == 200
        revoke = app_client.post(
            f"{url}/shares/{share.id}/revoke", data={"csrf_token": app_client.cookies["ts_csrf"]}
        )
        assert revoke.status_code == 303
        assert stranger.get(path).status_code == 404


def test_a_member_of_another_workspace_gets_404(sqlite_world: Any, app_client: TestClient) -> None:
    created = app_client.post(
        "/api/v1/workspaces/acme/reports", json=BODY, headers=sqlite_world.seed.headers
    )
    report_id = created.json()["id"]
    _log_in(app_client, "owner@rival.test")
    assert app_client.get(f"/w/rival/reports/{report_id}").status_code == 404
    assert app_client.get(f"/w/acme/reports/{report_id}").status_code == 404


def test_measure_dashboard_compares_with_another_period(
    sqlite_world: Any, app_client: TestClient
) -> None:
    from townsquare.analytics import service as measure
    from townsquare.analytics import tables
    from townsquare.workspaces.service import WorkspaceAccess, get_workspace

    _log_in(app_client)
    page = app_client.get(
        "/w/acme/measure",
        params={
            "channel": "brand",
            "from": "2024-03-01",
            "to": "2024-03-31",
            "compare": "previous",
        },
    )
    assert page.status_code == 200, page.text
    section = page.text.split('id="comparison"')[1].split("</section>")[0]
    assert 'id="comparison-table"' in section and "2024-02-01 – 2024-02-29" in section
    with sqlite_world.database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        march = measure.measure_kpis(
            session, access, "brand", date_from="2024-03-01", date_to="2024-03-31"
        )
    rate = march["groups"][0]["kpis"]["engagement_rate_by_followers"]["mean_of_ratios"]
    row = section.split('data-kpi="engagement_rate_by_followers" data-variant="mean_of_ratios"')[1]
    cells = row.split("</tr>")[0]
    assert f'<td class="number">{tables.number(rate, "percent", "en")}</td>' in cells
    # February has no post: its column is empty, never a zero.
    assert '<td class="number"></td><td class="number"></td>' in cells
    missing = app_client.get("/w/acme/measure", params={"channel": "brand", "compare": "previous"})
    assert missing.status_code == 422 and "choose the first and last day" in missing.text
