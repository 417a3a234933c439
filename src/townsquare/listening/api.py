"""Listen's REST API, under ``/api/v1/workspaces/{workspace}/…``.

- ``GET|POST /watches``, ``GET|PATCH|DELETE /watches/{id}``;
- ``POST /watches/match``: documents in, for each the names of the watches it matches;
- ``GET|POST /sources``, ``DELETE /sources/{id}``, ``POST /sources/poll`` (``?source=ID``);
- ``GET /mentions`` (``watch``, ``since``, ``until``, ``sentiment``, ``lang``, ``source``,
  ``network``, ``mark``), ``GET /mentions.csv`` (the same filters), ``PATCH /mentions/{id}``
  (marks and the sentiment correction), ``POST /mentions/{id}/noise``;
- ``GET /mentions/figures`` (sentiment per day, corrections, spikes, tops);
- ``GET|POST /mutes``, ``DELETE /mutes/{id}``;
- ``GET|POST /alerts``, ``GET|DELETE /alerts/{id}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from townsquare import validation
from townsquare.listening import service
from townsquare.listening.models import Watch
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession
from townsquare.workspaces.roles import Role

router = APIRouter(tags=["listen"])
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "CSV (UTF-8, `,` and `.`, a header of column ids)",
    }
}
PREFIX = "/workspaces/{workspace}"


class WatchOut(BaseModel):
    id: int
    name: str
    kind: str = Field(description="brand, competitor or topic")
    query: str
    spike_threshold: float = Field(
        default=3.0, description="Robust score from which an hour is a spike (1 to 50)"
    )


class WatchCreate(BaseModel):
    name: str
    query: str = Field(description='The query, e.g. acme OR "acme corp" -job (see /help/query)')
    kind: str = "brand"


class WatchUpdate(BaseModel):
    name: str | None = None
    query: str | None = None
    kind: str | None = None
    spike_threshold: float | None = Field(default=None, ge=1, le=50)


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
    return WatchOut(
        id=watch.id,
        name=watch.name,
        kind=watch.kind,
        query=watch.query,
        spike_threshold=watch.spike_threshold,
    )


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
        session,
        access,
        watch_id,
        name=body.name,
        query=body.query,
        kind=body.kind,
        spike_threshold=body.spike_threshold,
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
    channel: str | None = Field(
        default=None, description="Handle of the connected channel it reads through"
    )
    channel_id: int | None = None
    notice: str | None = Field(
        default=None,
        description="What the source cannot do, e.g. an instance without full-text search; "
        "for a hashtag source, whether it is streamed or polled and why",
    )


class SourceCreate(BaseModel):
    type: str = Field(
        description="rss, mastodon-tag, mastodon-search, bluesky-search, hackernews, reddit or web"
    )
    target: str = Field(description="The feed or page URL, the hashtag or the search query")
    every: int = 15
    selector: str | None = Field(default=None, description="web: CSS selector of the part")
    channel: str | None = Field(
        default=None,
        description="Handle of a connected channel (mastodon-* need one; bluesky-search may)",
    )


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
    sentiment: str | None = Field(description="negative, neutral, positive (a correction wins)")
    watches: list[str]
    sentiment_score: float | None = Field(default=None, description="The classifier's, -1 to 1")
    sentiment_auto: str | None = Field(default=None, description="The classifier's label")
    sentiment_corrected: bool = False
    author_followers: int | None = None
    source_id: int | None = None
    read: bool = False
    important: bool = False
    to_answer: bool = False


class MentionUpdate(BaseModel):
    read: bool | None = None
    important: bool | None = None
    to_answer: bool | None = None
    sentiment: str | None = Field(
        default=None, description="negative, neutral or positive; auto: the classifier's again"
    )


class NoiseIn(BaseModel):
    mute: Literal["author", "site"] | None = Field(
        default=None, description="Also never store items from its author or site again"
    )


class MuteIn(BaseModel):
    kind: Literal["author", "site"]
    value: str = Field(description="An author's name, or a site's host name (subdomains too)")


class MuteOut(BaseModel):
    id: int
    kind: str
    value: str
    created_at: datetime


class AlertIn(BaseModel):
    watch: str = Field(description="Name or id of the watch")
    url: str = Field(description="An apprise URL: mailto://…, json://…, slack://…, ntfy://…")
    mode: str = Field(default="instant", description="instant, digest, spike or negative")
    at: str | None = Field(default=None, description="digest: local time HH:MM (08:00)")
    group_minutes: int = Field(default=15, description="instant, negative: at most one per N min")


class AlertOut(BaseModel):
    id: int
    watch_id: int
    url: str = Field(description="The destination without its secrets")
    mode: str
    at: str | None
    group_minutes: int
    last_sent_at: datetime | None
    failures: int = Field(description="Failed sends in a row (the wait doubles with each)")
    last_error: str | None = Field(description="In the reader's language (Accept-Language)")
    last_error_id: str | None = Field(None, description="Its English template (msgid)")
    last_error_params: dict[str, Any] | None = Field(None, description="The template's values")
    next_attempt_at: datetime | None


@router.get(PREFIX + "/sources", response_model=list[SourceOut])
def api_sources(session: DbSession, access: ApiAccess) -> list[SourceOut]:
    from townsquare.listening import sources

    found = sources.list_sources(session, access)
    return [SourceOut(**row) for row in sources.sources_json(session, found)]


@router.post(PREFIX + "/sources", response_model=SourceOut, status_code=201)
def api_add_source(
    body: SourceCreate, session: DbSession, access: ApiAccess, settings: AppSettings
) -> SourceOut:
    from townsquare.channels.service import get_channel_by_handle
    from townsquare.listening import sources

    channel_id = get_channel_by_handle(session, access, body.channel).id if body.channel else None
    source = sources.add_source(
        session,
        access,
        settings,
        type=body.type,
        target=body.target,
        every_minutes=body.every,
        selector=body.selector,
        channel_id=channel_id,
    )
    return SourceOut(**sources.sources_json(session, [source])[0])


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


def _filters(
    watch: str | None = Query(default=None, description="Name or id of a watch"),
    since: datetime | None = Query(default=None, description="From this time (ISO 8601)"),
    until: datetime | None = Query(default=None, description="Before this time (ISO 8601)"),
    sentiment: str | None = Query(default=None, description="negative, neutral or positive"),
    lang: str | None = Query(default=None, description="e.g. fr"),
    source: int | None = Query(default=None, ge=1, le=2**63 - 1, description="A source's id"),
    network: str | None = Query(default=None, description="e.g. rss, mastodon"),
    mark: str | None = Query(default=None, description="read, unread, important or to_answer"),
) -> service.MentionFilter:
    return service.MentionFilter(
        watch=watch,
        since=since,
        until=until,
        sentiment=sentiment,
        lang=lang,
        source=source,
        network=network,
        mark=mark,
    )


MentionFilters = Annotated[service.MentionFilter, Depends(_filters)]


def _mention_out(mention: Any, watches: list[str]) -> MentionOut:
    return MentionOut(**service.mention_detail_json(mention, watches))


@router.get(PREFIX + "/mentions", response_model=list[MentionOut])
def api_mentions(
    session: DbSession,
    access: ApiAccess,
    filters: MentionFilters,
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[MentionOut]:
    """The workspace's mentions, newest first (deleted noise left out)."""
    rows = service.list_mentions(session, access, filters=filters, limit=limit)
    return [_mention_out(m, w) for m, w in rows]


@router.get(PREFIX + "/mentions.csv", response_class=Response, responses=CSV_RESPONSE)
def api_mentions_csv(session: DbSession, access: ApiAccess, filters: MentionFilters) -> Response:
    """The mentions that pass the filters as CSV (``,`` and ``.``; column ids as headers)."""
    from townsquare.exports import content_disposition
    from townsquare.listening.export import mentions_csv

    return Response(
        "".join(mentions_csv(session, access, filters)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("mentions.csv")},
    )


@router.get(PREFIX + "/mentions/figures")
def api_mention_figures(
    session: DbSession,
    access: ApiAccess,
    since: datetime = Query(description="From this time (ISO 8601)"),
    until: datetime = Query(description="Before this time (ISO 8601)"),
    watch: str | None = Query(default=None, description="Name or id of a watch"),
) -> dict[str, Any]:
    """Sentiment per day (corrections counted), corrections, tops; with a watch, its spikes
    (each split by sentiment, from the watch's threshold)."""
    from dataclasses import asdict

    from townsquare.listening import figures, tops

    since, until = validation.time_range(since, until)
    found = service.get_watch(session, access, watch) if watch else None
    watch_id = found.id if found else None
    result: dict[str, Any] = {
        "sentiment_by_day": figures.sentiment_by_day(session, access, since, until, watch_id),
        "corrections": figures.corrections(session, access, since, until),
        "tops": tops.tops(session, access, since, until, watch_id=watch_id),
        "spikes": [],
    }
    if watch_id is not None:
        result["spikes"] = [
            asdict(spike) for spike in figures.watch_spikes(session, access, watch_id, since, until)
        ]
    return result


@router.patch(PREFIX + "/mentions/{mention_id}", response_model=MentionOut)
def api_update_mention(
    mention_id: DbId, body: MentionUpdate, session: DbSession, access: ApiAccess
) -> MentionOut:
    """Mark a mention (read, important, to answer) or correct its sentiment."""
    from townsquare.listening import marks

    # Even an empty change is a write: a viewer is refused before anything is read.
    access.require(Role.CONTRIBUTOR, "mark mentions")
    for mark in ("read", "important", "to_answer"):
        value = getattr(body, mark)
        if value is not None:
            marks.set_mark(session, access, mention_id, mark, value)
    if body.sentiment is not None:
        marks.correct_sentiment(session, access, mention_id, body.sentiment)
    mention = marks.get_mention(session, access, mention_id)
    return _mention_out(mention, service.watch_names(session, [mention.id])[0])


@router.post(PREFIX + "/mentions/{mention_id}/noise", status_code=204)
def api_mention_noise(
    mention_id: DbId, session: DbSession, access: ApiAccess, body: NoiseIn | None = None
) -> Response:
    """Delete a mention as noise (it stays hidden); optionally mute its author or site."""
    from townsquare.listening import marks

    marks.delete_as_noise(session, access, mention_id, mute=body.mute if body else None)
    return Response(status_code=204)


@router.get(PREFIX + "/mutes", response_model=list[MuteOut])
def api_mutes(session: DbSession, access: ApiAccess) -> list[MuteOut]:
    from townsquare.listening import marks

    return [MuteOut(**marks.mute_json(m)) for m in marks.list_mutes(session, access)]


@router.post(PREFIX + "/mutes", response_model=MuteOut, status_code=201)
def api_add_mute(body: MuteIn, session: DbSession, access: ApiAccess) -> MuteOut:
    """Never store items from this author or site again (its stored mentions become noise)."""
    from townsquare.listening import marks

    return MuteOut(**marks.mute_json(marks.add_mute(session, access, body.kind, body.value)))


@router.delete(PREFIX + "/mutes/{mute_id}", status_code=204)
def api_delete_mute(mute_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    from townsquare.listening import marks

    marks.remove_mute(session, access, mute_id)
    return Response(status_code=204)


def _alert_out(alert: Any, request: Request) -> AlertOut:
    from townsquare.listening.alerts import alert_json
    from townsquare.web.i18n import translator

    data = alert_json(alert)
    error = alert.last_error
    if error is not None:
        data["last_error"] = translator(request.state.language)(error)
        data["last_error_id"], data["last_error_params"] = error.id, error.json_params()
    return AlertOut(**data)


@router.get(PREFIX + "/alerts", response_model=list[AlertOut])
def api_alerts(
    request: Request,
    session: DbSession,
    access: ApiAccess,
    watch: str | None = Query(default=None, description="Only this watch's (name or id)"),
) -> list[AlertOut]:
    """The workspace's alerts with their health (a failing one shows its last error)."""
    from townsquare.listening import alerts

    watch_id = service.get_watch(session, access, watch).id if watch else None
    return [_alert_out(alert, request) for alert in alerts.list_alerts(session, access, watch_id)]


@router.post(PREFIX + "/alerts", response_model=AlertOut, status_code=201)
def api_add_alert(
    request: Request, body: AlertIn, session: DbSession, access: ApiAccess, settings: AppSettings
) -> AlertOut:
    """Send a watch's new mentions, digests, spikes or negative mentions to an apprise URL."""
    from townsquare.channels.crypto import CredentialsBox
    from townsquare.listening import alerts

    alert = alerts.add_alert(
        session,
        access,
        settings,
        CredentialsBox(settings.resolved_credentials_key()),
        watch=service.get_watch(session, access, body.watch),
        url=body.url,
        mode=body.mode,
        at=body.at,
        group_minutes=body.group_minutes,
    )
    return _alert_out(alert, request)


@router.get(PREFIX + "/alerts/{alert_id}", response_model=AlertOut)
def api_alert(request: Request, alert_id: DbId, session: DbSession, access: ApiAccess) -> AlertOut:
    from townsquare.listening import alerts

    return _alert_out(alerts.get_alert(session, access, alert_id), request)


@router.delete(PREFIX + "/alerts/{alert_id}", status_code=204)
def api_delete_alert(alert_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    from townsquare.listening import alerts

    alerts.delete_alert(session, access, alert_id)
    return Response(status_code=204)
