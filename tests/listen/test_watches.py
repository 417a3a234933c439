"""Watches from the command line and the REST API: the contract forms, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import Seed, ServerThread
from tests.house.test_cli import Cli
from townsquare.db import Database


@pytest.fixture
def cli(database: Database, data_dir: Path) -> Cli:
    runner = Cli(data_dir, database.url)
    assert runner("workspace", "create", "acme", "--name", "Acme").code == 0
    return runner


def _count_watches(database: Database) -> int:
    import sqlalchemy as sa

    with database.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM watches")).scalar_one())


def test_watch_create_and_match(cli: Cli, tmp_path: Path) -> None:
    created = cli(
        "watch", "create", "--workspace", "acme", "--name", "Acme", "--query",
        '(acme OR "acme corp") -job', "--kind", "brand", "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    body = created.json()
    assert set(body) == {"id", "name", "kind", "query"}
    assert (body["name"], body["kind"], body["query"]) == (
        "Acme", "brand", '(acme OR "acme corp") -job'
    )  # fmt: skip
    assert cli(
        "watch", "create", "--workspace", "acme", "--name", "Rival", "--kind", "competitor",
        "--query", "rivalco lang:fr", "--json",
    ).code == 0  # fmt: skip

    documents = tmp_path / "docs.jsonl"
    lines = [
        {"id": 1, "text": "J'adore ACME, vraiment !"},
        {"id": "b", "text": "Acme is hiring: job offer"},
        {"id": 3, "text": "Rivalco est nul, je préfère Acme", "lang": "fr"},
        {"id": 4, "text": "rivalco is great", "lang": "en"},
        {"id": 5, "text": "Rivalco déçoit encore une fois ses clients fidèles"},
    ]
    documents.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    matched = cli("watch", "match", "--workspace", "acme", "--input", str(documents), "--json")
    assert matched.code == 0, matched.err
    results = [json.loads(line) for line in matched.out.splitlines()]
    assert results == [
        {"id": 1, "watches": ["Acme"]},
        {"id": "b", "watches": []},
        {"id": 3, "watches": ["Acme", "Rival"]},
        {"id": 4, "watches": []},
        {"id": 5, "watches": ["Rival"]},  # no "lang": detected as French
    ]
    # Standard input by default.
    from_stdin = cli("watch", "match", "--workspace", "acme", input=json.dumps(lines[0]) + "\n")
    assert from_stdin.code == 0
    assert json.loads(from_stdin.out) == {"id": 1, "watches": ["Acme"]}


def test_a_bad_query_exits_2_with_its_column(cli: Cli, database: Database) -> None:
    result = cli(
        "watch", "create", "--workspace", "acme", "--name", "Bad", "--query",
        'marque AND "sans fin', "--json",
    )  # fmt: skip
    assert result.code == 2
    assert "unclosed quote at column 12" in result.err
    assert _count_watches(database) == 0


def test_bad_watch_input(cli: Cli, database: Database, tmp_path: Path) -> None:
    base = ["watch", "create", "--workspace", "acme", "--query", "x"]
    assert cli(*base, "--name", "A", "--kind", "brands").code == 2
    assert cli(*base, "--name", " ").code == 2
    assert cli(*base, "--name", "A").code == 0
    assert cli(*base, "--name", "A").code == 4  # the name is taken
    assert cli(*base, "--name", "B", "--workspace", "nope").code == 3
    assert _count_watches(database) == 1
    bad_lines = tmp_path / "bad.jsonl"
    for content, words in [
        ('{"id": 1, "text": "ok"}\n{oops\n', "line 2 is not valid JSON"),
        ('{"id": 1}\n', 'line 1 needs an object with a "text"'),
        ('{"id": 1, "text": "x", "url": 3}\n', '"url" must be a string'),
    ]:
        bad_lines.write_text(content)
        result = cli("watch", "match", "--workspace", "acme", "--input", str(bad_lines))
        assert result.code == 2, content
        assert words in result.err
    missing = cli("watch", "match", "--workspace", "acme", "--input", str(tmp_path / "none"))
    assert missing.code == 2


def test_watches_api(live_server: ServerThread, seed: Seed) -> None:
    base = f"{live_server.url}/api/v1/workspaces/{seed.workspace}"
    with httpx.Client(headers=seed.headers, timeout=30) as client:
        created = client.post(base + "/watches", json={"name": "Acme", "query": "acme -job"})
        assert created.status_code == 201, created.text
        watch = created.json()
        assert watch["kind"] == "brand"
        bad = client.post(base + "/watches", json={"name": "X", "query": "(acme"})
        assert bad.status_code == 422
        assert "unclosed parenthesis at column 1" in bad.json()["error"]["message"]
        assert bad.json()["error"]["field"] == "query"
        matched = client.post(
            base + "/watches/match",
            json=[{"id": 7, "text": "Acme rocks"}, {"id": 8, "text": "acme job"}],
        )
        assert matched.status_code == 200
        assert matched.json() == [{"id": 7, "watches": ["Acme"]}, {"id": 8, "watches": []}]
        changed = client.patch(base + f"/watches/{watch['id']}", json={"query": "acme"})
        assert changed.status_code == 200 and changed.json()["query"] == "acme"
        assert (
            client.patch(base + f"/watches/{watch['id']}", json={"query": '"'}).status_code == 422
        )
        assert client.get(base + f"/watches/{watch['id']}").json()["query"] == "acme"
        assert client.delete(base + f"/watches/{watch['id']}").status_code == 204
        assert client.get(base + f"/watches/{watch['id']}").status_code == 404
        assert client.get(base + "/watches").json() == []
