"""Listen on Mastodon: a hashtag's timeline and the statuses search (``search_v2``) on the
connected account's instance, as found items (plain data; the service stores mentions).

- ``mastodon-tag``: ``GET /api/v1/timelines/tag/:hashtag``, newest first, 40 a page; the
  next poll asks only for statuses after the newest seen (``since_id``), walking back
  through pages (``max_id``) when more than a page arrived in between.
- ``mastodon-search``: ``GET /api/v2/search?type=statuses``. Full-text search of statuses is
  an option of each instance (it needs Elasticsearch or OpenSearch); without it an
  instance only finds the statuses the account wrote, favourited, bookmarked or was
  mentioned in. When such a search finds nothing, the poll says so on the source's health
  line (:data:`NO_FULL_TEXT`), so that an empty result is not mistaken for silence.

A status becomes an item with network ``mastodon``, its URI as id (the same status seen
from two instances is one mention), author ``@acct``, the author's followers and the
status's language when the instance gives it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from townsquare.errors import NetworkError, ValidationError
from townsquare.messages import Message
from townsquare.networks.items import FoundItem, PollResult, html_to_text
from townsquare.networks.mastodon import MastodonConnector, _translated

PAGE_SIZE = 40  # the largest page a hashtag timeline gives
MAX_PAGES = 5  # per poll: at most 200 new statuses; the rest waits for the next poll
SEARCH_LIMIT = 40
_TAG = re.compile(r"^\w{1,100}$")
NO_FULL_TEXT = Message(
    "the instance found no status for this search: Mastodon searches the text of every "
    "status only where the instance has full-text search (Elasticsearch); elsewhere it finds "
    "only the account's own, favourited, bookmarked or mentioning statuses. Follow a "
    "hashtag (mastodon-tag) to hear more"
)


def clean_tag(target: str) -> str:
    """``#Acme`` or ``acme`` → ``acme`` (the hashtag without its sign, lower case)."""
    tag = (target or "").strip().lstrip("#").strip()
    if not _TAG.match(tag):
        raise ValidationError(
            "%(value)r is not a hashtag: give letters, digits or underscores, e.g. #acme",
            params={"value": target},
            field="target",
        )
    return tag.lower()


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def status_item(status: Mapping[str, Any]) -> FoundItem | None:
    """A status (``Status`` entity as JSON) as a found item; None for a private message."""
    if status.get("reblog"):
        status = status["reblog"]  # a boost: the boosted status is the mention
    if status.get("visibility") == "direct":
        return None
    account = status.get("account") or {}
    acct = str(account.get("acct") or account.get("username") or "").lstrip("@")
    followers = account.get("followers_count")
    spoiler = html_to_text(status.get("spoiler_text"))
    return FoundItem(
        network="mastodon",
        external_id=str(status.get("uri") or status.get("url") or status["id"]),
        url=status.get("url") or status.get("uri"),
        title=spoiler,  # a content warning heads the status, like a title
        text=html_to_text(status.get("content")),
        author=f"@{acct}" if acct else None,
        author_followers=int(followers) if isinstance(followers, int) else None,
        published_at=_when(status.get("created_at")),
        lang=status.get("language") or None,
    )


def id_number(value: Any) -> int:
    """A status id as a number (ids grow with time on one instance); 0 when it is none."""
    try:
        return int(str(value))
    except ValueError:
        return 0


_id_number = id_number


def _statuses(answer: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(answer, list):
        raise NetworkError(
            "%(instance)s answered the statuses with no list: check that this is a Mastodon "
            "instance",
            params={"instance": where},
        )
    return [status for status in answer if isinstance(status, Mapping) and "id" in status]


def fetch_tag(connector: MastodonConnector, target: str, state: dict[str, Any]) -> PollResult:
    """The statuses of a hashtag posted since the newest one seen (``state["since_id"]``)."""
    tag = clean_tag(target)
    since = state.get("since_id")
    found: list[Mapping[str, Any]] = []
    max_id: str | None = None
    with _translated(connector.instance_url):
        for _page in range(MAX_PAGES if since else 1):
            page = _statuses(
                connector.client.timeline_hashtag(
                    tag, since_id=since, max_id=max_id, limit=PAGE_SIZE
                ),
                connector.instance_url,
            )
            found.extend(page)
            if len(page) < PAGE_SIZE:
                break
            max_id = str(min(page, key=lambda s: _id_number(s["id"]))["id"])
    return _result(found, since, notice=None)


def fetch_search(connector: MastodonConnector, target: str, state: dict[str, Any]) -> PollResult:
    """Statuses matching ``target`` newer than the newest one seen (``min_id``)."""
    query = (target or "").strip()
    since = state.get("since_id")
    with _translated(connector.instance_url):
        answer = connector.client.search_v2(
            query, resolve=False, result_type="statuses", min_id=since, limit=SEARCH_LIMIT
        )
    statuses = answer.get("statuses") if isinstance(answer, Mapping) else None
    found = _statuses(statuses, connector.instance_url)
    # Nothing ever found: most likely an instance without full-text search.
    notice = NO_FULL_TEXT if not found and not state.get("ever_found") else None
    result = _result(found, since, notice=notice)
    if found or state.get("ever_found"):
        result.state["ever_found"] = True
    return result


def _result(found: list[Mapping[str, Any]], since: Any, *, notice: str | None) -> PollResult:
    newest = _id_number(since) if since else 0
    items = []
    seen: set[str] = set()
    for status in found:
        number = _id_number(status["id"])
        if since and number <= _id_number(since):
            continue  # an instance that ignores since_id/min_id
        newest = max(newest, number)
        item = status_item(status)
        if item is not None and item.external_id not in seen:
            seen.add(str(item.external_id))
            items.append(item)
    state: dict[str, Any] = {"since_id": str(newest)} if newest else {}
    if notice:
        state["notice"] = notice
    return PollResult(items=items, state=state)
