"""``townsquare import posts`` as a user runs it, on real databases.

One test runs the real process; the others call the same ``main()`` in this process (the
command line starts slowly on a loaded machine, and the suite must stay quick).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import data_file, seed_workspace
from townsquare.db import Database

REPORT_KEYS = {"rows_read", "imported", "updated", "duplicates_skipped", "encoding", "errors"}


class Cli:
    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.env = {"TOWNSQUARE_DATA_DIR": str(data_dir), "TOWNSQUARE_DATABASE_URL": database_url}
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``townsquare ARGS`` through ``main()`` in this process, as the console script."""
        from townsquare.cli.main import main
        from townsquare.config import get_settings

        for name, value in self.env.items():
            self.monkeypatch.setenv(name, value)
        self.monkeypatch.setattr(sys, "argv", ["townsquare", *args])
        get_settings.cache_clear()
        self.capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            get_settings.cache_clear()
        out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    def process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``townsquare ARGS`` as a real process."""
        return subprocess.run(
            [sys.executable, "-m", "townsquare", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def posts(self, *args: str) -> tuple[int, Any, str]:
        done = self.run("import", "posts", *args, "--workspace", "acme", "--channel", "page")
        body = json.loads(done.stdout) if "--json" in args and done.stdout.strip() else None
        return done.returncode, body, done.stderr


def _cli(
    database: Database,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    seed_workspace(database)
    cli = Cli(data_dir, database.url, monkeypatch, capsys)
    added = cli.run(
        "channel", "add", "--workspace", "acme", "--network", "facebook", "--handle", "page"
    )
    assert added.returncode == 0, added.stderr
    return cli


@pytest.fixture
def cli(
    database: Database,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    return _cli(database, data_dir, monkeypatch, capsys)


@pytest.fixture
def sqlite_cli(
    sqlite_database: Database,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    return _cli(sqlite_database, data_dir, monkeypatch, capsys)


def test_real_process_exit_codes(sqlite_cli: Cli, tmp_path: Path) -> None:
    uci = str(data_file("dataset_Facebook.csv"))
    args = ("import", "posts", uci, "--workspace", "acme", "--channel", "page")
    done = sqlite_cli.process(*args, "--preset", "uci-facebook-metrics", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 500
    done = sqlite_cli.process(*args, "--json")  # generic: the UCI columns are unknown
    assert done.returncode == 2
    assert json.loads(done.stdout)["errors"][0]["line"] == 1


def test_presets_from_the_command_line(cli: Cli) -> None:
    uci = str(data_file("dataset_Facebook.csv"))
    code, body, _ = cli.posts(uci, "--preset", "uci-facebook-metrics", "--json")
    assert code == 0
    assert set(body) == REPORT_KEYS
    assert (body["rows_read"], body["imported"], body["errors"]) == (500, 500, [])
    code, body, _ = cli.posts(uci, "--preset", "uci-facebook-metrics", "--json")
    assert (code, body["imported"], body["updated"]) == (0, 0, 500)
    live = str(data_file("Live.csv"))
    code, body, _ = cli.posts(live, "--preset", "facebook-live-sellers", "--dry-run", "--json")
    assert code == 0
    assert (body["imported"], body["duplicates_skipped"]) == (6997, 51)
    # The dry run wrote nothing: the real import still finds every post new.
    code, body, _ = cli.posts(live, "--preset", "facebook-live-sellers", "--json")
    assert (code, body["imported"], body["updated"]) == (0, 6997, 2)


def test_bad_file_exit_2_with_report(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,published_at,format,reach\n"
        "p1,04-11-18 10:00,photo,1\n"
        "p2,01-01-24 10:00,photo,-3\n"
        "p3,01-01-24 11:00,photo,3\n"
    )
    code, body, stderr = sqlite_cli.posts(str(path), "--json")
    assert code == 2
    assert set(body) == REPORT_KEYS
    assert [e["line"] for e in body["errors"]] == [2, 3]
    assert "2018-04-11" in body["errors"][0]["message"]
    assert "2018-11-04" in body["errors"][0]["message"]
    assert "nothing was imported" in stderr
    # Human output: the problems with their lines, on stderr; still exit 2, nothing written.
    done = sqlite_cli.run("import", "posts", str(path), "--workspace", "acme", "--channel", "page")
    assert done.returncode == 2
    assert "negative" in done.stderr and "ambiguous" in done.stderr
    # With the date settled and the bad column ignored, the same file imports.
    code, body, _ = sqlite_cli.posts(
        str(path), "--date-format", "%m-%d-%y %H:%M", "--map", "reach=ignore", "--json"
    )
    assert code == 0 and body["errors"] == [] and body["imported"] == 3


def test_options_checked(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("id,published_at,format\np1,2024-01-01,photo\n")
    done = sqlite_cli.run(
        "import",
        "posts",
        str(path),
        "--workspace",
        "acme",
        "--channel",
        "page",
        "--preset",
        "nope",
    )
    assert done.returncode == 2 and "unknown preset 'nope'" in done.stderr
    code, _, stderr = sqlite_cli.posts(str(path), "--map", "no-equals-sign")
    assert code == 2 and "COLUMN=FIELD" in stderr
    code, _, stderr = sqlite_cli.posts(str(path), "--timezone", "Mars/Olympus")
    assert code == 2 and "unknown time zone" in stderr
    done = sqlite_cli.run(
        "import", "posts", str(path), "--workspace", "acme", "--channel", "nobody"
    )
    assert done.returncode == 3


def test_profiles(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_bytes(
        "Identifiant;Quand;Genre;Portée\na1;22/04/2018 18:30;photo;10\n".encode("latin-1")
    )
    mapping = ["--map", "Identifiant=external_id", "--map", "Quand=published_at"]
    mapping += ["--map", "Genre=format", "--map", "Portée=reach"]
    code, body, stderr = sqlite_cli.posts(str(path), *mapping, "--save-profile", "fr", "--json")
    assert code == 0, stderr
    profiles = json.loads(
        sqlite_cli.run("import", "profiles", "--workspace", "acme", "--json").stdout
    )
    assert profiles[0]["name"] == "fr"
    assert profiles[0]["mapping"]["Portée"] == "reach"
    code, body, stderr = sqlite_cli.posts(str(path), "--profile", "fr", "--json")
    assert code == 0, stderr
    assert (body["imported"], body["updated"]) == (0, 1)
    code, _, stderr = sqlite_cli.posts(str(path), "--profile", "missing")
    assert code == 3 and "no import profile 'missing'" in stderr
