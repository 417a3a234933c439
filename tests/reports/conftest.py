"""Fixtures of the Reports tests: the UCI Facebook file imported through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import Seed, make_settings, seed_workspace
from townsquare.cli.main import app
from townsquare.config import Settings, get_settings
from townsquare.db import Database

DATA = Path(__file__).resolve().parents[1] / "data"


class Cli:
    """The real ``townsquare`` command against the test's database."""

    def __init__(self, settings: Settings, seed: Seed) -> None:
        self.settings = settings
        self.seed = seed
        self.runner = CliRunner()

    def run(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("TOWNSQUARE_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()


def build_uci(database: Database, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    seed = seed_workspace(database)
    settings = make_settings(data_dir, database.url)
    _env(monkeypatch, settings)
    cli = Cli(settings, seed)
    cli.run(
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
    )
    cli.run(
        "import",
        "posts",
        str(DATA / "dataset_Facebook.csv"),
        "--workspace",
        "acme",
        "--channel",
        "uci",
        "--preset",
        "uci-facebook-metrics",
        "--json",
    )
    return cli


@pytest.fixture
def uci_cli(
    sqlite_database: Database, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    """Workspace ``acme``, channel ``uci`` (the 500 posts of the UCI file), on SQLite."""
    yield build_uci(sqlite_database, data_dir, monkeypatch)
    get_settings.cache_clear()


# --- the hand-made world of the Measure tests ---------------------------------------------


@pytest.fixture
def world(database: Database, data_dir: Path) -> Iterator[Any]:
    """Workspace ``acme`` with channel ``brand`` (Paris): four posts of March–April 2024 and
    follower counts; workspace ``rival`` with its own ``brand``. SQLite and PostgreSQL."""
    from tests.measure.conftest import build_world

    yield build_world(database, data_dir)


@pytest.fixture
def sqlite_world(sqlite_database: Database, data_dir: Path) -> Iterator[Any]:
    from tests.measure.conftest import build_world

    yield build_world(sqlite_database, data_dir)
