"""Use cases of Listen; every query is scoped by the caller's workspace."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.errors import Conflict, NotFound, ValidationError
from townsquare.listening import sentiment
from townsquare.listening.index import WatchIndex
from townsquare.listening.language import detect
from townsquare.listening.models import WATCH_KINDS, Mention, MentionWatch, Watch
from townsquare.listening.query import Node, parse
from townsquare.listening.text import Document
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

MAX_QUERY_LENGTH = 4000


def _clean_kind(kind: str) -> str:
    clean = (kind or "").strip().lower()
    if clean not in WATCH_KINDS:
        raise ValidationError(
            "unknown kind %(value)r: choose one of %(choices)s",
            params={"value": kind, "choices": list(WATCH_KINDS)},
            field="kind",
        )
    return clean


def check_query(query: str) -> Node:
    """The parsed ``query``; QuerySyntaxError with column and hint when it cannot be read."""
    text = validation.no_nul(query or "", field="query")
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationError(
            "the query is %(length)s characters long: at most %(limit)s",
            params={"length": len(text), "limit": MAX_QUERY_LENGTH},
            field="query",
        )
    return parse(text)


MIN_SPIKE_THRESHOLD, MAX_SPIKE_THRESHOLD = 1.0, 50.0


def check_spike_threshold(value: float) -> float:
    """A spike threshold the robust score can reach (1 to 50; 3 by default)."""
    if not MIN_SPIKE_THRESHOLD <= value <= MAX_SPIKE_THRESHOLD:  # NaN fails both
        raise ValidationError(
            "the spike threshold %(value)s is out of range: choose between %(low)s and "
            "%(high)s (3 by default; higher means fewer spikes)",
            params={"value": value, "low": MIN_SPIKE_THRESHOLD, "high": MAX_SPIKE_THRESHOLD},
            field="spike_threshold",
        )
    return float(value)


def create_watch(
    session: Session, access: WorkspaceAccess, *, name: str, query: str, kind: str = "brand"
) -> Watch:
    """A new watch (editor or higher); its query is checked before anything is stored."""
    access.require(Role.EDITOR, "create watches")
    clean_name = validation.non_empty(name, field="name")
    if len(clean_name) > 200:
        raise ValidationError("the name is too long: at most 200 characters", field="name")
    check_query(query)
    watch = Watch(
        workspace_id=access.workspace_id,
        name=clean_name,
        kind=_clean_kind(kind),
        query=query.strip(),
        created_by=access.user_id,
    )
    session.add(watch)
    audit.record(
        session,
        "watch.created",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=clean_name,
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "this workspace already has a watch called '%(name)s'",
            params={"name": clean_name},
            field="name",
        ) from None
    return watch


def list_watches(session: Session, access: WorkspaceAccess) -> list[Watch]:
    query = select(Watch).where(Watch.workspace_id == access.workspace_id).order_by(Watch.name)
    return list(session.scalars(query))


def get_watch(session: Session, access: WorkspaceAccess, name_or_id: str | int) -> Watch:
    """The watch with this id, or this name (the CLI's ``--watch N``)."""
    query = select(Watch).where(Watch.workspace_id == access.workspace_id)
    if (isinstance(name_or_id, int) or str(name_or_id).isdigit()) and (
        int(name_or_id) <= validation.MAX_ID
    ):
        by_id = session.scalar(query.where(Watch.id == int(name_or_id)))
        if by_id is not None:
            return by_id
    watch = session.scalar(query.where(Watch.name == str(name_or_id).strip()))
    if watch is None:
        raise NotFound(
            "no watch '%(watch)s' in workspace '%(slug)s': list them with "
            "`townsquare watch list --workspace %(slug)s`",
            params={"watch": str(name_or_id), "slug": access.workspace.slug},
            field="watch",
        )
    return watch


def update_watch(
    session: Session,
    access: WorkspaceAccess,
    watch_id: int,
    *,
    name: str | None = None,
    query: str | None = None,
    kind: str | None = None,
    spike_threshold: float | None = None,
) -> Watch:
    access.require(Role.EDITOR, "change watches")
    watch = get_watch(session, access, watch_id)
    if spike_threshold is not None:
        watch.spike_threshold = check_spike_threshold(spike_threshold)
    if query is not None:
        check_query(query)
        watch.query = query.strip()
    if kind is not None:
        watch.kind = _clean_kind(kind)
    if name is not None:
        watch.name = validation.non_empty(name, field="name")
    audit.record(
        session,
        "watch.updated",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=watch.name,
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "this workspace already has a watch called '%(name)s'",
            params={"name": name},
            field="name",
        ) from None
    return watch


def delete_watch(session: Session, access: WorkspaceAccess, watch_id: int) -> None:
    access.require(Role.EDITOR, "delete watches")
    watch = get_watch(session, access, watch_id)
    audit.record(
        session,
        "watch.deleted",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=watch.name,
    )
    session.delete(watch)
    session.commit()


@dataclass(frozen=True)
class MatchInput:
    """One document to match, as ``watch match`` reads it (JSON Lines)."""

    id: object
    text: str
    title: str = ""
    url: str = ""
    author: str = ""
    lang: str | None = None  # None: detected
    network: str = ""


def workspace_index(session: Session, access: WorkspaceAccess) -> tuple[WatchIndex, dict[int, str]]:
    """Every watch of the workspace compiled into one index, and their names by id."""
    watches = list_watches(session, access)
    index = WatchIndex({watch.id: parse(watch.query) for watch in watches})
    return index, {watch.id: watch.name for watch in watches}


def require_tester(access: WorkspaceAccess) -> None:
    """Trying texts against the watches is for those who write them (not clients)."""
    access.require(Role.CONTRIBUTOR, "try texts against the watches")


def match_documents(
    index: WatchIndex, names: dict[int, str], documents: Iterable[MatchInput]
) -> Iterator[tuple[object, list[str]]]:
    """For each document, its id and the names of the watches it matches (sorted)."""
    for item in documents:
        lang = item.lang if item.lang is not None else detect(f"{item.title}\n{item.text}")
        document = Document(
            item.text,
            title=item.title,
            url=item.url,
            author=item.author,
            lang=lang,
            network=item.network,
        )
        yield item.id, sorted(names[watch_id] for watch_id in index.match(document))


# --- mentions ------------------------------------------------------------------------------

SENTIMENTS = sentiment.LABELS
SENTIMENT_CHARACTERS = 4000  # what is read of a long item (a page, an article) to judge it


def mention_sentiment(title: str, text: str, lang: str | None) -> sentiment.Sentiment | None:
    """The sentiment of a new mention (French or English rules; None for other languages).

    A text whose language could not be told (often a very short one) is read with both
    rules and keeps the stronger verdict."""
    language = (lang or "").lower()
    if language not in ("", "fr", "en"):
        return None
    body = (f"{title}\n{text}" if title else text)[:SENTIMENT_CHARACTERS]
    if language:
        return sentiment.classify(body, language)
    english, french = sentiment.classify(body, "en"), sentiment.classify(body, "fr")
    return french if abs(french.score) > abs(english.score) else english


@dataclass(frozen=True)
class MentionFilter:
    """Which of a workspace's mentions to list (every field optional)."""

    watch: str | int | None = None
    since: datetime | None = None
    until: datetime | None = None
    sentiment: str | None = None
    lang: str | None = None
    source: int | None = None
    network: str | None = None
    mark: str | None = None  # read, unread, important, to_answer


MARK_FILTERS = ("read", "unread", "important", "to_answer")


def mentions_query(
    session: Session, access: WorkspaceAccess, filters: MentionFilter
) -> Select[Any]:
    """The SELECT of the workspace's mentions (noise left out) that pass ``filters``."""
    query = select(Mention).where(
        Mention.workspace_id == access.workspace_id, Mention.is_noise.is_(False)
    )
    if filters.watch is not None:
        found = get_watch(session, access, filters.watch)
        query = query.where(
            Mention.id.in_(select(MentionWatch.mention_id).where(MentionWatch.watch_id == found.id))
        )
    when = func.coalesce(Mention.published_at, Mention.created_at)
    if filters.since is not None:
        query = query.where(when >= filters.since)
    if filters.until is not None:
        query = query.where(when < filters.until)
    if filters.sentiment:
        if filters.sentiment not in SENTIMENTS:
            raise ValidationError(
                "unknown sentiment %(value)r: choose one of %(choices)s",
                params={"value": filters.sentiment, "choices": list(SENTIMENTS)},
                field="sentiment",
            )
        query = query.where(Mention.sentiment == filters.sentiment)
    if filters.lang:
        query = query.where(Mention.lang == filters.lang.strip().lower())
    if filters.source is not None:
        query = query.where(Mention.source_id == filters.source)
    if filters.network:
        query = query.where(Mention.network == filters.network.strip().lower())
    if filters.mark:
        if filters.mark not in MARK_FILTERS:
            raise ValidationError(
                "unknown mark %(value)r: choose one of %(choices)s",
                params={"value": filters.mark, "choices": list(MARK_FILTERS)},
                field="mark",
            )
        column = {
            "read": Mention.is_read.is_(True),
            "unread": Mention.is_read.is_(False),
            "important": Mention.is_important.is_(True),
            "to_answer": Mention.to_answer.is_(True),
        }[filters.mark]
        query = query.where(column)
    return query


def list_mentions(
    session: Session,
    access: WorkspaceAccess,
    *,
    watch: str | int | None = None,
    since: datetime | None = None,
    sentiment: str | None = None,
    lang: str | None = None,
    limit: int = 1000,
    filters: MentionFilter | None = None,
) -> list[tuple[Mention, list[str]]]:
    """The workspace's mentions, newest first, with the names of the watches they matched."""
    chosen = filters or MentionFilter(watch=watch, since=since, sentiment=sentiment, lang=lang)
    when = func.coalesce(Mention.published_at, Mention.created_at)
    query = (
        mentions_query(session, access, chosen)
        .order_by(when.desc(), Mention.id.desc())
        .limit(limit)
    )
    mentions = list(session.scalars(query))
    return list(zip(mentions, watch_names(session, [m.id for m in mentions]), strict=True))


def watch_names(session: Session, mention_ids: list[int]) -> list[list[str]]:
    """For each mention id, the names of the watches it matched (sorted)."""
    names: dict[int, list[str]] = {mention_id: [] for mention_id in mention_ids}
    for start in range(0, len(mention_ids), 500):
        rows = session.execute(
            select(MentionWatch.mention_id, Watch.name)
            .join(Watch, Watch.id == MentionWatch.watch_id)
            .where(MentionWatch.mention_id.in_(mention_ids[start : start + 500]))
            .order_by(Watch.name)
        )
        for mention_id, name in rows:
            names[mention_id].append(name)
    return [names[mention_id] for mention_id in mention_ids]


def mention_json(mention: Mention, watches: list[str]) -> dict[str, object]:
    return {
        "id": mention.id,
        "url": mention.url,
        "title": mention.title,
        "text": mention.text,
        "author": mention.author,
        "published_at": mention.published_at,
        "network": mention.network,
        "lang": mention.lang,
        "sentiment": mention.sentiment,
        "watches": watches,
    }


def mention_detail_json(mention: Mention, watches: list[str]) -> dict[str, object]:
    """mention_json and what the API adds: score, correction, marks, author's followers."""
    return {
        **mention_json(mention, watches),
        "sentiment_score": mention.sentiment_score,
        "sentiment_auto": mention.sentiment_auto,
        "sentiment_corrected": mention.sentiment_corrected_at is not None,
        "author_followers": mention.author_followers,
        "source_id": mention.source_id,
        "read": mention.is_read,
        "important": mention.is_important,
        "to_answer": mention.to_answer,
    }
