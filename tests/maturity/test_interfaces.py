"""``townsquare maturity …``, the service on both databases, the REST API and the pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Seed, ServerThread, make_settings, seed_workspace
from tests.links.test_cli import Cli
from tests.maturity.test_scoring import answers
from townsquare.db import Database
from townsquare.errors import NotFound, PermissionDenied, ValidationError
from townsquare.maturity import service
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def cli(
    database: Database,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    seed_workspace(database)
    return Cli(data_dir, database.url, monkeypatch, capsys)


@sqlite_only
def test_cli_questions_contract(cli: Cli) -> None:
    data = cli.json("maturity", "questions")
    assert data["scale"]["min"] == 1 and data["scale"]["max"] == 5
    assert isinstance(data["stages"], list) and len(data["stages"]) == 4
    first = data["competencies"][0]
    assert set(first) == {"id", "name", "statements"}
    assert set(first["name"]) == {"fr", "en"}
    assert set(first["statements"][0]) == {"id", "stage", "text"}
    assert set(first["statements"][0]["text"]) == {"fr", "en"}


def test_cli_answer_history_compare(cli: Cli, tmp_path: Path) -> None:
    early = tmp_path / "early.json"
    early.write_text(json.dumps(answers(2)))
    later = tmp_path / "later.json"
    later.write_text(json.dumps(answers(4, metrics__emergent=1)))
    first = cli.json(
        "maturity",
        "answer",
        "--workspace",
        "acme",
        "--input",
        str(early),
        "--taken-at",
        "2026-01-15",
    )
    assert set(first) == {"id", "taken_at", "competencies", "next_steps"}
    assert first["taken_at"].startswith("2026-01-15")
    assert first["competencies"][0] == {"id": "strategy", "score": 25.0, "stage": "early"}
    assert len(first["next_steps"]) == 3
    second = cli.json("maturity", "answer", "--workspace", "acme", "--input", str(later))
    assert second["next_steps"][0]["competency"] == "metrics"
    assert second["next_steps"][0]["url"] == "/w/acme/measure/glossary"
    history = cli.json("maturity", "history", "--workspace", "acme")
    assert [item["id"] for item in history] == [first["id"], second["id"]]
    compared = cli.json(
        "maturity", "compare", "--workspace", "acme", "--from", "2026-02-01", "--to", "2099-01-01"
    )
    assert compared["before"]["id"] == first["id"] and compared["after"]["id"] == second["id"]
    assert compared["competencies"][0]["change"] == 50.0


@sqlite_only
def test_cli_bad_input(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**answers(3), "strategy.early": 9}))
    done = cli.run("maturity", "answer", "--workspace", "acme", "--input", str(bad), "--json")
    assert done.returncode == 2 and "strategy.early: 9 is not on the scale" in done.stderr
    bad.write_text("{not json")
    done = cli.run("maturity", "answer", "--workspace", "acme", "--input", str(bad))
    assert done.returncode == 2 and "is not JSON" in done.stderr
    done = cli.run("maturity", "answer", "--workspace", "acme", "--input", str(tmp_path / "no"))
    assert done.returncode == 2 and "cannot read" in done.stderr
    done = cli.run("maturity", "history", "--workspace", "nope", "--json")
    assert done.returncode == 3
    assert cli.json("maturity", "history", "--workspace", "acme") == []


def test_service_scope_roles_and_latest(database: Database) -> None:
    seed_workspace(database)
    seed_workspace(database, slug="other", email="o@other.test")
    with database.session() as session:
        acme = WorkspaceAccess.operator(get_workspace(session, "acme"))
        other = WorkspaceAccess.operator(get_workspace(session, "other"))
        assert service.latest_assessment(session, acme) is None
        record = service.answer(session, acme, answers(3), taken_at="2026-03-01")
        newer = service.answer(session, acme, answers(5))
        latest = service.latest_assessment(session, acme)
        assert latest is not None and latest["id"] == newer.id and latest["next_steps"] == []
        assert service.history(session, other) == []
        with pytest.raises(NotFound):
            service.get(session, other, record.id)
        viewer = WorkspaceAccess(acme.workspace, User(email="v@x", password_hash=""), Role.VIEWER)
        with pytest.raises(PermissionDenied):
            service.answer(session, viewer, answers(3))
        with pytest.raises(ValidationError, match="future"):
            service.answer(session, acme, answers(3), taken_at="2999-01-01")
        with pytest.raises(ValidationError, match="no answer"):
            service.answer(session, acme, {"strategy.early": 3})
        assert [r.id for r in service.history(session, acme)] == [record.id, newer.id]


@pytest.fixture
def api(database: Database, data_dir: Path) -> Iterator[httpx.Client]:
    seed: Seed = seed_workspace(database)
    from townsquare.web.app import create_app

    settings = make_settings(data_dir, database.url)
    with (
        ServerThread(create_app(settings, database=database)) as server,
        httpx.Client(base_url=server.url, headers=seed.headers, timeout=30) as client,
    ):
        yield client


@sqlite_only
def test_api(api: httpx.Client) -> None:
    base = "/api/v1/workspaces/acme/maturity"
    assert api.get("/api/v1/maturity/questions").json()["scale"] == {
        "min": 1,
        "max": 5,
        "labels": api.get("/api/v1/maturity/questions").json()["scale"]["labels"],
    }
    assert api.get(f"{base}/assessments/latest").status_code == 404
    done = api.post(f"{base}/assessments", json={"answers": answers(3), "taken_at": "2026-02-01"})
    assert done.status_code == 201, done.text
    body = done.json()
    assert set(body) == {"id", "taken_at", "competencies", "next_steps"}
    assert api.get(f"{base}/assessments/{body['id']}").json() == body
    assert api.get(f"{base}/assessments").json() == [body]
    assert api.get(f"{base}/assessments/latest").json() == body
    refused = api.post(f"{base}/assessments", json={"answers": {"strategy.early": 0}})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "strategy.early"
    assert len(refused.json()["error"]["problems"]) == 32
    compared = api.get(f"{base}/compare", params={"from": "2026-02-01", "to": "2026-03-01"})
    assert compared.status_code == 200 and compared.json()["competencies"][0]["change"] == 0
    assert api.get(f"{base}/compare", params={"from": "x", "to": "y"}).status_code == 422
    assert api.get(f"{base}/assessments/9999").status_code == 404


@pytest.fixture
def web(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    from townsquare.web.app import create_app

    seed_workspace(database)
    settings = make_settings(tmp_path, database.url)
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
def test_pages(web: TestClient) -> None:
    csrf = web.cookies["ts_csrf"]
    page = web.get("/w/acme/settings/maturity")
    assert page.status_code == 200 and 'name="strategy.early"' in page.text
    partial = {"csrf_token": csrf, **{k: str(v) for k, v in answers(4).items()}}
    del partial["tools.networked"]
    refused = web.post("/w/acme/settings/maturity", data=partial)
    assert refused.status_code == 422
    assert 'data-statement="tools.networked" aria-invalid="true"' in refused.text
    assert 'name="strategy.early" value="4" checked' in refused.text  # answers kept

    first = web.post("/w/acme/settings/maturity", data={**partial, "tools.networked": "1"})
    assert first.status_code == 303
    result = web.get(first.headers["location"])
    assert result.status_code == 200
    assert 'data-competency="tools" data-stage="established"' in result.text
    assert "Networked organisation" in result.text and 'id="radar-spec"' in result.text
    assert "/w/acme/settings/handles" in result.text  # a next step into the product

    second = web.post(
        "/w/acme/settings/maturity",
        data={"csrf_token": csrf, **{k: str(v) for k, v in answers(2).items()}},
    )
    a, b = first.headers["location"].rsplit("/", 1)[1], second.headers["location"].rsplit("/", 1)[1]
    compared = web.get("/w/acme/settings/maturity/compare", params={"a": a, "b": b})
    assert compared.status_code == 200 and "Change" in compared.text
    assert web.get("/w/acme/settings/maturity/compare", params={"a": "x"}).status_code == 422

    web.post("/language", data={"csrf_token": csrf, "language": "fr", "next": "/"})
    french = web.get(first.headers["location"])
    assert "Organisation en réseau" in french.text and "Prochaines étapes" in french.text
    assert "Réservez votre nom" in french.text
    method = web.get("/w/acme/settings/maturity/method")
    assert "Les stades se gravissent dans l’ordre" in method.text
