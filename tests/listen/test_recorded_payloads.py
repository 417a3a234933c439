"""Real answers of Reddit's and Algolia's Hacker News search (tests/data/listen/README.md
says where they were recorded), served on loopback to the connectors through the real HTTP
client: what townsquare makes of them, field by field."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, make_settings, serving
from townsquare.errors import RateLimited
from townsquare.netguard import safe_http_client
from townsquare.networks import hackernews, reddit

DATA = Path(__file__).resolve().parents[1] / "data" / "listen"


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A loopback server answering /hn/… and /reddit/… with the recorded bodies, and the
    rate-limit headers Reddit documents (600 requests per 10 minutes)."""
    seen: list[tuple[str, dict[str, str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, dict(self.headers)))
            path = self.path.split("?")[0]
            extra: dict[str, str] = {}
            if path == "/hn/api/v1/search_by_date":
                body = (DATA / "hackernews-search-recorded.json").read_bytes()
            elif path == "/reddit/search.json":
                body = (DATA / "reddit-search-recorded.json").read_bytes()
                extra = {"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "42",
                         "x-ratelimit-used": "600"}  # fmt: skip
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with serving(server):
        yield f"http://127.0.0.1:{port}", seen


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/t.db", allow_private_urls=True)
    with safe_http_client(settings) as http:
        yield http


def test_a_recorded_hacker_news_answer(
    recorded: tuple[str, list[tuple[str, dict[str, str]]]], client: httpx.Client
) -> None:
    base, seen = recorded
    result = hackernews.fetch(client, "blogosphere", {}, api_url=base + "/hn")
    (item,) = result.items
    assert (item.network, item.external_id, item.author) == ("hackernews", "13133437", "anigbrowl")
    assert item.title == "Ask HN: How would I visualize URL propagation in the blogosphere?"
    assert item.url == "https://news.ycombinator.com/item?id=13133437"  # an Ask HN: no url
    assert item.published_at == datetime(2016, 12, 8, 19, 39, 7, tzinfo=UTC)
    # Entities decoded, <p> ends a paragraph, the highlight's <em> is not used.
    assert item.text.startswith("I want to map the dynamics of the blogosphere")
    assert "I don't know how to harvest" in item.text and "&#x27;" not in item.text
    assert "and/or the original article" in item.text
    assert len(item.text.splitlines()) == 5  # four <p>: five paragraphs
    assert result.state == {"since": 1481225947}
    query = seen[-1][0]
    assert "tags=%28story%2Ccomment%29" in query and "hitsPerPage=100" in query
    # Next time only what is newer: the window starts after the newest item seen.
    hackernews.fetch(client, "blogosphere", result.state, api_url=base + "/hn")
    assert "numericFilters=created_at_i%3E1481225947" in seen[-1][0]


def test_a_recorded_reddit_answer(
    recorded: tuple[str, list[tuple[str, dict[str, str]]]], client: httpx.Client
) -> None:
    base, seen = recorded
    raw = json.loads((DATA / "reddit-search-recorded.json").read_text())["data"]["children"]
    result = reddit.fetch(client, "praw", {}, base_url=base + "/reddit")
    assert len(result.items) == len(raw) == 6
    by_id = {item.external_id: item for item in result.items}
    banned = by_id["t3_3gpbiu"]
    assert banned.author == "dClauzel" and banned.network == "reddit"
    assert banned.title.startswith("[PRAW][OAuth2Util] Problem using get_banned()")
    # The permalink without the search's "?ref=search_posts".
    assert banned.url == (
        "https://www.reddit.com/r/redditdev/comments/3gpbiu/"
        "prawoauth2util_problem_using_get_banned_raise/"
    )
    assert banned.published_at == datetime.fromtimestamp(1439370514, tz=UTC)
    assert banned.text.startswith("# solved")  # selftext (Markdown), not selftext_html
    japanese = by_id["t3_4at068"]
    assert japanese.title.startswith("たびたび話題になる")
    assert result.state["since"] == max(c["data"]["created_utc"] for c in raw)
    path, headers = seen[-1]
    assert "sort=new" in path and "raw_json=1" in path
    assert headers["User-Agent"].startswith("townsquare/")  # a descriptive User-Agent
    # The answer said no request is left for 42 s: the next poll waits instead of asking.
    assert 0 < result.state["blocked_until"] - datetime.now(UTC).timestamp() <= 42
    asked = len(seen)
    with pytest.raises(RateLimited, match="rate limit is used up"):
        reddit.fetch(client, "praw", result.state, base_url=base + "/reddit")
    assert len(seen) == asked
