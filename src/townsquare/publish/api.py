"""Publish's REST API, under ``/api/v1/workspaces/{workspace}/…`` (see publish/service.py).

- ``GET|POST /posts`` (list with ``status``, ``from``, ``to``, ``channel_id``; compose),
  ``GET|PATCH /posts/{publish_post_id}`` (show with each channel's variant; edit),
  ``GET /posts/{publish_post_id}/history``;
- ``POST /posts/{publish_post_id}/submit|schedule`` (``{"kind": "at"|"queue"|"now",
  "at": …}``: submit for approval, schedule or reschedule), ``/approve``,
  ``/request-changes`` (a comment is required), ``/cancel``;
- ``POST /media`` (multipart: ``file``, ``alt_text``), ``GET|PATCH /media/{media_id}``;
- ``GET|PUT /channels/{channel_id}/queue-slots``, ``GET /channels/{channel_id}/recommended-slots``;
- ``GET|PATCH /publish-settings``.

Errors are the house's ``{"error": {...}}`` bodies: 422 for bad input (a post over its
network's limit names the count and the limit), 404 outside the workspace, 403 for a role
too low (or approving one's own post), 409 once a post is being published.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from townsquare.channels.service import get_channel
from townsquare.errors import ValidationError
from townsquare.publish import media, service, slots
from townsquare.publish.service import UNSET, When
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession

router = APIRouter(tags=["publish"])
PREFIX = "/workspaces/{workspace}"
POST = PREFIX + "/posts/{publish_post_id}"


# --- models --------------------------------------------------------------------------------


class PartIn(BaseModel):
    text: str = Field(default="", description="The part's text")
    media: list[DbId] = Field(default_factory=list, description="Ids of uploaded images")


class AdaptationIn(BaseModel):
    """What one channel's variant changes; a field left out follows the original."""

    text: str | None = None
    parts: list[PartIn] | None = None
    content_warning: str | None = Field(
        default=None, description="Only when `content_warning_set` is true (null clears it)"
    )
    content_warning_set: bool = Field(
        default=False, description="Whether this variant has its own content warning"
    )


class ScheduleIn(BaseModel):
    kind: Literal["at", "queue", "now"]
    at: str | None = Field(
        default=None,
        description="With kind=at: a wall time in each channel's zone, 2026-12-24T09:30, or "
        "an instant with its offset",
    )
    channel_ids: list[DbId] | None = Field(default=None, description="Only these channels")


class PostCreate(BaseModel):
    channel_ids: list[DbId] = Field(min_length=1, description="The channels to publish to")
    text: str | None = Field(default=None, description="The text of a single post")
    parts: list[PartIn] | None = Field(default=None, description="A thread, in order")
    content_warning: str | None = None
    language: str | None = Field(default=None, description="e.g. en, fr, pt-BR")
    link_url: str | None = None
    campaign: str | None = None
    adaptations: dict[str, AdaptationIn] = Field(
        default_factory=dict, description="Per channel id: what its variant changes"
    )
    schedule: ScheduleIn | None = Field(default=None, description="Absent: a draft")
    draft: bool = False


class PostEdit(BaseModel):
    """Only the fields sent change (null clears an optional one)."""

    text: str | None = None
    parts: list[PartIn] | None = None
    content_warning: str | None = None
    language: str | None = None
    link_url: str | None = None
    campaign: str | None = None
    adaptations: dict[str, AdaptationIn | None] | None = Field(
        default=None, description="Per channel id: its new adaptation, null to follow again"
    )


class CommentIn(BaseModel):
    comment: str | None = None


class CancelIn(BaseModel):
    channel_ids: list[DbId] | None = None


class VariantOut(BaseModel):
    id: int
    channel: str
    channel_id: int
    network: str
    status: str
    scheduled_at: datetime | None
    scheduled_local: str | None = Field(description="The wall time with its offset")
    from_queue: bool
    length: int = Field(description="As the network counts it (its longest part)")
    limit: int | None
    unit: str
    problems: list[str]
    adapted: bool
    parts: list[dict[str, Any]]
    content_warning: str | None
    link_url: str | None
    short_links: dict[str, str]
    external_id: str | None
    url: str | None
    published_at: datetime | None
    attempts: int
    error: str | None


class PostOut(BaseModel):
    id: int
    status: str
    author_id: int | None
    parts: list[dict[str, Any]]
    content_warning: str | None
    language: str | None
    link_url: str | None
    campaign: str | None
    shorten_links: bool
    schedule_kind: str | None
    needs_approval: bool
    approved_by: int | None
    approved_at: datetime | None
    created_at: datetime | None
    variants: list[VariantOut]


class EventOut(BaseModel):
    id: int
    action: str
    variant_id: int | None
    user_id: int | None
    comment: str | None
    detail: dict[str, Any] | None
    at: datetime


class MediaOut(BaseModel):
    id: int
    filename: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    alt_text: str | None
    sha256: str


class AltTextIn(BaseModel):
    alt_text: str | None = None


class SlotsIn(BaseModel):
    slots: list[str] = Field(description='Weekly slots, e.g. ["mon 09:00", "wed 17:30"]')


class SlotsOut(BaseModel):
    channel_id: int
    channel: str
    timezone: str
    slots: list[str]


class RecommendationOut(BaseModel):
    slot: str
    weekday: str
    time: str
    n: int
    median: float | None
    ci_low: float | None
    ci_high: float | None
    overall_median: float | None
    ci_above_overall: bool
    small_sample: bool
    evidence: str
    metric: str


class RecommendedOut(BaseModel):
    channel_id: int
    channel: str
    timezone: str
    recommended: list[RecommendationOut]


class SettingsOut(BaseModel):
    needs_approval: bool
    forbid_self_approval: bool
    viewers_can_approve: bool
    shorten_links: bool


class SettingsIn(BaseModel):
    needs_approval: bool | None = None
    forbid_self_approval: bool | None = None
    viewers_can_approve: bool | None = None
    shorten_links: bool | None = None


# --- helpers -------------------------------------------------------------------------------


def _parts(text: str | None, parts: list[PartIn] | None) -> Any:
    if parts is not None:
        return [part.model_dump() for part in parts]
    return text if text is not None else UNSET


def _channel_key(key: str) -> int:
    try:
        value = int(key)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationError(
            "adaptations are keyed by channel id, not %(value)r",
            params={"value": key},
            field="adaptations",
        )
    return value


def _adaptation(item: AdaptationIn) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if item.parts is not None:
        found["parts"] = [part.model_dump() for part in item.parts]
    elif item.text is not None:
        found["text"] = item.text
    if item.content_warning_set:
        found["content_warning"] = item.content_warning
    return found


def _when(body: ScheduleIn) -> When:
    return When.parse(body.kind, body.at)


def _out(session: DbSession, post: Any) -> PostOut:
    return PostOut(**service.post_json(session, post))


def _day(value: date | None, timezone: str, *, end: bool) -> datetime | None:
    if value is None:
        return None
    moment = datetime.combine(value + timedelta(days=1) if end else value, time.min)
    return moment.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _slots_out(channel: Any, found: list[slots.Slot]) -> SlotsOut:
    return SlotsOut(
        channel_id=channel.id,
        channel=channel.handle,
        timezone=channel.timezone,
        slots=[slot.label for slot in found],
    )


# --- posts ---------------------------------------------------------------------------------


@router.get(PREFIX + "/posts", response_model=list[PostOut], summary="The workspace's posts")
def api_posts(
    session: DbSession,
    access: ApiAccess,
    status: str | None = Query(default=None, description="A post or variant status"),
    date_from: date | None = Query(default=None, alias="from", description="First local day"),
    date_to: date | None = Query(default=None, alias="to", description="Last local day"),
    channel_id: DbId | None = None,
) -> list[PostOut]:
    zone = access.workspace.timezone
    if channel_id is not None:
        get_channel(session, access, channel_id)
    posts = service.list_posts(
        session,
        access,
        status=status,
        start=_day(date_from, zone, end=False),
        end=_day(date_to, zone, end=True),
        channel_id=channel_id,
    )
    return [_out(session, post) for post in posts]


@router.post(PREFIX + "/posts", response_model=PostOut, status_code=201, summary="Compose")
def api_create_post(
    body: PostCreate, session: DbSession, access: ApiAccess, settings: AppSettings
) -> PostOut:
    parts = _parts(body.text, body.parts)
    if parts is UNSET:
        raise ValidationError("give the post's text (or its parts)", field="text")
    post = service.create_post(
        session,
        access,
        settings,
        channel_ids=body.channel_ids,
        parts=parts,
        content_warning=body.content_warning,
        language=body.language,
        link_url=body.link_url,
        campaign=body.campaign,
        overrides={_channel_key(key): _adaptation(item) for key, item in body.adaptations.items()},
        when=_when(body.schedule) if body.schedule is not None else None,
        draft=body.draft,
    )
    return _out(session, post)


@router.get(POST, response_model=PostOut, summary="A post and each channel's variant")
def api_post(publish_post_id: DbId, session: DbSession, access: ApiAccess) -> PostOut:
    return _out(session, service.get_post(session, access, publish_post_id))


@router.patch(POST, response_model=PostOut, summary="Edit the original or an adaptation")
def api_edit_post(
    publish_post_id: DbId,
    body: PostEdit,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
) -> PostOut:
    sent = body.model_fields_set
    overrides = None
    if body.adaptations is not None:
        overrides = {
            _channel_key(key): (_adaptation(item) if item is not None else None)
            for key, item in body.adaptations.items()
        }
    post = service.edit_post(
        session,
        access,
        settings,
        publish_post_id,
        parts=_parts(body.text, body.parts) if sent & {"text", "parts"} else UNSET,
        content_warning=body.content_warning if "content_warning" in sent else UNSET,
        language=body.language if "language" in sent else UNSET,
        link_url=body.link_url if "link_url" in sent else UNSET,
        campaign=body.campaign if "campaign" in sent else UNSET,
        overrides=overrides,
    )
    return _out(session, post)


@router.get(POST + "/history", response_model=list[EventOut], summary="Who did what, when")
def api_post_history(
    publish_post_id: DbId, session: DbSession, access: ApiAccess
) -> list[EventOut]:
    return [
        EventOut(**service.event_json(event))
        for event in service.history(session, access, publish_post_id)
    ]


@router.post(POST + "/submit", response_model=PostOut, summary="Submit for approval")
def api_submit(
    publish_post_id: DbId,
    body: ScheduleIn,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
) -> PostOut:
    # Submitting is scheduling: the service sends it for approval when the workspace or the
    # author's role says so.
    return api_schedule(publish_post_id, body, session, access, settings)


@router.post(POST + "/schedule", response_model=PostOut, summary="Schedule or reschedule")
def api_schedule(
    publish_post_id: DbId,
    body: ScheduleIn,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
) -> PostOut:
    service.get_post(session, access, publish_post_id)  # another workspace's: 404 first
    post = service.schedule_post(
        session, access, settings, publish_post_id, _when(body), channel_ids=body.channel_ids
    )
    return _out(session, post)


@router.post(POST + "/approve", response_model=PostOut, summary="Approve a submitted post")
def api_approve(
    publish_post_id: DbId,
    body: CommentIn,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
) -> PostOut:
    post = service.approve(session, access, settings, publish_post_id, comment=body.comment)
    return _out(session, post)


@router.post(POST + "/request-changes", response_model=PostOut, summary="Request changes")
def api_request_changes(
    publish_post_id: DbId, body: CommentIn, session: DbSession, access: ApiAccess
) -> PostOut:
    post = service.request_changes(session, access, publish_post_id, comment=body.comment or "")
    return _out(session, post)


@router.post(POST + "/cancel", response_model=PostOut, summary="Cancel before it goes out")
def api_cancel(
    publish_post_id: DbId, body: CancelIn, session: DbSession, access: ApiAccess
) -> PostOut:
    post = service.cancel(session, access, publish_post_id, channel_ids=body.channel_ids)
    return _out(session, post)


# --- media ---------------------------------------------------------------------------------


@router.post(PREFIX + "/media", response_model=MediaOut, status_code=201, summary="Upload")
def api_upload_media(
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="A JPEG, PNG, GIF or WebP image")],
    alt_text: Annotated[str | None, Form(description="What the image shows")] = None,
    channel_ids: Annotated[
        list[int] | None, Form(description="Check against these channels' limits")
    ] = None,
) -> MediaOut:
    data = file.file.read(settings.max_upload_bytes + 1)
    channels = [get_channel(session, access, channel_id) for channel_id in channel_ids or []]
    item = media.upload(
        session,
        access,
        settings,
        data=data,
        filename=file.filename or "",
        alt_text=alt_text,
        channels=channels,
    )
    return MediaOut(**media.media_json(item))


@router.get(PREFIX + "/media/{media_id}", response_model=MediaOut, summary="An uploaded image")
def api_media(media_id: DbId, session: DbSession, access: ApiAccess) -> MediaOut:
    return MediaOut(**media.media_json(media.get_media(session, access, media_id)))


@router.patch(PREFIX + "/media/{media_id}", response_model=MediaOut, summary="Alt text")
def api_media_alt(
    media_id: DbId, body: AltTextIn, session: DbSession, access: ApiAccess
) -> MediaOut:
    item = media.set_alt_text(session, access, media_id, body.alt_text)
    return MediaOut(**media.media_json(item))


# --- queue slots ---------------------------------------------------------------------------


@router.get(
    PREFIX + "/channels/{channel_id}/queue-slots", response_model=SlotsOut, summary="Queue slots"
)
def api_queue_slots(channel_id: DbId, session: DbSession, access: ApiAccess) -> SlotsOut:
    channel = get_channel(session, access, channel_id)
    return _slots_out(channel, slots.list_slots(session, access, channel))


@router.put(
    PREFIX + "/channels/{channel_id}/queue-slots",
    response_model=SlotsOut,
    summary="Replace the queue slots",
)
def api_set_queue_slots(
    channel_id: DbId, body: SlotsIn, session: DbSession, access: ApiAccess
) -> SlotsOut:
    channel = get_channel(session, access, channel_id)
    found = slots.set_slots(session, access, channel, slots.parse_slots(body.slots))
    return _slots_out(channel, found)


@router.get(
    PREFIX + "/channels/{channel_id}/recommended-slots",
    response_model=RecommendedOut,
    summary="Best weekly times from Measure, with their evidence",
)
def api_recommended_slots(
    channel_id: DbId,
    session: DbSession,
    access: ApiAccess,
    metric: str = "interactions",
    min_posts: int | None = Query(default=None, ge=1, le=100_000),
) -> RecommendedOut:
    channel = get_channel(session, access, channel_id)
    found = slots.recommended_slots(session, access, channel, metric=metric, min_posts=min_posts)
    return RecommendedOut(
        channel_id=channel.id,
        channel=channel.handle,
        timezone=channel.timezone,
        recommended=[RecommendationOut(**item.as_json()) for item in found],
    )


# --- settings ------------------------------------------------------------------------------


def _settings_out(row: Any) -> SettingsOut:
    return SettingsOut(
        needs_approval=bool(row.needs_approval),
        forbid_self_approval=bool(row.forbid_self_approval),
        viewers_can_approve=bool(row.viewers_can_approve),
        shorten_links=bool(row.shorten_links),
    )


@router.get(PREFIX + "/publish-settings", response_model=SettingsOut, summary="Publish settings")
def api_publish_settings(session: DbSession, access: ApiAccess) -> SettingsOut:
    return _settings_out(service.get_settings(session, access))


@router.patch(
    PREFIX + "/publish-settings", response_model=SettingsOut, summary="Change publish settings"
)
def api_update_publish_settings(
    body: SettingsIn, session: DbSession, access: ApiAccess
) -> SettingsOut:
    row = service.update_settings(
        session,
        access,
        needs_approval=body.needs_approval,
        forbid_self_approval=body.forbid_self_approval,
        viewers_can_approve=body.viewers_can_approve,
        shorten_links=body.shorten_links,
    )
    return _settings_out(row)
