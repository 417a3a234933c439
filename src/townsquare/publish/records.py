"""Reading posts and keeping their history: one transaction per use case, the history rows
(the outbox), and the post's status derived from its variants."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, ValidationError
from townsquare.publish.models import (
    PublishEvent,
    PublishPost,
    PublishVariant,
    VariantStatus,
)
from townsquare.workspaces.access import WorkspaceAccess

logger = logging.getLogger(__name__)

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
        session = args[0] if args else kwargs.get("session")
        assert isinstance(session, Session)
        try:
            return function(*args, **kwargs)
        except BaseException:
            session.rollback()
            raise

    return wrapper


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
