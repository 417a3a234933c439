"""Use cases of Listen; every query is scoped by the caller's workspace."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.errors import Conflict, NotFound, ValidationError
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
            f"unknown kind {kind!r}: choose one of {', '.join(WATCH_KINDS)}", field="kind"
        )
    return clean


def check_query(query: str) -> Node:
    """The parsed ``query``; QuerySyntaxError with column and hint when it cannot be read."""
    text = validation.no_nul(query or "", field="query")
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationError(
            f"the query is {len(text):,} characters long: at most {MAX_QUERY_LENGTH:,}",
            field="query",
        )
    return parse(text)


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
            f"this workspace already has a watch called '{clean_name}'", field="name"
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
            f"no watch '{name_or_id}' in workspace '{access.workspace.slug}': list them with "
            f"`townsquare watch list --workspace {access.workspace.slug}`",
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
) -> Watch:
    access.require(Role.EDITOR, "change watches")
    watch = get_watch(session, access, watch_id)
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
            f"this workspace already has a watch called '{name}'", field="name"
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

SENTIMENTS = ("negative", "neutral", "positive")


def list_mentions(
    session: Session,
    access: WorkspaceAccess,
    *,
    watch: str | int | None = None,
    since: datetime | None = None,
    sentiment: str | None = None,
    lang: str | None = None,
    limit: int = 1000,
) -> list[tuple[Mention, list[str]]]:
    """The workspace's mentions, newest first, with the names of the watches they matched."""
    from sqlalchemy import func

    query = select(Mention).where(Mention.workspace_id == access.workspace_id)
    if watch is not None:
        found = get_watch(session, access, watch)
        query = query.where(
            Mention.id.in_(select(MentionWatch.mention_id).where(MentionWatch.watch_id == found.id))
        )
    if since is not None:
        query = query.where(func.coalesce(Mention.published_at, Mention.created_at) >= since)
    if sentiment:
        if sentiment not in SENTIMENTS:
            raise ValidationError(
                f"unknown sentiment {sentiment!r}: choose one of {', '.join(SENTIMENTS)}",
                field="sentiment",
            )
        query = query.where(Mention.sentiment == sentiment)
    if lang:
        query = query.where(Mention.lang == lang.strip().lower())
    query = query.order_by(
        func.coalesce(Mention.published_at, Mention.created_at).desc(), Mention.id.desc()
    ).limit(limit)
    mentions = list(session.scalars(query))
    names: dict[int, list[str]] = {mention.id: [] for mention in mentions}
    if mentions:
        rows = session.execute(
            select(MentionWatch.mention_id, Watch.name)
            .join(Watch, Watch.id == MentionWatch.watch_id)
            .where(MentionWatch.mention_id.in_(list(names)))
            .order_by(Watch.name)
        )
        for mention_id, name in rows:
            names[mention_id].append(name)
    return [(mention, names[mention.id]) for mention in mentions]


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
