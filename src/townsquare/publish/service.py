"""Use cases of Publish: compose, adapt, validate, approve, schedule, queue, cancel, expire,
and the post's history. This module is the face the pages, the CLI, the API and the
dispatcher call; it re-exports what its helpers hold (``records``: reading, history and
status; ``approval``: settings and who approves; ``inputs``: cleaning; ``checks``: limits;
``expiry``; ``views``: JSON). Every query is scoped by the caller's workspace; each public
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

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound, ValidationError
from townsquare.messages import Message
from townsquare.publish import server_limits, shortening, slots, timing
from townsquare.publish.approval import (
    approval_needed,
    can_approve,
    get_settings,
    may_keep_approval,
    require_approver,
    self_approves,
    settings_of,
    update_settings,
)
from townsquare.publish.checks import VariantCheck, check_variant, require_valid
from townsquare.publish.content import (
    effective_content_warning,
    effective_link_url,
    effective_parts,
)
from townsquare.publish.expiry import expire_unapproved
from townsquare.publish.inputs import (
    MAX_CAMPAIGN,
    MAX_COMMENT,
    MAX_CW,
    clean_channels,
    clean_language,
    clean_link,
    clean_override,
    clean_parts,
    clean_text,
)
from townsquare.publish.models import (
    PartStatus,
    PublishMedia,
    PublishPart,
    PublishPost,
    PublishVariant,
)
from townsquare.publish.records import (
    AWAITING,
    EDITABLE,
    STATUS_PRECEDENCE,
    S,
    get_post,
    history,
    list_posts,
    post_status,
    record,
    refresh_post_status,
    transaction,
    variants_of,
)
from townsquare.publish.views import event_json, post_json, variant_json
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role

__all__ = [
    "AWAITING",
    "EDITABLE",
    "NOW",
    "QUEUE",
    "STATUS_PRECEDENCE",
    "UNSET",
    "VariantCheck",
    "When",
    "approve",
    "can_approve",
    "cancel",
    "check_variant",
    "clean_parts",
    "create_post",
    "edit_post",
    "effective_content_warning",
    "effective_link_url",
    "effective_parts",
    "event_json",
    "expire_unapproved",
    "get_post",
    "get_settings",
    "history",
    "list_posts",
    "post_json",
    "post_status",
    "publish_now",
    "record",
    "refresh_post_status",
    "request_changes",
    "schedule_post",
    "settings_of",
    "update_settings",
    "variant_json",
    "variants_of",
]

logger = logging.getLogger(__name__)


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


def _finish(
    session: Session, access: WorkspaceAccess, post: PublishPost, *, audit_action: str = ""
) -> PublishPost:
    """The end of every transition: the post's status from its variants, the workspace's
    audit row (``audit_action``, for the changes the audit log keeps), one commit."""
    refresh_post_status(session, post)
    if audit_action:
        audit.record(
            session,
            audit_action,
            workspace_id=access.workspace_id,
            user_id=access.user_id,
            target=str(post.id),
        )
    session.commit()
    return post


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
    via: str | None = None,
) -> PublishPost:
    """Compose a post for one or more channels (contributor or higher).

    ``overrides`` maps a channel id to what its variant changes (``text`` or ``parts``,
    ``content_warning``). Without ``when`` (or with ``draft``) the variants stay drafts;
    otherwise the post is submitted for approval or scheduled (see the module's docstring).
    ``via`` names where it was made when no user made it (``"cli"``: the command line),
    kept in the history's ``created`` event.
    """
    access.require(Role.CONTRIBUTOR, "compose posts")
    channels = clean_channels(session, access, channel_ids)
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
        content_warning=clean_text(content_warning, field="content_warning", max_length=MAX_CW),
        language=clean_language(language),
        link_url=clean_link(link_url),
        campaign=clean_text(campaign, field="campaign", max_length=MAX_CAMPAIGN),
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
            overrides=clean_override(session, access, extra.get(channel.id) or {}),
            status=S.DRAFT.value,
        )
        session.add(variant)
        server_limits.refresh(session, settings, channel)
    session.flush()
    used = {media_id for part in clean for media_id in part["media"]}
    for override in extra.values():
        for part in clean_override(session, access, override).get("parts") or []:
            used.update(part["media"])
    if used:
        # The images belong to the first post that uses them (an upload not yet in a post).
        session.execute(
            update(PublishMedia)
            .where(PublishMedia.id.in_(used), PublishMedia.post_id.is_(None))
            .values(post_id=post.id)
            .execution_options(synchronize_session=False)
        )
    record(
        session,
        post,
        "created",
        user_id=access.user_id,
        detail={
            "channels": [channel.handle for channel in channels],
            **({"via": via} if via and access.user_id is None else {}),
        },
        at=now,
    )
    variants = variants_of(session, post)
    if when is not None and not draft:
        _advance(session, access, settings, post, variants, when, now=now or utcnow())
    else:
        post.schedule_kind = when.kind if when is not None else None
    return _finish(session, access, post, audit_action="publish.post_created")


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
    require_valid([check_variant(session, post, v, c) for v, c in variants])
    publish_settings = settings_of(session, access.workspace_id)
    times = _times(session, variants, when, now)
    post.schedule_kind = when.kind
    needs = approval_needed(publish_settings, access)
    if needs and not self_approves(publish_settings, access, post):
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
        require_valid([check_variant(session, post, variant, channel)])
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
        require_valid([check_variant(session, post, v, c) for v, c in approved])
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
    return _finish(session, access, post)


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
    require_approver(publish_settings, access, post, "approve posts")
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
    note = clean_text(comment, field="comment", max_length=MAX_COMMENT)
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
    return _finish(session, access, post, audit_action="publish.post_approved")


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
    note = clean_text(comment, field="comment", max_length=MAX_COMMENT)
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
    return _finish(session, access, post)


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
    return _finish(session, access, post)


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
        post.content_warning = clean_text(
            content_warning, field="content_warning", max_length=MAX_CW
        )
        changed.append("content_warning")
    if language is not UNSET:
        post.language = clean_language(language)
        changed.append("language")
    if link_url is not UNSET:
        post.link_url = clean_link(link_url)
        changed.append("link_url")
    if campaign is not UNSET:
        post.campaign = clean_text(campaign, field="campaign", max_length=MAX_CAMPAIGN)
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
        target.overrides = {**kept, **clean_override(session, access, override or {})}
        changed.append(f"variant:{channel_id}")
    if not changed:
        raise ValidationError("nothing to change: give a new text, warning, link…", field="post")
    session.flush()
    waiting = [(v, c) for v, c in live if v.status != S.DRAFT.value]
    require_valid([check_variant(session, post, v, c) for v, c in waiting])
    record(session, post, "edited", user_id=access.user_id, detail={"changed": changed}, at=moment)
    publish_settings = settings_of(session, access.workspace_id)
    scheduled = [(v, c) for v, c in live if v.status == S.SCHEDULED.value]
    if (
        scheduled
        and post.needs_approval
        and publish_settings.needs_approval
        and not may_keep_approval(publish_settings, access, post)
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
            require_valid([check_variant(session, post, variant, channel)])
    return _finish(session, access, post)
