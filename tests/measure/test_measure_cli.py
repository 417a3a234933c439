"""``townsquare measure``: JSON keys of the contract, tables, and exit codes on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.measure.conftest import MeasureWorld
from townsquare.cli.errors import exit_code_for
from townsquare.cli.main import app
from townsquare.config import get_settings
from townsquare.errors import TownsquareError


@pytest.fixture
def cli_env(measure_world: MeasureWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[MeasureWorld]:
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(measure_world.settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", measure_world.database.url)
    monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    yield measure_world
    get_settings.cache_clear()


@pytest.fixture
def sqlite_cli_env(
    sqlite_measure_world: MeasureWorld, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MeasureWorld]:
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(sqlite_measure_world.settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", sqlite_measure_world.database.url)
    monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    yield sqlite_measure_world
    get_settings.cache_clear()


def run_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["measure", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


BASE = ("--workspace", "acme", "--channel", "brand")


def test_kpis_json_contract(cli_env: MeasureWorld) -> None:
    data = run_json("kpis", *BASE, "--by", "format")
    assert set(data["groups"][0]) >= {"key", "posts", "kpis"}
    photo = next(g for g in data["groups"] if g["key"] == "photo")
    rate = photo["kpis"]["engagement_rate_by_reach"]
    assert set(rate) >= {"mean_of_ratios", "ratio_of_sums"}
    assert rate["mean_of_ratios"] == pytest.approx(7.5)
    assert isinstance(photo["kpis"]["interactions"], float)


def test_formats_and_best_times_json_contract(cli_env: MeasureWorld) -> None:
    formats = run_json("formats", *BASE, "--metric", "engagement_rate_by_reach")
    assert formats["metric"] == "engagement_rate_by_reach"
    assert set(formats["groups"][0]) >= {
        "key",
        "n",
        "median",
        "mean",
        "ci_low",
        "ci_high",
        "small_sample",
    }
    assert set(formats["test"]) >= {"name", "statistic", "p_value"}
    assert formats["test"]["name"] == "kruskal-wallis"
    best = run_json("best-times", *BASE, "--metric", "interactions", "--min-posts", "1")
    cell = best["cells"][0]
    assert set(cell) >= {"weekday", "hour", "n", "median", "ci_low", "ci_high"}
    assert 1 <= cell["weekday"] <= 7
    assert best["recommended"] and "evidence" in best["recommended"][0]


def test_tables_without_json(cli_env: MeasureWorld) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["measure", "kpis", *BASE, "--by", "paid"])
    assert result.exit_code == 0, result.output
    assert "mean of ratios" in result.stdout and "ratio of sums" in result.stdout
    assert "organic" in result.stdout
    formats = runner.invoke(app, ["measure", "formats", *BASE])
    assert "Kruskal" in formats.stdout and "photo" in formats.stdout
    best = runner.invoke(app, ["measure", "best-times", *BASE])
    assert "Tue" in best.stdout and "no recommendation" in best.stdout
    glossary = runner.invoke(app, ["measure", "glossary"])
    assert "shares / impressions × 100" in glossary.stdout.replace("\n", " ") or (
        "virality_rate" in glossary.stdout
    )


def _townsquare(world: MeasureWorld, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(world.settings.data_dir),
        "TOWNSQUARE_DATABASE_URL": world.database.url,
        "TOWNSQUARE_SECRET_KEY": "test-secret-key",
    }
    return subprocess.run(
        [sys.executable, "-m", "townsquare", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("formats", *BASE, "--metric", "enagement_rate_by_reach"), 2, "did you mean"),
        (("kpis", *BASE, "--by", "colour"), 2, "choose one of format"),
        (("kpis", *BASE, "--from", "2024-13-01"), 2, "YYYY-MM-DD"),
        (("kpis", "--workspace", "acme", "--channel", "nope"), 3, "no channel 'nope'"),
        (("kpis", "--workspace", "nowhere", "--channel", "brand"), 3, "nowhere"),
        (("best-times", *BASE, "--metric", "audience_growth_rate"), 2, "not a per-post"),
        (("formats", *BASE, "--seed", "-1"), 2, "seed must be between 0 and 2⁶³-1"),
        (("best-times", *BASE, "--seed", "-1"), 2, "seed must be between 0 and 2⁶³-1"),
    ],
)
def test_bad_input_errors(
    sqlite_cli_env: MeasureWorld, args: tuple[str, ...], code: int, words: str
) -> None:
    result = CliRunner().invoke(app, ["measure", *args, "--json"])
    assert isinstance(result.exception, TownsquareError)
    assert exit_code_for(result.exception) == code
    assert words in result.exception.message
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("formats", *BASE, "--metric", "enagement_rate_by_reach"), 2, "did you mean"),
        (("kpis", "--workspace", "acme", "--channel", "nope"), 3, "no channel 'nope'"),
    ],
)
def test_exit_codes_of_the_real_command(
    sqlite_measure_world: MeasureWorld, args: tuple[str, ...], code: int, words: str
) -> None:
    result = _townsquare(sqlite_measure_world, "measure", *args, "--json")
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert result.stdout == ""
