"""``townsquare serve`` with TOWNSQUARE_LINKS_HOST: short links on their own host name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ServerThread, free_port
from tests.links.conftest import LinksEnv
from townsquare.links import service
from townsquare.links.models import Link, LinkClick
from townsquare.web.app import create_app

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


def test_links_host_is_dispatched_to_the_redirector(links_env: LinksEnv) -> None:
    assert links_env.settings.links_host == "go.example.com"
    with links_env.database.session() as session:
        link = service.create_link(
            session,
            links_env.access(session),
            links_env.settings,
            target_url="https://example.com/landing",
            slug="launch",
        )
    app = create_app(links_env.settings, database=links_env.database)
    requests = 25
    with ServerThread(app) as server, httpx.Client(follow_redirects=False) as client:
        for _ in range(requests):
            response = client.get(
                server.url + "/launch", headers={"host": "go.example.com", "user-agent": CHROME}
            )
            assert response.status_code == 302
            assert response.headers["location"] == link.final_url
        # The port is ignored when the configured host name has none; case too.
        other_port = client.get(server.url + "/launch", headers={"host": "GO.example.com:8443"})
        assert other_port.status_code == 302
        # Unknown slugs on the links host get the redirector's 404, not the web app's.
        missing = client.get(server.url + "/login", headers={"host": "go.example.com"})
        assert missing.status_code == 404
        assert "This short link does not exist" in missing.text
        # Any other host is the web app: /launch is not one of its routes, /login is.
        assert client.get(server.url + "/launch").status_code == 404
        assert client.get(server.url + "/login").status_code in (200, 303)
    # Leaving the server ran the app's shutdown hooks: every buffered click is written.
    with links_env.database.session() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(LinkClick))
        human = session.scalar(sa.select(Link.human_clicks).where(Link.slug == "launch"))
    assert count == requests + 1
    assert human == requests + 1  # httpx's own user agent counts as a person (see clicks.py)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_serve_flushes_short_link_clicks_at_sigterm(links_env: LinksEnv, data_dir: Path) -> None:
    """A real ``townsquare serve`` with TOWNSQUARE_LINKS_HOST: N redirects, SIGTERM, N rows."""
    with links_env.database.session() as session:
        service.create_link(
            session,
            links_env.access(session),
            links_env.settings,
            target_url="https://example.com/served",
            slug="served",
        )
    port = free_port()
    env = {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(data_dir),
        "TOWNSQUARE_DATABASE_URL": links_env.database.url,
        "TOWNSQUARE_SECRET_KEY": "test-secret-key",
        "TOWNSQUARE_LINKS_HOST": "go.example.com",
        "TOWNSQUARE_QUEUE_URL": "",
    }
    command = [str(Path(sys.executable).parent / "townsquare"), "serve", "--no-worker"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/served"
    headers = {"host": "go.example.com", "user-agent": CHROME}
    requests = 120
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"host": "go.example.com"})
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        with httpx.Client() as client:
            for _ in range(requests):
                assert client.get(url, headers=headers).status_code == 302
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode in (0, -signal.SIGTERM), output
    with links_env.database.session() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(LinkClick))
    assert count == requests, output
