"""Listen on Bluesky: ``app.bsky.feed.searchPosts`` through the atproto SDK, as found items.

With a connected channel the search goes through the account's session (its PDS forwards
it to the AppView); without one, straight to a public AppView (the setting
``TOWNSQUARE_BLUESKY_APPVIEW_URL``, ``https://public.api.bsky.app`` by default), which
answers searchPosts without a login. Parameters: ``q`` (the source's query, its
``lang:xx`` words moved to ``lang``), ``sort=latest``, ``since`` (the newest post seen,
ISO 8601) and the ``cursor`` of the previous page, at most :data:`MAX_PAGES` pages a poll.

A post view becomes an item with network ``bluesky``, its ``at://`` URI as id, the
``bsky.app`` address as URL, author ``@handle`` and the record's first language. Bluesky's
search answer gives no follower counts (``profileViewBasic``), so reach stays unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from atproto import Client
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request

from townsquare.config import Settings
from townsquare.errors import ValidationError
from townsquare.netguard import check_url
from townsquare.networks.bluesky import BlueskyConnector, _translated
from townsquare.networks.http import RatePolicy, httpx_options
from townsquare.networks.items import FoundItem, PollResult

PUBLIC_APPVIEW = "https://public.api.bsky.app"
PAGE_SIZE = 100  # the largest page searchPosts gives
MAX_PAGES = 3
_LANG = re.compile(r"(?:^|\s)lang:([A-Za-z]{2,3})(?=\s|$)")


def split_query(target: str) -> tuple[str, str | None]:
    """``acme lang:fr`` → (``acme``, ``fr``): searchPosts takes the language apart."""
    text = (target or "").strip()
    found = _LANG.search(text)
    lang = found.group(1).lower() if found else None
    query = " ".join(_LANG.sub(" ", text).split())
    if not query:
        raise ValidationError(
            "the Bluesky search %(value)r has no words to look for: give at least one word, "
            "e.g. acme lang:fr",
            params={"value": target},
            field="target",
        )
    return query, lang


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def post_item(post: Mapping[str, Any]) -> FoundItem:
    """A post view (``app.bsky.feed.defs#postView`` as JSON) as a found item."""
    record = post.get("record") or {}
    author = post.get("author") or {}
    uri = str(post["uri"])
    handle = str(author.get("handle") or author.get("did") or "")
    langs = record.get("langs") or []
    return FoundItem(
        network="bluesky",
        external_id=uri,
        url=f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}",
        title="",
        text=str(record.get("text") or ""),
        author=f"@{handle}" if handle else None,
        author_followers=author.get("followersCount"),  # absent from search answers today
        published_at=_when(record.get("createdAt") or post.get("indexedAt")),
        lang=str(langs[0]) if langs else None,
    )


def public_client(settings: Settings, appview_url: str) -> Client:
    """An atproto client without a session, on a public AppView (through the SSRF guard)."""
    base = check_url(appview_url.rstrip("/"), settings, field="bluesky_appview_url")
    return Client(
        base_url=f"{base}/xrpc",
        request=Request(**httpx_options(settings, RatePolicy(network="Bluesky AppView"))),
    )


def search(
    client: Client, where: str, target: str, state: dict[str, Any], *, page_size: int = PAGE_SIZE
) -> PollResult:
    """Posts matching ``target`` published after the newest one seen (``state["since"]``)."""
    query, lang = split_query(target)
    since = state.get("since")
    params: dict[str, Any] = {"q": query, "sort": "latest", "limit": page_size}
    if lang:
        params["lang"] = lang
    if since:
        params["since"] = since
    posts: list[Mapping[str, Any]] = []
    with _translated(where):
        for _page in range(MAX_PAGES):
            answer = get_model_as_dict(client.app.bsky.feed.search_posts(params))
            page = [p for p in answer.get("posts") or [] if isinstance(p, Mapping)]
            posts.extend(page)
            cursor = answer.get("cursor")
            if not since or not cursor or len(page) < page_size:
                break  # the first poll takes one page: what is new from now on matters
            params["cursor"] = cursor
    since_at = _when(since)
    newest = since_at
    items: list[FoundItem] = []
    seen: set[str] = set()
    for post in posts:
        item = post_item(post)
        moment = item.published_at
        if item.external_id in seen or (since_at and moment and moment <= since_at):
            continue  # twice in the answer, or an AppView that ignores since
        if lang and item.lang and item.lang.split("-")[0].lower() != lang:
            continue  # an AppView that ignores lang (the dev-env's does)
        seen.add(str(item.external_id))
        if moment is not None and (newest is None or moment > newest):
            newest = moment
        items.append(item)
    new_state: dict[str, Any] = {}
    if newest is not None:
        new_state["since"] = newest.isoformat().replace("+00:00", "Z")
    return PollResult(items=items, state=new_state)


def fetch_with_channel(
    connector: BlueskyConnector, target: str, state: dict[str, Any]
) -> PollResult:
    """searchPosts through a connected account's session."""
    client = connector._login()
    return search(client, connector.service_url, target, state)


def fetch_public(
    settings: Settings, appview_url: str, target: str, state: dict[str, Any]
) -> PollResult:
    """searchPosts on a public AppView, without a session."""
    client = public_client(settings, appview_url)
    try:
        return search(client, appview_url, target, state)
    finally:
        client.request.close()
