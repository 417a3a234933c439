"""Reviewing a submitted post: approving it (its variants are scheduled, or expired when
their time has passed) or sending it back to its author with a comment. Who may approve
is decided in ``approval``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, ValidationError
from townsquare.messages import Message
from townsquare.publish.approval import can_approve, require_approver, settings_of
from townsquare.publish.inputs import MAX_COMMENT, clean_text
from townsquare.publish.models import PublishPost, PublishVariant
from townsquare.publish.records import S, get_post, record, transaction, variants_of
from townsquare.publish.scheduling import schedule_variant
from townsquare.publish.transitions import finish
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role


def _waiting_for_approval(
    session: Session, post: PublishPost
) -> list[tuple[PublishVariant, Channel]]:
    """The post's (variant, channel) pairs waiting for approval; Conflict when there is none."""
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
    return waiting


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
    waiting = _waiting_for_approval(session, post)
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
        schedule_variant(
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
    return finish(session, access, post, audit_action="publish.post_approved")


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
    for variant, _channel in _waiting_for_approval(session, post):
        variant.status = S.CHANGES_REQUESTED.value
    record(session, post, "changes_requested", user_id=access.user_id, comment=note, at=now)
    return finish(session, access, post)
