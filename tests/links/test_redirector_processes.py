"""Edits reach separate ``serve-links`` processes: through Redis at once, else within the TTL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.links.conftest import LinksEnv
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
