"""Listen's REST API, under ``/api/v1/workspaces/{workspace}/…``.

- ``GET|POST /watches``, ``GET|PATCH|DELETE /watches/{id}``;
- ``POST /watches/match``: documents in, for each the names of the watches it matches;
- ``GET|POST /sources``, ``DELETE /sources/{id}``, ``POST /sources/poll`` (``?source=ID``);
- ``GET /mentions`` (``watch``, ``since``, ``sentiment``, ``lang``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from townsquare.listening import service
from townsquare.listening.models import Watch
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession

router = APIRouter(tags=["listen"])
PREFIX = "/workspaces/{workspace}"


class WatchOut(BaseModel):
    id: int
    name: str
    kind: str = Field(description="brand, competitor or topic")
    query: str


class WatchCreate(BaseModel):
    name: str
    query: str = Field(description='The query, e.g. acme OR "acme corp" -job (see /help/query)')
    kind: str = "brand"


class WatchUpdate(BaseModel):
    name: str | None = None
    query: str | None = None
    kind: str | None = None


class MatchDocument(BaseModel):
    id: Any = None
    text: str
    title: str = ""
    url: str = ""
    author: str = ""
    lang: str | None = Field(default=None, description="Absent: detected from the text")
    network: str = ""


class MatchResult(BaseModel):
    id: Any = None
    watches: list[str]


def _out(watch: Watch) -> WatchOut:
    return WatchOut(id=watch.id, name=watch.name, kind=watch.kind, query=watch.query)


@router.get(PREFIX + "/watches", response_model=list[WatchOut])
def api_watches(session: DbSession, access: ApiAccess) -> list[WatchOut]:
    return [_out(watch) for watch in service.list_watches(session, access)]


@router.post(PREFIX + "/watches", response_model=WatchOut, status_code=201)
def api_create_watch(body: WatchCreate, session: DbSession, access: ApiAccess) -> WatchOut:
    return _out(
        service.create_watch(session, access, name=body.name, query=body.query, kind=body.kind)
    )


@router.post(PREFIX + "/watches/match", response_model=list[MatchResult])
def api_match(
    documents: list[MatchDocument], session: DbSession, access: ApiAccess
) -> list[MatchResult]:
    service.require_tester(access)
    index, names = service.workspace_index(session, access)
    inputs = [service.MatchInput(**document.model_dump()) for document in documents]
    return [
        MatchResult(id=document_id, watches=watches)
        for document_id, watches in service.match_documents(index, names, inputs)
    ]


@router.get(PREFIX + "/watches/{watch_id}", response_model=WatchOut)
def api_watch(watch_id: DbId, session: DbSession, access: ApiAccess) -> WatchOut:
    return _out(service.get_watch(session, access, watch_id))


@router.patch(PREFIX + "/watches/{watch_id}", response_model=WatchOut)
def api_update_watch(
    watch_id: DbId, body: WatchUpdate, session: DbSession, access: ApiAccess
) -> WatchOut:
    watch = service.update_watch(
        session, access, watch_id, name=body.name, query=body.query, kind=body.kind
    )
    return _out(watch)


@router.delete(PREFIX + "/watches/{watch_id}", status_code=204)
def api_delete_watch(watch_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    service.delete_watch(session, access, watch_id)
    return Response(status_code=204)


class SourceOut(BaseModel):
    id: int
    type: str
    target: str
    every: int = Field(description="Minutes between polls")
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    items_last_poll: int
    mentions_total: int
    error_count: int = Field(description="Failures in a row (the wait doubles with each)")
    last_error: str | None


class SourceCreate(BaseModel):
    type: str = Field(description="rss, hackernews, reddit or web")
    target: str = Field(description="The feed or page URL, or the search query")
    every: int = 15
    selector: str | None = Field(default=None, description="web: CSS selector of the part")


class PollOut(BaseModel):
    sources_polled: int
    items_fetched: int
    mentions_new: int
    alerts_sent: int
    errors: list[dict[str, Any]]


class MentionOut(BaseModel):
    id: int
    url: str | None
    title: str | None
    text: str
    author: str | None
    published_at: datetime | None
    network: str
    lang: str | None
    sentiment: str | None
    watches: list[str]


def _source_out(source: Any) -> SourceOut:
    from townsquare.listening.sources import source_json

    return SourceOut(**source_json(source))


@router.get(PREFIX + "/sources", response_model=list[SourceOut])
def api_sources(session: DbSession, access: ApiAccess) -> list[SourceOut]:
    from townsquare.listening import sources

    return [_source_out(source) for source in sources.list_sources(session, access)]


@router.post(PREFIX + "/sources", response_model=SourceOut, status_code=201)
def api_add_source(
    body: SourceCreate, session: DbSession, access: ApiAccess, settings: AppSettings
) -> SourceOut:
    from townsquare.listening import sources

    source = sources.add_source(
        session,
        access,
        settings,
        type=body.type,
        target=body.target,
        every_minutes=body.every,
        selector=body.selector,
    )
    return _source_out(source)


@router.post(PREFIX + "/sources/poll", response_model=PollOut)
def api_poll(
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    source: int | None = Query(default=None, description="Only this source"),
) -> PollOut:
    from townsquare.listening import sources

    return PollOut(**sources.poll(session, settings, access, source_id=source).as_json())


@router.delete(PREFIX + "/sources/{source_id}", status_code=204)
def api_delete_source(source_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    from townsquare.listening import sources

    sources.delete_source(session, access, source_id)
    return Response(status_code=204)


@router.get(PREFIX + "/mentions", response_model=list[MentionOut])
def api_mentions(
    session: DbSession,
    access: ApiAccess,
    watch: str | None = Query(default=None, description="Name or id of a watch"),
    since: datetime | None = None,
    sentiment: str | None = Query(default=None, description="negative, neutral or positive"),
    lang: str | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[MentionOut]:
    rows = service.list_mentions(
        session, access, watch=watch, since=since, sentiment=sentiment, lang=lang, limit=limit
    )
    return [MentionOut(**service.mention_json(m, w)) for m, w in rows]
