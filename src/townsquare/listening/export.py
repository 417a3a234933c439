"""Mentions as CSV, through the product's one CSV writer (townsquare/exports.py).

The API and the command line write ``,`` and ``.`` with the column ids as headers; French
pages write ``;``, decimal commas and French headers (exports.dialect_for, header_labels).
Cells holding outside text (titles, texts, authors) are neutralised against formulas there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from townsquare import exports
from townsquare.listening.models import Mention
from townsquare.listening.service import MentionFilter, mentions_query, watch_names
from townsquare.workspaces.service import WorkspaceAccess

COLUMNS = (
    "id",
    "published_at",
    "network",
    "author",
    "author_followers",
    "title",
    "text",
    "url",
    "lang",
    "sentiment",
    "sentiment_score",
    "sentiment_corrected",
    "watches",
    "read",
    "important",
    "to_answer",
)
MAX_ROWS = 100_000
_N = exports.N_
LABELS = {
    "id": _N("Id"),
    "published_at": _N("Published at (UTC)"),
    "network": _N("Network"),
    "author": _N("Author"),
    "author_followers": _N("Author's followers"),
    "title": _N("Title"),
    "text": _N("Text"),
    "url": _N("URL"),
    "lang": _N("Language"),
    "sentiment": _N("Sentiment"),
    "sentiment_score": _N("Sentiment score"),
    "sentiment_corrected": _N("Corrected by hand"),
    "watches": _N("Watches"),
    "read": _N("Read"),
    "important": _N("Important"),
    "to_answer": _N("To answer"),
}


def column_labels(language: str | None, gettext: Callable[[str], str]) -> Any:
    """The header labels of a page in ``language`` (None: the column ids)."""
    return exports.header_labels(
        language, gettext, lambda column: gettext(LABELS[column]) if column in LABELS else None
    )


def mentions_csv(
    session: Session,
    access: WorkspaceAccess,
    filters: MentionFilter,
    *,
    dialect: exports.CsvDialect = exports.ENGLISH,
    labels: Callable[[str], str] | None = None,
) -> Iterator[str]:
    """The mentions that pass ``filters``, newest first (at most MAX_ROWS), in chunks."""
    when = func.coalesce(Mention.published_at, Mention.created_at)
    query = (
        mentions_query(session, access, filters)
        .order_by(when.desc(), Mention.id.desc())
        .limit(MAX_ROWS)
    )
    mentions = list(session.scalars(query))
    names = watch_names(session, [mention.id for mention in mentions])

    def rows() -> Iterator[list[Any]]:
        for mention, watches in zip(mentions, names, strict=True):
            yield [
                mention.id,
                mention.published_at,
                mention.network,
                mention.author,
                mention.author_followers,
                mention.title,
                mention.text,
                mention.url,
                mention.lang,
                mention.sentiment,
                mention.sentiment_score,
                mention.sentiment_corrected_at is not None,
                watches,
                mention.is_read,
                mention.is_important,
                mention.to_answer,
            ]

    yield from exports.stream_csv(COLUMNS, rows(), dialect=dialect, labels=labels)
