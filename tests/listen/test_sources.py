"""Sources polled through a real HTTP server on loopback: feeds (conditional GET, discovery,
Google Alerts), Hacker News, Reddit and a changing web page; mentions stored once, matched."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port, make_settings, serving
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.errors import ValidationError
from townsquare.listening import service, sources
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace

DATA = Path(__file__).resolve().parents[1] / "data" / "listen"


@dataclass
class Site:
    url: str
    page_lines: list[str] = field(default_factory=lambda: ["Nos magasins", "Horaires"])
    requests: list[str] = field(default_factory=list)
    not_modified: int = 0


@pytest.fixture
def site() -> Iterator[Site]:
    port = free_port()
    state = Site(f"http://127.0.0.1:{port}")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            path = self.path.split("?")[0]
            if path == "/feed.xml":
                if self.headers.get("If-None-Match") == '"v1"':
                    state.not_modified += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                self._send((DATA / "feed.xml").read_bytes(), "application/rss+xml", etag='"v1"')
            elif path == "/alerts.xml":
                self._send((DATA / "google-alerts.xml").read_bytes(), "application/atom+xml")
            elif path == "/site.html":
                self._send((DATA / "site.html").read_bytes(), "text/html")
            elif path == "/hn/api/v1/search_by_date":
                body = (DATA / "hackernews-search_by_date.json").read_bytes()
                if "numericFilters" in self.path:
                    body = b'{"hits": []}'
                self._send(body, "application/json")
            elif path == "/reddit/search.json":
                self._send((DATA / "reddit-search.json").read_bytes(), "application/json")
            elif path == "/page.html":
                body = "".join(f"<p>{line}</p>" for line in state.page_lines)
                html = f"<html><head><title>Acme, magasins</title></head><body>{body}</body></html>"
                self._send(html.encode(), "text/html; charset=utf-8")
            elif path == "/broken":
                self._send(b"<html>not a feed</html>", "text/html")
            else:
                self._send(b"missing", "text/plain", status=404)

        def _send(
            self, body: bytes, content_type: str, *, status: int = 200, etag: str | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with serving(server):
        yield state


@pytest.fixture
def world(database: Database, data_dir: Path, site: Site) -> Iterator[tuple[object, Settings]]:
    settings = make_settings(
        data_dir,
        database.url,
        allow_private_urls=True,
        hackernews_api_url=site.url + "/hn",
        reddit_base_url=site.url + "/reddit",
    )
    with database.session() as session:
        create_workspace(session, "acme", name="Acme")
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.create_watch(session, access, name="Acme", query="acme OR #acme", kind="brand")
        service.create_watch(session, access, name="Rival", query="rivalco", kind="competitor")
        yield session, settings


def _access(session: object) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, "acme"))  # type: ignore[arg-type]


def test_feed_mentions_are_stored_once_and_matched(
    world: tuple[object, Settings], site: Site
) -> None:
    session, settings = world
    access = _access(session)
    source = sources.add_source(
        session, access, settings, type="rss", target=site.url + "/feed.xml"
    )  # type: ignore[arg-type]
    report = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert report.as_json() == {
        "sources_polled": 1, "items_fetched": 3, "mentions_new": 3, "alerts_sent": 0, "errors": [],
    }  # fmt: skip
    found = {m.title: (m, w) for m, w in service.list_mentions(session, access)}  # type: ignore[arg-type]
    acme, acme_watches = found["Acme lance sa collection d’hiver"]
    assert acme_watches == ["Acme"]
    assert acme.text == "La marque Acme présente ses manteaux. J’adore !"  # no tag, no script
    assert acme.author == "Élodie Martin"
    assert acme.lang == "fr"
    assert (
        acme.published_at is not None
        and acme.published_at.isoformat() == "2026-12-01T07:30:00+00:00"
    )
    assert found["Rivalco ferme trois magasins"][1] == ["Rival"]
    assert found["Recette du pain d'épices"][1] == []
    # The second poll asks with the ETag, gets 304 and stores nothing twice.
    again = sources.poll(session, settings, access, source_id=source.id)  # type: ignore[arg-type]
    assert (again.items_fetched, again.mentions_new) == (0, 0)
    assert site.not_modified == 1
    assert len(service.list_mentions(session, access)) == 3  # type: ignore[arg-type]
    assert [
        name
        for _, name in [(0, w) for _, w in service.list_mentions(session, access, watch="Rival")]
    ] == [["Rival"]]  # type: ignore[arg-type]


def test_a_site_page_leads_to_its_feed_and_alerts_links_are_unwrapped(
    world: tuple[object, Settings], site: Site
) -> None:
    session, settings = world
    access = _access(session)
    sources.add_source(session, access, settings, type="rss", target=site.url + "/site.html")  # type: ignore[arg-type]
    sources.add_source(session, access, settings, type="rss", target=site.url + "/alerts.xml")  # type: ignore[arg-type]
    report = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert report.errors == []
    urls = {m.url for m, _ in service.list_mentions(session, access)}  # type: ignore[arg-type]
    assert "https://news.example.fr/acme-lyon" in urls  # not the google.com/url wrapper
    assert "https://blog.example.org/2026/12/acme-hiver" in urls  # discovered from site.html
    alert = next(
        m
        for m, _ in service.list_mentions(session, access)
        if m.url == "https://news.example.fr/acme-lyon"
    )  # type: ignore[arg-type]
    assert alert.title == "Acme ouvre une boutique à Lyon"


def test_hacker_news_and_reddit(world: tuple[object, Settings], site: Site) -> None:
    session, settings = world
    access = _access(session)
    sources.add_source(session, access, settings, type="hackernews", target="acme")  # type: ignore[arg-type]
    sources.add_source(session, access, settings, type="reddit", target="acme")  # type: ignore[arg-type]
    report = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert (report.items_fetched, report.mentions_new, report.errors) == (4, 4, [])
    by_network: dict[str, list[object]] = {}
    for mention, watches in service.list_mentions(session, access):  # type: ignore[arg-type]
        by_network.setdefault(mention.network, []).append((mention, watches))
        assert watches == ["Acme"]
    comment = next(m for m, _ in by_network["hackernews"] if m.external_id == "41000020")  # type: ignore[attr-defined]
    assert comment.text == "I tried Acme's scheduler last year — solid.\nWould use again."
    assert comment.url == "https://news.ycombinator.com/item?id=41000020"
    post = next(m for m, _ in by_network["reddit"] if m.external_id == "t3_1h2abcd")  # type: ignore[attr-defined]
    assert post.url == "https://www.reddit.com/r/france/comments/1h2abcd/avis_sur_acme/"
    assert post.author == "lyonnais42"
    # The next Hacker News poll asks only for newer items (numericFilters), finds none.
    again = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert again.mentions_new == 0
    assert any("numericFilters=created_at_i%3E1796121600" in r for r in site.requests)


def test_a_changing_page_gives_a_mention_of_its_new_lines(
    world: tuple[object, Settings], site: Site
) -> None:
    session, settings = world
    access = _access(session)
    sources.add_source(session, access, settings, type="web", target=site.url + "/page.html")  # type: ignore[arg-type]
    first = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert first.mentions_new == 0  # the first look only records the page
    site.page_lines.insert(1, "Acme ouvre un magasin à Nantes")
    second = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert second.mentions_new == 1
    ((mention, watches),) = service.list_mentions(session, access)  # type: ignore[arg-type]
    assert (mention.text, mention.title, watches) == (
        "Acme ouvre un magasin à Nantes",
        "Acme, magasins",
        ["Acme"],
    )
    assert sources.poll(session, settings, access).mentions_new == 0  # type: ignore[arg-type]


def test_a_failing_source_backs_off_and_says_why(
    world: tuple[object, Settings], site: Site
) -> None:
    session, settings = world
    access = _access(session)
    broken = sources.add_source(session, access, settings, type="rss", target=site.url + "/broken")  # type: ignore[arg-type]
    good = sources.add_source(session, access, settings, type="rss", target=site.url + "/feed.xml")  # type: ignore[arg-type]
    report = sources.poll(session, settings, access)  # type: ignore[arg-type]
    assert report.mentions_new == 3  # the other source went on
    assert report.errors and "neither an RSS or Atom feed" in report.errors[0]["error"]
    session.refresh(broken)  # type: ignore[attr-defined]
    assert broken.error_count == 1 and "give the feed's own address" in (broken.last_error or "")
    assert broken.next_poll_at is not None and broken.last_polled_at is not None
    assert (broken.next_poll_at - broken.last_polled_at).total_seconds() == 2 * 15 * 60
    session.refresh(good)  # type: ignore[attr-defined]
    assert good.error_count == 0 and good.mentions_total == 3


def test_bad_sources_are_refused(
    world: tuple[object, Settings], database: Database, data_dir: Path
) -> None:
    session, settings = world
    access = _access(session)
    strict = make_settings(data_dir, database.url)  # private addresses refused (the default)
    cases = [
        ({"type": "rss", "target": "http://127.0.0.1:9/feed"}, strict, "private, loopback"),
        ({"type": "rss", "target": "http://169.254.169.254/latest"}, strict, "private, loopback"),
        ({"type": "rss", "target": "ftp://example.com/feed"}, settings, "not a web address"),
        ({"type": "rsss", "target": "x"}, settings, "unknown source type"),
        ({"type": "mastodon-tag", "target": "acme"}, settings, "connected Mastodon channel"),
        ({"type": "hackernews", "target": " "}, settings, "target is required"),
        (
            {"type": "rss", "target": "https://93.184.215.14/", "every_minutes": 0},
            settings,
            "between 1 minute",
        ),
        (
            {"type": "web", "target": "https://93.184.215.14/", "selector": "p[["},
            settings,
            "cannot be read",
        ),
        (
            {"type": "rss", "target": "https://93.184.215.14/", "selector": "p"},
            settings,
            "only applies to web",
        ),
    ]
    for arguments, chosen, words in cases:
        with pytest.raises(ValidationError, match=words):
            sources.add_source(session, access, chosen, **arguments)  # type: ignore[arg-type]
    assert sources.list_sources(session, access) == []  # type: ignore[arg-type]


def test_cli_contract(
    world: tuple[object, Settings], site: Site, database: Database, data_dir: Path
) -> None:
    from tests.house.test_cli import Cli

    cli = Cli(data_dir, database.url)
    cli.env.update({
        "TOWNSQUARE_ALLOW_PRIVATE_URLS": "true",
        "TOWNSQUARE_HACKERNEWS_API_URL": site.url + "/hn",
    })  # fmt: skip
    added = cli(
        "source",
        "add",
        "--workspace",
        "acme",
        "--type",
        "rss",
        "--target",
        site.url + "/feed.xml",
        "--every",
        "30",
        "--json",
    )
    assert added.code == 0, added.err
    assert added.json()["every"] == 30
    polled = cli("listen", "poll", "--workspace", "acme", "--json")
    assert polled.code == 0, polled.err
    expected = {"sources_polled": 1, "items_fetched": 3, "mentions_new": 3, "alerts_sent": 0}
    assert {key: polled.json()[key] for key in expected} == expected
    listed = cli("mentions", "list", "--workspace", "acme", "--watch", "Acme", "--json")
    assert listed.code == 0, listed.err
    (row,) = listed.json()
    assert set(row) == {
        "id",
        "url",
        "title",
        "text",
        "author",
        "published_at",
        "network",
        "lang",
        "sentiment",
        "watches",
    }
    assert row["watches"] == ["Acme"] and row["network"] == "rss" and row["lang"] == "fr"
    assert cli("mentions", "list", "--workspace", "acme", "--lang", "en", "--json").json() == []
    assert (
        len(
            cli("mentions", "list", "--workspace", "acme", "--since", "2026-11-30", "--json").json()
        )
        == 2
    )
    assert cli("mentions", "list", "--workspace", "acme", "--since", "yesterday").code == 2
    assert cli("mentions", "list", "--workspace", "acme", "--sentiment", "happy").code == 2
    assert cli("source", "add", "--workspace", "acme", "--type", "bogus", "--target", "x").code == 2


def test_the_periodic_task_polls_only_due_sources(
    world: tuple[object, Settings], site: Site, database: Database
) -> None:
    from townsquare.jobs.queue import configure
    from townsquare.listening.tasks import poll_due_sources_now

    session, settings = world
    access = _access(session)
    sources.add_source(session, access, settings, type="rss", target=site.url + "/feed.xml")  # type: ignore[arg-type]
    configure(settings, database)
    try:
        first = poll_due_sources_now()
        assert (first["sources_polled"], first["mentions_new"]) == (1, 3)
        assert poll_due_sources_now()["sources_polled"] == 0  # next poll in 15 minutes
    finally:
        from huey.storage import MemoryStorage

        from townsquare.jobs.queue import huey

        huey.storage = MemoryStorage("townsquare")


def test_sources_and_mentions_api(database: Database, data_dir: Path, site: Site) -> None:
    import httpx

    from tests.conftest import ServerThread, seed_workspace
    from townsquare.web.app import create_app

    seed = seed_workspace(database)
    # The app's settings keep private addresses out (the default), the API base included.
    settings = make_settings(data_dir, database.url, hackernews_api_url=site.url + "/hn")
    with ServerThread(create_app(settings, database=database)) as server:
        base = f"{server.url}/api/v1/workspaces/{seed.workspace}"
        with httpx.Client(headers=seed.headers, timeout=30) as client:
            watch = client.post(base + "/watches", json={"name": "Acme", "query": "acme"})
            assert watch.status_code == 201
            refused = client.post(
                base + "/sources", json={"type": "rss", "target": site.url + "/feed.xml"}
            )
            assert refused.status_code == 422
            assert "private, loopback" in refused.json()["error"]["message"]
            added = client.post(base + "/sources", json={"type": "hackernews", "target": "acme"})
            assert added.status_code == 201, added.text
            assert added.json()["every"] == 15
            assert [s["type"] for s in client.get(base + "/sources").json()] == ["hackernews"]
            # The search API's address is loopback too: the poll fails on the source's
            # health line, not as an error of the request, and nothing reached the server.
            polled = client.post(base + "/sources/poll")
            assert polled.status_code == 200
            assert polled.json()["sources_polled"] == 1 and len(polled.json()["errors"]) == 1
            health = client.get(base + "/sources").json()[0]
            assert health["error_count"] == 1 and "private, loopback" in health["last_error"]
            assert not any(r.startswith("/hn/") for r in site.requests)
            assert client.get(base + "/mentions").json() == []
            assert client.get(base + "/mentions?sentiment=happy").status_code == 422
            assert client.delete(base + f"/sources/{added.json()['id']}").status_code == 204
            assert client.get(base + "/sources").json() == []


def test_a_poll_sends_the_instant_alerts_it_causes(
    world: tuple[object, Settings], site: Site, smtp_server: object
) -> None:
    from cryptography.fernet import Fernet

    from townsquare.channels.crypto import CredentialsBox
    from townsquare.listening import alerts

    session, settings = world
    access = _access(session)
    box = CredentialsBox(Fernet.generate_key().decode())
    port = smtp_server.port  # type: ignore[attr-defined]
    url = f"mailto://127.0.0.1:{port}?from=a@acme.test&to=cm@acme.test"
    watch = service.get_watch(session, access, "Rival")  # type: ignore[arg-type]
    alerts.add_alert(session, access, settings, box, watch=watch, url=url)  # type: ignore[arg-type]
    sources.add_source(session, access, settings, type="rss", target=site.url + "/feed.xml")  # type: ignore[arg-type]
    report = sources.poll(session, settings, access, box=box)  # type: ignore[arg-type]
    assert (report.mentions_new, report.alerts_sent) == (3, 1)
    (message,) = smtp_server.wait_for(1)  # type: ignore[attr-defined]
    assert message["Subject"] == "1 new mention(s) for Rival"
