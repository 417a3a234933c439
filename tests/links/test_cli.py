"""``townsquare links …`` as a user runs it: a real process on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seed_workspace
from townsquare.db import Database


class Cli:
    """Runs ``townsquare`` in this process through its real entry point (``main``), with the
    environment a user would set: the same parsing, error mapping and exit codes, without
    paying the interpreter start-up for every command."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.env = {
            "TOWNSQUARE_DATA_DIR": str(data_dir),
            "TOWNSQUARE_DATABASE_URL": database_url,
            "TOWNSQUARE_BASE_URL": "https://app.example.com",
            "TOWNSQUARE_LINKS_BASE_URL": "https://go.example.com",
        }
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        from townsquare.cli.main import main
        from townsquare.config import get_settings

        get_settings.cache_clear()
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["townsquare", *args])
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            get_settings.cache_clear()
        out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    def json(self, *args: str, stdin: str = "") -> Any:
        done = self.run(*args, "--json", stdin=stdin)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def cli(
    database: Database,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    seed_workspace(database)
    return Cli(data_dir, database.url, monkeypatch, capsys)


def test_console_script_creates_a_link(sqlite_database: Database, data_dir: Path) -> None:
    """One real process, to prove the installed entry point works end to end."""
    seed_workspace(sqlite_database)
    env = {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(data_dir),
        "TOWNSQUARE_DATABASE_URL": sqlite_database.url,
        "TOWNSQUARE_LINKS_BASE_URL": "https://go.example.com",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "townsquare",
            "links",
            "create",
            "https://a.example/?x=1",
            "--workspace",
            "acme",
            "--utm-medium",
            "qr",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["short_url"] == f"https://go.example.com/{data['slug']}"
    assert data["target_url"] == "https://a.example/?x=1&utm_medium=qr"


def test_create_show_list_disable_delete(cli: Cli, tmp_path: Path) -> None:
    created = cli.json(
        "links",
        "create",
        "https://shop.example/item?id=3",
        "--workspace",
        "acme",
        "--slug",
        "Item3",
        "--utm-source",
        "mastodon",
        "--utm-campaign",
        "spring sale",
        "--tag",
        "promo",
        "--tag",
        "spring",
        "--campaign",
        "spring",
        "--expires",
        "2099-01-31",
        "--max-clicks",
        "50",
        "--password-stdin",
        "--fallback",
        "https://shop.example/",
        "--permanent",
        stdin="hunter22\n",
    )
    assert created["slug"] == "item3"
    assert created["short_url"] == "https://go.example.com/item3"
    assert created["target_url"] == (
        "https://shop.example/item?id=3&utm_source=mastodon&utm_campaign=spring%20sale"
    )
    assert created["has_password"] is True and created["redirect_status"] == 301
    assert created["tags"] == ["promo", "spring"]

    shown = cli.json("links", "show", "ITEM3")
    assert shown["target_url"] == created["target_url"]
    listed = cli.json("links", "list", "--workspace", "acme")
    assert [row["slug"] for row in listed] == ["item3"]

    assert cli.json("links", "disable", "item3")["is_enabled"] is False
    assert cli.json("links", "enable", "item3", "--workspace", "acme")["is_enabled"] is True

    stats = cli.json("links", "stats", "item3")
    assert stats["clicks"] == {"human": 0, "bot": 0, "total": 0}
    for key in ("unique_visitors", "by_day", "referrers", "devices"):
        assert key in stats

    by_tag = cli.json("links", "stats", "--workspace", "acme", "--tag", "promo")
    assert by_tag["scope"] == {"kind": "tag", "value": "promo"} and by_tag["links"] == 1
    by_campaign = cli.json("links", "stats", "--workspace", "acme", "--campaign", "spring")
    assert by_campaign["scope"]["kind"] == "campaign"
    daily = tmp_path / "daily.csv"
    assert cli.run("links", "stats", "--workspace", "acme", "--csv", str(daily)).returncode == 0
    assert daily.read_text().startswith("date,human,bot,unique_visitors")
    assert cli.run("links", "stats").returncode == 2  # neither a slug nor a workspace

    svg, png = tmp_path / "c.svg", tmp_path / "c.png"
    assert cli.run("links", "qr", "item3", "--format", "svg", "-o", str(svg)).returncode == 0
    assert svg.read_text().lstrip().startswith("<svg")
    done = cli.run("links", "qr", "item3", "--format", "png", "-o", str(png), "--scale", "3")
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    deleted = cli.json("links", "delete", "item3", "--delete-clicks")
    assert deleted == {"slug": "item3", "deleted": True, "clicks_kept": False, "clicks": 0}
    done = cli.run(
        "links", "create", "https://a.example", "--workspace", "acme", "--password-stdin", stdin=""
    )
    assert done.returncode == 2 and "stdin is empty" in done.stderr
    assert cli.json("links", "list", "--workspace", "acme") == []


BAD_CREATE: list[tuple[list[str], int, str]] = [
    (["javascript:alert(1)"], 2, "'javascript:' scheme"),
    (["https://go.example.com/x"], 2, "loop"),
    (["https://a.example", "--slug", "login"], 2, "reserved"),
    (["https://a.example", "--expires", "tomorrow"], 2, "invalid expiry date"),
    (["https://a.example", "--max-clicks", "-5"], 2, "at least 1"),
    (["https://a.example", "--workspace", "nope"], 3, "nope"),
]


def test_bad_input_exit_codes(cli: Cli) -> None:
    for args, code, words in BAD_CREATE:
        base = ["links", "create", *args]
        if "--workspace" not in args:
            base += ["--workspace", "acme"]
        done = cli.run(*base, "--json")
        assert done.returncode == code, (args, done.stderr)
        assert words in done.stderr
        assert done.stdout == ""
    assert cli.json("links", "list", "--workspace", "acme") == []


def test_duplicate_slug_and_bad_qr_colour(cli: Cli, tmp_path: Path) -> None:
    cli.json("links", "create", "https://a.example", "--workspace", "acme", "--slug", "dup")
    done = cli.run("links", "create", "https://b.example", "--workspace", "acme", "--slug", "DUP")
    assert done.returncode == 4 and "already taken" in done.stderr
    out = tmp_path / "x.svg"
    done = cli.run("links", "qr", "dup", "--format", "svg", "-o", str(out), "--dark", "red")
    assert done.returncode == 2 and "invalid dark colour" in done.stderr
    assert not out.exists()
    done = cli.run("links", "qr", "unknown", "--format", "svg", "-o", str(out))
    assert done.returncode == 3
