"""Edits reach separate ``serve-links`` processes: through Redis at once, else within the TTL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL, free_port
from tests.links.conftest import LinksEnv
from townsquare.db import Database
from townsquare.links import cache, service

# Several serve-links processes share PostgreSQL (SQLite is one machine's file): these
# tests run there only; the single-process behaviour is tested on both databases elsewhere.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database", ["postgres"], indirect=True),
]


@contextmanager
def serve_links(env: LinksEnv, data_dir: Path, *extra: str, queue_url: str = "") -> Iterator[str]:
    port = free_port()
    variables = {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(data_dir),
        "TOWNSQUARE_DATABASE_URL": env.database.url,
        "TOWNSQUARE_SECRET_KEY": "test-secret-key",
        "TOWNSQUARE_QUEUE_URL": queue_url,
    }
    command = [str(Path(sys.executable).parent / "townsquare"), "serve-links", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *extra],
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"serve-links did not start:\n{output}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _retarget(env: LinksEnv, slug: str, target: str) -> None:
    with env.database.session() as session:
        service.update_link(session, env.access(session), env.settings, slug, target_url=target)


def _location(url: str) -> str:
    return httpx.get(url).headers.get("location", "")


def _wait_for(url: str, expected: str, seconds: float) -> float:
    """Seconds until ``url`` redirects to ``expected`` (fails after ``seconds``)."""
    start = time.monotonic()
    while _location(url) != expected:
        assert time.monotonic() - start < seconds, f"{url} still goes to {_location(url)}"
        time.sleep(0.05)
    return time.monotonic() - start


def _create(env: LinksEnv, slug: str) -> None:
    with env.database.session() as session:
        service.create_link(
            session,
            env.access(session),
            env.settings,
            target_url="https://example.com/a",
            slug=slug,
        )


def test_edit_reaches_other_processes_through_redis(
    links_env: LinksEnv, data_dir: Path, redis_url: str
) -> None:
    _create(links_env, "shared")
    # A long TTL: only the Redis message can explain a quick change.
    with serve_links(links_env, data_dir, "--cache-ttl", "300", queue_url=redis_url) as url:
        assert _location(url + "/shared") == "https://example.com/a"
        time.sleep(0.5)  # the listener subscribes right after start-up
        cache.configure_invalidation(redis_url)  # as `serve` or the CLI with that queue URL
        try:
            _retarget(links_env, "shared", "https://example.com/b")
            _wait_for(url + "/shared", "https://example.com/b", seconds=5)
        finally:
            cache.configure_invalidation(None)


def test_without_redis_an_edit_arrives_within_the_ttl(links_env: LinksEnv, data_dir: Path) -> None:
    _create(links_env, "later")
    with serve_links(links_env, data_dir, "--cache-ttl", "1") as url:
        assert _location(url + "/later") == "https://example.com/a"
        _retarget(links_env, "later", "https://example.com/b")
        # Not instantly (no message reaches that process), but within the TTL.
        _wait_for(url + "/later", "https://example.com/b", seconds=1 + 4)


def test_several_processes_start_together_on_an_empty_database(
    database: Database, data_dir: Path
) -> None:
    """Each serve-links migrates at start; the advisory lock keeps them from racing."""
    name = f"ts_links_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[str]] = []
    try:
        ports = [free_port() for _ in range(3)]
        command = [str(Path(sys.executable).parent / "townsquare"), "serve-links", "--port"]
        variables = {
            **os.environ,
            "TOWNSQUARE_DATA_DIR": str(data_dir),
            "TOWNSQUARE_DATABASE_URL": url,
            "TOWNSQUARE_SECRET_KEY": "test-secret-key",
            "TOWNSQUARE_QUEUE_URL": "",
        }
        for port in ports:
            processes.append(
                subprocess.Popen(
                    [*command, str(port)],
                    env=variables,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        deadline = time.monotonic() + 90
        for port, process in zip(ports, processes, strict=True):
            while True:
                try:
                    # A 404 for an unknown slug means the links table exists: migrated.
                    response = httpx.get(f"http://127.0.0.1:{port}/nothing")
                    assert response.status_code == 404
                    break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"serve-links on {port} did not start:\n{output}")
                time.sleep(0.1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.communicate(timeout=60)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
