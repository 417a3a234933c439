"""Hacker News through Algolia's search API (``search_by_date``), newest first, by window.

The base URL is a setting (``TOWNSQUARE_HACKERNEWS_API_URL``), so tests use a local server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

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

DEFAULT_API_URL = "https://hn.algolia.com"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
WHAT = Message("Hacker News search")


def fetch(
    client: httpx.Client, query: str, state: dict[str, Any], *, api_url: str = DEFAULT_API_URL
) -> PollResult:
    """Stories and comments matching ``query`` created after the newest one seen."""
    since = int(state.get("since", 0))
    params = {"query": query, "tags": "(story,comment)", "hitsPerPage": "100"}
    if since:
        params["numericFilters"] = f"created_at_i>{since}"
    url = f"{api_url.rstrip('/')}/api/v1/search_by_date?{urlencode(params)}"
    response, body = get_limited(client, url, what=WHAT)
    raise_for_status(response, WHAT)
    try:
        hits = httpx.Response(200, content=body).json()["hits"]
    except (ValueError, KeyError, TypeError):
        raise NetworkError(
            "Hacker News search answered something that is not its JSON: check "
            "TOWNSQUARE_HACKERNEWS_API_URL"
        ) from None
    items = []
    newest = since
    for hit in hits:
        created = int(hit.get("created_at_i") or 0)
        if created <= since:
            continue
        newest = max(newest, created)
        object_id = str(hit.get("objectID"))
        text = hit.get("story_text") or hit.get("comment_text") or ""
        items.append(
            FoundItem(
                network="hackernews",
                external_id=object_id,
                url=hit.get("url") or ITEM_URL.format(object_id),
                title=hit.get("title") or hit.get("story_title") or "",
                text=html_to_text(text),
                author=hit.get("author"),
                published_at=datetime.fromtimestamp(created, tz=UTC) if created else None,
            )
        )
    return PollResult(items=items, state={"since": newest})
