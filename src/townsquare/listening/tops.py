"""Top authors, sites and terms of a watch's (or a workspace's) mentions over a period.

- authors: by mentions, with the reach (the largest follower count known for the author);
- sites: the host of the mention's URL without ``www.`` (networks' own hosts included);
- terms: the words of titles and texts, folded (case and accents ignored), at least three
  letters, without the 300 most frequent words of French and of English (wordfreq's lists,
  shipped in its package) nor the words of links; counted once per mention.

Mentions deleted as noise are left out.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.listening.marks import site_key
from townsquare.listening.models import Mention, MentionWatch
from townsquare.listening.text import fold, words
from townsquare.workspaces.service import WorkspaceAccess

_WHEN = func.coalesce(Mention.published_at, Mention.created_at)
MAX_MENTIONS = 20_000  # the newest this many are read for the terms
COMMON_WORDS = 300
_LINK_WORDS = frozenset(("http", "https", "www", "com", "org", "net", "html"))


@cache
def stop_words() -> frozenset[str]:
    """The most frequent words of French and English, folded (not worth a top)."""
    from wordfreq import top_n_list

    common = top_n_list("fr", COMMON_WORDS) + top_n_list("en", COMMON_WORDS)
    return frozenset(fold(word) for word in common) | _LINK_WORDS


def _scope(access: WorkspaceAccess, since: datetime, until: datetime, watch_id: int | None) -> Any:
    query = select(Mention).where(
        Mention.workspace_id == access.workspace_id,
        Mention.is_noise.is_(False),
        since <= _WHEN,
        until > _WHEN,
    )
    if watch_id is not None:
        query = query.where(
            Mention.id.in_(select(MentionWatch.mention_id).where(MentionWatch.watch_id == watch_id))
        )
    return query


def tops(
    session: Session,
    access: WorkspaceAccess,
    since: datetime,
    until: datetime,
    *,
    watch_id: int | None = None,
    limit: int = 10,
) -> dict[str, list[dict[str, Any]]]:
    """{"authors": [{"author", "mentions", "reach"}], "sites": [{"site", "mentions"}],
    "terms": [{"term", "mentions"}]}, each the ``limit`` largest, ties by name."""
    authors: Counter[str] = Counter()
    reach: dict[str, int] = {}
    sites: Counter[str] = Counter()
    terms: Counter[str] = Counter()
    common = stop_words()
    query = _scope(access, since, until, watch_id).order_by(_WHEN.desc()).limit(MAX_MENTIONS)
    for mention in session.scalars(query):
        if mention.author:
            authors[mention.author] += 1
            if mention.author_followers is not None:
                reach[mention.author] = max(reach.get(mention.author, 0), mention.author_followers)
        if mention.url:
            host = site_key(mention.url)
            if host:
                sites[host] += 1
        seen = {
            word.folded
            for text in (mention.title or "", mention.text)
            for word in words(text)
            if len(word.folded) >= 3 and not word.folded.isdigit() and word.folded not in common
        }
        terms.update(seen)

    def largest(counter: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counter.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]

    return {
        "authors": [
            {"author": name, "mentions": count, "reach": reach.get(name)}
            for name, count in largest(authors)
        ],
        "sites": [{"site": host, "mentions": count} for host, count in largest(sites)],
        "terms": [{"term": term, "mentions": count} for term, count in largest(terms)],
    }
