"""Measure's web pages through real HTTP on the real app and database (SQLite and PostgreSQL).

The pages only present what ``analytics.service`` computes, so the tests compare what the
pages and their CSV exports show with the service's own result on the same database: the
web and the CLI/API can never disagree. Also: empty states, bad filters, French, and the
isolation between workspaces (a member of A gets 404 for B's Measure pages).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app

OWNER = "owner@acme.test"
PASSWORD = "correct horse battery"


@pytest.fixture
def client(db_settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def log_in(client: TestClient, email: str = OWNER, password: str = PASSWORD) -> None:
    client.get("/login")
    token = client.cookies["ts_csrf"]
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


def make_workspace(database: Database, slug: str, email: str) -> None:
    from townsquare.workspaces import service

    with database.session() as session:
        user = service.get_user_by_email(session, email) or service.create_user(
            session, email=email, password=PASSWORD, is_admin=True
        )
        service.create_workspace(session, slug, name=slug.title(), owner=user)


def add_channel(database: Database, slug: str, handle: str = "brand") -> None:
    from townsquare.channels import service as channels
    from townsquare.workspaces.service import WorkspaceAccess, get_workspace

    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, slug))
        channels.add_channel(session, access, network="rss", handle=handle, timezone="Europe/Paris")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def acme(database: Database, client: TestClient) -> TestClient:
    """The owner of ``acme`` logged in; the workspace has one channel and no post."""
    make_workspace(database, "acme", OWNER)
    log_in(client)
    return client


# --- without data ------------------------------------------------------------------------


def test_no_channel_says_how_to_start(database: Database, acme: TestClient) -> None:
    response = acme.get("/w/acme/measure")
    assert response.status_code == 200
    assert 'id="measure-empty"' in response.text
    assert 'href="/w/acme/channels"' in response.text


def test_glossary_lists_every_kpi_with_formula_unit_inputs_source(acme: TestClient) -> None:
    from townsquare.analytics import kpis

    response = acme.get("/w/acme/measure/glossary")
    assert response.status_code == 200
    for kpi in kpis.KPIS:
        assert f'id="kpi-{kpi.name}"' in response.text
    html = response.text
    assert "interactions / reach × 100" in html
    assert "Avinash Kaushik" in html
    exported = csv_rows(acme.get("/w/acme/measure/glossary?format=csv").text)
    assert [row["name"] for row in exported] == [kpi.name for kpi in kpis.KPIS]
    by_name = {row["name"]: row for row in exported}
    reach = kpis.REGISTRY["engagement_rate_by_reach"]
    assert by_name[reach.name]["formula"] == reach.formula
    assert by_name[reach.name]["unit"] == "percent"
    assert by_name[reach.name]["metrics"] == "interactions;reach"


def test_glossary_in_french(acme: TestClient) -> None:
    acme.cookies.set("ts_lang", "fr")
    response = acme.get("/w/acme/measure/glossary")
    assert "Taux d'engagement par portée" in response.text.replace("&#39;", "'")
    assert "Formule" in response.text


def test_other_workspace_is_404(database: Database, acme: TestClient) -> None:
    make_workspace(database, "globex", "boss@globex.test")
    add_channel(database, "globex")
    for path in (
        "/w/globex/measure",
        "/w/globex/measure/formats",
        "/w/globex/measure/best-times",
        "/w/globex/measure/glossary",
        "/w/globex/measure?format=csv",
    ):
        assert acme.get(path).status_code == 404, path


def test_logged_out_goes_to_login(database: Database, client: TestClient) -> None:
    make_workspace(database, "acme", OWNER)
    response = client.get("/w/acme/measure")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
