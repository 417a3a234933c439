"""The import API over real HTTP and the import wizard, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ServerThread, data_file
from tests.measure.conftest import ImportTarget
from townsquare.analytics.models import ImportProfile, Post
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app

REPORT_KEYS = {"rows_read", "imported", "updated", "duplicates_skipped", "encoding", "errors"}
BAD_CSV = (
    "id,published_at,format,reach\n"
    "p1,04-11-18 10:00,photo,1\n"
    "p2,2024-01-01 10:00,podcast,2\n"
    "p3,2024-01-01 11:00,photo,-4\n"
)


def test_api_imports_a_preset_file(import_target: ImportTarget, live_server: ServerThread) -> None:
    url = f"/api/v1/workspaces/{import_target.seed.workspace}/imports"
    uci = data_file("dataset_Facebook.csv")
    with httpx.Client(
        base_url=live_server.url, headers=import_target.seed.headers, timeout=60
    ) as client:
        response = client.post(
            url,
            files={"file": ("dataset_Facebook.csv", uci.read_bytes(), "text/csv")},
            data={"channel": "page", "preset": "uci-facebook-metrics"},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "rows_read": 500,
            "imported": 500,
            "updated": 0,
            "duplicates_skipped": 0,
            "encoding": "utf-8",
            "errors": [],
        }
        again = client.post(
            url,
            files={"file": ("dataset_Facebook.csv", uci.read_bytes(), "text/csv")},
            data={"channel": "page", "preset": "uci-facebook-metrics", "dry_run": "true"},
        ).json()
        assert (again["imported"], again["updated"]) == (0, 500)
    assert import_target.count(Post) == 500


def test_api_reports_every_problem_and_writes_nothing(
    import_target: ImportTarget, live_server: ServerThread
) -> None:
    url = f"/api/v1/workspaces/{import_target.seed.workspace}/imports"
    with httpx.Client(
        base_url=live_server.url, headers=import_target.seed.headers, timeout=60
    ) as client:
        response = client.post(
            url, files={"file": ("bad.csv", BAD_CSV.encode())}, data={"channel": "page"}
        )
        assert response.status_code == 422
        body = response.json()
        assert set(body) >= REPORT_KEYS
        assert [e["line"] for e in body["errors"]] == [2, 3, 4]
        assert body["error"]["type"] == "validation_error"
        # Generic with a mapping given as repeated fields, and a profile saved on success.
        good = "Ident;Quand;Genre;Vues\nq1;2024-03-01 08:00;video;12\n"
        response = client.post(
            url,
            files={"file": ("ok.csv", good.encode())},
            data={
                "channel": "page",
                "map": ["Ident=external_id", "Quand=published_at", "Genre=format", "Vues=reach"],
                "save_profile": "weekly",
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["imported"] == 1
        profiles = client.get(
            f"/api/v1/workspaces/{import_target.seed.workspace}/import-profiles"
        ).json()
        assert profiles[0]["name"] == "weekly" and profiles[0]["mapping"]["Vues"] == "reach"
        response = client.post(
            url,
            files={"file": ("ok.csv", good.encode())},
            data={"channel": "page", "profile": "weekly"},
        )
        assert response.json()["updated"] == 1
        anonymous = httpx.post(
            live_server.url + url,
            files={"file": ("ok.csv", good.encode())},
            data={"channel": "page"},
        )
        assert anonymous.status_code == 401
    assert import_target.count(Post) == 1


@pytest.fixture
def client(
    import_target: ImportTarget, db_settings: Settings, database: Database
) -> Iterator[TestClient]:
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as test_client:
        test_client.get("/login")
        response = test_client.post(
            "/login",
            data={
                "email": import_target.seed.owner_email,
                "password": import_target.seed.owner_password,
                "csrf_token": test_client.cookies["ts_csrf"],
            },
        )
        assert response.status_code == 303, response.text
        yield test_client


def _confirm_form(html: str) -> dict[str, object]:
    form = html[html.index('id="import-confirm"') :]
    data: dict[str, object] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form):
        if name == "column":
            data.setdefault("column", []).append(value)  # type: ignore[union-attr]
        else:
            data[name] = value
    return data


def test_wizard_upload_preview_confirm(
    client: TestClient, import_target: ImportTarget, tmp_path: Path
) -> None:
    csrf = client.cookies["ts_csrf"]
    page = client.get("/w/acme/measure/import")
    assert page.status_code == 200
    assert 'name="file"' in page.text and "uci-facebook-metrics" in page.text
    live = data_file("Live.csv").read_bytes()
    preview = client.post(
        "/w/acme/measure/import",
        data={"csrf_token": csrf, "channel": "facebook:page", "preset": "facebook-live-sellers"},
        files={"file": ("Live.csv", live, "text/csv")},
    )
    assert preview.status_code == 200, preview.text
    # The first rows as they will be read: 4/22/2018 6:00 in Bangkok is 2018-04-21 23:00 UTC.
    assert "246675545449582_1649696485147474" in preview.text
    assert "2018-04-21 23:00" in preview.text
    assert import_target.count(Post) == 0  # nothing written before confirming
    form = _confirm_form(preview.text)
    dry = client.post("/w/acme/measure/import/confirm", data={**form, "action": "dry_run"})
    assert dry.status_code == 200
    assert "6997" in dry.text and "Nothing was written" in dry.text
    assert import_target.count(Post) == 0
    done = client.post("/w/acme/measure/import/confirm", data={**form, "action": "import"})
    assert done.status_code == 200, done.text
    assert 'data-key="imported">6997<' in done.text
    assert 'data-key="duplicates_skipped">51<' in done.text
    assert import_target.count(Post) == 6997
    # The upload is gone once imported.
    again = client.post("/w/acme/measure/import/confirm", data={**form, "action": "import"})
    assert again.status_code == 404


def test_wizard_generic_mapping_problems_and_profile(
    client: TestClient, import_target: ImportTarget
) -> None:
    csrf = client.cookies["ts_csrf"]
    preview = client.post(
        "/w/acme/measure/import",
        data={"csrf_token": csrf, "channel": "facebook:page", "preset": "generic"},
        files={"file": ("bad.csv", BAD_CSV.encode(), "text/csv")},
    )
    assert preview.status_code == 200
    assert "is ambiguous" in preview.text  # seen in the preview already
    form = _confirm_form(preview.text)
    fields = ["external_id", "published_at", "format", "reach"]
    failed = client.post(
        "/w/acme/measure/import/confirm",
        data={**form, "field": fields, "action": "import", "save_profile": "p"},
    )
    assert failed.status_code == 422
    assert 'id="import-problems"' in failed.text
    for line in ("<td>2</td>", "<td>3</td>", "<td>4</td>"):
        assert line in failed.text
    assert import_target.count(Post) == 0
    # Ignoring the bad columns and settling the date format makes it importable.
    fixed = client.post(
        "/w/acme/measure/import/confirm",
        data={
            **form,
            "field": ["external_id", "published_at", "ignore", "ignore"],
            "action": "import",
            "save_profile": "p",
        },
    )
    assert fixed.status_code == 422  # format is required: the report says so
    assert "no column is mapped to &#39;format&#39;" in fixed.text
    assert import_target.count(ImportProfile) == 0


def test_wizard_in_french(client: TestClient) -> None:
    client.cookies.set("ts_lang", "fr")
    page = client.get("/w/acme/measure/import", headers={"accept-language": "fr"})
    assert "Importer des publications" in page.text
    assert "Type de fichier" in page.text and "Tout fichier CSV ou Excel" in page.text


def test_abandoned_uploads_are_pruned(client: TestClient, db_settings: Settings) -> None:
    import os
    import time

    def upload() -> None:
        response = client.post(
            "/w/acme/measure/import",
            data={"csrf_token": client.cookies["ts_csrf"], "channel": "facebook:page"},
            files={"file": ("a.csv", b"id,published_at,format\np1,2024-01-01,photo\n")},
        )
        assert response.status_code == 200

    upload()
    folder = next((db_settings.data_dir / "imports").iterdir())
    (first,) = list(folder.iterdir())
    stale = time.time() - 2 * 24 * 3600
    os.utime(first, (stale, stale))
    upload()
    remaining = list(folder.iterdir())
    assert first not in remaining and len(remaining) == 1


def test_viewers_see_why_they_cannot_import(
    import_target: ImportTarget, db_settings: Settings, database: Database
) -> None:
    from townsquare.workspaces import service as workspaces

    with database.session() as session:
        workspaces.create_user(
            session,
            email="client@acme.test",
            password="viewer password 1",
            workspace="acme",
            role="viewer",
        )
    app = create_app(db_settings, database=database)
    with TestClient(app, follow_redirects=False) as viewer:
        viewer.get("/login")
        viewer.post(
            "/login",
            data={
                "email": "client@acme.test",
                "password": "viewer password 1",
                "csrf_token": viewer.cookies["ts_csrf"],
            },
        )
        page = viewer.get("/w/acme/measure/import")
        assert page.status_code == 200
        assert 'id="import-not-allowed"' in page.text and 'id="import-upload"' not in page.text
        refused = viewer.post(
            "/w/acme/measure/import",
            data={"csrf_token": viewer.cookies["ts_csrf"], "channel": "facebook:page"},
            files={"file": ("a.csv", b"id,published_at,format\np1,2024-01-01,photo\n")},
        )
        assert refused.status_code == 403
    assert import_target.count(Post) == 0
