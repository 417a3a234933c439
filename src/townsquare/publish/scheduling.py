"""Scheduling a post: :class:`When` it goes (a wall time, the queue, now), submitting it
for approval or scheduling its variants, rescheduling, publishing now and cancelling.
Approval itself is in ``review``; the state machine is drawn in ``service``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, ValidationError
from townsquare.messages import Message
from townsquare.publish import shortening, slots, timing
from townsquare.publish.approval import approval_needed, self_approves, settings_of
from townsquare.publish.checks import check_variant, require_valid
from townsquare.publish.models import PublishPost, PublishVariant
from townsquare.publish.records import EDITABLE, S, get_post, record, transaction
from townsquare.publish.transitions import (
    delete_pending_parts,
    finish,
    require_author_or_editor,
    selected_variants,
)
from townsquare.workspaces.access import WorkspaceAccess


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


def advance(
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
            delete_pending_parts(session, variant)
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
        schedule_variant(
            session, access, settings, post, variant, channel, instant, local, queued, now=now
        )


def schedule_variant(
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
    delete_pending_parts(session, variant)
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
    require_author_or_editor(access, post, "schedule posts")
    moment = now or utcnow()
    chosen = [
        (variant, channel)
        for variant, channel in selected_variants(session, post, channel_ids)
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
            schedule_variant(
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
        advance(session, access, settings, post, others, when, now=moment)
    return finish(session, access, post)


def publish_now(
    session: Session, access: WorkspaceAccess, settings: Settings, post_id: int
) -> PublishPost:
    """Send the post as soon as a dispatcher is free (still through approval if needed)."""
    return schedule_post(session, access, settings, post_id, NOW)


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
    require_author_or_editor(access, post, "cancel posts")
    chosen = [
        (variant, channel)
        for variant, channel in selected_variants(session, post, channel_ids)
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
            delete_pending_parts(session, variant)  # Conflict before anything changes
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
    return finish(session, access, post)
