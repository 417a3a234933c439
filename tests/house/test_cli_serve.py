"""``townsquare serve`` as a real process: migrates, serves, answers /healthz, stops on SIGTERM.

Also where the keys of a fresh data directory are checked: ``serve`` makes them on its
first run, readable by its owner only.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.conftest import free_port
from townsquare.db import Database

TOWNSQUARE = str(Path(sys.executable).with_name("townsquare"))
# After a graceful shutdown uvicorn re-raises the SIGTERM it caught, so that supervisors
# see the usual "terminated by signal" status; a clean exit is fine too.
STOPPED = (0, -signal.SIGTERM)


def townsquare_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a townsquare process: this machine's, minus any TOWNSQUARE_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(TOWNSQUARE_DATA_DIR=str(data_dir), TOWNSQUARE_LOG_LEVEL="WARNING")
    if database_url:
        env["TOWNSQUARE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A townsquare process, stopped with SIGTERM at the end (exit status checked)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [TOWNSQUARE, *args], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    raise AssertionError(f"{args[0]} ignored SIGTERM:\n{log.read_text()}") from None


def wait_for(condition: object, what: str, log: Path, timeout: float = 90) -> None:
    """Poll ``condition()`` until true; the process log is in the failure message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; log:\n{log.read_text()}")


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_on_a_fresh_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # does not exist yet: serve creates it
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(args, townsquare_env(data_dir), log) as process:
        wait_for(lambda: healthy(url) or process.poll() is not None, "serve to answer", log)
        assert process.poll() is None, log.read_text()
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        # Migrated on start: the set-up page is there for the first user.
        first = httpx.get(f"{url}/", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/setup"
        assert httpx.get(f"{url}/api/openapi.json", timeout=60).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in STOPPED, log.read_text()

    assert (data_dir / "townsquare.db").exists()
    for name in ("credentials.key", "secret.key"):
        key = data_dir / name
        assert key.exists(), name
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, name
    Fernet((data_dir / "credentials.key").read_text().strip().encode())  # a valid key


def test_serve_no_worker_on_postgres(
    tmp_path: Path, postgres_database: Database, data_dir: Path
) -> None:
    database = postgres_database
    port = free_port()
    log = tmp_path / "serve.log"
    env = townsquare_env(data_dir, database.url)
    with running(["serve", "--port", str(port), "--no-worker"], env, log) as process:
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), "serve to answer", log)
        assert process.poll() is None
    assert process.returncode in STOPPED
    # It served the configured database, not a SQLite file in the data directory.
    assert not (data_dir / "townsquare.db").exists()
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar() == 0


def test_console_script_exit_code(tmp_path: Path) -> None:
    """The installed `townsquare` executable maps errors to exit codes too."""
    result = subprocess.run(
        [TOWNSQUARE, "workspace", "create", "Not A Slug"],
        env=townsquare_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid workspace slug" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_processes_starting_at_once_migrate_once(tmp_path: Path, backend: str) -> None:
    """Several processes on a fresh database: one migrates, the others wait, none fails."""
    import uuid

    from tests.conftest import (
        POSTGRES_URL,
        _pg_admin_engine,
        _pg_available,
        _pg_drop,
        require_service,
    )

    url = None
    name = f"ts_race_{uuid.uuid4().hex[:10]}"
    if backend == "postgres":
        require_service("PostgreSQL", _pg_available(), POSTGRES_URL)
        admin = _pg_admin_engine()
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        env = townsquare_env(tmp_path / "data", url)
        processes = [
            subprocess.Popen(
                [TOWNSQUARE, "db", "upgrade"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=180)[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        assert sum("upgraded from empty" in out for out in outputs) == 1, outputs
        assert sum("already at" in out for out in outputs) == 2, outputs
    finally:
        if backend == "postgres":
            _pg_drop(name)
