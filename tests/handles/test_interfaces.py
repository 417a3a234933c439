"""``townsquare handles …``, the REST API and the Settings page, against the fake platforms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Seed, ServerThread, make_settings, seed_workspace
from tests.handles.conftest import Platforms
from tests.links.test_cli import Cli
from townsquare.db import Database

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def cli(
    database: Database,
    data_dir: Path,
    platforms: Platforms,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    seed_workspace(database)
    monkeypatch.setenv("TOWNSQUARE_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("TOWNSQUARE_HANDLES_BASE_URLS", json.dumps(platforms.base_urls()))
    return Cli(data_dir, database.url, monkeypatch, capsys)


@sqlite_only
def test_cli_check_json_contract(cli: Cli, platforms: Platforms) -> None:
    results = cli.json("handles", "check", "@acme", "--network", "github", "--network", "x")
    assert results[:2] == [
        {
            "network": "github",
            "handle": "acme",
            "status": "taken",
            "reason": "a GitHub user or organisation has this name",
            "url": "https://github.com/acme",
        },
        {
            "network": "x",
            "handle": "acme",
            "status": "unknown",
            "reason": "the platform shows a login page instead of the profile",
            "url": f"{platforms.url}/x/acme",
        },
    ]
    assert [r["handle"] for r in results[2:]] == ["acme_fr", "acmeofficiel", "getacme", "acmefr"]
    invalid = cli.json("handles", "check", "ab", "--network", "x", "--variants", "0")
    assert invalid == [
        {
            "network": "x",
            "handle": "ab",
            "status": "invalid",
            "reason": "length: at least 4 characters on this platform",
            "url": "",
        }
    ]


def test_cli_saves_and_rechecks(cli: Cli, platforms: Platforms) -> None:
    instances = cli.json(
        "handles", "instances", "--workspace", "acme", "--set", platforms.mastodon_free
    )
    assert instances == {"mastodon_instances": [platforms.mastodon_free]}
    results = cli.json("handles", "check", "zebra", "--workspace", "acme", "--network", "mastodon")
    assert [r["status"] for r in results] == ["available"]
    saved = cli.json("handles", "saved", "--workspace", "acme")
    assert [s["name"] for s in saved] == ["zebra"]
    again = cli.json("handles", "recheck", str(saved[0]["id"]), "--workspace", "acme")
    assert again["changes"] == [] and again["results"] == results


@sqlite_only
def test_cli_bad_input_exit_codes(cli: Cli) -> None:
    done = cli.run("handles", "check", "acme", "--network", "orkut", "--json")
    assert done.returncode == 2 and "unknown network 'orkut'" in done.stderr and not done.stdout
    done = cli.run("handles", "check", "two words", "--json")
    assert done.returncode == 2 and "spaces" in done.stderr
    done = cli.run("handles", "recheck", "999", "--workspace", "acme", "--json")
    assert done.returncode == 3 and "no saved handle check 999" in done.stderr
    done = cli.run("handles", "instances", "--workspace", "acme", "--set", "ftp://x.example")
    assert done.returncode == 2 and "not an instance address" in done.stderr


@pytest.fixture
def api(database: Database, data_dir: Path, platforms: Platforms) -> Iterator[httpx.Client]:
    seed: Seed = seed_workspace(database)
    from townsquare.web.app import create_app

    settings = platforms.settings.model_copy(update={"database_url": database.url})
    with (
        ServerThread(create_app(settings, database=database)) as server,
        httpx.Client(base_url=server.url, headers=seed.headers, timeout=30) as client,
    ):
        yield client


def test_api_check_saved_recheck(api: httpx.Client, platforms: Platforms) -> None:
    base = "/api/v1/workspaces/acme/handles"
    put = api.put(f"{base}/instances", json={"mastodon_instances": [platforms.mastodon_taken]})
    assert put.status_code == 200, put.text
    done = api.post(f"{base}/check", json={"name": "acme", "networks": ["mastodon", "youtube"]})
    assert done.status_code == 200, done.text
    statuses = [(r["network"], r["status"]) for r in done.json()]
    assert statuses[:2] == [("mastodon", "taken"), ("youtube", "taken")]
    location = done.headers["location"]
    assert location.startswith(f"{base}/checks/")
    saved = api.get(location)
    assert saved.status_code == 200 and saved.json()["name"] == "acme"
    check_id = saved.json()["id"]
    assert [c["id"] for c in api.get(f"{base}/checks").json()] == [check_id]
    assert api.post(f"{base}/checks/{check_id}/recheck").json()["changes"] == []
    refused = api.post(f"{base}/check", json={"name": "", "networks": []})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "name"
    assert api.post(f"{base}/check", json={"name": "a", "networks": ["orkut"]}).status_code == 422
    assert api.get(f"{base}/checks/999").status_code == 404
    assert api.delete(f"{base}/checks/{check_id}").status_code == 204
    assert api.get(f"{base}/checks").json() == []
    assert api.get("/api/v1/workspaces/nope/handles/checks").status_code == 404


@pytest.fixture
def web(database: Database, tmp_path: Path, platforms: Platforms) -> Iterator[TestClient]:
    from townsquare.web.app import create_app

    seed_workspace(database)
    settings = make_settings(
        tmp_path,
        database.url,
        allow_private_urls=True,
        handles_base_urls=platforms.base_urls(),
        handles_timeout=2.0,
    )
    with TestClient(create_app(settings, database=database), follow_redirects=False) as client:
        client.get("/login")
        done = client.post(
            "/login",
            data={
                "email": "owner@acme.test",
                "password": "correct horse battery",
                "csrf_token": client.cookies["ts_csrf"],
            },
        )
        assert done.status_code == 303, done.text
        yield client


@sqlite_only
def test_settings_page_in_both_languages(web: TestClient, platforms: Platforms) -> None:
    csrf = web.cookies["ts_csrf"]
    shown = web.get("/w/acme/settings/handles")
    assert shown.status_code == 200 and "Handle availability" in shown.text
    saved = web.post(
        "/w/acme/settings/handles/instances",
        data={"csrf_token": csrf, "instances": platforms.mastodon_taken},
    )
    assert saved.status_code == 303
    done = web.post(
        "/w/acme/settings/handles",
        data={
            "csrf_token": csrf,
            "name": "acme",
            "networks": ["github", "facebook", "mastodon"],
            "save": "on",
        },
    )
    assert done.status_code == 200, done.text
    assert 'data-network="github" data-handle="acme" data-status="taken"' in done.text
    assert 'data-network="facebook" data-handle="acme" data-status="invalid"' in done.text
    assert "acme_fr" not in done.text  # variants not ticked

    web.post("/language", data={"csrf_token": csrf, "language": "fr", "next": "/"})
    french = web.get("/w/acme/settings/handles")
    assert "Disponibilité des noms de compte" in french.text
    link = french.text.split('href="/w/acme/settings/handles/')[1].split('"')[0]
    detail = web.get(f"/w/acme/settings/handles/{link}")
    assert "longueur : au moins 5 caractères sur cette plateforme" in detail.text
    assert "un utilisateur ou une organisation GitHub porte ce nom" in detail.text
    again = web.post(f"/w/acme/settings/handles/{link}/recheck", data={"csrf_token": csrf})
    assert again.status_code == 303
    assert "Rien n’a changé." in web.get(f"/w/acme/settings/handles/{link}").text

    refused = web.post("/w/acme/settings/handles", data={"csrf_token": csrf, "name": " "})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    no_csrf = web.post("/w/acme/settings/handles", data={"name": "acme"})
    assert no_csrf.status_code == 403
