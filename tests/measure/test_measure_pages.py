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
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import data_file
from tests.measure.conftest import MeasureWorld
from townsquare.analytics import service, tables
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

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


# --- without data (nothing here depends on the database engine: SQLite only) ---------------


@pytest.fixture
def sqlite_client(settings: Settings, sqlite_database: Database) -> Iterator[TestClient]:
    app = create_app(settings, database=sqlite_database)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def acme(sqlite_database: Database, sqlite_client: TestClient) -> TestClient:
    """The owner of ``acme`` logged in; the workspace has no channel yet."""
    make_workspace(sqlite_database, "acme", OWNER)
    log_in(sqlite_client)
    return sqlite_client


def test_no_channel_says_how_to_start(acme: TestClient) -> None:
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


def test_other_workspace_is_404(sqlite_database: Database, acme: TestClient) -> None:
    make_workspace(sqlite_database, "globex", "boss@globex.test")
    add_channel(sqlite_database, "globex")
    for path in (
        "/w/globex/measure",
        "/w/globex/measure/formats",
        "/w/globex/measure/best-times",
        "/w/globex/measure/glossary",
        "/w/globex/measure?format=csv",
    ):
        assert acme.get(path).status_code == 404, path


def test_logged_out_goes_to_login(sqlite_database: Database, sqlite_client: TestClient) -> None:
    make_workspace(sqlite_database, "acme", OWNER)
    response = sqlite_client.get("/w/acme/measure")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- with the hand-made posts of tests/measure/conftest.py -------------------------------


@pytest.fixture
def world(measure_world: MeasureWorld, client: TestClient) -> TestClient:
    """The owner of ``acme`` logged in; channel ``brand`` holds the hand-made posts."""
    log_in(client)
    return client


def computed(database: Database, what: str, **kwargs: Any) -> dict[str, Any]:
    """What the service says, on the same database, for the CSV to be compared with."""
    function = getattr(service, f"measure_{what}")
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        result: dict[str, Any] = function(session, access, "brand", **kwargs)
        return result


def same_figures(exported: list[dict[str, str]], rows: list[dict[str, Any]]) -> None:
    """CSV cells hold exactly the service's values: floats round-trip, unknown is empty."""
    assert len(exported) == len(rows)
    for got, want in zip(exported, rows, strict=True):
        for column, value in want.items():
            if isinstance(value, dict | list):
                continue
            cell = got[column]
            if value is None:
                assert cell == "", (column, cell)
            elif isinstance(value, bool):
                assert cell == str(value).lower(), column
            elif isinstance(value, float):
                assert float(cell) == value, (column, cell, value)
            else:
                assert cell == str(value), (column, cell, value)


def test_dashboard_shows_kpis_two_ways_and_paid_apart(
    measure_world: MeasureWorld, world: TestClient
) -> None:
    response = world.get("/w/acme/measure?by=format")
    assert response.status_code == 200
    html = response.text
    assert 'id="kpi-table"' in html and 'id="paid-table"' in html
    assert "mean of ratios" in html and "ratio of sums" in html
    # photo: engagement rate by reach 7.5 % (mean of ratios) vs 5.71 % (ratio of sums)
    assert "7.50%" in html and "5.71%" in html
    # Unknown is shown as unknown, with the service's reason, never as 0.
    assert 'title="no post has reach' in html
    # The chart spec is embedded for vega-embed, the slow sections come by htmx.
    assert 'id="kpi-chart-spec"' in html and "vega-embed-7.1.0.min.js" in html
    assert 'hx-get="/w/acme/measure/formats?' in html
    assert 'hx-get="/w/acme/measure/best-times?' in html
    assert "Audience: 1,000 followers on 2024-03-01, 1,030 on 2024-04-30" in html


def test_kpi_csv_holds_the_service_figures(measure_world: MeasureWorld, world: TestClient) -> None:
    database = measure_world.database
    for by in ("format", "weekday", "hour", "month", "paid"):
        response = world.get(f"/w/acme/measure?by={by}&format=csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert f"kpis-by-{by}" in response.headers["content-disposition"]
        rows, columns = tables.kpi_rows(computed(database, "kpis", by=by)["groups"])
        exported = csv_rows(response.text)
        assert list(exported[0]) == columns
        same_figures(exported, rows)
    paid = csv_rows(world.get("/w/acme/measure?by=format&format=csv&table=paid").text)
    same_figures(paid, tables.kpi_rows(computed(database, "kpis", by="paid")["groups"])[0])
    assert {row["key"] for row in paid} == {"paid", "organic"}
    # The period and the paid filter reach the service.
    march = csv_rows(
        world.get(
            "/w/acme/measure?by=none&from=2024-03-01&to=2024-03-31&paid=organic&format=csv"
        ).text
    )
    expected = computed(
        database, "kpis", date_from="2024-03-01", date_to="2024-03-31", paid="organic"
    )
    same_figures(march, tables.kpi_rows(expected["groups"])[0])
    assert march[0]["posts"] == "2"


def test_formats_page_explains_and_exports(measure_world: MeasureWorld, world: TestClient) -> None:
    database = measure_world.database
    response = world.get("/w/acme/measure/formats?metric=engagement_rate_by_reach")
    assert response.status_code == 200
    html = response.text
    assert 'id="formats-chart-spec"' in html and 'id="formats-explanation"' in html
    assert "Small samples" in html  # two or three posts per format
    assert "What this does not show" in html
    groups = csv_rows(
        world.get("/w/acme/measure/formats?metric=engagement_rate_by_reach&format=csv").text
    )
    result = computed(database, "formats", metric="engagement_rate_by_reach")
    same_figures(groups, result["groups"])
    pairs = csv_rows(
        world.get(
            "/w/acme/measure/formats?metric=engagement_rate_by_reach&format=csv&table=pairwise"
        ).text
    )
    same_figures(pairs, result["pairwise"])
    # No post has saves: the page says the source lacks them, not "no post yet".
    for section in ("formats", "best-times"):
        html = world.get(f"/w/acme/measure/{section}?metric=saves").text
        assert 'id="metric-unknown"' in html and "None of the 4 posts" in html


def test_best_times_page_and_exports(measure_world: MeasureWorld, world: TestClient) -> None:
    database = measure_world.database
    response = world.get("/w/acme/measure/best-times?metric=interactions")
    assert response.status_code == 200
    html = response.text
    assert 'id="best-times-chart-spec"' in html and "Europe/Paris" in html
    assert "Totals are never shown" in html
    # Three posts are too few for any slot to be recommended (10 needed): it says so.
    assert 'id="no-recommendation"' in html
    cells = csv_rows(world.get("/w/acme/measure/best-times?metric=interactions&format=csv").text)
    result = computed(database, "best_times", metric="interactions")
    same_figures(cells, result["cells"])
    for table in ("recommended", "weekdays", "hours"):
        url = f"/w/acme/measure/best-times?metric=interactions&format=csv&table={table}"
        same_figures(csv_rows(world.get(url).text), result[table])
    assert 'id="weekdays-table"' in html and 'id="hours-table"' in html
    assert [(row["weekday"], row["hour"]) for row in cells] == [
        ("1", "9"),
        ("1", "18"),
        ("2", "10"),
    ]


def test_dashboard_sections_answer_htmx_with_a_fragment(
    measure_world: MeasureWorld, world: TestClient
) -> None:
    for path in ("/w/acme/measure/formats", "/w/acme/measure/best-times"):
        response = world.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "<html" not in response.text and "vega-chart" in response.text
    # A bad metric inside a fragment: the error is shown in the section (htmx swaps 2xx).
    response = world.get("/w/acme/measure/formats?metric=likes", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "unknown KPI" in response.text


def test_bad_filters_are_refused_with_the_fix(
    measure_world: MeasureWorld, world: TestClient
) -> None:
    cases = {
        "/w/acme/measure?by=colour": "cannot group by 'colour'",
        "/w/acme/measure?from=2024-13-01": "YYYY-MM-DD",
        "/w/acme/measure?from=2024-04-01&to=2024-03-01": "swap them",
        "/w/acme/measure?paid=boosted": "choose one of all, organic, paid",
        "/w/acme/measure?channel=nobody": "no channel 'nobody'",
        "/w/acme/measure/formats?metric=likes": "unknown KPI 'likes'",
        "/w/acme/measure/best-times?metric=audience_growth_rate": "not a per-post figure",
    }
    for path, message in cases.items():
        response = world.get(path)
        assert response.status_code in (404, 422), path
        assert message in response.text.replace("&#39;", "'"), path
        assert 'id="measure-error"' in response.text


def test_channel_without_posts_links_to_import(
    measure_world: MeasureWorld, world: TestClient
) -> None:
    add_channel(measure_world.database, "acme", handle="newbrand")
    response = world.get("/w/acme/measure?channel=newbrand")
    assert response.status_code == 200
    assert 'id="measure-empty"' in response.text
    assert 'href="/w/acme/measure/import"' in response.text


def test_rival_workspace_measure_is_404(measure_world: MeasureWorld, world: TestClient) -> None:
    for path in (
        "/w/rival/measure",
        "/w/rival/measure/formats?format=csv",
        "/w/rival/measure/best-times",
        "/w/rival/measure?format=csv",
    ):
        assert world.get(path).status_code == 404, path


def test_dashboard_in_french(measure_world: MeasureWorld, world: TestClient) -> None:
    world.cookies.set("ts_lang", "fr")
    html = world.get("/w/acme/measure?by=weekday").text
    assert "moyenne des ratios" in html and "ratio des sommes" in html
    assert "lundi" in html  # weekday keys named in the reader's language
    assert "7,50\u202f%" in html  # French decimals and the narrow space before %


# --- the real UCI file: the ranking flips with the denominator ---------------------------


def test_uci_file_formats_page_says_the_ranking_flips(
    database: Database, client: TestClient
) -> None:
    from townsquare.analytics.importers import service as importers
    from townsquare.channels.service import get_channel_by_handle

    make_workspace(database, "acme", OWNER)
    add_channel(database, "acme", handle="brand")
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        channel = get_channel_by_handle(session, access, "brand")
        importers.run_import(
            session,
            access,
            channel,
            data_file("dataset_Facebook.csv"),
            importers.ImportOptions(preset="uci-facebook-metrics"),
        )
    log_in(client)
    raw = client.get("/w/acme/measure/formats?metric=interactions").text
    assert (
        "The ranking flips with the denominator: video leads on Interactions, but photo "
        "leads on Engagement rate by reach."
    ) in raw
    assert "Small samples: video (n = 7), link (n = 22)." in raw
    rate = client.get("/w/acme/measure/formats?metric=engagement_rate_by_reach").text
    assert "photo leads on Engagement rate by reach, but video leads on Interactions" in rate
    # The UCI file has no calendar day: the daily rate is unknown, with the reason.
    dashboard = client.get("/w/acme/measure?by=none").text
    assert "the calendar day of the posts is not known" in dashboard
    # The example: engaged users / reach, 12.4 % as a mean of ratios, 6.6 % as a
    # ratio of sums, side by side in the first row (all posts).
    row = dashboard.split('id="kpi-table"')[1].split('<tr data-key="all">')[1].split("</tr>")[0]
    cell = '<td class="number" data-kpi="engaged_users_by_reach" data-variant="{}">{}</td>'
    assert cell.format("mean_of_ratios", "12.43%") in row
    assert cell.format("ratio_of_sums", "6.62%") in row


def test_same_handle_on_two_networks_is_told_apart(
    measure_world: MeasureWorld, world: TestClient
) -> None:
    add_channel(measure_world.database, "acme", handle="brand")  # rss, no post
    html = world.get("/w/acme/measure").text
    assert 'value="mastodon:brand"' in html and 'value="rss:brand"' in html
    assert 'id="kpi-table"' in world.get("/w/acme/measure?channel=mastodon:brand").text
    assert 'id="measure-empty"' in world.get("/w/acme/measure?channel=rss:brand").text


def test_chart_falls_back_to_a_kpi_the_source_has(
    measure_world: MeasureWorld, world: TestClient
) -> None:
    # By weekday the default rate is known (photos have reach); asking for a KPI that no
    # post has gives a note with the reason instead of an empty chart.
    html = world.get("/w/acme/measure?kpi=click_through_rate&paid=organic&by=none").text
    assert 'id="kpi-chart-spec"' in html
    html = world.get("/w/acme/measure?kpi=engagement_rate_by_reach&from=2024-04-01").text
    assert 'id="chart-missing"' in html and "no post has reach" in html
    assert 'id="kpi-chart-spec"' not in html
    # Without an explicit choice, the chart uses the first KPI the posts have.
    html = world.get("/w/acme/measure?from=2024-04-01").text
    assert 'id="kpi-chart-spec"' in html and 'id="chart-missing"' not in html


def test_a_client_viewer_reads_every_page(measure_world: MeasureWorld, client: TestClient) -> None:
    from townsquare.workspaces import service as workspaces

    with measure_world.database.session() as session:
        workspaces.create_user(session, email="client@acme.test", password=PASSWORD)
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        workspaces.add_member(session, access, email="client@acme.test", role="viewer")
    log_in(client, "client@acme.test")
    for path in ("", "/formats", "/best-times", "/glossary", "?format=csv"):
        assert client.get(f"/w/acme/measure{path}").status_code == 200, path
    assert client.get("/w/rival/measure").status_code == 404


def test_web_csv_and_api_json_agree(measure_world: MeasureWorld, world: TestClient) -> None:
    """The same figures on the web page's CSV and from the REST API (no login cookie)."""
    api = "/api/v1/workspaces/acme/measure"
    headers = measure_world.seed.headers
    world.cookies.clear()
    kpis_json = world.get(f"{api}/kpis?channel=brand&by=format", headers=headers).json()
    formats_json = world.get(
        f"{api}/formats?channel=brand&metric=interactions", headers=headers
    ).json()
    log_in(world)
    kpis_csv = csv_rows(world.get("/w/acme/measure?by=format&format=csv").text)
    same_figures(kpis_csv, tables.kpi_rows(kpis_json["groups"])[0])
    formats_csv = csv_rows(world.get("/w/acme/measure/formats?metric=interactions&format=csv").text)
    same_figures(formats_csv, formats_json["groups"])
