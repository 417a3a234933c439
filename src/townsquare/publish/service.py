"""Use cases of Publish: compose, adapt, validate, approve, schedule, queue, cancel, expire,
and the post's history. Every query is scoped by the caller's workspace; each public
function that changes something is one transaction (on any error nothing is written) and
writes a :class:`PublishEvent` for every transition (the outbox others read).

A variant's life, as this module moves it (the dispatcher takes it from ``scheduled``)::

    draft ──submit──▶ pending_approval ──approve──▶ scheduled ──(dispatcher)──▶ publishing …
      │                 │   ▲                         ▲
      │                 │   └──submit── changes_requested ◀──request changes──┘(pending)
      └──schedule (no approval needed)────────────────┘
    any of draft, pending_approval, changes_requested, scheduled ──cancel──▶ cancelled
    pending_approval, changes_requested past their time ──expire_unapproved──▶ expired

Approval (workspace publish settings): when "posts need approval" is on, every post is
submitted and goes out only once an editor, admin or owner (or a viewer, when allowed)
approves it, never its own author when self-approval is forbidden. Contributors always
submit, whatever the setting. A variant over its network's limit cannot be submitted or
scheduled (ValidationError with the count and the limit).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound, PermissionDenied, ValidationError
from townsquare.messages import Message
from townsquare.networks.base import with_link
from townsquare.publish import server_limits, shortening, slots, timing
from townsquare.publish.content import (
    effective_content_warning,
    effective_link_url,
    effective_parts,
)
from townsquare.publish.core_models import PublishSettings
from townsquare.publish.limits import MediaInfo, check_part
from townsquare.publish.models import (
    PartStatus,
    PublishEvent,
    PublishMedia,
    PublishPart,
    PublishPost,
    PublishVariant,
    VariantStatus,
)
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.models import Membership, User
from townsquare.workspaces.roles import Role

logger = logging.getLogger(__name__)

MAX_PARTS = 25
MAX_TEXT = 100_000
MAX_CW = 1000
MAX_CAMPAIGN = 200
MAX_COMMENT = 5000
MAX_CHANNELS = 50

S = VariantStatus
EDITABLE = (S.DRAFT, S.PENDING_APPROVAL, S.CHANGES_REQUESTED, S.SCHEDULED)
AWAITING = (S.PENDING_APPROVAL, S.CHANGES_REQUESTED)
# The post's status when its variants differ: the first of these that a variant has.
STATUS_PRECEDENCE = (
    S.FAILED,
    S.UNCERTAIN,
    S.PUBLISHING,
    S.SCHEDULED,
    S.PENDING_APPROVAL,
    S.CHANGES_REQUESTED,
    S.DRAFT,
    S.EXPIRED,
    S.PUBLISHED,
    S.CANCELLED,
)


P = ParamSpec("P")
R = TypeVar("R")


def transaction(function: Callable[P, R]) -> Callable[P, R]:
    """One transaction per use case: any error rolls the session back, so nothing half
    written survives (the session is the first argument)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = args[0]
        assert isinstance(session, Session)
        try:
            return function(*args, **kwargs)
        except BaseException:
            session.rollback()
            raise

    return wrapper


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""An argument of :func:`edit_post` that was not given (None means "clear it")."""


@dataclass(frozen=True)
class When:
    """When a post should go out: ``at`` a wall time (in each channel's zone, or an instant
    when it carries an offset), the next free ``queue`` slot, or ``now``."""

    kind: str  # "at" | "queue" | "now"
    at: str | datetime | None = None

    @classmethod
    def parse(cls, kind: str, at: str | datetime | None = None) -> When:
        if kind not in ("at", "queue", "now"):
            raise ValidationError(
                "unknown schedule %(kind)r: choose at (with a time), queue or now",
                params={"kind": kind},
                field="schedule",
            )
        if kind == "at" and (at is None or (isinstance(at, str) and not at.strip())):
            raise ValidationError(
                "a time is needed to schedule at: e.g. 2026-12-24T09:30", field="at"
            )
        return cls(kind, at if kind == "at" else None)


QUEUE = When("queue")
NOW = When("now")


@dataclass
class VariantCheck:
    """How a variant counts on its network: the longest part's ``length`` and the
    ``limit``, and every problem (over the limit, too many attachments…)."""

    channel: Channel
    length: int
    limit: int | None
    unit: str
    problems: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- settings ------------------------------------------------------------------------------


def settings_of(session: Session, workspace_id: int) -> PublishSettings:
    """The workspace's publish settings (the defaults, unsaved, when never changed)."""
    row = session.get(PublishSettings, workspace_id)
    if row is None:
        return PublishSettings(
            workspace_id=workspace_id,
            needs_approval=False,
            forbid_self_approval=True,
            viewers_can_approve=False,
            shorten_links=False,
        )
    return row


def get_settings(session: Session, access: WorkspaceAccess) -> PublishSettings:
    return settings_of(session, access.workspace_id)


@transaction
def update_settings(
    session: Session,
    access: WorkspaceAccess,
    *,
    needs_approval: bool | None = None,
    forbid_self_approval: bool | None = None,
    viewers_can_approve: bool | None = None,
    shorten_links: bool | None = None,
) -> PublishSettings:
    """Change the workspace's publish settings (admin or owner); None leaves one as it is."""
    access.require(Role.ADMIN, "change the publish settings")
    row = session.get(PublishSettings, access.workspace_id)
    if row is None:
        row = settings_of(session, access.workspace_id)
        session.add(row)
    changes: dict[str, bool] = {}
    for name, value in (
        ("needs_approval", needs_approval),
        ("forbid_self_approval", forbid_self_approval),
        ("viewers_can_approve", viewers_can_approve),
        ("shorten_links", shorten_links),
    ):
        if value is not None:
            setattr(row, name, bool(value))
            changes[name] = bool(value)
    row.updated_at = utcnow()
    audit.record(
        session,
        "publish.settings_changed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        details=changes,
    )
    session.commit()
    return row


def can_approve(publish_settings: PublishSettings, access: WorkspaceAccess) -> bool:
    """Whether the caller's role may approve or request changes (whoever wrote the post)."""
    if access.role.at_least(Role.EDITOR):
        return True
    return bool(publish_settings.viewers_can_approve) and access.role is Role.VIEWER


def _require_approver(
    publish_settings: PublishSettings, access: WorkspaceAccess, post: PublishPost, action: str
) -> None:
    if not can_approve(publish_settings, access):
        access.require(Role.EDITOR, action)
    if (
        publish_settings.forbid_self_approval
        and access.user_id is not None
        and post.author_id == access.user_id
    ):
        raise PermissionDenied(
            "you wrote post %(post_id)s: another member must approve it (the workspace "
            "forbids approving one's own posts)",
            params={"post_id": post.id},
            field="post",
        )


def _approval_needed(publish_settings: PublishSettings, access: WorkspaceAccess) -> bool:
    return bool(publish_settings.needs_approval) or not access.role.at_least(Role.EDITOR)


# --- reading -------------------------------------------------------------------------------


def get_post(session: Session, access: WorkspaceAccess, post_id: int) -> PublishPost:
    post = session.scalar(
        select(PublishPost).where(
            PublishPost.id == post_id, PublishPost.workspace_id == access.workspace_id
        )
    )
    if post is None:
        raise NotFound(
            "no post %(post_id)s in workspace '%(slug)s': list them with `townsquare post list "
            "--workspace %(slug)s`",
            params={"post_id": post_id, "slug": access.workspace.slug},
            field="post",
        )
    return post


def variants_of(session: Session, post: PublishPost) -> list[tuple[PublishVariant, Channel]]:
    """The post's variants with their channels, in a stable order (network, handle)."""
    rows = session.execute(
        select(PublishVariant, Channel)
        .join(Channel, Channel.id == PublishVariant.channel_id)
        .where(PublishVariant.post_id == post.id)
        .order_by(Channel.network, Channel.handle, PublishVariant.id)
    )
    return [(variant, channel) for variant, channel in rows]


def list_posts(
    session: Session,
    access: WorkspaceAccess,
    *,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    channel_id: int | None = None,
    limit: int = 500,
) -> list[PublishPost]:
    """Posts of the workspace, newest first. ``status`` is a post or variant status;
    ``start``/``end`` bound when a variant goes (or went) out, else when it was created."""
    query = select(PublishPost).where(PublishPost.workspace_id == access.workspace_id)
    if status:
        wanted = _status(status)
        query = query.where(
            (PublishPost.status == wanted)
            | PublishPost.id.in_(
                select(PublishVariant.post_id).where(
                    PublishVariant.workspace_id == access.workspace_id,
                    PublishVariant.status == wanted,
                )
            )
        )
    if start is not None or end is not None or channel_id is not None:
        moment = func.coalesce(PublishVariant.published_at, PublishVariant.scheduled_at)
        variants = select(PublishVariant.post_id).where(
            PublishVariant.workspace_id == access.workspace_id
        )
        if channel_id is not None:
            variants = variants.where(PublishVariant.channel_id == channel_id)
        if start is not None:
            variants = variants.where(moment >= start)
        if end is not None:
            variants = variants.where(moment < end)
        query = query.where(PublishPost.id.in_(variants))
    query = query.order_by(PublishPost.created_at.desc(), PublishPost.id.desc())
    return list(session.scalars(query.limit(max(1, min(limit, 5000)))))


def history(session: Session, access: WorkspaceAccess, post_id: int) -> list[PublishEvent]:
    """Every change of the post in the order it happened (who, when, what)."""
    post = get_post(session, access, post_id)
    return list(
        session.scalars(
            select(PublishEvent).where(PublishEvent.post_id == post.id).order_by(PublishEvent.id)
        )
    )


def _status(value: str) -> str:
    try:
        return VariantStatus(value.strip().lower()).value
    except ValueError:
        raise ValidationError(
            "unknown status %(value)r: choose one of %(choices)s",
            params={"value": value, "choices": [status.value for status in VariantStatus]},
            field="status",
        ) from None


# --- input cleaning ------------------------------------------------------------------------


def clean_parts(
    session: Session, access: WorkspaceAccess, parts: str | Sequence[Any], *, field: str = "text"
) -> list[dict[str, Any]]:
    """The thread as stored: ``[{"text": str, "media": [id, …]}, …]``; a part is a string
    or a mapping with ``text`` and ``media``. Media must be this workspace's uploads."""
    items: Sequence[Any] = [parts] if isinstance(parts, str) else parts
    cleaned: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            text, media = item, []
        elif isinstance(item, Mapping):
            text, media = str(item.get("text") or ""), list(item.get("media") or [])
        else:
            raise ValidationError("a part of the thread is a text or {text, media}", field=field)
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_TEXT:
            raise ValidationError(
                "a part is too long to store: at most %(max)s characters",
                params={"max": MAX_TEXT},
                field=field,
            )
        ids = [_media_id(value, field) for value in media]
        if not text and not ids:
            continue
        cleaned.append({"text": text, "media": ids})
    if not cleaned:
        raise ValidationError("the post is empty: write its text (or attach an image)", field=field)
    if len(cleaned) > MAX_PARTS:
        raise ValidationError(
            "a thread has at most %(max)s parts, not %(count)s",
            params={"max": MAX_PARTS, "count": len(cleaned)},
            field=field,
        )
    wanted = {media_id for part in cleaned for media_id in part["media"]}
    if wanted:
        found = set(
            session.scalars(
                select(PublishMedia.id).where(
                    PublishMedia.id.in_(wanted), PublishMedia.workspace_id == access.workspace_id
                )
            )
        )
        missing = sorted(wanted - found)
        if missing:
            raise NotFound(
                "no uploaded image %(media_id)s in this workspace: upload it first",
                params={"media_id": missing[0]},
                field="media",
            )
    return cleaned


def _media_id(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            "media ids are numbers, not %(value)r", params={"value": value}, field=field
        ) from None


def _clean_text(value: str | None, *, field: str, max_length: int) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            "%(field)s is too long: at most %(max)s characters",
            params={"field": field, "max": max_length},
            field=field,
        )
    return text or None


def _clean_language(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 16 or not all(ch.isalnum() or ch == "-" for ch in text):
        raise ValidationError(
            "invalid language %(value)r: use a code such as en, fr or pt-BR",
            params={"value": value},
            field="language",
        )
    return text


def _clean_link(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.lower().startswith(("http://", "https://")) or len(text) > 2000 or " " in text:
        raise ValidationError(
            "invalid link %(value)r: give an http or https URL of at most 2000 characters",
            params={"value": value[:100] if value else value},
            field="link_url",
        )
    return text


def _channels(
    session: Session, access: WorkspaceAccess, channel_ids: Iterable[int]
) -> list[Channel]:
    ids = list(dict.fromkeys(int(value) for value in channel_ids))
    if not ids:
        raise ValidationError("choose at least one channel to publish to", field="channel")
    if len(ids) > MAX_CHANNELS:
        raise ValidationError(
            "at most %(max)s channels per post", params={"max": MAX_CHANNELS}, field="channel"
        )
    found = {
        channel.id: channel
        for channel in session.scalars(
            select(Channel).where(Channel.id.in_(ids), Channel.workspace_id == access.workspace_id)
        )
    }
    for channel_id in ids:
        if channel_id not in found:
            raise NotFound(
                "no channel with id %(channel_id)s in this workspace",
                params={"channel_id": channel_id},
                field="channel",
            )
    return [found[channel_id] for channel_id in ids]


def _clean_override(
    session: Session, access: WorkspaceAccess, override: Mapping[str, Any]
) -> dict[str, Any]:
    """A variant's overrides: ``parts`` (or ``text``) and/or ``content_warning``."""
    cleaned: dict[str, Any] = {}
    if override.get("parts") is not None:
        cleaned["parts"] = clean_parts(session, access, override["parts"], field="text_for")
    elif override.get("text") is not None:
        cleaned["parts"] = clean_parts(session, access, str(override["text"]), field="text_for")
    if "content_warning" in override:
        cleaned["content_warning"] = _clean_text(
            override["content_warning"], field="content_warning", max_length=MAX_CW
        )
    return cleaned


# --- validation ----------------------------------------------------------------------------


def check_variant(
    session: Session, post: PublishPost, variant: PublishVariant, channel: Channel
) -> VariantCheck:
    """How the variant counts on its channel's network (cached server limits)."""
    limits = server_limits.limits_of(session, channel)
    parts = effective_parts(post, variant)
    warning = effective_content_warning(post, variant)
    link = effective_link_url(post, variant)
    media_ids = {media_id for part in parts for media_id in part["media"]}
    media = {
        row.id: MediaInfo(row.mime_type, row.size, row.alt_text)
        for row in (
            session.scalars(select(PublishMedia).where(PublishMedia.id.in_(media_ids)))
            if media_ids
            else []
        )
    }
    longest, problems = 0, []
    for index, part in enumerate(parts):
        text = with_link(part["text"], link) if index == 0 else part["text"]
        checked = check_part(
            limits,
            text,
            content_warning=warning,
            media=[media[media_id] for media_id in part["media"] if media_id in media],
        )
        longest = max(longest, checked.length)
        for message in checked.problems:
            problems.append(
                Message(
                    "%(channel)s, part %(part)s: %(problem)s"
                    if len(parts) > 1
                    else "%(channel)s: %(problem)s",
                    channel=channel.handle,
                    part=index + 1,
                    problem=message,
                )
            )
    return VariantCheck(channel, longest, limits.max_characters, limits.unit, problems)


def _require_valid(checks: Sequence[VariantCheck]) -> None:
    """ValidationError naming the first variant that does not fit (with its count and its
    limit), every problem of every variant in ``problems``."""
    problems: list[dict[str, object]] = [
        {"field": "text", "message": message} for check in checks for message in check.problems
    ]
    if not problems:
        return
    first = next(check for check in checks if check.problems)
    if first.limit is not None and first.length > first.limit:
        raise ValidationError(
            "the post does not fit %(channel)s: %(length)s %(unit)s for a limit of "
            "%(limit)s; shorten it by %(over)s (a variant over its limit cannot be scheduled)",
            params={
                "channel": first.channel.handle,
                "length": first.length,
                "unit": Message(first.unit),
                "limit": first.limit,
                "over": first.length - first.limit,
            },
            field="text",
            problems=problems,
        )
    raise ValidationError(
        "the post does not fit %(channel)s: %(problem)s",
        params={"channel": first.channel.handle, "problem": first.problems[0]},
        field="text",
        problems=problems,
    )


# --- history and status --------------------------------------------------------------------


def record(
    session: Session,
    post: PublishPost,
    action: str,
    *,
    user_id: int | None,
    variant: PublishVariant | None = None,
    comment: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> PublishEvent:
    """Add one history row (the caller commits it with the change it describes)."""
    event = PublishEvent(
        post_id=post.id,
        variant_id=variant.id if variant is not None else None,
        user_id=user_id,
        action=action,
        comment=comment,
        detail=detail,
        at=at or utcnow(),
    )
    session.add(event)
    return event


def post_status(statuses: Iterable[str]) -> str:
    """The post's status from its variants' (pure): their common status, else the first
    of :data:`STATUS_PRECEDENCE` among them, cancelled variants aside."""
    values = list(statuses)
    if not values:
        return S.DRAFT.value
    live = [value for value in values if value != S.CANCELLED.value] or values
    if len(set(live)) == 1:
        return live[0]
    for status in STATUS_PRECEDENCE:
        if status.value in live:
            return status.value
    return live[0]


def refresh_post_status(session: Session, post: PublishPost) -> str:
    """Set ``post.status`` from its variants (no commit); returns it."""
    session.flush()
    statuses = session.scalars(
        select(PublishVariant.status).where(PublishVariant.post_id == post.id)
    )
    post.status = post_status(statuses)
    return post.status


# --- composing -----------------------------------------------------------------------------


@transaction
def create_post(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    channel_ids: Sequence[int],
    parts: str | Sequence[Any],
    content_warning: str | None = None,
    language: str | None = None,
    link_url: str | None = None,
    campaign: str | None = None,
    overrides: Mapping[int, Mapping[str, Any]] | None = None,
    when: When | None = None,
    draft: bool = False,
    now: datetime | None = None,
) -> PublishPost:
    """Compose a post for one or more channels (contributor or higher).

    ``overrides`` maps a channel id to what its variant changes (``text`` or ``parts``,
    ``content_warning``). Without ``when`` (or with ``draft``) the variants stay drafts;
    otherwise the post is submitted for approval or scheduled (see the module's docstring).
    """
    access.require(Role.CONTRIBUTOR, "compose posts")
    channels = _channels(session, access, channel_ids)
    clean = clean_parts(session, access, parts)
    extra = {int(key): value for key, value in (overrides or {}).items()}
    unknown = sorted(set(extra) - {channel.id for channel in channels})
    if unknown:
        raise ValidationError(
            "an adaptation is given for channel %(channel_id)s, which the post is not for",
            params={"channel_id": unknown[0]},
            field="text_for",
        )
    publish_settings = settings_of(session, access.workspace_id)
    post = PublishPost(
        workspace_id=access.workspace_id,
        author_id=access.user_id,
        parts=clean,
        content_warning=_clean_text(content_warning, field="content_warning", max_length=MAX_CW),
        language=_clean_language(language),
        link_url=_clean_link(link_url),
        campaign=_clean_text(campaign, field="campaign", max_length=MAX_CAMPAIGN),
        shorten_links=bool(publish_settings.shorten_links),
        needs_approval=False,
        status=S.DRAFT.value,
    )
    session.add(post)
    session.flush()
    for channel in channels:
        variant = PublishVariant(
            post_id=post.id,
            workspace_id=access.workspace_id,
            channel_id=channel.id,
            overrides=_clean_override(session, access, extra.get(channel.id) or {}),
            status=S.DRAFT.value,
        )
        session.add(variant)
        server_limits.refresh(session, settings, channel)
    session.flush()
    record(
        session,
        post,
        "created",
        user_id=access.user_id,
        detail={"channels": [channel.handle for channel in channels]},
        at=now,
    )
    variants = variants_of(session, post)
    if when is not None and not draft:
        _advance(session, access, settings, post, variants, when, now=now or utcnow())
    else:
        post.schedule_kind = when.kind if when is not None else None
    refresh_post_status(session, post)
    audit.record(
        session,
        "publish.post_created",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(post.id),
    )
    session.commit()
    return post


def _times(
    session: Session,
    variants: Sequence[tuple[PublishVariant, Channel]],
    when: When,
    now: datetime,
) -> dict[int, tuple[datetime | None, str | None, bool]]:
    """When each variant goes: (UTC instant, local wall time as written, from the queue)."""
    times: dict[int, tuple[datetime | None, str | None, bool]] = {}
    for variant, channel in variants:
        if when.kind == "now":
            times[variant.id] = (now, None, False)
        elif when.kind == "queue":
            instant = slots.next_free_slot(session, channel, after=now, exclude_variant=variant.id)
            times[variant.id] = (instant, timing.local_label(instant, channel.timezone), True)
        else:
            assert when.at is not None
            resolved = timing.resolve(when.at, channel.timezone)
            if resolved.at <= now:
                raise ValidationError(
                    "%(local)s is in the past for channel %(handle)s: choose a later time, or "
                    "publish now",
                    params={"local": resolved.local, "handle": channel.handle},
                    field="at",
                )
            times[variant.id] = (resolved.at, resolved.local, False)
    return times


def _advance(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post: PublishPost,
    variants: Sequence[tuple[PublishVariant, Channel]],
    when: When,
    *,
    now: datetime,
) -> None:
    """Submit ``variants`` for approval or schedule them, at ``when``."""
    _require_valid([check_variant(session, post, v, c) for v, c in variants])
    publish_settings = settings_of(session, access.workspace_id)
    times = _times(session, variants, when, now)
    post.schedule_kind = when.kind
    needs = _approval_needed(publish_settings, access)
    if needs and not _self_approves(publish_settings, access, post):
        post.needs_approval = True
        post.approved_by = None
        post.approved_at = None
        for variant, _channel in variants:
            _delete_pending_parts(session, variant)
            instant, local, queued = times[variant.id]
            # "now" waits for the approval to set its time: it cannot expire meanwhile.
            variant.scheduled_at = None if when.kind == "now" else instant
            variant.scheduled_local = local
            variant.from_queue = queued
            variant.status = S.PENDING_APPROVAL.value
        record(
            session,
            post,
            "submitted",
            user_id=access.user_id,
            detail={"schedule": when.kind, "channels": [c.handle for _v, c in variants]},
            at=now,
        )
        return
    if needs:
        # An approver composing with approval on, allowed to approve their own post.
        post.needs_approval = True
        post.approved_by = access.user_id
        post.approved_at = now
        record(session, post, "approved", user_id=access.user_id, at=now)
    for variant, channel in variants:
        instant, local, queued = times[variant.id]
        _schedule_variant(
            session, access, settings, post, variant, channel, instant, local, queued, now=now
        )


def _self_approves(
    publish_settings: PublishSettings, access: WorkspaceAccess, post: PublishPost
) -> bool:
    """Whether the caller's own submission counts as approved (an approver, allowed to
    approve their own posts, or the operator's command line)."""
    if not publish_settings.needs_approval:
        return access.role.at_least(Role.EDITOR)
    if access.user_id is None:
        return True
    return can_approve(publish_settings, access) and not publish_settings.forbid_self_approval


def _schedule_variant(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post: PublishPost,
    variant: PublishVariant,
    channel: Channel,
    instant: datetime | None,
    local: str | None,
    queued: bool,
    *,
    now: datetime,
) -> None:
    """Move one variant to ``scheduled`` at ``instant`` (shortening its links first when
    the post asks for it, then checking it again)."""
    previous = variant.status
    _delete_pending_parts(session, variant)
    if post.shorten_links:
        shortening.shorten_variant(session, access, settings, post, variant, channel)
        session.flush()
        _require_valid([check_variant(session, post, variant, channel)])
    action = "rescheduled" if previous == S.SCHEDULED.value else "scheduled"
    variant.scheduled_at = instant or now
    variant.scheduled_local = local
    variant.from_queue = queued
    variant.status = S.SCHEDULED.value
    variant.error = None
    variant.error_params = None
    record(
        session,
        post,
        action,
        user_id=access.user_id,
        variant=variant,
        detail={
            "channel": channel.handle,
            "scheduled_at": variant.scheduled_at.astimezone(UTC).isoformat(),
            "local": local,
            "queue": queued,
        },
        at=now,
    )


def _delete_pending_parts(session: Session, variant: PublishVariant) -> None:
    """Forget the variant's parts before it changes (only while none left ``pending``):
    Conflict once one is being or has been sent."""
    statuses = list(
        session.scalars(select(PublishPart.status).where(PublishPart.variant_id == variant.id))
    )
    if any(status != PartStatus.PENDING.value for status in statuses) or variant.status in (
        S.PUBLISHING.value,
        S.PUBLISHED.value,
        S.UNCERTAIN.value,
        S.FAILED.value,
    ):
        raise Conflict(
            "the post for channel %(channel_id)s is already being published (or was): it can no "
            "longer be changed",
            params={"channel_id": variant.channel_id},
            field="post",
        )
    if statuses:
        session.execute(delete(PublishPart).where(PublishPart.variant_id == variant.id))


def _selected(
    session: Session, post: PublishPost, channel_ids: Iterable[int] | None
) -> list[tuple[PublishVariant, Channel]]:
    variants = variants_of(session, post)
    if channel_ids is None:
        return variants
    wanted = {int(value) for value in channel_ids}
    chosen = [(variant, channel) for variant, channel in variants if channel.id in wanted]
    missing = wanted - {channel.id for _variant, channel in chosen}
    if missing:
        raise NotFound(
            "post %(post_id)s is not for channel %(channel_id)s",
            params={"post_id": post.id, "channel_id": sorted(missing)[0]},
            field="channel",
        )
    return chosen


def _require_author_or_editor(access: WorkspaceAccess, post: PublishPost, action: str) -> None:
    access.require(Role.CONTRIBUTOR, action)
    if not access.role.at_least(Role.EDITOR) and post.author_id != access.user_id:
        access.require(Role.EDITOR, action)


@transaction
def schedule_post(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post_id: int,
    when: When,
    *,
    channel_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> PublishPost:
    """Submit or schedule a draft, resubmit a post whose changes were requested, or
    reschedule a scheduled one (its author, or an editor). Published, failed and
    cancelled variants are left as they are."""
    post = get_post(session, access, post_id)
    _require_author_or_editor(access, post, "schedule posts")
    moment = now or utcnow()
    chosen = [
        (variant, channel)
        for variant, channel in _selected(session, post, channel_ids)
        if variant.status in (S.DRAFT, S.CHANGES_REQUESTED, S.PENDING_APPROVAL, S.SCHEDULED)
    ]
    if not chosen:
        raise Conflict(
            "post %(post_id)s has nothing left to schedule (its status is %(status)s)",
            params={"post_id": post.id, "status": Message(post.status)},
            field="post",
        )
    approved = [(v, c) for v, c in chosen if v.status == S.SCHEDULED.value]
    others = [(v, c) for v, c in chosen if v.status != S.SCHEDULED.value]
    if approved:
        # Already approved (or approval-free): only its time changes.
        _require_valid([check_variant(session, post, v, c) for v, c in approved])
        times = _times(session, approved, when, moment)
        for variant, channel in approved:
            instant, local, queued = times[variant.id]
            _schedule_variant(
                session,
                access,
                settings,
                post,
                variant,
                channel,
                instant,
                local,
                queued,
                now=moment,
            )
        post.schedule_kind = when.kind
    if others:
        _advance(session, access, settings, post, others, when, now=moment)
    refresh_post_status(session, post)
    session.commit()
    return post


def publish_now(
    session: Session, access: WorkspaceAccess, settings: Settings, post_id: int
) -> PublishPost:
    """Send the post as soon as a dispatcher is free (still through approval if needed)."""
    return schedule_post(session, access, settings, post_id, NOW)


@transaction
def approve(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post_id: int,
    *,
    comment: str | None = None,
    now: datetime | None = None,
) -> PublishPost:
    """Approve a submitted post: its variants are scheduled (those whose time already
    passed are expired instead: a post not approved by its time does not go out)."""
    post = get_post(session, access, post_id)
    publish_settings = settings_of(session, access.workspace_id)
    _require_approver(publish_settings, access, post, "approve posts")
    moment = now or utcnow()
    waiting = [
        (variant, channel)
        for variant, channel in variants_of(session, post)
        if variant.status == S.PENDING_APPROVAL.value
    ]
    if not waiting:
        raise Conflict(
            "post %(post_id)s is not waiting for approval (its status is %(status)s)",
            params={"post_id": post.id, "status": Message(post.status)},
            field="post",
        )
    note = _clean_text(comment, field="comment", max_length=MAX_COMMENT)
    post.approved_by = access.user_id
    post.approved_at = moment
    record(session, post, "approved", user_id=access.user_id, comment=note, at=moment)
    for variant, channel in waiting:
        if variant.scheduled_at is not None and variant.scheduled_at <= moment:
            variant.status = S.EXPIRED.value
            record(
                session,
                post,
                "expired",
                user_id=access.user_id,
                variant=variant,
                detail={"channel": channel.handle, "reason": "approved after its time"},
                at=moment,
            )
            continue
        _schedule_variant(
            session,
            access,
            settings,
            post,
            variant,
            channel,
            variant.scheduled_at,
            variant.scheduled_local,
            variant.from_queue,
            now=moment,
        )
    refresh_post_status(session, post)
    audit.record(
        session,
        "publish.post_approved",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(post.id),
    )
    session.commit()
    return post


@transaction
def request_changes(
    session: Session,
    access: WorkspaceAccess,
    post_id: int,
    *,
    comment: str,
    now: datetime | None = None,
) -> PublishPost:
    """Send a submitted post back to its author with a comment saying what to change."""
    post = get_post(session, access, post_id)
    publish_settings = settings_of(session, access.workspace_id)
    if not can_approve(publish_settings, access):
        access.require(Role.EDITOR, "request changes to posts")
    note = _clean_text(comment, field="comment", max_length=MAX_COMMENT)
    if not note:
        raise ValidationError(
            "say what should change: a comment is required to request changes", field="comment"
        )
    waiting = [
        variant
        for variant, _channel in variants_of(session, post)
        if variant.status == S.PENDING_APPROVAL.value
    ]
    if not waiting:
        raise Conflict(
            "post %(post_id)s is not waiting for approval (its status is %(status)s)",
            params={"post_id": post.id, "status": Message(post.status)},
            field="post",
        )
    for variant in waiting:
        variant.status = S.CHANGES_REQUESTED.value
    record(session, post, "changes_requested", user_id=access.user_id, comment=note, at=now)
    refresh_post_status(session, post)
    session.commit()
    return post


@transaction
def cancel(
    session: Session,
    access: WorkspaceAccess,
    post_id: int,
    *,
    channel_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> PublishPost:
    """Cancel the post (or some of its channels) before it goes out (its author, or an
    editor). Conflict for a variant already being published."""
    post = get_post(session, access, post_id)
    _require_author_or_editor(access, post, "cancel posts")
    chosen = [
        (variant, channel)
        for variant, channel in _selected(session, post, channel_ids)
        if variant.status not in (S.CANCELLED, S.PUBLISHED, S.EXPIRED)
    ]
    if not chosen:
        raise Conflict(
            "post %(post_id)s has nothing left to cancel (its status is %(status)s)",
            params={"post_id": post.id, "status": Message(post.status)},
            field="post",
        )
    for variant, _channel in chosen:
        if variant.status != S.FAILED.value:
            _delete_pending_parts(session, variant)  # Conflict before anything changes
    for variant, channel in chosen:
        if variant.status == S.FAILED.value:
            variant.status = S.CANCELLED.value  # nothing was sent: giving up on it is safe
        else:
            updated = session.execute(
                update(PublishVariant)
                .where(
                    PublishVariant.id == variant.id,
                    PublishVariant.status.in_([status.value for status in EDITABLE]),
                )
                .values(status=S.CANCELLED.value)
                .execution_options(synchronize_session=False)
            )
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                raise Conflict(
                    "the post for %(channel)s is already being published: it can no longer be "
                    "cancelled",
                    params={"channel": channel.handle},
                    field="post",
                )
            session.refresh(variant)
        record(
            session,
            post,
            "cancelled",
            user_id=access.user_id,
            variant=variant,
            detail={"channel": channel.handle},
            at=now,
        )
    refresh_post_status(session, post)
    session.commit()
    return post


@transaction
def edit_post(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post_id: int,
    *,
    parts: Any = UNSET,
    content_warning: Any = UNSET,
    language: Any = UNSET,
    link_url: Any = UNSET,
    campaign: Any = UNSET,
    overrides: Mapping[int, Mapping[str, Any] | None] | None = None,
    now: datetime | None = None,
) -> PublishPost:
    """Change the original (unchanged variants follow it) or a channel's adaptation
    (``overrides[channel_id]``: its new overrides, None to follow the original again).

    Allowed while no variant is being published; a submitted or scheduled post is checked
    against its limits again. When the workspace needs approval, an approved post edited
    by someone who may not approve it goes back to ``pending_approval``.
    """
    post = get_post(session, access, post_id)
    _require_author_or_editor(access, post, "edit posts")
    moment = now or utcnow()
    variants = variants_of(session, post)
    live = [(v, c) for v, c in variants if v.status in EDITABLE]
    if not live:
        raise Conflict(
            "post %(post_id)s can no longer be edited (its status is %(status)s)",
            params={"post_id": post.id, "status": Message(post.status)},
            field="post",
        )
    for variant, _channel in live:
        if variant.status == S.SCHEDULED.value:
            _delete_pending_parts(session, variant)
    changed: list[str] = []
    if parts is not UNSET:
        post.parts = clean_parts(session, access, parts)
        changed.append("text")
    if content_warning is not UNSET:
        post.content_warning = _clean_text(
            content_warning, field="content_warning", max_length=MAX_CW
        )
        changed.append("content_warning")
    if language is not UNSET:
        post.language = _clean_language(language)
        changed.append("language")
    if link_url is not UNSET:
        post.link_url = _clean_link(link_url)
        changed.append("link_url")
    if campaign is not UNSET:
        post.campaign = _clean_text(campaign, field="campaign", max_length=MAX_CAMPAIGN)
        changed.append("campaign")
    by_channel = {channel.id: variant for variant, channel in live}
    for channel_id, override in (overrides or {}).items():
        target = by_channel.get(int(channel_id))
        if target is None:
            raise NotFound(
                "post %(post_id)s has no editable variant for channel %(channel_id)s",
                params={"post_id": post.id, "channel_id": channel_id},
                field="channel",
            )
        kept = {
            key: value
            for key, value in (target.overrides or {}).items()
            if key not in ("parts", "content_warning", "short_links")
        }
        target.overrides = {**kept, **_clean_override(session, access, override or {})}
        changed.append(f"variant:{channel_id}")
    if not changed:
        raise ValidationError("nothing to change: give a new text, warning, link…", field="post")
    session.flush()
    waiting = [(v, c) for v, c in live if v.status != S.DRAFT.value]
    _require_valid([check_variant(session, post, v, c) for v, c in waiting])
    record(session, post, "edited", user_id=access.user_id, detail={"changed": changed}, at=moment)
    publish_settings = settings_of(session, access.workspace_id)
    scheduled = [(v, c) for v, c in live if v.status == S.SCHEDULED.value]
    if (
        scheduled
        and post.needs_approval
        and publish_settings.needs_approval
        and not _may_keep_approval(publish_settings, access, post)
    ):
        for variant, _channel in scheduled:
            variant.status = S.PENDING_APPROVAL.value
        post.approved_by = None
        post.approved_at = None
        record(session, post, "submitted", user_id=access.user_id, at=moment)
        scheduled = []
    for variant, channel in scheduled:
        if post.shorten_links:
            shortening.shorten_variant(session, access, settings, post, variant, channel)
            session.flush()
            _require_valid([check_variant(session, post, variant, channel)])
    refresh_post_status(session, post)
    session.commit()
    return post


def _may_keep_approval(
    publish_settings: PublishSettings, access: WorkspaceAccess, post: PublishPost
) -> bool:
    if access.user_id is None:
        return True
    if not can_approve(publish_settings, access):
        return False
    return not (publish_settings.forbid_self_approval and post.author_id == access.user_id)


# --- expiry --------------------------------------------------------------------------------


@transaction
def expire_unapproved(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Expire every variant still waiting for approval (or for changes) whose time has
    passed, in every workspace; tell the post's author and approvers by e-mail when SMTP is
    configured. Returns how many variants expired. Safe to run from several workers at
    once (each variant moves by a conditional update)."""
    moment = now or utcnow()
    candidates = list(
        session.execute(
            select(PublishVariant.id, PublishVariant.post_id).where(
                PublishVariant.status.in_([status.value for status in AWAITING]),
                PublishVariant.scheduled_at.is_not(None),
                PublishVariant.scheduled_at <= moment,
            )
        )
    )
    expired: dict[int, list[int]] = {}
    for variant_id, post_id in candidates:
        result = session.execute(
            update(PublishVariant)
            .where(
                PublishVariant.id == variant_id,
                PublishVariant.status.in_([status.value for status in AWAITING]),
            )
            .values(status=S.EXPIRED.value)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            expired.setdefault(post_id, []).append(variant_id)
    for post_id, variant_ids in expired.items():
        post = session.get(PublishPost, post_id)
        if post is None:
            continue
        session.refresh(post)
        for variant_id in variant_ids:
            session.add(
                PublishEvent(
                    post_id=post_id,
                    variant_id=variant_id,
                    user_id=None,
                    action="expired",
                    detail={"reason": "not approved by its time"},
                    at=moment,
                )
            )
        refresh_post_status(session, post)
    session.commit()
    if expired:
        _tell_expired(session, list(expired), settings)
    return sum(len(ids) for ids in expired.values())


def _tell_expired(session: Session, post_ids: list[int], settings: Settings | None) -> None:
    from townsquare.config import get_settings
    from townsquare.mail import mail_configured, send_mail

    settings = settings or get_settings()
    if not mail_configured(settings):
        return
    for post_id in post_ids:
        post = session.get(PublishPost, post_id)
        if post is None:
            continue
        recipients = _expiry_recipients(session, post)
        if not recipients:
            continue
        text = Message(
            "Post %(post_id)s was not approved by its time, so it did not go out. Open it to "
            "schedule it again.\n\n%(excerpt)s",
            post_id=post.id,
            excerpt=str((post.parts or [{}])[0].get("text") or "")[:280],
        )
        try:
            send_mail(
                settings,
                to=recipients,
                subject=Message("townsquare: post %(post_id)s expired", post_id=post.id),
                text=text,
            )
        except Exception as error:  # the expiry stands; the e-mail is a courtesy
            logger.warning("could not tell about expired post %s: %s", post.id, error)


def _expiry_recipients(session: Session, post: PublishPost) -> list[str]:
    settings_row = settings_of(session, post.workspace_id)
    roles = [Role.EDITOR.value, Role.ADMIN.value, Role.OWNER.value]
    if settings_row.viewers_can_approve:
        roles.append(Role.VIEWER.value)
    approvers = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.workspace_id == post.workspace_id,
            Membership.role.in_(roles),
            User.is_active.is_(True),
        )
    )
    emails = list(dict.fromkeys(approvers))
    if post.author_id is not None:
        author = session.get(User, post.author_id)
        if author is not None and author.email not in emails:
            emails.insert(0, author.email)
    return emails


# --- output --------------------------------------------------------------------------------


def variant_json(
    session: Session, post: PublishPost, variant: PublishVariant, channel: Channel
) -> dict[str, Any]:
    checked = check_variant(session, post, variant, channel)
    return {
        "id": variant.id,
        "channel": channel.handle,
        "channel_id": channel.id,
        "network": channel.network,
        "status": variant.status,
        "scheduled_at": (
            variant.scheduled_at.astimezone(UTC).isoformat() if variant.scheduled_at else None
        ),
        "scheduled_local": variant.scheduled_local,
        "from_queue": variant.from_queue,
        "length": checked.length,
        "limit": checked.limit,
        "unit": checked.unit,
        "problems": [str(message) for message in checked.problems],
        "adapted": "parts" in (variant.overrides or {})
        or "content_warning" in (variant.overrides or {}),
        "parts": effective_parts(post, variant),
        "content_warning": effective_content_warning(post, variant),
        "link_url": effective_link_url(post, variant),
        "short_links": dict((variant.overrides or {}).get("short_links") or {}),
        "external_id": variant.external_id,
        "url": variant.url,
        "published_at": (
            variant.published_at.astimezone(UTC).isoformat() if variant.published_at else None
        ),
        "attempts": variant.attempts,
        "error": variant.error,
    }


def post_json(session: Session, post: PublishPost) -> dict[str, Any]:
    """The post as the CLI's ``--json`` and the API show it."""
    return {
        "id": post.id,
        "status": post.status,
        "author_id": post.author_id,
        "parts": post.parts,
        "content_warning": post.content_warning,
        "language": post.language,
        "link_url": post.link_url,
        "campaign": post.campaign,
        "shorten_links": post.shorten_links,
        "schedule_kind": post.schedule_kind,
        "needs_approval": post.needs_approval,
        "approved_by": post.approved_by,
        "approved_at": post.approved_at.astimezone(UTC).isoformat() if post.approved_at else None,
        "created_at": post.created_at.astimezone(UTC).isoformat() if post.created_at else None,
        "variants": [
            variant_json(session, post, variant, channel)
            for variant, channel in variants_of(session, post)
        ],
    }


def event_json(event: PublishEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "action": event.action,
        "variant_id": event.variant_id,
        "user_id": event.user_id,
        "comment": event.comment,
        "detail": event.detail,
        "at": event.at.astimezone(UTC).isoformat(),
    }
