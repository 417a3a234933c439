"""End to end on the real UCI Facebook file: imported as it is, then measured.

Independent figures (pandas on the raw CSV, see tests/data/README.md): engaged users /
reach is 12.43 % as a mean of per-post ratios but 6.62 % as a ratio of sums; video leads
raw interactions (median 271) while photo leads engagement rate by reach (median 2.46 %).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import data_file
from tests.measure.conftest import MeasureWorld
from townsquare.cli.main import app
from townsquare.config import get_settings


@pytest.fixture
def uci(measure_world: MeasureWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[MeasureWorld]:
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(measure_world.settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", measure_world.database.url)
    monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "channel",
            "add",
            "--workspace",
            "acme",
            "--network",
            "facebook",
            "--handle",
            "uci",
            "--timezone",
            "Europe/Lisbon",
        ],
    )
    assert added.exit_code == 0, added.output
    imported = runner.invoke(
        app,
        [
            "import",
            "posts",
            str(data_file("dataset_Facebook.csv")),
            "--workspace",
            "acme",
            "--channel",
            "uci",
            "--preset",
            "uci-facebook-metrics",
            "--json",
        ],
    )
    assert imported.exit_code == 0, imported.output
    yield measure_world
    get_settings.cache_clear()


def measure(*args: str) -> Any:
    result = CliRunner().invoke(
        app, ["measure", *args, "--workspace", "acme", "--channel", "uci", "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_uci_figures(uci: MeasureWorld) -> None:
    kpis = measure("kpis")
    (group,) = kpis["groups"]
    assert group["posts"] == 500
    engaged = group["kpis"]["engaged_users_by_reach"]
    assert engaged["mean_of_ratios"] == pytest.approx(12.434, abs=0.001)
    assert engaged["ratio_of_sums"] == pytest.approx(6.620, abs=0.001)
    # Six empty cells are unknown, not zero: 4 shares + 1 like leave 496 posts with
    # interactions (and 1 unknown Paid stays out of both paid groups).
    assert group["kpis"]["engagement_rate_by_reach"]["n"] == 496
    assert group["kpis"]["daily_engagement_rate"]["mean_of_ratios"] is None
    assert "day" in group["missing"]["daily_engagement_rate"]
    assert "clicks" in group["missing"]["click_through_rate"]

    by_interactions = measure("formats", "--metric", "interactions")
    by_rate = measure("formats", "--metric", "engagement_rate_by_reach")
    assert by_interactions["groups"][0]["key"] == "video"
    assert by_interactions["groups"][0]["median"] == pytest.approx(271)
    assert by_interactions["groups"][0]["small_sample"] is True
    assert by_rate["groups"][0]["key"] == "photo"
    assert by_rate["groups"][0]["median"] == pytest.approx(2.4634, abs=1e-3)
    assert {g["key"] for g in by_rate["groups"]} == {"photo", "status", "link", "video"}
    assert by_rate["test"]["p_value"] < 0.001
    assert len(by_rate["pairwise"]) == 6

    paid = {g["key"]: g["posts"] for g in measure("kpis", "--by", "paid")["groups"]}
    assert paid == {"organic": 360, "paid": 139, "unknown": 1}

    best = measure("best-times", "--metric", "engagement_rate_by_reach")
    assert sum(c["n"] for c in best["cells"]) == 496
    assert all(1 <= c["weekday"] <= 7 and 0 <= c["hour"] <= 23 for c in best["cells"])
    assert best["recommended"] and all(r["n"] >= 10 for r in best["recommended"])


def test_live_sellers_file_without_reach(
    sqlite_measure_world: MeasureWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Live.csv has reactions, comments and shares but no reach, impressions or followers:
    every rate that needs them is None with the reason, never a rate computed from zeros."""
    world = sqlite_measure_world
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", world.database.url)
    monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        added = runner.invoke(
            app,
            [
                "channel",
                "add",
                "--workspace",
                "acme",
                "--network",
                "facebook",
                "--handle",
                "live",
                "--timezone",
                "Asia/Bangkok",
            ],
        )
        assert added.exit_code == 0, added.output
        imported = runner.invoke(
            app,
            [
                "import",
                "posts",
                str(data_file("Live.csv")),
                "--workspace",
                "acme",
                "--channel",
                "live",
                "--preset",
                "facebook-live-sellers",
                "--json",
            ],
        )
        assert imported.exit_code == 0, imported.output

        def run(*args: str) -> Any:
            result = runner.invoke(
                app, ["measure", *args, "--workspace", "acme", "--channel", "live", "--json"]
            )
            assert result.exit_code == 0, result.output
            return json.loads(result.stdout)

        (group,) = run("kpis")["groups"]
        assert group["kpis"]["interactions"] is not None
        assert group["kpis"]["engagement_rate_by_reach"]["mean_of_ratios"] is None
        assert "reach" in group["missing"]["engagement_rate_by_reach"]
        assert "followers" in group["missing"]["applause_rate"]
        formats = run("formats", "--metric", "interactions")
        assert formats["groups"][0]["key"] == "video"
        months = run("kpis", "--by", "month")["groups"]
        assert months[0]["key"] == "2012-07" and months[-1]["key"] == "2018-06"
    finally:
        get_settings.cache_clear()


def test_period_inside_a_month_is_flagged_for_month_only_dates(uci: MeasureWorld) -> None:
    inside = measure("kpis", "--from", "2014-03-10", "--to", "2014-06-30")
    assert inside["notes"] and "know only their month" in inside["notes"][0]
    whole = measure("kpis", "--from", "2014-03-01", "--to", "2014-06-30")
    assert whole["notes"] == []
    assert whole["groups"][0]["posts"] > 0
