"""Reddit's public search (``/search.json``), newest first, with a descriptive User-Agent.

Reddit asks clients to name themselves and to honour ``X-Ratelimit-*``: a poll that finds
no request left waits for the reset instead of asking. The base URL is a setting
(``TOWNSQUARE_REDDIT_BASE_URL``), so tests use a local server.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from townsquare.errors import NetworkError, RateLimited
from townsquare.messages import Message
from townsquare.networks.items import FoundItem, PollResult, get_limited, raise_for_status

DEFAULT_BASE_URL = "https://www.reddit.com"
WHAT = Message("Reddit search")


def fetch(
    client: httpx.Client, query: str, state: dict[str, Any], *, base_url: str = DEFAULT_BASE_URL
) -> PollResult:
    """Posts matching ``query`` created after the newest one seen."""
    now = time.time()
    if float(state.get("blocked_until", 0)) > now:
        wait = int(float(state["blocked_until"]) - now) + 1
        raise RateLimited(
            "Reddit's rate limit is used up: next try in %(seconds)s s",
            retry_after=wait,
            params={"seconds": wait},
        )
    since = float(state.get("since", 0))
    params = {"q": query, "sort": "new", "limit": "100", "raw_json": "1", "type": "link"}
    url = f"{base_url.rstrip('/')}/search.json?{urlencode(params)}"
    response, body = get_limited(client, url, what=WHAT)
    new_state: dict[str, Any] = {"since": since}
    remaining = response.headers.get("x-ratelimit-remaining")
    reset = response.headers.get("x-ratelimit-reset")
    if response.status_code == 429 or (remaining is not None and float(remaining) < 1):
        wait = int(float(reset)) if reset else 60
        new_state["blocked_until"] = now + wait
        if response.status_code == 429:
            raise RateLimited(
                "Reddit asks to wait %(seconds)s s", retry_after=wait, params={"seconds": wait}
            )
    raise_for_status(response, WHAT)
    try:
        children = httpx.Response(200, content=body).json()["data"]["children"]
    except (ValueError, KeyError, TypeError):
        raise NetworkError(
            "Reddit search answered something that is not its JSON: check "
            "TOWNSQUARE_REDDIT_BASE_URL"
        ) from None
    items = []
    newest = since
    for child in children:
        data = child.get("data", {})
        created = float(data.get("created_utc") or 0)
        if created <= since:
            continue
        newest = max(newest, created)
        # Search answers add "?ref=search_posts" to permalinks: the post's address is without.
        permalink = str(data.get("permalink") or "").split("?", 1)[0]
        items.append(
            FoundItem(
                network="reddit",
                external_id=str(data.get("name") or data.get("id")),
                url=f"https://www.reddit.com{permalink}" if permalink else data.get("url"),
                title=data.get("title") or "",
                text=data.get("selftext") or "",
                author=data.get("author"),
                published_at=datetime.fromtimestamp(created, tz=UTC) if created else None,
            )
        )
    new_state["since"] = newest
    return PollResult(items=items, state=new_state)
