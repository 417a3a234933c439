"""What a listening connector returns: found items and its state for the next poll.

Plain data only: connectors never touch the database (Listen's service stores mentions).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from townsquare.errors import NetworkError

MAX_BODY_BYTES = 5 * 1024 * 1024
_BLOCK_START = re.compile(r"<(?:p|br|div|li|h[1-6]|tr|blockquote)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FoundItem:
    network: str  # "rss", "hackernews", "reddit", "web", …
    external_id: str | None  # the network's id; None: deduplicated by URL
    url: str | None
    title: str
    text: str  # plain text (HTML already removed)
    author: str | None = None
    author_followers: int | None = None
    published_at: datetime | None = None
    lang: str | None = None


@dataclass
class PollResult:
    items: list[FoundItem] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # given back on the next poll
    not_modified: bool = False


# What nh3 and unescaping would not give back as it is: a leading byte-order mark (dropped),
# lone surrogates (refused), tags, entities and NUL. A fragment without any is plain text
# (most feed titles): nh3 is skipped, the same text comes out.
_NOT_PLAIN = re.compile("^\ufeff|[\ud800-\udfff<&\x00]")


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment: every tag removed by nh3, entities decoded."""
    if not fragment:
        return ""
    if _NOT_PLAIN.search(fragment):
        import nh3

        # Block elements end a line (Hacker News separates paragraphs with a bare <p>).
        cleaned = nh3.clean(_BLOCK_START.sub(lambda m: "\n" + m.group(0), fragment), tags=set())
        fragment = html.unescape(cleaned)
    lines = (" ".join(line.split()) for line in fragment.splitlines())
    return "\n".join(line for line in lines if line)


def get_limited(
    client: httpx.Client, url: str, *, what: str, **options: Any
) -> tuple[httpx.Response, bytes]:
    """GET ``url``, reading at most MAX_BODY_BYTES of the body; NetworkError on failure."""
    try:
        with client.stream("GET", url, **options) as response:
            chunks = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise NetworkError(
                        "%(what)s at %(url)s is larger than %(megabytes)s MB: townsquare stops "
                        "reading there",
                        params={"what": what, "url": url, "megabytes": MAX_BODY_BYTES // 2**20},
                    )
                chunks.append(chunk)
            return response, b"".join(chunks)
    except httpx.TimeoutException:
        raise NetworkError(
            "%(what)s at %(url)s did not answer in time", params={"what": what, "url": url}
        ) from None
    except httpx.HTTPError as error:
        raise NetworkError(
            "cannot fetch %(what)s at %(url)s: %(error)s",
            params={"what": what, "url": url, "error": str(error)},
        ) from None


def raise_for_status(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise NetworkError(
            "%(what)s at %(url)s answered HTTP %(status)s",
            params={"what": what, "url": str(response.request.url), "status": response.status_code},
        )
