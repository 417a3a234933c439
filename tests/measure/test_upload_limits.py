"""Uploads are bounded and private (issue 7, items 8 and 9).

``TOWNSQUARE_MAX_UPLOAD_MB`` is enforced while the body streams in (with or without a
Content-Length), answered by a clear 413 on the API (JSON) and on the wizard (a page), and
nothing is kept; uploads abandoned in the wizard are deleted by the periodic task; the data
directory is 0700 and its files (databases, queue, uploads, keys) 0600.
"""

from __future__ import annotations

import io
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerThread, make_settings, seed_workspace
from townsquare.analytics import uploads
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import TooLarge
from townsquare.web.app import create_app
from townsquare.web.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from townsquare.workspaces import sessions

MB = 1024 * 1024
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def small_limit(database: Database, data_dir: Path) -> Iterator[tuple[ServerThread, Settings]]:
    settings = make_settings(data_dir, database.url, max_upload_mb=1)
    with ServerThread(create_app(settings, database=database)) as server:
        yield server, settings


def _kept(settings: Settings) -> list[Path]:
    root = settings.data_dir / "imports"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _csv(size: int) -> bytes:
    row = b"p1,2024-01-01 10:00,photo,1\n"
    return b"id,published_at,format,reach\n" + row * (size // len(row) + 1)


def test_api_upload_past_the_limit_is_a_413(
    database: Database, small_limit: tuple[ServerThread, Settings]
) -> None:
    server, settings = small_limit
    seed = seed_workspace(database)
    url = f"{server.url}/api/v1/workspaces/{seed.workspace}/imports"
    response = httpx.post(
        url,
        headers=seed.headers,
        files={"file": ("big.csv", _csv(2 * MB), "text/csv")},
        data={"channel": "page"},
        timeout=60,
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["type"] == "too_large"
    assert "larger than the 1 MB limit" in error["message"]
    assert "TOWNSQUARE_MAX_UPLOAD_MB" in error["message"]
    assert response.headers["x-content-type-options"] == "nosniff"

    # Streamed without a Content-Length (chunked): stopped while it streams, too.
    boundary = "townsquare-test-boundary"

    def chunks() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\npage\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        for _ in range(40):
            yield b"x" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = httpx.post(
        url,
        headers={**seed.headers, "content-type": f"multipart/form-data; boundary={boundary}"},
        content=chunks(),
        timeout=60,
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["error"]["type"] == "too_large"
    assert _kept(settings) == []
    # Under the limit, the same route works.
    small = httpx.post(
        url,
        headers=seed.headers,
        files={"file": ("small.csv", _csv(10_000), "text/csv")},
        data={"channel": "page", "dry_run": "true"},
        timeout=60,
    )
    assert small.status_code != 413


@sqlite_only
def test_wizard_upload_past_the_limit_is_a_413_page(
    database: Database, small_limit: tuple[ServerThread, Settings]
) -> None:
    server, settings = small_limit
    seed = seed_workspace(database)
    with database.session() as session:
        _user, key = sessions.login(
            session,
            email=seed.owner_email,
            password=seed.owner_password,
            client="upload-test",
            policy=sessions.LoginPolicy(),
        )
    response = httpx.post(
        f"{server.url}/w/{seed.workspace}/measure/import",
        cookies={SESSION_COOKIE: key, CSRF_COOKIE: "t"},
        headers={CSRF_HEADER: "t"},
        files={"file": ("big.csv", _csv(3 * MB), "text/csv")},
        data={"channel": "page"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "larger than the 1 MB limit" in response.text
    assert "<h1>413" in response.text
    assert _kept(settings) == []


def test_save_counts_every_byte_and_keeps_nothing_past_the_limit(data_dir: Path) -> None:
    settings = make_settings(data_dir, max_upload_mb=1)
    folder = uploads.upload_dir(settings, 1)
    with pytest.raises(TooLarge, match="larger than the 1 MB limit"):
        uploads.save(io.BytesIO(_csv(MB + 10)), folder, settings)
    assert list(folder.iterdir()) == []
    kept = uploads.save(io.BytesIO(_csv(MB - 100)), folder, settings)
    assert kept.stat().st_size <= MB
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@sqlite_only
def test_the_periodic_task_prunes_abandoned_wizard_uploads(
    database: Database, data_dir: Path
) -> None:
    from huey.storage import MemoryStorage

    from townsquare.jobs.queue import configure
    from townsquare.jobs.tasks import prune_expired_sessions_now

    settings = make_settings(data_dir, database.url)
    old = uploads.upload_dir(settings, 7) / ("a" * 32 + ".csv")
    fresh = uploads.upload_dir(settings, 8) / ("b" * 32 + ".xlsx")
    other = uploads.upload_dir(settings, 7) / "notes.txt"  # not an upload: left alone
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    os.utime(other, (two_days_ago, two_days_ago))
    huey = configure(settings, database)
    try:
        assert prune_expired_sessions_now() >= 1
    finally:
        huey.storage = MemoryStorage("townsquare")
    assert not old.exists()
    assert fresh.exists() and other.exists()


def test_data_dir_is_private_and_its_files_too(tmp_path: Path) -> None:
    from huey.storage import MemoryStorage

    from townsquare.jobs.queue import configure

    previous = os.umask(0o022)  # a typical umask: files would be 0644 without care
    try:
        data_dir = tmp_path / "fresh" / "data"
        settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
        database = Database.from_settings(settings)
        database.upgrade()
        with database.engine.begin() as connection:  # something in the WAL
            connection.exec_driver_sql("CREATE TABLE t (x)")
        settings.resolved_secret_key()
        settings.resolved_credentials_key()
        huey = configure(settings, database)
        try:
            huey.storage.enqueue(b"job")
        finally:
            huey.storage = MemoryStorage("townsquare")
        upload = uploads.save(io.BytesIO(b"a,b\n1,2\n"), uploads.upload_dir(settings, 1), settings)
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        files = [path for path in data_dir.rglob("*") if path.is_file()]
        names = {path.name for path in files}
        assert {"townsquare.db", "queue.db", "secret.key", "credentials.key", upload.name} <= names
        assert "townsquare.db-wal" in names
        loose = {
            str(path.relative_to(data_dir)): oct(stat.S_IMODE(path.stat().st_mode))
            for path in files
            if stat.S_IMODE(path.stat().st_mode) != 0o600
        }
        assert loose == {}
        for folder in (path for path in data_dir.rglob("*") if path.is_dir()):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        database.dispose()

        # An older data directory, world-readable: tightened when opened again.
        data_dir.chmod(0o755)
        (data_dir / "townsquare.db").chmod(0o644)
        Database.from_settings(settings).dispose()
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((data_dir / "townsquare.db").stat().st_mode) == 0o600
    finally:
        os.umask(previous)
