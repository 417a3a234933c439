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
    if "google" not in link.lower():
        return link  # the host cannot be google.com's (most links: no URL to parse)
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


# --- the fast path: RSS 2.0 and Atom read with ElementTree -----------------------------------
#
# feedparser is thorough and slow (about 20 ms for a feed of ten items on the benchmark's
# machine, most of a poll's time): well-formed RSS 2.0 and Atom feeds, nearly every feed,
# are read here in well under a millisecond, into exactly the items feedparser's path
# gives (tests/listen/test_feeds_fast.py checks both on the same feeds). Anything else —
# a DTD, RSS 1.0, XHTML content, a date or an author this reader does not know, XML that
# is not well-formed, a page that is not a feed — goes to feedparser as before.

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class _Unsure(Exception):
    """The fast path leaves this feed to feedparser."""


def _text(element: Any) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _rfc822(value: str) -> datetime | None:
    if not value.strip():
        return None
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        raise _Unsure from None
    if moment.tzinfo is None:
        raise _Unsure  # feedparser's guess of a zone-less date is its own
    return moment.astimezone(UTC)


def _iso(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Unsure from None
    if moment.tzinfo is None:
        raise _Unsure
    return moment.astimezone(UTC)


def _rss_items(channel: Any) -> list[FoundItem]:
    feed_lang = _text(channel.find("language")).strip() or None
    items = []
    for item in channel.iter("item"):
        if item.find("author") is not None and item.find(f"{DC}creator") is None:
            raise _Unsure  # "email (Name)": feedparser's reading of it is the reference
        link = unwrap_link(_text(item.find("link")).strip()) or None
        guid = _text(item.find("guid")).strip()
        content = item.find(f"{CONTENT}encoded")
        body = _text(content) if content is not None else _text(item.find("description"))
        published = item.find("pubDate")
        when = _rfc822(_text(published)) if published is not None else None
        if published is None and item.find(f"{DC}date") is not None:
            when = _iso(_text(item.find(f"{DC}date")))
        items.append(
            FoundItem(
                network="rss",
                external_id=guid or link,
                url=link,
                title=html_to_text(_text(item.find("title"))),
                text=html_to_text(body),
                author=_text(item.find(f"{DC}creator")).strip() or None,
                published_at=when,
                lang=_text(item.find(f"{DC}language")).strip() or feed_lang,
            )
        )
    return items


def _atom_items(feed: Any) -> list[FoundItem]:
    feed_lang = feed.get(XML_LANG) or None
    items = []
    for entry in feed.iter(f"{ATOM}entry"):
        parts = [entry.find(f"{ATOM}title"), entry.find(f"{ATOM}content")]
        parts.append(entry.find(f"{ATOM}summary"))
        if any(
            p is not None and p.get("type") in ("xhtml", "application/xhtml+xml") for p in parts
        ):
            raise _Unsure
        if entry.get(XML_LANG) or any(p is not None and p.get(XML_LANG) for p in parts):
            raise _Unsure  # per-element languages: feedparser's rules
        link = ""
        for candidate in entry.findall(f"{ATOM}link"):
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate.get("href", "")
                break
        url = unwrap_link(link.strip()) or None
        content = parts[1] if parts[1] is not None else parts[2]
        names = [_text(a.find(f"{ATOM}name")).strip() for a in entry.findall(f"{ATOM}author")]
        published = entry.find(f"{ATOM}published")
        if published is None:
            published = entry.find(f"{ATOM}updated")
        items.append(
            FoundItem(
                network="rss",
                external_id=_text(entry.find(f"{ATOM}id")).strip() or url,
                url=url,
                title=html_to_text(_text(parts[0])),
                text=html_to_text(_text(content)),
                author=next((name for name in names if name), None),
                published_at=_iso(_text(published)) if published is not None else None,
                lang=feed_lang,
            )
        )
    return items


def fast_items(body: bytes) -> list[FoundItem] | None:
    """The entries of a plain RSS 2.0 or Atom feed, or None to leave it to feedparser."""
    import pyexpat
    import xml.etree.ElementTree as ElementTree

    if pyexpat.version_info < (2, 4, 1):
        return None  # older expat expands entities without limit ("billion laughs")
    head = body[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head or b"<!doctype" in head:
        return None  # a DTD: feedparser's rules (RSS 0.91 declares one)
    try:
        # ElementTree never fetches external entities or DTDs, and expat >= 2.4.1 bounds
        # entity expansion (Python's "XML vulnerabilities" table): safe on untrusted feeds.
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        return None
    try:
        if root.tag == "rss" and root.get("version", "").startswith("2."):
            channel = root.find("channel")
            return _rss_items(channel) if channel is not None else None
        if root.tag == f"{ATOM}feed":
            return _atom_items(root)
    except _Unsure:
        return None
    return None


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
    quick = fast_items(body)
    if quick is not None:
        return PollResult(items=quick, state=_next_state(state, response))
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
    return PollResult(items=feedparser_items(parsed), state=_next_state(state, response))


def feedparser_items(parsed: Any) -> list[FoundItem]:
    """The entries of a feed as feedparser read it (``feedparser.parse``'s result)."""
    items = []
    for entry in parsed.entries:
        link = unwrap_link(entry.get("link") or "") or None
        items.append(
            FoundItem(
                network="rss",
                external_id=entry.get("id") or link,
                url=link,
                title=html_to_text(entry.get("title")),
                text=_entry_text(entry),
                author=entry.get("author") or None,
                published_at=_published(entry),
                lang=(entry.get("language") or parsed.feed.get("language") or None),
            )
        )
    return items


def _next_state(state: dict[str, Any], response: httpx.Response) -> dict[str, Any]:
    new_state: dict[str, Any] = {key: state[key] for key in ("feed_url",) if key in state}
    if response.headers.get("etag"):
        new_state["etag"] = response.headers["etag"]
    if response.headers.get("last-modified"):
        new_state["last_modified"] = response.headers["last-modified"]
    return new_state
