"""Rate limits hold under real concurrency, and forwarded headers only from trusted proxies
(issue 7, items 2 and 3).

Parallel requests against the real app served by uvicorn, on SQLite and PostgreSQL (and
with Redis counters): at most the limit of wrong passwords is ever evaluated (401/403), the
rest are refused before the hash is computed (429).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.conftest import ServerThread, make_settings
from townsquare.db import Database
from townsquare.links import redirector as redirector_module
from townsquare.links import service as links_service
from townsquare.proxies import ClientResolver, parse_networks
from townsquare.web.app import create_app
from townsquare.web.security import CSRF_COOKIE, SESSION_COOKIE
from townsquare.workspaces import service
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

from .test_web_pages import _cheap_password_hashing  # noqa: F401 - applies here too

PASSWORD = "correct horse battery"
LIMIT = 5  # TOWNSQUARE_LOGIN_MAX_FAILURES' default
CSRF = "rate-limit-test-csrf-token"


@contextmanager
def app_server(database: Database, data_dir: Path, **extra: Any) -> Iterator[ServerThread]:
    settings = make_settings(data_dir, database.url, **extra)
    with ServerThread(create_app(settings, database=database)) as server:
        yield server


def make_user(database: Database, workspace: str | None = None) -> str:
    email = f"u{uuid.uuid4().hex[:10]}@acme.test"
    with database.session() as session:
        user = service.create_user(session, email=email, password=PASSWORD)
        if workspace:
            service.create_workspace(session, workspace, owner=user, operator=True)
    return email


def in_parallel(count: int, call: Callable[[int], httpx.Response]) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return [response.status_code for response in pool.map(call, range(count))]


def login(
    server: ServerThread | SimpleNamespace,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.post(
        server.url + "/login",
        data={"email": email, "password": password, "csrf_token": CSRF},
        cookies={CSRF_COOKIE: CSRF},
        headers=headers,
        timeout=60,
    )


def test_parallel_wrong_passwords_evaluate_at_most_the_limit(
    database: Database, data_dir: Path
) -> None:
    email = make_user(database)
    with app_server(database, data_dir) as server:
        statuses = in_parallel(40, lambda n: login(server, email, f"wrong {n}"))
        assert statuses.count(401) <= LIMIT, statuses
        assert statuses.count(401) + statuses.count(429) == 40, statuses
        # The limit holds for the right password too, until the window ends.
        assert login(server, email, PASSWORD).status_code == 429


def test_parallel_wrong_passwords_from_distinct_addresses(
    database: Database, data_dir: Path
) -> None:
    email = make_user(database)
    with app_server(database, data_dir, trusted_proxies="127.0.0.1") as server:
        statuses = in_parallel(
            40,
            lambda n: login(server, email, f"wrong {n}", {"X-Forwarded-For": f"203.0.113.{n + 1}"}),
        )
    assert statuses.count(401) <= LIMIT, statuses
    assert statuses.count(429) >= 40 - LIMIT, statuses


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    database: Database, data_dir: Path
) -> None:
    emails = [make_user(database) for _ in range(8)]

    def rotating(server: ServerThread) -> list[int]:
        # One e-mail each (so only the per-address limit can hold), a new address each.
        return [
            login(server, email, "wrong", {"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n, email in enumerate(emails)
        ]

    with app_server(database, data_dir) as server:
        # From an untrusted peer the header is ignored: all eight come from 127.0.0.1.
        assert rotating(server) == [401] * LIMIT + [429] * (8 - LIMIT)
    with app_server(database, data_dir / "other", trusted_proxies="127.0.0.0/8, ::1") as server:
        emails[:] = [make_user(database) for _ in range(8)]
        # From a trusted proxy each address is its own client.
        assert rotating(server) == [401] * 8


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_redis_counters_when_the_queue_is_redis(
    database: Database, data_dir: Path, redis_url: str
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    before = set(client.scan_iter("townsquare:ratelimit:*"))
    email = make_user(database)
    try:
        with app_server(database, data_dir, queue_url=redis_url) as server:
            statuses = in_parallel(40, lambda n: login(server, email, f"wrong {n}"))
            assert statuses.count(401) <= LIMIT, statuses
            assert login(server, email, PASSWORD).status_code == 429
        new_keys = set(client.scan_iter("townsquare:ratelimit:*")) - before
        assert any(key.startswith(b"townsquare:ratelimit:login:email:") for key in new_keys)
        # The counters live in Redis, not in the database, and they expire by themselves.
        for key in new_keys:
            assert 0 < client.ttl(key) <= 15 * 60
    finally:
        for key in set(client.scan_iter("townsquare:ratelimit:*")) - before:
            client.delete(key)


def test_password_change_current_password_is_limited(database: Database, data_dir: Path) -> None:
    email = make_user(database)
    with app_server(database, data_dir) as server:
        response = login(server, email, PASSWORD)
        assert response.status_code == 303
        key = response.cookies[SESSION_COOKIE]

        def change(n: int) -> httpx.Response:
            return httpx.post(
                server.url + "/settings/account/password",
                data={
                    "current": f"not it {n}",
                    "new": "a brand new password",
                    "confirm": "a brand new password",
                    "csrf_token": CSRF,
                },
                cookies={CSRF_COOKIE: CSRF, SESSION_COOKIE: key},
                timeout=60,
            )

        statuses = in_parallel(12, change)
    assert statuses.count(401) <= LIMIT, statuses
    assert statuses.count(429) >= 12 - LIMIT, statuses


def _protected_link(database: Database, data_dir: Path, slug: str) -> None:
    settings = make_settings(data_dir, database.url)
    with database.session() as session:
        email = make_user(database, workspace=f"ws-{uuid.uuid4().hex[:6]}")
        owner = service.get_user_by_email(session, email)
        assert owner is not None
        workspace = service.workspaces_of(session, owner)[0][0]
        links_service.create_link(
            session,
            WorkspaceAccess.operator(get_workspace(session, workspace.slug)),
            settings,
            target_url="https://example.com/private",
            slug=slug,
            password="open sesame",
        )


def unlock(
    server: ServerThread, slug: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/{slug}", data={"password": password}, headers=headers, timeout=60
    )


def test_link_passwords_limited_per_address_and_per_link(
    database: Database, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redirector_module, "PASSWORD_MAX_FAILURES", 3)  # 10 in production
    monkeypatch.setattr(redirector_module, "PASSWORD_LINK_MAX_FAILURES", 6)  # 50
    _protected_link(database, data_dir, "vault")
    _protected_link(database, data_dir, "safe")
    with app_server(database, data_dir, trusted_proxies="127.0.0.1") as server:
        # One address, in parallel: at most 3 evaluated.
        statuses = in_parallel(
            20, lambda n: unlock(server, "vault", f"guess {n}", {"X-Forwarded-For": "192.0.2.1"})
        )
        assert statuses.count(403) <= 3 and statuses.count(429) >= 17, statuses
        # Many addresses, in parallel: at most 6 evaluated for the link as a whole.
        statuses = in_parallel(
            30,
            lambda n: unlock(
                server, "safe", f"guess {n}", {"X-Forwarded-For": f"192.0.2.{n + 10}"}
            ),
        )
        assert statuses.count(403) <= 6 and statuses.count(429) >= 24, statuses
        # The link guessed from one address still opens from another.
        other = unlock(server, "vault", "open sesame", {"X-Forwarded-For": "192.0.2.200"})
        assert other.status_code == 303


# --- the resolver itself (pure) ------------------------------------------------------------


def _scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "client": (peer, 1234),
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }


def test_client_resolver_reads_the_chain_from_the_right() -> None:
    resolver = ClientResolver(parse_networks("10.0.0.0/8, 127.0.0.1"), b"cf-ipcountry")
    chain = ("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.1.2.3")
    assert resolver.client_address(_scope("127.0.0.1", chain)) == "203.0.113.9"
    assert resolver.client_address(_scope("198.51.100.7", chain)) == "198.51.100.7"
    assert resolver.client_address(_scope("127.0.0.1")) == "127.0.0.1"
    assert resolver.client_address(_scope("127.0.0.1", ("x-forwarded-for", "[2001:db8::1]:80")))
    assert resolver.country(_scope("10.0.0.1", ("cf-ipcountry", "FR"))) == "FR"
    assert resolver.country(_scope("198.51.100.7", ("cf-ipcountry", "FR"))) is None
    nobody = ClientResolver(parse_networks(""), b"cf-ipcountry")
    assert nobody.client_address(_scope("127.0.0.1", chain)) == "127.0.0.1"
    assert nobody.country(_scope("127.0.0.1", ("cf-ipcountry", "FR"))) is None


def test_a_bad_trusted_proxy_is_refused_naming_it(data_dir: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"'10\.0\.0\.0/33' is not an IP address or CIDR"):
        make_settings(data_dir, trusted_proxies="127.0.0.1, 10.0.0.0/33")


def test_the_serve_process_ignores_forwarded_for_from_loopback(tmp_path: Path) -> None:
    """The real ``townsquare serve`` (uvicorn would believe X-Forwarded-For from 127.0.0.1
    by default): rotating the header does not escape the per-address limit."""
    from tests.conftest import free_port
    from tests.house.test_cli_serve import healthy, running, townsquare_env, wait_for

    data_dir = tmp_path / "data"
    database = Database.from_settings(make_settings(data_dir))
    database.upgrade()
    emails = [make_user(database) for _ in range(LIMIT + 2)]
    database.dispose()
    port = free_port()
    log = tmp_path / "serve.log"
    with running(["serve", "--port", str(port), "--no-worker"], townsquare_env(data_dir), log):
        server = SimpleNamespace(url=f"http://127.0.0.1:{port}")
        wait_for(lambda: healthy(server.url), "serve to answer", log)
        statuses = [
            login(server, email, "wrong", {"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n, email in enumerate(emails)
        ]
    assert statuses == [401] * LIMIT + [429] * 2
