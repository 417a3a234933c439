"""Listen's REST API, under ``/api/v1/workspaces/{workspace}/…``.

- ``GET|POST /watches``, ``GET|PATCH|DELETE /watches/{id}``;
- ``POST /watches/match``: documents in, for each the names of the watches it matches.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from townsquare.listening import service
from townsquare.listening.models import Watch
from townsquare.web.deps import ApiAccess, DbSession

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
    index, names = service.workspace_index(session, access)
    inputs = [service.MatchInput(**document.model_dump()) for document in documents]
    return [
        MatchResult(id=document_id, watches=watches)
        for document_id, watches in service.match_documents(index, names, inputs)
    ]


@router.get(PREFIX + "/watches/{watch_id}", response_model=WatchOut)
def api_watch(watch_id: int, session: DbSession, access: ApiAccess) -> WatchOut:
    return _out(service.get_watch(session, access, watch_id))


@router.patch(PREFIX + "/watches/{watch_id}", response_model=WatchOut)
def api_update_watch(
    watch_id: int, body: WatchUpdate, session: DbSession, access: ApiAccess
) -> WatchOut:
    watch = service.update_watch(
        session, access, watch_id, name=body.name, query=body.query, kind=body.kind
    )
    return _out(watch)


@router.delete(PREFIX + "/watches/{watch_id}", status_code=204)
def api_delete_watch(watch_id: int, session: DbSession, access: ApiAccess) -> Response:
    service.delete_watch(session, access, watch_id)
    return Response(status_code=204)
