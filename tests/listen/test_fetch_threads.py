"""A poll's fetch threads each have their own HTTP client (listening/fetching.py).

Sharing one httpx client between 64 threads, httpcore's pool sometimes closed a connection
it had just handed to another thread, and that source failed with "[Errno 9] Bad file
descriptor". These tests poll many feeds on a keep-alive server, as the benchmark does.
"""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import free_port, make_settings, serving
from townsquare.errors import ValidationError
from townsquare.listening import sources
from townsquare.listening.fetching import thread_clients
from townsquare.listening.models import Source
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace

FEEDS = 300


def _feed(number: int) -> bytes:
    items = "".join(
        f"<item><title>Billet {number}-{n}</title><link>https://blog{number}.example/{n}</link>"
        f"<guid>https://blog{number}.example/{n}</guid><description>Acme {n}</description></item>"
        for n in range(2)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Blog {number}</title>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def feeds() -> Iterator[str]:
    """FEEDS feeds on an HTTP/1.1 keep-alive server (a thread per connection)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            number = int(self.path.split("/")[-1].split(".")[0])
            etag = f'"f{number}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = _feed(number)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    port = free_port()
    server = Server(("127.0.0.1", port), Handler)
    with serving(server):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def busy_threads() -> Iterator[None]:
    """Threads switch every 10 µs, as on a loaded machine (where the failure showed)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_threads")
def test_many_feeds_polled_on_64_threads_all_answer(
    sqlite_database: object, data_dir: Path, feeds: str
) -> None:
    settings = make_settings(data_dir, sqlite_database.url, allow_private_urls=True)  # type: ignore[attr-defined]
    with sqlite_database.session() as session:  # type: ignore[attr-defined]
        create_workspace(session, "acme", name="Acme")
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        session.add_all(
            Source(workspace_id=access.workspace_id, type="rss", target=f"{feeds}/{n}.xml",
                   every_minutes=15, state={})
            for n in range(FEEDS)
        )  # fmt: skip
        session.commit()
        first = sources.poll(session, settings, access, processes=False)
        assert first.errors == []
        assert (first.sources_polled, first.mentions_new) == (FEEDS, 2 * FEEDS)
        for _ in range(5):  # every feed answers 304: many requests on kept connections
            again = sources.poll(session, settings, access, processes=False)
            assert again.errors == []
            assert (again.sources_polled, again.items_fetched) == (FEEDS, 0)


def test_each_thread_has_its_own_client_and_all_are_closed(data_dir: Path, feeds: str) -> None:
    settings = make_settings(data_dir, allow_private_urls=True)
    clients = thread_clients(settings)
    barrier = threading.Barrier(8)

    def two_gets(number: int) -> tuple[int, int]:
        barrier.wait()  # the eight threads run at once
        client = clients.get()
        assert client.get(f"{feeds}/{number}.xml").status_code == 200
        assert clients.get() is client  # the same client for the thread's next fetch
        return threading.get_ident(), id(client)

    with ThreadPoolExecutor(max_workers=8) as pool:
        used = list(pool.map(two_gets, range(8)))
    assert len({client for _thread, client in used}) == len({thread for thread, _ in used}) == 8
    made = list(clients._clients)
    clients.close()
    assert all(client.is_closed for client in made)
    with pytest.raises(RuntimeError):
        made[0].get(f"{feeds}/0.xml")


def test_thread_clients_apply_the_ssrf_rule(data_dir: Path) -> None:
    settings = make_settings(data_dir)  # private addresses refused, as in production
    with thread_clients(settings) as clients, pytest.raises(ValidationError):
        clients.get().get("http://127.0.0.1:9/feed.xml")
