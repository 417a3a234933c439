"""RSS and Atom feeds (feedparser): conditional GET, discovery from a site's page, and
Google Alerts' feeds, whose links go through google.com/url and are unwrapped here."""

from __future__ import annotations

from calendar import timegm
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from townsquare.errors import NetworkError
from townsquare.messages import Message
from townsquare.networks.items import (
    FoundItem,
    PollResult,
    get_limited,
    html_to_text,
    raise_for_status,
)

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
WHAT = Message("the feed")


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.feeds: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name.lower(): value or "" for name, value in attrs}
        rel = values.get("rel", "").lower().split()
        is_feed = values.get("type", "").lower() in FEED_TYPES
        if "alternate" in rel and is_feed and values.get("href"):
            self.feeds.append(values["href"])


def discover_feeds(page_html: str, page_url: str) -> list[str]:
    """The feeds a page announces with <link rel="alternate" type="…rss+xml">, absolute."""
    parser = _AlternateLinks()
    parser.feed(page_html)
    return [urljoin(page_url, href) for href in parser.feeds]


def unwrap_link(link: str) -> str:
    """Google Alerts' https://www.google.com/url?…&url=REAL… → REAL; other links as they are."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if (host == "google.com" or host.endswith(".google.com")) and parts.path == "/url":
        real = parse_qs(parts.query).get("url") or parse_qs(parts.query).get("q")
        if real and real[0].startswith(("http://", "https://")):
            return real[0]
    return link


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(timegm(value), tz=UTC)
    return None


def _entry_text(entry: Any) -> str:
    if entry.get("content"):
        return html_to_text(entry["content"][0].get("value"))
    return html_to_text(entry.get("summary"))


def fetch(client: httpx.Client, url: str, state: dict[str, Any]) -> PollResult:
    """New state and the entries of the feed at ``url`` (or of the feed its page announces)."""
    import feedparser

    feed_url = state.get("feed_url") or url
    headers = {"Accept": ACCEPT}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    response, body = get_limited(client, feed_url, what=WHAT, headers=headers)
    if response.status_code == 304:
        return PollResult(state=dict(state), not_modified=True)
    raise_for_status(response, WHAT)
    parsed = feedparser.parse(body, response_headers={"content-location": str(response.url)})
    if not parsed.entries and not parsed.get("version"):
        # Not a feed: a site's page may announce one.
        if "feed_url" in state:
            raise NetworkError(
                "%(url)s is no longer a feed: check the source's address",
                params={"url": feed_url},
            )
        found = discover_feeds(
            body.decode(response.encoding or "utf-8", "replace"), str(response.url)
        )
        if not found:
            raise NetworkError(
                "%(url)s is neither an RSS or Atom feed nor a page that announces one: give the "
                "feed's own address",
                params={"url": url},
            )
        return fetch(client, url, {"feed_url": found[0]})
    new_state: dict[str, Any] = {key: state[key] for key in ("feed_url",) if key in state}
    if response.headers.get("etag"):
        new_state["etag"] = response.headers["etag"]
    if response.headers.get("last-modified"):
        new_state["last_modified"] = response.headers["last-modified"]
    items = []
    for entry in parsed.entries:
        link = unwrap_link(entry.get("link") or "") or None
        title = html_to_text(entry.get("title"))
        items.append(
            FoundItem(
                network="rss",
                external_id=entry.get("id") or link,
                url=link,
                title=title,
                text=_entry_text(entry),
                author=entry.get("author"),
                published_at=_published(entry),
                lang=(entry.get("language") or parsed.feed.get("language") or None),
            )
        )
    return PollResult(items=items, state=new_state)
