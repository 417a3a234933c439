"""The redirector over real HTTP on loopback, on SQLite and PostgreSQL.

Links are created with the links service (as the web UI, API and CLI do); clicks are read
back from the database after the recorder's buffer is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import (
    POSTGRES_URL,
    ServerThread,
    _pg_available,
    _pg_drop,
    _pg_fresh_database,
    make_settings,
    require_service,
    seed_workspace,
)
from tests.links.conftest import LinksEnv
from townsquare.db import Database
from townsquare.links import redirector as redirector_module
from townsquare.links import service
from townsquare.links.models import Link, LinkClick
from townsquare.links.redirector import Redirector

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@dataclass
class Served:
    env: LinksEnv
    redirector: Redirector
    url: str
    client: httpx.Client

    def create(self, target: str = "https://example.com/page", **options: Any) -> Link:
        with self.env.database.session() as session:
            return service.create_link(
                session,
                self.env.access(session),
                self.env.settings,
                target_url=target,
                **options,
            )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(self.url + path, **kwargs)

    def clicks(self, slug: str) -> list[LinkClick]:
        """The clicks of ``slug``, once everything buffered is written."""
        self.redirector.recorder.flush()
        with self.env.database.session() as session:
            link_id = session.scalar(sa.select(Link.id).where(Link.slug == slug))
            query = sa.select(LinkClick).where(LinkClick.link_id == link_id)
            return list(session.scalars(query.order_by(LinkClick.id)))

    def count(self) -> int:
        """Every click in the database (the module's tests share one)."""
        self.redirector.recorder.flush()
        with self.env.database.session() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(LinkClick)) or 0)

    def human_clicks(self, slug: str) -> int:
        self.redirector.recorder.flush()
        with self.env.database.session() as session:
            value = session.scalar(sa.select(Link.human_clicks).where(Link.slug == slug))
            return int(value or 0)


def serve(env: LinksEnv, **settings_extra: Any) -> Iterator[Served]:
    settings = env.settings
    if settings_extra:
        settings = make_settings(
            settings.data_dir, env.database.url, links_host="go.example.com", **settings_extra
        )
    redirector = Redirector(settings, env.database, flush_interval=0.05)
    with ServerThread(redirector) as server, httpx.Client(follow_redirects=False) as client:
        yield Served(env, redirector, server.url, client)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LinksEnv]:
    """One migrated database per backend for the whole module (each test uses its own
    slugs): a fresh database per test would cost more than the tests themselves."""
    data_dir = tmp_path_factory.mktemp("redirector")
    dropped: str | None = None
    if request.param == "sqlite":
        database = Database(f"sqlite:///{data_dir / 'townsquare.db'}")
        database.upgrade()
    else:
        require_service("PostgreSQL", _pg_available(), POSTGRES_URL)
        dropped, url = _pg_fresh_database()
        database = Database(url)
    settings = make_settings(
        data_dir, database.url, base_url="http://127.0.0.1:8000", links_host="go.example.com"
    )
    yield LinksEnv(database=database, settings=settings, seed=seed_workspace(database))
    database.dispose()
    if dropped:
        _pg_drop(dropped)


@pytest.fixture(scope="module")
def served(shared_env: LinksEnv) -> Iterator[Served]:
    yield from serve(shared_env)


def test_redirects_with_302_to_the_final_url(served: Served) -> None:
    link = served.create(utm={"utm_source": "newsletter", "utm_medium": "email"}, slug="promo")
    response = served.get("/promo", headers={"user-agent": CHROME})
    assert response.status_code == 302
    assert response.headers["location"] == link.final_url
    assert "utm_source=newsletter" in response.headers["location"]
    assert response.content == b""
    # Slugs are case-insensitive; a trailing slash is forgiven.
    assert served.get("/PROMO").headers["location"] == link.final_url
    assert served.get("/promo/").status_code == 302


def test_head_answers_like_get_without_body(served: Served) -> None:
    link = served.create(slug="headed")
    response = served.client.head(served.url + "/headed", headers={"user-agent": CHROME})
    assert response.status_code == 302
    assert response.headers["location"] == link.final_url
    assert response.content == b""
    [click] = served.clicks("headed")
    # Browsers never navigate with HEAD: kept, but apart from human clicks.
    assert click.is_bot and click.bot_name == "HEAD request"
    assert served.human_clicks("headed") == 0


def test_permanent_link_answers_301(served: Served) -> None:
    link = served.create(slug="forever", permanent=True)
    response = served.get("/forever")
    assert response.status_code == 301
    assert response.headers["location"] == link.final_url


def test_unknown_slug_gets_a_clear_404_page(served: Served) -> None:
    before = served.count()
    for path in ("/does-not-exist", "/favicon.ico", "/a/b", "/%00"):
        response = served.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]
        assert "This short link does not exist" in response.text
    assert served.count() == before


def test_home_and_health_answer_minimally(served: Served) -> None:
    home = served.get("/")
    assert home.status_code == 200 and "short links" in home.text
    health = served.get("/healthz")
    assert health.status_code == 200 and health.text == "ok\n"


def test_pages_follow_the_browser_language(served: Served) -> None:
    response = served.get("/nothing-here", headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 404
    assert "Lien introuvable" in response.text


def test_other_methods_are_refused_without_server_error(served: Served) -> None:
    served.create(slug="posted")
    assert served.client.post(served.url + "/posted").status_code == 405
    assert served.client.delete(served.url + "/posted").status_code == 405
    assert served.clicks("posted") == []


def test_disabled_link_gets_410_and_enabled_again_redirects(served: Served) -> None:
    served.create(slug="paused")
    with served.env.database.session() as session:
        service.set_enabled(session, served.env.access(session), "paused", False)
    response = served.get("/paused")
    assert response.status_code == 410
    assert "disabled" in response.text
    with served.env.database.session() as session:
        service.set_enabled(session, served.env.access(session), "paused", True)
    assert served.get("/paused").status_code == 302


def test_expired_link_gets_410_or_its_fallback(served: Served) -> None:
    served.create(slug="old")
    served.create(slug="old-fallback", fallback_url="https://example.org/sorry")
    past = datetime.now(UTC) - timedelta(minutes=1)
    with served.env.database.session() as session:
        session.execute(
            sa.update(Link).where(Link.slug.in_(["old", "old-fallback"])).values(expires_at=past)
        )
        session.commit()
    served.redirector.cache.clear()
    response = served.get("/old")
    assert response.status_code == 410
    assert "expired" in response.text
    fallback = served.get("/old-fallback")
    assert fallback.status_code == 302
    assert fallback.headers["location"] == "https://example.org/sorry"
    assert served.clicks("old") == served.clicks("old-fallback") == []


def test_max_clicks_counts_humans_only_then_410(served: Served) -> None:
    served.create(slug="limited", max_clicks=2)
    assert served.get("/limited", headers={"user-agent": GOOGLEBOT}).status_code == 302
    assert served.get("/limited", headers={"user-agent": CHROME}).status_code == 302
    assert served.human_clicks("limited") == 1
    assert served.get("/limited", headers={"user-agent": IPHONE}).status_code == 302
    assert served.human_clicks("limited") == 2
    response = served.get("/limited", headers={"user-agent": CHROME})
    assert response.status_code == 410
    assert "maximum number of visits" in response.text


def test_password_protected_link_shows_a_form(served: Served) -> None:
    link = served.create(slug="secret", password="open sesame")
    form = served.get("/secret", headers={"user-agent": CHROME})
    assert form.status_code == 200
    assert 'type="password"' in form.text and 'method="post"' in form.text
    assert "location" not in form.headers

    wrong = served.client.post(
        served.url + "/secret", data={"password": "wrong"}, headers={"user-agent": CHROME}
    )
    assert wrong.status_code == 403
    assert "Wrong password. Check it and try again." in wrong.text
    empty = served.client.post(served.url + "/secret", data={"password": ""})
    assert empty.status_code == 400 and "Enter the password" in empty.text
    assert served.clicks("secret") == []

    right = served.client.post(
        served.url + "/secret", data={"password": "open sesame"}, headers={"user-agent": CHROME}
    )
    assert right.status_code == 303
    assert right.headers["location"] == link.final_url
    [click] = served.clicks("secret")
    assert not click.is_bot


def test_password_guessing_is_throttled(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redirector_module, "PASSWORD_MAX_FAILURES", 3)  # 10 in production
    served.create(slug="guarded", password="right one")
    statuses = [
        served.client.post(served.url + "/guarded", data={"password": f"guess {n}"}).status_code
        for n in range(4)
    ]
    assert statuses == [403, 403, 403, 429]
    throttled = served.client.post(served.url + "/guarded", data={"password": "right one"})
    assert throttled.status_code == 429 and "Too many wrong passwords" in throttled.text


def test_bots_and_humans_are_told_apart(served: Served) -> None:
    served.create(slug="shared")
    for agent in (GOOGLEBOT, SLACKBOT, "facebookexternalhit/1.1", CHROME, IPHONE):
        assert served.get("/shared", headers={"user-agent": agent}).status_code == 302
    clicks = served.clicks("shared")
    assert [c.is_bot for c in clicks] == [True, True, True, False, False]
    assert clicks[0].bot_name == "Googlebot"
    assert clicks[0].device_class == "bot"
    assert (clicks[3].device_class, clicks[3].os, clicks[3].browser) == (
        "desktop",
        "Windows",
        "Chrome",
    )
    assert (clicks[4].device_class, clicks[4].os) == ("mobile", "iOS")
    assert served.human_clicks("shared") == 2


def test_referrer_domain_only_and_no_ip_stored(served: Served) -> None:
    served.create(slug="ref")
    served.get(
        "/ref",
        headers={
            "user-agent": CHROME,
            "referer": "https://News.Example.com:8443/item?id=42&secret=token#frag",
            "cf-ipcountry": "FR",  # no trusted header configured: ignored
        },
    )
    [click] = served.clicks("ref")
    assert click.referrer_domain == "news.example.com"
    assert click.country is None
    assert click.visitor_hash is not None and len(click.visitor_hash) == 64
    with served.env.database.engine.connect() as connection:
        rows = connection.execute(sa.select(LinkClick.__table__)).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert "127.0.0.1" not in stored
    assert "item?id" not in stored and "secret=token" not in stored


def test_same_visitor_same_day_has_one_hash(served: Served) -> None:
    served.create(slug="uniq")
    served.get("/uniq", headers={"user-agent": CHROME})
    served.get("/uniq", headers={"user-agent": CHROME})
    served.get("/uniq", headers={"user-agent": IPHONE})
    hashes = [c.visitor_hash for c in served.clicks("uniq")]
    assert hashes[0] == hashes[1] != hashes[2]


def test_country_only_from_the_trusted_proxy_header(shared_env: LinksEnv) -> None:
    for served in serve(shared_env, trusted_proxy_country_header="CF-IPCountry"):
        # The header is configured but the peer is no trusted proxy: not believed.
        served.create(slug="geo-untrusted")
        served.get("/geo-untrusted", headers={"cf-ipcountry": "fr", "user-agent": CHROME})
        assert [c.country for c in served.clicks("geo-untrusted")] == [None]
    for served in serve(
        shared_env, trusted_proxy_country_header="CF-IPCountry", trusted_proxies="127.0.0.1"
    ):
        served.create(slug="geo")
        served.get("/geo", headers={"cf-ipcountry": "fr", "user-agent": CHROME})
        served.get("/geo", headers={"cf-ipcountry": "XX", "user-agent": CHROME})
        served.get("/geo", headers={"cf-ipcountry": "not a country", "user-agent": CHROME})
        served.get("/geo", headers={"x-country": "DE", "user-agent": CHROME})
        assert [c.country for c in served.clicks("geo")] == ["FR", None, None, None]


def test_edit_invalidates_the_cache(served: Served) -> None:
    served.create("https://example.com/before", slug="moving")
    assert served.get("/moving").headers["location"] == "https://example.com/before"
    with served.env.database.session() as session:
        service.update_link(
            session,
            served.env.access(session),
            served.env.settings,
            "moving",
            target_url="https://example.com/after",
        )
    assert served.get("/moving").headers["location"] == "https://example.com/after"
    with served.env.database.session() as session:
        service.delete_link(session, served.env.access(session), "moving")
    assert served.get("/moving").status_code == 404


def test_unknown_slug_created_later_is_found(served: Served) -> None:
    assert served.get("/later").status_code == 404  # cached as unknown
    served.create(slug="later")
    assert served.get("/later").status_code == 302


def test_database_failure_is_a_503_page_not_a_crash(shared_env: LinksEnv) -> None:
    broken = Database("sqlite:////nonexistent-dir/none.db")
    redirector = Redirector(shared_env.settings, broken)
    with ServerThread(redirector) as server:
        response = httpx.get(server.url + "/anything")
    assert response.status_code == 503
    assert "temporarily unavailable" in response.text
    assert response.headers["retry-after"] == "30"


def test_oversized_headers_are_cut_not_failed(served: Served) -> None:
    served.create(slug="big")
    agent = CHROME + " x" * 3000
    referrer = "https://long.example.com/" + "p" * 6000
    response = served.get("/big", headers={"user-agent": agent, "referer": referrer})
    assert response.status_code == 302
    [click] = served.clicks("big")
    assert click.referrer_domain == "long.example.com"
    assert not click.is_bot and click.browser == "Chrome"


def test_concurrent_misses_share_one_query_and_expiry_refreshes_in_background(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    served.create(slug="hot")
    cache = served.redirector.cache
    real_load = cache.load
    loads: list[str] = []

    def slow_load(slug: str) -> Any:
        loads.append(slug)
        time.sleep(0.3)  # a slow database: every request arrives while the query runs
        return real_load(slug)

    monkeypatch.setattr(cache, "load", slow_load)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: served.get("/hot").status_code, range(8)))
    assert statuses == [302] * 8
    assert loads == ["hot"]

    # Just expired: answered from the old entry at once while one query refreshes it.
    entry = cache.peek("hot")
    assert entry is not None
    cache._entries["hot"] = (time.monotonic() - 0.1, entry[1])
    assert served.get("/hot").status_code == 302
    deadline = time.monotonic() + 5
    while len(loads) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert loads == ["hot", "hot"]


def test_location_header_is_always_a_safe_ascii_value() -> None:
    from townsquare.links.cache import location_header

    assert location_header("https://example.com/a?b=c#d") == b"https://example.com/a?b=c#d"
    assert location_header("https://example.com/café") == b"https://example.com/caf%C3%A9"
    assert location_header("https://example.com/a b") == b"https://example.com/a%20b"
    assert b"\r" not in location_header("https://example.com/\r\nSet-Cookie: x=1")


def test_a_burst_beyond_the_click_buffer_waits_for_the_writer_and_loses_nothing(
    shared_env: LinksEnv,
) -> None:
    redirector = Redirector(
        shared_env.settings,
        shared_env.database,
        max_buffer=10,
        batch_size=10**6,
        flush_interval=3600,
    )
    with shared_env.database.session() as session:
        link = service.create_link(
            session,
            shared_env.access(session),
            shared_env.settings,
            target_url="https://example.com/flood",
            slug="flood",
        )
    with ServerThread(redirector) as server, httpx.Client() as client:
        statuses = [client.get(server.url + "/flood").status_code for _ in range(30)]
        assert statuses == [302] * 30
        # The writer wakes only hourly by itself, but a full buffer wakes it (clicks.py).
        assert redirector.recorder.dropped == 0
    # Nothing lost (a database that cannot keep up at all: test_clicks.py).
    with shared_env.database.session() as session:
        query = (
            sa.select(sa.func.count()).select_from(LinkClick).where(LinkClick.link_id == link.id)
        )
        assert session.scalar(query) == 30
