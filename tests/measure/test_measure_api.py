"""Measure's REST API on a real server: same JSON as the CLI, errors, isolation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import ServerThread
from tests.measure.conftest import MeasureWorld
from townsquare.cli.main import app
from townsquare.config import get_settings


def cli_json(world: MeasureWorld, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", world.database.url)
    monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["measure", *args, "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_api_json_equals_cli_json(
    live_server: ServerThread, measure_world: MeasureWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = measure_world.seed.headers
    base = f"{live_server.url}/api/v1/workspaces/acme/measure"
    cases = [
        ("kpis", {"by": "format"}, ["--by", "format"]),
        (
            "kpis",
            {"from": "2024-03-01", "to": "2024-03-31"},
            ["--from", "2024-03-01", "--to", "2024-03-31"],
        ),
        (
            "formats",
            {"metric": "engagement_rate_by_reach"},
            ["--metric", "engagement_rate_by_reach"],
        ),
        (
            "best-times",
            {"metric": "interactions", "min_posts": "1"},
            ["--metric", "interactions", "--min-posts", "1"],
        ),
    ]
    for route, params, flags in cases:
        response = httpx.get(
            f"{base}/{route}", params={"channel": "brand", **params}, headers=headers
        )
        assert response.status_code == 200, response.text
        expected = cli_json(
            measure_world, monkeypatch, route, "--workspace", "acme", "--channel", "brand", *flags
        )
        assert response.json() == expected, route


def test_registry_route(live_server: ServerThread, measure_world: MeasureWorld) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/kpis", headers=measure_world.seed.headers)
    assert response.status_code == 200
    names = {entry["name"]: entry for entry in response.json()["kpis"]}
    assert names["engagement_rate_by_reach"]["formula"] == "interactions / reach × 100"
    assert httpx.get(f"{live_server.url}/api/v1/kpis").status_code == 401


def test_errors_and_isolation(live_server: ServerThread, measure_world: MeasureWorld) -> None:
    headers = measure_world.seed.headers
    api = f"{live_server.url}/api/v1/workspaces"
    other = httpx.get(f"{api}/rival/measure/kpis", params={"channel": "brand"}, headers=headers)
    assert other.status_code == 404
    assert "brand" not in other.text or "rival" in other.text
    unknown = httpx.get(f"{api}/acme/measure/kpis", params={"channel": "nope"}, headers=headers)
    assert unknown.status_code == 404
    bad_metric = httpx.get(
        f"{api}/acme/measure/formats",
        params={"channel": "brand", "metric": "engagment_rate_by_reach"},
        headers=headers,
    )
    assert bad_metric.status_code == 422
    assert "engagement_rate_by_reach" in bad_metric.text
    bad_by = httpx.get(
        f"{api}/acme/measure/kpis", params={"channel": "brand", "by": "week"}, headers=headers
    )
    assert bad_by.status_code == 422 and "weekday" in bad_by.text
    bad_date = httpx.get(
        f"{api}/acme/measure/kpis",
        params={"channel": "brand", "from": "yesterday"},
        headers=headers,
    )
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text
    anonymous = httpx.get(f"{api}/acme/measure/kpis", params={"channel": "brand"})
    assert anonymous.status_code == 401
